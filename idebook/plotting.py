"""One figure style for the whole book, and the small helpers the chapters share.

Every chapter starts with::

    from idebook.plotting import set_style, overlay, k_axis
    set_style()

Figures are drawn on explicit white figure and axes backgrounds, so they stay readable when the
rendered book (or JupyterLab) uses a dark theme.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._extras import missing_extra

try:
    import matplotlib as mpl
    from cycler import cycler
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D
except ModuleNotFoundError as error:
    raise missing_extra(error, __name__) from error

__all__ = ["COLORS", "set_style", "style_context", "thin", "overlay", "k_axis", "t_axis",
           "legend_outside", "contours"]

#: Colour cycle (Okabe–Ito, readable for colour-blind readers and on white).
COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # green
    "#CC79A7",  # purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)

_RC: dict[str, Any] = {
    # White backgrounds everywhere, also when saved (dark-mode safe).
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.bbox": "tight",
    "figure.edgecolor": "white",
    "text.color": "black",
    "axes.labelcolor": "black",
    "axes.edgecolor": "#333333",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    # Size and resolution.
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    # Readable fonts.
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10,
    "legend.framealpha": 0.9,
    "legend.facecolor": "white",
    "legend.edgecolor": "#cccccc",
    "mathtext.fontset": "dejavusans",
    # Grid and lines.
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linestyle": "-",
    "grid.linewidth": 0.7,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 4.5,
    "axes.prop_cycle": cycler(color=list(COLORS)),
    "axes.formatter.use_mathtext": True,
}


def set_style() -> None:
    """Apply the book's matplotlib style (rcParams) to every figure made afterwards.

    Safe to call more than once. In a notebook, call it once at the top of the chapter.

    Returns
    -------
    None
        The style is set in ``matplotlib.rcParams``.
    """
    mpl.rcParams.update(_RC)


def style_context() -> AbstractContextManager[None]:
    """The book's style inside a ``with`` block only (rcParams are restored afterwards).

    For code that draws figures on its own, such as :mod:`idebook.widgets`, without changing the
    global style of the notebook that uses it.

    Returns
    -------
    contextlib.AbstractContextManager
        Use as ``with style_context(): ...``.
    """
    return mpl.rc_context(_RC)


def thin(y: ArrayLike, most: int = 4000) -> np.ndarray:
    """The indices of the points of a long curve worth drawing.

    All of them if there are at most ``most``; else the first, the last, and in each run of
    ceil(n / (most // 2 - 1)) consecutive points (n the curve's length) the smallest and the
    largest value. A run spans less than a pixel of any figure in the book, so the line through
    these points covers the same pixels as the full line (an oscillation included), at a
    fraction of the drawing time: the playground's 200 000 steps of AdaGrad draw as 4000
    points. (A NaN inside a run is not kept, so the line is not broken there.)

    Parameters
    ----------
    y
        The curve's values, one per point.
    most
        The largest number of points to keep (at least 4).

    Returns
    -------
    numpy.ndarray
        Increasing indices into ``y``.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    if most < 4:
        raise ValueError(f"most must be >= 4, got {most}")
    n = y.shape[0]
    if n <= most:
        return np.arange(n)
    runs = most // 2 - 1
    length = -(-n // runs)  # ceil(n / runs): the last run is shorter (padded with NaN)
    padded = np.full(runs * length, np.nan)
    padded[:n] = y
    rows = padded.reshape(runs, length)
    start = np.arange(runs) * length
    low = np.argmin(np.where(np.isnan(rows), np.inf, rows), axis=1)
    high = np.argmax(np.where(np.isnan(rows), -np.inf, rows), axis=1)
    keep = np.concatenate([[0, n - 1], start + low, start + high])
    return np.unique(keep[keep < n])


def _markevery(n: int, markers: int) -> int:
    """Stride that leaves about ``markers`` markers on a line of ``n`` points."""
    return max(1, int(np.ceil(n / max(markers, 1))))


def overlay(
    ax: Axes,
    t_discrete: ArrayLike,
    y_discrete: ArrayLike,
    t_continuous: ArrayLike,
    y_continuous: ArrayLike,
    label: str,
    *,
    color: str | None = None,
    time_scale: float = 1.0,
    markers: int = 40,
    discrete_suffix: str = " (discrete)",
    continuous_suffix: str = " (continuous)",
) -> tuple[Line2D, Line2D]:
    """Draw one discrete run and its continuous model on ``ax``, in the same colour.

    The discrete iterates are drawn as markers on a thin line (at most about ``markers`` markers,
    so long runs stay legible); the continuous solution as a solid line. A curve of more than
    4000 points is drawn through the points :func:`thin` keeps: the same line at the figure's
    resolution (zooming into an interactive figure shows the thinned line).

    Parameters
    ----------
    ax
        The axes to draw on.
    t_discrete, y_discrete
        Times (or iteration numbers) and values of the discrete algorithm.
    t_continuous, y_continuous
        Times and values of the continuous (integro-differential) model.
    label
        Legend label shared by both curves; the suffixes below are appended.
    color
        Colour of both curves. Defaults to the next colour of the axes' cycle.
    time_scale
        Both time arrays are divided by this before plotting. Pass ``alpha`` to plot runs given
        in time ``t`` against the iteration count ``k = t / alpha`` (Assumption 1, ``t = alpha k``).
    markers
        Approximate number of markers on the discrete curve.
    discrete_suffix, continuous_suffix
        Text appended to ``label`` for each curve.

    Returns
    -------
    (discrete_line, continuous_line)
    """
    if time_scale <= 0:
        raise ValueError(f"time_scale must be > 0, got {time_scale}")
    td = np.asarray(t_discrete, dtype=float) / time_scale
    yd = np.asarray(y_discrete, dtype=float)
    tc = np.asarray(t_continuous, dtype=float) / time_scale
    yc = np.asarray(y_continuous, dtype=float)
    if td.shape[0] != yd.shape[0]:
        raise ValueError(
            f"t_discrete and y_discrete lengths differ: {td.shape[0]} != {yd.shape[0]}"
        )
    if tc.shape[0] != yc.shape[0]:
        raise ValueError(
            f"t_continuous and y_continuous lengths differ: {tc.shape[0]} != {yc.shape[0]}"
        )
    # (a long run is drawn through each pixel's extremes only: the same line, far faster)
    keep_d, keep_c = thin(yd), thin(yc)
    td, yd, tc, yc = td[keep_d], yd[keep_d], tc[keep_c], yc[keep_c]
    (line_d,) = ax.plot(
        td,
        yd,
        linestyle="-",
        linewidth=0.8,
        marker="o",
        markersize=4,
        markerfacecolor="none",
        markevery=_markevery(td.shape[0], markers),
        color=color,  # None: the next colour of the axes' cycle
        alpha=0.9,
        label=f"{label}{discrete_suffix}",
    )
    (line_c,) = ax.plot(
        tc,
        yc,
        linestyle="-",
        linewidth=2.0,
        color=line_d.get_color(),
        label=f"{label}{continuous_suffix}",
    )
    return line_d, line_c


def k_axis(ax: Axes, ylabel: str | None = None, *, log: bool = False) -> Axes:
    """Label the x-axis as iterations, ``k-iterations (t/α)``, as in the paper's figures.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    ylabel : str, optional
        Label of the y-axis.
    log : bool
        A logarithmic x-axis.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, so that calls can be chained.

    References
    ----------
    Heredia (2024), the figures of Section 5 (k-iterations on the x-axis, t = alpha k).
    """
    ax.set_xlabel(r"$k$-iterations ($t/\alpha$)")
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if log:
        ax.set_xscale("log")
    return ax


def t_axis(ax: Axes, ylabel: str | None = None) -> Axes:
    """Label the x-axis as continuous time ``t = αk`` (Assumption 1).

    Parameters
    ----------
    ax, ylabel
        The axes and the y-axis label, as in :func:`k_axis`.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax`` itself.
    """
    ax.set_xlabel(r"time $t = \alpha k$")
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax


def legend_outside(ax: Axes, handles: Sequence[Line2D] | None = None) -> None:
    """Put the legend to the right of the axes (for figures with many curves).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    handles : sequence of matplotlib.lines.Line2D, optional
        The entries; by default those of the axes.
    """
    if handles is None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def contours(ax: Axes, objective: Any, box: tuple[tuple[float, float], tuple[float, float]], *,
             slice_at: float | None = None, levels: int = 12, points: int = 160) -> None:
    """Contour lines of a 2-D objective (or a 2-D slice of a 3-D one) and its minimiser as a star.

    Parameters
    ----------
    ax
        The axes to draw on.
    objective
        A callable ``f(theta)`` with a ``minimizer`` attribute (an :class:`idebook.objectives`
        objective).
    box
        ``((x_min, x_max), (y_min, y_max))``: the part of the plane to draw.
    slice_at
        For an objective of three variables, the value of the third one (the plane drawn);
        ``None`` for two variables.
    levels
        Number of contour levels, spaced geometrically from just above the minimum in the box
        to the maximum (a valley stays visible next to steep walls).
    points
        Grid points per axis.
    """
    (x0, x1), (y0, y1) = box
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"box must be ((x_min, x_max), (y_min, y_max)) with min < max, got {box}")
    if levels < 2 or points < 2:
        raise ValueError(f"levels and points must be >= 2, got {levels} and {points}")
    xs, ys = np.linspace(x0, x1, points), np.linspace(y0, y1, points)
    extra = () if slice_at is None else (slice_at,)
    Z = np.array([[objective(np.array([a, b, *extra])) for a in xs] for b in ys])
    lo = max(Z.min(), objective(objective.minimizer)) + 1e-3
    ax.contour(xs, ys, Z, levels=np.geomspace(lo, Z.max(), levels), colors="0.75",
               linewidths=0.7)
    ax.plot(*np.asarray(objective.minimizer)[:2], "k*", ms=11, zorder=5)
