"""The continuous models of the paper's Section 3, solved to a stated accuracy.

Same names and call shape as :mod:`idebook.discrete`, with ``t_end`` in place of ``steps``:

    adagrad  Proposition 1, eq. (3):  theta' = -g / (sqrt(G(t + alpha)) + eps)
    rmsprop  Proposition 2, eq. (4):  theta' = -g / (sqrt(v(t + alpha)) + eps)
    adam     Proposition 3, eq. (5):  theta' = -alpha(t) m / (sqrt(v) + eps(t))

(plus AdamW and AdamL2 through ``weight_decay`` and ``l2``). ``method="fast"`` (default) is the
solver of ``idebook._fast``, with adaptive steps and an estimated error in theta below ``tol``
everywhere in [0, t_end]; ``method="paper"`` is Algorithm 4 as the paper describes it
(``idebook._paper``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import _fast
from . import _validation as check
from ._anderson import Anderson
from ._fast import interpolate
from .model import Model, build, output_intervals, output_times
from .objectives import Objective
from .results import ContinuousRun, ConvergenceWarning, DivergenceError, Trajectory, check_times

TOL = 1e-8  # default tolerance of adagrad, rmsprop and adam: success promises 10 TOL
MAX_NFEV = 10**7  # default work limit, see adagrad's max_nfev
MAX_GRID_BYTES = 2 * 2**30  # largest node arrays (times, states, derivatives) a solve keeps
LOCAL = 0.25  # the adaptive steps' local tolerance, as a fraction of tol
# The smallest local tolerance of a solve: theta's error is measured absolutely, and below this
# an error estimate of order 1e-16 |theta| is round-off (a request for less is not met, and says so)
LOCAL_FLOOR = 1e-13
# The stage values of the moments near t = 0 are only second-order accurate relative to their
# size, and the bias correction m / (1 - beta^(t/alpha)) divides by a factor ~ t, so uniform
# steps lose two orders in Adam's first window. Adaptive steps control that error like any
# other; a fixed grid (substeps=N) takes adaptive steps to LAYER_TOL there.
LAYER_TOL = 1e-12
SWEEP_TOL = 1e-5  # local tolerance of the first Picard sweep, which freezes q over the window
# A sweep whose local tolerance would be within this factor of the solve's own takes the
# solve's: the looser sweep would save under a third of the steps (4^(1/5) = 1.3), and its mesh
# is then given up, at the cost of a fresh adaptation and more sweeps to converge on the new
# one (RMSProp on Rosenbrock, alpha = 0.5, tol = 1e-6: 53 243 -> 47 717 gradients in the coarse
# solve; AdaGrad on the paper's quadratic, nfev/K 1.65 -> 1.46 at alpha = 0.1 and 0.0195 ->
# 0.0153 at 0.01)
SWEEP_TOL_NEAR = 4.0
# How the Picard sweeps after the first take the window integral (_fast.PREDICTED: corrected
# by the change of the memory at t; a solve whose corrected sweeps do not contract goes on
# with _fast.LAGGED, the previous sweep's window as it is; see _one_solve)
WINDOW = _fast.PREDICTED
FIRST_ROWS = 256  # nodes an adaptive sweep starts with room for (doubled when full)
REFINEMENTS = 2  # adaptive solves repeated at a smaller tolerance when the estimate is over tol
# Work allowed to the first Picard sweep, which freezes q over the window. Started at a
# minimiser, that sweep's field is -g / (sqrt(alpha) |g| + eps): a sign flow, which chatters
# across theta* in steps of the order of eps. Past this many gradients the iteration starts
# instead from the memory of theta resting at theta0, which has no such jump.
FROZEN_MAX_NFEV = 20_000


def adagrad(objective: Objective | tuple, theta0, *, alpha: float, t_end: float,
            eps: float = 1e-8, per_coordinate: bool = False, method: str = "fast",
            tol: float = TOL, substeps: int | None = None, max_sweeps: int = 100,
            max_nfev: int = MAX_NFEV) -> ContinuousRun:
    """Proposition 1: theta' = -g / (sqrt(G(t + alpha)) + eps), G(t) = (1/alpha) int_0^t ||g||^2.

    Parameters
    ----------
    objective : Objective or (value, grad) pair
        f and its gradient (:mod:`idebook.objectives`).
    theta0 : float or array_like
        theta(0), real and finite, of the objective's dimension.
    alpha : float
        Learning rate, > 0: the memory's time scale and the shift of eq. (3).
    t_end : float
        Horizon, >= 0; the result is reported at t = alpha k and t_end
        (:func:`idebook.model.output_times`).
    eps : float
        Added to sqrt(G), >= 0; with eps = 0 a zero gradient gives a zero step (0/0 = 0).
    per_coordinate : bool
        False: the paper's memory of the squared gradient norm; True: one per coordinate.
    method : {"fast", "paper"}
        ``"fast"``: the solver of ``idebook._fast`` (Lawson-RK4 with exact memory decay and
        adaptive steps, SDIRK4 where stiff, Picard sweeps with Anderson acceleration for the
        shift t + alpha), solved twice and checked over every node and midpoint of both.
        ``"paper"``: Algorithm 4 of the paper, Euler steps h = alpha with Picard iteration and
        smoothing (``idebook._paper``), an O(alpha) baseline that ignores ``tol`` and
        ``substeps``.
    tol : float
        Target for the estimated error, > 0 (fast method): success promises that the
        estimate, the largest difference between the last two solves over [0, t_end] (dense
        output included) divided by the ratio of their local tolerances less one (15, or
        that of a refinement), is below tol, in theta and in each memory relative to its
        largest magnitude where that exceeds 1. The local tolerance stops at 1e-13
        (``LOCAL_FLOOR``): a tol that would need less is reported not met (status -3).
    substeps : int, optional
        A fixed grid of N steps per alpha (even, >= 2) instead of adaptive steps;
        ``error_estimate`` is then the difference from the grid of N/2 steps divided by 15.
    max_sweeps : int
        Cap on the Picard sweeps per solve (fast) or on Algorithm 4's iterations (paper), >= 1.
    max_nfev : int
        Cap on the gradient evaluations of the fast method, >= 1; the default 10**7 is a few
        seconds of work on one core for an objective as cheap as a quadratic (the solver
        evaluates some 2e6 of its gradients a second). No step starts that could pass it; the
        solve then returns the last solve that finished with ``success=False`` and
        ``status=-5`` (:data:`idebook.results.STATUS`), or theta = NaN if none did.

    Returns
    -------
    ContinuousRun
        theta and G at the output times, the diagnostics and the dense output ``sol``/``at``.

    Raises
    ------
    ValueError
        A parameter out of range (the message names it and its range), a gradient whose
        shape is not theta's, or a fixed grid (``substeps``, ``method="paper"``) that would
        take more than 2 GiB (``MAX_GRID_BYTES``; the message names alpha and t_end).
    TypeError
        A gradient returning None or something that is not an array of numbers.
    DivergenceError
        The solution became NaN or inf (``t`` is the time): non-finite values on a fixed
        grid, or adaptive steps that shrink below 1e-13 (relative) without finite values.

    Warns
    -----
    ConvergenceWarning
        The solve stopped before its tolerance; the result has ``success=False``, ``status < 0``.

    References
    ----------
    Heredia (2024), Proposition 1, eq. (3); Algorithm 4 (``method="paper"``).
    """
    model = build("adagrad", objective, theta0, alpha=alpha, eps=eps,
                  per_coordinate=per_coordinate)
    return _solve(model, t_end, method, tol, substeps, max_sweeps, max_nfev)


def rmsprop(objective: Objective | tuple, theta0, *, alpha: float, beta: float = 0.9,
            t_end: float, eps: float = 1e-8, per_coordinate: bool = False,
            method: str = "fast", tol: float = TOL, substeps: int | None = None,
            max_sweeps: int = 100, max_nfev: int = MAX_NFEV) -> ContinuousRun:
    """Proposition 2: theta' = -g / (sqrt(v(t + alpha)) + eps), v = K_RP * ||g||^2.

    The kernel is K_RP(t) = ((1 - beta)/alpha) exp(-(1 - beta) t/alpha).

    Parameters
    ----------
    beta : float
        Decay rate of the squared-gradient memory, in [0, 1).
    objective, theta0, alpha, t_end, eps, per_coordinate, method, tol, substeps, max_sweeps
        As in :func:`adagrad`; so is ``max_nfev``.

    Returns
    -------
    ContinuousRun
        theta and v at the output times, with diagnostics and dense output.

    Raises
    ------
    ValueError, TypeError, DivergenceError
        As in :func:`adagrad`.

    Warns
    -----
    ConvergenceWarning
        As in :func:`adagrad`.

    References
    ----------
    Heredia (2024), Proposition 2, eq. (4).
    """
    model = build("rmsprop", objective, theta0, alpha=alpha, beta=beta, eps=eps,
                  per_coordinate=per_coordinate)
    return _solve(model, t_end, method, tol, substeps, max_sweeps, max_nfev)


def adam(objective: Objective | tuple, theta0, *, alpha: float, beta1: float = 0.9,
         beta2: float = 0.999, t_end: float, eps: float = 1e-8, per_coordinate: bool = False,
         weight_decay: float = 0.0, l2: float = 0.0, method: str = "fast", tol: float = TOL,
         substeps: int | None = None, max_sweeps: int = 100, max_nfev: int = MAX_NFEV
         ) -> ContinuousRun:
    """Proposition 3: theta' = -alpha(t) m / (sqrt(v) + eps(t)), eq. (5)-(6).

    Equivalently theta' = -mhat / (sqrt(vhat) + eps) with mhat = m/(1 - beta1^(t/alpha)),
    vhat = v/(1 - beta2^(t/alpha)) (``idebook.model.bias_ratio``), m and v the memories
    of the kernels K_a(t) = ((1 - beta_a)/alpha) exp(-(1 - beta_a) t/alpha). There is no shift,
    so the fast method needs a single sweep.

    Parameters
    ----------
    objective, theta0, alpha, t_end, eps, per_coordinate, method, tol, substeps, max_sweeps
        As in :func:`adagrad`; so is ``max_nfev``.
    beta1, beta2 : float
        Decay rates of the first and second moments, in [0, 1).
    weight_decay : float
        AdamW: adds -(w/alpha) theta to theta', w in [0, 1).
    l2 : float
        AdamL2: adds (lambda/2) theta to the gradient, lambda >= 0.

    Returns
    -------
    ContinuousRun
        theta, m and v at the output times, with diagnostics and dense output.

    Raises
    ------
    ValueError, TypeError, DivergenceError
        As in :func:`adagrad` (ValueError also for beta1, beta2, weight_decay or l2).

    Warns
    -----
    ConvergenceWarning
        When the solve stops before its tolerance, as in :func:`adagrad`.

    References
    ----------
    Heredia (2024), Proposition 3, eq. (5)-(6), and Section 3 (AdamW, AdamL2).
    """
    model = build("adam", objective, theta0, alpha=alpha, beta1=beta1, beta2=beta2, eps=eps,
                  per_coordinate=per_coordinate, weight_decay=weight_decay, l2=l2)
    return _solve(model, t_end, method, tol, substeps, max_sweeps, max_nfev)


def _solve(model: Model, t_end: float, method: str, tol: float, substeps: int | None,
           max_sweeps: int, max_nfev: int) -> ContinuousRun:
    t_end = check.nonnegative("t_end", t_end)
    tol = check.positive("tol", tol)
    if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, int) or max_sweeps < 1:
        raise ValueError(f"max_sweeps must be an integer >= 1, got {max_sweeps!r}")
    max_nfev = check.count("max_nfev", max_nfev, minimum=1)
    if substeps is not None and (isinstance(substeps, bool) or not isinstance(substeps, int)
                                 or substeps < 2 or substeps % 2):
        raise ValueError(f"substeps must be an even integer >= 2, got {substeps!r}")
    if method not in ("fast", "paper"):
        raise ValueError(f"method must be 'fast' or 'paper', got {method!r}")
    n_windows = _windows(model, t_end)
    N = 1 if method == "paper" else substeps or 0
    if N and _grid_bytes(model, n_windows, N) > MAX_GRID_BYTES:
        raise ValueError(
            f"alpha = {model.alpha:g} and t_end = {t_end:g} need a grid of {n_windows} "
            f"alpha-windows x {N} steps ({_grid_bytes(model, n_windows, N) / 2**30:.3g} GiB, "
            f"over the {MAX_GRID_BYTES / 2**30:g} GiB allowed): raise alpha or lower t_end")
    if method == "paper":
        from ._paper import solve_paper

        return solve_paper(model, t_end, max_iterations=max_sweeps)
    return _solve_fast(model, t_end, tol, substeps, max_sweeps, max_nfev)


def _windows(model: Model, t_end: float) -> int:
    """The alpha-windows a fixed grid spans: [0, t_end] and PAD more if shifted."""
    return max(output_intervals(model.alpha, t_end), 1) + (_fast.PAD if model.shifted else 0)


def _grid_bytes(model: Model, n_windows: int, N: int) -> float:
    """Memory of a fixed grid of N steps per window: the node arrays of :class:`Segment`."""
    return _nodes_bytes(model, n_windows * N + 1)


def _nodes_bytes(model: Model, nodes: int) -> float:
    """Memory of ``nodes`` nodes: their times, states and derivatives."""
    return 8.0 * nodes * (1 + 2 * _state_size(model))


def _state_size(model: Model) -> int:
    return (2 * model.n if model.has_m else model.n) + model.nm


@dataclass(frozen=True, kw_only=True, eq=False)
class Segment:
    """Piecewise cubic Hermite interpolation of solver nodes, in t or in s = sqrt(t).

    Attributes
    ----------
    X : numpy.ndarray
        The nodes in the integration variable: t, or s = sqrt(t) where ``sqrt_time``.
    Y, dY : numpy.ndarray
        The state y = (theta, m, v) at the nodes and its derivative dy/dX.
    M : numpy.ndarray
        Per step, the state at its midpoint where it was a DOPRI step, else NaN: with Y and dY
        it gives the step's own dense output (``idebook._fast.interpolate``).
    sqrt_time : bool
        Whether X is sqrt(t) (Adam's first window).
    methods : numpy.ndarray
        Per step, how it was taken: ``idebook._fast.ETD``, ``SDIRK`` or ``DOPRI``
        (``idebook._fast.march``).
    D : numpy.ndarray
        The decay rates of the state's linear part (exponential interpolation over steps
        long against 1/D, see ``idebook._fast.interpolate``).
    """

    X: np.ndarray
    Y: np.ndarray
    dY: np.ndarray
    M: np.ndarray
    sqrt_time: bool
    methods: np.ndarray
    D: np.ndarray

    @property
    def t(self) -> np.ndarray:
        """The nodes as times."""
        return self.X**2 if self.sqrt_time else self.X

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """The interpolated state at times t inside the segment, shape (t.size, state)."""
        x = np.sqrt(t) if self.sqrt_time else np.ascontiguousarray(t, dtype=float)
        out = np.empty((x.size, self.Y.shape[1]))
        D = np.zeros(self.Y.shape[1]) if self.sqrt_time else self.D
        interpolate(self.X, self.Y, self.dY, D, self.M, x, out, np.empty((0, out.shape[1])))
        return out

    def lag(self, iv: int) -> _fast.Lag:
        """The squared-gradient memory, for the next Picard sweep's window integral."""
        return _fast.Lag(np.ascontiguousarray(self.X), np.ascontiguousarray(self.Y[:, iv:]),
                         np.ascontiguousarray(self.dY[:, iv:]),
                         np.ascontiguousarray(self.M[:, iv:]))


@dataclass(frozen=True, kw_only=True, eq=False)
class HermiteSolution:
    """Dense output of the fast solver: cubic Hermite between the nodes of its segments.

    Adam's first window is interpolated in s = sqrt(t), the rest in t. Calling it with times
    t in [0, t_end] returns a :class:`~idebook.results.Trajectory`; it holds only arrays, so
    it pickles.

    Attributes
    ----------
    segments : tuple of Segment
        Consecutive pieces, the first starting at t = 0.
    n, iv : int
        theta is y[:n], the first moment y[n:iv], the squared-gradient memory y[iv:].
    names : tuple of str
        The memories reported besides theta: ("G",), ("v",) or ("v", "m").
    t_end : float
        The end of the solution's span.
    """

    segments: tuple[Segment, ...]
    n: int
    iv: int
    names: tuple[str, ...]
    t_end: float

    @property
    def t_nodes(self) -> np.ndarray:
        """Every node, as a time (the steps the solver took). Where two segments meet, the
        node they share (alpha, as s^2 and as t, which may differ in the last bit) is one."""
        t = np.unique(np.concatenate([seg.t for seg in self.segments]))
        return t[np.diff(t, prepend=-np.inf) > 1e-12 * np.maximum(1.0, np.abs(t))]

    @property
    def steps(self) -> int:
        """How many steps the solver took: the intervals between its nodes."""
        return self.t_nodes.size - 1

    def states(self, t: np.ndarray) -> np.ndarray:
        """The whole state y at the times t (no checks)."""
        if len(self.segments) == 1:
            return self.segments[0](t)
        out = np.empty((t.size, self.segments[0].Y.shape[1]))
        which = np.searchsorted([seg.t[0] for seg in self.segments[1:]], t, side="right")
        for k, seg in enumerate(self.segments):
            inside = which == k
            if inside.any():
                out[inside] = seg(t[inside])
        return out

    def __call__(self, t: float | np.ndarray) -> Trajectory:
        """theta and the memory states at times ``t`` (ValueError outside [0, t_end])."""
        t = check_times(t, 0.0, self.t_end)
        y = self.states(t)
        columns = {self.names[0]: y[:, self.iv:], "m": y[:, self.n:self.iv]}
        return Trajectory(t=t, theta=y[:, :self.n],
                          **{name: columns[name].copy() for name in self.names})


def _diverged(model: Model, t: float) -> None:
    raise DivergenceError(f"{model.algorithm}: the continuous solution became non-finite at "
                          f"t = {t:.6g} (alpha = {model.alpha})", t=t)


class _OutOfWork(Exception):
    """A march would pass the work limit (``max_nfev``, or the march's budget)."""


class _OutOfMemory(Exception):
    """A march would need more than ``MAX_GRID_BYTES`` of nodes."""


class _System:
    """The system y = (theta, m, v) of :mod:`idebook._fast` for one model, and its marches."""

    def __init__(self, model: Model, max_nfev: int) -> None:
        n, nm = model.n, model.nm
        self.model, self.n, self.nm = model, n, nm
        self.iv = 2 * n if model.has_m else n
        self.ny = self.iv + nm
        D = np.zeros(self.ny)
        D[:n] = model.weight_decay / model.alpha
        D[n:self.iv] = model.c1
        D[self.iv:] = model.d2
        self.D = D
        decay = math.exp(-model.d2 * model.alpha)
        w0 = model.c2 * model.alpha if model.d2 == 0 else model.c2 * (1 - decay) / model.d2
        self.coef = _fast.Coefficients(
            int(n), int(nm), bool(model.has_m), bool(model.per_coordinate),
            *(float(x) for x in (model.alpha, model.c1, model.c2, model.d2, decay, w0,
                                 model.ln_beta1, model.ln_beta2, model.eps, model.l2)))
        self.march_loop = _fast.march if model.objective.jitted else _fast.plain_march
        self.args = (model.objective.grad, model.objective.params)
        self.max_nfev = max_nfev
        self.nfev = self.rejected = self.stiff = self.newton_failures = 0
        self.no_lag = _fast.Lag(np.zeros(1), np.zeros((1, nm)), np.zeros((1, nm)),
                                np.zeros((1, nm)))

    def march(self, mode: int, lag: _fast.Lag | None, y0: np.ndarray, x0: float, x_end: float,
              sqrt_time: bool = False, given: np.ndarray | None = None, tol: float = 0.0,
              h0: float = 0.0, follow: Segment | None = None, budget: int | None = None,
              stops: tuple[float, ...] = ()) -> Segment:
        """One sweep from (x0, y0): adaptive steps to ``tol`` up to x_end, with a node at each
        of the ``stops`` (no step crosses one; like x0 and x_end, in the integration variable,
        sqrt(t) with ``sqrt_time``), the ``given`` nodes, or the nodes and step
        methods of the adaptive sweep ``follow`` (to ``tol``, that sweep's tolerance), up to
        the first replayed step whose error exceeds REPLAY_LIMIT tol and on from there with
        adaptive steps. Raises DivergenceError, _OutOfWork (also past ``budget`` gradients)
        or _OutOfMemory."""
        start = self.nfev
        if self.nfev + 7 > self.max_nfev:  # the first field and one step
            raise _OutOfWork
        if follow is not None:
            given = follow.X
        given = np.empty(0) if given is None else np.ascontiguousarray(given, dtype=float)
        rows = given.size if given.size else FIRST_ROWS
        rows = min(rows, max(2, int(MAX_GRID_BYTES // _nodes_bytes(self.model, 1))))
        S, Y, dY, M = (np.empty((rows,) + shape) for shape in ((), (self.ny,), (self.ny,),
                                                                (self.ny,)))
        S[0], Y[0] = x0, y0
        methods = np.zeros(rows, dtype=np.int8)
        if follow is not None:
            methods[:follow.methods.size] = follow.methods
        control = np.concatenate([_fast.START_STATE, np.ones(self.n),
                                  np.zeros(self.iv - self.n), np.full(self.nm, self.model.eps**2)])
        control[0] = h0
        count = 1
        replay = follow is not None
        while True:
            # (adaptive steps) the next stop, or x_end
            target = x_end if given.size else min(
                [x for x in stops if S[count - 1] < x < x_end], default=x_end)
            status, count, nfev, rejected, stiff, failures = self.march_loop(
                *self.args, self.coef, mode, sqrt_time, self.no_lag if lag is None else lag,
                self.D, S, Y, dY, M, count, target, given[count - 1:] if given.size else given,
                tol, self.max_nfev - self.nfev if budget is None else min(
                    self.max_nfev - self.nfev, start + budget - self.nfev),
                control, methods, replay)
            done = status == _fast.REACHED and target == x_end
            # (a march that goes on re-evaluates the field at its first node, which the step
            # that reached it evaluated already: counted once)
            self.nfev += nfev - 1 if count > 1 and not done else nfev
            self.rejected += rejected
            self.stiff += stiff
            self.newton_failures += failures
            if done:
                return Segment(X=S[:count].copy(), Y=Y[:count].copy(), dY=dY[:count].copy(),
                               M=M[:count - 1].copy(), sqrt_time=sqrt_time,
                               methods=methods[:count - 1].copy(), D=self.D)
            if status == _fast.BLOW_UP and replay:
                # the followed nodes stop suiting this sweep at node count - 1: keep the nodes
                # replayed so far and go on from there with adaptive steps, starting from the
                # step that failed
                control[0], control[1] = given[count] - given[count - 1], 1.0
                replay, given = False, np.empty(0)
                continue
            if status == _fast.BLOW_UP:
                x = S[count - 1]
                _diverged(self.model, x * x if sqrt_time else x)
            if status == _fast.OUT_OF_WORK:
                raise _OutOfWork
            if status == _fast.REACHED:  # a stop: on from there
                continue
            more = min(rows, int(MAX_GRID_BYTES // _nodes_bytes(self.model, 1)) - rows)
            if more <= 0:
                raise _OutOfMemory
            S, Y, dY, M = (np.concatenate([a, np.empty((more,) + a.shape[1:])])
                           for a in (S, Y, dY, M))
            methods = np.concatenate([methods, np.zeros(more, dtype=np.int8)])
            rows += more


@dataclass
class _Solve:
    """One solution of the model: its segments and how its Picard iteration ended."""

    segments: tuple[Segment, ...]
    sweeps: int
    residual: float
    converged: bool
    lagged: int = WINDOW  # how the last sweeps took the window (see _one_solve)


def _one_solve(system: _System, t_end: float, *, N: int = 0, tol: float = 0.0,
               lag: _fast.Lag | None = None, lagged: int, picard_tol: float,
               max_sweeps: int) -> _Solve:
    """Solve on the fixed grid alpha/N (N > 0) or with adaptive steps to the local ``tol``.

    Adam: one sweep, its first window in s = sqrt(t). AdaGrad and RMSProp: Picard sweeps over
    [0, t_end + PAD alpha], from ``lag`` (an earlier solution's memory) or, without one, from
    q frozen over the window. An adaptive sweep's successors follow its nodes and step methods
    (where they stop suiting a sweep, it goes on adaptively from there: :meth:`_System.march`),
    so that their change in theta measures the iteration alone. Adaptive sweeps are
    accelerated (:class:`idebook._anderson.Anderson`): each is given a combination of the
    memories of the sweeps before it at the same tolerance, and its change is measured from
    the same combination of those sweeps. The sweeps take the window as ``lagged`` says
    (``_fast.PREDICTED`` or ``_fast.LAGGED``); a predicted sweep that changes theta by more
    than the tolerance and no less than the sweep before it (on a fixed grid, or at the same
    local tolerance) turns the rest of the iteration to plain Picard sweeps (LAGGED), which the
    result's ``lagged`` reports.
    """
    model = system.model
    alpha = model.alpha
    y0 = np.zeros(system.ny)
    y0[:system.n] = model.theta0
    if not model.shifted:
        first = min(alpha, t_end) if t_end > 0 else alpha
        s_end = math.sqrt(first)
        layer = system.march(_fast.ADAM, None, y0, 0.0, s_end, sqrt_time=True,
                             tol=LAYER_TOL if N else tol, h0=s_end / 8)
        segments = (layer,)
        if t_end > first:
            grid = None
            if N:
                grid = first + alpha / N * np.arange(_windows(model, t_end) * N - N + 1)
            main = system.march(_fast.ADAM, None, layer.Y[-1], first, t_end, given=grid,
                                tol=tol, h0=alpha / 4)
            segments = (layer, main)
        return _Solve(segments=segments, sweeps=1, residual=0.0, converged=True)
    end = t_end + _fast.PAD * alpha
    grid = alpha / N * np.arange(_windows(model, t_end) * N + 1) if N else None
    mode = _fast.FROZEN if lag is None else lagged
    # from an earlier solution's memory the iteration starts near its fixed point: a first change
    # far above the tolerance is a replay gone wrong, not the iteration's progress
    previous, residual = None, np.inf if lag is None else 100 * max(tol, picard_tol)
    previous_tol = np.nan  # the local tolerance of the sweep before
    follow, follow_tol = None, np.inf
    accelerate = Anderson(system.iv)

    def sweep(local_tol: float, **kw) -> Segment:  # one sweep from the current lag
        # a node at end - alpha, past which the window reaches beyond the lag's last node and
        # takes q as frozen there: the field's second derivative jumps, and a step across the
        # jump, whose error estimate misses it, put errors of 80 local tol into the pad that
        # its dense output carried back to t_end (AdaGrad, alpha = 0.34, tol = 1e-8: 5.6e-8)
        return system.march(mode, lag, y0, 0.0, end if N == 0 else grid[-1], given=grid,
                            tol=local_tol, h0=alpha / 4, stops=(end - alpha,), **kw)

    for sweeps in range(1, max_sweeps + 1):
        # an adaptive sweep far from the fixed point need not be accurate: it is solved to a
        # hundredth of the last change in theta (the first from q frozen to SWEEP_TOL), or to
        # the solve's own tolerance once that is near (SWEEP_TOL_NEAR). The sweeps after an
        # adaptive one follow its nodes and step methods while they ask for no smaller local
        # tolerance, so that their change in theta measures the iteration alone, not two
        # meshes' errors.
        sweep_tol = max(tol, min(SWEEP_TOL, residual / 100))
        if (lag is not None and previous is None) or sweep_tol < SWEEP_TOL_NEAR * tol:
            sweep_tol = tol
        if follow is not None and follow_tol > sweep_tol:
            follow = None
        local_tol = follow_tol if follow is not None else sweep_tol
        failures = system.newton_failures
        try:
            seg = sweep(local_tol, follow=follow,
                        budget=FROZEN_MAX_NFEV if mode == _fast.FROZEN else None)
            followed = system.newton_failures == failures
        except _OutOfWork:
            if mode != _fast.FROZEN or system.nfev >= system.max_nfev - 6:
                raise
            # a chattering start: iterate from theta resting at theta0 instead
            lag, mode = _resting_lag(system, end), lagged
            seg = sweep(sweep_tol)
            followed = True
        if follow is not None and not followed:
            # the nodes of an earlier sweep do not suit this one: adapt again
            system.newton_failures, follow, local_tol = failures, None, sweep_tol
            seg = sweep(sweep_tol)
        if previous is not None:
            change = _change(seg, previous, t_end, system.n)
            if follow is not None and change > max(picard_tol, tol) and change >= residual:
                # not contracting on the followed nodes: they do not suit this sweep
                follow, local_tol = None, sweep_tol
                accelerate.reset()
                seg = sweep(sweep_tol)
                change = _change(seg, previous, t_end, system.n)
            if (mode == _fast.PREDICTED and (N or local_tol == previous_tol)
                    and change > max(picard_tol, tol) and change >= residual):
                # the predicted windows do not contract (a fixed grid, or two sweeps of one
                # tolerance, whose change is the iteration's): plain Picard sweeps from here on
                lagged = _fast.LAGGED
                accelerate.reset()
            residual = change
            # a coarse solve need not iterate below its own local tolerance
            if residual <= max(picard_tol, tol) and (N or local_tol == tol):
                return _Solve(segments=(seg,), sweeps=sweeps, residual=residual, converged=True,
                              lagged=lagged)
        if not N and (follow is None or not np.array_equal(seg.X, follow.X)):
            # adapted, or adapted from where the followed nodes stopped suiting it (march)
            follow, follow_tol = seg, local_tol
        # (a fixed grid, the tests' reference, is not accelerated)
        lag, previous = accelerate(lag, seg, local_tol, combine=not N)
        previous_tol = local_tol
        mode = lagged
    return _Solve(segments=(seg,), sweeps=max_sweeps, residual=residual, converged=False,
                  lagged=lagged)


def _resting_lag(system: _System, end: float) -> _fast.Lag:
    """The squared-gradient memory over [0, end] of theta resting at theta0, in closed form
    (its two-node interpolant is exact: the forcing c2 q is constant)."""
    model = system.model
    theta0 = np.asarray(model.theta0, dtype=float).ravel()
    g = model.objective.grad(theta0, model.objective.params) + 0.5 * model.l2 * theta0
    q = g * g if model.per_coordinate else np.array([g @ g])
    c2, d2 = model.c2, model.d2
    P_end = c2 * q * end if d2 == 0 else c2 * q * -math.expm1(-d2 * end) / d2
    return _fast.Lag(np.array([0.0, end]), np.vstack([np.zeros_like(q), P_end]),
                     np.vstack([c2 * q, c2 * q - d2 * P_end]), np.full((1, q.size), np.nan))


def _change(seg: Segment, previous: Segment, t_end: float, n: int) -> float:
    """max |theta| difference of two Picard sweeps over the nodes of ``seg`` in [0, t_end]."""
    inside = seg.X <= t_end
    return float(np.max(np.abs(seg.Y[inside, :n] - previous(seg.X[inside])[:, :n])))


def _difference(a: HermiteSolution, b: HermiteSolution, t_end: float) -> float:
    """The largest difference between two solutions over both's nodes in [0, t_end], t_end, and
    the midpoints between them: in theta, and in each moment (m, v or G) relative to its largest
    magnitude if that exceeds 1, so that the estimate covers every value a result reports."""
    nodes = np.union1d(a.t_nodes, b.t_nodes)
    nodes = np.union1d(nodes[nodes < t_end], [t_end])
    t = np.union1d(nodes, 0.5 * (nodes[1:] + nodes[:-1]))
    ya, yb = a.states(t), b.states(t)
    scale = np.maximum(1.0, np.max(np.abs(yb), axis=0))
    scale[:a.n] = 1.0
    return float(np.max(np.abs(ya - yb) / scale))


def _solve_fast(model: Model, t_end: float, tol: float, substeps: int | None,
                max_sweeps: int, max_nfev: int) -> ContinuousRun:
    """Solve twice, the second time finer, and estimate the error of the finer from the two.

    Without ``substeps`` the two solves take adaptive steps to the local tolerances 16 l and
    l = max(LOCAL tol, LOCAL_FLOOR) (fourth order: halves the steps); the error estimate is the
    largest difference (:func:`_difference`) over every node of both, t_end and the midpoints
    between them, divided by 15. Where it exceeds tol, the solve is repeated at a tolerance
    smaller by the factor r = 2 estimate / tol (at most 2000), at most ``REFINEMENTS`` times,
    and the estimate is then that difference divided by r - 1. A refinement that
    ``LOCAL_FLOOR`` would cap below r = 2 is not made: the estimate stays that of the last
    pair, and the result reports that it exceeds tol. With ``substeps=N`` the two are the grids
    alpha/(N/2) and alpha/N (fourth order: also 15).

    Work and memory are bounded: no step starts that could pass ``max_nfev`` gradient
    evaluations, and no solve keeps more than ``MAX_GRID_BYTES`` of nodes. Either way the
    result is the last solve that finished, with ``success=False``.
    """
    system = _System(model, max_nfev)
    picard_tol = tol / 100 if substeps else LOCAL * tol
    fine = max(LOCAL_FLOOR, LOCAL * tol)
    plans = ([{"N": substeps // 2}, {"N": substeps}] if substeps
             else [{"tol": 16 * fine}, {"tol": fine}])
    solves: list[tuple[_Solve, HermiteSolution, float]] = []
    estimate, stopped, status = np.inf, "", 0
    names = (model.memory_name, "m") if model.has_m else (model.memory_name,)
    lag, lagged = None, WINDOW
    while plans:
        plan = plans.pop(0)
        try:
            solve = _one_solve(system, t_end, lag=lag, lagged=lagged, picard_tol=picard_tol,
                               max_sweeps=max_sweeps, **plan)
        except _OutOfWork:
            stopped, status = (f"max_nfev = {max_nfev} gradient evaluations would be exceeded "
                               f"({system.nfev} used)"), -5
            break
        except _OutOfMemory:
            stopped, status = (f"the nodes would take more than {MAX_GRID_BYTES / 2**30:g} GiB"
                               ), -3
            break
        sol = HermiteSolution(segments=solve.segments, n=model.n, iv=system.iv, names=names,
                              t_end=t_end)
        solves.append((solve, sol, plan.get("tol", 0.0)))
        if model.shifted:
            lag, lagged = solve.segments[0].lag(system.iv), solve.lagged
        if not solve.converged:
            break
        if len(solves) >= 2:
            # errors in proportion to the local tolerance (a fixed grid's to h^4): the finer
            # solve's error is the difference over (ratio - 1), ratio >= 2 by construction
            ratio = 16.0 if substeps else solves[-2][2] / plan["tol"]
            estimate = _difference(sol, solves[-2][1], t_end) / (ratio - 1.0)
            if not substeps and estimate > tol and len(solves) < 2 + REFINEMENTS:
                finer = max(LOCAL_FLOOR, plan["tol"] * max(tol / estimate, 1e-3) / 2)
                if finer <= plan["tol"] / 2:  # else the floor leaves too small a ratio
                    plans.append({"tol": finer})
    message = "The solution converged."
    if solves:
        solve, sol, _ = solves[-1]
    else:  # theta is unknown: NaN everywhere
        seg = Segment(X=np.array([0.0, max(t_end, model.alpha)]),
                      Y=np.full((2, system.ny), np.nan), dY=np.full((2, system.ny), np.nan),
                      M=np.full((1, system.ny), np.nan),
                      sqrt_time=False, methods=np.zeros(1, dtype=np.int8), D=system.D)
        solve = _Solve(segments=(seg,), sweeps=0, residual=np.inf, converged=False)
        sol = HermiteSolution(segments=(seg,), n=model.n, iv=system.iv, names=names,
                              t_end=t_end)
    if status == -5:
        message = (f"Stopped at the work limit: {stopped}. " + (
            f"The result is the last solve that finished (estimated error {estimate:.3g})."
            if solves else "No solve finished: theta is NaN."))
    elif status:
        message = f"Estimated error {estimate:.3g} exceeds tol = {tol:.3g}: {stopped}."
    elif not solve.converged:
        status = -1
        message = (f"Picard iteration did not converge in {max_sweeps} sweeps "
                   f"(last change in theta {solve.residual:.3g}, needed {picard_tol:.3g}).")
    elif estimate > tol and not substeps:
        status = -3
        message = f"Estimated error {estimate:.3g} exceeds tol = {tol:.3g}."
        if solves[-1][2] < 2 * LOCAL_FLOOR:
            message += (f" The local tolerance is at its floor ({LOCAL_FLOOR:g}), below which "
                        f"the round-off of theta decides.")
    if system.newton_failures:
        message += (f" Newton's method failed in {system.newton_failures} stiff steps even at "
                    f"1/{2**_fast.HALVINGS} of the step; these were taken explicitly.")
    if status:
        warnings.warn(f"{model.algorithm}: {message}", ConvergenceWarning, stacklevel=4)
    out = sol(output_times(model.alpha, t_end))
    return ContinuousRun(
        t=out.t, theta=out.theta, **out.memory, algorithm=model.algorithm, alpha=model.alpha,
        params=model.params, method="fast", success=status == 0, status=status,
        message=message, nfev=system.nfev, sol=sol,
        iterations=sum(s.sweeps for s, _, _ in solves), residual=solve.residual,
        error_estimate=estimate, substeps=substeps or 0)
