"""The fast IDE solver: exact memory decay, fourth-order steps, Picard iteration for the shift.

The models of Propositions 1-3 are written as one system for y = (theta, m, v):

    theta' = -(w/alpha) theta - mhat / (sqrt(vhat) + eps)
    m'     = c1 (g - m)                      (Adam only)
    v'     = c2 q - d2 v                     (G for AdaGrad, with d2 = 0)

with g = grad f(theta) + (lambda/2) theta and q = ||g||^2 (or g^2 per coordinate). For Adam,
mhat = m / (1 - beta1^(t/alpha)) and vhat = v / (1 - beta2^(t/alpha)), which is eq. (5)-(6)
rewritten (:func:`idebook.model.bias_ratio`, with its limit at t = 0). For AdaGrad and
RMSProp, mhat = g and vhat is the memory one step *ahead*, v(t + alpha). Splitting that
value as

    v(t + alpha) = exp(-d2 alpha) v(t) + int_t^{t+alpha} c2 exp(-d2 (t + alpha - s)) q(s) ds

leaves only the window integral non-causal; it is taken from the previous sweep's memory P as
P(t + alpha) - exp(-d2 alpha) P(t) (Picard iteration). The first sweep freezes q over the
window, which is Assumption 2 to first order.

Each sweep is Lawson's integrating-factor Runge-Kutta method of order four (Lawson 1967) on a
uniform grid h = alpha/N: the linear decays -D y are integrated exactly (exp(-D h)), the rest by
classical RK4. Because alpha is a whole number of steps, t + alpha falls on the grid; midpoints
use the cubic Hermite interpolant of P. Beyond the grid's end the memory is continued with q
frozen at its last value; the grid extends ``PAD`` windows past t_end so that this closure does
not reach the reported times.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import types

from ._jit import GRAD_TYPE, plain
from ._linalg import lu_factor, lu_solve
from .model import bias_ratio, step_ratio

PAD = 2  # alpha-windows integrated beyond t_end for the shifted models

# When a step is stiff. The decays -D y are integrated exactly, so only N limits the step.
# Classical RK4 is stable for h * lambda (lambda an eigenvalue of dN/dy) in its stability
# region, which meets the negative real axis at -2.785 and the imaginary axis at +-2.83i. L is
# a Lipschitz estimate of N along the step from its two midpoint stages (Shampine's test:
# |k3 - k2| / |z3 - z2|, which bounds |lambda| for the dominant direction). Where h L > 1.5 the
# step is past about half of that interval, where RK4's amplification factor is far from
# exp(h lambda) and little more takes it out of the region: the step is then taken by the
# L-stable SDIRK4, whose stability region contains the whole left half-plane, so that the step
# is limited by accuracy, not by stability.
STIFF = 1.5
HALVINGS = 3  # a failed SDIRK step is retried as 2, 4, 8 SDIRK steps before it is taken by RK4

# SDIRK4 of Hairer & Wanner (gamma = 1/4, L-stable, stiffly accurate: b = last row of A)
GAMMA = 0.25
SDIRK_C = np.array([0.25, 0.75, 11 / 20, 0.5, 1.0])
SDIRK_A = np.array([
    [0.25, 0.0, 0.0, 0.0, 0.0],
    [0.5, 0.25, 0.0, 0.0, 0.0],
    [17 / 50, -1 / 25, 0.25, 0.0, 0.0],
    [371 / 1360, -137 / 2720, 15 / 544, 0.25, 0.0],
    [25 / 24, -49 / 48, 125 / 16, -85 / 12, 0.25],
])

# How vhat (the memory in the denominator) is formed, passed to every function as ``mode``
ADAM = 0  # bias-corrected v / (1 - beta2^(t/alpha)), no shift
FROZEN = 1  # v(t + alpha) with q frozen over the window: the first Picard sweep
LAGGED = 2  # v(t + alpha) with the window integral from the previous sweep's memory P


class Coefficients(NamedTuple):
    """The constants of the system, from :class:`idebook.model.Model`."""

    n: int  # dimension of theta
    nm: int  # squared-gradient memories: 1 (norm) or n (per coordinate)
    has_m: bool  # Adam's first moment m is part of the state
    per_coordinate: bool
    alpha: float
    c1: float  # m' = c1 (g - m)
    c2: float  # v' = c2 q - d2 v
    d2: float
    decay: float  # exp(-d2 alpha)
    w0: float  # the first sweep's window weight int_0^alpha c2 exp(-d2 s) ds
    ln_beta1: float
    ln_beta2: float
    eps: float
    l2: float


COEFFICIENTS_TYPE = numba.typeof(Coefficients(1, 1, False, False, *(0.0,) * 10))
_F = types.float64
_I = types.int64
_VEC = _F[::1]
_MAT = _F[:, ::1]


@numba.njit(cache=True, error_model="numpy")
def field(t, y, g, lag, coef, mode, out):
    """Write N(t, y), the non-linear part of y' = -D y + N(t, y), into out (g = grad f)."""
    n = coef.n
    per = coef.per_coordinate
    iv = 2 * n if coef.has_m else n
    if coef.l2 != 0.0:
        g = g + 0.5 * coef.l2 * y[:n]
    q = 0.0
    for i in range(n):
        q += g[i] * g[i]
    for j in range(coef.nm):
        out[iv + j] = coef.c2 * (g[j] * g[j] if per else q)
    for i in range(n):
        j = i if per else 0
        qj = g[j] * g[j] if per else q
        if coef.has_m:
            out[n + i] = coef.c1 * g[i]
            mhat = bias_ratio(y[n + i], coef.c1 * g[i], t, coef.alpha, coef.ln_beta1)
        else:
            mhat = g[i]
        if mode == ADAM:
            vhat = bias_ratio(y[iv + j], coef.c2 * qj, t, coef.alpha, coef.ln_beta2)
        elif mode == FROZEN:
            vhat = coef.decay * y[iv + j] + coef.w0 * qj
        else:
            vhat = coef.decay * y[iv + j] + lag[j]
        out[i] = -step_ratio(mhat, np.sqrt(max(vhat, 0.0)) + coef.eps)

@numba.njit(cache=True, error_model="numpy")
def memory_at(P, Pd, j, frac, h, d2, out):
    """P at time (j + frac) h, 0 <= frac < 1: cubic Hermite on the grid, and past its end
    the memory continued with q frozen at its last value."""
    K = P.shape[0] - 1
    nm = P.shape[1]
    if j + (1 if frac > 0.0 else 0) <= K:
        if frac == 0.0:
            for c in range(nm):
                out[c] = P[j, c]
            return
        s = frac
        h00 = (1.0 + 2.0 * s) * (1.0 - s) ** 2
        h10 = s * (1.0 - s) ** 2
        h01 = s * s * (3.0 - 2.0 * s)
        h11 = s * s * (s - 1.0)
        for c in range(nm):
            out[c] = (h00 * P[j, c] + h10 * h * Pd[j, c] + h01 * P[j + 1, c]
                      + h11 * h * Pd[j + 1, c])
        return
    tau = (j - K + frac) * h
    for c in range(nm):
        forcing = Pd[K, c] + d2 * P[K, c]
        if d2 > 0.0:
            decay = math.exp(-d2 * tau)
            out[c] = P[K, c] * decay + forcing * (1.0 - decay) / d2
        else:
            out[c] = P[K, c] + forcing * tau

@numba.njit(cache=True, error_model="numpy")
def lag_at(P, Pd, i, frac, N, h, coef, lag, tmp):
    """Window integral P(t + alpha) - exp(-d2 alpha) P(t) at t = (i + frac) h."""
    memory_at(P, Pd, i + N, frac, h, coef.d2, lag)
    memory_at(P, Pd, i, frac, h, coef.d2, tmp)
    for c in range(lag.shape[0]):
        lag[c] -= coef.decay * tmp[c]


@numba.njit(cache=True, error_model="numpy")
def full_field(t, y, g, lag, coef, mode, D, out):
    """F(t, y) = -D y + N(t, y), the whole right-hand side; g = grad f(theta)."""
    field(t, y, g, lag, coef, mode, out)
    for r in range(y.shape[0]):
        out[r] -= D[r] * y[r]


@numba.njit(types.Tuple((types.boolean, _I))(GRAD_TYPE, _VEC, COEFFICIENTS_TYPE, _I, _F, _F,
                                             _VEC, _VEC, _I, _F, _I, _F, _VEC, _MAT, _MAT),
           cache=True, error_model="numpy")
def sdirk_step(grad, params, coef, mode, t, hs, y, y_new, i, frac, N, h, D, P, Pd):
    """One step hs, from t = (i + frac) h, of the L-stable, stiffly accurate SDIRK method of
    order 4 (Hairer & Wanner, Solving ODEs II, Table 6.5); simplified Newton with a
    finite-difference Jacobian, LU-factored once per step.

    Returns (Newton converged in every stage, gradient evaluations).
    """
    ny = y.shape[0]
    n = coef.n
    lagged = mode == LAGGED
    lag = np.zeros(coef.nm)
    tmp = np.empty(coef.nm)
    F = np.empty((5, ny))
    f0 = np.empty(ny)
    fz = np.empty(ny)
    z = np.empty(ny)
    if lagged:
        lag_at(P, Pd, i, frac, N, h, coef, lag, tmp)
    full_field(t, y, grad(y[:n], params), lag, coef, mode, D, f0)
    W = np.eye(ny)  # the Newton matrix I - gamma hs dF/dy
    for c in range(ny):
        delta = 1.5e-8 * max(abs(y[c]), 1e-8)
        for r in range(ny):
            z[r] = y[r]
        z[c] += delta
        full_field(t, z, grad(z[:n], params), lag, coef, mode, D, fz)
        for r in range(ny):
            W[r, c] -= GAMMA * hs * (fz[r] - f0[r]) / delta
    pivots = np.empty(ny, dtype=np.int64)
    lu_factor(W, pivots)
    total = 0
    for st in range(5):
        if lagged:
            lag_at(P, Pd, i, frac + SDIRK_C[st] * (hs / h), N, h, coef, lag, tmp)
        base = y.copy()
        for j in range(st):
            for r in range(ny):
                base[r] += hs * SDIRK_A[st, j] * F[j, r]
        Yst = y.copy() if st == 0 else z.copy()
        converged = False
        for _ in range(50):
            full_field(t + SDIRK_C[st] * hs, Yst, grad(Yst[:n], params), lag, coef, mode, D, fz)
            dY = Yst - base - GAMMA * hs * fz
            lu_solve(W, pivots, dY)
            size = 0.0
            for r in range(ny):
                Yst[r] -= dY[r]
                size = max(size, abs(dY[r]) / (abs(Yst[r]) + 1e-300))
            total += 1
            if size < 1e-14 or not np.isfinite(size):
                converged = np.isfinite(size)
                break
        if not converged:
            return False, total + ny + 1 + st
        full_field(t + SDIRK_C[st] * hs, Yst, grad(Yst[:n], params), lag, coef, mode, D, fz)
        for r in range(ny):
            F[st, r] = fz[r]
            z[r] = Yst[r]
    for r in range(ny):
        y_new[r] = z[r]
    return True, total + ny + 1 + 5


@numba.njit(cache=True, error_model="numpy")
def implicit_step(grad, params, coef, mode, t, h, y, y_new, i, N, D, P, Pd):
    """The step from node i by SDIRK4; where Newton fails, by 2, 4, ... 2**HALVINGS SDIRK steps.

    Returns (ok, gradient evaluations, sub-steps per step that succeeded: 1, 2, 4, ...).
    """
    nfev = 0
    z = np.empty_like(y)
    for level in range(HALVINGS + 1):
        parts = 2 ** level
        hs = h / parts
        for r in range(y.shape[0]):
            z[r] = y[r]
        ok = True
        for p in range(parts):
            ok, evals = sdirk_step(grad, params, coef, mode, t + p * hs, hs, z, y_new, i,
                                   p / parts, N, h, D, P, Pd)
            nfev += evals
            if not ok:
                break
            for r in range(y.shape[0]):
                z[r] = y_new[r]
        if ok:
            return True, nfev, parts
    return False, nfev, 0


@numba.njit(cache=True, error_model="numpy")
def lawson_stages(grad, params, coef, mode, t, h, y, E2, lag0, lagm, k1, k2, k3, z, z2):
    """The first three stages of the Lawson-RK4 step from (t, y): N at y, then at the two
    midpoint predictions z2 and z (3 gradient evaluations).

    Returns h L, the step times the Lipschitz estimate of N from the two midpoint stages.
    """
    n = coef.n
    field(t, y, grad(y[:n], params), lag0, coef, mode, k1)
    for r in range(y.shape[0]):
        z2[r] = E2[r] * (y[r] + 0.5 * h * k1[r])
    field(t + 0.5 * h, z2, grad(z2[:n], params), lagm, coef, mode, k2)
    for r in range(y.shape[0]):
        z[r] = E2[r] * y[r] + 0.5 * h * k2[r]
    field(t + 0.5 * h, z, grad(z[:n], params), lagm, coef, mode, k3)
    num = 0.0
    den = 0.0
    for r in range(y.shape[0]):
        num += (k3[r] - k2[r]) ** 2
        den += (z[r] - z2[r]) ** 2
    return h * math.sqrt(num / den) if den > 0.0 else 0.0


@numba.njit(cache=True, error_model="numpy")
def lawson_finish(grad, params, coef, mode, t, h, y, E, E2, lag1, k1, k2, k3, k4, z, y_new):
    """The last stage and the update of the Lawson-RK4 step (1 gradient evaluation)."""
    n = coef.n
    for r in range(y.shape[0]):
        z[r] = E[r] * y[r] + h * E2[r] * k3[r]
    field(t + h, z, grad(z[:n], params), lag1, coef, mode, k4)
    for r in range(y.shape[0]):
        y_new[r] = E[r] * y[r] + h / 6.0 * (E[r] * k1[r] + 2.0 * E2[r] * (k2[r] + k3[r])
                                            + k4[r])


@numba.njit(types.UniTuple(types.int64, 4)(GRAD_TYPE, _VEC, _MAT, _MAT, _I, _F, _VEC,
                                          COEFFICIENTS_TYPE, _I, _MAT, _MAT, _I), cache=True)
def sweep(grad, params, Y, dY, N, h, D, coef, mode, P, Pd, start):
    """One march over the grid from node ``start``: Lawson-RK4 steps, SDIRK4 where stiff.

    Returns (first non-finite node or -1, gradient evaluations, stiff steps retried with
    smaller SDIRK steps after a Newton failure, stiff steps where those failed too and the
    explicit step was kept for the step-halving error estimate to judge).
    """
    K = Y.shape[0] - 1
    ny = Y.shape[1]
    nm = coef.nm
    lagged = mode == LAGGED
    E = np.exp(-D * h)
    E2 = np.exp(-D * (0.5 * h))
    k1 = np.empty(ny)
    k2 = np.empty(ny)
    k3 = np.empty(ny)
    k4 = np.empty(ny)
    z = np.empty(ny)
    z2 = np.empty(ny)
    lag0 = np.zeros(nm)
    lagm = np.zeros(nm)
    lag1 = np.zeros(nm)
    tmp = np.empty(nm)
    nfev = 0
    retried = 0
    failures = 0
    if lagged:
        lag_at(P, Pd, start, 0.0, N, h, coef, lag0, tmp)
    for i in range(start, K):
        t = i * h
        if lagged:
            lag_at(P, Pd, i, 0.5, N, h, coef, lagm, tmp)
            lag_at(P, Pd, i + 1, 0.0, N, h, coef, lag1, tmp)
        y = Y[i]
        stiffness = lawson_stages(grad, params, coef, mode, t, h, y, E2, lag0, lagm, k1, k2, k3,
                                  z, z2)
        nfev += 3
        for r in range(ny):
            dY[i, r] = k1[r] - D[r] * y[r]
        ok = False
        if stiffness > STIFF:
            ok, evals, parts = implicit_step(grad, params, coef, mode, t, h, y, Y[i + 1], i, N,
                                             D, P, Pd)
            nfev += evals
            retried += 1 if parts > 1 else 0
            failures += 0 if ok else 1
        if not ok:  # a non-stiff step, or Newton failed at every sub-step size
            lawson_finish(grad, params, coef, mode, t, h, y, E, E2, lag1, k1, k2, k3, k4, z,
                          Y[i + 1])
            nfev += 1
        for r in range(ny):
            if not np.isfinite(Y[i + 1, r]):
                return i + 1, nfev, retried, failures
        for c in range(nm):
            lag0[c] = lag1[c]
    field(K * h, Y[K], grad(Y[K, :coef.n], params), lag0, coef, mode, k1)
    for r in range(ny):
        dY[K, r] = k1[r] - D[r] * Y[K, r]
    return -1, nfev + 1, retried, failures


plain_sweep = plain(sweep)
