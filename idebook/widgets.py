"""Interactive control panels: sliders that re-run a discrete algorithm and its continuous model.

A chapter's widget cell is one call::

    from idebook import widgets
    widgets.panel("adam", alpha=0.1, beta1=0.9, beta2=0.999, steps=100)

:func:`panel` returns a :class:`Panel`, an ``ipywidgets.VBox`` of controls, a one-line
summary and an ``ipywidgets.Output`` widget holding the figure. Every change of a control re-runs
:mod:`idebook.discrete` and :mod:`idebook.continuous` (``t_end = alpha * steps``), computes the
gap with :func:`idebook.analysis.gaps` and redraws the figure: the iterates and the continuous
solution against k (left), the gap ``|theta_k - theta(alpha k)|`` (right) and, with
``memory=True``, the squared-gradient memory (G or v) below.

The panel works without a running front end too, which is how it is tested: set a control's
value from Python (``p.controls["alpha"].value = 0.05``) and read :attr:`Panel.last`, the data
of the last redraw (a :class:`Drawn`); :attr:`Panel.draws` counts the redraws. :meth:`Panel.set`
changes several controls at once with a single redraw.

The figure is rendered to PNG by matplotlib's Agg backend in the book's style
(:func:`idebook.plotting.style_context`) and stored in the Output widget, so it is also part of
the saved widget state of an executed notebook, and the rendered HTML shows it without a kernel.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from ._extras import missing_extra

try:
    import ipywidgets as W
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
except ModuleNotFoundError as error:
    raise missing_extra(error, __name__) from error

from . import analysis, continuous, discrete, objectives
from .plotting import overlay, style_context, thin
from .results import ContinuousRun, DiscreteRun, DivergenceError
from .settings import HORIZONS

__all__ = ["ALGORITHMS", "OBJECTIVES", "Panel", "Drawn", "objective", "simulate", "panel"]

ALGORITHMS: tuple[str, ...] = ("adagrad", "rmsprop", "adam")
"""The algorithms a panel can run (Algorithms 1-3 and Propositions 1-3)."""

OBJECTIVES: dict[str, str] = {
    "quadratic": "(θ − 4)²",
    "regression": "Appendix B regression (MSE of y = θx)",
    "rosenbrock": "Rosenbrock (2-D)",
}
"""The objectives a panel offers, by name, with the label shown in its drop-down menu."""

# Default start, slider range of theta0 and a sensible horizon, by objective.
_START = {"quadratic": (1.0,), "regression": (0.0,), "rosenbrock": (-1.2, 1.0)}
_THETA_RANGE = {"quadratic": (-4.0, 10.0), "regression": (-2.0, 5.0), "rosenbrock": (-2.0, 2.0)}
_STEPS = {"adagrad": 300, "rmsprop": 60, "adam": 100}
# The paper's longest horizon (AdaGrad at alpha = 0.01, Figures 2 and 9). The continuous solve's
# cost hardly grows with it, since its steps grow far beyond alpha once theta rests
# (benchmarks/bench_solvers.py --targets times every setting at 10 to 200 000 steps).
_MAX_STEPS = max(max(h.values()) for h in HORIZONS.values())


@cache
def objective(name: str) -> objectives.Objective:
    """The objective called ``name`` (one of :data:`OBJECTIVES`), built once and cached.

    ``"quadratic"`` is the paper's f = (θ - 4)², ``"regression"`` the Appendix B loss
    (:func:`idebook.objectives.mse_line` of :func:`idebook.objectives.paper_regression_data`)
    and ``"rosenbrock"`` Rosenbrock's valley :func:`idebook.objectives.rosenbrock`.

    Parameters
    ----------
    name : str
        A key of :data:`OBJECTIVES`.

    Returns
    -------
    Objective

    Raises
    ------
    ValueError
        An unknown name.
    """
    if name == "quadratic":
        return objectives.quadratic()
    if name == "regression":
        return objectives.mse_line(*objectives.paper_regression_data())
    if name == "rosenbrock":
        return objectives.rosenbrock()
    raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, got {name!r}")


_objective = objective  # for functions whose ``objective`` argument hides this function


def simulate(algorithm: str, *, objective: str | objectives.Objective = "quadratic",
             alpha: float = 0.1, beta: float = 0.9, beta1: float = 0.9, beta2: float = 0.999,
             theta0: Any = None, steps: int | None = None, t_end: float | None = None,
             tol: float = 1e-6) -> tuple[DiscreteRun, ContinuousRun]:
    """Run ``algorithm`` discretely for ``steps`` steps and its continuous model to t = alpha steps.

    ``beta`` is RMSProp's, ``beta1`` and ``beta2`` Adam's (the unused ones are ignored).
    ``theta0`` defaults to the objective's usual start (1 for the quadratic, 0 for the
    regression, (-1.2, 1) for Rosenbrock). Give ``steps`` or ``t_end`` (``steps`` =
    round(t_end / alpha)); the default is 300, 60 or 100 steps for AdaGrad, RMSProp and Adam.
    ``tol`` is the accuracy asked of the continuous solver.

    Returns
    -------
    tuple
        (DiscreteRun, ContinuousRun): Algorithm 1, 2 or 3 and Proposition 1, 2 or 3 over the
        same span.

    Raises
    ------
    ValueError
        An unknown algorithm or objective, or a parameter out of range.
    DivergenceError
        One of the runs diverged.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    name = objective if isinstance(objective, str) else None
    f = _objective(objective) if isinstance(objective, str) else objective
    if theta0 is None:
        theta0 = _START[name] if name else np.zeros(f.dim or 1)
    steps = _steps(algorithm, alpha, steps, t_end)
    kw: dict[str, float] = {}
    if algorithm == "rmsprop":
        kw = {"beta": beta}
    elif algorithm == "adam":
        kw = {"beta1": beta1, "beta2": beta2}
    # the discrete run on a second core while the continuous model is solved (both compiled
    # loops release the GIL); its error, if any, is raised first, as if it had run first
    with ThreadPoolExecutor(max_workers=1) as pool:
        run = pool.submit(getattr(discrete, algorithm), f, theta0, alpha=alpha, steps=steps, **kw)
        try:
            c = getattr(continuous, algorithm)(f, theta0, alpha=alpha, t_end=alpha * steps,
                                               tol=tol, **kw)
        finally:
            d = run.result()
    return d, c


def _steps(algorithm: str, alpha: float, steps: int | None, t_end: float | None) -> int:
    if steps is not None and t_end is not None:
        raise ValueError("give steps or t_end, not both")
    if t_end is not None:
        steps = round(t_end / alpha)
    if steps is None:
        steps = _STEPS[algorithm]
    steps = int(steps)
    if not 1 <= steps <= _MAX_STEPS:
        raise ValueError(f"steps must lie in [1, {_MAX_STEPS}], got {steps}")
    return steps


@dataclass
class Drawn:
    """What the last redraw of a :class:`Panel` computed and showed.

    ``params`` are the control values used; ``discrete`` and ``continuous`` the two runs (None
    when they failed), ``gaps`` the result of :func:`idebook.analysis.gaps` (max and final gap
    per state), ``message`` the summary line shown above the figure and ``error`` the failure,
    if any (a diverging run or a continuous solve that did not converge). ``png`` is the figure.
    """

    params: dict[str, Any]
    discrete: DiscreteRun | None = None
    continuous: ContinuousRun | None = None
    gaps: dict[str, tuple[float, float]] = field(default_factory=dict)
    message: str = ""
    error: str | None = None
    png: bytes = b""

    @property
    def theta_gap(self) -> float:
        """``max_k |theta_k - theta(alpha k)|`` (NaN if a run failed)."""
        return self.gaps.get("theta", (float("nan"), float("nan")))[0]


class Panel(W.VBox):
    """Panel(controls, *, memory=False, tol=1e-6)

    Controls, a summary line and a figure (an ``ipywidgets.VBox``); :func:`panel` builds it.

    Attributes
    ----------
    controls : dict
        Each parameter name (``"algorithm"``, ``"objective"``, ``"alpha"``, ``"beta"``,
        ``"beta1"``, ``"beta2"``, ``"theta0"``, ``"theta0_y"``, ``"steps"``) to its widget.
    output : ``ipywidgets.Output``
        The widget holding the figure.
    summary : ``ipywidgets.HTML``
        The line above the figure: the largest and the final gap.
    last : Drawn
        What the last redraw computed and showed.
    draws : int
        The number of redraws so far.
    """

    def __init__(self, controls: dict[str, W.ValueWidget], *, memory: bool = False,
                 tol: float = 1e-6) -> None:
        self.controls = controls
        self.memory = memory
        self.tol = tol
        self.summary = W.HTML(layout=W.Layout(min_height="1.6em"))
        self.output = W.Output(layout=W.Layout(min_height="300px"))
        self.last: Drawn | None = None
        self.draws = 0
        self._hold = False
        self._figure = _figure(memory=memory)
        rows = [W.HBox([controls[k] for k in ("algorithm", "objective") if k in controls])]
        rows += [controls[k] for k in ("alpha", "beta", "beta1", "beta2", "theta0", "theta0_y",
                                        "steps")]
        super().__init__([r for r in rows if not isinstance(r, W.HBox) or r.children]
                         + [self.summary, self.output])
        self.add_class("idebook-panel")
        for w in controls.values():
            w.observe(self._changed, names="value")
        self._sync_visibility()
        self.redraw()

    # -- driving the panel -------------------------------------------------------------------
    @property
    def values(self) -> dict[str, Any]:
        """The current value of every control."""
        return {k: w.value for k, w in self.controls.items()}

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls inside ``with panel.hold():`` and redraw once at the end."""
        self._hold = True
        try:
            yield
        finally:
            self._hold = False
        self._sync_visibility()
        self.redraw()

    def set(self, **values: Any) -> Drawn:
        """Set several controls (by name) with one redraw; returns :attr:`last`.

        A new ``objective`` also moves θ₀ to that objective's usual start, unless ``theta0``
        (and ``theta0_y``) are given too.
        """
        unknown = set(values) - set(self.controls)
        if unknown:
            raise KeyError(f"no control named {sorted(unknown)}; controls: {sorted(self.controls)}")
        with self.hold():
            name = values.pop("objective", None)
            if name is not None and name != self.controls["objective"].value:
                self.controls["objective"].value = name
                self._reset_theta0()  # the new objective's start, unless theta0 is given
            for k, v in values.items():
                self.controls[k].value = v
        assert self.last is not None
        return self.last

    def _changed(self, change: dict) -> None:
        if self._hold:
            return
        if change["owner"] is self.controls.get("objective"):
            with self.hold():
                self._reset_theta0()
            return
        self._sync_visibility()
        self.redraw()

    def _reset_theta0(self) -> None:
        name = self.controls["objective"].value
        lo, hi = _THETA_RANGE[name]
        start = _START[name]
        for key, value in (("theta0", start[0]), ("theta0_y", start[-1])):
            s = self.controls[key]
            s.min, s.max = min(lo, s.min), max(hi, s.max)  # widen first, then narrow
            s.value = value
            s.min, s.max = lo, hi

    def _sync_visibility(self) -> None:
        alg = self.controls["algorithm"].value
        two_d = objective(self.controls["objective"].value).dim == 2
        show = {"beta": alg == "rmsprop", "beta1": alg == "adam", "beta2": alg == "adam",
                "theta0_y": two_d}
        for key, visible in show.items():
            self.controls[key].layout.display = None if visible else "none"
        self.controls["theta0"].description = "θ₀ (x)" if two_d else "θ₀"

    # -- computing and drawing ---------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The arguments of :func:`simulate` given by the controls."""
        v = self.values
        f = objective(v["objective"])
        theta0 = (v["theta0"], v["theta0_y"]) if f.dim == 2 else (v["theta0"],)
        p: dict[str, Any] = {"algorithm": v["algorithm"], "objective": v["objective"],
                             "alpha": float(v["alpha"]), "theta0": theta0,
                             "steps": round(v["steps"])}
        if v["algorithm"] == "rmsprop":
            p["beta"] = float(v["beta"])
        elif v["algorithm"] == "adam":
            p["beta1"], p["beta2"] = float(v["beta1"]), float(v["beta2"])
        return p

    def redraw(self) -> Drawn:
        """Re-run both models with the current control values and redraw; returns :attr:`last`."""
        p = self.params()
        drawn = Drawn(params=p)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                drawn.discrete, drawn.continuous = simulate(**p, tol=self.tol)
            drawn.gaps = analysis.gaps(drawn.discrete, drawn.continuous)
            notes = [str(w.message) for w in caught]
            if not drawn.continuous.success:
                drawn.error = drawn.continuous.message
            elif notes:
                drawn.error = notes[-1]
        except (DivergenceError, ValueError) as err:
            drawn.error = str(err)
        drawn.message = _summary(drawn)
        drawn.png = _render(drawn, self._figure, memory=self.memory)
        self.summary.value = drawn.message
        self.output.outputs = ({
            "output_type": "display_data",
            "data": {"image/png": base64.b64encode(drawn.png).decode("ascii"),
                     "text/plain": _plain(drawn)},
            "metadata": {},
        },)
        self.last = drawn
        self.draws += 1
        return drawn


def _summary(d: Drawn) -> str:
    p = d.params
    text = f"<b>{p['algorithm']}</b>, α = {p['alpha']:.3g}, {p['steps']} steps"
    if "theta" in d.gaps:
        gmax, gfinal = d.gaps["theta"]
        text += f": max gap in θ {gmax:.3g}, final gap {gfinal:.3g}"
    if d.error:
        text += f" <span style='color:#b00020'>({_escape(d.error)})</span>"
    return text


def _plain(d: Drawn) -> str:
    if "theta" in d.gaps:
        return f"{d.params['algorithm']}: max gap in theta {d.theta_gap:.3g}"
    return f"{d.params['algorithm']}: {d.error}"


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _semilogy(ax: Any, k: np.ndarray, gap: np.ndarray, color: str) -> None:
    """The positive values of a gap on a log scale (a long one thinned, :func:`plotting.thin`)."""
    positive = gap > 0
    k, gap = k[positive], gap[positive]
    keep = thin(gap)
    ax.semilogy(k[keep], gap[keep], color=color)


def _figure(*, memory: bool) -> Figure:
    """The figure a :class:`Panel` draws on at every redraw (Agg, no pyplot state), made in the
    book's style, whose layout settings its constrained layout keeps."""
    with style_context():
        fig = Figure(figsize=(9.0, 3.4 * (2 if memory else 1)), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _render(d: Drawn, fig: Figure, *, memory: bool) -> bytes:
    """Draw ``d`` on ``fig`` (from :func:`_figure`, cleared first) and return it as PNG bytes.

    A panel keeps its figure between redraws: matplotlib's renderer then lives on, and with it
    its caches of text extents and parsed mathtext, which a new figure would build again (a
    fifth to a quarter of the drawing time; the PNG is the same, pixel for pixel).
    """
    # "standard" bounding box: constrained layout already fits the figure, and a tight bbox
    # would draw it twice.
    with style_context(), mpl.rc_context({"savefig.bbox": "standard"}):
        fig.clear()
        axes = fig.subplots(2 if memory else 1, 2, squeeze=False)
        ax_theta, ax_gap = axes[0]
        dr, co = d.discrete, d.continuous
        if dr is None or co is None:
            for ax in axes.flat:
                ax.set_axis_off()
            ax_theta.text(0.0, 0.5, "no result:\n" + (d.error or ""), wrap=True,
                          transform=ax_theta.transAxes, va="center")
        else:
            alpha = dr.alpha
            c_at = co.at(dr.t)
            n = dr.theta.shape[1]
            for i in range(n):
                label = "θ" if n == 1 else f"θ{'₁₂₃₄'[i] if i < 4 else i + 1}"
                overlay(ax_theta, dr.t, dr.theta[:, i], co.t, co.theta[:, i], label,
                        time_scale=alpha)
            f = objective(d.params["objective"])
            if f.minimizer is not None:
                for x in np.atleast_1d(f.minimizer):
                    ax_theta.axhline(float(x), color="#888888", linewidth=0.8, linestyle=":")
            ax_theta.set_xlabel(r"$k$-iterations ($t/\alpha$)")
            ax_theta.set_ylabel("θ")
            ax_theta.legend(fontsize=8)
            gap = np.linalg.norm(dr.theta - c_at.theta, axis=1)
            k = dr.t / alpha
            _semilogy(ax_gap, k, gap, "#D55E00")
            ax_gap.set_xlabel(r"$k$-iterations ($t/\alpha$)")
            ax_gap.set_ylabel(r"gap $|\theta_k - \theta(\alpha k)|$")
            if memory:
                name = next(iter(dr.memory.keys() - {"m"}))
                ax_mem = axes[1, 0]
                overlay(ax_mem, dr.t, dr.memory[name][:, 0], co.t, getattr(co, name)[:, 0],
                        name, time_scale=alpha)
                ax_mem.set_xlabel(r"$k$-iterations ($t/\alpha$)")
                ax_mem.set_ylabel(name)
                ax_mem.legend(fontsize=8)
                mgap = np.abs(dr.memory[name][:, 0] - getattr(c_at, name)[:, 0])
                ax_mg = axes[1, 1]
                _semilogy(ax_mg, k, mgap, "#CC79A7")
                ax_mg.set_xlabel(r"$k$-iterations ($t/\alpha$)")
                ax_mg.set_ylabel(f"gap in {name}")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, facecolor="white")
        return buf.getvalue()


def panel(algorithm: str = "adam", *, objective: str = "quadratic", alpha: float = 0.1,
          beta: float = 0.9, beta1: float = 0.9, beta2: float = 0.999,
          theta0: float | tuple[float, float] | None = None, steps: int | None = None,
          t_end: float | None = None, memory: bool = False, choose: bool = False,
          tol: float = 1e-6) -> Panel:
    """A control panel for one algorithm: sliders for α, the βs, θ₀ and the number of steps.

    Parameters
    ----------
    algorithm
        ``"adagrad"``, ``"rmsprop"`` or ``"adam"``.
    objective
        A name from :data:`OBJECTIVES`: ``"quadratic"`` (θ - 4)², ``"regression"`` (Appendix B)
        or ``"rosenbrock"``.
    alpha, beta, beta1, beta2
        Initial values of the sliders (``beta`` for RMSProp, ``beta1`` and ``beta2`` for Adam;
        the sliders an algorithm does not use are hidden).
    theta0
        Initial point; defaults to the objective's usual start. A pair for Rosenbrock.
    steps, t_end
        Horizon, as a number of steps or as a time (``steps = t_end / alpha``); the steps slider
        then keeps k fixed when α moves.
    memory
        Also plot the squared-gradient memory (G or v) and its gap.
    choose
        Add drop-down menus to switch the algorithm and the objective.
    tol
        Accuracy asked of the continuous solver (looser than the chapters' 1e-8, for speed).

    Returns
    -------
    Panel
        The widget, drawn once; every change of a control redraws it.

    Raises
    ------
    ValueError
        An unknown algorithm or objective.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, got {objective!r}")
    steps = _steps(algorithm, alpha, steps, t_end)
    start = tuple(np.atleast_1d(np.asarray(theta0, dtype=float))) if theta0 is not None \
        else _START[objective]
    lo, hi = _THETA_RANGE[objective]
    lo, hi = min(lo, *start), max(hi, *start)
    style = {"description_width": "6em"}

    def slider(cls: type, value: float, lo: float, hi: float, step: float, description: str,
               fmt: str | None = None, **kw: Any) -> W.ValueWidget:
        if fmt is not None:
            kw["readout_format"] = fmt
        # One Layout per widget: a shared Layout would hide or show all of them at once.
        return cls(value=value, min=lo, max=hi, step=step, description=description,
                   continuous_update=False, style=style, layout=W.Layout(width="32em"), **kw)

    controls: dict[str, W.ValueWidget] = {
        "algorithm": W.Dropdown(options=list(ALGORITHMS), value=algorithm,
                                description="algorithm", style=style),
        "objective": W.Dropdown(options=[(v, k) for k, v in OBJECTIVES.items()],
                                value=objective, description="objective", style=style),
        # FloatLogSlider's min/max are exponents: alpha in [1e-3, 0.5].
        "alpha": slider(W.FloatLogSlider, alpha, -3, np.log10(0.5), 0.05, "α", ".3g", base=10),
        "beta": slider(W.FloatSlider, beta, 0.0, 0.999, 0.001, "β", ".3f"),
        "beta1": slider(W.FloatSlider, beta1, 0.0, 0.999, 0.001, "β₁", ".3f"),
        "beta2": slider(W.FloatSlider, beta2, 0.5, 0.9999, 0.0001, "β₂", ".4f"),
        "theta0": slider(W.FloatSlider, start[0], lo, hi, 0.05, "θ₀", ".2f"),
        "theta0_y": slider(W.FloatSlider, start[-1], lo, hi, 0.05, "θ₀ (y)", ".2f"),
        # a log scale reaches both 10 and 200 000 steps (and a typed value is kept as it is)
        "steps": slider(W.FloatLogSlider, steps, np.log10(min(10, steps)), np.log10(_MAX_STEPS),
                        0.01, "steps", ".0f", base=10),
    }
    if not choose:
        for key in ("algorithm", "objective"):
            controls[key].layout.display = "none"
    return Panel(controls, memory=memory, tol=tol)
