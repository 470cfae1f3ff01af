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

import numba
import numpy as np
from numba import types

from ._jit import GRAD_TYPE, plain
from .model import bias_ratio, step_ratio

PAD = 2  # alpha-windows integrated beyond t_end for the shifted models
STIFF = 1.5  # h * Lipschitz(N) above which a step is taken by SDIRK instead of Lawson-RK4

# SDIRK4 of Hairer & Wanner (gamma = 1/4, L-stable, stiffly accurate: b = last row of A)
SDIRK_C = np.array([0.25, 0.75, 11 / 20, 0.5, 1.0])
SDIRK_A = np.array([
    [0.25, 0.0, 0.0, 0.0, 0.0],
    [0.5, 0.25, 0.0, 0.0, 0.0],
    [17 / 50, -1 / 25, 0.25, 0.0, 0.0],
    [371 / 1360, -137 / 2720, 15 / 544, 0.25, 0.0],
    [25 / 24, -49 / 48, 125 / 16, -85 / 12, 0.25],
])

# integer parameters: n, nm, has_m, per_coordinate, mode (0 Adam, 1 first sweep, 2 lagged)
# float parameters: alpha, c1, c2, d2, exp(-d2 alpha), first-sweep window weight, ln beta1,
#                   ln beta2, eps, l2
_F = types.float64
_I = types.int64

I_N, I_NM, I_HAS_M, I_PER, I_MODE = range(5)
F_ALPHA, F_C1, F_C2, F_D2, F_EA, F_W0, F_LB1, F_LB2, F_EPS, F_L2 = range(10)


@numba.njit(cache=True, error_model="numpy")
def field(t, y, g, lag, ip, fp, out):
    """Write N(t, y), the non-linear part of y' = -D y + N(t, y), into out (g = grad f)."""
    n = ip[I_N]
    nm = ip[I_NM]
    has_m = ip[I_HAS_M] == 1
    per = ip[I_PER] == 1
    mode = ip[I_MODE]
    iv = 2 * n if has_m else n
    if fp[F_L2] != 0.0:
        g = g + 0.5 * fp[F_L2] * y[:n]
    q = 0.0
    for i in range(n):
        q += g[i] * g[i]
    for j in range(nm):
        out[iv + j] = fp[F_C2] * (g[j] * g[j] if per else q)
    for i in range(n):
        j = i if per else 0
        qj = g[j] * g[j] if per else q
        if has_m:
            out[n + i] = fp[F_C1] * g[i]
            mhat = bias_ratio(y[n + i], fp[F_C1] * g[i], t, fp[F_ALPHA], fp[F_LB1])
        else:
            mhat = g[i]
        if mode == 0:
            vhat = bias_ratio(y[iv + j], fp[F_C2] * qj, t, fp[F_ALPHA], fp[F_LB2])
        elif mode == 1:
            vhat = fp[F_EA] * y[iv + j] + fp[F_W0] * qj
        else:
            vhat = fp[F_EA] * y[iv + j] + lag[j]
        out[i] = -step_ratio(mhat, np.sqrt(max(vhat, 0.0)) + fp[F_EPS])

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
def lag_at(P, Pd, i, frac, N, h, fp, lag, tmp):
    """Window integral P(t + alpha) - exp(-d2 alpha) P(t) at t = (i + frac) h."""
    memory_at(P, Pd, i + N, frac, h, fp[F_D2], lag)
    memory_at(P, Pd, i, frac, h, fp[F_D2], tmp)
    for c in range(lag.shape[0]):
        lag[c] -= fp[F_EA] * tmp[c]

@numba.njit(cache=True, error_model="numpy")
def full_field(t, y, g, lag, ip, fp, D, out):
    """F(t, y) = -D y + N(t, y), the whole right-hand side; g = grad f(theta)."""
    field(t, y, g, lag, ip, fp, out)
    for r in range(y.shape[0]):
        out[r] -= D[r] * y[r]

@numba.njit(types.int64(GRAD_TYPE, _F[::1], _F, _F, _F[::1], _F[::1], types.int64, types.int64,
                        _F[::1], _I[::1], _F[::1], _F[:, ::1], _F[:, ::1]),
           cache=True, error_model="numpy")
def sdirk_step(grad, params, t, h, y, y_new, i, N, D, ip, fp, P, Pd):
    """One step of the L-stable, stiffly accurate SDIRK method of order 4 (Hairer & Wanner,
    Solving ODEs II, Table 6.5), simplified Newton with a finite-difference Jacobian.

    Returns the number of gradient evaluations, negated if Newton did not converge.
    """
    ny = y.shape[0]
    n = ip[I_N]
    nm = ip[I_NM]
    lagged = ip[I_MODE] == 2
    lag = np.zeros(nm)
    tmp = np.empty(nm)
    F = np.empty((5, ny))
    f0 = np.empty(ny)
    fz = np.empty(ny)
    z = np.empty(ny)
    if lagged:
        lag_at(P, Pd, i, 0.0, N, h, fp, lag, tmp)
    full_field(t, y, grad(y[:n], params), lag, ip, fp, D, f0)
    W = np.eye(ny)
    for c in range(ny):
        delta = 1.5e-8 * max(abs(y[c]), 1e-8)
        for r in range(ny):
            z[r] = y[r]
        z[c] += delta
        full_field(t, z, grad(z[:n], params), lag, ip, fp, D, fz)
        for r in range(ny):
            W[r, c] -= 0.25 * h * (fz[r] - f0[r]) / delta
    Winv = np.linalg.inv(W)
    total = 0
    for st in range(5):
        if lagged:
            lag_at(P, Pd, i, SDIRK_C[st], N, h, fp, lag, tmp)
        base = y.copy()
        for j in range(st):
            for r in range(ny):
                base[r] += h * SDIRK_A[st, j] * F[j, r]
        Yst = y.copy() if st == 0 else z.copy()
        converged = False
        for _ in range(50):
            full_field(t + SDIRK_C[st] * h, Yst, grad(Yst[:n], params), lag, ip, fp, D, fz)
            res = Yst - base - 0.25 * h * fz
            dY = Winv @ res
            size = 0.0
            for r in range(ny):
                Yst[r] -= dY[r]
                size = max(size, abs(dY[r]) / (abs(Yst[r]) + 1e-300))
            total += 1
            if size < 1e-14 or not np.isfinite(size):
                converged = np.isfinite(size)
                break
        if not converged:
            return -(total + ny + 1 + st)
        full_field(t + SDIRK_C[st] * h, Yst, grad(Yst[:n], params), lag, ip, fp, D, fz)
        for r in range(ny):
            F[st, r] = fz[r]
            z[r] = Yst[r]
    for r in range(ny):
        y_new[r] = z[r]
    return total + ny + 1 + 5

@numba.njit(types.UniTuple(types.int64, 3)(GRAD_TYPE, _F[::1], _F[:, ::1], _F[:, ::1], types.int64,
                                          _F, _F[::1], _I[::1], _F[::1], _F[:, ::1], _F[:, ::1],
                                          types.int64), cache=True)
def sweep(grad, params, Y, dY, N, h, D, ip, fp, P, Pd, start):
    """One march over the grid from node ``start``: Lawson-RK4 steps, SDIRK4 where stiff.

    Returns (first non-finite node or -1, gradient evaluations, failed Newton solves); where
    Newton fails, the explicit step is kept and the step-halving error estimate judges it.
    """
    K = Y.shape[0] - 1
    ny = Y.shape[1]
    n = ip[I_N]
    nm = ip[I_NM]
    lagged = ip[I_MODE] == 2
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
    failures = 0
    if lagged:
        lag_at(P, Pd, start, 0.0, N, h, fp, lag0, tmp)
    for i in range(start, K):
        t = i * h
        if lagged:
            lag_at(P, Pd, i, 0.5, N, h, fp, lagm, tmp)
            lag_at(P, Pd, i + 1, 0.0, N, h, fp, lag1, tmp)
        y = Y[i]
        field(t, y, grad(y[:n], params), lag0, ip, fp, k1)
        for r in range(ny):
            dY[i, r] = k1[r] - D[r] * y[r]
            z2[r] = E2[r] * (y[r] + 0.5 * h * k1[r])
        field(t + 0.5 * h, z2, grad(z2[:n], params), lagm, ip, fp, k2)
        for r in range(ny):
            z[r] = E2[r] * y[r] + 0.5 * h * k2[r]
        field(t + 0.5 * h, z, grad(z[:n], params), lagm, ip, fp, k3)
        # Lipschitz estimate of N from the two midpoint stages (Shampine's stiffness test)
        num = 0.0
        den = 0.0
        for r in range(ny):
            num += (k3[r] - k2[r]) ** 2
            den += (z[r] - z2[r]) ** 2
        nfev += 3
        implicit = den > 0.0 and h * math.sqrt(num / den) > STIFF
        if implicit:
            evals = sdirk_step(grad, params, t, h, y, Y[i + 1], i, N, D, ip, fp, P, Pd)
            nfev += abs(evals)
            implicit = evals > 0
            failures += 0 if implicit else 1
        if not implicit:  # a non-stiff step, or Newton failed: the explicit step stands
            nfev += 1
            for r in range(ny):
                z[r] = E[r] * y[r] + h * E2[r] * k3[r]
            field(t + h, z, grad(z[:n], params), lag1, ip, fp, k4)
            for r in range(ny):
                Y[i + 1, r] = E[r] * y[r] + h / 6.0 * (
                    E[r] * k1[r] + 2.0 * E2[r] * (k2[r] + k3[r]) + k4[r])
        for r in range(ny):
            if not np.isfinite(Y[i + 1, r]):
                return i + 1, nfev, failures
        for c in range(nm):
            lag0[c] = lag1[c]
    field(K * h, Y[K], grad(Y[K, :n], params), lag0, ip, fp, k1)
    for r in range(ny):
        dY[K, r] = k1[r] - D[r] * Y[K, r]
    return -1, nfev + 1, failures


plain_sweep = plain(sweep)
