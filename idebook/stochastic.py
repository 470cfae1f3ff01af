"""Minibatch (stochastic) gradients for AdaGrad, RMSProp and Adam, seeded and reproducible.

The finite-sum objectives of :mod:`idebook.objectives`,

    f(theta) = (1/N) sum_i l_i(theta) + (reg/2) ||theta||^2,
    loss="mse":       l_i = (y_i - x_i . theta)^2           (objectives.mse_line, reg = 0)
    loss="logistic":  l_i = log(1 + exp(-y_i x_i . theta))  (objectives.logistic, y_i = +-1)

are optimised with the gradient of a random batch B_k of ``batch_size`` = B distinct samples,
drawn uniformly and independently at every step k:

    ghat_k = grad f_{B_k}(theta_{k-1}),   f_B = (1/B) sum_{i in B} l_i + (reg/2) ||theta||^2,

that is, the gradient of the same objective built on the batch's samples. It is unbiased,
E[ghat_k | theta_{k-1}] = grad f(theta_{k-1}), with covariance ((N - B)/(N - 1)) Sigma / B,
Sigma the covariance of the per-sample gradients; B = N is the full-batch gradient.

The update is the recursion of :mod:`idebook.discrete` (Algorithms 1-3) with ghat_k in place of
g_k, and it is run by that module's own compiled loop, not a copy of it: :func:`minibatch_run`
hands ``discrete.<algorithm>`` a *gradient oracle*, an :class:`~idebook.objectives.Objective`
whose jitted gradient returns the minibatch gradient of the next batch of a schedule drawn up
front (:func:`batch_indices`) and advances a counter kept in its ``params[0]``. This relies on
one documented property of the discrete loop: it evaluates the gradient exactly once per step,
at theta_{k-1}, for k = 1, ..., steps in order. :func:`minibatch_run` checks the count after
every run, and ``tests/test_stochastic.py`` checks the order against a hand-written recursion.

The continuous counterpart is the model driven by the averaged (full-batch) gradient,
:func:`continuous_model`; :func:`seed_average` gives the mean and spread of theta_k over seeds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numba
import numpy as np
from numba import types

from . import _validation as check
from . import continuous, discrete
from ._jit import GRAD_SIGNATURE
from .model import Model, build
from .objectives import Objective, _logistic_grad, _quadratic_grad, logistic, mse_line
from .results import ContinuousRun, DiscreteRun

__all__ = [
    "ALGORITHMS",
    "LOSSES",
    "SeedAverage",
    "batch_indices",
    "continuous_model",
    "minibatch_gradient",
    "minibatch_run",
    "objective",
    "seed_average",
    "stationary_spread",
    "teacher_logistic",
]

ALGORITHMS = ("adagrad", "rmsprop", "adam")
LOSSES = ("mse", "logistic")

_MSE, _LOGISTIC = 0, 1
# Layout of the oracle's params: counter k, loss code, n, B, steps, reg, N, then X (N*n, row
# major), y (N) and the batch schedule (steps*B indices, stored exactly as floats).
_K, _LOSS, _DIM, _BATCH, _STEPS, _REG, _N, _HEADER = range(8)


# ---------------------------------------------------------------------------------------------
# compiled kernels
# ---------------------------------------------------------------------------------------------
@numba.njit(types.int64[:, ::1](types.int64, types.int64[:, ::1]), cache=True)
def _partial_shuffles(n_samples, offsets):
    """Row k: the first B entries of a partial Fisher-Yates shuffle with swaps j <-> j + offset.

    Whatever the arrangement left by the previous rows, B swaps with independent uniform offsets
    in [0, N - j) select a uniform random sample of B distinct indices, independent of the past.
    """
    steps, batch = offsets.shape
    perm = np.arange(n_samples)
    out = np.empty((steps, batch), dtype=np.int64)
    for k in range(steps):
        for j in range(batch):
            r = j + offsets[k, j]
            perm[j], perm[r] = perm[r], perm[j]
            out[k, j] = perm[j]
    return out


@numba.njit(cache=True)
def _batch_grad(theta, X, y, idx, loss, reg):
    """grad f_B(theta) for the batch ``idx``: the objective's own gradient on the batch's data.

    MSE: 2 (A_B theta - b_B), A_B = X_B^T X_B / B, b_B = X_B^T y_B / B (``_quadratic_grad``);
    logistic: ``_logistic_grad`` on (reg, X_B, y_B).
    """
    n = theta.shape[0]
    batch = idx.shape[0]
    if loss == _MSE:
        p = np.zeros(n * n + n)
        for r in range(batch):
            i = idx[r]
            for a in range(n):
                for b in range(n):
                    p[a * n + b] += X[i, a] * X[i, b]
                p[n * n + a] += X[i, a] * y[i]
        return _quadratic_grad(theta, p / batch)
    p = np.empty(1 + batch * (n + 1))
    p[0] = reg
    for r in range(batch):
        i = idx[r]
        for a in range(n):
            p[1 + r * n + a] = X[i, a]
        p[1 + batch * n + r] = y[i]
    return _logistic_grad(theta, p)


@numba.njit(GRAD_SIGNATURE, cache=True)
def _oracle_grad(theta, params):
    """The minibatch gradient of batch k = params[0] of the schedule in ``params``; k += 1.

    Past the end of the schedule it returns NaN, which the discrete loop reports as divergence.
    """
    n = theta.shape[0]
    k = int(params[_K])
    params[_K] += 1.0
    batch, steps, N = int(params[_BATCH]), int(params[_STEPS]), int(params[_N])
    if k >= steps:
        return np.full(n, np.nan)
    X = params[_HEADER:_HEADER + N * n].reshape((N, n))
    y = params[_HEADER + N * n:_HEADER + N * (n + 1)]
    start = _HEADER + N * (n + 1) + k * batch
    idx = params[start:start + batch].astype(np.int64)
    return _batch_grad(theta, X, y, idx, int(params[_LOSS]), params[_REG])


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
def objective(X: np.ndarray, y: np.ndarray, loss: str = "mse", reg: float = 0.0) -> Objective:
    """The full-batch objective f of the data: ``mse_line(X, y)`` or ``logistic(X, y, reg)``.

    Parameters
    ----------
    X : numpy.ndarray
        Features, (N,) (one feature: the paper's line y = theta x, Appendix B) or (N, n).
    y : numpy.ndarray
        Targets (mse) or labels in {-1, +1} (logistic), shape (N,).
    loss : {"mse", "logistic"}
        The per-sample loss.
    reg : float
        Ridge penalty >= 0 (logistic only).

    Returns
    -------
    Objective
        The mean loss over the N samples.

    Raises
    ------
    ValueError
        An unknown loss, reg with loss="mse", mismatched or non-finite data, or bad labels.
    """
    X, y, loss, reg = _data(X, y, loss, reg)
    return mse_line(X, y) if loss == "mse" else logistic(X, y, reg)


def batch_indices(n_samples: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """The batch schedule: row k - 1 is the batch B_k of step k.

    Each row holds ``batch_size`` distinct indices in [0, n_samples), a uniform random sample
    without replacement, independent of the other rows. All rows come from
    ``np.random.default_rng(seed)``, so a seed always gives the same schedule.

    Parameters
    ----------
    n_samples : int
        N >= 1.
    batch_size : int
        B in [1, N].
    steps : int
        Number of steps >= 0.
    seed : int
        Seed >= 0.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (steps, batch_size).

    Raises
    ------
    ValueError
        An argument out of range.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    batch_size = _batch_size(batch_size, int(n_samples))
    steps = check.count("steps", steps)
    rng = np.random.default_rng(_seed(seed))
    high = int(n_samples) - np.arange(batch_size, dtype=np.int64)
    offsets = rng.integers(0, high, size=(steps, batch_size), dtype=np.int64)
    return _partial_shuffles(int(n_samples), np.ascontiguousarray(offsets))


def minibatch_gradient(theta: np.ndarray | float, X: np.ndarray, y: np.ndarray,
                       indices: np.ndarray, loss: str = "mse", reg: float = 0.0) -> np.ndarray:
    """grad f_B(theta) = (1/B) sum_{i in B} grad l_i(theta) + reg theta for a batch of indices.

    These are the gradients :func:`minibatch_run` uses (same kernel).

    Parameters
    ----------
    theta : float or numpy.ndarray
        The point, of dimension n.
    X, y, loss, reg
        The data and loss, as in :func:`objective`.
    indices : numpy.ndarray
        Integer indices in [0, N), shape (B,) for one batch or (R, B) for R batches.

    Returns
    -------
    numpy.ndarray
        One gradient of shape (n,), or (R, n) for R batches.

    Raises
    ------
    ValueError
        Bad data, theta or indices.
    """
    X, y, loss, reg = _data(X, y, loss, reg)
    N, n = X.shape
    theta = check.theta0_vector(theta, n)
    idx = np.asarray(indices)
    if idx.ndim not in (1, 2) or idx.shape[-1] == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices must be a non-empty integer array of shape (B,) or (R, B), "
                         f"got {idx.dtype} array of shape {idx.shape}")
    if idx.min() < 0 or idx.max() >= N:
        raise ValueError(f"indices must lie in [0, {N - 1}]")
    rows = np.ascontiguousarray(np.atleast_2d(idx), dtype=np.int64)
    code = _MSE if loss == "mse" else _LOGISTIC
    out = np.array([_batch_grad(theta, X, y, row, code, reg) for row in rows])
    return out[0] if idx.ndim == 1 else out


def minibatch_run(algorithm: str, X: np.ndarray, y: np.ndarray, *, loss: str = "mse",
                  theta0: np.ndarray | float, alpha: float, batch_size: int, steps: int,
                  seed: int, reg: float = 0.0, v0: np.ndarray | float | None = None,
                  **params: float | bool) -> DiscreteRun:
    """AdaGrad, RMSProp or Adam (``idebook.discrete.<algorithm>``) driven by minibatch gradients.

    The recursion is Algorithms 1-3 with g_k replaced by ghat_k = grad f_{B_k}(theta_{k-1}):

        m_k = a1 m_{k-1} + b1 ghat_k,   v_k = a2 v_{k-1} + b2 ||ghat_k||^2 (or ghat_k^2),
        theta_k = theta_{k-1} - alpha mhat_k / (sqrt(vhat_k) + eps),

    with the batches B_k of ``batch_indices(N, batch_size, steps, seed)``. It is run by the
    package's one discrete recursion, which reads the model built from these arguments.

    Parameters
    ----------
    algorithm : {"adagrad", "rmsprop", "adam"}
    X, y, loss, reg
        The data and loss, as in :func:`objective`.
    theta0 : float or numpy.ndarray
        The start.
    alpha : float
        Learning rate, > 0.
    batch_size : int
        B in [1, N]; B = N is the full-batch gradient, and the run is then exactly
        ``discrete.<algorithm>(objective(X, y, loss, reg), ...)``, with no sampling.
    steps : int
        Number of steps >= 0.
    seed : int
        Seed of the batch schedule, >= 0.
    v0 : float or numpy.ndarray, optional
        A warm start of the memory v_0 (G_0 for AdaGrad), as in :func:`idebook.discrete.run`;
        default 0, the paper's start.
    **params
        The algorithm's own keywords (beta; beta1, beta2, weight_decay, l2; eps,
        per_coordinate).

    Returns
    -------
    DiscreteRun
        Its ``params`` also record loss, batch_size, seed and reg.

    Raises
    ------
    ValueError, TypeError, DivergenceError
        As in :func:`idebook.discrete.adagrad`.
    """
    _algorithm(algorithm)
    X, y, loss, reg = _data(X, y, loss, reg)
    N, n = X.shape
    batch_size = _batch_size(batch_size, N)
    steps = check.count("steps", steps)
    seed = _seed(seed)
    full = objective(X, y, loss, reg)
    if batch_size == N:
        run = discrete.run(_model(algorithm, full, theta0, alpha, params), steps, v0=v0)
    else:
        schedule = batch_indices(N, batch_size, steps, seed)
        header = np.zeros(_HEADER)
        header[[_LOSS, _DIM, _BATCH, _STEPS, _REG, _N]] = (
            _MSE if loss == "mse" else _LOGISTIC, n, batch_size, steps, reg, N)
        oracle = Objective(full.value, _oracle_grad,
                           np.concatenate([header, X.ravel(), y, schedule.ravel()]),
                           n, full.minimizer, f"minibatch {full.name}")
        run = discrete.run(_model(algorithm, oracle, theta0, alpha, params), steps, v0=v0)
        if oracle.params[_K] != steps:  # the contract stated in the module docstring
            raise RuntimeError(f"the discrete loop evaluated the gradient {oracle.params[_K]:g} "
                               f"times in {steps} steps; minibatch runs need exactly one per step")
    extra = {"loss": loss, "batch_size": batch_size, "seed": seed, "reg": reg}
    return replace(run, params={**run.params, **extra})


def continuous_model(algorithm: str, X: np.ndarray, y: np.ndarray, *, loss: str = "mse",
                     theta0: np.ndarray | float, alpha: float, t_end: float, reg: float = 0.0,
                     **params: float | bool | str) -> ContinuousRun:
    """The averaged-gradient model: Proposition 1, 2 or 3 driven by the full-batch gradient.

    It is ``idebook.continuous.<algorithm>(objective(X, y, loss, reg), ...)``: the expectation of
    ghat_k replaces ghat_k, and the noise is dropped.

    Parameters
    ----------
    algorithm : {"adagrad", "rmsprop", "adam"}
        The model of Proposition 1, 2 or 3.
    X, y, loss, reg
        The data and loss, as in :func:`objective`.
    theta0 : float or numpy.ndarray
        theta(0).
    alpha : float
        Learning rate alpha > 0 (the memory's time scale).
    t_end : float
        Horizon, >= 0.
    **params
        Passed on (beta, beta1, beta2, eps, per_coordinate, tol, method, ...).

    Returns
    -------
    ContinuousRun

    Raises
    ------
    ValueError, TypeError, DivergenceError
        As in :func:`idebook.continuous.adagrad`.

    References
    ----------
    Heredia (2024), Propositions 1-3.
    """
    _algorithm(algorithm)
    solve = getattr(continuous, algorithm)
    return solve(objective(X, y, loss, reg), theta0, alpha=alpha, t_end=t_end, **params)


def teacher_logistic(n_samples: int = 400, dim: int = 10, seed: int = 0, scale: float = 1.0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded synthetic data for logistic regression in R^dim, labelled by a random teacher.

    Features x_i = (z_i, 1) with z_i ~ N(0, I_{dim-1}) (the last column is the intercept); a
    teacher w ~ N(0, scale^2 I_dim); labels y_i = +1 with probability 1 / (1 + exp(-x_i . w)),
    else -1. Everything comes from ``numpy.random.default_rng(seed)``, in that order.

    Parameters
    ----------
    n_samples : int
        N >= 1.
    dim : int
        n >= 2, the number of parameters (features plus intercept).
    seed : int
        Seed >= 0.
    scale : float
        The teacher's standard deviation, > 0 (larger: cleaner labels).

    Returns
    -------
    tuple of numpy.ndarray
        X (N, n), y (N,) in {-1, +1}, and the teacher w (n,).

    Raises
    ------
    ValueError
        An argument out of range.
    """
    n_samples = check.count("n_samples", n_samples, minimum=1)
    dim = check.count("dim", dim, minimum=2)
    scale = check.positive("scale", scale)
    rng = np.random.default_rng(_seed(seed))
    X = np.column_stack([rng.standard_normal((n_samples, dim - 1)), np.ones(n_samples)])
    w = scale * rng.standard_normal(dim)
    y = np.where(rng.random(n_samples) < 1.0 / (1.0 + np.exp(-(X @ w))), 1.0, -1.0)
    return X, y, w


@dataclass(frozen=True, kw_only=True, eq=False)
class SeedAverage:
    """Minibatch runs of one configuration over several seeds, and their mean and spread.

    Attributes
    ----------
    t : numpy.ndarray
        The times alpha k, shape (K,).
    theta : numpy.ndarray
        Run r, step k, coordinate: shape (R, K, n).
    mean, std : numpy.ndarray
        Mean and sample standard deviation (ddof = 1; zero for one seed) over the R seeds,
        shape (K, n).
    seeds : tuple of int
        The seeds.
    algorithm : str
    alpha : float
    batch_size : int
    """

    t: np.ndarray
    theta: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    seeds: tuple[int, ...]
    algorithm: str
    alpha: float
    batch_size: int

    @property
    def k(self) -> np.ndarray:
        """The iteration counter k = t / alpha."""
        return np.arange(self.t.size)


def seed_average(algorithm: str, X: np.ndarray, y: np.ndarray, *, loss: str = "mse",
                 theta0: np.ndarray | float, alpha: float, batch_size: int, steps: int,
                 seeds: int | Sequence[int] = 20, reg: float = 0.0,
                 **params: float | bool) -> SeedAverage:
    """:func:`minibatch_run` for each seed, with the mean and spread of theta_k over seeds.

    Parameters
    ----------
    algorithm, X, y, loss, theta0, alpha, batch_size, steps, reg, **params
        As in :func:`minibatch_run`.
    seeds : int or sequence of int
        R (meaning seeds 0, ..., R - 1) or the seeds themselves.

    Returns
    -------
    SeedAverage

    Raises
    ------
    ValueError
        As in :func:`minibatch_run`, or an empty or invalid list of seeds.
    """
    seeds = _seed_list(seeds)
    runs = [minibatch_run(algorithm, X, y, loss=loss, theta0=theta0, alpha=alpha,
                          batch_size=batch_size, steps=steps, seed=s, reg=reg, **params)
            for s in seeds]
    theta = np.stack([r.theta for r in runs])
    std = theta.std(axis=0, ddof=1) if len(seeds) > 1 else np.zeros_like(theta[0])
    return SeedAverage(t=runs[0].t, theta=theta, mean=theta.mean(axis=0), std=std, seeds=seeds,
                       algorithm=runs[0].algorithm, alpha=runs[0].alpha,
                       batch_size=runs[0].params["batch_size"])


def stationary_spread(theta: np.ndarray, fraction: float = 0.5) -> float:
    """The root-mean-square fluctuation of theta_k about its own mean over the last part of a run.

    Over the last ``fraction`` of the K iterates,
    sqrt(mean_{r, k, i} (theta_{r,k,i} - mean_k theta_{r,k,i})^2), each run about its own tail
    mean, pooled over runs and coordinates. For n = 1 it is the pooled standard deviation.

    Parameters
    ----------
    theta : numpy.ndarray
        One trajectory (K, n) or several (R, K, n), K >= 2.
    fraction : float
        The tail's share of the run, in (0, 1].

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A wrong shape or fraction.
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim == 2:
        theta = theta[None]
    if theta.ndim != 3 or theta.shape[1] < 2:
        raise ValueError(f"theta must have shape (K, n) or (R, K, n) with K >= 2, got "
                         f"{theta.shape}")
    if not (isinstance(fraction, (int, float)) and 0.0 < fraction <= 1.0):
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    K = theta.shape[1]
    tail = theta[:, K - max(2, int(round(fraction * K))):]
    return float(np.sqrt(np.mean((tail - tail.mean(axis=1, keepdims=True)) ** 2)))


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
def _algorithm(name: str) -> Callable[..., DiscreteRun]:
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {name!r}")
    return getattr(discrete, name)


def _model(algorithm: str, objective: Objective, theta0, alpha: float, params: dict) -> Model:
    """``build`` with exactly the keywords ``discrete.<algorithm>`` accepts (TypeError else)."""
    allowed = inspect.signature(getattr(discrete, algorithm)).parameters
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise TypeError(f"{algorithm} got unexpected keyword arguments {unknown}")
    return build(algorithm, objective, theta0, alpha=alpha, **params)


def _data(X, y, loss: str, reg: float) -> tuple[np.ndarray, np.ndarray, str, float]:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    reg = check.nonnegative("reg", reg)
    if loss == "mse" and reg != 0.0:
        raise ValueError(f"reg applies to loss='logistic' only, got reg={reg!r} with loss='mse'")
    X = np.asarray(X, dtype=float)
    X = np.ascontiguousarray(X.reshape(-1, 1) if X.ndim == 1 else X)
    y = np.ascontiguousarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be (N,) or (N, n) and y (N,) with N >= 1, got shapes "
                         f"{X.shape} and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    if loss == "logistic" and not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("y must hold labels -1 and +1 for loss='logistic'")
    return X, y, loss, reg


def _batch_size(batch_size: int, n_samples: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or not 1 <= batch_size <= n_samples:
        raise ValueError(f"batch_size must be an integer in [1, {n_samples}] (the number of "
                         f"samples), got {batch_size!r}")
    return int(batch_size)


def _seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _seed_list(seeds: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a count >= 1 or a non-empty sequence of seeds, "
                             f"got {seeds!r}")
        return tuple(range(int(seeds)))
    try:
        out = tuple(_seed(s) for s in seeds)
    except TypeError:
        raise ValueError(f"seeds must be a count >= 1 or a sequence of seeds, got {seeds!r}"
                         ) from None
    if not out:
        raise ValueError("seeds must not be empty")
    return out
