"""Numbers behind the figures: gaps between runs, settling times, observed orders.

Tables are returned as text with a fixed number of significant digits, so that the printed
outputs of the chapters are stable and can be checked by nbval.
"""

from __future__ import annotations

import numpy as np

from .results import ContinuousRun, DiscreteRun, DivergenceError, Trajectory

FLOOR = 1e-10
"""Magnitudes printed as "<1e-10" by :func:`fmt`: below this, digits are round-off."""


def settle_k(run: Trajectory, target: float | np.ndarray, tol: float) -> int | None:
    """The first k from which ||theta_k - target|| stays below ``tol`` to the end, or None."""
    dist = np.linalg.norm(run.theta - np.asarray(target, dtype=float), axis=1)
    outside = np.nonzero(dist >= tol)[0]
    if outside.size == 0:
        return 0
    k = int(outside[-1]) + 1
    return k if k < dist.size else None


def gaps(discrete: Trajectory, continuous: ContinuousRun,
         t_max: float | None = None) -> dict[str, tuple[float, float]]:
    """max_k and final ``|x(alpha k) - x_k|`` for theta and for every shared memory state.

    The continuous solution is evaluated at the discrete times t_k = alpha k (its dense output);
    vectors are compared in the Euclidean norm. ``discrete`` may be any trajectory, e.g. another
    continuous solution sampled at the discrete times (``run.at(d.t)``). With ``t_max``, only the
    times t_k <= t_max count (a continuous run that covers part of the horizon), and "final" is
    the last of them.
    """
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
    return out


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
    """A text table of :func:`gaps` for labelled (discrete, continuous) pairs."""
    rows = []
    for label, (d, c) in pairs.items():
        for name, (gmax, gfinal) in gaps(d, c).items():
            rows.append((label, name, fmt(gmax, digits, floor), fmt(gfinal, digits, floor)))
    return table(("run", "state", "max gap", "final gap"), rows)


def divergence_time(err: DivergenceError) -> float:
    """The time t at which a continuous run became non-finite, from its
    :class:`~idebook.results.DivergenceError`.

    Reads ``err.t`` where the error carries the time and the step separately, and ``err.where``
    (the time, for a continuous run) otherwise; the chapters read it only through here.
    """
    t = getattr(err, "t", None)
    return float(err.where if t is None else t)


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


def fmt_vector(v: np.ndarray, digits: int = 4, floor: float = FLOOR) -> str:
    """A vector as ``(x1, x2, ...)``, each entry through :func:`fmt`."""
    return "(" + ", ".join(fmt(float(x), digits, floor) for x in np.ravel(v)) + ")"


def fmt(x: float, digits: int = 3, floor: float = FLOOR) -> str:
    """``x`` to ``digits`` significant digits; magnitudes below ``floor`` print as "<floor".

    Round-off-level numbers differ between machines, so printed (nbval-checked) outputs
    show them only as being below the floor.
    """
    if x == 0:
        return "0"
    if abs(x) < floor:
        return f"<{floor:.0e}"
    return f"{x:.{digits}g}"
