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
    """The first k from which ||theta_k - target|| stays below ``tol`` to the end, or None."""
    dist = np.linalg.norm(run.theta - np.asarray(target, dtype=float), axis=1)
    outside = np.nonzero(dist >= tol)[0]
    if outside.size == 0:
        return 0
    k = int(outside[-1]) + 1
    return k if k < dist.size else None


def gaps(discrete: DiscreteRun, continuous: ContinuousRun) -> dict[str, tuple[float, float]]:
    """max_k and final ``|x(alpha k) - x_k|`` for theta and for every shared memory state.

    The continuous solution is evaluated at the discrete times t_k = alpha k (its dense output);
    vectors are compared in the Euclidean norm.
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
    """A text table of :func:`gaps` for labelled (discrete, continuous) pairs."""
    rows = []
    for label, (d, c) in pairs.items():
        for name, (gmax, gfinal) in gaps(d, c).items():
            rows.append((label, name, fmt(gmax, digits), fmt(gfinal, digits)))
    return table(("run", "state", "max gap", "final gap"), rows)


def observed_order(h: np.ndarray, error: np.ndarray) -> float:
    """Slope p of the least-squares fit log(error) = p log(h) + c."""
    h, error = np.asarray(h, dtype=float), np.asarray(error, dtype=float)
    return float(np.polyfit(np.log(h), np.log(error), 1)[0])


def table(header: tuple[str, ...], rows: list[tuple]) -> str:
    """Format rows as a plain-text table with aligned columns."""
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
