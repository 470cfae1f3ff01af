"""Numbers behind the figures: gaps between runs, settling times, observed orders.

Tables are returned as text with a fixed number of significant digits, so that the printed
outputs of the chapters are stable and can be checked by nbval.
"""

from __future__ import annotations

import numpy as np

from .results import ContinuousRun, DiscreteRun, Trajectory

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


def gaps(discrete: DiscreteRun, continuous: ContinuousRun) -> dict[str, tuple[float, float]]:
    """The gaps max_k and final ``|x(alpha k) - x_k|`` for theta and every shared memory state.

    The continuous solution is evaluated at the discrete times t_k = alpha k (its dense output);
    vectors are compared in the Euclidean norm.

    Parameters
    ----------
    discrete : DiscreteRun
        The iterates x_k (Algorithms 1-3).
    continuous : ContinuousRun
        The continuous model, covering the discrete times.

    Returns
    -------
    dict
        state name -> (max over k, final) for "theta" and each of G, v, m both runs have.

    Raises
    ------
    ValueError
        The continuous run does not cover the discrete times.
    """
    c = continuous.at(discrete.t)
    out = {}
    for name in ("theta", "G", "v", "m"):
        a, b = getattr(discrete, name), getattr(c, name)
        if a is None or b is None:
            continue
        diff = np.linalg.norm(a - b, axis=1)
        out[name] = (float(diff.max()), float(diff[-1]))
    return out


def gap_table(pairs: dict[str, tuple[DiscreteRun, ContinuousRun]], digits: int = 3) -> str:
    """A text table of :func:`gaps` for labelled (discrete, continuous) pairs.

    Parameters
    ----------
    pairs : dict
        label -> (DiscreteRun, ContinuousRun).
    digits : int
        Significant digits printed (through :func:`fmt`).

    Returns
    -------
    str
        Columns run, state, max gap, final gap.
    """
    rows = []
    for label, (d, c) in pairs.items():
        for name, (gmax, gfinal) in gaps(d, c).items():
            rows.append((label, name, fmt(gmax, digits), fmt(gfinal, digits)))
    return table(("run", "state", "max gap", "final gap"), rows)


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


def fmt(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits; a magnitude below :data:`FLOOR` prints as "<1e-10".

    This is the book's one rule for printing a quantity that may be zero in exact arithmetic (a
    residual, a difference between two ways of computing one number, a gap that vanishes by
    construction). Such a quantity computes as 0 on one machine and as 1e-17 on another (BLAS
    kernel, vector width, summation order), so both print as the same bound, exact zeros
    included, and a printed (nbval-checked) digit never depends on round-off. ``None`` (no value,
    e.g. a bound that does not apply) prints as "-".

    Parameters
    ----------
    x : float or None
        The number.
    digits : int
        Significant digits.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt(0.0123456), fmt(3.06e-14), fmt(0.0), fmt(-2e-12), fmt(None)
    ('0.0123', '<1e-10', '<1e-10', '<1e-10', '-')
    """
    if x is None:
        return "-"
    if abs(x) < FLOOR:
        return f"<{FLOOR:.0e}"
    return f"{x:.{digits}g}"
