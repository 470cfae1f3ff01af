"""Algorithm 4 of the paper (its Section 4.1), as the paper describes it: the baseline solver.

The paper solves Propositions 1-3 with a fixed-point iteration in the manner of IDESolver
(Gelmi & Jorquera 2014), "Algorithm 4, Iterative Modified IDESolver Method":

1. ``y_current`` solves the ODE without memory. Dropping the integral literally would leave
   theta' = -g / eps for AdaGrad and RMSProp, so the ODE taken here is plain gradient flow,
   theta' = -g (g = grad f, plus (lambda/2) theta for AdamL2).
2. ``y_guess = T(y_current)``: every memory integral is evaluated, at every grid point, from the
   cubic interpolant of the previous iterate, and theta is stepped again with those memories.
3. While the error, the sum over the grid of squared differences between ``y_new`` (or
   ``y_current``) and ``y_guess``, exceeds 1e-4: ``y_new = a y_current + (1 - a) y_guess``,
   ``y_guess = T(y_new)``; when the error grows, the smoothing factor ``a`` (starting at 0.5)
   rises by 0.0005, up to 0.9999. The answer is the last ``y_guess``.

``T`` follows Section 4.1 and the published code:

* Euler steps for theta on the grid t = alpha k, k = 0, 1, ..., i.e. a step h = alpha,
  chosen in the paper "to ensure consistency with Assumption (2)" (a shorter last step when
  t_end is not a multiple of alpha);
* G(t + alpha) (AdaGrad) and v(t + alpha) (RMSProp) integrate up to t + alpha, Adam's m(t) and
  v(t) up to t, with the bias factors of eq. (6) and the AdamW/AdamL2 terms -(w/alpha) theta
  and g + (lambda/2) theta;
* each integral int_0^b K(b - s) q(theta(s)) ds is a 1000-node Gauss-Legendre rule on [0, b]
  (``scipy.integrate.fixed_quad(n=1000)``, here vectorised over all grid points) applied to
  the kernel times q of the iterate's cubic spline, extrapolated past the last point when
  t + alpha goes beyond it.

The published code starts the grid at t0 = 1e-12 so that Adam's bias factors 1 - beta^(t/alpha)
are not 0 at the first point; here the grid starts at t = 0, like the discrete algorithms and the
fast solver, and Adam's bias-corrected moments take their limits at t = 0, which is what the
published code approaches to O(1e-11). The published code also integrates from before t = 0
for RMSProp (a spline extrapolated backwards); here every integral starts at 0, as in
Proposition 2.

With h = alpha, each Euler step is the discrete update with the memory sum replaced by an
integral, so the result stays close to the discrete recursion, and its distance to the IDE's
solution is O(alpha): a baseline, not an accurate solver. Every sweep costs 1000 gradient
evaluations per grid point, and the paper's cap of 1e10 sweeps is ``max_iterations`` here
(``max_sweeps`` of :mod:`idebook.continuous`). :mod:`idebook._fast` is the accurate solver.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import numpy as np
from numba import types
from scipy.interpolate import CubicSpline
from scipy.special import roots_legendre

from ._jit import GRAD_TYPE, plain
from .memory import kernel
from .model import Model, bias_ratio, output_times, step_ratio
from .results import ContinuousRun, ConvergenceWarning, DivergenceError, Trajectory, check_times

TOLERANCE = 1e-4  # global error tolerance (sum of squared differences)
SMOOTHING_START, SMOOTHING_STEP, SMOOTHING_MAX = 0.5, 0.0005, 0.9999
QUADRATURE_NODES = 1000
POINTS_PER_CHUNK = 250_000  # quadrature nodes evaluated at once (bounds the memory used)

_GAUSS_X, _GAUSS_W = roots_legendre(QUADRATURE_NODES)  # the nodes of scipy's fixed_quad


_F = types.float64


@numba.njit(_F[:, ::1](GRAD_TYPE, _F[::1], _F[:, ::1], _F), cache=True)
def _gradients(grad, params, X, l2):
    """g = grad f(x) + (l2/2) x for every row x of X."""
    out = np.empty_like(X)
    for p in range(X.shape[0]):
        g = grad(X[p], params)
        for i in range(X.shape[1]):
            out[p, i] = g[i] + 0.5 * l2 * X[p, i]
    return out


@numba.njit(types.Tuple((_F[:, ::1], types.int64))(
    GRAD_TYPE, _F[::1], _F[::1], _F[::1], _F[:, ::1], _F[:, ::1], types.boolean, _F, _F),
    cache=True)
def _euler(grad, params, t, theta0, num, den, live, decay, l2):
    """Forward Euler for theta' = -decay theta - num / den on the grid t.

    ``live``: the numerator is g(theta_k), evaluated along the way (AdaGrad, RMSProp and
    gradient flow); otherwise it is the given ``num[k]`` (Adam's mhat). ``den`` has one
    column (norm memory) or one per coordinate. Returns (theta, k_bad), k_bad = -1 if all
    values are finite.
    """
    n = theta0.shape[0]
    per = den.shape[1] == n
    theta = np.empty((t.shape[0], n))
    theta[0] = theta0
    for k in range(t.shape[0] - 1):
        h = t[k + 1] - t[k]
        x = theta[k]
        g = grad(x, params) + 0.5 * l2 * x if live else num[k]
        for i in range(n):
            step = step_ratio(g[i], den[k, i if per else 0])
            theta[k + 1, i] = x[i] - h * (decay * x[i] + step)
            if not np.isfinite(theta[k + 1, i]):
                return theta, k + 1
    return theta, -1


_plain_gradients, _plain_euler = plain(_gradients), plain(_euler)


def solve_paper(spec: Model, t_end: float, max_iterations: int) -> ContinuousRun:
    """Solve Proposition 1, 2 or 3 by Algorithm 4 (Euler steps h = alpha, Picard with smoothing).

    Stops at an error (sum of squared differences between successive iterates over the grid)
    <= 1e-4, when the smoothing factor would pass 0.9999, or after ``max_iterations``
    applications of the memory-and-Euler map T; the last two are failures and emit a
    :class:`ConvergenceWarning`. ``residual`` is that final error; ``iterations`` counts T;
    ``nfev`` counts gradient evaluations (1000 per grid point and memory pass, plus the Euler
    steps); ``status`` is -1 (iteration cap) or -2 (smoothing exhausted) on failure. Raises
    :class:`DivergenceError` if theta becomes non-finite.
    """
    alpha = spec.alpha
    t = output_times(alpha, t_end)
    jit = spec.objective.jitted
    gradients, euler = (_gradients, _euler) if jit else (_plain_gradients, _plain_euler)
    grad, params = spec.objective.grad, spec.objective.params
    nfev = 0

    def march(num: np.ndarray, den: np.ndarray, live: bool, decay: float) -> np.ndarray:
        nonlocal nfev
        theta, bad = euler(grad, params, t, spec.theta0, num, den, live, decay, spec.l2)
        nfev += t.size - 1 if live else 0
        if bad >= 0:
            raise DivergenceError(
                f"{spec.algorithm}: the continuous solution (method='paper') became non-finite "
                f"at t = {t[bad]:.6g} (alpha = {alpha})", t=float(t[bad]))
        return theta

    def memories(theta: np.ndarray, upper: np.ndarray) -> dict[str, np.ndarray]:
        nonlocal nfev
        nfev += upper.size * QUADRATURE_NODES
        return _memories(spec, _interpolant(t, theta), upper, gradients)

    if spec.has_m:  # the forcings at t = 0 that give Adam's bias-corrected moments there
        g0 = gradients(grad, params, spec.theta0[None, :], spec.l2)[0]
        q0 = g0 * g0 if spec.per_coordinate else np.array([g0 @ g0])
        nfev += 1

    def sweep(theta: np.ndarray) -> np.ndarray:
        """The map T: memories from ``theta``'s spline, then Euler with them."""
        if spec.has_m:
            mem = memories(theta, t[:-1])
            mhat = bias_ratio(mem["m"], spec.c1 * g0, t[:-1, None], alpha, spec.ln_beta1)
            vhat = bias_ratio(mem["v"], spec.c2 * q0, t[:-1, None], alpha, spec.ln_beta2)
            den = np.sqrt(np.maximum(vhat, 0.0)) + spec.eps
            return march(mhat, den, False, spec.weight_decay / alpha)
        mem = memories(theta, t[:-1] + alpha)[spec.memory_name]
        return march(mem, np.sqrt(np.maximum(mem, 0.0)) + spec.eps, True, 0.0)

    nm = spec.theta0.size if spec.per_coordinate else 1
    current = march(np.zeros((1, 1)), np.ones((t.size, nm)), True, 0.0)  # gradient flow
    guess = sweep(current)
    error, iterations, a = _sse(current, guess), 1, SMOOTHING_START
    status, message = 0, "The solution converged."
    while error > TOLERANCE:
        if iterations >= max_iterations:
            status = -1
            message = (f"Algorithm 4 did not converge in {max_iterations} iterations "
                       f"(error {error:.3g}, tolerance {TOLERANCE:g}).")
            break
        new = a * current + (1.0 - a) * guess
        guess = sweep(new)
        iterations += 1
        new_error = _sse(new, guess)
        if new_error > error:
            if a >= SMOOTHING_MAX:
                status, error = -2, new_error
                message = (f"Algorithm 4 stopped after {iterations} iterations: smoothing "
                           f"factor exhausted (a = {SMOOTHING_MAX}, error {error:.3g}, "
                           f"tolerance {TOLERANCE:g}).")
                break
            a = min(a + SMOOTHING_STEP, SMOOTHING_MAX)
        current, error = new, new_error
    if status:
        warnings.warn(f"{spec.algorithm}: {message}", ConvergenceWarning, stacklevel=4)

    states = memories(guess, t)
    sol = SplineSolution(t=t, states={"theta": guess, **states})
    return ContinuousRun(
        t=t, theta=guess, **states, algorithm=spec.algorithm, alpha=alpha, params=spec.params,
        method="paper", success=status == 0, status=status, message=message, nfev=nfev,
        sol=sol, iterations=iterations, residual=float(error), error_estimate=float("nan"),
        substeps=1)


@dataclass(frozen=True, kw_only=True, eq=False)
class SplineSolution:
    """Dense output of Algorithm 4: the cubic splines through its grid values (picklable)."""

    t: np.ndarray
    states: dict[str, np.ndarray]
    splines: dict = field(init=False, repr=False)

    def __post_init__(self) -> None:
        splines = {name: _interpolant(self.t, y) for name, y in self.states.items()}
        object.__setattr__(self, "splines", splines)

    def __call__(self, t: float | np.ndarray) -> Trajectory:
        """theta and the memory states at times ``t`` in [0, t_end]."""
        times = check_times(t, 0.0, float(self.t[-1]))
        return Trajectory(t=times, **{name: s(times) for name, s in self.splines.items()})


def _interpolant(t: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The cubic spline through (t, y), extrapolated past t[-1]; a constant on a one-point grid."""
    return CubicSpline(t, y) if t.size > 1 else _Constant(y[0])


@dataclass(frozen=True, eq=False)
class _Constant:
    """A constant function of time (the interpolant on a one-point grid)."""

    value: np.ndarray

    def __call__(self, s: np.ndarray) -> np.ndarray:
        return np.repeat(self.value[None], np.size(s), axis=0)


def _memories(spec: Model, spline: Callable[[np.ndarray], np.ndarray], upper: np.ndarray,
              gradients: Callable) -> dict[str, np.ndarray]:
    """Every memory state M(b) = int_0^b K(b - s) q(theta(s)) ds for b in ``upper``.

    ``spline`` is theta(s); each integral is the 1000-node Gauss-Legendre rule on [0, b].
    """
    n = spec.theta0.size
    nm = n if spec.per_coordinate else 1
    names = ("m", "v") if spec.has_m else (spec.memory_name,)
    out = {name: np.empty((upper.size, n if name == "m" else nm)) for name in names}
    chunk = max(1, POINTS_PER_CHUNK // (QUADRATURE_NODES * n))
    for lo in range(0, upper.size, chunk):
        b = upper[lo:lo + chunk, None]
        s = 0.5 * b * (_GAUSS_X + 1.0)
        weight = 0.5 * b * _GAUSS_W
        theta = spline(s.ravel())
        g = gradients(spec.objective.grad, spec.objective.params,
                      np.ascontiguousarray(theta), spec.l2).reshape(*s.shape, n)
        q = g * g if spec.per_coordinate else np.sum(g * g, axis=2, keepdims=True)
        for name in names:
            beta = {"m": spec.beta1, "v": spec.beta2, "G": None}[name]
            w = weight * kernel(b - s, spec.alpha, beta)
            out[name][lo:lo + chunk] = np.einsum("cj,cjm->cm", w, g if name == "m" else q)
    return out


def _sse(a: np.ndarray, b: np.ndarray) -> float:
    """The paper's error: the sum over the grid of squared differences."""
    return float(np.sum((a - b) ** 2))
