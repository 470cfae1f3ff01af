"""The continuous models of the paper's Section 3, solved to a stated accuracy.

Same names and call shape as :mod:`idebook.discrete`, with ``t_end`` in place of ``steps``:

    adagrad  Proposition 1, eq. (3):  theta' = -g / (sqrt(G(t + alpha)) + eps)
    rmsprop  Proposition 2, eq. (4):  theta' = -g / (sqrt(v(t + alpha)) + eps)
    adam     Proposition 3, eq. (5):  theta' = -alpha(t) m / (sqrt(v) + eps(t))

(plus AdamW and AdamL2 through ``weight_decay`` and ``l2``). ``method="fast"`` (default) is the
solver of ``idebook._fast``, with the step refined until the estimated error in theta is below
``tol``; ``method="paper"`` is Algorithm 4 as the paper describes it (``idebook._paper``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import _fast
from . import _validation as check
from .model import Model, build, output_intervals, output_times
from .objectives import Objective
from .results import ContinuousRun, ConvergenceWarning, DivergenceError, Trajectory, check_times

MAX_SUBSTEPS = 512
MAX_NFEV = 10**8  # default work limit, see adagrad's max_nfev
MAX_GRID_BYTES = 2 * 2**30  # largest grid (the arrays Y and dY of _Grid) a solve allocates
LAYER = 16  # refinement of Adam's first window, see _Grid._initial_layer


def adagrad(objective: Objective | tuple, theta0, *, alpha: float, t_end: float,
            eps: float = 1e-8, per_coordinate: bool = False, method: str = "fast",
            tol: float = 1e-8, substeps: int | None = None, max_sweeps: int = 100,
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
        ``"fast"``: the solver of ``idebook._fast`` (Lawson-RK4 with exact memory decay,
        SDIRK4 where stiff, Picard sweeps for the shift t + alpha), refined until the estimated
        error in theta is below ``tol``. ``"paper"``: Algorithm 4 of the paper, Euler steps
        h = alpha with Picard iteration and smoothing (``idebook._paper``), an O(alpha)
        baseline that ignores ``tol`` and ``substeps``.
    tol : float
        Target for the estimated error of theta (max over the grid), > 0 (fast method). The
        Picard sweeps stop when theta changes by less than tol/100.
    substeps : int, optional
        A fixed number N of steps per alpha (even, >= 2) instead of the refinement to ``tol``;
        ``error_estimate`` is then the difference from N/2 steps divided by 15.
    max_sweeps : int
        Cap on the Picard sweeps per grid (fast) or on Algorithm 4's iterations (paper), >= 1.
    max_nfev : int
        Cap on the gradient evaluations of the fast method, >= 1; the default 10**8 is some
        30 s of work on one core (the paper's longest run, AdaGrad at alpha = 0.01 over 200k
        steps, needs 3.5e7). Each grid and each sweep is costed before it starts (about 4
        evaluations per step); one that would pass the cap is not started, and the solve
        returns the last grid it completed with ``success=False`` and ``status=-5``
        (:data:`idebook.results.STATUS`), or theta = NaN if it completed none. A stiff
        step costs more than the estimate, so ``nfev`` can pass the cap by a fraction of a
        sweep.

    Returns
    -------
    ContinuousRun
        theta and G at the output times, the diagnostics and the dense output ``sol``/``at``.

    Raises
    ------
    ValueError
        A parameter out of range (the message names it and its range), a gradient whose
        shape is not theta's, or a request whose first grid would take more than 2 GiB
        (``MAX_GRID_BYTES``; the message names alpha and t_end).
    TypeError
        A gradient returning None or something that is not an array of numbers.
    DivergenceError
        The solution became NaN or inf (``t`` is the time) on two successive grids.

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
            method: str = "fast", tol: float = 1e-8, substeps: int | None = None,
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
         weight_decay: float = 0.0, l2: float = 0.0, method: str = "fast", tol: float = 1e-8,
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
    N = 1 if method == "paper" else substeps // 2 if substeps else 4
    if _grid_bytes(model, n_windows, N) > MAX_GRID_BYTES:
        raise ValueError(
            f"alpha = {model.alpha:g} and t_end = {t_end:g} need a grid of {n_windows} "
            f"alpha-windows x {N} steps ({_grid_bytes(model, n_windows, N) / 2**30:.3g} GiB, "
            f"over the {MAX_GRID_BYTES / 2**30:g} GiB allowed): raise alpha or lower t_end")
    if method == "paper":
        from ._paper import solve_paper

        return solve_paper(model, t_end, max_iterations=max_sweeps)
    return _solve_fast(model, t_end, tol, substeps, max_sweeps, max_nfev)


def _windows(model: Model, t_end: float) -> int:
    """The alpha-windows the fast solver's grid spans: [0, t_end] and PAD more if shifted."""
    return max(output_intervals(model.alpha, t_end), 1) + (_fast.PAD if model.shifted else 0)


def _grid_bytes(model: Model, n_windows: int, N: int) -> float:
    """Memory of a grid of N steps per window: the arrays Y and dY of :class:`_Grid`."""
    state = (2 * model.n if model.has_m else model.n) + model.nm
    return 2.0 * 8 * (n_windows * N + 1) * state


def _sweep_cost(model: Model, n_windows: int, N: int) -> int:
    """Estimated gradient evaluations of one sweep (4 per step; Adam's first layer too)."""
    return _steps_cost(n_windows * N) + (_steps_cost(N * LAYER) if model.has_m else 0)


def _steps_cost(steps: int) -> int:
    """Estimated gradient evaluations of ``steps`` Lawson-RK4 steps: 4 each (stiff steps cost
    more, which is why ``nfev`` can pass ``max_nfev`` by a fraction of a sweep)."""
    return 4 * steps


class _Grid:
    """The system y = (theta, m, v) of :mod:`idebook._fast` on a grid of N steps per alpha."""

    def __init__(self, model: Model, n_windows: int, N: int) -> None:
        n, nm = model.n, model.nm
        self.model, self.N, self.n, self.nm = model, N, n, nm
        self.iv = 2 * n if model.has_m else n
        self.h = model.alpha / N
        self.Y = np.zeros((n_windows * N + 1, self.iv + nm))
        self.dY = np.zeros_like(self.Y)
        self.Y[0, :n] = model.theta0
        self.nfev = 0
        self.newton_retries = 0
        self.newton_failures = 0
        self.out_of_budget = False
        D = np.zeros(self.iv + nm)
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

    @property
    def theta(self) -> np.ndarray:
        return self.Y[:, :self.n]

    @property
    def memory(self) -> tuple[np.ndarray, np.ndarray]:
        """The squared-gradient memory and its derivative on the grid."""
        return self.Y[:, self.iv:], self.dY[:, self.iv:]

    def solve(self, P: np.ndarray | None, picard_tol: float, max_sweeps: int, max_nfev: int
              ) -> tuple[int, float, bool]:
        """Sweep to a fixed point; P is a starting memory on this grid (None: freeze q).

        Returns (sweeps, last change in theta, converged). No sweep starts whose estimated
        cost would take this grid's ``nfev`` past ``max_nfev``; ``self.out_of_budget`` then
        says that this, not ``max_sweeps``, ended the iteration.
        """
        model = self.model
        sweep = _fast.sweep if model.objective.jitted else _fast.plain_sweep
        args = (model.objective.grad, model.objective.params)
        if P is None:
            P = Pd = np.zeros((1, self.nm))
            mode = _fast.FROZEN if model.shifted else _fast.ADAM
        else:
            mode, (P, Pd) = _fast.LAGGED, P
        start = self._initial_layer(sweep, args) if model.has_m else 0
        previous, residual = None, np.inf
        cost = _steps_cost(self.Y.shape[0] - 1 - start)
        for sweeps in range(1, max_sweeps + 1):
            if self.nfev + cost > max_nfev:
                self.out_of_budget = True
                return sweeps - 1, residual, False
            bad, nfev, retried, failed = sweep(*args, self.Y, self.dY, self.N, self.h, self.D,
                                               self.coef, mode, P, Pd, start)
            self.nfev += nfev
            self.newton_retries, self.newton_failures = retried, failed
            if bad >= 0:
                _diverged(model, bad * self.h)
            if not model.shifted:
                return sweeps, 0.0, True
            if previous is not None:
                residual = float(np.max(np.abs(self.theta - previous)))
                if residual <= picard_tol:
                    return sweeps, residual, True
            previous = self.theta.copy()
            P, Pd = (a.copy() for a in self.memory)
            mode = _fast.LAGGED
        return max_sweeps, residual, False

    def _initial_layer(self, sweep, args) -> int:
        """Solve Adam's first window [0, alpha] on a grid LAYER times finer; return node N.

        The bias-corrected moments m / (1 - beta1^(t/alpha)) divide by a factor that vanishes at
        t = 0, which amplifies the stage errors of the first steps and costs one order of
        accuracy; the finer start removes that error.
        """
        layer = _Grid(self.model, 1, self.N * LAYER)
        bad, nfev, _, _ = sweep(*args, layer.Y, layer.dY, layer.N, layer.h, layer.D, layer.coef,
                                _fast.ADAM, np.zeros((1, self.nm)), np.zeros((1, self.nm)), 0)
        self.nfev += nfev
        if bad >= 0:
            _diverged(self.model, bad * layer.h)
        self.Y[: self.N + 1] = layer.Y[::LAYER]
        self.dY[: self.N + 1] = layer.dY[::LAYER]
        return self.N

    def refined_memory(self) -> tuple[np.ndarray, np.ndarray]:
        """This grid's memory carried to a grid of half the step (cubic Hermite midpoints)."""
        P, Pd = self.memory
        fine = np.empty((2 * P.shape[0] - 1, self.nm))
        dfine = np.empty_like(fine)
        fine[::2], dfine[::2] = P, Pd
        fine[1::2] = 0.5 * (P[:-1] + P[1:]) + self.h * (Pd[:-1] - Pd[1:]) / 8
        dfine[1::2] = 1.5 * (P[1:] - P[:-1]) / self.h - 0.25 * (Pd[:-1] + Pd[1:])
        return fine, dfine

    def solution(self, t_end: float) -> HermiteSolution:
        """The dense output of this grid on [0, t_end]."""
        names = (self.model.memory_name, "m") if self.model.has_m else (self.model.memory_name,)
        return HermiteSolution(h=self.h, Y=self.Y, dY=self.dY, n=self.n, iv=self.iv,
                               names=names, t_end=t_end)


@dataclass(frozen=True, kw_only=True, eq=False)
class HermiteSolution:
    """Dense output of the fast solver: grid values at nodes, cubic Hermite in between.

    Calling it with times t in [0, t_end] returns a :class:`~idebook.results.Trajectory`; it
    holds only arrays, so it pickles.
    """

    h: float
    Y: np.ndarray
    dY: np.ndarray
    n: int
    iv: int
    names: tuple[str, ...]
    t_end: float

    def __call__(self, t: float | np.ndarray) -> Trajectory:
        """theta and the memory states at times ``t`` (ValueError outside [0, t_end])."""
        t = check_times(t, 0.0, self.t_end)
        Y, dY, h = self.Y, self.dY, self.h
        x = t / h
        nearest = np.rint(x)
        on_node = np.abs(x - nearest) < 1e-9
        i = np.where(on_node, nearest, np.floor(x)).astype(np.int64)
        s = np.where(on_node, 0.0, x - i)
        last = i > Y.shape[0] - 2
        i, s = np.where(last, Y.shape[0] - 2, i), np.where(last, s + 1.0, s)
        s = s[:, None]
        h00, h10 = (1 + 2 * s) * (1 - s) ** 2, s * (1 - s) ** 2
        h01, h11 = s * s * (3 - 2 * s), s * s * (s - 1)
        y = h00 * Y[i] + h10 * h * dY[i] + h01 * Y[i + 1] + h11 * h * dY[i + 1]
        columns = {self.names[0]: y[:, self.iv:], "m": y[:, self.n:self.iv]}
        return Trajectory(t=t, theta=y[:, :self.n],
                          **{name: columns[name].copy() for name in self.names})


def _diverged(model: Model, t: float) -> None:
    raise DivergenceError(f"{model.algorithm}: the continuous solution became non-finite at "
                          f"t = {t:.6g} (alpha = {model.alpha})", t=t)


def _solve_fast(model: Model, t_end: float, tol: float, substeps: int | None,
                max_sweeps: int, max_nfev: int) -> ContinuousRun:
    """Solve on grids alpha/N, N doubling, until two successive grids agree to tol.

    A grid on which the solution blows up is refined too, unless the blow-up happens at the
    same time (within 10%) on two successive grids: a real divergence, reported with its time.

    Work and memory are bounded. A grid is started only if the sweeps it needs at least (two
    for the shifted models, whose first sweep freezes q; one for Adam), and on the first grid
    those of the next grid too, fit in what is left of ``max_nfev``; a sweep only if it fits.
    A refinement whose grid would take more than ``MAX_GRID_BYTES`` is not made. Either way
    the solve returns the last grid whose iteration converged, with ``success=False``.
    """
    t = output_times(model.alpha, t_end)
    n_windows = _windows(model, t_end)
    N = substeps // 2 if substeps else 4
    picard_tol = tol / 100
    least_sweeps = 2 if model.shifted else 1
    coarse, diverged_at, total_sweeps, nfev = None, None, 0, 0
    grid, estimate, residual, ok, stopped = None, np.inf, np.inf, True, ""
    coarse_residual = np.inf
    while True:
        if coarse is not None and _grid_bytes(model, n_windows, N) > MAX_GRID_BYTES:
            stopped = (f"the next grid, alpha/{N}, would take "
                       f"{_grid_bytes(model, n_windows, N) / 2**30:.3g} GiB (over the "
                       f"{MAX_GRID_BYTES / 2**30:g} GiB allowed)")
            grid, N, residual = coarse, coarse.N, coarse_residual
            break
        need = least_sweeps * _sweep_cost(model, n_windows, N)
        if coarse is None:  # and the next grid, for an error estimate
            need += least_sweeps * _sweep_cost(model, n_windows, 2 * N)
        if nfev + need > max_nfev:
            stopped = (f"max_nfev = {max_nfev} gradient evaluations would be exceeded: "
                       f"{nfev} used, at least {need} more needed on the grid alpha/{N}"
                       + (" and the next one" if coarse is None else ""))
            grid, residual = coarse, coarse_residual
            break
        grid = _Grid(model, n_windows, N)
        P = coarse.refined_memory() if coarse is not None and model.shifted else None
        try:
            sweeps, residual, ok = grid.solve(P, picard_tol, max_sweeps, max_nfev - nfev)
        except DivergenceError as err:
            nfev += grid.nfev
            again = diverged_at is not None and abs(err.t - diverged_at) <= 0.1 * diverged_at
            if (substeps or 2 * N > MAX_SUBSTEPS or again
                    or _grid_bytes(model, n_windows, 2 * N) > MAX_GRID_BYTES):
                raise
            coarse, diverged_at, N = None, err.t, 2 * N
            continue
        total_sweeps += sweeps
        nfev += grid.nfev
        if grid.out_of_budget:
            stopped = (f"max_nfev = {max_nfev} gradient evaluations would be exceeded by "
                       f"another sweep on the grid alpha/{N} ({nfev} used)")
            if coarse is not None or sweeps == 0:
                grid, residual = coarse, coarse_residual
            break
        if coarse is not None:
            last = (t.size - 1) * coarse.N
            estimate = float(np.max(np.abs(grid.theta[: 2 * last + 1: 2]
                                           - coarse.theta[: last + 1])))
            estimate /= 15.0  # Richardson: the error of the finer of two fourth-order solutions
            if substeps or estimate <= tol or 2 * N > MAX_SUBSTEPS or not ok:
                break
        elif not ok:
            estimate = np.inf
            break
        coarse, coarse_residual, N = grid, residual, 2 * N
    status, message = 0, "The solution converged."
    solved = grid is not None
    if not solved:  # theta is unknown
        grid = _Grid(model, n_windows, N)
        grid.Y[1:] = grid.dY[:] = np.nan
    if stopped.startswith("max_nfev"):
        status = -5
        message = (f"Stopped at the work limit: {stopped}. "
                   + (f"The result is the grid alpha/{grid.N} (estimated error {estimate:.3g}, "
                      f"last Picard change {residual:.3g})." if solved
                      else "No grid was solved: theta is NaN."))
    elif stopped:
        status = -3
        message = (f"Estimated error {estimate:.3g} exceeds tol = {tol:.3g} at the step "
                   f"alpha/{N}: {stopped}.")
    elif not ok:
        status = -1
        message = (f"Picard iteration did not converge in {max_sweeps} sweeps "
                   f"(last change in theta {residual:.3g}, needed {picard_tol:.3g}).")
    elif estimate > tol and not substeps:
        status = -3
        message = (f"Estimated error {estimate:.3g} exceeds tol = {tol:.3g} at the finest step "
                   f"alpha/{N}.")
    if grid.newton_retries:
        message += (f" Newton's method failed in {grid.newton_retries} stiff steps, which were "
                    f"retried as 2 to {2**_fast.HALVINGS} SDIRK steps.")
    if grid.newton_failures:
        message += (f" Newton's method failed in {grid.newton_failures} stiff steps even at "
                    f"1/{2**_fast.HALVINGS} of the step; these were taken explicitly.")
    if status:
        warnings.warn(f"{model.algorithm}: {message}", ConvergenceWarning, stacklevel=4)
    sol = grid.solution(t_end)
    out = sol(t)
    return ContinuousRun(
        t=out.t, theta=out.theta, **out.memory, algorithm=model.algorithm, alpha=model.alpha,
        params=model.params, method="fast", success=status == 0, status=status,
        message=message, nfev=nfev, sol=sol, iterations=total_sweeps, residual=residual,
        error_estimate=estimate, substeps=grid.N)
