"""One model description: an optimiser, its parameters, the objective and the start.

A :class:`Model` is built once, by :func:`build`, which validates every argument. It carries
every coefficient the discrete recursion (Algorithms 1-3), the continuous models
(Propositions 1-3, eq. (3)-(6)) and their ODE forms need, so :mod:`idebook.discrete`,
:mod:`idebook.continuous` (both methods), :mod:`idebook.modified` and :mod:`idebook.stochastic`
read the same numbers. The module also holds the small pieces every method shares:
``bias_factor`` and ``bias_ratio``, Adam's bias correction 1 - beta^(t/alpha) and the
bias-corrected moment x/(1 - beta^(t/alpha)) of eq. (6); ``step_ratio``, the step's division
with 0/0 = 0; and ``output_times``, the times t = alpha k at which every result is reported.

The three ufuncs are compiled into the cached loops of :mod:`idebook.discrete`,
``idebook._fast`` and ``idebook._paper``. Numba's on-disk cache checks only the timestamp of
the file that holds a loop, so after editing them here, clear the cache (``__pycache__`` or
``NUMBA_CACHE_DIR``) so that those loops are compiled again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from . import _validation as check
from .objectives import Objective, as_objective

ALGORITHMS = ("gd", "adagrad", "rmsprop", "adam")


@numba.vectorize(["float64(float64, float64, float64)"], cache=True)
def bias_factor(t: float, alpha: float, ln_beta: float) -> float:
    """Adam's bias correction in continuous time, 1 - beta^(t/alpha) (eq. (6) of the paper).

    Parameters
    ----------
    t : float or numpy.ndarray
        Time, >= 0; at t = alpha k the factor is the discrete 1 - beta^k.
    alpha : float
        Learning rate.
    ln_beta : float
        ln(beta); ``-inf`` (beta = 0) gives 1 for t > 0.

    Returns
    -------
    float or numpy.ndarray
        The factor, 0 at t = 0 (a numpy ufunc, also callable inside numba).
    """
    if t <= 0.0:
        return 0.0
    return -math.expm1(t / alpha * ln_beta)


@numba.vectorize(["float64(float64, float64, float64, float64, float64)"], cache=True)
def bias_ratio(x: float, forcing: float, t: float, alpha: float, ln_beta: float) -> float:
    """Adam's bias-corrected moment x / (1 - beta^(t/alpha)), eq. (6) of the paper.

    Parameters
    ----------
    x : float or ndarray
        The moment m(t) or v(t), with x(0) = 0.
    forcing : float or ndarray
        x'(0), used at t = 0, where the ratio takes its limit ``forcing * alpha / (-ln beta)``.
    t : float or ndarray
        Time, >= 0.
    alpha : float
        Learning rate (the time step of Assumption 1).
    ln_beta : float
        ln(beta). ``-inf`` (beta = 0, or the bias correction switched off) returns ``x``.

    Returns
    -------
    float or ndarray
        The ratio, broadcast over the arguments (a numpy ufunc, also callable inside numba).
    """
    if ln_beta == -np.inf:
        return x
    if t <= 0.0:
        return forcing * alpha / (-ln_beta)
    return x / bias_factor(t, alpha, ln_beta)


@numba.vectorize(["float64(float64, float64)"], cache=True)
def step_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator with 0/0 = 0: a zero gradient (or moment) gives a zero step.

    Every method divides the step direction by sqrt(v) + eps; with ``eps = 0`` and a zero
    gradient (a start at a minimiser, or a coordinate at its optimum with ``per_coordinate``)
    that is 0/0, which every method of the package defines as 0.
    """
    if numerator == 0.0:
        return 0.0
    return numerator / denominator


def output_times(alpha: float, t_end: float) -> np.ndarray:
    """The reporting times t_k = alpha k, k = 0..K with alpha K <= t_end, then t_end itself.

    Assumption 1 of the paper identifies step k with time alpha k. ``t_end`` counts as the
    multiple alpha K when t_end/alpha is within 1e-9 (relative) of the integer K; otherwise
    it is appended as a last, shorter step.

    Parameters
    ----------
    alpha : float
        The step, > 0.
    t_end : float
        The horizon, >= 0.

    Returns
    -------
    ndarray
        The increasing times, shape (K + 1,) or (K + 2,).
    """
    K, on_grid = _whole_steps(alpha, t_end)
    t = alpha * np.arange(K + 1)
    return t if on_grid else np.append(t, t_end)


def output_intervals(alpha: float, t_end: float) -> int:
    """``output_times(alpha, t_end).size - 1``, counted without making the times.

    The solvers use it to price a request (memory, work) before they allocate anything;
    ``alpha`` and ``t_end`` are as in :func:`output_times`.
    """
    K, on_grid = _whole_steps(alpha, t_end)
    return K if on_grid else K + 1


def _whole_steps(alpha: float, t_end: float) -> tuple[int, bool]:
    """(K, whether t_end is alpha K): the whole steps of alpha in [0, t_end]."""
    ratio = t_end / alpha
    nearest = round(ratio)
    on_grid = abs(ratio - nearest) <= 1e-9 * max(1.0, ratio)
    return (nearest if on_grid else math.floor(ratio)), on_grid


@dataclass(frozen=True, kw_only=True, eq=False)
class Model:
    """One optimiser (gradient descent, AdaGrad, RMSProp or Adam) on one objective.

    Build it with :func:`build`, which validates every field. ``beta1`` is Adam's first-moment
    rate and ``beta2`` the squared-gradient rate (RMSProp's beta, Adam's beta2); the rates an
    algorithm does not have are 0.

    Attributes
    ----------
    algorithm : str
        ``"gd"``, ``"adagrad"``, ``"rmsprop"`` or ``"adam"``.
    objective : Objective
        f and its gradient.
    theta0 : numpy.ndarray
        The start, of shape (n,).
    alpha, beta1, beta2, eps : float
        Learning rate, decay rates and the denominator's epsilon.
    per_coordinate : bool
        False: the paper's memory of the squared gradient *norm*; True: one per coordinate.
    weight_decay, l2 : float
        AdamW's decoupled decay w and AdamL2's penalty lambda (Adam only, Section 3).
    bias : bool
        Adam's bias correction 1 - beta^k (eq. (6)); False gives the late-time map.
    """

    algorithm: str
    objective: Objective
    theta0: np.ndarray
    alpha: float
    beta1: float
    beta2: float
    eps: float
    per_coordinate: bool
    weight_decay: float
    l2: float
    bias: bool

    @property
    def n(self) -> int:
        """The dimension of theta."""
        return self.theta0.size

    @property
    def nm(self) -> int:
        """The number of columns of the squared-gradient memory (n per coordinate, else 1)."""
        return self.n if self.per_coordinate else 1

    @property
    def has_m(self) -> bool:
        """Adam keeps a first moment m; the others step along g itself."""
        return self.algorithm == "adam"

    @property
    def has_v(self) -> bool:
        """Every algorithm but gradient descent divides by a squared-gradient memory."""
        return self.algorithm != "gd"

    @property
    def shifted(self) -> bool:
        """Propositions 1-2 evaluate the memory at t + alpha; Proposition 3 at t."""
        return self.algorithm in ("adagrad", "rmsprop")

    @property
    def c1(self) -> float:
        """Weight (= decay) of the first-moment kernel K_1, (1 - beta1)/alpha (Prop. 3)."""
        return (1.0 - self.beta1) / self.alpha

    @property
    def c2(self) -> float:
        """Weight c of the squared-gradient kernel K(t) = c exp(-d t) (Props. 1-3)."""
        return 1.0 / self.alpha if self.algorithm == "adagrad" else (1.0 - self.beta2) / self.alpha

    @property
    def d2(self) -> float:
        """Decay d of the squared-gradient kernel (0 for AdaGrad's constant kernel)."""
        return 0.0 if self.algorithm == "adagrad" else (1.0 - self.beta2) / self.alpha

    @property
    def recursion(self) -> tuple[float, float, float, float]:
        """(a1, b1, a2, b2) of m_k = a1 m_{k-1} + b1 g_k, v_k = a2 v_{k-1} + b2 q_k."""
        if self.algorithm in ("gd", "adagrad"):
            return 0.0, 1.0, 1.0, 1.0
        return self.beta1, 1.0 - self.beta1, self.beta2, 1.0 - self.beta2

    @property
    def ln_beta1(self) -> float:
        """ln(beta1) for ``bias_ratio``; -inf when there is no correction to make."""
        return _ln_beta(self.beta1, self.bias and self.has_m)

    @property
    def ln_beta2(self) -> float:
        """ln(beta2) for ``bias_ratio``; -inf when there is no correction to make."""
        return _ln_beta(self.beta2, self.bias and self.has_m)

    @property
    def memory_name(self) -> str:
        """G for AdaGrad's accumulated squares, v otherwise."""
        return "G" if self.algorithm == "adagrad" else "v"

    @property
    def params(self) -> dict:
        """The parameters a result reports (besides algorithm and alpha)."""
        if self.has_m:
            params = {"beta1": self.beta1, "beta2": self.beta2,
                      "weight_decay": self.weight_decay, "l2": self.l2}
            if not self.bias:
                params["bias"] = False
        else:
            params = {"beta": self.beta2} if self.algorithm == "rmsprop" else {}
        return dict(params, eps=self.eps, per_coordinate=self.per_coordinate)


def build(algorithm: str, objective: Objective | tuple, theta0, *, alpha: float,
          beta: float = 0.9, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
          per_coordinate: bool = False, weight_decay: float = 0.0, l2: float = 0.0,
          bias: bool = True) -> Model:
    """Validate the arguments once and return the :class:`Model`.

    Parameters
    ----------
    algorithm : {"gd", "adagrad", "rmsprop", "adam"}
    objective : Objective or (value, grad) pair
    theta0 : float or array_like
        The start, a real finite scalar or 1-D array (of the objective's dimension).
    alpha : float
        Learning rate, > 0.
    beta : float
        RMSProp's decay rate, in [0, 1) (Algorithm 2); ignored by the others.
    beta1, beta2 : float
        Adam's decay rates, in [0, 1) (Algorithm 3); ignored by the others.
    eps : float
        The denominator's epsilon, >= 0 (0/0 is defined as 0, see ``step_ratio``).
    per_coordinate : bool
        Per-coordinate squared-gradient memory instead of the paper's norm memory.
    weight_decay : float
        AdamW's decoupled weight decay w, in [0, 1) (Adam only).
    l2 : float
        AdamL2's penalty lambda >= 0, adding (lambda/2) theta to the gradient (Adam only).
    bias : bool
        Adam's bias correction (eq. (6)); False is the late-time map.

    Returns
    -------
    Model

    Raises
    ------
    ValueError
        An argument out of range, naming the parameter and the allowed range.
    TypeError
        The gradient returns None or non-numbers at theta0.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    objective = as_objective(objective)
    alpha = check.positive("alpha", alpha)
    eps = check.nonnegative("eps", eps)
    theta0 = check.theta0_vector(theta0, objective.dim)
    b1 = b2 = w = lam = 0.0
    if algorithm == "rmsprop":
        b2 = check.unit_interval("beta", beta)
    elif algorithm == "adam":
        b1 = check.unit_interval("beta1", beta1)
        b2 = check.unit_interval("beta2", beta2)
        w = check.unit_interval("weight_decay", weight_decay)
        lam = check.nonnegative("l2", l2)
    check.first_gradient(objective, theta0)
    return Model(algorithm=algorithm, objective=objective, theta0=theta0, alpha=alpha,
                 beta1=b1, beta2=b2, eps=eps, per_coordinate=bool(per_coordinate),
                 weight_decay=w, l2=lam, bias=bool(bias))


def _ln_beta(beta: float, corrected: bool) -> float:
    return math.log(beta) if corrected and beta > 0.0 else -np.inf
