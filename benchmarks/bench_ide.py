"""Benchmark idebook.ide.solve_ide on IDEs with analytic solutions.

Prints one row per case and code path (numba-jitted user functions / plain Python functions):
collocation grid, fixed-point iterations, numba compile time (first call minus a warm call),
median wall time of warm calls, and the max error against the analytic solution at 201 points.

Run:  python benchmarks/bench_ide.py [--repeat N]
"""

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from idebook.ide import solve_ide

SQRT_DISC = np.sqrt(25 - 12j)


@dataclass(frozen=True)
class Case:
    name: str
    interval: tuple[float, float]
    y_0: complex | list[float]
    c: Callable
    d: Callable
    k: Callable
    f: Callable
    lower_bound: Callable
    upper_bound: Callable
    exact: Callable


def _vector_c(x, y):
    return np.array([0.5 * (y[1] + 1), -0.5 * y[0]])


def cases() -> list[Case]:
    """Analytic test problems (see tests/test_ide.py for their derivations)."""
    zero, one, ident = (lambda x: 0.0), (lambda x: 1.0), (lambda x: x)
    sin_cos = lambda x: np.stack([np.sin(x), np.cos(x)], axis=-1)  # noqa: E731
    return [
        Case("ln(1+x), Fredholm", (0.0, 1.0), 0.0,
             lambda x, y: y - 0.5 * x + 1 / (1 + x) - np.log(1 + x),
             lambda x: 1 / np.log(2) ** 2, lambda x, s: x / (1 + s), lambda y: y,
             zero, one, np.log1p),
        Case("1+x+x^2, F=y^2", (0.0, 1.0), 1.0, lambda x, y: 1 - 29 / 60 * x,
             one, lambda x, s: x * s, lambda y: y**2, zero, one, lambda x: 1 + x + x**2),
        Case("(sin, cos), Volterra", (0.0, 7.0), [0.0, 1.0], _vector_c, lambda x: -0.5,
             lambda x, s: 1.0, lambda y: y, zero, ident, sin_cos),
        Case("complex, Volterra", (0.0, 1.0), 0j, lambda x, y: 5 * y + 1, lambda x: -3j,
             lambda x, s: 1.0, lambda y: y, zero, ident,
             lambda x: 2 * np.exp(2.5 * x) * np.sinh(0.5 * SQRT_DISC * x) / SQRT_DISC),
        Case("(sin, cos) on [0, 100]", (0.0, 100.0), [0.0, 1.0], _vector_c, lambda x: -0.5,
             lambda x, s: 1.0, lambda y: y, zero, ident, sin_cos),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="warm calls per case (median)")
    repeat = parser.parse_args().repeat
    header = (f"{'case':24} {'path':6} {'panels x p (N)':>15} {'iter':>5} {'compile s':>9} "
              f"{'median ms':>9} {'max error':>9}")
    print(header)
    print("-" * len(header))
    for case in cases():
        x = np.linspace(*case.interval, 201)
        for jit in (True, False):
            wrap: Callable = numba.njit if jit else (lambda fn: fn)
            c, k, f = wrap(case.c), wrap(case.k), wrap(case.f)
            times = []
            for _ in range(repeat + 1):  # the first call compiles (numba) and is not counted
                start = time.perf_counter()
                result = solve_ide(x, case.y_0, c, case.d, k, f, case.lower_bound,
                                   case.upper_bound)
                times.append(time.perf_counter() - start)
                assert result.success, result.message
            median = statistics.median(times[1:])
            panels = result.panel_edges.size - 1
            p = (result.x_nodes.size - 1) // panels + 1
            grid = f"{panels} x {p} ({result.x_nodes.size})"
            compile_s = f"{times[0] - median:.2f}" if jit else "-"
            error = np.max(np.abs(result.y - case.exact(x)))
            print(f"{case.name:24} {'numba' if jit else 'python':6} {grid:>15} "
                  f"{result.iterations:>5} {compile_s:>9} {median * 1e3:>9.2f} {error:>9.1e}")


if __name__ == "__main__":
    main()
