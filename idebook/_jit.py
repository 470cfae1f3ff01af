"""Compiled loops that take the gradient as a first-class function, and their plain twins.

Every gradient has the signature ``grad(theta: float64[::1], params: float64[::1]) ->
float64[::1]`` (:data:`GRAD_TYPE`). Loops are compiled once for that *function type*, not for a
particular gradient, so they are cached on disk and any jitted gradient runs in them without
recompiling. A plain Python gradient runs the same source in the interpreter (:func:`plain`).
"""

from __future__ import annotations

import types as pytypes
from collections.abc import Callable

from numba import types
from numba.core.registry import CPUDispatcher

GRAD_SIGNATURE = types.float64[::1](types.float64[::1], types.float64[::1])
GRAD_TYPE = types.FunctionType(GRAD_SIGNATURE)


def plain(loop: CPUDispatcher) -> Callable:
    """The interpreted twin of a jitted ``loop``: its source run by Python, with every jitted
    helper of its module swapped for its own Python source too."""
    module_globals = dict(loop.py_func.__globals__)
    for name, obj in list(module_globals.items()):
        if isinstance(obj, CPUDispatcher):
            module_globals[name] = pytypes.FunctionType(obj.py_func.__code__, module_globals, name)
    return module_globals[loop.py_func.__name__]
