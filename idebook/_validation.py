"""Input checks shared by every public function, so that messages are uniform.

Each check raises ``ValueError`` naming the parameter and the allowed range, for example
``ValueError: alpha must be > 0, got -0.1``.
"""

from __future__ import annotations

import math

import numpy as np


def positive(name: str, value: float) -> float:
    """Return ``value`` as a float if it is finite and > 0."""
    value = _real(name, value, "> 0")
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def nonnegative(name: str, value: float) -> float:
    """Return ``value`` as a float if it is finite and >= 0."""
    value = _real(name, value, ">= 0")
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def unit_interval(name: str, value: float) -> float:
    """Return ``value`` as a float if it lies in [0, 1) (a decay rate beta)."""
    value = _real(name, value, "in [0, 1)")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def one_of(name: str, value: object, allowed: tuple) -> object:
    """Return ``value`` if it is one of ``allowed`` (a method's name, say)."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def count(name: str, value: int, minimum: int = 0) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum`` (a number of steps, panels...).

    ``True``/``False`` and integral floats such as ``2.0`` are not integers here.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def function(name: str, value: object) -> None:
    """Check that ``value`` (a user-supplied function) is callable."""
    if not callable(value):
        raise ValueError(f"{name} must be callable, got {type(value).__name__}")


def theta0_vector(theta0: float | np.ndarray, dim: int | None) -> np.ndarray:
    """Return theta0 as a real finite float vector of shape (n,); a scalar gives n = 1."""
    if theta0 is None:
        raise ValueError("theta0 is required: a real scalar or a non-empty 1-D array")
    arr = np.asarray(theta0)
    if np.iscomplexobj(arr):
        raise ValueError(f"theta0 must be real, got {theta0!r}")
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"theta0 must be a real scalar or 1-D array, got {theta0!r}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"theta0 must be a scalar or a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"theta0 must be finite, got {arr}")
    if dim is not None and arr.size != dim:
        raise ValueError(f"theta0 must have shape ({dim},) for this objective, got {arr.shape}")
    return arr.copy()


def first_gradient(objective, theta0: np.ndarray) -> None:
    """Evaluate the gradient once at theta0 and check its type and shape.

    Run before any compiled loop: a compiled loop would read past a short gradient. The
    gradient is called on copies, so an oracle that counts its calls (the minibatch gradient of
    :mod:`idebook.stochastic`) is not advanced.

    Raises
    ------
    TypeError
        The gradient returned None or something that is not an array of numbers.
    ValueError
        The gradient returned an array of the wrong shape.
    """
    gradient_array(objective.grad(theta0.copy(), objective.params.copy()), theta0.shape)


def gradient_array(g, shape: tuple[int, ...]) -> np.ndarray:
    """Return a gradient value as a float array of theta's ``shape``, or say what is wrong.

    Raises ``TypeError`` for None or non-numbers and ``ValueError`` for a wrong size.
    """
    if g is None:
        raise TypeError("grad returned None; it must return an array of theta's shape")
    g = np.asarray(g)
    if g.dtype.kind not in "fiub":
        raise TypeError(f"grad must return a real array, got {g.dtype} values")
    if g.size != math.prod(shape):
        raise ValueError(f"grad must return an array of shape {shape} (theta's shape), "
                         f"got shape {g.shape}")
    return g.astype(np.float64).reshape(shape)


def _real(name: str, value: float, allowed: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number {allowed}, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite and {allowed}, got {value!r}")
    return value


def start_state(name: str, value, size: int, nonnegative: bool = False) -> np.ndarray:
    """A warm-start memory state (m0, v0) as a finite float vector of ``size`` entries.

    None gives zeros (the paper's start); a scalar is broadcast.
    """
    if value is None:
        return np.zeros(size)
    arr = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    if arr.size == 1 and size > 1:
        arr = np.full(size, arr[0])
    if arr.size != size or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite with {size} entries, got {value!r}")
    if nonnegative and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return np.ascontiguousarray(arr)
