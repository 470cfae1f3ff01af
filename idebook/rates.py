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

__all__ = ["RateFit", "adagrad_bound", "adagrad_quadratic_bound", "adam_frozen_rate",
           "envelope", "fit_decay", "fit_rate", "level_window", "local_rate", "pl_constant",
           "pl_example", "rmsprop_bound", "s_min"]


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

