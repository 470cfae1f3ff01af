"""Dense LU factorisation with partial pivoting and its solve, compiled once for both solvers.

The fast IDE solver's SDIRK steps (:mod:`idebook._fast`) and the collocation Newton steps of
:func:`idebook.solve_ide` (:mod:`idebook.ide`) factor a small Newton matrix once and solve
with it several times. Both work in place on real or complex arrays; a zero pivot gives inf or
NaN (numpy's error model), which the callers report as a failed step.
"""

from __future__ import annotations

import numba


@numba.njit(cache=True, error_model="numpy")
def lu_factor(A, pivots):
    """Overwrite the square matrix A with its LU factors (partial pivoting, unit lower L)."""
    size = A.shape[0]
    for k in range(size):
        p = k
        for r in range(k + 1, size):
            if abs(A[r, k]) > abs(A[p, k]):
                p = r
        pivots[k] = p
        if p != k:
            for c in range(size):
                A[k, c], A[p, c] = A[p, c], A[k, c]
        for r in range(k + 1, size):
            A[r, k] /= A[k, k]
            for c in range(k + 1, size):
                A[r, c] -= A[r, k] * A[k, c]


@numba.njit(cache=True, error_model="numpy")
def lu_solve(LU, pivots, b):
    """Overwrite b with the solution x of A x = b, A's factors from :func:`lu_factor`."""
    size = LU.shape[0]
    for k in range(size):
        p = pivots[k]
        b[k], b[p] = b[p], b[k]
    for r in range(size):
        for c in range(r):
            b[r] -= LU[r, c] * b[c]
    for r in range(size - 1, -1, -1):
        for c in range(r + 1, size):
            b[r] -= LU[r, c] * b[c]
        b[r] /= LU[r, r]
