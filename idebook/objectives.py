"""Objective functions f: R^n -> R with their gradients.

An :class:`Objective` carries ``value(theta)`` and ``grad(theta, params)``. When ``grad`` is
numba-jitted, the compiled optimisation loops call it at full speed; a plain Python gradient
works too, through the same loops run by the interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numba.core.errors import TypingError
from numba.core.registry import CPUDispatcher

from ._jit import GRAD_SIGNATURE
from ._validation import gradient_array


@dataclass(frozen=True)
class Objective:
    """f(theta) and its gradient g(theta) = grad(theta, params), theta of shape (n,).

    Attributes
    ----------
    value : collections.abc.Callable
        theta -> f(theta), a float.
    grad : collections.abc.Callable
        ``grad(theta, params) -> array`` with float64 arrays; jitted by numba for the compiled
        loops (signature ``float64[::1](float64[::1], float64[::1])``), or plain Python.
    params : numpy.ndarray
        A flat float array of the objective's data (for a quadratic, A and b).
    dim : int or None
        The dimension n, when the objective fixes it.
    minimizer : numpy.ndarray or None
        theta*, when known.
    name : str
        A label for tables and figures.
    """

    value: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    params: np.ndarray
    dim: int | None = None
    minimizer: np.ndarray | None = None
    name: str = "f"

    @property
    def jitted(self) -> bool:
        """True when ``grad`` is compiled by numba, so the compiled loops can call it."""
        return isinstance(self.grad, CPUDispatcher)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """g(theta) as a float array of the same shape as theta."""
        theta = np.ascontiguousarray(theta, dtype=float)
        return np.asarray(self.grad(theta, self.params), dtype=float).reshape(theta.shape)

    def __call__(self, theta: np.ndarray) -> float:
        return float(self.value(np.asarray(theta, dtype=float)))


@numba.njit(GRAD_SIGNATURE, cache=True)
def _quadratic_grad(theta: np.ndarray, params: np.ndarray) -> np.ndarray:
    """g = 2 (A theta - b), the gradient of theta^T A theta - 2 b^T theta + const.

    ``params`` holds A (row-major, n*n entries) followed by b (n entries).
    """
    n = theta.shape[0]
    g = np.empty(n)
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += params[i * n + j] * theta[j]
        g[i] = 2.0 * (s - params[n * n + i])
    return g


def _quadratic_params(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([A.ravel(), b]), dtype=np.float64)


def quadratic(center: float | np.ndarray = 4.0, curvature: np.ndarray | None = None) -> Objective:
    """f(theta) = (theta - c)^T A (theta - c); the paper's f = (theta - 4)^2 by default.

    Parameters
    ----------
    center : float or numpy.ndarray
        The minimiser c (the paper's test problem: 4).
    curvature : numpy.ndarray, optional
        The symmetric positive semi-definite matrix A (identity when omitted, so
        f = ||theta - c||^2 and g = 2 (theta - c)).

    Returns
    -------
    Objective
        With the jitted gradient g = 2 A (theta - c) and ``minimizer`` c.

    Raises
    ------
    ValueError
        A non-finite center, or a curvature of the wrong shape, not symmetric or not positive
        semi-definite.

    References
    ----------
    Heredia (2024), Section 5 (f = (theta - 4)^2).
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
    if np.linalg.eigvalsh(A).min() < -1e-12 * max(1.0, np.abs(A).max()):
        raise ValueError("curvature must be positive semi-definite")

    def value(theta: np.ndarray) -> float:
        d = theta - c
        return float(d @ A @ d)

    label = f"(theta - {c[0]:g})^2" if n == 1 and curvature is None else "quadratic"
    return Objective(value, _quadratic_grad, _quadratic_params(A, A @ c), n, c.copy(), label)


def paper_regression_data(n_samples: int = 1000, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """The data of the paper's Appendix B: x ~ U[0, 1), y = 2x + N(0, 0.1^2).

    Parameters
    ----------
    n_samples : int
        Number of samples.
    seed : int
        NumPy legacy seed (``RandomState``; rand, then normal), 42 in the paper.

    Returns
    -------
    tuple of numpy.ndarray
        (x, y), each of shape (n_samples,).

    References
    ----------
    Heredia (2024), Appendix B.
    """
    rng = np.random.RandomState(seed)
    x = rng.rand(n_samples)
    y = 2.0 * x + rng.normal(0.0, 0.1, n_samples)
    return x, y


def mse_line(x: np.ndarray, y: np.ndarray) -> Objective:
    """Mean squared error of the model y = X theta: f(theta) = mean((y - X theta)^2).

    A 1-D ``x`` gives the paper's one-parameter line y = theta x (Appendix B). The gradient
    g = 2 (A theta - b) with A = X^T X / N and b = X^T y / N is exact, so the loss is a quadratic.

    Parameters
    ----------
    x : numpy.ndarray
        Inputs, shape (N,) or (N, n).
    y : numpy.ndarray
        Targets, shape (N,).

    Returns
    -------
    Objective
        With ``minimizer`` the least-squares solution.

    Raises
    ------
    ValueError
        Mismatched shapes or non-finite data.

    References
    ----------
    Heredia (2024), Appendix B.
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
    A, b = X.T @ X / N, X.T @ y / N

    def value(theta: np.ndarray) -> float:
        r = y - X @ theta
        return float(np.mean(r * r))

    minimizer = np.linalg.lstsq(X, y)[0]
    return Objective(value, _quadratic_grad, _quadratic_params(A, b), X.shape[1], minimizer, "MSE")


def from_functions(
    value: Callable[[np.ndarray], float],
    grad: Callable[..., np.ndarray],
    *,
    params: np.ndarray | None = None,
    dim: int | None = None,
    minimizer: np.ndarray | None = None,
    name: str = "f",
) -> Objective:
    """Wrap a user objective given as (value, grad).

    A numba-jitted ``grad`` runs inside the compiled loops at full speed; a plain Python one
    works through the interpreted twins of the loops, and may return a scalar or a list.

    Parameters
    ----------
    value : collections.abc.Callable
        theta -> f(theta).
    grad : collections.abc.Callable
        ``grad(theta)`` returning an array of theta's shape (``grad(theta, params)`` when
        ``params`` is given).
    params : numpy.ndarray, optional
        Data passed to ``grad``.
    dim : int, optional
        The dimension n, checked against theta0.
    minimizer : numpy.ndarray, optional
        theta*, when known.
    name : str
        A label.

    Returns
    -------
    Objective
        With ``grad(theta, params)`` compiled for the loops when ``grad`` is jitted.

    Raises
    ------
    ValueError
        ``value`` or ``grad`` not callable, or a jitted ``grad`` that numba cannot compile as
        ``grad(theta: float64[::1]) -> float64[::1]`` (for example one that returns a scalar).
    TypeError
        Later, when the wrapped Python ``grad`` returns None or non-numbers.
    """
    if not callable(value) or not callable(grad):
        raise ValueError("value and grad must be callables")
    p = np.zeros(0) if params is None else np.ascontiguousarray(params, dtype=np.float64).ravel()
    user = grad
    if isinstance(user, CPUDispatcher):
        source = (lambda theta, params: user(theta)) if params is None else user.py_func
        try:
            grad = numba.njit(GRAD_SIGNATURE)(source)
        except TypingError:
            raise ValueError(
                "grad must compile as grad(theta: float64[::1]) -> float64[::1] (with params: "
                "grad(theta, params) -> float64[::1]), an array of theta's shape; numba could "
                "not type it so (does it return a scalar?)") from None
    elif params is None:
        def grad(theta: np.ndarray, params: np.ndarray) -> np.ndarray:
            return gradient_array(user(theta), theta.shape)
    else:
        def grad(theta: np.ndarray, params: np.ndarray) -> np.ndarray:
            return gradient_array(user(theta, params), theta.shape)

    return Objective(value, grad, p, dim, minimizer, name)


def as_objective(objective: Objective | tuple) -> Objective:
    """Accept an :class:`Objective` or a ``(value, grad)`` pair.

    Parameters
    ----------
    objective : Objective or tuple
        An objective, or (value, grad) for :func:`from_functions`.

    Returns
    -------
    Objective
        ``objective`` itself, or the pair wrapped.

    Raises
    ------
    ValueError
        Anything else.
    """
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, tuple) and len(objective) == 2:
        return from_functions(*objective)
    raise ValueError(f"objective must be an Objective or a (value, grad) pair, got {objective!r}")


@numba.njit(GRAD_SIGNATURE, cache=True)
def _rosenbrock_grad(theta: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Gradient of (a - x)^2 + b (y - x^2)^2 with params = (a, b)."""
    a, b = params[0], params[1]
    x, y = theta[0], theta[1]
    g = np.empty(2)
    g[0] = -2.0 * (a - x) - 4.0 * b * x * (y - x * x)
    g[1] = 2.0 * b * (y - x * x)
    return g


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    """Rosenbrock's valley f(x, y) = (a - x)^2 + b (y - x^2)^2, minimum 0 at (a, a^2).

    Parameters
    ----------
    a, b : float
        The parameters, finite, with b > 0.

    Returns
    -------
    Objective
        Two-dimensional, with a jitted gradient.

    Raises
    ------
    ValueError
        b <= 0 or a non-finite parameter.
    """
    if not (np.isfinite(a) and np.isfinite(b) and b > 0):
        raise ValueError(f"b must be > 0 and a, b finite, got a={a!r}, b={b!r}")

    def value(theta: np.ndarray) -> float:
        x, y = theta
        return float((a - x) ** 2 + b * (y - x * x) ** 2)

    return Objective(value, _rosenbrock_grad, np.array([a, b], dtype=float), 2,
                     np.array([a, a * a]), "Rosenbrock")


@numba.njit(GRAD_SIGNATURE, cache=True)
def _logistic_grad(theta: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Gradient of mean log(1 + exp(-y_i x_i . theta)) + (reg/2)||theta||^2.

    ``params`` = (reg, X row-major (N x n), labels y in {-1, +1}).
    """
    n = theta.shape[0]
    reg = params[0]
    N = (params.shape[0] - 1) // (n + 1)
    g = np.zeros(n)
    for i in range(N):
        row = 1 + i * n
        y = params[1 + N * n + i]
        z = 0.0
        for j in range(n):
            z += params[row + j] * theta[j]
        yz = y * z
        # d/dz log(1 + exp(-yz)) = -y sigma(-yz), computed without overflow
        s = 1.0 / (1.0 + np.exp(yz)) if yz > -30.0 else 1.0 - np.exp(yz)
        for j in range(n):
            g[j] -= y * s * params[row + j] / N
    for j in range(n):
        g[j] += reg * theta[j]
    return g


def logistic(X: np.ndarray, y: np.ndarray, reg: float = 0.0) -> Objective:
    """Logistic regression loss mean_i log(1 + exp(-y_i x_i . theta)) + (reg/2)||theta||^2.

    Parameters
    ----------
    X : numpy.ndarray
        Features, shape (N, n); add a column of ones for an intercept.
    y : numpy.ndarray
        Labels in {-1, +1}, shape (N,).
    reg : float
        Ridge penalty, >= 0.

    Returns
    -------
    Objective
        With a jitted, overflow-free gradient; ``minimizer`` is None.

    Raises
    ------
    ValueError
        Mismatched shapes, labels other than -1 and +1, or reg < 0.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] == 0:
        raise ValueError(f"X must be (N, n) and y (N,), got shapes {X.shape} and {y.shape}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("y must hold labels -1 and +1")
    if not (np.isfinite(reg) and reg >= 0):
        raise ValueError(f"reg must be >= 0, got {reg!r}")

    def value(theta: np.ndarray) -> float:
        return float(np.mean(np.logaddexp(0.0, -y * (X @ theta))) + 0.5 * reg * theta @ theta)

    params = np.concatenate([[reg], X.ravel(), y])
    return Objective(value, _logistic_grad, params, X.shape[1], None, "logistic")


def two_blobs(n_samples: int = 200, separation: float = 2.0, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """A small synthetic classification set: two Gaussian clouds in the plane.

    Parameters
    ----------
    n_samples : int
        Number of samples.
    separation : float
        Distance between the cloud centres along the first axis (half of it along the second).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    tuple of numpy.ndarray
        X of shape (n_samples, 3) (a column of ones appended for the intercept, so theta is in
        R^3) and labels y in {-1, +1}.
    """
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n_samples) < 0.5, 1.0, -1.0)
    centers = np.outer(y, [separation / 2, separation / 4])
    X = centers + rng.standard_normal((n_samples, 2))
    return np.column_stack([X, np.ones(n_samples)]), y
