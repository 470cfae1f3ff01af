"""Objective functions f: R^n -> R with their gradients.

An :class:`Objective` carries ``value(theta)`` and ``grad(theta, *grad_args)``. When ``grad`` is a
numba-jitted function the optimisation loops are compiled around it and run at full speed; a plain
Python gradient works too, through the same loop run by the interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numba.core.registry import CPUDispatcher


@dataclass(frozen=True)
class Objective:
    """f(theta) and its gradient g(theta) = grad(theta, *grad_args), theta of shape (n,)."""

    value: Callable[[np.ndarray], float]
    grad: Callable[..., np.ndarray]
    grad_args: tuple = ()
    dim: int | None = None
    minimizer: np.ndarray | None = None
    name: str = "f"

    @property
    def jitted(self) -> bool:
        """True when ``grad`` is compiled by numba, so the loops can be compiled around it."""
        return isinstance(self.grad, CPUDispatcher)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """g(theta) as a float array of the same shape as theta."""
        theta = np.asarray(theta, dtype=float)
        return np.asarray(self.grad(theta, *self.grad_args), dtype=float).reshape(theta.shape)

    def __call__(self, theta: np.ndarray) -> float:
        return float(self.value(np.asarray(theta, dtype=float)))


@numba.njit(cache=True)
def _quadratic_grad(theta: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """g = 2 (A theta - b), the gradient of theta^T A theta - 2 b^T theta + const."""
    n = theta.shape[0]
    g = np.empty(n)
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += A[i, j] * theta[j]
        g[i] = 2.0 * (s - b[i])
    return g


def quadratic(center: float | np.ndarray = 4.0, curvature: np.ndarray | None = None) -> Objective:
    """f(theta) = (theta - c)^T A (theta - c); the paper's f = (theta - 4)^2 by default.

    ``curvature`` is the symmetric positive semi-definite matrix A (identity when omitted), so
    f = ||theta - c||^2 and g = 2 (theta - c).
    """
    c = np.atleast_1d(np.asarray(center, dtype=float))
    if c.ndim != 1 or not np.all(np.isfinite(c)):
        raise ValueError(f"center must be a finite scalar or 1-D array, got {center!r}")
    n = c.size
    A = np.eye(n) if curvature is None else np.asarray(curvature, dtype=float)
    if A.shape != (n, n):
        raise ValueError(f"curvature must have shape ({n}, {n}), got {A.shape}")
    if not np.all(np.isfinite(A)) or not np.allclose(A, A.T):
        raise ValueError("curvature must be a finite symmetric matrix")
    A = np.ascontiguousarray(A)

    def value(theta: np.ndarray) -> float:
        d = theta - c
        return float(d @ A @ d)

    label = f"(theta - {c[0]:g})^2" if n == 1 and curvature is None else "quadratic"
    return Objective(value, _quadratic_grad, (A, A @ c), n, c.copy(), label)


def paper_regression_data(n_samples: int = 1000, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Appendix B data: x ~ U[0, 1), y = 2x + N(0, 0.1^2), NumPy legacy seed 42 (rand, normal)."""
    rng = np.random.RandomState(seed)
    x = rng.rand(n_samples)
    y = 2.0 * x + rng.normal(0.0, 0.1, n_samples)
    return x, y


def mse_line(x: np.ndarray, y: np.ndarray) -> Objective:
    """Mean squared error of the model y = X theta: f(theta) = mean((y - X theta)^2).

    A 1-D ``x`` gives the paper's one-parameter line y = theta x (Appendix B). The gradient
    g = 2 (A theta - b) with A = X^T X / N and b = X^T y / N is exact, so the loss is a quadratic.
    """
    X = np.asarray(x, dtype=float)
    X = X.reshape(-1, 1) if X.ndim == 1 else X
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] == 0:
        raise ValueError(f"x and y must hold the same number of samples, got shapes {X.shape} "
                         f"and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    N = X.shape[0]
    A = np.ascontiguousarray(X.T @ X / N)
    b = X.T @ y / N

    def value(theta: np.ndarray) -> float:
        r = y - X @ theta
        return float(np.mean(r * r))

    return Objective(value, _quadratic_grad, (A, b), X.shape[1], np.linalg.lstsq(X, y)[0], "MSE")


def from_functions(
    value: Callable[[np.ndarray], float],
    grad: Callable[..., np.ndarray],
    *,
    grad_args: tuple = (),
    dim: int | None = None,
    minimizer: np.ndarray | None = None,
    name: str = "f",
) -> Objective:
    """Wrap a user objective given as (value, grad).

    ``grad(theta, *grad_args)`` must return an array of theta's shape. A numba-jitted ``grad`` runs
    inside compiled loops; a plain Python one is wrapped so that scalars and lists are accepted.
    """
    if not callable(value) or not callable(grad):
        raise ValueError("value and grad must be callables")
    if not isinstance(grad, CPUDispatcher):
        user_grad = grad

        def grad(theta: np.ndarray, *args: object) -> np.ndarray:
            return np.asarray(user_grad(theta, *args), dtype=np.float64).reshape(theta.shape)

    return Objective(value, grad, tuple(grad_args), dim, minimizer, name)


def as_objective(objective: Objective | tuple) -> Objective:
    """Accept an :class:`Objective` or a ``(value, grad)`` pair."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, tuple) and len(objective) == 2:
        return from_functions(*objective)
    raise ValueError(f"objective must be an Objective or a (value, grad) pair, got {objective!r}")
