"""The memory kernels of Propositions 1-3 and the linear ODEs whose Green's functions they are.

Every memory state of the paper is  M(t) = int_0^t K(t - s) q(s) ds  with::

    AdaGrad (Prop. 1):  K(t) = 1/alpha                                   (G, q = ||g||^2)
    RMSProp (Prop. 2):  K(t) = (1-beta)/alpha  exp(-(1-beta) t/alpha)    (v, q = ||g||^2)
    Adam    (Prop. 3):  K_a(t) = (1-beta_a)/alpha exp(-(1-beta_a) t/alpha), a = 1 (m, q = g),
                        a = 2 (v, q = ||g||^2)

so K(t) = c exp(-d t) and M solves the linear ODE  M' = c q - d M,  M(0) = 0.  That is what
lets the solver update memory recursively, at O(1) cost per step, instead of re-integrating.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objectives import Objective


@dataclass(frozen=True)
class Spec:
    """One continuous model: algorithm, parameters, objective and initial point.

    ``beta1`` is Adam's first-moment rate (unused otherwise); ``beta2`` is the squared-gradient
    rate (RMSProp's beta, Adam's beta2; unused by AdaGrad).
    """

    algorithm: str  # "adagrad" | "rmsprop" | "adam"
    objective: Objective
    theta0: np.ndarray
    alpha: float
    beta1: float = 0.0
    beta2: float = 0.0
    eps: float = 1e-8
    weight_decay: float = 0.0
    l2: float = 0.0
    per_coordinate: bool = False

    @property
    def has_m(self) -> bool:
        """Adam keeps a first moment m; AdaGrad and RMSProp step along g itself."""
        return self.algorithm == "adam"

    @property
    def shifted(self) -> bool:
        """Propositions 1-2 evaluate the memory at t + alpha; Proposition 3 at t."""
        return self.algorithm != "adam"

    @property
    def c1(self) -> float:
        """Weight (= decay) of the first-moment kernel K_1, (1 - beta1)/alpha."""
        return (1.0 - self.beta1) / self.alpha

    @property
    def c2(self) -> float:
        """Weight c of the squared-gradient kernel K(t) = c exp(-d t)."""
        return 1.0 / self.alpha if self.algorithm == "adagrad" else (1.0 - self.beta2) / self.alpha

    @property
    def d2(self) -> float:
        """Decay d of the squared-gradient kernel (0 for AdaGrad's constant kernel)."""
        return 0.0 if self.algorithm == "adagrad" else (1.0 - self.beta2) / self.alpha

    @property
    def params(self) -> dict:
        """The run's parameters as the results report them (the discrete runs' keys)."""
        if self.has_m:
            params = {"beta1": self.beta1, "beta2": self.beta2,
                      "weight_decay": self.weight_decay, "l2": self.l2}
        else:
            params = {"beta": self.beta2} if self.algorithm == "rmsprop" else {}
        return dict(params, eps=self.eps, per_coordinate=self.per_coordinate)

    @property
    def memory_name(self) -> str:
        """G for AdaGrad's accumulated squares, v otherwise."""
        return "G" if self.algorithm == "adagrad" else "v"


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
