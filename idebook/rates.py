"""Convergence rates: fits of log ||theta - theta*|| against t, and the bounds they are set against.

A run converges exponentially at rate r on a time window if log ||theta(t) - theta*|| is close to
the line -r t + c there. :func:`fit_rate` fits that line by least squares and reports R^2;
:func:`local_rate` gives the slope on sliding windows, which shows whether the rate drifts
(AdaGrad slows down, RMSProp speeds up near the minimiser); :func:`envelope` keeps the local
maxima of an oscillating distance (Adam with momentum) so that the decay of the oscillation's
amplitude can be fitted.

The bounds (see the chapter "Convergence") are for the continuous models with the paper's norm
memory, an objective f with minimum value f*, Delta = f(theta_0) - f*, and:

    RMSProp, any L-smooth f:   v <= sup ||g||^2 <= 2 L Delta, so
        strongly convex (mu):  ||theta - theta*|| <= ||theta_0 - theta*|| exp(-mu t / (S + eps))
        PL (mu_PL):            f - f* <= Delta exp(-2 mu_PL t / (S + eps)),   S = sqrt(2 L Delta)
    AdaGrad, any f:            sqrt(G_inf) <= S_AG = Delta/alpha + sqrt(Delta eps/alpha), and
                               the same two statements with S_AG in place of S
    AdaGrad, quadratic f:      sqrt(G_inf) <= ||g_0|| + L ||theta_0 - theta*||^2 / (4 alpha)
                               (+ eps log(1 + sqrt(G_inf)/eps), below 1e-6 here)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .objectives import Objective, from_functions

__all__ = ["AdamLyapunov", "RateFit", "adagrad_bound", "adagrad_quadratic_bound",
           "adam_energy", "adam_frozen_rate", "adam_lyapunov", "adam_memory_excess", "adam_start",
           "envelope", "fit_decay", "fit_exponent", "fit_rate", "kl_example", "kl_memory_rate",
           "kl_tail", "level_window", "local_rate", "pl_constant", "pl_example", "rmsprop_bound",
           "s_min"]


@dataclass(frozen=True)
class RateFit:
    """Least-squares fit log(distance) = -rate * t + intercept on ``n`` samples.

    Attributes
    ----------
    rate : float
        The fitted exponential rate r.
    intercept : float
        The intercept c of the fitted line.
    r2 : float
        Coefficient of determination of the fit of the logarithms.
    n : int
        Number of samples used.
    window : tuple of float
        The time window (t_lo, t_hi) of the fit.
    """

    rate: float
    intercept: float
    r2: float
    n: int
    window: tuple[float, float]


def _series(t, distance) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=float).ravel()
    d = np.asarray(distance, dtype=float)
    if d.ndim == 2:  # a trajectory of vectors: use the Euclidean norm of each row
        d = np.linalg.norm(d, axis=1)
    d = d.ravel()
    if t.shape != d.shape:
        raise ValueError(f"t and distance must have the same length, got {t.size} and {d.size}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(d))):
        raise ValueError("t and distance must be finite")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be strictly increasing")
    return t, d


def fit_rate(t, distance, window: tuple[float, float] | None = None) -> RateFit:
    """Fit log(distance) = -rate * t + c by least squares on a time window.

    Parameters
    ----------
    t : numpy.ndarray
        Strictly increasing, finite times.
    distance : numpy.ndarray
        ||theta(t) - theta*|| (1-D), or differences (2-D) whose row norms are taken.
    window : tuple of float, optional
        (t_lo, t_hi); all samples with t_lo <= t <= t_hi are used (all of them when None). They
        must be > 0.

    Returns
    -------
    RateFit

    Raises
    ------
    ValueError
        Mismatched or non-finite series, a window with fewer than 3 samples, or a zero distance
        in it.
    """
    t, d = _series(t, distance)
    lo, hi = (t[0], t[-1]) if window is None else (float(window[0]), float(window[1]))
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ValueError(f"window must be (t_lo, t_hi) with t_lo < t_hi, got {window!r}")
    sel = (t >= lo) & (t <= hi)
    if np.count_nonzero(sel) < 3:
        raise ValueError(f"window {window!r} holds fewer than 3 samples")
    ts, ds = t[sel], d[sel]
    if np.any(ds <= 0):
        raise ValueError("distance must be > 0 on the window (choose a window before the "
                         "distance reaches round-off)")
    y = np.log(ds)
    slope, intercept = np.polyfit(ts, y, 1)
    resid = y - (slope * ts + intercept)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return RateFit(float(-slope), float(intercept), r2, int(ts.size), (float(lo), float(hi)))


def fit_exponent(t, distance, window: tuple[float, float]) -> RateFit:
    """Fit log(distance) = -exponent * log(t) + c on ``window`` (0 < t_lo < t_hi): an algebraic
    decay distance ~ t^(-exponent). The returned :class:`RateFit` holds the exponent as
    ``rate`` (the fit of :func:`fit_rate` on the clock log t)."""
    t, d = _series(t, distance)
    lo, hi = float(window[0]), float(window[1])
    if not 0.0 < lo < hi:
        raise ValueError(f"window must be (t_lo, t_hi) with 0 < t_lo < t_hi, got {window!r}")
    keep = t > 0
    fit = fit_rate(np.log(t[keep]), d[keep], (math.log(lo), math.log(hi)))
    return RateFit(fit.rate, fit.intercept, fit.r2, fit.n, (lo, hi))


def level_window(t, distance, upper: float, lower: float) -> tuple[float, float]:
    """The stretch over which the distance falls from ``upper`` to ``lower``.

    Parameters
    ----------
    t, distance
        As in :func:`fit_rate`.
    upper, lower : float
        The levels, upper > lower > 0.

    Returns
    -------
    tuple of float
        (last time the distance is >= upper, first time it is <= lower).

    Raises
    ------
    ValueError
        Bad levels, or a distance that never gets below ``lower``.
    """
    t, d = _series(t, distance)
    if not (upper > lower > 0):
        raise ValueError(f"need upper > lower > 0, got upper={upper!r}, lower={lower!r}")
    below = np.nonzero(d <= lower)[0]
    if below.size == 0:
        raise ValueError(f"the distance never falls to lower={lower:g} (minimum {d.min():.3g})")
    j = int(below[0])
    above = np.nonzero(d[: j + 1] >= upper)[0]
    i = int(above[-1]) if above.size else 0
    return float(t[i]), float(t[j])


def local_rate(t, distance, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Rates -d log(distance)/dt over sliding windows of duration ``width``.

    The rate is -(log d(t + width) - log d(t)) / width at the sample times t for which t + width
    is also a sample time (the grid is taken as uniform, as for the runs of this package) and
    both distances are > 0.

    Parameters
    ----------
    t, distance
        As in :func:`fit_rate`.
    width : float
        The window's duration, between one step and the whole run.

    Returns
    -------
    tuple of numpy.ndarray
        (t_mid, rate): the windows' midpoints and rates.

    Raises
    ------
    ValueError
        A bad series or width.
    """
    t, d = _series(t, distance)
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width!r}")
    h = (t[-1] - t[0]) / (t.size - 1)
    s = int(round(width / h))
    if s < 1 or s >= t.size:
        raise ValueError(f"width must span between one step and the whole run, got {width!r}")
    a, b = d[:-s], d[s:]
    ok = (a > 0) & (b > 0)
    mid = 0.5 * (t[:-s] + t[s:])
    rate = -(np.log(b[ok]) - np.log(a[ok])) / (t[s:][ok] - t[:-s][ok])
    return mid[ok], rate


def envelope(t, distance) -> tuple[np.ndarray, np.ndarray]:
    """The local maxima of ``|distance|``, for runs that oscillate around the minimiser.

    Parameters
    ----------
    t, distance
        As in :func:`fit_rate`.

    Returns
    -------
    tuple of numpy.ndarray
        (t, ``|distance|``) at the samples larger than both neighbours, and at the first sample.
    """
    t, d = _series(t, distance)
    d = np.abs(d)
    peak = np.zeros(d.size, dtype=bool)
    peak[0] = True
    peak[1:-1] = (d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:])
    return t[peak], d[peak]


def fit_decay(t, distance, upper: float, lower: float, min_peaks: int = 3,
              strict: bool = True) -> tuple[RateFit, bool]:
    """Fit the decay of ``distance`` over the stretch where it falls from ``upper`` to ``lower``.

    If the distance has no local maximum once the stretch has started, it is fitted directly.
    If it oscillates (it may then reach ``lower`` at a zero crossing), the fit goes through its
    :func:`envelope`, the amplitude of the oscillation, over the stretch where the envelope falls
    from ``upper`` to ``lower``.

    Parameters
    ----------
    t, distance, upper, lower
        As in :func:`level_window`.
    min_peaks : int
        Maxima the envelope needs on its stretch.
    strict : bool
        False fits the distance itself when the envelope has too few maxima (check R^2).

    Returns
    -------
    tuple
        (RateFit, whether the envelope was used).

    Raises
    ------
    ValueError
        As in :func:`level_window`, or (``strict``) an oscillation with fewer than ``min_peaks``
        maxima: widen the stretch.
    """
    t, d = _series(t, distance)
    d = np.abs(d)
    w = level_window(t, d, upper, lower)
    te, de = envelope(t, d)
    # local maxima after the stretch starts (ignoring round-off wiggles far below ``lower``)
    later = (te[1:] >= w[0]) & (de[1:] >= 1e-3 * lower)
    if not np.any(later):
        return fit_rate(t, d, w), False
    try:
        we = level_window(te, de, upper, lower)
    except ValueError:
        we = None
    if we is not None and np.count_nonzero((te >= we[0]) & (te <= we[1])) >= min_peaks:
        return fit_rate(te, de, we), True
    if not strict:
        return fit_rate(t, d, w), False
    raise ValueError(f"the distance oscillates between {upper:g} and {lower:g} with fewer than "
                     f"{min_peaks} peaks: widen the stretch")


# --------------------------------------------------------------------------------------------
# Bounds (rates of ||theta - theta*|| for strongly convex f; of f - f* for PL f)
# --------------------------------------------------------------------------------------------

def rmsprop_bound(mu: float, L: float, delta: float, eps: float = 1e-8) -> float:
    """mu / (sqrt(2 L Delta) + eps): a rate RMSProp's model provably beats (any beta).

    Parameters
    ----------
    mu : float
        The strong-convexity constant, for a rate of ||theta - theta*||; or 2 mu_PL for a rate
        of f - f* under the PL inequality ||g||^2 >= 2 mu_PL (f - f*).
    L : float
        The gradient's Lipschitz constant.
    delta : float
        Delta = f(theta_0) - f*.
    eps : float
        The model's epsilon.

    Returns
    -------
    float
        The rate, in units of 1/t.

    Raises
    ------
    ValueError
        mu, L or delta not finite and > 0.

    References
    ----------
    Heredia (2024), Proposition 2 (the model); the bound v <= sup ||g||^2 <= 2 L Delta.
    """
    _positive(mu=mu, L=L, delta=delta)
    return mu / (math.sqrt(2.0 * L * delta) + eps)


def adagrad_bound(mu: float, alpha: float, delta: float, eps: float = 1e-8) -> float:
    """mu / (S + eps) with S = Delta/alpha + sqrt(Delta eps/alpha) >= sqrt(G_inf): AdaGrad's model.

    Valid for any objective.

    Parameters
    ----------
    mu, delta, eps
        As in :func:`rmsprop_bound`.
    alpha : float
        Learning rate, which sets AdaGrad's kernel 1/alpha.

    Returns
    -------
    float
        A rate the model provably beats.

    Raises
    ------
    ValueError
        One of mu, alpha, delta is not a finite number > 0.

    References
    ----------
    Heredia (2024), Proposition 1, and the bound on sqrt(G_inf) in the chapter "Convergence".
    """
    _positive(mu=mu, alpha=alpha, delta=delta)
    s = delta / alpha + math.sqrt(delta * eps / alpha)
    return mu / (s + eps)


def adagrad_quadratic_bound(mu: float, L: float, alpha: float, g0: float, x0: float,
                            eps: float = 1e-8) -> float:
    """mu / (S + eps) with S = ||g_0|| + L ||x_0||^2 / (4 alpha) (+ the eps term) >= sqrt(G_inf).

    AdaGrad's model on a convex quadratic, where ||g|| is non-increasing along the flow.

    Parameters
    ----------
    mu, L : float
        Strong convexity and smoothness constants.
    alpha : float
        Learning rate.
    g0 : float
        ||grad f(theta_0)||.
    x0 : float
        ||theta_0 - theta*||.
    eps : float
        The model's epsilon (its log term is included in S).

    Returns
    -------
    float
        A rate the quadratic case provably beats.

    Raises
    ------
    ValueError
        An argument not finite and > 0.

    References
    ----------
    Heredia (2024), Proposition 1.
    """
    _positive(mu=mu, L=L, alpha=alpha, g0=g0, x0=x0)
    s = g0 + L * x0**2 / (4.0 * alpha)
    s += eps * math.log1p(2.0 * s / eps) if eps > 0 else 0.0  # covers eps log(1 + sqrt(G)/eps)
    return mu / (s + eps)


def adam_frozen_rate(c1: float, s: float, curvature: float) -> float:
    """Decay rate of x'' + c1 x' + (curvature c1 / s) x = 0, a heuristic for Adam's local rate.

    Adam's model (bias factors 1) on f = (curvature/2) x^2 with sqrt(vhat) frozen at s;
    underdamped (c1 s < 4 curvature), the amplitude decays at c1/2; overdamped, at the slow root.
    Not a bound.

    Parameters
    ----------
    c1 : float
        (1 - beta1)/alpha.
    s : float
        The frozen sqrt(vhat) (+ eps).
    curvature : float
        f''.

    Returns
    -------
    float
        The decay rate of the oscillation's amplitude (1/t).

    Raises
    ------
    ValueError
        An argument (c1, s or curvature) that is not a finite number > 0.

    References
    ----------
    Heredia (2024), Proposition 3.
    """
    _positive(c1=c1, s=s, curvature=curvature)
    disc = c1 * c1 / 4.0 - curvature * c1 / s
    return c1 / 2.0 if disc <= 0 else c1 / 2.0 - math.sqrt(disc)


def s_min(beta1: float, beta2: float) -> float:
    """min(1, sqrt(log beta2 / log beta1)), quoted for Adam in the later version of the paper.

    Parameters
    ----------
    beta1 : float
        In [0, 1); beta1 = 0 (log beta1 = -inf) gives 0.
    beta2 : float
        In (0, 1).

    Returns
    -------
    float
        The constant, in [0, 1].

    Raises
    ------
    ValueError
        A beta out of range.
    """
    if not (0.0 <= beta1 < 1.0 and 0.0 < beta2 < 1.0):
        raise ValueError(f"need beta1 in [0, 1) and beta2 in (0, 1), got {beta1!r}, {beta2!r}")
    if beta1 == 0.0:
        return 0.0
    return min(1.0, math.sqrt(math.log(beta2) / math.log(beta1)))


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float, np.floating)) and math.isfinite(value)
                and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


# --------------------------------------------------------------------------------------------
# The PL example f(theta) = theta^2 + 3 sin^2(theta)
# --------------------------------------------------------------------------------------------

@numba.njit(cache=True)
def _pl_grad(theta):
    return 2.0 * theta + 3.0 * np.sin(2.0 * theta)


def _pl_value(theta: np.ndarray) -> float:
    return float(theta[0] ** 2 + 3.0 * math.sin(theta[0]) ** 2)


def pl_example() -> Objective:
    """f(theta) = theta^2 + 3 sin^2(theta): non-convex, PL, with the single critical point 0.

    f'' = 2 + 6 cos 2 theta < 0 where cos 2 theta < -1/3; theta* = 0, f* = 0.

    Returns
    -------
    Objective
        One-dimensional, with a jitted gradient.
    """
    return from_functions(_pl_value, _pl_grad, dim=1, minimizer=np.zeros(1),
                          name="theta^2 + 3 sin^2 theta")


def pl_constant(objective: Objective, lo: float, hi: float, points: int = 20_001) -> float:
    """A numerical PL constant on [lo, hi]: min ||g||^2 / (2 (f - f*)) over a grid.

    The minimiser itself is excluded (f* = f(minimiser), one dimension).

    Parameters
    ----------
    objective : Objective
        A 1-D objective that knows its minimiser.
    lo, hi : float
        The interval, lo < hi.
    points : int
        Grid points.

    Returns
    -------
    float
        mu_PL on the interval.

    Raises
    ------
    ValueError
        No minimiser, or hi <= lo.
    """
    if objective.minimizer is None:
        raise ValueError("objective must know its minimiser")
    if not hi > lo:
        raise ValueError(f"need lo < hi, got {lo!r}, {hi!r}")
    fstar = objective(objective.minimizer)
    grid = np.linspace(lo, hi, points)
    vals = np.array([objective(np.array([x])) for x in grid]) - fstar
    grads = np.array([objective.gradient(np.array([x]))[0] for x in grid])
    keep = vals > 1e-12
    return float(np.min(grads[keep] ** 2 / (2.0 * vals[keep])))



# --------------------------------------------------------------------------------------------
# The KL example f(theta) = (theta - 4)^4: Lojasiewicz exponent 3/4, not PL
# --------------------------------------------------------------------------------------------

@numba.njit(cache=True)
def _kl_grad(theta):
    x = theta - 4.0
    return 4.0 * x * x * x


def _kl_value(theta: np.ndarray) -> float:
    return float((theta[0] - 4.0) ** 4)


def kl_example() -> Objective:
    """f(theta) = (theta - 4)^4: KL with ``|f'| = 4 (f - f*)^(3/4)``, but not PL
    (``f'^2 / f -> 0`` at theta* = 4), and not strongly convex (``f''(4) = 0``)."""
    return from_functions(_kl_value, _kl_grad, dim=1, minimizer=np.full(1, 4.0),
                          name="(theta - 4)^4")


def kl_tail(t, S: float) -> np.ndarray:
    """sqrt(S / (8 t)): the distance ``|theta - 4|`` at late times t on f = (theta - 4)^4 when
    the step factor has settled at 1/S, from x' = -4 x^3 / S, whose solution has
    1/x^2 = 8 t/S + const. S = sqrt(G_inf) + eps for AdaGrad; S = eps for RMSProp and Adam
    once sqrt(v) << eps (eq. (conv-kl-tail))."""
    _positive(S=S)
    return np.sqrt(S / (8.0 * np.asarray(t, dtype=float)))


def kl_memory_rate(alpha: float, beta: float, discrete: bool = False) -> float:
    """Exponential rate of ``|theta - 4|`` on f = (theta - 4)^4 while RMSProp's or Adam's memory
    decays freely (v ~ exp(-(1-beta) t/alpha), 1/x^2 ~ 1/sqrt(v)): (1 - beta)/(4 alpha) for the
    model, -ln(beta)/(4 alpha) for the algorithm (v_k ~ beta^k)."""
    _positive(alpha=alpha)
    if not 0.0 < beta < 1.0:
        raise ValueError(f"beta must be in (0, 1), got {beta!r}")
    return (-math.log(beta) if discrete else 1.0 - beta) / (4.0 * alpha)


# --------------------------------------------------------------------------------------------
# Adam's model (Proposition 3, norm memory): the Lyapunov functions W and E of the chapter
# --------------------------------------------------------------------------------------------

def _bias_log_rate(lam: float, t: np.ndarray) -> np.ndarray:
    """b'/b for b(t) = 1 - exp(-lam t): lam / (exp(lam t) - 1), decreasing in t (0 if lam = inf)."""
    t = np.asarray(t, dtype=float)
    if math.isinf(lam):
        return np.zeros_like(t)
    with np.errstate(over="ignore"):  # exp overflows far beyond the bias layer: b'/b = 0
        return lam / np.expm1(lam * t)


def _adam_rates(alpha: float, beta1: float, beta2: float) -> tuple[float, float, float, float]:
    """(c1, c2, lambda1, lambda2): kernel rates (1 - beta_i)/alpha, bias rates -ln(beta_i)/alpha."""
    _positive(alpha=alpha)
    if not (0.0 <= beta1 < 1.0 and 0.0 < beta2 < 1.0):
        raise ValueError(f"need beta1 in [0, 1) and beta2 in (0, 1), got {beta1!r}, {beta2!r}")
    lam1 = math.inf if beta1 == 0.0 else -math.log(beta1) / alpha
    return (1.0 - beta1) / alpha, (1.0 - beta2) / alpha, lam1, -math.log(beta2) / alpha


def adam_memory_excess(alpha: float, beta1: float, beta2: float, t0: float = 0.0,
                       ratio: float = 1.0005) -> float:
    """A rigorous upper bound of sup_{t >= t0} Phi(t), the growth rate allowed to log p(t):

        Phi(t) = c2/2 + b2'(t) / (2 b2(t)) - b1'(t) / b1(t),   b_i(t) = 1 - beta_i^(t/alpha),

    so that (log p)' <= Phi along every solution of Adam's model, p = 1/(b1 (sqrt(vhat) + eps))
    (eq. (conv-adam-phi) of the chapter). b'/b = lambda/(exp(lambda t) - 1) decreases in t, so on a
    cell [t_i, t_(i+1)] of a geometric grid Phi <= c2/2 + h2(t_i)/2 - h1(t_(i+1)); near 0,
    1/t - lambda/2 <= b'/b <= 1/t bounds the first cell; beyond the grid Phi <= c2/2 + h2/2.
    With beta1 = 0 (b1 = 1), Phi decreases and the supremum is Phi(t0), infinite at t0 = 0.
    """
    c1, c2, lam1, lam2 = _adam_rates(alpha, beta1, beta2)
    if not (math.isfinite(t0) and t0 >= 0.0):
        raise ValueError(f"t0 must be a finite time >= 0, got {t0!r}")
    if math.isinf(lam1):
        return math.inf if t0 == 0.0 else c2 / 2 + float(_bias_log_rate(lam2, t0)) / 2
    start = t0 if t0 > 0.0 else 0.25 / (lam1 + c2)
    head = c2 / 2 + lam1 / 2 - 0.5 / start if t0 == 0.0 else -math.inf
    end = max(start, 60.0 / lam2) * ratio
    grid = start * ratio ** np.arange(math.ceil(math.log(end / start) / math.log(ratio)) + 1)
    h1, h2 = _bias_log_rate(lam1, grid), _bias_log_rate(lam2, grid)
    cells = c2 / 2 + h2[:-1] / 2 - h1[1:]
    return float(max(head, cells.max(initial=-math.inf), c2 / 2 + h2[-1] / 2))


def adam_start(alpha: float, beta1: float, beta2: float, kappa: float = 0.5) -> float:
    """The first time t0 from which Phi <= 2 c1 (1 - kappa) for ever: 0 when beta1 > 0 and the
    bound holds from the start; for beta1 = 0, the root of c2/2 + b2'/(2 b2) = 2 c1 (1 - kappa).
    Raises ValueError if no such time exists (the late-time condition c2 <= 4 c1 (1 - kappa))."""
    c1, c2, lam1, lam2 = _adam_rates(alpha, beta1, beta2)
    if not 0.0 < kappa < 1.0:
        raise ValueError(f"kappa must be in (0, 1), got {kappa!r}")
    room = 4.0 * c1 * (1.0 - kappa) - c2  # allowed value of b2'/b2
    if room <= 0.0:
        raise ValueError(f"kappa = {kappa}: (1 - beta2) > 4 (1 - beta1)(1 - kappa), the memory "
                         "condition fails at late times")
    if math.isfinite(lam1) and adam_memory_excess(alpha, beta1, beta2) <= 2 * c1 * (1 - kappa):
        return 0.0
    if math.isfinite(lam1):
        raise ValueError("beta1 > 0 but Phi exceeds 2 c1 (1 - kappa) at some t > 0: lower kappa")
    return math.log1p(lam2 / room) / lam2


@dataclass(frozen=True)
class AdamLyapunov:
    """Constants of Adam's Lyapunov bound (chapter "Convergence", eq. (conv-adam-rate)).

    For t >= t0:  f(theta(t)) - f* <= 2 E(t) <= 2 E(t0) exp(-rate (t - t0)),  with
    E(t0) = Delta at t0 = 0 and E(t0) <= (3/2) W(t0) in general.
    """

    kappa: float  # 1 - sup_{t >= t0} Phi / (2 c1): the memory margin of hypothesis (M)
    t0: float
    p_min: float  # 1/(sqrt(V) + eps), a lower bound of the step factor p on [t0, inf)
    delta: float  # weight of the cross term -delta g.m in E
    rate: float


def adam_lyapunov(alpha: float, beta1: float, beta2: float, L: float, mu: float, vmax: float,
                  eps: float = 1e-8, t0: float = 0.0) -> AdamLyapunov:
    """Rate of the Lyapunov function E = f - f* + p ||m||^2/(2 c1) - delta g.m of Adam's model.

    Hypotheses (chapter "Convergence"): f is L-smooth and satisfies the PL inequality
    ||g||^2 >= 2 mu (f - f*) on the sublevel set the run stays in (mu = the strong-convexity
    constant for a mu-strongly convex f); the paper's norm memory; ``vmax`` bounds vhat on
    [t0, inf) (2 L Delta when t0 = 0); and Phi <= 2 c1 (1 - kappa) on [t0, inf), with kappa
    computed here from :func:`adam_memory_excess` (a ValueError if it is not positive).
    Then rate = (2/3) c1 min(kappa, delta mu),
    delta = min(kappa p_min / (2 L p_min + c1), sqrt(p_min / (4 c1 L))).
    """
    _positive(L=L, mu=mu, vmax=vmax)
    c1 = _adam_rates(alpha, beta1, beta2)[0]
    kappa = 1.0 - adam_memory_excess(alpha, beta1, beta2, t0) / (2.0 * c1)
    if not kappa > 0.0:
        raise ValueError(f"the memory condition Phi <= 2 c1 (1 - kappa) fails from t0 = {t0}: "
                         f"kappa = {kappa:.3g} <= 0")
    p_min = 1.0 / (math.sqrt(vmax) + eps)
    delta = min(kappa * p_min / (2.0 * L * p_min + c1), math.sqrt(p_min / (4.0 * c1 * L)))
    return AdamLyapunov(kappa, t0, p_min, delta, 2.0 / 3.0 * c1 * min(kappa, delta * mu))


def adam_energy(t, gap, m, v, alpha: float, beta1: float, beta2: float,
                eps: float = 1e-8) -> np.ndarray:
    """W(t) = f - f* + p ||m||^2 / (2 c1), p = 1/(b1 (sqrt(v/b2) + eps)), along a run of Adam's
    model with the norm memory: ``gap`` = f(theta(t)) - f*, ``m`` of shape (len(t), n), ``v`` of
    shape (len(t), 1). At t = 0, m = 0 and the second term is 0 (its limit)."""
    c1, _, lam1, lam2 = _adam_rates(alpha, beta1, beta2)
    t = np.asarray(t, dtype=float)
    m2 = np.sum(np.asarray(m, dtype=float) ** 2, axis=1)
    vv = np.asarray(v, dtype=float)[:, 0]
    kinetic = np.zeros_like(t)
    pos = t > 0
    b1 = np.ones(np.count_nonzero(pos)) if math.isinf(lam1) else -np.expm1(-lam1 * t[pos])
    b2 = -np.expm1(-lam2 * t[pos])
    kinetic[pos] = m2[pos] / (b1 * (np.sqrt(vv[pos] / b2) + eps)) / (2.0 * c1)
    return np.asarray(gap, dtype=float) + kinetic
