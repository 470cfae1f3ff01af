"""The continuous models as ODEs with auxiliary states, and their O(alpha)-corrected forms.

Every model of Propositions 1-3 has an exponential (or constant) kernel, so its memory solves a
linear ODE, and the model is an ODE for y = (theta, m, v) once the shift of Propositions 1-2 is
closed causally. :func:`ode_model` solves these ODEs with :func:`scipy.integrate.solve_ivp`.
Below q = ||g||^2 (the paper's norm memory) or g^2 per coordinate, c = (1 - beta)/alpha,
P(x) = 1/(sqrt(x) + eps) and H is the Hessian of f.

``order=0``: the paper's models as ODEs
    ::

        AdaGrad  theta' = -g P(G + q),                     G' = q / alpha
        RMSProp  theta' = -g P(beta v + (1 - beta) q),     v' = c (q - v)
        Adam     theta' = -mhat P(vhat),   m' = c1 (g - m),   v' = c2 (q - v),
                 mhat = m / (1 - beta1^(t/alpha)),   vhat = v / (1 - beta2^(t/alpha)).

    For AdaGrad and RMSProp the shifted memory G(t + alpha), v(t + alpha) of eq. (3)-(4) is
    replaced by its Taylor expansion G + alpha G', v + alpha v' (Assumption 2); Adam's eq. (5)
    has no shift and *is* this ODE. ``shift=False`` drops the shift (the alpha -> 0 flow).
    ``decay="matched"`` uses the kernel lam exp(-lam t), lam = -ln(beta)/alpha, whose mass over
    [0, t] is Adam's bias factor 1 - beta^(t/alpha) and which reproduces the discrete weights
    (1 - beta) beta^(k-j) exactly when the gradient is constant over each step.

``order=1``: modified equations (backward error analysis), O(alpha^2) from the discrete runs
    Gradient descent (Barrett & Dherin 2021): theta' = -g - (alpha/2) H g.

    ``regime="scaled"`` (default): RMSProp and Adam with 1 - beta = c alpha, c fixed (the
    scaling in which the paper's kernels have an alpha-independent limit), from the map of the
    whole state y = (t, theta, m, v), written in a "half-step" form that is regular at t = 0::

        RMSProp  theta' = -P_h g - (alpha/2) P_h H (P_h g),   P_h = P(v + (alpha/2) c (q - v))
                 v'     = c (1 + alpha c/2) (q - v) - (alpha c/2) dq/dt
        Adam     theta' = -mhat_h P(vhat_h),
                 mhat_h = (m + (alpha/2) c1 (g - m)) / (1 - beta1^(t/alpha + 1/2))  (vhat_h alike)
                 m'     = c1 (1 + alpha c1/2) (g - m) - (alpha c1/2) dg/dt
                 v'     = c2 (1 + alpha c2/2) (q - v) - (alpha c2/2) dq/dt

    with dg/dt = H theta' and dq/dt = grad(q) . theta'. Each equals the expansion
    F0 + alpha F1 of :func:`symbolic_modified` up to O(alpha^2).

    ``regime="fixed"``: beta fixed as alpha -> 0 (the regime of Cattaneo et al. 2024). The
    memory is then slaved to theta and the modified equation is a flow for theta alone,

             theta' = -P(q) g - alpha a1 P(q) H (P(q) g) + alpha a2 g P'(q) dq/dt,
             a_i = (1 + beta_i) / (2 (1 - beta_i)),   dq/dt along theta' = -P(q) g,

    (RMSProp: beta1 = 0). It ignores the start-up transient: Adam's bias correction makes that
    transient an O(alpha^2) effect, RMSProp's v_0 = 0 an O(alpha) one.

:func:`discrete_run` runs the discrete algorithms (:func:`idebook.discrete.run`, the package's
one compiled recursion) from a non-zero memory and with Adam's bias correction optionally
switched off (the late-time map); with zero memory it is :mod:`idebook.discrete`.

Errors follow the package's policy (``idebook``'s docstring): ValueError for bad input,
DivergenceError when the state turns NaN or inf, and ``success=False`` with a
ConvergenceWarning when the integrator stops early.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from . import _validation as check
from . import discrete
from ._extras import missing_extra
from .model import ALGORITHMS, Model, bias_ratio, build, output_times, step_ratio
from .objectives import Objective, _quadratic_grad
from .results import (
    ContinuousRun,
    ConvergenceWarning,
    DiscreteRun,
    DivergenceError,
    Trajectory,
    check_times,
)

ORDER_ONE = ("gd", "rmsprop", "adam")
METHODS = ("LSODA", "Radau", "BDF", "DOP853", "RK45")

__all__ = ["ALGORITHMS", "ODESolution", "discrete_run", "hessian_vector", "ode_model",
           "symbolic_modified"]


# --------------------------------------------------------------------------------------------
# Hessian-vector products
# --------------------------------------------------------------------------------------------

def hessian_vector(objective: Objective, hessian: Callable | None = None
                   ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Return hv(theta, u) = H(theta) u, the Hessian-vector product the order-1 fields need.

    Parameters
    ----------
    objective : Objective
        f and its gradient.
    hessian : collections.abc.Callable, optional
        theta -> (n, n) Hessian. Without it the product is exact for the package's quadratics
        (``quadratic``, ``mse_line``: H = 2 A) and otherwise central differences of the gradient
        with a step scaled to theta and u (relative error about 1e-10).

    Returns
    -------
    collections.abc.Callable
        hv(theta, u) -> H(theta) u, shape (n,).

    Raises
    ------
    ValueError
        ``hessian`` is given but not callable.
    """
    if hessian is not None:
        if not callable(hessian):
            raise ValueError(f"hessian must be a callable theta -> (n, n) array, got {hessian!r}")
        return lambda theta, u: np.asarray(hessian(theta), dtype=float) @ u
    if objective.grad is _quadratic_grad:
        p = objective.params
        n = int(round((-1 + math.sqrt(1 + 4 * p.size)) / 2))  # params = A (n*n) then b (n)
        H = 2.0 * p[: n * n].reshape(n, n)
        return lambda theta, u: H @ u

    def hv(theta: np.ndarray, u: np.ndarray) -> np.ndarray:
        norm = float(np.linalg.norm(u))
        if norm == 0.0:
            return np.zeros_like(theta)
        d = 6e-6 * (1.0 + float(np.linalg.norm(theta))) / norm
        return (objective.gradient(theta + d * u) - objective.gradient(theta - d * u)) / (2 * d)

    return hv


# --------------------------------------------------------------------------------------------
# The discrete algorithms from a warm memory
# --------------------------------------------------------------------------------------------

def discrete_run(algorithm: str, objective: Objective | tuple, theta0, *, alpha: float,
                 steps: int, beta: float = 0.9, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, per_coordinate: bool = False, m0=None, v0=None,
                 bias: bool = True) -> DiscreteRun:
    """Algorithms 1-3 (and gradient descent, ``"gd"``) from the memory (m0, v0).

    The package's discrete recursion (:func:`idebook.discrete.run`) with a warm start; with
    m0 = v0 = 0 and ``bias=True`` it is :mod:`idebook.discrete`.

    Parameters
    ----------
    algorithm : {"gd", "adagrad", "rmsprop", "adam"}
    objective, theta0, alpha, steps, eps, per_coordinate
        As in :func:`idebook.discrete.adagrad`.
    beta : float
        RMSProp's decay rate (Algorithm 2).
    beta1, beta2 : float
        Adam's decay rates (Algorithm 3).
    m0, v0 : float or array_like, optional
        Initial memory: m_0 (Adam) and v_0 (G_0 for AdaGrad), default 0.
    bias : bool
        Adam's bias correction; False is the map Adam applies at late times (beta^k -> 0).

    Returns
    -------
    DiscreteRun

    Raises
    ------
    ValueError, TypeError, DivergenceError
        As in :func:`idebook.discrete.adagrad`.
    """
    model = build(algorithm, objective, theta0, alpha=alpha, beta=beta, beta1=beta1,
                  beta2=beta2, eps=eps, per_coordinate=per_coordinate, bias=bias)
    return discrete.run(model, steps, m0, v0)


# --------------------------------------------------------------------------------------------
# The ODE models
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Form:
    """Which ODE: the order, the shift, the kernel decay and the regime of order 1."""

    order: int
    shift: bool
    decay: str
    regime: str

    @property
    def fixed(self) -> bool:
        """Order 1 at fixed beta: a flow for theta alone."""
        return self.order == 1 and self.regime == "fixed"


def ode_model(algorithm: str, objective: Objective | tuple, theta0, *, alpha: float,
              t_end: float, order: int = 0, shift: bool = True, decay: str = "paper",
              beta: float = 0.9, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
              per_coordinate: bool = False, bias: bool = True, m0=None, v0=None,
              regime: str = "scaled", method: str = "Radau", rtol: float = 1e-10,
              atol: float = 1e-12, hessian: Callable | None = None) -> ContinuousRun:
    """Solve a continuous model of AdaGrad, RMSProp, Adam or gradient descent as an ODE.

    The equations are listed in the module docstring.

    Parameters
    ----------
    algorithm : {"gd", "adagrad", "rmsprop", "adam"}
    objective, theta0, alpha, eps, per_coordinate
        As in :func:`idebook.continuous.adagrad`.
    t_end : float
        Horizon, > 0; the result is reported at t = alpha k and t_end.
    order : {0, 1}
        0: the paper's model (Propositions 1-3, eq. (3)-(5); the shift of Propositions 1-2
        Taylor-expanded, Assumption 2). 1: the modified equation that follows the discrete
        algorithm to O(alpha^2) (``"gd"``, ``"rmsprop"``, ``"adam"``).
    shift : bool
        False drops the shift t + alpha of Propositions 1-2 (the alpha -> 0 flow; needs v0 > 0).
    decay : {"paper", "matched"}
        ``"matched"`` (order 0, RMSProp and Adam) uses the exact discrete decay rate
        -ln(beta)/alpha instead of (1 - beta)/alpha.
    beta, beta1, beta2 : float
        RMSProp's and Adam's decay rates, in [0, 1).
    bias : bool
        Adam's bias correction (eq. (6)); False drops it.
    m0, v0 : float or array_like, optional
        Initial memory (G_0 for AdaGrad), default 0.
    regime : {"scaled", "fixed"}
        Order 1: 1 - beta = c alpha with c fixed, or beta fixed (a theta-only flow).
    method : {"Radau", "LSODA", "BDF", "DOP853", "RK45"}
        The :func:`scipy.integrate.solve_ivp` integrator (Radau by default: the models become
        stiff near the minimiser, where v -> 0; LSODA can stall there).
    rtol, atol : float
        The integrator's tolerances, > 0.
    hessian : callable, optional
        theta -> (n, n) Hessian for order 1 (see :func:`hessian_vector`).

    Returns
    -------
    ContinuousRun
        ``method`` is ``"ode-order0"`` or ``"ode-order1"``; ``nfev`` counts right-hand sides;
        ``sol``/``at`` is the integrator's dense output (:class:`ODESolution`).

    Raises
    ------
    ValueError
        A parameter out of range or an invalid combination (order=1 for AdaGrad,
        decay="matched" with order=1, shift=False without v0 > 0).
    TypeError
        A gradient that returns None or non-numbers.
    DivergenceError
        The right-hand side became NaN or inf (``t`` is the time).

    Warns
    -----
    ConvergenceWarning
        The integrator stopped before t_end (``status=-4``; the result ends where it stopped).

    References
    ----------
    Heredia (2024), Propositions 1-3, eq. (3)-(6) and Assumption 2; Barrett & Dherin (2021) for
    the modified equation of gradient descent.
    """
    model = build(algorithm, objective, theta0, alpha=alpha, beta=beta, beta1=beta1,
                  beta2=beta2, eps=eps, per_coordinate=per_coordinate, bias=bias)
    form = _form(model, order, shift, decay, regime)
    t_end = check.positive("t_end", t_end)
    options = _integrator(method, rtol, atol)
    y0 = _initial_state(model, form, m0, v0)
    hv = hessian_vector(model.objective, hessian) if order == 1 else None
    field = _fixed_field(model, hv) if form.fixed else _FIELDS[algorithm](model, form, hv)
    return _result(model, form, *_integrate(model, field, y0, t_end, options), t_end)


def _form(model: Model, order: int, shift: bool, decay: str, regime: str) -> _Form:
    """Validate the choice of ODE for ``model``."""
    if isinstance(order, bool) or order not in (0, 1):
        raise ValueError(f"order must be 0 or 1, got {order!r}")
    if order == 1 and model.algorithm not in ORDER_ONE:
        raise ValueError(f"order=1 is available for {ORDER_ONE}, got "
                         f"algorithm={model.algorithm!r}")
    if regime not in ("scaled", "fixed"):
        raise ValueError(f"regime must be 'scaled' or 'fixed', got {regime!r}")
    if decay not in ("paper", "matched"):
        raise ValueError(f"decay must be 'paper' or 'matched', got {decay!r}")
    if decay == "matched" and (order != 0 or model.algorithm not in ("rmsprop", "adam")):
        raise ValueError("decay='matched' applies to order=0 with algorithm 'rmsprop' or 'adam'")
    fixed_regime = regime == "fixed" and model.algorithm in ("rmsprop", "adam")
    return _Form(order, bool(shift), decay, regime if fixed_regime else "scaled")


def _integrator(method: str, rtol: float, atol: float) -> dict:
    """Validated options of :func:`scipy.integrate.solve_ivp`."""
    return {"method": check.one_of("method", method, METHODS), "rtol": check.positive("rtol", rtol),
            "atol": check.positive("atol", atol)}


def _initial_state(model: Model, form: _Form, m0, v0) -> np.ndarray:
    """y(0) = (theta0, [m0,] [v0]) for the model's ODE."""
    m = check.start_state("m0", m0, model.n)
    v = check.start_state("v0", v0, model.nm, nonnegative=True)
    if model.shifted and form.order == 0 and not form.shift and np.any(v <= 0):
        raise ValueError("shift=False needs v0 > 0: without the shift the step -g/(sqrt(v)+eps) "
                         "is -g/eps at t = 0")
    if form.fixed or not model.has_v:
        return model.theta0
    return np.concatenate([model.theta0, m, v] if model.has_m else [model.theta0, v])


def _integrate(model: Model, field: Callable, y0: np.ndarray, t_end: float, options: dict):
    """Integrate y' = field(t, y) on [0, t_end]; returns (solution, status, message).

    Raises DivergenceError where the right-hand side is no longer finite; an integrator that
    stops early for another reason gives status -4 and a ConvergenceWarning.
    """
    sol = solve_ivp(field, (0.0, t_end), y0, dense_output=True, **options)
    if sol.success:
        return sol, 0, sol.message
    end = float(sol.t[-1])
    if not np.all(np.isfinite(field(end, sol.y[:, -1]))):
        raise DivergenceError(f"{model.algorithm} ODE: the right-hand side became non-finite "
                              f"at t = {end:.6g} (alpha = {model.alpha})", t=end)
    message = f"The integrator stopped at t = {end:.6g} < t_end: {sol.message}"
    warnings.warn(f"{model.algorithm} ODE: {message}", ConvergenceWarning, stacklevel=3)
    return sol, -4, message


def _result(model: Model, form: _Form, sol, status: int, message: str,
            t_end: float) -> ContinuousRun:
    """The run on the output times (those reached, if the integrator stopped early)."""
    end = t_end if status == 0 else float(sol.t[-1])
    t = output_times(model.alpha, t_end)
    t = t[t <= end * (1 + 1e-12)]
    # beta = 0 with the matched kernel: the memory is g (or q) itself, not an ODE state
    quasi = form.decay == "matched" and 0.0 in (model.beta1 if model.has_m else 1.0,
                                                model.beta2)
    names = () if form.fixed or not model.has_v else (
        ("m", "v") if model.has_m else (model.memory_name,))
    dense = ODESolution(ode=sol.sol, end=end, n=model.n, names=names,
                        grad=model.objective.grad if quasi else None,
                        params=model.objective.params, beta1=model.beta1, beta2=model.beta2,
                        per_coordinate=model.per_coordinate)
    out = dense(t)
    params = dict(model.params, order=form.order, shift=form.shift, decay=form.decay,
                  regime=form.regime)
    return ContinuousRun(
        t=out.t, theta=out.theta, **out.memory, algorithm=model.algorithm, alpha=model.alpha,
        params=params, method=f"ode-order{form.order}", success=status == 0, status=status,
        message=message, nfev=int(sol.nfev), sol=dense, iterations=0, residual=0.0,
        error_estimate=float("nan"), substeps=0)


@dataclass(frozen=True, kw_only=True, eq=False)
class ODESolution:
    """Dense output of :func:`ode_model`: the integrator's interpolant, as a Trajectory.

    ``ode`` is :func:`scipy.integrate.solve_ivp`'s ``OdeSolution`` for y = (theta, [m,] [v]),
    ``names`` the memory states after theta in y. With the matched kernel and beta = 0 a
    memory is g (or q) itself, computed from ``grad`` (then the result pickles if ``grad``
    does, as the package's objectives do).
    """

    ode: object
    end: float
    n: int
    names: tuple[str, ...]
    grad: Callable | None
    params: np.ndarray
    beta1: float
    beta2: float
    per_coordinate: bool

    def __call__(self, t: float | np.ndarray) -> Trajectory:
        """theta and the memory states at times ``t`` in [0, end] (ValueError otherwise)."""
        times = check_times(t, 0.0, self.end)
        y = self.ode(np.minimum(times, self.end)).T
        n = self.n
        states = {}
        if "m" in self.names:
            states["m"], states["v"] = y[:, n:2 * n].copy(), y[:, 2 * n:].copy()
        elif self.names:
            states[self.names[0]] = y[:, n:].copy()
        if self.grad is not None:
            for i, row in enumerate(y[:, :n]):
                g = check.gradient_array(self.grad(np.ascontiguousarray(row), self.params),
                                         (n,))
                if "m" in states and self.beta1 == 0.0:
                    states["m"][i] = g
                if self.beta2 == 0.0:
                    states["v"][i] = g * g if self.per_coordinate else g @ g
        return Trajectory(t=times, theta=y[:, :n], **states)


def _gd_field(model: Model, form: _Form, hv):
    alpha = model.alpha

    def field(t, y):
        g = model.objective.gradient(y)
        return -g if form.order == 0 else -g - 0.5 * alpha * hv(y, g)

    return field


def _adagrad_field(model: Model, form: _Form, hv):
    n, alpha, eps, per = model.n, model.alpha, model.eps, model.per_coordinate

    def field(t, y):
        theta, G = y[:n], y[n:]
        g = model.objective.gradient(theta)
        q = g * g if per else np.array([g @ g])
        ahead = G + q if form.shift else G  # G(t + alpha) ~ G + alpha G', G' = q / alpha
        return np.concatenate([-step_ratio(g, np.sqrt(np.maximum(ahead, 0.0)) + eps),
                               q / alpha])

    return field


def _rmsprop_field(model: Model, form: _Form, hv):
    n, alpha, eps, per, beta = model.n, model.alpha, model.eps, model.per_coordinate, model.beta2
    c = model.c2
    lam = c if form.decay == "paper" else _rate(beta, alpha)

    def field(t, y):
        theta, v = y[:n], y[n:]
        g = model.objective.gradient(theta)
        q = g * g if per else np.array([g @ g])
        if form.order == 0:
            if form.decay == "matched" and beta == 0.0:  # lam = inf: v follows q
                return np.concatenate([-step_ratio(g, np.sqrt(q) + eps), np.zeros_like(v)])
            ahead = beta * v + (1.0 - beta) * q if form.shift else v
            return np.concatenate([-step_ratio(g, np.sqrt(np.maximum(ahead, 0.0)) + eps),
                                   lam * (q - v)])
        den = np.sqrt(np.maximum(v + 0.5 * alpha * c * (q - v), 0.0)) + eps
        u = step_ratio(g, den)
        dtheta = -u - 0.5 * alpha * step_ratio(hv(theta, u), den)
        dq = _dq(g, hv(theta, dtheta), per)
        return np.concatenate([dtheta, c * (1 + 0.5 * alpha * c) * (q - v) - 0.5 * alpha * c * dq])

    return field


def _adam_field(model: Model, form: _Form, hv):
    n, alpha, eps, per = model.n, model.alpha, model.eps, model.per_coordinate
    b1, b2, c1, c2 = model.beta1, model.beta2, model.c1, model.c2
    ln1, ln2 = model.ln_beta1, model.ln_beta2
    matched = form.decay == "matched"
    lam1, lam2 = (_rate(b1, alpha), _rate(b2, alpha)) if matched else (c1, c2)

    def field(t, y):
        theta, m, v = y[:n], y[n:2 * n], y[2 * n:]
        g = model.objective.gradient(theta)
        q = g * g if per else np.array([g @ g])
        if form.order == 0:
            if matched and b1 == 0.0:
                mhat, dm = g, np.zeros_like(m)
            else:
                mhat, dm = bias_ratio(m, lam1 * g, t, alpha, ln1), lam1 * (g - m)
            if matched and b2 == 0.0:
                vhat, dv = q, np.zeros_like(v)
            else:
                vhat, dv = bias_ratio(v, lam2 * q, t, alpha, ln2), lam2 * (q - v)
            dtheta = -step_ratio(mhat, np.sqrt(np.maximum(vhat, 0.0)) + eps)
            return np.concatenate([dtheta, dm, dv])
        half = t + 0.5 * alpha  # the discrete bias factors at the half step, 1 - beta^(k - 1/2)
        mh = bias_ratio(m + 0.5 * alpha * c1 * (g - m), 0.0, half, alpha, ln1)
        vh = bias_ratio(v + 0.5 * alpha * c2 * (q - v), 0.0, half, alpha, ln2)
        dtheta = -step_ratio(mh, np.sqrt(np.maximum(vh, 0.0)) + eps)
        dg = hv(theta, dtheta)
        dm = c1 * (1 + 0.5 * alpha * c1) * (g - m) - 0.5 * alpha * c1 * dg
        dv = c2 * (1 + 0.5 * alpha * c2) * (q - v) - 0.5 * alpha * c2 * _dq(g, dg, per)
        return np.concatenate([dtheta, dm, dv])

    return field


def _fixed_field(model: Model, hv):
    """theta' = -P g - alpha a1 P H(P g) + alpha a2 g P'(q) dq/dt: RMSProp (b1 = 0) and Adam at
    fixed beta, late times; a_i = (1 + beta_i) / (2 (1 - beta_i)), P(x) = 1/(sqrt(x) + eps)."""
    alpha, eps, per = model.alpha, model.eps, model.per_coordinate
    a1 = (1 + model.beta1) / (2 * (1 - model.beta1))
    a2 = (1 + model.beta2) / (2 * (1 - model.beta2))

    def field(t, y):
        g = model.objective.gradient(y)
        q = g * g if per else np.array([g @ g])
        s = np.sqrt(q)
        u = step_ratio(g, s + eps)  # P g
        Hpg = hv(y, u)
        dq = _dq(g, -Hpg, per)  # dq/dt along theta' = -P g
        # g P'(q) dq/dt with P'(q) = -1 / (2 s (s + eps)^2)
        curvature = step_ratio(-0.5 * g * dq, np.maximum(s, 1e-300) * (s + eps) ** 2)
        return -u - alpha * a1 * step_ratio(Hpg, s + eps) + alpha * a2 * curvature

    return field


_FIELDS = {"gd": _gd_field, "adagrad": _adagrad_field, "rmsprop": _rmsprop_field,
           "adam": _adam_field}


def _dq(g: np.ndarray, dg: np.ndarray, per: bool) -> np.ndarray:
    """d/dt of q = ||g||^2 (or g^2 per coordinate) given dg/dt."""
    return 2.0 * g * dg if per else np.array([2.0 * g @ dg])


def _rate(beta: float, alpha: float) -> float:
    """The exact discrete decay rate -ln(beta)/alpha (inf for beta = 0)."""
    return np.inf if beta == 0.0 else -math.log(beta) / alpha


# --------------------------------------------------------------------------------------------
# Symbolic backward error analysis (sympy), 1-D
# --------------------------------------------------------------------------------------------

def symbolic_modified(algorithm: str, bias: bool = False) -> dict:
    """Backward error analysis of the discrete map, in one dimension, with sympy.

    The map y_k = y_{k-1} + alpha Phi(y_{k-1}, alpha) of ``algorithm`` is written for
    y = (theta, [m,] v) (and t, for Adam with ``bias=True``), with 1 - beta = c alpha (c, c1, c2
    fixed) and g = f'(theta) for an unspecified f. Expanding Phi = Phi0 + alpha Phi1 + O(alpha^2),
    the flow y' = F0 + alpha F1 with

        F0 = Phi0,     F1 = Phi1 - (1/2) (D Phi0) Phi0

    has a time-alpha map that agrees with one step to O(alpha^3).

    Parameters
    ----------
    algorithm : {"gd", "rmsprop", "adam"}
        The discrete map (Algorithms 2-3, or gradient descent).
    bias : bool
        Adam's bias correction, with the time t as a state.

    Returns
    -------
    dict
        The symbols (``theta``, ``m``, ``v``, ``t``, ``alpha``, ``c``, ``c1``, ``c2``, ``eps``,
        ``f``), the state list ``y`` and the sympy column vectors ``Phi``, ``Phi0``, ``Phi1``,
        ``F0``, ``F1``.

    Raises
    ------
    ValueError
        An algorithm without an order-1 expansion.

    References
    ----------
    Barrett & Dherin (2021), implicit gradient regularization (gradient descent); Heredia (2024),
    Algorithms 2-3 (the maps expanded).
    """
    try:
        import sympy as sp
    except ModuleNotFoundError as error:
        raise missing_extra(error, "idebook.modified.symbolic_modified") from error

    if algorithm not in ORDER_ONE:
        raise ValueError(f"algorithm must be one of {ORDER_ONE}, got {algorithm!r}")
    th, m, v, t = sp.symbols("theta m v t", real=True)
    a, c, c1, c2, eps = sp.symbols("alpha c c_1 c_2 epsilon", positive=True)
    f = sp.Function("f")
    g = sp.diff(f(th), th)
    q = g**2
    if algorithm == "gd":
        y, Phi = [th], [-g]
    elif algorithm == "rmsprop":
        v_new = v + a * c * (q - v)
        y, Phi = [th, v], [-g / (sp.sqrt(v_new) + eps), c * (q - v)]
    else:
        m_new = m + a * c1 * (g - m)
        v_new = v + a * c2 * (q - v)
        if bias:  # step k = t/alpha + 1 starts at t: 1 - beta^k = 1 - (1 - c alpha)^(t/alpha + 1)
            b1, b2 = (1 - sp.series(sp.exp((t / a + 1) * sp.log(1 - ci * a)), a, 0, 2).removeO()
                      for ci in (c1, c2))  # to O(alpha^2), which is all Phi0 and Phi1 need
            step = (m_new / b1) / (sp.sqrt(v_new / b2) + eps)
            y, Phi = [t, th, m, v], [sp.Integer(1), -step, c1 * (g - m), c2 * (q - v)]
        else:
            step = m_new / (sp.sqrt(v_new) + eps)
            y, Phi = [th, m, v], [-step, c1 * (g - m), c2 * (q - v)]
    Phi = sp.Matrix(Phi)
    Phi0 = Phi.subs(a, 0)
    Phi1 = Phi.diff(a).subs(a, 0)
    J = Phi0.jacobian(sp.Matrix(y))
    F1 = Phi1 - J * Phi0 / 2
    return {"theta": th, "m": m, "v": v, "t": t, "alpha": a, "c": c, "c1": c1, "c2": c2,
            "eps": eps, "f": f, "y": y, "Phi": Phi, "Phi0": Phi0, "Phi1": Phi1, "F0": Phi0,
            "F1": F1}
