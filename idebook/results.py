"""Result objects: what a discrete run or a continuous solve returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class DivergenceError(FloatingPointError):
    """A run produced NaN or inf; ``where`` is the step k (discrete) or time t (continuous)."""

    def __init__(self, message: str, where: float) -> None:
        super().__init__(message)
        self.where = where


class ConvergenceWarning(RuntimeWarning):
    """An iterative solver stopped before reaching its tolerance."""


@dataclass(frozen=True)
class Trajectory:
    """Samples of an optimiser's state at times ``t`` (t = alpha k, Assumption 1).

    ``theta`` has shape (len(t), n). ``G`` (AdaGrad), ``v`` (RMSProp, Adam) and ``m`` (Adam) are
    the memory states, of shape (len(t), 1) for the paper's norm memory ||g||^2 and (len(t), n)
    per coordinate; a state the algorithm does not have is ``None``.
    """

    t: np.ndarray
    theta: np.ndarray
    G: np.ndarray | None = None
    v: np.ndarray | None = None
    m: np.ndarray | None = None

    @property
    def memory(self) -> dict[str, np.ndarray]:
        """The memory states this algorithm has, by name."""
        return {k: a for k, a in (("G", self.G), ("v", self.v), ("m", self.m)) if a is not None}


@dataclass(frozen=True)
class DiscreteRun(Trajectory):
    """Iterates theta_k, k = 0..steps, of Algorithm 1, 2 or 3, with the parameters used."""

    algorithm: str = ""
    alpha: float = 0.0
    params: dict = field(default_factory=dict)

    @property
    def k(self) -> np.ndarray:
        """The iteration counter k = t / alpha."""
        return np.arange(self.t.size)


@dataclass(frozen=True)
class ContinuousRun(Trajectory):
    """A solution of Proposition 1, 2 or 3 sampled at t = alpha k, with solver diagnostics.

    ``success``/``message`` say whether the fixed-point iteration converged, ``iterations`` is the
    number of sweeps, ``residual`` the achieved fixed-point error (fast method: the last sweep's
    max ``|change in theta|``; ``method="paper"``: Algorithm 4's sum of squared differences),
    ``error_estimate`` the estimated discretisation error of theta (max over the grid, from a
    step-halving comparison), ``substeps`` the number of time steps per alpha and ``nfev`` the
    gradient evaluations.
    Call :meth:`at` for the state at arbitrary times.
    """

    algorithm: str = ""
    alpha: float = 0.0
    params: dict = field(default_factory=dict)
    method: str = "fast"
    success: bool = True
    message: str = ""
    iterations: int = 0
    residual: float = 0.0
    error_estimate: float = float("nan")
    substeps: int = 0
    nfev: int = 0
    dense: object = field(default=None, repr=False)

    def at(self, t: float | np.ndarray) -> Trajectory:
        """The state at times ``t`` in [0, t_end] (dense output of the solver)."""
        if self.dense is None:
            raise ValueError("this result carries no dense output")
        return self.dense(np.atleast_1d(np.asarray(t, dtype=float)))
