"""Anderson acceleration of the Picard iteration of the shifted models (AdaGrad, RMSProp).

A Picard sweep maps the squared-gradient memory x it is given (its lag,
:class:`idebook._fast.Lag`) to the memory F(x) it makes. The iteration x -> F(x) converges
linearly, at the rate of the map's largest eigenvalue: measured on the paper's quadratic about
0.04 (AdaGrad) and 0.1 (RMSProp, beta = 0.9) but 0.3 to 0.6 with beta = 0, and 0.4 to 0.9 on
the playground's Rosenbrock runs. Anderson's method (type II, Walker & Ni 2011,
without damping) gives the next sweep, instead of F(x_k), the combination of the last
``depth`` + 1 memories

    x_next = F(x_k) - sum_j gamma_j (F(x_{j+1}) - F(x_j)),

gamma the least-squares solution of sum_j gamma_j (r_{j+1} - r_j) = r_k for the residuals
r_j = F(x_j) - x_j. For a linear map with one slow mode two sweeps determine that mode and the
combination removes it. The combination is linear in the memory's node values, slopes and
midpoint values, so it is again a lag.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ._fast import Lag, interpolate

if TYPE_CHECKING:
    from .continuous import Segment

DEPTH = 3  # memories combined: the last DEPTH + 1
# A combination this far from the plain sweep's (sum |gamma|) is extrapolation that the least
# squares cannot justify (nearly dependent residuals): the history is dropped instead.
MAX_GAMMA = 100.0
# The residual is weighted by 1 / (|P| + FLOOR max |P|): theta' depends on v through sqrt(v),
# so relative errors of the memory are what matters; FLOOR keeps P(0) = 0 from dominating.
FLOOR = 1e-3


class Anderson:
    """Acceleration of one Picard iteration: call it with each sweep's given lag and result.

    The history holds the last ``depth`` + 1 sweeps at one local tolerance, on the steps of the
    newest. Sweeps of one tolerance may take different steps (a followed sweep goes on
    adaptively where the nodes stop suiting it): the history is then taken onto the newest
    sweep's steps by its dense output (``idebook._fast.interpolate``), whose error is of the
    order of that tolerance.
    """

    def __init__(self, iv: int, depth: int = DEPTH) -> None:
        self.iv, self.depth = iv, depth
        self.reset()

    def reset(self) -> None:
        """Forget the history (the tolerance changed, or the iteration stopped contracting)."""
        self.tol = np.nan
        self.steps: Segment | None = None
        self.sweeps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.given: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __call__(self, given: Lag | None, sweep: Segment, tol: float, combine: bool = True
                 ) -> tuple[Lag, Segment]:
        """The lag of the next sweep, and the sweep its result is to be compared with.

        ``sweep`` was made from the lag ``given`` (None: from q frozen) with local tolerance
        ``tol``. Until two sweeps of that tolerance are known, or without ``combine``, the
        results are the ``sweep``'s own memory and the ``sweep``. Then the lag is the
        combination sum_i w_i F(x_i) of the sweeps' memories, and the sweep to compare with is
        the same combination of the sweeps: to first order the sweep from the lag
        sum_i w_i x_i, whose Picard step the next sweep takes. The change in theta then
        measures the iteration as it does without acceleration.
        """
        if given is None or tol != self.tol:
            self.reset()
            if given is None:
                return sweep.lag(self.iv), sweep
            self.tol = tol
        iv = self.iv
        if self.steps is not None and not _same_steps(self.steps, sweep):
            X, D = self.steps.X, self.steps.D
            self.sweeps = [_on_steps(X, *state, D, sweep) for state in self.sweeps]
            self.given = [_on_steps(X, *lag, D[iv:], sweep) for lag in self.given]
        self.steps = sweep
        self.sweeps.append((sweep.Y, sweep.dY, sweep.M))
        self.given.append(_on_steps(given.T, given.P, given.Pd, given.Pm, sweep.D[iv:], sweep))
        del self.sweeps[:-self.depth - 1], self.given[:-self.depth - 1]
        if len(self.sweeps) < 2 or not combine:
            return sweep.lag(iv), sweep
        # the residuals F(x_i) - x_i at the nodes, relative to the memory (FLOOR)
        P = np.abs(sweep.Y[:, iv:])
        weight = 1.0 / (P + FLOOR * P.max() + np.finfo(float).tiny)
        R = np.array([((Y[:, iv:] - x[0]) * weight).ravel()
                      for (Y, _, _), x in zip(self.sweeps, self.given, strict=True)]).T
        gamma = np.linalg.lstsq(np.diff(R, axis=1), R[:, -1], rcond=None)[0]
        if not np.all(np.isfinite(gamma)) or np.abs(gamma).sum() > MAX_GAMMA:
            self.reset()
            return sweep.lag(iv), sweep
        # F_k - sum_j gamma_j (F_{j+1} - F_j) = sum_i w_i F_i
        w = np.zeros(gamma.size + 1)
        w[1:] -= gamma
        w[:-1] += gamma
        w[-1] += 1.0
        Y, dY, M = (sum(wi * state[k] for wi, state in zip(w, self.sweeps, strict=True))
                    for k in range(3))
        combined = replace(sweep, Y=Y, dY=dY, M=M)
        return combined.lag(iv), combined


def _same_steps(a: Segment, b: Segment) -> bool:
    return (a.X.shape == b.X.shape and np.array_equal(a.X, b.X)
            and np.array_equal(np.isnan(a.M[:, 0]), np.isnan(b.M[:, 0])))


def _on_steps(X: np.ndarray, Y: np.ndarray, dY: np.ndarray, M: np.ndarray, D: np.ndarray,
              like: Segment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The interpolant (X, Y, dY, M) with decay rates D as node values, slopes and midpoint
    values on the steps of ``like`` (midpoints of its DOPRI steps, NaN after others)."""
    mids = ~np.isnan(like.M[:, 0])
    if (X.shape == like.X.shape and np.array_equal(X, like.X)
            and np.array_equal(np.isnan(M[:, 0]), mids)):
        return Y, dY, M
    values, slopes = np.empty((like.X.size, Y.shape[1])), np.empty((like.X.size, Y.shape[1]))
    interpolate(X, Y, dY, D, M, like.X, values, slopes)
    x = 0.5 * (like.X[:-1] + like.X[1:])[mids]
    middle = np.empty((x.size, Y.shape[1]))
    interpolate(X, Y, dY, D, M, x, middle, np.empty((0, Y.shape[1])))
    midpoints = np.full((like.X.size - 1, Y.shape[1]), np.nan)
    midpoints[mids] = middle
    return values, slopes, midpoints
