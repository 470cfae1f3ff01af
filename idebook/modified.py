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

:func:`discrete_run` is a plain reference recursion of the same algorithms that can start from a
non-zero memory and switch Adam's bias correction off (the late-time map); with zero memory it
reproduces :mod:`idebook.discrete`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp

from . import _validation as check
from ._extras import missing_extra
from .objectives import Objective, _quadratic_grad, as_objective
from .results import ContinuousRun, DiscreteRun, Trajectory

ALGORITHMS = ("gd", "adagrad", "rmsprop", "adam")
ORDER_ONE = ("gd", "rmsprop", "adam")

__all__ = ["ALGORITHMS", "discrete_run", "hessian_vector", "ode_model", "symbolic_modified"]


# --------------------------------------------------------------------------------------------
# Hessian-vector products
# --------------------------------------------------------------------------------------------

def hessian_vector(objective: Objective, hessian: Callable | None = None
                   ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Return hv(theta, u) = H(theta) u.

    Exact for the package's quadratics (``quadratic``, ``mse_line``: H = 2 A), from ``hessian``
    (a callable theta -> (n, n) array) when given, and otherwise by central differences of the
    gradient with a step scaled to theta and u (relative error about 1e-10).
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
# The discrete reference recursion (any initial memory, bias correction optional)
# --------------------------------------------------------------------------------------------

def discrete_run(algorithm: str, objective: Objective | tuple, theta0, *, alpha: float,
                 steps: int, beta: float = 0.9, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, per_coordinate: bool = False, m0=None, v0=None,
                 bias: bool = True) -> DiscreteRun:
    """Algorithms 1-3 (and gradient descent, ``"gd"``) as a plain loop, from memory (m0, v0).

    ``v0`` is G_0 for AdaGrad. ``bias=False`` switches Adam's bias correction off, which is the
    map Adam applies at late times (beta^k -> 0). With m0 = v0 = 0 and ``bias=True`` this is
    :mod:`idebook.discrete` (same arithmetic); it exists to start from a warm memory.
    """
    algorithm = _algorithm(algorithm)
    objective = as_objective(objective)
    alpha = check.positive("alpha", alpha)
    steps = check.count("steps", steps)
    eps = check.nonnegative("eps", eps)
    theta = check.theta0_vector(theta0, objective.dim)
    b1, b2 = _betas(algorithm, beta, beta1, beta2)
    n = theta.size
    nm = n if per_coordinate else 1
    m = _start("m0", m0, n)
    v = _start("v0", v0, nm)
    th = np.empty((steps + 1, n))
    M = np.empty((steps + 1, n))
    V = np.empty((steps + 1, nm))
    th[0], M[0], V[0] = theta, m, v
    for k in range(1, steps + 1):
        g = objective.gradient(theta)
        q = g * g if per_coordinate else np.array([g @ g])
        if algorithm == "gd":
            theta = theta - alpha * g
        else:
            if algorithm == "adagrad":
                v = v + q
            else:
                v = b2 * v + (1.0 - b2) * q
            if algorithm == "adam":
                m = b1 * m + (1.0 - b1) * g
                c1 = 1.0 - b1 ** k if bias else 1.0
                c2 = 1.0 - b2 ** k if bias else 1.0
                step = (m / c1) / (np.sqrt(v / c2) + eps)
            else:
                step = g / (np.sqrt(v) + eps)
            theta = theta - alpha * step
        th[k], M[k], V[k] = theta, m, v
    t = alpha * np.arange(steps + 1)
    mem = {} if algorithm == "gd" else ({"G": V} if algorithm == "adagrad" else {"v": V})
    if algorithm == "adam":
        mem["m"] = M
    params = _params(algorithm, b1, b2, eps, per_coordinate, bias)
    return DiscreteRun(t, th, algorithm=algorithm, alpha=alpha, params=params, **mem)


# --------------------------------------------------------------------------------------------
# The ODE models
# --------------------------------------------------------------------------------------------

def ode_model(algorithm: str, objective: Objective | tuple, theta0, *, alpha: float,
              t_end: float, order: int = 0, shift: bool = True, decay: str = "paper",
              beta: float = 0.9, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
              per_coordinate: bool = False, bias: bool = True, m0=None, v0=None,
              regime: str = "scaled", method: str = "Radau", rtol: float = 1e-10,
              atol: float = 1e-12, hessian: Callable | None = None) -> ContinuousRun:
    """Solve a continuous model of AdaGrad, RMSProp, Adam or gradient descent as an ODE.

    The equations are listed in the module docstring. ``order=0`` is the paper's model
    (Propositions 1-3; the shift of Propositions 1-2 Taylor-expanded, or dropped with
    ``shift=False``); ``order=1`` is the modified equation that follows the discrete algorithm
    to O(alpha^2) (``"gd"``, ``"rmsprop"``, ``"adam"``) in the ``regime`` ``"scaled"``
    (1 - beta = c alpha) or ``"fixed"`` (beta fixed, theta-only flow); ``decay="matched"``
    (order 0) uses the exact discrete decay rate -ln(beta)/alpha. ``m0``/``v0`` start the
    memory (G_0 for AdaGrad; default 0); ``bias=False`` drops Adam's bias correction.

    ``method`` is the :func:`scipy.integrate.solve_ivp` integrator (Radau by default: the
    models become stiff near the minimiser, where v -> 0; LSODA can stall there). Returns a
    :class:`~idebook.results.ContinuousRun` on the grid t = alpha k with dense output
    ``.at(t)``; its ``method`` field is ``"ode-order0"`` or ``"ode-order1"``, and ``nfev`` counts
    right-hand sides.
    Raises ``FloatingPointError`` if the integrator fails.
    """
    algorithm = _algorithm(algorithm)
    objective = as_objective(objective)
    alpha = check.positive("alpha", alpha)
    t_end = check.positive("t_end", t_end)
    eps = check.nonnegative("eps", eps)
    rtol = check.positive("rtol", rtol)
    atol = check.positive("atol", atol)
    theta = check.theta0_vector(theta0, objective.dim)
    if isinstance(order, bool) or order not in (0, 1):
        raise ValueError(f"order must be 0 or 1, got {order!r}")
    if order == 1 and algorithm not in ORDER_ONE:
        raise ValueError(f"order=1 is available for {ORDER_ONE}, got algorithm={algorithm!r}")
    if regime not in ("scaled", "fixed"):
        raise ValueError(f"regime must be 'scaled' or 'fixed', got {regime!r}")
    fixed = order == 1 and regime == "fixed" and algorithm in ("rmsprop", "adam")
    if decay not in ("paper", "matched"):
        raise ValueError(f"decay must be 'paper' or 'matched', got {decay!r}")
    if decay == "matched" and (order != 0 or algorithm not in ("rmsprop", "adam")):
        raise ValueError("decay='matched' applies to order=0 with algorithm 'rmsprop' or 'adam'")
    if method not in ("LSODA", "Radau", "BDF", "DOP853", "RK45"):
        raise ValueError(f"method must be one of LSODA, Radau, BDF, DOP853, RK45; got {method!r}")
    b1, b2 = _betas(algorithm, beta, beta1, beta2)
    n = theta.size
    nm = n if per_coordinate else 1
    m = _start("m0", m0, n)
    v = _start("v0", v0, nm)
    if algorithm in ("adagrad", "rmsprop") and order == 0 and not shift and np.any(v <= 0):
        raise ValueError("shift=False needs v0 > 0: without the shift the step -g/(sqrt(v)+eps) "
                         "is -g/eps at t = 0")
    hv = hessian_vector(objective, hessian) if order == 1 else None
    if fixed:
        field = _fixed_field(objective, alpha, b1, b2, eps, per_coordinate, hv)
        y0 = theta
    else:
        field = _FIELDS[algorithm](objective, alpha, b1, b2, eps, per_coordinate, order, shift,
                                   decay, bias, hv, n)
        y0 = np.concatenate([theta, m, v]) if algorithm == "adam" else (
            theta if algorithm == "gd" else np.concatenate([theta, v]))
    sol = solve_ivp(field, (0.0, t_end), y0, method=method, rtol=rtol, atol=atol,
                    dense_output=True)
    if not sol.success:
        raise FloatingPointError(f"{algorithm} ODE (order {order}): {sol.message}")
    # beta = 0 with the matched kernel: the memory is g (or q) itself, not an ODE state
    quasi_static = decay == "matched" and algorithm in ("rmsprop", "adam") and 0.0 in (b1, b2)
    t = alpha * np.arange(math.floor(t_end / alpha + 1e-9) + 1)
    if t[-1] < t_end * (1 - 1e-12):
        t = np.append(t, t_end)

    def at(times: np.ndarray) -> Trajectory:
        times = np.atleast_1d(np.asarray(times, dtype=float))
        if np.any(times < 0) or np.any(times > t_end * (1 + 1e-12)):
            raise ValueError(f"t must lie in [0, {t_end}]")
        y = sol.sol(np.minimum(times, t_end)).T
        th = y[:, :n]
        states = {}
        if fixed:  # the memory is slaved to theta and not a state of this flow
            pass
        elif algorithm == "adagrad":
            states["G"] = y[:, n:]
        else:
            adam = algorithm == "adam"
            mm = y[:, n:2 * n].copy() if adam else None
            vv = y[:, 2 * n:].copy() if adam else y[:, n:].copy()
            if quasi_static:
                for i, row in enumerate(th):
                    g = objective.gradient(row)
                    if adam and b1 == 0.0:
                        mm[i] = g
                    if b2 == 0.0:
                        vv[i] = g * g if per_coordinate else g @ g
            states["v"] = vv
            if adam:
                states["m"] = mm
        return Trajectory(times, th, **states)

    out = at(t)
    params = _params(algorithm, b1, b2, eps, per_coordinate, bias)
    params.update(order=order, shift=bool(shift), decay=decay, regime=regime)
    return ContinuousRun(out.t, out.theta, out.G, out.v, out.m, algorithm=algorithm, alpha=alpha,
                         params=params, method=f"ode-order{order}", success=True,
                         message=sol.message, iterations=0, residual=0.0,
                         error_estimate=float("nan"), substeps=0, nfev=int(sol.nfev), dense=at)


def _gd_field(objective, alpha, b1, b2, eps, per, order, shift, decay, bias, hv, n):
    def field(t, y):
        g = objective.gradient(y)
        return -g if order == 0 else -g - 0.5 * alpha * hv(y, g)

    return field


def _adagrad_field(objective, alpha, b1, b2, eps, per, order, shift, decay, bias, hv, n):
    def field(t, y):
        theta, G = y[:n], y[n:]
        g = objective.gradient(theta)
        q = g * g if per else np.array([g @ g])
        ahead = G + q if shift else G  # G(t + alpha) ~ G + alpha G', G' = q / alpha
        return np.concatenate([-g / (np.sqrt(np.maximum(ahead, 0.0)) + eps), q / alpha])

    return field


def _rmsprop_field(objective, alpha, b1, b2, eps, per, order, shift, decay, bias, hv, n):
    beta = b2
    c = (1.0 - beta) / alpha
    lam = c if decay == "paper" else _rate(beta, alpha)

    def field(t, y):
        theta, v = y[:n], y[n:]
        g = objective.gradient(theta)
        q = g * g if per else np.array([g @ g])
        if order == 0:
            if decay == "matched" and beta == 0.0:  # lam = inf: v follows q, v(t+alpha) = q
                return np.concatenate([-g / (np.sqrt(q) + eps), np.zeros_like(v)])
            ahead = beta * v + (1.0 - beta) * q if shift else v
            return np.concatenate([-g / (np.sqrt(np.maximum(ahead, 0.0)) + eps), lam * (q - v)])
        P = 1.0 / (np.sqrt(np.maximum(v + 0.5 * alpha * c * (q - v), 0.0)) + eps)
        dtheta = -P * g - 0.5 * alpha * P * hv(theta, P * g)
        dq = _dq(g, hv(theta, dtheta), per)
        return np.concatenate([dtheta, c * (1 + 0.5 * alpha * c) * (q - v) - 0.5 * alpha * c * dq])

    return field


def _adam_field(objective, alpha, b1, b2, eps, per, order, shift, decay, bias, hv, n):
    c1, c2 = (1.0 - b1) / alpha, (1.0 - b2) / alpha
    ln1, ln2 = _log(b1), _log(b2)
    matched = decay == "matched"
    lam1, lam2 = (_rate(b1, alpha), _rate(b2, alpha)) if matched else (c1, c2)

    def ratio(x, forcing, t, lnb):
        """x / (1 - beta^(t/alpha)); at t = 0 its limit x'(0) alpha/(-ln beta); beta = 0: x."""
        if not bias or lnb == -np.inf:
            return x
        if t <= 0.0:
            return forcing * alpha / (-lnb)
        return x / (-math.expm1(t / alpha * lnb))

    def field(t, y):
        theta, m, v = y[:n], y[n:2 * n], y[2 * n:]
        g = objective.gradient(theta)
        q = g * g if per else np.array([g @ g])
        if order == 0:
            if matched and b1 == 0.0:
                mhat, dm = g, np.zeros_like(m)
            else:
                mhat, dm = ratio(m, lam1 * g, t, ln1), lam1 * (g - m)
            if matched and b2 == 0.0:
                vhat, dv = q, np.zeros_like(v)
            else:
                vhat, dv = ratio(v, lam2 * q, t, ln2), lam2 * (q - v)
            dtheta = -mhat / (np.sqrt(np.maximum(vhat, 0.0)) + eps)
            return np.concatenate([dtheta, dm, dv])
        s = t / alpha + 0.5  # the discrete bias factors at the half step, 1 - beta^(k - 1/2)
        d1 = -math.expm1(s * ln1) if bias and ln1 != -np.inf else 1.0
        d2 = -math.expm1(s * ln2) if bias and ln2 != -np.inf else 1.0
        mh = (m + 0.5 * alpha * c1 * (g - m)) / d1
        vh = (v + 0.5 * alpha * c2 * (q - v)) / d2
        dtheta = -mh / (np.sqrt(np.maximum(vh, 0.0)) + eps)
        dg = hv(theta, dtheta)
        dm = c1 * (1 + 0.5 * alpha * c1) * (g - m) - 0.5 * alpha * c1 * dg
        dv = c2 * (1 + 0.5 * alpha * c2) * (q - v) - 0.5 * alpha * c2 * _dq(g, dg, per)
        return np.concatenate([dtheta, dm, dv])

    return field


def _fixed_field(objective, alpha, b1, b2, eps, per, hv):
    """theta' = -P g - alpha a1 P H(P g) + alpha a2 g P'(q) dq/dt: RMSProp (b1 = 0) and Adam at
    fixed beta, late times; a_i = (1 + beta_i) / (2 (1 - beta_i)), P(x) = 1/(sqrt(x) + eps)."""
    a1 = (1 + b1) / (2 * (1 - b1))
    a2 = (1 + b2) / (2 * (1 - b2))

    def field(t, y):
        g = objective.gradient(y)
        q = g * g if per else np.array([g @ g])
        s = np.sqrt(q)
        P = 1.0 / (s + eps)
        dP = -0.5 / (np.maximum(s, 1e-300) * (s + eps) ** 2)
        Hpg = hv(y, P * g)
        dq = _dq(g, -Hpg, per)  # dq/dt along theta' = -P g
        return -P * g - alpha * a1 * P * Hpg + alpha * a2 * g * dP * dq

    return field


_FIELDS = {"gd": _gd_field, "adagrad": _adagrad_field, "rmsprop": _rmsprop_field,
           "adam": _adam_field}


def _dq(g: np.ndarray, dg: np.ndarray, per: bool) -> np.ndarray:
    """d/dt of q = ||g||^2 (or g^2 per coordinate) given dg/dt."""
    return 2.0 * g * dg if per else np.array([2.0 * g @ dg])


def _rate(beta: float, alpha: float) -> float:
    """The exact discrete decay rate -ln(beta)/alpha (inf for beta = 0)."""
    return np.inf if beta == 0.0 else -math.log(beta) / alpha


def _log(beta: float) -> float:
    return -np.inf if beta == 0.0 else math.log(beta)


# --------------------------------------------------------------------------------------------
# Symbolic backward error analysis (sympy), 1-D
# --------------------------------------------------------------------------------------------

def symbolic_modified(algorithm: str, bias: bool = False) -> dict:
    """Backward error analysis of the discrete map, in one dimension, with sympy.

    The map y_k = y_{k-1} + alpha Phi(y_{k-1}, alpha) of ``algorithm`` ("gd", "rmsprop",
    "adam") is written for y = (theta, [m,] v) (and t, for Adam with ``bias=True``), with
    1 - beta = c alpha (c, c1, c2 fixed) and g = f'(theta) for an unspecified f. Expanding
    Phi = Phi0 + alpha Phi1 + O(alpha^2), the flow y' = F0 + alpha F1 with

        F0 = Phi0,     F1 = Phi1 - (1/2) (D Phi0) Phi0

    has a time-alpha map that agrees with one step to O(alpha^3). Returns a dict with the
    symbols (``theta``, ``m``, ``v``, ``t``, ``alpha``, ``c``, ``c1``, ``c2``, ``eps``, ``f``),
    the state list ``y`` and the sympy column vectors ``Phi``, ``Phi0``, ``Phi1``, ``F0``, ``F1``.
    """
    try:
        import sympy as sp
    except ModuleNotFoundError as error:
        raise missing_extra(error, "idebook.modified.symbolic_modified") from error

    algorithm = _algorithm(algorithm)
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


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _algorithm(name: str) -> str:
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {name!r}")
    return name


def _betas(algorithm: str, beta: float, beta1: float, beta2: float) -> tuple[float, float]:
    """(b1, b2): Adam's (beta1, beta2); RMSProp's beta as b2; AdaGrad and GD: (0, 1)."""
    if algorithm == "rmsprop":
        return 0.0, check.unit_interval("beta", beta)
    if algorithm == "adam":
        return check.unit_interval("beta1", beta1), check.unit_interval("beta2", beta2)
    return 0.0, 1.0


def _start(name: str, value, size: int) -> np.ndarray:
    if value is None:
        return np.zeros(size)
    arr = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    if arr.size == 1 and size > 1:
        arr = np.full(size, arr[0])
    if arr.size != size or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite with {size} entries, got {value!r}")
    if name == "v0" and np.any(arr < 0):
        raise ValueError(f"v0 must be >= 0, got {value!r}")
    return arr


def _params(algorithm: str, b1: float, b2: float, eps: float, per: bool, bias: bool) -> dict:
    if algorithm == "rmsprop":
        p = {"beta": b2}
    elif algorithm == "adam":
        p = {"beta1": b1, "beta2": b2, "bias": bool(bias)}
    else:
        p = {}
    p.update(eps=eps, per_coordinate=bool(per))
    return p
