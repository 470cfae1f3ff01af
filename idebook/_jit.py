"""Build a loop twice, compiled by numba and plain, and pick by the objective's gradient."""

from __future__ import annotations

from collections.abc import Callable

import numba

from .objectives import Objective


class Dual:
    """A loop written once, as ``factory(wrap)``, with every helper decorated by ``wrap``.

    The numba twin (``wrap = numba.njit``) takes a jitted gradient as a first-class function and
    runs at machine speed; the plain twin runs the same source in the interpreter for a Python
    gradient. Both are built on first use.
    """

    def __init__(self, factory: Callable[[Callable], Callable]) -> None:
        self._factory = factory
        self._built: dict[bool, Callable] = {}

    def pick(self, objective: Objective) -> Callable:
        jit = objective.jitted
        if jit not in self._built:
            self._built[jit] = self._factory(numba.njit if jit else _plain)
        return self._built[jit]


def _plain(fn: Callable) -> Callable:
    return fn
