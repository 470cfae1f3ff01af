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

import numpy as np


def kernel(t: np.ndarray, alpha: float, beta: float | None = None) -> np.ndarray:
    """K(t) = 1/alpha (AdaGrad, ``beta=None``) or (1-beta)/alpha exp(-(1-beta) t/alpha)."""
    t = np.asarray(t, dtype=float)
    if beta is None:
        return np.full_like(t, 1.0 / alpha)
    rate = (1.0 - beta) / alpha
    return rate * np.exp(-rate * t)


def bias_factor(t: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """1 - beta^(t/alpha), Adam's bias correction in continuous time (eq. (6) of the paper)."""
    t = np.asarray(t, dtype=float)
    if beta == 0.0:
        return np.where(t > 0, 1.0, 0.0)
    return -np.expm1(t / alpha * np.log(beta))


def kernel_mass(t: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """int_0^t K(s) ds = 1 - exp(-(1-beta) t/alpha), the weight the kernel has gathered by t."""
    return -np.expm1(-(1.0 - beta) / alpha * np.asarray(t, dtype=float))
