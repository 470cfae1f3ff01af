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
import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numba
import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK45, OdeSolution, Radau

from . import _validation as check
from .model import Model, build, output_times, step_ratio
from .objectives import Objective
from .results import ContinuousRun, ConvergenceWarning, DivergenceError, Trajectory, check_times

_SOLVERS = {"LSODA": LSODA, "Radau": Radau, "BDF": BDF, "RK45": RK45, "DOP853": DOP853}
METHODS = tuple(_SOLVERS)
MAX_NFEV = 50_000
"""Right-hand sides after which a solve stops and reports failure (instead of running on)."""
_SIGMA_MAX = 1e4  # gradient-flow time after which sign_flow with eps = 0 has stopped

__all__ = ["ODEModelSolution", "adam_ode", "adam_sde_drift", "rmsprop_ode", "rmsprop_sde_drift",
           "sign_flow"]


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
        needs more than ``MAX_NFEV`` right-hand sides, returns ``success=False`` and
        ``status=-4`` (:data:`idebook.results.STATUS`) with the solution up to where it
        stopped, and warns (``ConvergenceWarning``).

    Returns
    -------
    ContinuousRun
        theta, m, v at :func:`idebook.model.output_times` (up to the time reached);
        ``status`` 0 or -4; ``nfev`` right-hand sides; ``error_estimate`` the largest change of
        theta on that grid when the tolerances are divided by 100; dense output
        ``sol(t)`` = ``at(t)``, an :class:`ODEModelSolution`.

    Raises
    ------
    ValueError
        An argument out of range (naming it and the range), or ``method`` unknown.
    TypeError
        A gradient that returns None or non-numbers.
    DivergenceError
        The right-hand side became NaN or inf (``t`` is the time).

    References
    ----------
    A. Barakat, P. Bianchi, SIAM J. Optim. 31(1), 2021, their continuous-time ODE (with
    S(x) = grad F(x)^2 for a deterministic gradient); A. Belotto da Silva, M. Gazeau, JMLR 21,
    2020.
    """
    model = build("adam", objective, theta0, alpha=alpha, beta1=beta1, beta2=beta2, eps=eps,
                  per_coordinate=per_coordinate, bias=bias)
    p = _Problem("adam", model, t_end)
    a1, a2, n, bias = model.c1, model.c2, model.n, model.bias

    def field(t: float, y: np.ndarray) -> np.ndarray:
        theta, m, v = y[:n], y[n:2 * n], y[2 * n:]
        g, q = p.gq(theta)
        mhat = debiased(m, g, a1, t) if bias else m
        vhat = debiased(v, q, a2, t) if bias else v
        return np.concatenate([-mhat / (np.sqrt(np.maximum(vhat, 0.0)) + model.eps),
                               a1 * (g - m), a2 * (q - v)])

    params = {"beta1": model.beta1, "beta2": model.beta2, "bias": bias,
              "model": "barakat-bianchi"}
    y0 = np.concatenate([model.theta0, np.zeros(n), np.zeros(model.nm)])
    return p.solve(field, y0, params, rtol, atol, method, states=_moments(n))


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
    model = build("rmsprop", objective, theta0, alpha=alpha, beta=beta, eps=eps,
                  per_coordinate=per_coordinate)
    p = _Problem("rmsprop", model, t_end)
    a, n = model.c2, model.n

    def field(s: float, y: np.ndarray) -> np.ndarray:  # in s = sqrt(t)
        theta, v = y[:n], y[n:]
        g, q = p.gq(theta)
        root = np.sqrt(np.maximum(v, 0.0)) + model.eps
        if s == 0.0 or not np.all(root > 0):  # v ~ a q s^2: 2 s g / root -> 2 g / sqrt(a q)
            speed = np.divide(2.0 * g, np.sqrt(a * q), out=np.zeros(n), where=q > 0)
        else:
            speed = 2.0 * s * g / root
        return np.concatenate([-speed, 2.0 * s * a * (q - v)])

    params = {"beta": model.beta2, "model": "da-silva-gazeau"}
    return p.solve(field, np.concatenate([model.theta0, np.zeros(model.nm)]), params, rtol,
                   atol, method, states={"v": slice(n, None)}, clock=math.sqrt)


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
    # the flow has no beta: the model of gradient descent validates everything it has
    model = build("gd", objective, theta0, alpha=alpha, eps=eps, per_coordinate=per_coordinate)
    p = _Problem("sign", model, t_end)
    n, eps, method = model.n, model.eps, method or ("Radau" if model.per_coordinate else "LSODA")
    if model.per_coordinate:
        def field(t: float, theta: np.ndarray) -> np.ndarray:
            g, q = p.gq(theta)
            return step_ratio(-g, np.sqrt(q) + eps)  # 0/0 = 0: a coordinate at its optimum

        y0, span_end, clock = model.theta0, p.t_end, None
    else:  # in sigma with dt/dsigma = ||g|| + eps: the gradient flow, and t as a state
        def field(sigma: float, y: np.ndarray) -> np.ndarray:
            g, q = p.gq(y[:n])
            return np.append(-g, math.sqrt(q[0]) + eps)

        y0, clock = np.append(model.theta0, 0.0), "state"
        span_end = _SIGMA_MAX if eps == 0 else _SIGMA_MAX + p.t_end / eps

    return p.solve(field, y0, {"model": "ma-wu-e"}, rtol, atol, method, states=_Slaved(p.gq),
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
    model = build("rmsprop", objective, theta0, alpha=alpha, beta=beta, eps=eps,
                  per_coordinate=per_coordinate)
    p = _Problem("rmsprop", model, t_end)
    noise = p.noise(noise_var)
    alpha, n = model.alpha, model.n
    c, eps0, a2 = (1.0 - model.beta2) / alpha**2, model.eps * alpha, alpha**2

    def field(tau: float, y: np.ndarray) -> np.ndarray:
        theta, w = y[:n], y[n:]
        g, _ = p.gq(theta)
        return np.concatenate([sde_speed(g, w, eps0), c * (a2 * noise(theta) - w)])

    params = {"beta": model.beta2, "model": "malladi", "noise_var": noise_var}
    return p.solve(field, np.concatenate([model.theta0, np.zeros(model.nm)]), params, rtol,
                   atol, method, states={"v": slice(n, None)}, clock=partial(operator.mul, alpha),
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
    model = build("adam", objective, theta0, alpha=alpha, beta1=beta1, beta2=beta2, eps=eps,
                  per_coordinate=per_coordinate)
    p = _Problem("adam", model, t_end)
    noise = p.noise(noise_var)
    alpha, n = model.alpha, model.n
    c1, c2 = (1.0 - model.beta1) / alpha**2, (1.0 - model.beta2) / alpha**2
    eps0, a2 = model.eps * alpha, alpha**2

    def field(tau: float, y: np.ndarray) -> np.ndarray:
        theta, m, w = y[:n], y[n:2 * n], y[2 * n:]
        g, _ = p.gq(theta)
        target = a2 * noise(theta)
        dtheta = sde_speed(debiased(m, g, c1, tau), debiased(w, target, c2, tau), eps0)
        return np.concatenate([dtheta, c1 * (g - m), c2 * (target - w)])

    params = {"beta1": model.beta1, "beta2": model.beta2, "model": "malladi",
              "noise_var": noise_var}
    y0 = np.concatenate([model.theta0, np.zeros(n), np.zeros(model.nm)])
    return p.solve(field, y0, params, rtol, atol, method, states=_moments(n),
                   clock=partial(operator.mul, alpha), scale={"v": 1.0 / a2})


# --------------------------------------------------------------------------------------------

def _moments(n: int) -> dict[str, slice]:
    return {"m": slice(n, 2 * n), "v": slice(2 * n, None)}


@numba.vectorize(["float64(float64, float64, float64, float64)"], cache=True)
def debiased(x: float, target: float, rate: float, t: float) -> float:
    """x / (1 - exp(-rate t)) for the memory x' = rate (target - x), x(0) = 0; target at t = 0.

    The bias correction of the continuous Adam models (a numpy ufunc, also callable inside
    numba, where :mod:`idebook.sde` uses it).
    """
    if t <= 0.0:
        return target
    return x / -math.expm1(-rate * t)


@numba.vectorize(["float64(float64, float64, float64)"], cache=True)
def sde_speed(mhat: float, what: float, eps0: float) -> float:
    """-mhat / (sqrt(what) + eps0): the drift of theta in Malladi et al.'s SDEs, in tau.

    RMSProp: mhat = g, what = w; Adam: mhat = m / gamma1, what = w / gamma2 (see the module
    docstring). A numpy ufunc, also callable inside numba, where :mod:`idebook.sde` uses it for
    the same drift with the Brownian terms added.
    """
    return -mhat / (math.sqrt(max(what, 0.0)) + eps0)


class _Problem:
    """What every model shares: the validated model and horizon, q(theta), the solve, the result."""

    def __init__(self, algorithm: str, model: Model, t_end: float) -> None:
        self.algorithm = algorithm
        self.model = model
        self.t_end = check.positive("t_end", t_end)
        self.gq = _SquaredGradient(grad=model.objective.grad, params=model.objective.params,
                                   per_coordinate=model.per_coordinate)

    def noise(self, noise_var: float | Callable) -> Callable[[np.ndarray], np.ndarray]:
        """theta -> the gradient-noise variance seen by the memory (per coordinate or summed)."""
        n, per_coordinate = self.model.n, self.model.per_coordinate
        if callable(noise_var):
            def variance(theta: np.ndarray) -> np.ndarray:
                s2 = np.broadcast_to(np.asarray(noise_var(theta), dtype=float), (n,))
                return s2.copy() if per_coordinate else np.array([s2.sum()])
        else:
            s2 = np.full(n, check.nonnegative("noise_var", noise_var))
            fixed = s2 if per_coordinate else np.array([s2.sum()])

            def variance(theta: np.ndarray) -> np.ndarray:
                return fixed
            if self.model.eps == 0.0 and not np.any(fixed > 0):
                raise ValueError("eps must be > 0 when noise_var is 0 (the drift divides by "
                                 "eps * alpha)")
        return variance

    def solve(self, field: Callable, y0: np.ndarray, params: dict, rtol: float, atol: float,
              method: str, states: dict | Callable, clock: Callable | str | None = None,
              span_end: float | None = None, scale: dict | None = None) -> ContinuousRun:
        """Integrate ``field`` in its own time s and build the result (the one place).

        ``clock``: None (s = t), a picklable function s = clock(t), or ``"state"`` (the last
        entry of y is t, a terminal event stops at t_end, ``span_end`` bounds s). ``states``
        maps memory names to slices of y (or is a picklable callable computing them from
        theta); ``scale`` multiplies a reported state. The error estimate is the largest
        change of theta on the output grid when rtol and atol are divided by 100.
        """
        rtol, atol = check.positive("rtol", rtol), check.positive("atol", atol)
        check.one_of("method", method, METHODS)
        model = self.model
        sol, to_s, t_reached = self._integrate(field, y0, rtol, atol, method, clock, span_end)
        status = 0 if sol.success else -4
        if not sol.success and not (sol.finite
                                    and np.all(np.isfinite(field(sol.t[-1], sol.y[-1])))):
            raise DivergenceError(f"{self.algorithm} ({params['model']}): the state or its "
                                  f"derivative became non-finite after t = {t_reached:.6g} "
                                  f"(alpha = {model.alpha})", t=t_reached)
        dense = ODEModelSolution(ode=sol.sol, to_s=to_s, end=t_reached, n=model.n,
                                 states=states, scale=scale or {})
        t = output_times(model.alpha, t_reached)
        nfev, estimate = int(sol.nfev), float("nan")
        if sol.success:
            fine, fine_s, _ = self._integrate(field, y0, rtol / 100, atol / 100, method, clock,
                                              span_end)
            nfev += int(fine.nfev)
            if fine.success:
                estimate = float(np.max(np.abs(fine.sol(fine_s(t))[:model.n]
                                               - sol.sol(to_s(t))[:model.n])))
        else:
            warnings.warn(f"{self.algorithm} ({params['model']}): {sol.message} Reached "
                          f"t = {t_reached:.6g} of {self.t_end:.6g}; try method='Radau' or a "
                          "larger eps.", ConvergenceWarning, stacklevel=3)
        out = dense(t)
        params = dict(params, eps=model.eps, per_coordinate=model.per_coordinate, rtol=rtol,
                      atol=atol)
        return ContinuousRun(t=out.t, theta=out.theta, **out.memory, algorithm=self.algorithm,
                             alpha=model.alpha, params=params, method=f"ode-{method}",
                             success=status == 0, status=status, message=sol.message,
                             nfev=nfev, sol=dense, iterations=0, residual=0.0,
                             error_estimate=estimate, substeps=0)

    def _integrate(self, field, y0, rtol, atol, method, clock, span_end):
        """Integrate in the model's time s; returns (solution, t -> s, last time t reached)."""
        if clock != "state":
            clock = clock or _same_time
            sol = _march(field, clock(self.t_end), y0, method, rtol, atol)
            t_reached = self.t_end if sol.success else _invert(clock, sol.t[-1], self.t_end)
            return sol, _Clock(clock=clock, s_end=float(sol.t[-1])), t_reached

        t_end = self.t_end
        sol = _march(field, span_end, y0, method, rtol, atol, stop=lambda y: y[-1] >= t_end)
        # finished without reaching t_end: the flow stopped at a critical point (eps = 0)
        t_reached = t_end if sol.success else float(sol.y[-1, -1])
        return sol, _StateClock(ode=sol.sol, s_steps=sol.t, t_steps=sol.y[:, -1]), t_reached


@dataclass(frozen=True, kw_only=True, eq=False)
class ODEModelSolution:
    """Dense output of the models of this module: the integrator's interpolant, in t.

    Each model is integrated in its own time s (t, sqrt(t), alpha t, or the sign flow's
    gradient-flow time); ``sol(t)`` maps t to s and returns a
    :class:`~idebook.results.Trajectory`. Every field is picklable (with the package's
    objectives), so the run pickles.

    Attributes
    ----------
    ode : scipy.integrate.OdeSolution
        y(s) = (theta, memories[, t]) in the model's time s.
    to_s : collections.abc.Callable
        The clock, times t (array) -> times s.
    end : float
        The last time t solved; ``sol(t)`` accepts t in [0, end].
    n : int
        The dimension of theta (the first n entries of y).
    states : dict or collections.abc.Callable
        Memory name -> slice of y, or theta rows -> {name: rows} for memories slaved to theta.
    scale : dict
        Memory name -> factor of its reported value (the SDE drifts report v = w / alpha^2).
    """

    ode: OdeSolution
    to_s: Callable[[np.ndarray], np.ndarray]
    end: float
    n: int
    states: dict[str, slice] | Callable[[np.ndarray], dict[str, np.ndarray]]
    scale: dict[str, float]

    def __call__(self, t: float | np.ndarray) -> Trajectory:
        """theta and the memories at times ``t`` in [0, end] (ValueError otherwise)."""
        times = check_times(t, 0.0, self.end)
        y = self.ode(self.to_s(times)).T.reshape(times.size, -1)
        theta = y[:, :self.n]
        states = self.states
        mem = states(theta) if callable(states) else {k: y[:, sl] for k, sl in states.items()}
        return Trajectory(t=times, theta=theta,
                          **{k: self.scale.get(k, 1.0) * a for k, a in mem.items()})


@dataclass(frozen=True, eq=False)
class _SquaredGradient:
    """theta -> (g, q): the gradient and q = g^2 (per coordinate) or ||g||^2.

    It keeps the objective's ``grad`` and ``params`` (not the Objective, whose ``value`` may
    be a closure), so that the sign flow's dense output pickles.
    """

    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    params: np.ndarray
    per_coordinate: bool

    def __call__(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.ascontiguousarray(theta, dtype=float)
        g = check.gradient_array(self.grad(theta, self.params), theta.shape)
        return g, (g * g if self.per_coordinate else np.array([g @ g]))


@dataclass(frozen=True, eq=False)
class _Slaved:
    """The memories of the fixed-beta limit, slaved to theta: m = g and v = q, row by row."""

    gq: _SquaredGradient

    def __call__(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        gq = [self.gq(row) for row in theta]
        return {"m": np.array([g for g, _ in gq]), "v": np.array([q for _, q in gq])}


def _same_time(t: float) -> float:
    """The clock of the models integrated in t itself."""
    return t


@dataclass(frozen=True)
class _Clock:
    """Times t -> s = clock(t), an increasing scalar clock, clipped to the solved [0, s_end]."""

    clock: Callable[[float], float]
    s_end: float

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return np.clip([self.clock(x) for x in np.atleast_1d(t)], 0.0, self.s_end)


@dataclass(frozen=True, eq=False)
class _StateClock:
    """Times t -> s when t is the last entry of y, increasing along the steps (s_steps,
    t_steps): false position (Illinois) inside each step."""

    ode: OdeSolution
    s_steps: np.ndarray
    t_steps: np.ndarray

    def __call__(self, t: np.ndarray) -> np.ndarray:
        s_steps, t_steps = self.s_steps, self.t_steps
        t = np.atleast_1d(np.asarray(t, dtype=float))
        i = np.clip(np.searchsorted(t_steps, t), 1, len(s_steps) - 1)
        lo, hi = s_steps[i - 1], s_steps[i]
        f_lo, f_hi = t_steps[i - 1] - t, t_steps[i] - t
        for _ in range(30):
            width = f_hi - f_lo
            s = np.where(width > 0, hi - f_hi * (hi - lo) / np.where(width > 0, width, 1.0), hi)
            f_s = self.ode(s)[-1] - t
            if np.all(np.abs(f_s) <= 1e-12 * (1.0 + np.abs(t))):
                break
            right = f_s > 0
            lo, f_lo = np.where(right, lo, s), np.where(right, f_lo / 2, f_s)
            hi, f_hi = np.where(right, s, hi), np.where(right, f_s, f_hi / 2)
        return np.where(t >= t_steps[-1], s_steps[-1], s)


@dataclass(frozen=True)
class _Solution:
    """The steps of an integration: times t, states y (one row per step), dense output;
    ``finite`` is False when the integrator stopped at a NaN or inf state."""

    t: np.ndarray
    y: np.ndarray
    sol: OdeSolution
    nfev: int
    success: bool
    message: str
    finite: bool


def _march(field: Callable, s_end: float, y0: np.ndarray, method: str, rtol: float,
           atol: float, stop: Callable | None = None) -> _Solution:
    """Step scipy's ``method`` from 0 towards s_end, until ``stop(y)``, s_end, a failure, a
    non-finite state (not kept) or MAX_NFEV right-hand sides (a stiff field that the method
    cannot cross)."""
    solver = _SOLVERS[method](field, 0.0, y0, s_end, rtol=rtol, atol=atol)
    ts, ys, pieces = [0.0], [np.array(y0, dtype=float)], []
    success, finite, message = True, True, "The solver reached the end of the interval."
    while solver.status == "running":
        try:
            failure = solver.step()
        except ValueError as error:  # an implicit method's Jacobian with NaN or inf entries
            if "infs or NaNs" not in str(error):
                raise
            success, finite, message = False, False, f"The Jacobian became non-finite: {error}"
            break
        if solver.status == "failed":
            success, message = False, f"The solver failed: {failure}"
            break
        if not np.all(np.isfinite(solver.y)):
            success, finite = False, False
            message = f"The state became non-finite at s = {solver.t:.6g}."
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
        raise DivergenceError(f"{message} No step was taken.", t=0.0)
    return _Solution(np.array(ts), np.array(ys), OdeSolution(ts, pieces), int(solver.nfev),
                     success, message, finite)


def _invert(clock: Callable, s: float, t_end: float) -> float:
    """The t in [0, t_end] with clock(t) = s, for the increasing clocks used here."""
    lo, hi = 0.0, t_end
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if clock(mid) < s else (lo, mid)
    return lo
