"""A small neural network on a real data set, as an :class:`~idebook.objectives.Objective`.

The network is a two-layer perceptron with a tanh hidden layer and a softmax output, trained by
full-batch gradients on the mean cross-entropy

    f(theta) = (1/N) sum_i [ logsumexp(z_i) - z_i[y_i] ],   z_i = W2 tanh(W1 x_i + b1) + b2,

with theta = (W1, b1, W2, b2) flattened row-major. Loss and gradient (back-propagation) are
compiled by numba, so the loops of :mod:`idebook.discrete` and :mod:`idebook.continuous` call
them at full speed. The data are scikit-learn's handwritten digits (``load_digits``, shipped with
the package: nothing is downloaded), a seeded subset, standardised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from . import _validation as check
from ._extras import missing_extra
from ._jit import GRAD_SIGNATURE
from .objectives import Objective
from .results import Trajectory

HEADER = 4  # params = (n_in, hidden, n_out, N, X row-major (N x n_in), labels (N))


def digits(n_samples: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded subset of scikit-learn's 8x8 handwritten digits, standardised.

    Every feature is centred and scaled by its mean and standard deviation over the subset;
    the pixels that are constant over the subset are dropped (8 of the 64 for the defaults),
    so that every input has unit variance on the training set.

    Parameters
    ----------
    n_samples : int
        Size of the subset, 10 to 1797.
    seed : int
        Seed of ``numpy.random.default_rng``, which draws the subset without replacement.

    Returns
    -------
    tuple of numpy.ndarray
        X of shape (n_samples, n_in), n_in <= 64, and the labels y in {0, ..., 9}, shape
        (n_samples,).

    Raises
    ------
    ValueError
        ``n_samples`` out of range.
    ModuleNotFoundError
        scikit-learn is not installed (it comes with the extra ``idebook[book]``).
    """
    try:
        from sklearn.datasets import load_digits
    except ModuleNotFoundError as error:
        raise missing_extra(error, "idebook.network.digits") from error
    data = load_digits()
    X, y = np.asarray(data.data, dtype=float), np.asarray(data.target, dtype=np.int64)
    n_samples = check.count("n_samples", n_samples, minimum=10)
    if n_samples > y.size:
        raise ValueError(f"n_samples must be <= {y.size}, got {n_samples}")
    rows = np.sort(np.random.default_rng(seed).choice(y.size, n_samples, replace=False))
    X, y = X[rows], y[rows]
    std = X.std(axis=0)
    keep = std > 0
    return (X[:, keep] - X[:, keep].mean(axis=0)) / std[keep], y


def parameter_count(n_in: int, hidden: int, n_out: int) -> int:
    """Number of weights and biases of the network n_in -> hidden -> n_out."""
    return hidden * n_in + hidden + n_out * hidden + n_out


@numba.njit(cache=True, error_model="numpy")
def _forward(theta, params, s, h, z):
    """Hidden units h and logits z of sample s (written in place); returns max(z)."""
    n_in, hidden, n_out = int(params[0]), int(params[1]), int(params[2])
    x = params[HEADER + s * n_in:HEADER + (s + 1) * n_in]
    o_b1 = hidden * n_in
    o_W2 = o_b1 + hidden
    o_b2 = o_W2 + n_out * hidden
    for j in range(hidden):
        a = theta[o_b1 + j]
        for i in range(n_in):
            a += theta[j * n_in + i] * x[i]
        h[j] = np.tanh(a)
    zmax = -np.inf
    for c in range(n_out):
        zc = theta[o_b2 + c]
        for j in range(hidden):
            zc += theta[o_W2 + c * hidden + j] * h[j]
        z[c] = zc
        zmax = max(zmax, zc)
    return zmax


@numba.njit(cache=True, error_model="numpy")
def _loss_and_grad(theta, params, want_grad):
    """(f(theta), g(theta)) of the mean cross-entropy; g is zeros unless ``want_grad``."""
    n_in, hidden, n_out, N = int(params[0]), int(params[1]), int(params[2]), int(params[3])
    labels = params[HEADER + N * n_in:]
    o_b1 = hidden * n_in
    o_W2 = o_b1 + hidden
    o_b2 = o_W2 + n_out * hidden
    g = np.zeros(theta.shape[0])
    h = np.empty(hidden)
    z = np.empty(n_out)
    dh = np.empty(hidden)
    loss = 0.0
    for s in range(N):
        zmax = _forward(theta, params, s, h, z)
        total = 0.0
        for c in range(n_out):
            total += np.exp(z[c] - zmax)
        label = int(labels[s])
        loss += zmax + np.log(total) - z[label]
        if not want_grad:
            continue
        for j in range(hidden):
            dh[j] = 0.0
        for c in range(n_out):
            dz = (np.exp(z[c] - zmax) / total - (1.0 if c == label else 0.0)) / N
            g[o_b2 + c] += dz
            for j in range(hidden):
                g[o_W2 + c * hidden + j] += dz * h[j]
                dh[j] += dz * theta[o_W2 + c * hidden + j]
        x = params[HEADER + s * n_in:HEADER + (s + 1) * n_in]
        for j in range(hidden):
            da = dh[j] * (1.0 - h[j] * h[j])
            g[o_b1 + j] += da
            for i in range(n_in):
                g[j * n_in + i] += da * x[i]
    return loss / N, g


@numba.njit(cache=True)
def _correct(theta, params):
    """The number of samples whose largest logit is the true label."""
    hidden, n_out, N = int(params[1]), int(params[2]), int(params[3])
    labels = params[HEADER + N * int(params[0]):]
    h = np.empty(hidden)
    z = np.empty(n_out)
    hits = 0
    for s in range(N):
        _forward(theta, params, s, h, z)
        hits += 1 if np.argmax(z) == int(labels[s]) else 0
    return hits


@numba.njit(GRAD_SIGNATURE, cache=True)
def _mlp_grad(theta, params):
    """The gradient of the mean cross-entropy (back-propagation)."""
    return _loss_and_grad(theta, params, True)[1]


def mlp(X: np.ndarray, y: np.ndarray, hidden: int = 16) -> Objective:
    """The mean cross-entropy of a tanh network n_in -> hidden -> n_out with a softmax output.

    Parameters
    ----------
    X : numpy.ndarray
        Inputs, shape (N, n_in).
    y : numpy.ndarray
        Integer labels 0..n_out-1, shape (N,); n_out = max(y) + 1.
    hidden : int
        Width of the hidden layer, >= 1.

    Returns
    -------
    Objective
        Of dimension :func:`parameter_count`, with theta = (W1, b1, W2, b2) flattened
        row-major (W1 of shape (hidden, n_in), W2 of shape (n_out, hidden)), a jitted value
        and gradient, and ``minimizer`` None.

    Raises
    ------
    ValueError
        Mismatched shapes, non-finite inputs, labels that are not integers >= 0, or
        ``hidden`` < 1.
    """
    X = np.asarray(X, dtype=float)
    labels = np.asarray(y)
    hidden = check.count("hidden", hidden, minimum=1)
    if X.ndim != 2 or labels.shape != (X.shape[0],) or X.shape[0] == 0:
        raise ValueError(f"X must be (N, n_in) and y (N,), got shapes {X.shape} and "
                         f"{labels.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite")
    if not (np.issubdtype(labels.dtype, np.integer) and labels.min() >= 0):
        raise ValueError("y must hold integer labels >= 0")
    N, n_in = X.shape
    n_out = int(labels.max()) + 1
    params = np.ascontiguousarray(np.concatenate(
        [[n_in, hidden, n_out, N], X.ravel(), labels.astype(float)]), dtype=np.float64)

    def value(theta: np.ndarray) -> float:
        return float(_loss_and_grad(np.ascontiguousarray(theta, dtype=float), params, False)[0])

    return Objective(value, _mlp_grad, params, parameter_count(n_in, hidden, n_out), None,
                     f"MLP {n_in}-{hidden}-{n_out}")


def initial_theta(objective: Objective, seed: int = 0) -> np.ndarray:
    """LeCun's initialisation for tanh: weights N(0, 1/fan_in), biases 0, seeded.

    Parameters
    ----------
    objective : Objective
        From :func:`mlp` (its ``params`` give the layer sizes).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        theta_0, of the objective's dimension.
    """
    n_in, hidden, n_out = (int(v) for v in objective.params[:3])
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal(hidden * n_in) / np.sqrt(n_in)
    W2 = rng.standard_normal(n_out * hidden) / np.sqrt(hidden)
    return np.concatenate([W1, np.zeros(hidden), W2, np.zeros(n_out)])


def losses(objective: Objective, theta: np.ndarray) -> np.ndarray:
    """f at every row of ``theta`` (shape (K + 1, n)): a loss curve."""
    return np.array([objective(row) for row in np.atleast_2d(theta)])


PREDICTIVE = 0.1
"""A model predicts a run when its loss gap max_k abs(f(theta_k) - f(theta(alpha k))) is below
PREDICTIVE * (f(theta_0) - f(theta_K))."""


@dataclass(frozen=True)
class Gap:
    """How far a continuous model is from a discrete run, on the discrete times t = alpha k.

    Attributes
    ----------
    theta : float
        max_k norm(theta_k - theta(alpha k)) / norm(theta_k), the relative gap in parameters.
    loss : float
        max_k abs(f(theta_k) - f(theta(alpha k))), the gap in training loss.
    decrease : float
        f(theta_0) - f(theta_K), what the discrete run gained.
    """

    theta: float
    loss: float
    decrease: float

    @property
    def predictive(self) -> bool:
        """True when the loss gap is below PREDICTIVE (10%) of the loss decrease."""
        return self.loss < PREDICTIVE * self.decrease


def gap(objective: Objective, discrete: Trajectory, model: Trajectory) -> Gap:
    """The :class:`Gap` between a discrete run and a continuous model sampled at its times.

    Parameters
    ----------
    objective : Objective
        The loss f.
    discrete : Trajectory
        The iterates theta_k at t = alpha k.
    model : Trajectory
        The continuous solution at the same times (``run.at(discrete.t)``).

    Returns
    -------
    Gap

    Raises
    ------
    ValueError
        The two trajectories are not on the same times.
    """
    if discrete.t.shape != model.t.shape or not np.allclose(discrete.t, model.t, rtol=1e-12):
        raise ValueError("discrete and model must be sampled at the same times")
    f_k, f_t = losses(objective, discrete.theta), losses(objective, model.theta)
    rel = np.linalg.norm(discrete.theta - model.theta, axis=1) / np.linalg.norm(
        discrete.theta, axis=1)
    return Gap(float(rel.max()), float(np.abs(f_k - f_t).max()), float(f_k[0] - f_k[-1]))


def accuracy(objective: Objective, theta: np.ndarray) -> float:
    """The fraction of the objective's samples (from :func:`mlp`) whose largest output is the
    true label."""
    theta = np.ascontiguousarray(theta, dtype=float)
    return _correct(theta, objective.params) / int(objective.params[3])
