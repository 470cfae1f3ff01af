"""The discrete algorithms of the paper's Section 2: AdaGrad, RMSProp and Adam (and AdamW, AdamL2).

All three are one recursion (Algorithms 1-3), with memory states G or v (squared gradients)
and m (gradients):

    m_k = a1 m_{k-1} + b1 g_k,      v_k = a2 v_{k-1} + b2 q_k,
    theta_k = (1 - w) theta_{k-1} - alpha * mhat_k / (sqrt(vhat_k) + eps),

with g_k = grad f(theta_{k-1}) + (lambda/2) theta_{k-1} (AdamL2), q_k = ||g_k||^2 (the paper's
norm memory) or g_k^2 per coordinate, and

    AdaGrad (Alg. 1):  a2 = b2 = 1 (v is G),        mhat = g,               vhat = G
    RMSProp (Alg. 2):  a2 = beta, b2 = 1 - beta,    mhat = g,               vhat = v
    Adam    (Alg. 3):  a_i = beta_i, b_i = 1-beta_i, mhat = m/(1-beta1^k),  vhat = v/(1-beta2^k)

AdamW adds the decoupled weight decay w; AdamL2 the gradient term (lambda/2) theta (Section 3).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types

from . import _validation as check
from ._jit import GRAD_TYPE, plain
from .objectives import Objective, as_objective
from .results import DiscreteRun, DivergenceError

_B = types.boolean
_F = types.float64


@numba.njit(
    types.Tuple((_F[:, ::1], _F[:, ::1], _F[:, ::1], types.int64))(
        GRAD_TYPE, _F[::1], _F[::1], types.int64, _F, _F, _F, _F, _F, _B, _B, _F, _F, _F, _B),
    cache=True, error_model="numpy")
def _recursion(grad, params, theta0, steps, alpha, a1, b1, a2, b2, has_m, bias, eps, w, l2,
              per_coordinate):
    """Iterate the recursion; returns (theta, m, v, k_bad), k_bad = -1 if all finite.

    ``grad`` is called exactly once per step, in order of k: :mod:`idebook.stochastic` relies
    on this to feed minibatch k to step k.
    """
    n = theta0.shape[0]
    nm = n if per_coordinate else 1
    theta = np.empty((steps + 1, n))
    m = np.zeros((steps + 1 if has_m else 1, n))
    v = np.zeros((steps + 1, nm))
    theta[0] = theta0
    for k in range(1, steps + 1):
        prev = theta[k - 1]
        g = grad(prev, params)
        if l2 != 0.0:
            g = g + 0.5 * l2 * prev
        q = 0.0
        for i in range(n):
            q += g[i] * g[i]
        for j in range(nm):
            qj = g[j] * g[j] if per_coordinate else q
            v[k, j] = a2 * v[k - 1, j] + b2 * qj
            if not np.isfinite(v[k, j]):
                return theta, m, v, k
        c1 = 1.0 - a1 ** float(k) if bias else 1.0
        c2 = 1.0 - a2 ** float(k) if bias else 1.0
        for i in range(n):
            if has_m:
                m[k, i] = a1 * m[k - 1, i] + b1 * g[i]
                mhat = m[k, i] / c1
            else:
                mhat = g[i]
            vhat = v[k, i if per_coordinate else 0] / c2
            theta[k, i] = (1.0 - w) * prev[i] - alpha * mhat / (np.sqrt(vhat) + eps)
            if not (np.isfinite(theta[k, i]) and np.isfinite(m[k if has_m else 0, i])):
                return theta, m, v, k
    return theta, m, v, -1


_plain_recursion = plain(_recursion)


def _run(name: str, objective: Objective | tuple, theta0, alpha: float, steps: int, eps: float,
         per_coordinate: bool, params: dict, a1: float, b1: float, a2: float, b2: float,
         has_m: bool, bias: bool, w: float = 0.0, l2: float = 0.0) -> DiscreteRun:
    objective = as_objective(objective)
    alpha = check.positive("alpha", alpha)
    steps = check.count("steps", steps)
    eps = check.nonnegative("eps", eps)
    theta0 = check.theta0_vector(theta0, objective.dim)
    loop = _recursion if objective.jitted else _plain_recursion
    theta, m, v, bad = loop(objective.grad, objective.params, theta0, steps, alpha, a1, b1, a2, b2,
                            has_m, bias, eps, w, l2, bool(per_coordinate))
    if bad >= 0:
        raise DivergenceError(
            f"{name}: the state (theta, G, v or m) became non-finite at k = {bad} "
            f"(alpha = {alpha}, {params}); the last finite iterate is theta_{bad - 1} = "
            f"{theta[bad - 1]}", bad)
    t = alpha * np.arange(steps + 1)
    memory = {"G": v} if name == "adagrad" else {"v": v}
    if has_m:
        memory["m"] = m
    params = dict(params, eps=eps, per_coordinate=bool(per_coordinate))
    return DiscreteRun(t, theta, algorithm=name, alpha=alpha, params=params, **memory)


def adagrad(objective: Objective | tuple, theta0, *, alpha: float, steps: int, eps: float = 1e-8,
            per_coordinate: bool = False) -> DiscreteRun:
    """AdaGrad (Algorithm 1):

    G_k = G_{k-1} + ||g_k||^2  and  theta_k = theta_{k-1} - alpha g_k / (sqrt(G_k) + eps).
    """
    return _run("adagrad", objective, theta0, alpha, steps, eps, per_coordinate, {},
                0.0, 1.0, 1.0, 1.0, False, False)


def rmsprop(objective: Objective | tuple, theta0, *, alpha: float, beta: float = 0.9, steps: int,
            eps: float = 1e-8, per_coordinate: bool = False) -> DiscreteRun:
    """RMSProp (Algorithm 2):

    v_k = beta v_{k-1} + (1 - beta) ||g_k||^2  and
    theta_k = theta_{k-1} - alpha g_k / (sqrt(v_k) + eps).
    """
    beta = check.unit_interval("beta", beta)
    return _run("rmsprop", objective, theta0, alpha, steps, eps, per_coordinate, {"beta": beta},
                0.0, 1.0, beta, 1.0 - beta, False, False)


def adam(objective: Objective | tuple, theta0, *, alpha: float, beta1: float = 0.9,
         beta2: float = 0.999, steps: int, eps: float = 1e-8, per_coordinate: bool = False,
         weight_decay: float = 0.0, l2: float = 0.0) -> DiscreteRun:
    """Adam, Algorithm 3, with bias-corrected moments mhat = m/(1-beta1^k), vhat = v/(1-beta2^k).

    ``weight_decay`` = w gives AdamW, theta_k = (1-w) theta_{k-1} - alpha mhat/(sqrt(vhat)+eps);
    ``l2`` = lambda gives AdamL2, g_k = grad f(theta_{k-1}) + (lambda/2) theta_{k-1}.
    """
    beta1 = check.unit_interval("beta1", beta1)
    beta2 = check.unit_interval("beta2", beta2)
    w = check.unit_interval("weight_decay", weight_decay)
    l2 = check.nonnegative("l2", l2)
    params = {"beta1": beta1, "beta2": beta2, "weight_decay": w, "l2": l2}
    return _run("adam", objective, theta0, alpha, steps, eps, per_coordinate, params,
                beta1, 1.0 - beta1, beta2, 1.0 - beta2, True, True, w, l2)
