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
    """Return theta0 as a finite float vector of shape (n,); a scalar gives n = 1."""
    arr = np.asarray(theta0, dtype=float)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"theta0 must be a scalar or a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"theta0 must be finite, got {arr}")
    if dim is not None and arr.size != dim:
        raise ValueError(f"theta0 must have shape ({dim},) for this objective, got {arr.shape}")
    return arr.copy()


def _real(name: str, value: float, allowed: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number {allowed}, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite and {allowed}, got {value!r}")
    return value
