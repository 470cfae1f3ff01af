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
from .model import Model, build, output_times, step_ratio
from .objectives import Objective
from .results import DiscreteRun, DivergenceError, StepSamples, Trajectory

_F = types.float64


@numba.njit(
    types.Tuple((_F[:, ::1], _F[:, ::1], _F[:, ::1], types.int64))(
        GRAD_TYPE, _F[::1], _F[::1], _F[::1], _F[::1], types.int64, _F[::1], types.int64[::1]),
    cache=True, error_model="numpy", nogil=True)
def _recursion(grad, params, theta0, m0, v0, steps, coef, flags):
    """Iterate the recursion from (theta0, m0, v0); returns (theta, m, v, k_bad).

    ``coef`` = (alpha, a1, b1, a2, b2, eps, w, l2) and ``flags`` = (has_m, has_v, bias,
    per_coordinate) come from :func:`_coefficients`; k_bad = -1 if every state stayed finite.
    ``grad`` is called exactly once per step, in order of k: :mod:`idebook.stochastic` relies
    on this to feed minibatch k to step k.
    """
    alpha, a1, b1, a2, b2, eps, w, l2 = coef[0], coef[1], coef[2], coef[3], coef[4], coef[5], \
        coef[6], coef[7]
    has_m, has_v, bias, per_coordinate = flags[0] == 1, flags[1] == 1, flags[2] == 1, \
        flags[3] == 1
    n = theta0.shape[0]
    nm = n if per_coordinate else 1
    theta = np.empty((steps + 1, n))
    m = np.zeros((steps + 1 if has_m else 1, n))
    v = np.zeros((steps + 1, nm))
    theta[0] = theta0
    if has_m:
        m[0] = m0
    v[0] = v0
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
            v[k, j] = a2 * v[k - 1, j] + b2 * qj if has_v else v[k - 1, j]
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
            den = np.sqrt(v[k, i if per_coordinate else 0] / c2) + eps if has_v else 1.0
            theta[k, i] = (1.0 - w) * prev[i] - step_ratio(alpha * mhat, den)
            if not (np.isfinite(theta[k, i]) and np.isfinite(m[k if has_m else 0, i])):
                return theta, m, v, k
    return theta, m, v, -1


_plain_recursion = plain(_recursion)


def _coefficients(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """The recursion's (coef, flags) arrays for ``model``."""
    a1, b1, a2, b2 = model.recursion
    coef = np.array([model.alpha, a1, b1, a2, b2, model.eps, model.weight_decay, model.l2])
    flags = np.array([model.has_m, model.has_v, model.has_m and model.bias,
                      model.per_coordinate], dtype=np.int64)
    return coef, flags


def run(model: Model, steps: int, m0=None, v0=None) -> DiscreteRun:
    """Run Algorithm 1, 2 or 3 (or gradient descent) of ``model`` for ``steps`` steps.

    Parameters
    ----------
    model : Model
        From :func:`idebook.model.build`.
    steps : int
        Number of steps K >= 0.
    m0, v0 : float or array_like, optional
        A warm start of the memory: m_0 (Adam; shape (n,) or a scalar) and v_0 (G_0 for AdaGrad;
        shape (1,) for the norm memory, (n,) per coordinate, or a scalar), >= 0. Default 0, the
        paper's start.

    Returns
    -------
    DiscreteRun
        theta_k and the memory states for k = 0..K at t = alpha k; ``nfev`` = K.

    Raises
    ------
    ValueError
        ``steps``, ``m0`` or ``v0`` out of range.
    DivergenceError
        A state became NaN or inf; ``k`` is the step.
    """
    steps = check.count("steps", steps)
    m0 = check.start_state("m0", m0, model.n)
    v0 = check.start_state("v0", v0, model.nm, nonnegative=True)
    objective = model.objective
    loop = _recursion if objective.jitted else _plain_recursion
    theta, m, v, bad = loop(objective.grad, objective.params, model.theta0, m0, v0, steps,
                            *_coefficients(model))
    if bad >= 0:
        raise DivergenceError(
            f"{model.algorithm}: the state (theta, G, v or m) became non-finite at k = {bad} "
            f"(alpha = {model.alpha}, {model.params}); the last finite iterate is "
            f"theta_{bad - 1} = {theta[bad - 1]}", k=bad)
    states = {} if not model.has_v else {model.memory_name: v}
    if model.has_m:
        states["m"] = m
    t = output_times(model.alpha, model.alpha * steps)
    samples = Trajectory(t=t, theta=theta, **states)
    return DiscreteRun(t=t, theta=theta, **states, algorithm=model.algorithm, alpha=model.alpha,
                       params=model.params, success=True, status=0,
                       message="The run completed.", nfev=steps,
                       sol=StepSamples(samples=samples, alpha=model.alpha))


def gd(objective: Objective | tuple, theta0, *, alpha: float, steps: int) -> DiscreteRun:
    """Gradient descent, theta_k = theta_{k-1} - alpha g_k: the memoryless baseline.

    Parameters and errors as in :func:`adagrad`; the result has no memory states.
    """
    return run(build("gd", objective, theta0, alpha=alpha), steps)


def adagrad(objective: Objective | tuple, theta0, *, alpha: float, steps: int, eps: float = 1e-8,
            per_coordinate: bool = False) -> DiscreteRun:
    """AdaGrad, Algorithm 1 of the paper.

    G_k = G_{k-1} + ||g_k||^2 and theta_k = theta_{k-1} - alpha g_k / (sqrt(G_k) + eps), from
    G_0 = 0 (g_k^2 per coordinate with ``per_coordinate=True``).

    Parameters
    ----------
    objective : Objective or (value, grad) pair
        f and its gradient (:mod:`idebook.objectives`).
    theta0 : float or array_like
        The start theta_0, real and finite, of the objective's dimension.
    alpha : float
        Learning rate, > 0.
    steps : int
        Number of steps K >= 0.
    eps : float
        Added to sqrt(G_k), >= 0; with eps = 0 a zero gradient gives a zero step (0/0 = 0).
    per_coordinate : bool
        False: the paper's memory of the squared gradient norm; True: one per coordinate.

    Returns
    -------
    DiscreteRun
        ``t`` = alpha k, ``theta`` and ``G`` for k = 0..K.

    Raises
    ------
    ValueError
        A parameter out of range (named, with its range), or a gradient of the wrong shape.
    TypeError
        A gradient that returns None or non-numbers.
    DivergenceError
        theta or G became NaN or inf (``k`` is the step).

    References
    ----------
    Heredia (2024), Algorithm 1; its continuous model is Proposition 1, eq. (3).
    """
    return run(build("adagrad", objective, theta0, alpha=alpha, eps=eps,
                     per_coordinate=per_coordinate), steps)


def rmsprop(objective: Objective | tuple, theta0, *, alpha: float, beta: float = 0.9, steps: int,
            eps: float = 1e-8, per_coordinate: bool = False) -> DiscreteRun:
    """RMSProp, Algorithm 2 of the paper.

    v_k = beta v_{k-1} + (1 - beta) ||g_k||^2 and theta_k = theta_{k-1} - alpha g_k /
    (sqrt(v_k) + eps), from v_0 = 0.

    Parameters
    ----------
    objective, theta0, alpha, steps, eps, per_coordinate
        As in :func:`adagrad`.
    beta : float
        The decay rate beta in [0, 1) of v.

    Returns
    -------
    DiscreteRun
        ``t`` = alpha k, ``theta`` and ``v`` for k = 0..K.

    Raises
    ------
    ValueError, TypeError, DivergenceError
        As in :func:`adagrad`.

    References
    ----------
    Heredia (2024), Algorithm 2; its continuous model is Proposition 2, eq. (4).
    """
    return run(build("rmsprop", objective, theta0, alpha=alpha, beta=beta, eps=eps,
                     per_coordinate=per_coordinate), steps)


def adam(objective: Objective | tuple, theta0, *, alpha: float, beta1: float = 0.9,
         beta2: float = 0.999, steps: int, eps: float = 1e-8, per_coordinate: bool = False,
         weight_decay: float = 0.0, l2: float = 0.0) -> DiscreteRun:
    """Adam, Algorithm 3 of the paper (and AdamW, AdamL2).

    m_k = beta1 m_{k-1} + (1 - beta1) g_k, v_k = beta2 v_{k-1} + (1 - beta2) ||g_k||^2 and
    theta_k = (1 - w) theta_{k-1} - alpha mhat_k / (sqrt(vhat_k) + eps) with the bias-corrected
    moments mhat_k = m_k/(1 - beta1^k), vhat_k = v_k/(1 - beta2^k).

    Parameters
    ----------
    objective, theta0, alpha, steps, eps, per_coordinate
        As in :func:`adagrad`.
    beta1, beta2 : float
        Decay rates of the first and second moments, in [0, 1).
    weight_decay : float
        AdamW's decoupled weight decay w, in [0, 1).
    l2 : float
        AdamL2's penalty lambda >= 0: g_k = grad f(theta_{k-1}) + (lambda/2) theta_{k-1}.

    Returns
    -------
    DiscreteRun
        ``t`` = alpha k, ``theta``, ``m`` and ``v`` for k = 0..K.

    Raises
    ------
    ValueError, TypeError, DivergenceError
        As in :func:`adagrad`; ValueError also for beta1, beta2, weight_decay or l2.

    References
    ----------
    Heredia (2024), Algorithm 3 and Section 3 (AdamW, AdamL2); its continuous model is
    Proposition 3, eq. (5)-(6).
    """
    return run(build("adam", objective, theta0, alpha=alpha, beta1=beta1, beta2=beta2, eps=eps,
                     per_coordinate=per_coordinate, weight_decay=weight_decay, l2=l2), steps)
