"""Numbers behind the figures: gaps between runs, settling times, observed orders.

Tables are returned as text with a fixed number of significant digits, so that the printed
outputs of the chapters are stable and can be checked by nbval.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .results import ContinuousRun, DiscreteRun, DivergenceError, Trajectory

FLOOR = 1e-10
"""The one rule for printed numbers (:func:`fmt`): magnitudes below this, exact zeros included,
print as the bound "<1e-10". Below it, digits are round-off and differ between machines."""


def settle_k(run: Trajectory, target: float | np.ndarray, tol: float) -> int | None:
    """The first step from which a run stays within ``tol`` of ``target`` to its end.

    Parameters
    ----------
    run : Trajectory
        A discrete or continuous run.
    target : float or numpy.ndarray
        The point, usually the minimiser theta*.
    tol : float
        The radius.

    Returns
    -------
    int or None
        The first k with ||theta_j - target|| < tol for every j >= k, or None if the last
        iterate is still outside.
    """
    dist = np.linalg.norm(run.theta - np.asarray(target, dtype=float), axis=1)
    outside = np.nonzero(dist >= tol)[0]
    if outside.size == 0:
        return 0
    k = int(outside[-1]) + 1
    return k if k < dist.size else None


def gaps(discrete: Trajectory, continuous: ContinuousRun,
         t_max: float | None = None) -> dict[str, tuple[float, float]]:
    """The gaps max_k and final ``|x(alpha k) - x_k|`` for theta and every shared memory state.

    The continuous solution is evaluated at the discrete times t_k = alpha k (its dense output);
    vectors are compared in the Euclidean norm.

    Parameters
    ----------
    discrete : Trajectory
        The iterates x_k (Algorithms 1-3), or any trajectory, e.g. another continuous solution
        sampled at the discrete times (``run.at(d.t)``).
    continuous : ContinuousRun
        The continuous model, covering the discrete times (up to ``t_max``).
    t_max : float, optional
        Only the times t_k <= t_max count (a continuous run that covers part of the horizon),
        and "final" is the last of them.

    Returns
    -------
    dict
        state name -> (max over k, final) for "theta" and each of G, v, m both runs have.

    Raises
    ------
    ValueError
        The continuous run does not cover the discrete times, or t_max is before the first.
    """
    return _sampled_gaps(discrete, continuous, t_max)[0]


def _sampled_gaps(discrete: Trajectory, continuous: ContinuousRun, t_max: float | None
                  ) -> tuple[dict[str, tuple[float, float]], Trajectory]:
    """:func:`gaps`, and the continuous solution at the discrete times they compare."""
    keep = slice(None) if t_max is None else discrete.t <= t_max * (1 + 1e-12)
    t = discrete.t[keep]
    if t.size == 0:
        raise ValueError(f"t_max must be >= the first time {discrete.t[0]}, got {t_max}")
    c = continuous.at(t)
    out = {}
    for name in ("theta", "G", "v", "m"):
        a, b = getattr(discrete, name), getattr(c, name)
        if a is None or b is None:
            continue
        diff = np.linalg.norm(a[keep] - b, axis=1)
        out[name] = (float(diff.max()), float(diff[-1]))
    return out, c


def memory_floor(values: np.ndarray, floor: float) -> float:
    """The accuracy of a memory state (G, v or m) of a continuous solve whose theta is known to
    ``floor``: the solver controls a memory's error relative to its largest magnitude where
    that exceeds 1, so ``floor`` times that magnitude.

    Parameters
    ----------
    values : numpy.ndarray
        The memory's values along the solution.
    floor : float
        The accuracy of theta (10 tol, the promise of ``success``).

    Returns
    -------
    float
    """
    return floor * max(1.0, float(np.max(np.abs(values))))


def compare_curves(reference: np.ndarray, other: np.ndarray,
                   tol: float = 0.0) -> dict[str, float | int]:
    """Where ``other`` lies above and below ``reference``, sample by sample (same times).

    Returns the fractions of samples with ``other - reference > tol`` (``above``) and
    ``other - reference < -tol`` (``below``; ``tol`` >= 0 keeps round-off out of the count), the
    largest signed gap ``other - reference`` on each side
    (``max_above`` >= 0 and ``max_below`` <= 0, 0.0 when that side is empty) and the sample
    indices where they occur (``k_above``, ``k_below``; -1 when that side is empty). Used to
    check claims such as "the continuous curve reaches slightly higher values" on whole curves
    rather than on their peaks.
    """
    reference, other = np.ravel(reference), np.ravel(other)
    if reference.shape != other.shape or reference.size == 0:
        raise ValueError(f"reference and other must be non-empty and of one shape, got "
                         f"{reference.shape} and {other.shape}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    diff = other - reference
    k_above, k_below = int(np.argmax(diff)), int(np.argmin(diff))
    above, below = diff[k_above] > tol, diff[k_below] < -tol
    return {"above": float(np.mean(diff > tol)), "below": float(np.mean(diff < -tol)),
            "max_above": float(diff[k_above]) if above else 0.0,
            "k_above": k_above if above else -1,
            "max_below": float(diff[k_below]) if below else 0.0,
            "k_below": k_below if below else -1}


def gap_table(pairs: dict[str, tuple[DiscreteRun, ContinuousRun]], digits: int = 3,
              floor: float = FLOOR) -> str:
    """A text table of :func:`gaps` for labelled (discrete, continuous) pairs.

    Parameters
    ----------
    pairs : dict
        label -> (DiscreteRun, ContinuousRun).
    digits : int
        Significant digits printed (through :func:`fmt`).
    floor : float
        The accuracy of the continuous solves (10 tol), where a gap that vanishes in exact
        arithmetic (a final gap at the minimiser) is solver noise: theta's gaps print through
        :func:`fmt` with this floor, a memory's (G, v, m) with its :func:`memory_floor`.

    Returns
    -------
    str
        Columns run, state, max gap, final gap.
    """
    rows = []
    for label, (d, c) in pairs.items():
        found, sampled = _sampled_gaps(d, c, None)
        for name, (gmax, gfinal) in found.items():
            accuracy = floor if name == "theta" else memory_floor(getattr(sampled, name), floor)
            rows.append((label, name, fmt(gmax, digits, accuracy), fmt(gfinal, digits, accuracy)))
    return table(("run", "state", "max gap", "final gap"), rows)


def divergence_time(err: DivergenceError) -> float:
    """The time t at which a continuous run became non-finite.

    Parameters
    ----------
    err : DivergenceError
        What a continuous solver raised.

    Returns
    -------
    float
        ``err.t``.

    Raises
    ------
    ValueError
        The error carries no time (a discrete run's, which carries the step ``k``).
    """
    if err.t is None:
        raise ValueError(f"this DivergenceError carries no time t (k = {err.k}): {err}")
    return float(err.t)


def observed_order(h: np.ndarray, error: np.ndarray) -> float:
    """The observed order p of a refinement study: the slope of log(error) = p log(h) + c.

    Parameters
    ----------
    h : numpy.ndarray
        Step sizes (or learning rates), > 0.
    error : numpy.ndarray
        The errors, > 0.

    Returns
    -------
    float
        The least-squares slope p.
    """
    h, error = np.asarray(h, dtype=float), np.asarray(error, dtype=float)
    return float(np.polyfit(np.log(h), np.log(error), 1)[0])


def table(header: tuple[str, ...], rows: list[tuple]) -> str:
    """Rows as a plain-text table with aligned columns and a dashed rule under the header.

    Parameters
    ----------
    header : tuple of str
        Column titles.
    rows : list of tuple
        The rows; every cell is printed with ``str``.

    Returns
    -------
    str
        The table, without trailing spaces.
    """
    cells = [tuple(str(x) for x in header)] + [tuple(str(x) for x in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(s.ljust(w) for s, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fmt_vector(v: np.ndarray, digits: int = 4,
               form: Callable[[float, int], str] | None = None) -> str:
    """A computed vector as ``(x1, x2, ...)``, each entry through ``form(x, digits)``:
    :func:`fmt` by default, or :func:`approx`."""
    form = fmt if form is None else form
    return "(" + ", ".join(form(float(x), digits) for x in np.ravel(v)) + ")"


def fmt(x: float | None, digits: int = 3, floor: float = FLOOR) -> str:
    """``x`` to ``digits`` significant digits, none of them below ``floor``; a magnitude below
    ``floor`` prints as the bound "<floor" (by default "<1e-10").

    This is the book's one rule for printing a quantity that may be zero in exact arithmetic (a
    residual, a difference between two ways of computing one number, a gap that vanishes by
    construction). Such a quantity computes as 0 on one machine and as 1e-17 on another (BLAS
    kernel, vector width, summation order), so both print as the same bound, exact zeros
    included. Digits finer than ``floor`` are dropped as well (1.59e-10 prints as "2e-10"), so
    a printed (nbval-checked) digit never depends on round-off. A quantity computed from a
    continuous solve is known only to the solve's accuracy: pass that as ``floor`` (10 tol,
    the promise of ``success``). ``None`` (no value, e.g. a bound that does not apply) prints
    as "-".

    Parameters
    ----------
    x : float or None
        The number.
    digits : int
        Significant digits, at most.
    floor : float
        The smallest magnitude the computation resolves: :data:`FLOOR` for round-off.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt(0.0123456), fmt(3.06e-14), fmt(0.0), fmt(-2e-12), fmt(None), fmt(1.59e-10)
    ('0.0123', '<1e-10', '<1e-10', '<1e-10', '-', '2e-10')
    >>> fmt(8.514e-6, floor=1e-7), fmt(4.3e-9, floor=1e-7)
    ('8.5e-06', '<1e-07')
    """
    if x is None:
        return "-"
    if abs(x) < floor:
        return f"<{floor:.0e}"
    if math.isfinite(x):
        digits = min(digits, _decade(x) - _decade(floor) + 1)
    return f"{x:.{digits}g}"


def _decade(x: float) -> int:
    """The decimal exponent of ``x`` (-7 for 1.5e-7), from Python's correctly rounded
    formatting: ``log10`` comes from the C library, and 1e-10 is not a power of ten in binary,
    so ``floor(log10(1e-10))`` is -10 on one machine and -11 on another."""
    return int(f"{abs(x):e}".split("e")[1])


APPROX = "\u2248"
"""The mark of a number that depends on the machine's last bits however it is rounded
(:func:`approx`); ``nbval_sanitize.cfg`` compares such a number by its mark alone."""


def approx(x: float, digits: int = 3) -> str:
    """``x`` marked with "≈": a number whose printed digits differ from one machine to the next.

    Two kinds of numbers change in their leading digits when only the last bits of the
    arithmetic change, and the book prints them through this one rule:

    * the work and the error estimate of an adaptive solve (``nfev``, steps, sweeps, their
      ratios, ``error_estimate``, and an error measured at the level of the tolerance). Every
      step is accepted or rejected by comparing an error estimate with the tolerance; where the
      two are close, the last bits of ``exp``, ``log`` and ``pow`` decide, and those differ
      between C libraries and between one library's FMA and non-FMA variants. One decision more
      changes a count by a few gradients and an estimate in its first digit;
    * the iterates of an unstable iteration after it has amplified rounding errors (discrete
      RMSProp thrown out of a minimum in the chapter on n dimensions), whose time and size
      depend on them.

    nbval compares such a number as the mark alone, so the rest of its line (what ran, whether
    it succeeded, the distances it measured) is still checked digit by digit.

    Parameters
    ----------
    x : float
        The number; an integer prints in full.
    digits : int
        Significant digits of a non-integer.

    Returns
    -------
    str

    Examples
    --------
    >>> approx(16274), approx(32.126), approx(1.32e-9, 1)
    ('≈16274', '≈32.1', '≈1e-09')
    """
    if isinstance(x, (int, np.integer)):
        return f"{APPROX}{x}"
    return f"{APPROX}{x:.{digits}g}"


def gap_bound(run: ContinuousRun, objective, L: float, t_end: float | None = None) -> np.ndarray:
    """Majorants ``E_k >= |theta_k - theta(alpha k)|`` of the gap between an algorithm and its
    model.

    The proof is in the chapter "How good is the continuous model?" (eq. (acc-majorant)).
    Everything is computed from the *model* ``run`` (the continuous solution on the grid
    t_k = alpha k, up to ``t_end``) and the gradient's Lipschitz constant ``L``; the discrete
    run is not used. The model's local defects are::

        sigma_k = |theta(t_(k+1)) - theta(t_k) + alpha U_k|
        rho_k   = |M(t_(k+1)) - a M(t_k) - b q(theta(t_k))|

    with U_k the model's velocity where the algorithm's step k takes it, and (a, b) the weights
    of each memory M. The errors of theta and of the memories then obey
    E_(k+1) = E_k + alpha Lip_k + sigma_k and D_(k+1) = a D_k + b Lq_k E_k + rho_k, where
    Lip_k bounds the change of the step direction over the segment between the two states. It
    uses the lower bound M - D of the squared-gradient memory, and is infinite once that bound
    is <= 0. Norm memory only, no weight decay.

    Returns
    -------
    numpy.ndarray
        E_0 = 0, ..., E_K with K = round(t_end/alpha) (all of the run if ``t_end`` is None).
    """
    if run.params.get("per_coordinate") or run.params.get("weight_decay") or run.params.get("l2"):
        raise ValueError("gap_bound covers the paper's norm memory without weight decay or l2")
    if not (np.isfinite(L) and L > 0):
        raise ValueError(f"L must be a finite number > 0, got {L!r}")
    alpha, eps = run.alpha, run.params["eps"]
    K = run.t.size - 1 if t_end is None else int(round(t_end / alpha))
    if not 1 <= K <= run.t.size - 1:
        raise ValueError(f"t_end must lie in [alpha, the run's t_end], got {t_end!r}")
    theta = run.theta[: K + 1]
    g = np.array([objective.gradient(row) for row in theta[:K]])
    gnorm = np.linalg.norm(g, axis=1)
    q = gnorm**2
    if run.algorithm == "adam":
        b1, b2 = run.params["beta1"], run.params["beta2"]
        m, v = run.m[: K + 1], run.v[: K + 1, 0]
        k1 = np.arange(1, K + 1)
        f1, f2 = 1.0 - b1**k1, 1.0 - b2**k1  # bias factors at t_(k+1), shared by both
        u = (m[1:] / f1[:, None]) / (np.sqrt(np.maximum(v[1:] / f2, 0.0)) + eps)[:, None]
        rho_m = np.linalg.norm(m[1:] - b1 * m[:-1] - (1 - b1) * g, axis=1)
        a, b, mem, mnorm = b2, 1.0 - b2, v, np.linalg.norm(m[1:], axis=1)
    else:
        beta = run.params.get("beta", 1.0)  # AdaGrad: G_(k+1) = G_k + q_k
        a, b = (1.0, 1.0) if run.algorithm == "adagrad" else (beta, 1.0 - beta)
        mem = (run.G if run.algorithm == "adagrad" else run.v)[: K + 1, 0]
        # shifted memory M(t_k + alpha); below 0 only by round-off (a memory decayed to ~1e-27),
        # which counts as 0, as in the solver's own field
        u = g / (np.sqrt(np.maximum(mem[1:], 0.0)) + eps)[:, None]
        f1 = f2 = np.ones(K)
    sigma = np.linalg.norm(theta[1:] - theta[:-1] + alpha * u, axis=1)
    rho = np.abs(mem[1:] - a * mem[:-1] - b * q)
    E = np.zeros(K + 1)
    e = d = mu = 0.0
    for k in range(K):
        lq = (2.0 * gnorm[k] + L * e) * L  # |q(theta_k) - q(theta(t_k))| <= lq e
        d = a * d + b * lq * e + rho[k]
        low = mem[k + 1] - d
        if not low > 0.0:
            E[k + 1:] = np.inf
            break
        vh = low / f2[k]
        s = np.sqrt(vh) + eps
        dv = d / (2.0 * f2[k] * np.sqrt(vh) * s * s)  # |change of 1/(sqrt(vhat) + eps)|
        if run.algorithm == "adam":
            mu = b1 * mu + (1.0 - b1) * L * e + rho_m[k]
            lip = (mu / s + mnorm[k] * dv) / f1[k]
        else:
            lip = L * e / s + gnorm[k] * dv
        e = e + alpha * lip + sigma[k]
        E[k + 1] = e
    return E
