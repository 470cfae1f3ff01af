"""The memory kernels of Propositions 1-3 and the linear ODEs whose Green's functions they are.

The model itself (the algorithm, its parameters and the coefficients derived from them) is
:class:`idebook.model.Model`.

Every memory state of the paper is  M(t) = int_0^t K(t - s) q(s) ds  with::

    AdaGrad (Prop. 1):  K(t) = 1/alpha                                   (G, q = ||g||^2)
    RMSProp (Prop. 2):  K(t) = (1-beta)/alpha  exp(-(1-beta) t/alpha)    (v, q = ||g||^2)
    Adam    (Prop. 3):  K_a(t) = (1-beta_a)/alpha exp(-(1-beta_a) t/alpha), a = 1 (m, q = g),
                        a = 2 (v, q = ||g||^2)

so K(t) = c exp(-d t) and M solves the linear ODE  M' = c q - d M,  M(0) = 0.  That is what
lets the solver update memory recursively, at O(1) cost per step, instead of re-integrating.
"""

from __future__ import annotations

import math

import numpy as np

from . import model


def kernel(t: np.ndarray, alpha: float, beta: float | None = None) -> np.ndarray:
    """The memory kernel K(t) of Propositions 1-3.

    K(t) = 1/alpha for AdaGrad (``beta=None``, Proposition 1) and
    K(t) = ((1 - beta)/alpha) exp(-(1 - beta) t/alpha) for RMSProp and Adam (Propositions 2-3).

    Parameters
    ----------
    t : float or numpy.ndarray
        Times (lags) >= 0.
    alpha : float
        Learning rate, > 0.
    beta : float, optional
        Decay rate in [0, 1); None for AdaGrad's constant kernel.

    Returns
    -------
    numpy.ndarray
        K(t), of the shape of ``t``.

    References
    ----------
    Heredia (2024), Propositions 1-3.
    """
    t = np.asarray(t, dtype=float)
    if beta is None:
        return np.full_like(t, 1.0 / alpha)
    rate = (1.0 - beta) / alpha
    return rate * np.exp(-rate * t)


def bias_factor(t: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Adam's bias correction in continuous time, 1 - beta^(t/alpha).

    Parameters
    ----------
    t : float or numpy.ndarray
        Times >= 0.
    alpha : float
        Learning rate, > 0.
    beta : float
        Decay rate in [0, 1); beta = 0 gives 1 for t > 0 and 0 at t = 0.

    Returns
    -------
    numpy.ndarray
        The factor, equal to the discrete 1 - beta^k at t = alpha k. The bias-corrected moment
        x / (1 - beta^(t/alpha)) with its t = 0 limit is ``idebook.model.bias_ratio``.

    References
    ----------
    Heredia (2024), eq. (6).
    """
    ln_beta = math.log(beta) if beta > 0.0 else -math.inf
    return model.bias_factor(np.asarray(t, dtype=float), alpha, ln_beta)


def kernel_mass(t: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """The weight the kernel has gathered by time t, int_0^t K(s) ds = 1 - exp(-(1 - beta) t/alpha).

    Parameters
    ----------
    t : float or numpy.ndarray
        Upper limits of the integral, >= 0.
    alpha : float
        The learning rate alpha > 0 of the kernel.
    beta : float
        Decay rate in [0, 1).

    Returns
    -------
    numpy.ndarray
        The mass, of the shape of ``t``; it tends to 1 (the kernels of Propositions 2-3 have
        unit mass).

    References
    ----------
    Heredia (2024), Propositions 2-3.
    """
    return -np.expm1(-(1.0 - beta) / alpha * np.asarray(t, dtype=float))
