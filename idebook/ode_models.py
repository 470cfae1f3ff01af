"""Plain-ODE continuous models of RMSProp and Adam from the literature (no memory integral).

Each model is an ODE for theta and the optimiser's memory, solved by one of scipy's adaptive
integrators (LSODA by default), with the call shape of :mod:`idebook.continuous`. Below
q = ||g||^2 (the paper's norm memory) or g^2 per coordinate, and t = alpha k.

``adam_ode``, ``rmsprop_ode``: the regime 1 - beta_i = a_i alpha, a_i fixed
    (Barakat & Bianchi 2021, their ODE for Adam; da Silva & Gazeau 2020, the same system
    for Adam and RMSProp)::

        Adam     theta' = -mhat / (sqrt(vhat) + eps),   m' = a1 (g - m),   v' = a2 (q - v),
                 mhat = m / (1 - exp(-a1 t)),   vhat = v / (1 - exp(-a2 t))
        RMSProp  theta' = -g / (sqrt(v) + eps),         v' = a (q - v)

    with a_i = (1 - beta_i) / alpha, m(0) = v(0) = 0.

``sign_flow``: beta fixed, alpha -> 0 (Ma, Wu & E 2022): the memory forgets within a fixed
    number of steps, so m -> g and v -> q, and RMSProp and Adam both tend to

        theta' = -g / (sqrt(q) + eps),

    sign gradient descent per coordinate, the normalised gradient flow -g/||g|| for the norm
    memory; eps regularises it at g = 0.

``rmsprop_sde_drift``, ``adam_sde_drift``: the drift of the SDEs of Malladi, Lyu, Panigrahi &
    Arora (2022), in their regime 1 - beta_i = c_i alpha^2, eps = eps0 / alpha, gradient noise
    of variance s^2 = sigma0^2 Sigma / alpha^2, and their time tau = alpha^2 k = alpha t::

        RMSProp  dtheta/dtau = -g / (sigma0 sqrt(u) + eps0),     du/dtau = c (Sigma - u)
        Adam     dtheta/dtau = -(sqrt(gamma2)/gamma1) m / (sigma0 sqrt(u) + eps0 sqrt(gamma2)),
                 dm/dtau = c1 (g - m),   du/dtau = c2 (Sigma - u),   gamma_i = 1 - exp(-c_i tau)

    (the Brownian terms dropped). Here sigma0^2 u is alpha^2 times the noise part of the
    discrete v, so ``noise_var`` (s^2, per coordinate) is the only new input.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK45, OdeSolution, Radau

from . import _validation as check
from .objectives import Objective, as_objective
from .results import ContinuousRun, ConvergenceWarning, DivergenceError, Trajectory

_SOLVERS = {"LSODA": LSODA, "Radau": Radau, "BDF": BDF, "RK45": RK45, "DOP853": DOP853}
METHODS = tuple(_SOLVERS)
MAX_NFEV = 50_000
"""Right-hand sides after which a solve stops and reports failure (instead of running on)."""
_SIGMA_MAX = 1e4  # gradient-flow time after which sign_flow with eps = 0 has stopped

__all__ = ["adam_ode", "adam_sde_drift", "rmsprop_ode", "rmsprop_sde_drift", "sign_flow"]


def adam_ode(objective: Objective | tuple, theta0, *, alpha: float, beta1: float = 0.9,
             beta2: float = 0.999, t_end: float, eps: float = 1e-8,
             per_coordinate: bool = False, bias: bool = True, rtol: float = 1e-8,
             atol: float = 1e-10, method: str = "LSODA") -> ContinuousRun:
    """The ODE of Adam in the regime 1 - beta_i = a_i alpha (Barakat & Bianchi 2021).

    Solves ``theta' = -mhat / (sqrt(vhat) + eps)``, ``m' = a1 (g - m)``, ``v' = a2 (q - v)``
    with ``mhat = m / (1 - exp(-a1 t))``, ``vhat = v / (1 - exp(-a2 t))`` and
    ``a_i = (1 - beta_i) / alpha``, from m(0) = v(0) = 0; at t = 0 the ratios take their limits
    mhat = g, vhat = q.

    Parameters
    ----------
    objective, theta0 : the objective f and the initial point, as in :mod:`idebook.discrete`.
    alpha : learning rate; sets a_i and the output grid t = alpha k.
    beta1, beta2 : the decay rates of Algorithm 3, in [0, 1).
    t_end : final time.
    eps : added to sqrt(vhat), as in Algorithm 3.
    per_coordinate : q = g^2 per coordinate (Adam as used in practice) instead of ||g||^2.
    bias : divide by the bias factors 1 - exp(-a_i t) (``False``: Barakat & Bianchi's
        variant without bias correction).
    rtol, atol, method : tolerances and integrator (``"LSODA"``, ``"Radau"``, ``"BDF"``,
        ``"RK45"``, ``"DOP853"``, the classes of scipy.integrate). A solve that fails, or
        needs more than ``MAX_NFEV`` right-hand sides, returns ``success=False`` with the
        solution up to where it stopped, and warns (``ConvergenceWarning``).

    Returns
    -------
    ContinuousRun
        theta, m, v on t = alpha k; ``nfev`` right-hand sides; ``error_estimate`` the largest
        change of theta on that grid when the tolerances are divided by 100; dense ``.at(t)``.

    References
    ----------
    A. Barakat, P. Bianchi, SIAM J. Optim. 31(1), 2021, their continuous-time ODE (with
    S(x) = grad F(x)^2 for a deterministic gradient); A. Belotto da Silva, M. Gazeau, JMLR 21,
    2020.
    """
    beta1 = check.unit_interval("beta1", beta1)
    beta2 = check.unit_interval("beta2", beta2)
    p = _Problem("adam", objective, theta0, alpha, t_end, eps, per_coordinate)
    a1, a2 = (1.0 - beta1) / p.alpha, (1.0 - beta2) / p.alpha
    n, bias = p.n, bool(bias)

    def field(t: float, y: np.ndarray) -> np.ndarray:
        theta, m, v = y[:n], y[n:2 * n], y[2 * n:]
        g, q = p.gq(theta)
        mhat = _debiased(m, g, a1, t) if bias else m
        vhat = _debiased(v, q, a2, t) if bias else v
        return np.concatenate([-mhat / (np.sqrt(np.maximum(vhat, 0.0)) + p.eps),
                               a1 * (g - m), a2 * (q - v)])

    params = {"beta1": beta1, "beta2": beta2, "bias": bias, "model": "barakat-bianchi"}
    return p.solve(field, np.concatenate([p.theta0, np.zeros(n), np.zeros(p.nm)]), params,
                   rtol, atol, method, states=_moments(n))


def rmsprop_ode(objective: Objective | tuple, theta0, *, alpha: float, beta: float = 0.9,
                t_end: float, eps: float = 1e-8, per_coordinate: bool = False,
                rtol: float = 1e-8, atol: float = 1e-10, method: str = "LSODA") -> ContinuousRun:
    """The ODE of RMSProp in the regime 1 - beta = a alpha (da Silva & Gazeau 2020).

    Solves ``theta' = -g / (sqrt(v) + eps)``, ``v' = a (q - v)``, a = (1 - beta)/alpha, v(0) = 0:
    the Adam system of :func:`adam_ode` with m replaced by g and no bias correction, as in
    Algorithm 2. It is the paper's Proposition 2 without the shift t + alpha. From v(0) = 0 the
    speed is ``|g| / sqrt(a q t)`` for small t, an integrable singularity; the solver works in
    s = sqrt(t) (dtheta/ds = 2 s theta'), where the field is smooth, also for eps = 0.

    Parameters and returns as :func:`adam_ode` (``beta`` is Algorithm 2's decay rate; the
    result has theta and v).

    References
    ----------
    A. Belotto da Silva, M. Gazeau, JMLR 21, 2020 (their system for RMSProp); A. Barakat,
    P. Bianchi, SIAM J. Optim. 31(1), 2021.
    """
    beta = check.unit_interval("beta", beta)
    p = _Problem("rmsprop", objective, theta0, alpha, t_end, eps, per_coordinate)
    a, n = (1.0 - beta) / p.alpha, p.n

    def field(s: float, y: np.ndarray) -> np.ndarray:  # in s = sqrt(t)
        theta, v = y[:n], y[n:]
        g, q = p.gq(theta)
        root = np.sqrt(np.maximum(v, 0.0)) + p.eps
        if s == 0.0 or not np.all(root > 0):  # v ~ a q s^2: 2 s g / root -> 2 g / sqrt(a q)
            speed = np.divide(2.0 * g, np.sqrt(a * q), out=np.zeros(n), where=q > 0)
        else:
            speed = 2.0 * s * g / root
        return np.concatenate([-speed, 2.0 * s * a * (q - v)])

    params = {"beta": beta, "model": "da-silva-gazeau"}
    return p.solve(field, np.concatenate([p.theta0, np.zeros(p.nm)]), params, rtol, atol,
                   method, states={"v": slice(n, None)}, clock=math.sqrt)


def sign_flow(objective: Objective | tuple, theta0, *, alpha: float, t_end: float,
              eps: float = 1e-8, per_coordinate: bool = False, rtol: float = 1e-8,
              atol: float = 1e-10, method: str | None = None) -> ContinuousRun:
    """The fixed-beta limit of RMSProp and Adam as alpha -> 0 (Ma, Wu & E 2022).

    Solves ``theta' = -g / (sqrt(q) + eps)``: sign gradient descent (``per_coordinate=True``)
    or the normalised gradient flow ``-g/||g||`` (the paper's norm memory). In this limit the
    memories are slaved to theta; the result reports them as m = g and v = q along the flow.
    ``alpha`` only sets the output grid t = alpha k: the flow does not depend on alpha, beta1
    or beta2. ``eps`` > 0 makes the field Lipschitz; from ``|g| ~ eps`` on, the flow is the
    gradient flow theta' = -g/eps, which stops at the minimiser within a time O(eps). For the
    norm memory the flow is solved as the gradient flow d theta/d sigma = -g in the clock
    ``dt/d sigma = ||g|| + eps``, which is not stiff; per coordinate the field is stiff where
    ``|g_i| ~ eps``, hence the default ``method=None``: ``"LSODA"`` for the norm memory,
    ``"Radau"`` per coordinate.

    Parameters and returns as :func:`adam_ode`.

    References
    ----------
    C. Ma, L. Wu, W. E, Proc. 2nd Mathematical and Scientific Machine Learning Conference,
    PMLR 145, 2022 (the signGD flow).
    """
    p = _Problem("sign", objective, theta0, alpha, t_end, eps, per_coordinate)
    n, method = p.n, method or ("Radau" if p.per_coordinate else "LSODA")
    if p.per_coordinate:
        def field(t: float, theta: np.ndarray) -> np.ndarray:
            g, q = p.gq(theta)
            return -g / (np.sqrt(q) + p.eps)

        y0, span_end, clock = p.theta0, p.t_end, None
    else:  # in sigma with dt/dsigma = ||g|| + eps: the gradient flow, and t as a state
        def field(sigma: float, y: np.ndarray) -> np.ndarray:
            g, q = p.gq(y[:n])
            return np.append(-g, math.sqrt(q[0]) + p.eps)

        y0, clock = np.append(p.theta0, 0.0), "state"
        span_end = _SIGMA_MAX if p.eps == 0 else _SIGMA_MAX + p.t_end / p.eps

    def slaved(theta: np.ndarray) -> dict[str, np.ndarray]:
        gq = [p.gq(row) for row in theta]
        return {"m": np.array([g for g, _ in gq]), "v": np.array([q for _, q in gq])}

    return p.solve(field, y0, {"model": "ma-wu-e"}, rtol, atol, method, states=slaved,
                   span_end=span_end, clock=clock)


def rmsprop_sde_drift(objective: Objective | tuple, theta0, *, alpha: float, beta: float = 0.9,
                      t_end: float, eps: float = 1e-8, noise_var: float | Callable = 0.0,
                      per_coordinate: bool = False, rtol: float = 1e-8, atol: float = 1e-10,
                      method: str = "LSODA") -> ContinuousRun:
    """The drift of the RMSProp SDE of Malladi, Lyu, Panigrahi & Arora (2022).

    In their time tau = alpha^2 k (= alpha t) and with c = (1 - beta)/alpha^2,
    eps0 = eps alpha, w = sigma0^2 u::

        dtheta/dtau = -g / (sqrt(w) + eps0),     dw/dtau = c (alpha^2 s^2 - w),

    s^2 = ``noise_var`` (the variance of the gradient noise per coordinate, a number or a
    callable theta -> array; summed over coordinates for the norm memory). This is their SDE
    without its Brownian term. The result is reported against t = alpha k, like every other
    model, with v = w / alpha^2, the noise part of Algorithm 2's v. With no noise it is the
    gradient flow dtheta/dtau = -g/eps0, which needs eps > 0.

    Parameters and returns as :func:`rmsprop_ode`; ``noise_var`` as above.

    References
    ----------
    S. Malladi, K. Lyu, A. Panigrahi, S. Arora, NeurIPS 35, 2022, the RMSprop SDE
    (sigma0 = sigma alpha, eps0 = eps alpha, c2 = (1 - beta)/alpha^2).
    """
    beta = check.unit_interval("beta", beta)
    p = _Problem("rmsprop", objective, theta0, alpha, t_end, eps, per_coordinate)
    noise = p.noise(noise_var)
    c, eps0, a2, n = (1.0 - beta) / p.alpha**2, p.eps * p.alpha, p.alpha**2, p.n

    def field(tau: float, y: np.ndarray) -> np.ndarray:
        theta, w = y[:n], y[n:]
        g, _ = p.gq(theta)
        return np.concatenate([-g / (np.sqrt(np.maximum(w, 0.0)) + eps0),
                               c * (a2 * noise(theta) - w)])

    params = {"beta": beta, "model": "malladi", "noise_var": noise_var}
    return p.solve(field, np.concatenate([p.theta0, np.zeros(p.nm)]), params, rtol, atol,
                   method, states={"v": slice(n, None)}, clock=lambda t: p.alpha * t,
                   scale={"v": 1.0 / a2})


def adam_sde_drift(objective: Objective | tuple, theta0, *, alpha: float, beta1: float = 0.9,
                   beta2: float = 0.999, t_end: float, eps: float = 1e-8,
                   noise_var: float | Callable = 0.0, per_coordinate: bool = False,
                   rtol: float = 1e-8, atol: float = 1e-10, method: str = "LSODA"
                   ) -> ContinuousRun:
    """The drift of the Adam SDE of Malladi, Lyu, Panigrahi & Arora (2022).

    In tau = alpha^2 k with c_i = (1 - beta_i)/alpha^2, eps0 = eps alpha, w = sigma0^2 u::

        dtheta/dtau = -(sqrt(gamma2)/gamma1) m / (sqrt(w) + eps0 sqrt(gamma2))
                    = -mhat / (sqrt(w / gamma2) + eps0),
        dm/dtau = c1 (g - m),   dw/dtau = c2 (alpha^2 s^2 - w),   gamma_i = 1 - exp(-c_i tau),

    the SDE without its Brownian terms; ``noise_var`` = s^2 as in :func:`rmsprop_sde_drift`.
    With no noise it is the heavy-ball-like flow dtheta/dtau = -mhat/eps0.

    Parameters and returns as :func:`adam_ode`; ``noise_var`` as in :func:`rmsprop_sde_drift`.

    References
    ----------
    S. Malladi, K. Lyu, A. Panigrahi, S. Arora, NeurIPS 35, 2022, the Adam SDE.
    """
    beta1 = check.unit_interval("beta1", beta1)
    beta2 = check.unit_interval("beta2", beta2)
    p = _Problem("adam", objective, theta0, alpha, t_end, eps, per_coordinate)
    noise = p.noise(noise_var)
    c1, c2 = (1.0 - beta1) / p.alpha**2, (1.0 - beta2) / p.alpha**2
    eps0, a2, n = p.eps * p.alpha, p.alpha**2, p.n

    def field(tau: float, y: np.ndarray) -> np.ndarray:
        theta, m, w = y[:n], y[n:2 * n], y[2 * n:]
        g, _ = p.gq(theta)
        target = a2 * noise(theta)
        what = _debiased(w, target, c2, tau)
        dtheta = -_debiased(m, g, c1, tau) / (np.sqrt(np.maximum(what, 0.0)) + eps0)
        return np.concatenate([dtheta, c1 * (g - m), c2 * (target - w)])

    params = {"beta1": beta1, "beta2": beta2, "model": "malladi", "noise_var": noise_var}
    y0 = np.concatenate([p.theta0, np.zeros(n), np.zeros(p.nm)])
    return p.solve(field, y0, params, rtol, atol, method, states=_moments(n),
                   clock=lambda t: p.alpha * t, scale={"v": 1.0 / a2})


# --------------------------------------------------------------------------------------------

def _moments(n: int) -> dict[str, slice]:
    return {"m": slice(n, 2 * n), "v": slice(2 * n, None)}


def _debiased(x: np.ndarray, target: np.ndarray, a: float, t: float) -> np.ndarray:
    """x / (1 - exp(-a t)) for the memory x' = a (target - x), x(0) = 0; its limit at t = 0."""
    if t <= 0.0:
        return np.array(target, dtype=float)
    return x / -math.expm1(-a * t)


class _Problem:
    """What every model shares: validated inputs, q(theta), the solve and the result."""

    def __init__(self, algorithm: str, objective, theta0, alpha, t_end, eps,
                 per_coordinate) -> None:
        self.objective = as_objective(objective)
        self.algorithm = algorithm
        self.theta0 = check.theta0_vector(theta0, self.objective.dim)
        self.alpha = check.positive("alpha", alpha)
        self.t_end = check.positive("t_end", t_end)
        self.eps = check.nonnegative("eps", eps)
        self.per_coordinate = bool(per_coordinate)
        self.n = self.theta0.size
        self.nm = self.n if self.per_coordinate else 1

    def gq(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """g(theta) and q = g^2 (per coordinate) or ||g||^2."""
        g = self.objective.gradient(theta)
        return g, (g * g if self.per_coordinate else np.array([g @ g]))

    def noise(self, noise_var: float | Callable) -> Callable[[np.ndarray], np.ndarray]:
        """theta -> the gradient-noise variance seen by the memory (per coordinate or summed)."""
        if callable(noise_var):
            def variance(theta: np.ndarray) -> np.ndarray:
                s2 = np.broadcast_to(np.asarray(noise_var(theta), dtype=float), (self.n,))
                return s2.copy() if self.per_coordinate else np.array([s2.sum()])
        else:
            s2 = np.full(self.n, check.nonnegative("noise_var", noise_var))
            fixed = s2 if self.per_coordinate else np.array([s2.sum()])

            def variance(theta: np.ndarray) -> np.ndarray:
                return fixed
            if self.eps == 0.0 and not np.any(fixed > 0):
                raise ValueError("eps must be > 0 when noise_var is 0 (the drift divides by "
                                 "eps * alpha)")
        return variance

    def solve(self, field: Callable, y0: np.ndarray, params: dict, rtol: float, atol: float,
              method: str, states: dict | Callable, clock: Callable | str | None = None,
              span_end: float | None = None, scale: dict | None = None) -> ContinuousRun:
        """Integrate ``field`` in its own time s and build the result (the one place).

        ``clock``: None (s = t), a function s = clock(t), or ``"state"`` (the last entry of y
        is t, a terminal event stops at t_end, ``span_end`` bounds s). ``states`` maps memory
        names to slices of y (or computes them from theta); ``scale`` multiplies a reported
        state. The error estimate is the largest change of theta on the output grid when rtol
        and atol are divided by 100.
        """
        rtol, atol = check.positive("rtol", rtol), check.positive("atol", atol)
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
        sol, to_s, t_reached = self._integrate(field, y0, rtol, atol, method, clock, span_end)
        t = self.alpha * np.arange(math.floor(t_reached / self.alpha + 1e-9) + 1)
        if t[-1] < t_reached * (1 - 1e-12):
            t = np.append(t, t_reached)
        n, scale = self.n, scale or {}

        def at(times: np.ndarray) -> Trajectory:
            times = np.atleast_1d(np.asarray(times, dtype=float))
            if np.any(times < 0) or np.any(times > t_reached * (1 + 1e-12)):
                raise ValueError(f"t must lie in [0, {t_reached:.6g}] (the solved interval)")
            y = sol.sol(to_s(times)).T.reshape(times.size, -1)
            theta = y[:, :n]
            mem = states(theta) if callable(states) else {k: y[:, sl] for k, sl in states.items()}
            return Trajectory(times, theta, **{k: scale.get(k, 1.0) * a for k, a in mem.items()})

        nfev, estimate = int(sol.nfev), float("nan")
        if sol.success:
            fine, fine_s, _ = self._integrate(field, y0, rtol / 100, atol / 100, method, clock,
                                              span_end)
            nfev += int(fine.nfev)
            if fine.success:
                estimate = float(np.max(np.abs(fine.sol(fine_s(t))[:n] - sol.sol(to_s(t))[:n])))
        else:
            warnings.warn(f"{self.algorithm} ({params['model']}): {sol.message} Reached "
                          f"t = {t_reached:.6g} of {self.t_end:.6g}; try method='Radau' or a "
                          "larger eps.", ConvergenceWarning, stacklevel=3)
        out = at(t)
        params = dict(params, eps=self.eps, per_coordinate=self.per_coordinate, rtol=rtol,
                      atol=atol)
        return ContinuousRun(out.t, out.theta, out.G, out.v, out.m, algorithm=self.algorithm,
                             alpha=self.alpha, params=params, method=f"ode-{method}",
                             success=bool(sol.success), message=sol.message, iterations=0,
                             residual=0.0, error_estimate=estimate, substeps=0, nfev=nfev,
                             dense=at)

    def _integrate(self, field, y0, rtol, atol, method, clock, span_end):
        """Integrate in the model's time s; returns (solution, t -> s, last time t reached)."""
        if clock != "state":
            clock = clock or (lambda t: t)
            sol = _march(field, clock(self.t_end), y0, method, rtol, atol)
            t_reached = self.t_end if sol.success else _invert(clock, sol.t[-1], self.t_end)

            def to_s(t: np.ndarray) -> np.ndarray:
                return np.clip([clock(x) for x in np.atleast_1d(t)], 0.0, sol.t[-1])

            return sol, to_s, t_reached

        t_end = self.t_end
        sol = _march(field, span_end, y0, method, rtol, atol, stop=lambda y: y[-1] >= t_end)
        s_steps, t_steps = sol.t, sol.y[:, -1]
        # finished without reaching t_end: the flow stopped at a critical point (eps = 0)
        t_reached = t_end if sol.success else float(t_steps[-1])

        def to_s(t: np.ndarray) -> np.ndarray:
            """Invert the increasing t(s) by false position (Illinois) inside each step."""
            t = np.atleast_1d(np.asarray(t, dtype=float))
            i = np.clip(np.searchsorted(t_steps, t), 1, len(s_steps) - 1)
            lo, hi = s_steps[i - 1], s_steps[i]
            f_lo, f_hi = t_steps[i - 1] - t, t_steps[i] - t
            for _ in range(30):
                width = f_hi - f_lo
                s = np.where(width > 0, hi - f_hi * (hi - lo) / np.where(width > 0, width, 1.0),
                             hi)
                f_s = sol.sol(s)[-1] - t
                if np.all(np.abs(f_s) <= 1e-12 * (1.0 + np.abs(t))):
                    break
                right = f_s > 0
                lo, f_lo = np.where(right, lo, s), np.where(right, f_lo / 2, f_s)
                hi, f_hi = np.where(right, s, hi), np.where(right, f_s, f_hi / 2)
            return np.where(t >= t_steps[-1], s_steps[-1], s)

        return sol, to_s, t_reached


@dataclass(frozen=True)
class _Solution:
    """The steps of an integration: times t, states y (one row per step), dense output."""

    t: np.ndarray
    y: np.ndarray
    sol: OdeSolution
    nfev: int
    success: bool
    message: str


def _march(field: Callable, s_end: float, y0: np.ndarray, method: str, rtol: float,
           atol: float, stop: Callable | None = None) -> _Solution:
    """Step scipy's ``method`` from 0 towards s_end, until ``stop(y)``, s_end, a failure or
    MAX_NFEV right-hand sides (a stiff field that the method cannot cross)."""
    solver = _SOLVERS[method](field, 0.0, y0, s_end, rtol=rtol, atol=atol)
    ts, ys, pieces = [0.0], [np.array(y0, dtype=float)], []
    success, message = True, "The solver reached the end of the interval."
    while solver.status == "running":
        failure = solver.step()
        if solver.status == "failed":
            success, message = False, f"The solver failed: {failure}"
            break
        ts.append(solver.t)
        ys.append(solver.y.copy())
        pieces.append(solver.dense_output())
        if stop is not None and stop(solver.y):
            break
        if solver.nfev > MAX_NFEV:
            success = False
            message = (f"Stopped after {solver.nfev} right-hand sides (MAX_NFEV = {MAX_NFEV}) "
                       f"at s = {solver.t:.6g}: the field is too stiff for method={method!r}.")
            break
    if not pieces:
        raise DivergenceError(f"{message} No step was taken.", 0.0)
    return _Solution(np.array(ts), np.array(ys), OdeSolution(ts, pieces), int(solver.nfev),
                     success, message)


def _invert(clock: Callable, s: float, t_end: float) -> float:
    """The t in [0, t_end] with clock(t) = s, for the increasing clocks used here."""
    lo, hi = 0.0, t_end
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if clock(mid) < s else (lo, mid)
    return lo
