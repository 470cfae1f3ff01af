"""Minibatch noise as an SDE: the RMSProp and Adam SDEs of Malladi, Lyu, Panigrahi & Arora (2022).

A minibatch gradient ghat = grad f_B(theta) (:mod:`idebook.stochastic`) has mean g = grad f and
covariance S(theta) = ((N - B)/(N - 1)) Sigma(theta) / B, Sigma the covariance of the per-sample
gradients (:func:`minibatch_covariance`). Malladi et al. write the noise as sigma z with
Cov z = Sigma, and take sigma ~ 1/eta; only sigma Sigma^(1/2) = S^(1/2) enters below. With the
learning rate alpha (their eta), their constants are

    sigma0 = sigma alpha,  eps0 = eps alpha,  c_i = (1 - beta_i) / alpha^2,
    gamma_i(tau) = 1 - exp(-c_i tau),

and their SDE time tau counts alpha^2 per step: tau = alpha^2 k = alpha t, with t = alpha k the
book's time. In the memory's units w = sigma0^2 u (w = alpha^2 v, v the algorithm's memory):

``rmsprop_sde`` -- their SDE for RMSprop (arXiv:2205.10287)::

    dtheta = -(g dtau + alpha S^(1/2) dW) / (sqrt(w) + eps0),   dw = c (alpha^2 diag S - w) dtau

``adam_sde`` -- their SDE for Adam::

    dtheta = -(m / gamma1) / (sqrt(w / gamma2) + eps0) dtau,
    dm = c1 (g - m) dtau + c1 alpha S^(1/2) dW,      dw = c2 (alpha^2 diag S - w) dtau

(their P_t = sigma0 diag(u)^(1/2) + eps0 sqrt(gamma2), written out). Without the dW terms these
are :func:`idebook.ode_models.rmsprop_sde_drift` and :func:`~idebook.ode_models.adam_sde_drift`,
and the drift is computed by the same functions (:func:`idebook.ode_models.sde_speed`,
:func:`~idebook.ode_models.debiased`). Their theorems (4.2 and 4.4 there) say that the SDE is
an order-1 weak approximation of the algorithm, in alpha, over a fixed tau-horizon, when
1 - beta_i = c_i alpha^2 and the noise sigma ~ 1/alpha dominates the gradient. Their memory
therefore averages the noise variance diag S only. ``memory="second_moment"`` (our variant, not
theirs) averages what the algorithm's v averages, E[ghat^2] = g^2 + diag S: in their scaling
the two differ by g^2 / sigma^2 = O(alpha^2), and the variant stays right where g is not
small next to the noise (the transient of a large batch). ``per_coordinate=False`` replaces
diag S and g^2 by their sums (the paper's norm memory).

The integrator is Euler-Maruyama in tau with step h = alpha^2 / substeps, weak order 1, over
``paths`` independent paths in one compiled loop, with Brownian increments from
``numpy.random.default_rng(seed)``. Each step first updates the memories and then theta with
the updated memories, in the order of Algorithms 2-3. With h = alpha^2 (``substeps=1``) the
memory updates are exactly the algorithm's exponential averages, with q(theta) (diag S, or
E[ghat^2 | theta]) in place of ghat^2, and a Gaussian in place of the minibatch noise.
S^(1/2) is any factor L with L L^T = S (a Cholesky factor); L dW has the law of S^(1/2) dW.

:func:`scaling_rule` gives their square-root scaling rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from scipy.integrate import solve_ivp

from . import _validation as check
from .ode_models import debiased, sde_speed
from .results import DivergenceError
from .stochastic import _MSE, _batch_size, _data, _seed

__all__ = ["ALGORITHMS", "MEMORIES", "SDERun", "adam_sde", "gradient_covariance",
           "linear_adam_moments", "linear_rmsprop_moments", "minibatch_covariance",
           "rmsprop_sde", "scaling_rule"]

ALGORITHMS = ("rmsprop", "adam")
MEMORIES = ("noise", "second_moment")
WEAK_ORDER = 1
"""The weak order of the Euler-Maruyama integrator in its step h (measured in the chapter)."""
_CHUNK = 2_000_000  # Gaussian increments drawn at once


# ---------------------------------------------------------------------------------------------
# compiled kernels
# ---------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _moments(theta, loss, X, y, reg, A, b, M4, M3, M2, g, cov):
    """g = grad f(theta) and cov = Sigma(theta), the covariance of the per-sample gradients.

    MSE: grad l_i = 2 x_i (x_i . theta - y_i), so E[grad l grad l^T] is a quadratic polynomial
    in theta with the data moments M4 = mean x x x x, M3 = mean y x x x, M2 = mean y^2 x x as
    coefficients, and g = 2 (A theta - b). Logistic: one pass over the samples,
    grad l_i = r_i x_i with r_i = -y_i / (1 + exp(y_i x_i . theta)).
    """
    n = theta.shape[0]
    if loss == _MSE:
        for j in range(n):
            s = -b[j]
            for a in range(n):
                s += A[j, a] * theta[a]
            g[j] = 2.0 * s
        for j in range(n):
            for k in range(n):
                s = M2[j, k]
                for a in range(n):
                    s -= 2.0 * theta[a] * M3[a, j, k]
                    for c in range(n):
                        s += theta[a] * theta[c] * M4[a, c, j, k]
                cov[j, k] = 4.0 * s - g[j] * g[k]
        return
    N = X.shape[0]
    for j in range(n):
        g[j] = 0.0
        for k in range(n):
            cov[j, k] = 0.0
    for i in range(N):
        z = 0.0
        for j in range(n):
            z += X[i, j] * theta[j]
        yz = y[i] * z
        r = -y[i] * (1.0 / (1.0 + math.exp(yz)) if yz > -30.0 else 1.0 - math.exp(yz))
        for j in range(n):
            rx = r * X[i, j]
            g[j] += rx
            rrx = r * rx
            for k in range(j + 1):
                cov[j, k] += rrx * X[i, k]
    for j in range(n):
        g[j] /= N
    for j in range(n):
        for k in range(j + 1):
            cov[j, k] = cov[j, k] / N - g[j] * g[k]
            cov[k, j] = cov[j, k]
    for j in range(n):
        g[j] += reg * theta[j]


@numba.njit(cache=True)
def _cholesky(S, L):
    """L lower triangular with L L^T = S for S symmetric positive semidefinite.

    A pivot below 1e-12 times the largest diagonal entry counts as zero, and its column of L
    is set to zero (the factor of a singular covariance, e.g. S = 0 for B = N).
    """
    n = S.shape[0]
    scale = 0.0
    for j in range(n):
        scale = max(scale, S[j, j])
    for j in range(n):
        d = S[j, j]
        for k in range(j):
            d -= L[j, k] * L[j, k]
        root = math.sqrt(d) if d > 1e-12 * scale else 0.0
        L[j, j] = root
        for i in range(j + 1, n):
            s = S[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / root if root > 0.0 else 0.0
        for i in range(j):
            L[i, j] = 0.0


@numba.njit(cache=True)
def _euler_maruyama(theta, m, w, step0, h, substeps, normals, out, adam, per_coordinate,
                    second_moment, alpha, c1, c2, eps0, fac, loss, X, y, reg, A, b, M4, M3, M2):
    """Advance every path by out.shape[0] records of ``substeps`` steps; -1 or the bad record.

    theta, m (P, n) and w (P, nm) are updated in place; normals (records * substeps, P, n) are
    standard Gaussians; out[r] = theta after record r.
    """
    P, n = theta.shape
    nm = w.shape[1]
    g, cov, L = np.empty(n), np.empty((n, n)), np.empty((n, n))
    noise, target = np.empty(n), np.empty(nm)
    root_h, root_fac = math.sqrt(h), math.sqrt(fac)
    for r in range(out.shape[0]):
        for s in range(substeps):
            j = r * substeps + s
            tau_next = (step0 + j + 1) * h  # step0: SDE steps before this chunk
            for p in range(P):
                _moments(theta[p], loss, X, y, reg, A, b, M4, M3, M2, g, cov)
                _cholesky(cov, L)
                for a in range(n):
                    z = 0.0
                    for c in range(a + 1):
                        z += L[a, c] * normals[j, p, c]
                    noise[a] = alpha * root_fac * root_h * z  # alpha S^(1/2) dW
                for i in range(nm):
                    target[i] = 0.0
                for a in range(n):
                    q = fac * cov[a, a] + (g[a] * g[a] if second_moment else 0.0)
                    target[a if per_coordinate else 0] += alpha * alpha * q
                for i in range(nm):
                    w[p, i] += c2 * h * (target[i] - w[p, i])
                for a in range(n):
                    i = a if per_coordinate else 0
                    if adam:
                        m[p, a] += c1 * (h * (g[a] - m[p, a]) + noise[a])
                        theta[p, a] += h * sde_speed(debiased(m[p, a], g[a], c1, tau_next),
                                                     debiased(w[p, i], target[i], c2, tau_next),
                                                     eps0)
                    else:
                        theta[p, a] += sde_speed(h * g[a] + noise[a], w[p, i], eps0)
        for p in range(P):
            for a in range(n):
                out[r, p, a] = theta[p, a]
                if not math.isfinite(theta[p, a]):
                    return r
    return -1


# ---------------------------------------------------------------------------------------------
# the covariance of the minibatch gradient
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Data:
    """The data in the form the kernels read: loss code, X, y, reg and the MSE moments."""

    loss: int
    X: np.ndarray
    y: np.ndarray
    reg: float
    A: np.ndarray
    b: np.ndarray
    M4: np.ndarray
    M3: np.ndarray
    M2: np.ndarray

    @classmethod
    def build(cls, X, y, loss: str, reg: float) -> _Data:
        X, y, loss, reg = _data(X, y, loss, reg)
        N, n = X.shape
        if loss != "mse":
            return cls(1, X, y, reg, np.zeros((0, 0)), np.zeros(0), np.zeros((0,) * 4),
                       np.zeros((0,) * 3), np.zeros((0, 0)))
        return cls(_MSE, X, y, 0.0, X.T @ X / N, X.T @ y / N,
                   np.einsum("ia,ib,ij,ik->abjk", X, X, X, X) / N,
                   np.einsum("i,ia,ij,ik->ajk", y, X, X, X) / N,
                   np.einsum("i,ij,ik->jk", y * y, X, X) / N)

    def moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.X.shape[1]
        g, cov = np.empty(n), np.empty((n, n))
        _moments(theta, self.loss, self.X, self.y, self.reg, self.A, self.b, self.M4, self.M3,
                 self.M2, g, cov)
        return g, cov


def _finite_population(batch_size: int, n_samples: int) -> float:
    """(N - B) / ((N - 1) B): Var of a mean of B of N values drawn without replacement."""
    return 0.0 if batch_size == n_samples else (n_samples - batch_size) / (
        (n_samples - 1) * batch_size)


def gradient_covariance(theta: np.ndarray | float, X: np.ndarray, y: np.ndarray,
                        loss: str = "mse", reg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The full gradient g(theta) and the covariance Sigma(theta) of the per-sample gradients.

    Sigma = (1/N) sum_i (grad l_i - gbar)(grad l_i - gbar)^T, gbar the mean of the grad l_i
    (the ridge term reg theta is the same in every sample and does not enter Sigma).

    Parameters
    ----------
    theta : float or numpy.ndarray
        The point, dimension n.
    X, y, loss, reg
        The data and loss, as in :func:`idebook.stochastic.objective`.

    Returns
    -------
    tuple of numpy.ndarray
        g of shape (n,) and Sigma of shape (n, n).

    Raises
    ------
    ValueError
        Bad data or theta.
    """
    data = _Data.build(X, y, loss, reg)
    return data.moments(check.theta0_vector(theta, data.X.shape[1]))


def minibatch_covariance(theta: np.ndarray | float, X: np.ndarray, y: np.ndarray, *,
                         batch_size: int, loss: str = "mse", reg: float = 0.0) -> np.ndarray:
    """S(theta) = ((N - B)/(N - 1)) Sigma(theta) / B, the covariance of a minibatch gradient.

    The covariance of ghat = grad f_B(theta) for a batch of B distinct samples drawn uniformly
    (:func:`idebook.stochastic.batch_indices`); the diffusion of the SDEs is alpha S^(1/2).

    Parameters
    ----------
    theta, X, y, loss, reg
        As in :func:`gradient_covariance`.
    batch_size : int
        B in [1, N].

    Returns
    -------
    numpy.ndarray
        Shape (n, n); zero for B = N.

    Raises
    ------
    ValueError
        Bad data, theta or batch size.
    """
    _, cov = gradient_covariance(theta, X, y, loss, reg)
    N = np.asarray(y).size
    return _finite_population(_batch_size(batch_size, N), N) * cov


# ---------------------------------------------------------------------------------------------
# the SDEs
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class SDERun:
    """Paths of an SDE model, reported at the times of the algorithm's steps.

    Attributes
    ----------
    t : numpy.ndarray
        The book's times t = alpha k, k = 0..K, shape (K + 1,).
    tau : numpy.ndarray
        Malladi et al.'s SDE time tau = alpha t = alpha^2 k.
    theta : numpy.ndarray
        Path p at t_k: shape (P, K + 1, n).
    mean, std : numpy.ndarray
        Mean and sample standard deviation (ddof = 1) over the paths, shape (K + 1, n).
    std_error : numpy.ndarray
        The Monte Carlo standard error of ``mean``, std / sqrt(P).
    algorithm : str
    alpha : float
    batch_size : int
    paths, seed, substeps : int
        P, the seed of the Brownian increments, and SDE steps per algorithm step.
    params : dict
        beta or beta1, beta2; eps; memory; per_coordinate; loss; reg; h (the step in tau).
    success : bool
    status : int
        0 (a divergence raises :class:`~idebook.results.DivergenceError` instead).
    message : str
    nfev : int
        Evaluations of (g, Sigma): paths x SDE steps.
    weak_order : int
        The integrator's weak order in h, 1 (Euler-Maruyama).
    """

    t: np.ndarray
    tau: np.ndarray
    theta: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    std_error: np.ndarray
    algorithm: str
    alpha: float
    batch_size: int
    paths: int
    seed: int
    substeps: int
    params: dict
    success: bool
    status: int
    message: str
    nfev: int
    weak_order: int = WEAK_ORDER


def rmsprop_sde(X: np.ndarray, y: np.ndarray, *, loss: str = "mse",
                theta0: np.ndarray | float, alpha: float, beta: float = 0.9, eps: float = 1e-8,
                batch_size: int, steps: int, paths: int = 100, seed: int = 0,
                substeps: int = 1, reg: float = 0.0, per_coordinate: bool = False,
                memory: str = "noise", v0: np.ndarray | float | None = None) -> SDERun:
    """The RMSProp SDE of Malladi et al. (2022), by Euler-Maruyama.

    ``dtheta = -(g dtau + alpha S^(1/2) dW) / (sqrt(w) + eps alpha)``,
    ``dw = c (alpha^2 q - w) dtau`` with c = (1 - beta)/alpha^2, tau = alpha t, and q = diag S
    (``memory="noise"``, theirs) or g^2 + diag S (``"second_moment"``); see the module
    docstring.

    Parameters
    ----------
    X, y, loss, reg
        The data and loss, as in :func:`idebook.stochastic.objective`.
    theta0 : float or numpy.ndarray
        theta(0), the same for every path.
    alpha, beta, eps, per_coordinate
        As in :func:`idebook.stochastic.minibatch_run` for ``"rmsprop"``.
    batch_size : int
        B in [1, N]; it sets S.
    steps : int
        K >= 0: the paths are reported at t = alpha k, k = 0..K (tau up to alpha^2 K).
    paths : int
        P >= 2 independent paths.
    seed : int
        Seed >= 0 of the Brownian increments.
    substeps : int
        SDE steps per algorithm step, >= 1: h = alpha^2 / substeps.
    memory : {"noise", "second_moment"}
        What w averages (times alpha^2): diag S, or g^2 + diag S.
    v0 : float or numpy.ndarray, optional
        The memory at t = 0 in the algorithm's units (w = alpha^2 v), > 0: the noise term
        divides by sqrt(w), and from w = 0 its variance diverges like log(tau) (their theorem
        starts both from v_0 = sigma^2 u_0 > 0). Default: q(theta0), the memory's equilibrium
        at theta0.

    Returns
    -------
    SDERun

    Raises
    ------
    ValueError
        An argument out of range (naming it and the range).
    DivergenceError
        A path became NaN or inf (``t`` is the time).
    """
    return _solve("rmsprop", X, y, loss=loss, theta0=theta0, alpha=alpha,
                  betas=(0.0, check.unit_interval("beta", beta)), eps=eps,
                  batch_size=batch_size, steps=steps, paths=paths, seed=seed, substeps=substeps,
                  reg=reg, per_coordinate=per_coordinate, memory=memory, v0=v0)


def adam_sde(X: np.ndarray, y: np.ndarray, *, loss: str = "mse", theta0: np.ndarray | float,
             alpha: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
             batch_size: int, steps: int, paths: int = 100, seed: int = 0, substeps: int = 1,
             reg: float = 0.0, per_coordinate: bool = False, memory: str = "noise") -> SDERun:
    """The Adam SDE of Malladi et al. (2022), by Euler-Maruyama.

    ``dtheta = -(m / gamma1) / (sqrt(w / gamma2) + eps alpha) dtau``,
    ``dm = c1 (g - m) dtau + c1 alpha S^(1/2) dW``, ``dw = c2 (alpha^2 q - w) dtau``, from
    m = w = 0, with c_i = (1 - beta_i)/alpha^2 and gamma_i = 1 - exp(-c_i tau); q as in
    :func:`rmsprop_sde`.

    Parameters
    ----------
    X, y, loss, reg, theta0, alpha, eps, batch_size, steps
        As in :func:`rmsprop_sde`.
    paths, seed, substeps, per_coordinate, memory
        As in :func:`rmsprop_sde`.
    beta1, beta2 : float
        The decay rates of Algorithm 3, in [0, 1).

    Returns
    -------
    SDERun

    Raises
    ------
    ValueError
        An argument out of range.
    DivergenceError
        A path became NaN or inf.
    """
    return _solve("adam", X, y, loss=loss, theta0=theta0, alpha=alpha,
                  betas=(check.unit_interval("beta1", beta1),
                         check.unit_interval("beta2", beta2)), eps=eps,
                  batch_size=batch_size, steps=steps, paths=paths, seed=seed, substeps=substeps,
                  reg=reg, per_coordinate=per_coordinate, memory=memory, v0=None)


def _solve(algorithm: str, X, y, *, loss, theta0, alpha, betas, eps, batch_size, steps, paths,
           seed, substeps, reg, per_coordinate, memory, v0) -> SDERun:
    """Validate, set up the constants, and run the compiled loop chunk by chunk (the one place)."""
    data = _Data.build(X, y, loss, reg)
    N, n = data.X.shape
    theta0 = check.theta0_vector(theta0, n)
    alpha = check.positive("alpha", alpha)
    eps = check.nonnegative("eps", eps)
    batch_size = _batch_size(batch_size, N)
    steps = check.count("steps", steps)
    paths = check.count("paths", paths, minimum=2)
    seed = _seed(seed)
    substeps = check.count("substeps", substeps, minimum=1)
    check.one_of("memory", memory, MEMORIES)
    fac = _finite_population(batch_size, N)
    per_coordinate, second_moment = bool(per_coordinate), memory == "second_moment"
    nm = n if per_coordinate else 1

    g0, cov0 = data.moments(theta0)
    q0 = fac * np.diag(cov0) + (g0 * g0 if second_moment else 0.0)
    q0 = q0 if per_coordinate else np.array([q0.sum()])
    if algorithm == "rmsprop":
        v0 = q0 if v0 is None else check.start_state("v0", v0, nm, nonnegative=True)
        if not np.all(v0 > 0):
            raise ValueError(f"v0 must be > 0 (the RMSProp SDE divides its noise by sqrt(v)), "
                             f"got {v0}")
    else:
        v0 = np.zeros(nm)
    if eps == 0.0 and not np.all(q0 > 0):
        raise ValueError("eps must be > 0 when the memory's target is 0 at theta0 (no noise "
                         "and, for memory='noise', nothing else): the drift divides by sqrt(w)")

    c1, c2 = (1.0 - betas[0]) / alpha**2, (1.0 - betas[1]) / alpha**2
    h = alpha**2 / substeps
    theta = np.tile(theta0, (paths, 1))
    m, w = np.zeros((paths, n)), np.tile(alpha**2 * v0, (paths, 1))
    out = np.empty((steps + 1, paths, n))
    out[0] = theta
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK // (paths * n * substeps))
    for start in range(0, steps, per_chunk):
        records = min(per_chunk, steps - start)
        normals = rng.standard_normal((records * substeps, paths, n))
        bad = _euler_maruyama(theta, m, w, start * substeps, h, substeps, normals,
                              out[1 + start:1 + start + records], algorithm == "adam",
                              per_coordinate, second_moment, alpha, c1, c2, eps * alpha, fac,
                              data.loss, data.X, data.y, data.reg, data.A, data.b, data.M4,
                              data.M3, data.M2)
        if bad >= 0:
            t_bad = alpha * (start + bad + 1)
            raise DivergenceError(f"{algorithm} SDE: a path became non-finite by t = "
                                  f"{t_bad:.6g} (alpha = {alpha}, h = {h:.3g}); try more "
                                  "substeps", t=t_bad)
    theta_paths = np.ascontiguousarray(out.transpose(1, 0, 2))
    std = theta_paths.std(axis=0, ddof=1)
    t = alpha * np.arange(steps + 1)
    beta_names = ("beta",) if algorithm == "rmsprop" else ("beta1", "beta2")
    beta_values = betas[1:] if algorithm == "rmsprop" else betas
    params = {**dict(zip(beta_names, beta_values, strict=True)), "eps": eps, "memory": memory,
              "per_coordinate": per_coordinate, "loss": loss, "reg": data.reg, "h": h}
    return SDERun(t=t, tau=alpha * t, theta=theta_paths, mean=theta_paths.mean(axis=0), std=std,
                  std_error=std / math.sqrt(paths), algorithm=algorithm, alpha=alpha,
                  batch_size=batch_size, paths=paths, seed=seed, substeps=substeps,
                  params=params, success=True, status=0,
                  message=f"Euler-Maruyama: {steps * substeps} steps of h = {h:.3g} in tau.",
                  nfev=paths * steps * substeps)


# ---------------------------------------------------------------------------------------------
# the scaling rule, and a linear case with a closed form
# ---------------------------------------------------------------------------------------------
def scaling_rule(kappa: float, *, alpha: float, batch_size: int, eps: float = 1e-8,
                 betas: Sequence[float] = (0.9,)) -> dict:
    """The square-root scaling rule of Malladi et al. (2022).

    Batch B -> kappa B, alpha -> sqrt(kappa) alpha, 1 - beta -> kappa (1 - beta) for every
    decay rate, eps -> eps / sqrt(kappa). It keeps sigma0 = sigma alpha, c_i and eps0 of the
    SDE fixed (sigma ~ 1/sqrt(B)), so the SDE, in tau = alpha^2 k, is unchanged: a run of K
    steps becomes K / kappa steps.

    Parameters
    ----------
    kappa : float
        The factor, > 0, with kappa B an integer and kappa (1 - beta) <= 1 for every beta.
    alpha : float
        The learning rate, > 0.
    batch_size : int
        B >= 1.
    eps : float
        eps >= 0.
    betas : sequence of float
        The decay rates, each in [0, 1): (beta,) for RMSProp, (beta1, beta2) for Adam.

    Returns
    -------
    dict
        ``alpha``, ``batch_size``, ``eps`` and ``betas`` (a tuple) after scaling.

    Raises
    ------
    ValueError
        kappa out of range for these hyper-parameters (named, with the range).
    """
    kappa = check.positive("kappa", kappa)
    alpha = check.positive("alpha", alpha)
    eps = check.nonnegative("eps", eps)
    batch_size = check.count("batch_size", batch_size, minimum=1)
    betas = tuple(check.unit_interval("betas", b) for b in betas)
    largest = 1.0 / max(1.0 - b for b in betas)
    if kappa > largest:
        raise ValueError(f"kappa must be in (0, {largest:.6g}] (kappa (1 - beta) <= 1 for "
                         f"betas = {betas}), got {kappa!r}")
    scaled_batch = kappa * batch_size
    if abs(scaled_batch - round(scaled_batch)) > 1e-9 * scaled_batch:
        raise ValueError(f"kappa must make kappa * batch_size an integer, got kappa = {kappa!r}"
                         f" with batch_size = {batch_size}")
    return {"alpha": math.sqrt(kappa) * alpha, "batch_size": int(round(scaled_batch)),
            "eps": eps / math.sqrt(kappa),
            "betas": tuple(1.0 - kappa * (1.0 - b) for b in betas)}


def linear_rmsprop_moments(t: np.ndarray | float, *, e0: float, noise_std: float, alpha: float,
                           eps: float = 0.0, substeps: int | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of e = theta - theta* for the RMSProp SDE on f = (theta - theta*)^2.

    With the memory started at its equilibrium alpha^2 s^2 (``memory="noise"``) and a constant
    noise standard deviation s (the data x_i = 1, where Sigma = 4 Var y), the SDE is the
    Ornstein-Uhlenbeck process de = -lambda e dtau - sigma dW with P = alpha (s + eps),
    lambda = 2 / P, sigma = alpha s / P, so::

        E e(t) = e0 exp(-lambda tau),  Var e(t) = sigma^2 (1 - exp(-2 lambda tau)) / (2 lambda),

    tau = alpha t. With ``substeps`` given, the same two moments of the Euler-Maruyama chain
    e_{j+1} = (1 - lambda h) e_j - sigma sqrt(h) xi_j, h = alpha^2 / substeps, instead.

    Parameters
    ----------
    t : float or numpy.ndarray
        Times t >= 0 (multiples of alpha when ``substeps`` is given).
    e0 : float
        theta0 - theta*.
    noise_std : float
        s > 0, the standard deviation of the minibatch gradient.
    alpha : float
        The learning rate, > 0.
    eps : float
        eps >= 0.
    substeps : int, optional
        The Euler-Maruyama chain's substeps per alpha-step.

    Returns
    -------
    tuple of numpy.ndarray
        The mean and the variance at t.
    """
    s, alpha = check.positive("noise_std", noise_std), check.positive("alpha", alpha)
    P = alpha * (s + check.nonnegative("eps", eps))
    lam, sigma2 = 2.0 / P, (alpha * s / P) ** 2
    tau = alpha * np.asarray(t, dtype=float)
    if substeps is None:
        decay = np.exp(-lam * tau)
        return e0 * decay, sigma2 * (1.0 - decay**2) / (2.0 * lam)
    h = alpha**2 / check.count("substeps", substeps, minimum=1)
    rho, j = 1.0 - lam * h, np.round(tau / h)
    return e0 * rho**j, sigma2 * h * (1.0 - rho ** (2 * j)) / (1.0 - rho**2)


def linear_adam_moments(t: float, *, e0: float, noise_std: float, alpha: float, beta1: float,
                        eps: float = 0.0) -> tuple[float, float]:
    """Mean and variance of e = theta - theta* for the Adam SDE in the case of
    :func:`linear_rmsprop_moments`.

    With a constant noise variance s^2, the memory is w = alpha^2 s^2 gamma2 exactly, so
    sqrt(w / gamma2) + eps0 = P = alpha (s + eps) whatever beta2, and (e, m) is the linear SDE::

        de = -m / (gamma1 P) dtau,   dm = c1 (2 e - m) dtau + c1 alpha s dW.

    Its mean mu and covariance C solve mu' = A mu, C' = A C + C A^T + diag(0, (c1 alpha s)^2)
    with A = [[0, -1/(gamma1 P)], [2 c1, -c1]] (Ito), integrated by scipy's Radau method to a
    relative tolerance of 1e-11, from tau0 = 1e-12 with the leading terms E m = 2 c1 e0 tau0,
    Var m = (c1 alpha s)^2 tau0 (the coefficient 1/gamma1 is singular at tau = 0).

    Parameters
    ----------
    t : float
        The time t > 0 (tau = alpha t).
    e0, noise_std, alpha, eps
        As in :func:`linear_rmsprop_moments`.
    beta1 : float
        Adam's beta1 in [0, 1): c1 = (1 - beta1) / alpha^2.

    Returns
    -------
    tuple of float
        E e(t) and Var e(t).

    Raises
    ------
    ValueError
        An argument out of range, or the integration failing.
    """
    s, alpha = check.positive("noise_std", noise_std), check.positive("alpha", alpha)
    P = alpha * (s + check.nonnegative("eps", eps))
    c1 = (1.0 - check.unit_interval("beta1", beta1)) / alpha**2
    tau_end, tau0, q = alpha * check.positive("t", t), 1e-12, (c1 * alpha * s) ** 2

    def moments(tau: float, z: np.ndarray) -> np.ndarray:
        A = np.array([[0.0, 1.0 / (math.expm1(-c1 * tau) * P)], [2.0 * c1, -c1]])
        mu, C = z[:2], z[2:].reshape(2, 2)
        return np.concatenate([A @ mu, (A @ C + C @ A.T + np.diag([0.0, q])).ravel()])

    z0 = np.array([e0, 2.0 * c1 * e0 * tau0, 0.0, 0.0, 0.0, q * tau0])
    sol = solve_ivp(moments, (tau0, tau_end), z0, method="Radau", rtol=1e-11,
                    atol=1e-14 * max(1.0, abs(e0)))
    if not sol.success:
        raise ValueError(f"the moment equations failed: {sol.message}")
    return float(sol.y[0, -1]), float(sol.y[2, -1])
