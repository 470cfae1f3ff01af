"""The fast IDE solver: exact memory decay, fourth-order steps, Picard iteration for the shift.

The models of Propositions 1-3 are written as one system for y = (theta, m, v):

    theta' = -(w/alpha) theta - mhat / (sqrt(vhat) + eps)
    m'     = c1 (g - m)                      (Adam only)
    v'     = c2 q - d2 v                     (G for AdaGrad, with d2 = 0)

with g = grad f(theta) + (lambda/2) theta and q = ||g||^2 (or g^2 per coordinate). For Adam,
mhat = m / (1 - beta1^(t/alpha)) and vhat = v / (1 - beta2^(t/alpha)), which is eq. (5)-(6)
rewritten (their limits are used at t = 0). For AdaGrad and RMSProp, mhat = g and vhat is the
memory one step *ahead*, v(t + alpha). Splitting that value as

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

import numpy as np

from ._jit import Dual

PAD = 2  # alpha-windows integrated beyond t_end for the shifted models

# integer parameters: n, nm, has_m, per_coordinate, mode (0 Adam, 1 first sweep, 2 lagged)
# float parameters: alpha, c1, c2, d2, exp(-d2 alpha), first-sweep window weight, ln beta1,
#                   ln beta2, eps, l2
I_N, I_NM, I_HAS_M, I_PER, I_MODE = range(5)
F_ALPHA, F_C1, F_C2, F_D2, F_EA, F_W0, F_LB1, F_LB2, F_EPS, F_L2 = range(10)


def _build(wrap):
    @wrap
    def bias_ratio(x, forcing, t, alpha, lnb):
        """x / (1 - beta^(t/alpha)) for a moment x with x(0) = 0 and x'(0) = forcing.

        At t = 0 this is its limit forcing * alpha / (-ln beta); beta = 0 (ln beta = -inf)
        makes the factor 1 for t > 0.
        """
        if lnb == -np.inf:
            return x
        if t == 0.0:
            return forcing * alpha / (-lnb)
        return x / (-math.expm1(t / alpha * lnb))

    @wrap
    def field(grad, grad_args, t, y, lag, ip, fp, out):
        """Write N(t, y), the non-linear part of y' = -D y + N(t, y), into ``out``."""
        n = ip[I_N]
        nm = ip[I_NM]
        has_m = ip[I_HAS_M] == 1
        per = ip[I_PER] == 1
        mode = ip[I_MODE]
        iv = 2 * n if has_m else n
        theta = y[:n]
        g = grad(theta, *grad_args)
        if fp[F_L2] != 0.0:
            g = g + 0.5 * fp[F_L2] * theta
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
            out[i] = -mhat / (np.sqrt(max(vhat, 0.0)) + fp[F_EPS])

    @wrap
    def memory_at(P, Pd, j, mid, h, d2, lag_j):
        """P at node j (or midway to j+1), continued past the grid with q frozen."""
        K = P.shape[0] - 1
        nm = P.shape[1]
        if (mid and j + 1 <= K) or (not mid and j <= K):
            for c in range(nm):
                if mid:
                    lag_j[c] = 0.5 * (P[j, c] + P[j + 1, c]) + h * (Pd[j, c] - Pd[j + 1, c]) / 8.0
                else:
                    lag_j[c] = P[j, c]
            return
        tau = (j - K) * h + (0.5 * h if mid else 0.0)
        for c in range(nm):
            forcing = Pd[K, c] + d2 * P[K, c]
            if d2 > 0.0:
                decay = math.exp(-d2 * tau)
                lag_j[c] = P[K, c] * decay + forcing * (1.0 - decay) / d2
            else:
                lag_j[c] = P[K, c] + forcing * tau

    @wrap
    def lag_at(P, Pd, i, mid, N, h, d2, ea, lag, tmp):
        """Window integral P(t + alpha) - exp(-d2 alpha) P(t) at node i (or midway to i+1)."""
        memory_at(P, Pd, i + N, mid, h, d2, lag)
        memory_at(P, Pd, i, mid, h, d2, tmp)
        for c in range(lag.shape[0]):
            lag[c] -= ea * tmp[c]

    @wrap
    def sweep(grad, grad_args, Y, dY, N, h, D, ip, fp, P, Pd):
        """One Lawson-RK4 march over the grid; returns (index of first non-finite node or -1)."""
        K = Y.shape[0] - 1
        ny = Y.shape[1]
        nm = ip[I_NM]
        lagged = ip[I_MODE] == 2
        E = np.exp(-D * h)
        E2 = np.exp(-D * (0.5 * h))
        k1 = np.empty(ny)
        k2 = np.empty(ny)
        k3 = np.empty(ny)
        k4 = np.empty(ny)
        z = np.empty(ny)
        lag0 = np.zeros(nm)
        lagm = np.zeros(nm)
        lag1 = np.zeros(nm)
        tmp = np.empty(nm)
        if lagged:
            lag_at(P, Pd, 0, False, N, h, fp[F_D2], fp[F_EA], lag0, tmp)
        for i in range(K):
            t = i * h
            if lagged:
                lag_at(P, Pd, i, True, N, h, fp[F_D2], fp[F_EA], lagm, tmp)
                lag_at(P, Pd, i + 1, False, N, h, fp[F_D2], fp[F_EA], lag1, tmp)
            y = Y[i]
            field(grad, grad_args, t, y, lag0, ip, fp, k1)
            for r in range(ny):
                dY[i, r] = k1[r] - D[r] * y[r]
                z[r] = E2[r] * (y[r] + 0.5 * h * k1[r])
            field(grad, grad_args, t + 0.5 * h, z, lagm, ip, fp, k2)
            for r in range(ny):
                z[r] = E2[r] * y[r] + 0.5 * h * k2[r]
            field(grad, grad_args, t + 0.5 * h, z, lagm, ip, fp, k3)
            for r in range(ny):
                z[r] = E[r] * y[r] + h * E2[r] * k3[r]
            field(grad, grad_args, t + h, z, lag1, ip, fp, k4)
            for r in range(ny):
                Y[i + 1, r] = E[r] * y[r] + h / 6.0 * (
                    E[r] * k1[r] + 2.0 * E2[r] * (k2[r] + k3[r]) + k4[r])
                if not np.isfinite(Y[i + 1, r]):
                    return i + 1
            for c in range(nm):
                lag0[c] = lag1[c]
        field(grad, grad_args, K * h, Y[K], lag0, ip, fp, k1)
        for r in range(ny):
            dY[K, r] = k1[r] - D[r] * Y[K, r]
        return -1

    return sweep


_sweep = Dual(_build)
