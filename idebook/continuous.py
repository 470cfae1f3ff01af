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

import numpy as np

from . import _fast
from . import _validation as check
from .memory import Spec
from .objectives import Objective, as_objective
from .results import ContinuousRun, ConvergenceWarning, DivergenceError, Trajectory

MAX_SUBSTEPS = 512
LAYER = 16  # refinement of Adam's first window, see _Grid._initial_layer


def adagrad(objective: Objective | tuple, theta0, *, alpha: float, t_end: float,
            eps: float = 1e-8, per_coordinate: bool = False, method: str = "fast",
            tol: float = 1e-8, substeps: int | None = None, max_sweeps: int = 100
            ) -> ContinuousRun:
    """Proposition 1: theta' = -g / (sqrt(G(t + alpha)) + eps), G(t) = (1/alpha) int_0^t ||g||^2."""
    spec = _spec("adagrad", objective, theta0, alpha, eps, per_coordinate)
    return _solve(spec, t_end, method, tol, substeps, max_sweeps)


def rmsprop(objective: Objective | tuple, theta0, *, alpha: float, beta: float = 0.9,
            t_end: float, eps: float = 1e-8, per_coordinate: bool = False,
            method: str = "fast", tol: float = 1e-8, substeps: int | None = None,
            max_sweeps: int = 100) -> ContinuousRun:
    """Proposition 2: theta' = -g / (sqrt(v(t + alpha)) + eps), v = K_RP * ||g||^2."""
    beta = check.unit_interval("beta", beta)
    spec = _spec("rmsprop", objective, theta0, alpha, eps, per_coordinate, beta2=beta)
    return _solve(spec, t_end, method, tol, substeps, max_sweeps)


def adam(objective: Objective | tuple, theta0, *, alpha: float, beta1: float = 0.9,
         beta2: float = 0.999, t_end: float, eps: float = 1e-8, per_coordinate: bool = False,
         weight_decay: float = 0.0, l2: float = 0.0, method: str = "fast", tol: float = 1e-8,
         substeps: int | None = None, max_sweeps: int = 100) -> ContinuousRun:
    """Proposition 3: theta' = -alpha(t) m / (sqrt(v) + eps(t)), eq. (5)-(6).

    ``weight_decay`` = w adds -(w/alpha) theta (AdamW); ``l2`` = lambda adds (lambda/2) theta to
    the gradient (AdamL2).
    """
    beta1 = check.unit_interval("beta1", beta1)
    beta2 = check.unit_interval("beta2", beta2)
    w = check.unit_interval("weight_decay", weight_decay)
    spec = _spec("adam", objective, theta0, alpha, eps, per_coordinate, beta1=beta1, beta2=beta2,
                 weight_decay=w, l2=check.nonnegative("l2", l2))
    return _solve(spec, t_end, method, tol, substeps, max_sweeps)


def _spec(algorithm: str, objective, theta0, alpha, eps, per_coordinate, **params) -> Spec:
    objective = as_objective(objective)
    return Spec(algorithm, objective, check.theta0_vector(theta0, objective.dim),
                check.positive("alpha", alpha), eps=check.nonnegative("eps", eps),
                per_coordinate=bool(per_coordinate), **params)


def _solve(spec: Spec, t_end: float, method: str, tol: float, substeps: int | None,
           max_sweeps: int) -> ContinuousRun:
    t_end = check.nonnegative("t_end", t_end)
    tol = check.positive("tol", tol)
    if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, int) or max_sweeps < 1:
        raise ValueError(f"max_sweeps must be an integer >= 1, got {max_sweeps!r}")
    if substeps is not None and (isinstance(substeps, bool) or not isinstance(substeps, int)
                                 or substeps < 2 or substeps % 2):
        raise ValueError(f"substeps must be an even integer >= 2, got {substeps!r}")
    if method == "paper":
        from ._paper import solve_paper

        return solve_paper(spec, t_end, max_iterations=max_sweeps)
    if method != "fast":
        raise ValueError(f"method must be 'fast' or 'paper', got {method!r}")
    return _solve_fast(spec, t_end, tol, substeps, max_sweeps)


class _Grid:
    """The system y = (theta, m, v) of :mod:`idebook._fast` on a grid of N steps per alpha."""

    def __init__(self, spec: Spec, n_windows: int, N: int) -> None:
        n = spec.theta0.size
        nm = n if spec.per_coordinate else 1
        self.spec, self.N, self.n, self.nm = spec, N, n, nm
        self.iv = 2 * n if spec.has_m else n
        self.h = spec.alpha / N
        self.Y = np.zeros((n_windows * N + 1, self.iv + nm))
        self.dY = np.zeros_like(self.Y)
        self.Y[0, :n] = spec.theta0
        self.nfev = 0
        self.newton_failures = 0
        D = np.zeros(self.iv + nm)
        D[:n] = spec.weight_decay / spec.alpha
        D[n:self.iv] = spec.c1
        D[self.iv:] = spec.d2
        self.D = D
        ea = math.exp(-spec.d2 * spec.alpha)
        w0 = spec.c2 * spec.alpha if spec.d2 == 0 else spec.c2 * (1 - ea) / spec.d2
        lnb = [-np.inf if b == 0 else math.log(b) for b in (spec.beta1, spec.beta2)]
        self.fp = np.array([spec.alpha, spec.c1, spec.c2, spec.d2, ea, w0, lnb[0], lnb[1],
                            spec.eps, spec.l2])
        self.ip = np.array([n, nm, int(spec.has_m), int(spec.per_coordinate),
                            1 if spec.shifted else 0], dtype=np.int64)

    @property
    def theta(self) -> np.ndarray:
        return self.Y[:, :self.n]

    @property
    def memory(self) -> tuple[np.ndarray, np.ndarray]:
        """The squared-gradient memory and its derivative on the grid."""
        return self.Y[:, self.iv:], self.dY[:, self.iv:]

    def solve(self, P: np.ndarray | None, picard_tol: float, max_sweeps: int
              ) -> tuple[int, float, bool]:
        """Sweep to a fixed point; P is a starting memory on this grid (None: freeze q)."""
        spec = self.spec
        sweep = _fast.sweep if spec.objective.jitted else _fast.plain_sweep
        args = (spec.objective.grad, spec.objective.params)
        if P is None:
            P = Pd = np.zeros((1, self.nm))
        else:
            self.ip[_fast.I_MODE], (P, Pd) = 2, P
        start = self._initial_layer(sweep, args) if spec.has_m else 0
        previous, residual = None, np.inf
        for sweeps in range(1, max_sweeps + 1):
            bad, nfev, failed = sweep(*args, self.Y, self.dY, self.N, self.h, self.D, self.ip,
                                      self.fp, P, Pd, start)
            self.nfev += nfev
            self.newton_failures = failed
            if bad >= 0:
                raise DivergenceError(
                    f"{spec.algorithm}: the continuous solution became non-finite at t = "
                    f"{bad * self.h:.6g} (alpha = {spec.alpha})", bad * self.h)
            if not spec.shifted:
                return sweeps, 0.0, True
            if previous is not None:
                residual = float(np.max(np.abs(self.theta - previous)))
                if residual <= picard_tol:
                    return sweeps, residual, True
            previous = self.theta.copy()
            P, Pd = (a.copy() for a in self.memory)
            self.ip[_fast.I_MODE] = 2
        return max_sweeps, residual, False

    def _initial_layer(self, sweep, args) -> int:
        """Solve Adam's first window [0, alpha] on a grid LAYER times finer; return node N.

        The bias-corrected moments m / (1 - beta1^(t/alpha)) divide by a factor that vanishes at
        t = 0, which amplifies the stage errors of the first steps and costs one order of
        accuracy; the finer start removes that error.
        """
        layer = _Grid(self.spec, 1, self.N * LAYER)
        bad, nfev, _ = sweep(*args, layer.Y, layer.dY, layer.N, layer.h, layer.D, layer.ip,
                             layer.fp, np.zeros((1, self.nm)), np.zeros((1, self.nm)), 0)
        self.nfev += nfev
        if bad >= 0:
            raise DivergenceError(
                f"adam: the continuous solution became non-finite at t = {bad * layer.h:.6g} "
                f"(alpha = {self.spec.alpha})", bad * layer.h)
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

    def rows(self, t: np.ndarray) -> np.ndarray:
        """The full state y at times t: grid values at nodes, cubic Hermite in between."""
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
        return h00 * Y[i] + h10 * h * dY[i] + h01 * Y[i + 1] + h11 * h * dY[i + 1]

    def trajectory(self, t: np.ndarray) -> Trajectory:
        """theta and the memory states at times t."""
        y = self.rows(t)
        return Trajectory(t, y[:, :self.n], **_states(self.spec, y, self.n, self.iv))


def _states(spec: Spec, y: np.ndarray, n: int, iv: int) -> dict[str, np.ndarray]:
    states = {spec.memory_name: y[:, iv:].copy()}
    if spec.has_m:
        states["m"] = y[:, n:iv].copy()
    return states


def _solve_fast(spec: Spec, t_end: float, tol: float, substeps: int | None,
                max_sweeps: int) -> ContinuousRun:
    """Solve on grids alpha/N, N doubling, until two successive grids agree to tol.

    A grid on which the solution blows up is refined too, unless the blow-up happens at the
    same time (within 10%) on two successive grids: a real divergence, reported with its time.
    """
    n_out = math.ceil(t_end / spec.alpha - 1e-9)
    n_windows = max(n_out, 1) + (_fast.PAD if spec.shifted else 0)
    N = substeps // 2 if substeps else 4
    picard_tol = tol / 100
    coarse, diverged_at, total_sweeps, nfev = None, None, 0, 0
    while True:
        grid = _Grid(spec, n_windows, N)
        P = coarse.refined_memory() if coarse is not None and spec.shifted else None
        try:
            sweeps, residual, ok = grid.solve(P, picard_tol, max_sweeps)
        except DivergenceError as err:
            again = diverged_at is not None and abs(err.where - diverged_at) <= 0.1 * diverged_at
            if substeps or 2 * N > MAX_SUBSTEPS or again:
                raise
            coarse, diverged_at, N = None, err.where, 2 * N
            continue
        total_sweeps += sweeps
        nfev += grid.nfev
        if coarse is not None:
            last = n_out * coarse.N
            estimate = float(np.max(np.abs(grid.theta[: 2 * last + 1: 2]
                                           - coarse.theta[: last + 1])))
            estimate /= 15.0  # Richardson: the error of the finer of two fourth-order solutions
            if substeps or estimate <= tol or 2 * N > MAX_SUBSTEPS or not ok:
                break
        elif not ok:
            estimate = np.inf
            break
        coarse, N = grid, 2 * N
    message = "The solution converged."
    if not ok:
        message = (f"Picard iteration did not converge in {max_sweeps} sweeps "
                   f"(last change in theta {residual:.3g}, needed {picard_tol:.3g}).")
    elif estimate > tol and not substeps:
        ok = False
        message = (f"Estimated error {estimate:.3g} exceeds tol = {tol:.3g} at the finest step "
                   f"alpha/{N}.")
    if grid.newton_failures:
        message += (f" Newton's method failed in {grid.newton_failures} stiff steps, which were "
                    "taken explicitly.")
    if not ok:
        warnings.warn(f"{spec.algorithm}: {message}", ConvergenceWarning, stacklevel=4)
    t = spec.alpha * np.arange(math.floor(t_end / spec.alpha + 1e-9) + 1)
    if t[-1] < t_end:
        t = np.append(t, t_end)
    out = grid.trajectory(t)

    def at(times: np.ndarray) -> Trajectory:
        if np.any(times < 0) or np.any(times > t_end * (1 + 1e-12)):
            raise ValueError(f"t must lie in [0, t_end] = [0, {t_end}]")
        return grid.trajectory(times)

    return ContinuousRun(
        out.t, out.theta, out.G, out.v, out.m, algorithm=spec.algorithm,
        alpha=spec.alpha, params=spec.params, method="fast", success=ok, message=message,
        iterations=total_sweeps, residual=residual, error_estimate=estimate, substeps=N,
        nfev=nfev, dense=at)
