"""Sharpness: the largest eigenvalue of the (preconditioned) Hessian, and the stability threshold.

Gradient descent with step alpha on a quadratic is stable while the sharpness lambda_max(H)
stays below 2/alpha. For adaptive methods with the diagonal preconditioner
P = diag(sqrt(vhat) + eps), Cohen et al. (2022) measure the *preconditioned sharpness*
lambda_max(P^{-1} H), and for Adam with momentum beta1 (frozen P) the threshold

    lambda_max(P^{-1} H) < (2 + 2 beta1) / ((1 - beta1) alpha),

38/alpha for beta1 = 0.9 and 2/alpha for beta1 = 0 (RMSProp). Training drives the
preconditioned sharpness up to this threshold and holds it there ("edge of stability"), where
the iterates oscillate and no first-order continuous model can follow them.

The eigenvalue is computed by Lanczos iteration (scipy's ``eigsh``, a Krylov refinement of the
power iteration) on the symmetric matrix P^{-1/2} H P^{-1/2}, which has the eigenvalues of
P^{-1} H; each product H u is a central difference of the compiled gradient
(:func:`idebook.modified.hessian_vector`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from . import _validation as check
from .modified import hessian_vector
from .objectives import Objective


@dataclass(frozen=True)
class Sharpness:
    """The largest eigenvalue of P^{-1/2} H P^{-1/2} at one point.

    Attributes
    ----------
    value : float
        lambda_max (the largest algebraic eigenvalue).
    vector : numpy.ndarray
        Its unit eigenvector (of P^{-1/2} H P^{-1/2}).
    success : bool
        Lanczos converged to ``tol``.
    nfev : int
        Gradient evaluations (two per Hessian-vector product).
    residual : float
        norm(S u - value u) for the returned pair, S = P^{-1/2} H P^{-1/2}.
    """

    value: float
    vector: np.ndarray
    success: bool
    nfev: int
    residual: float


def stability_threshold(alpha: float, beta1: float = 0.0) -> float:
    """The largest stable (preconditioned) sharpness, (2 + 2 beta1) / ((1 - beta1) alpha).

    Parameters
    ----------
    alpha : float
        Learning rate, > 0.
    beta1 : float
        Momentum, in [0, 1): 0 for gradient descent and RMSProp (2/alpha), 0.9 for Adam's
        default (38/alpha).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        alpha <= 0 or beta1 outside [0, 1).

    References
    ----------
    J. Cohen et al., "Adaptive gradient methods at the edge of stability" (2022).
    """
    alpha = check.positive("alpha", alpha)
    beta1 = check.unit_interval("beta1", beta1)
    return (2.0 + 2.0 * beta1) / ((1.0 - beta1) * alpha)


def sharpness(objective: Objective, theta: np.ndarray, preconditioner: np.ndarray | None = None,
              *, tol: float = 1e-4, maxiter: int = 300, seed: int = 0) -> Sharpness:
    """The (preconditioned) sharpness lambda_max(P^{-1} H(theta)), by Lanczos iteration.

    Parameters
    ----------
    objective : Objective
        f and its gradient; H is the Hessian of f, applied by central differences.
    theta : numpy.ndarray
        The point, shape (n,).
    preconditioner : numpy.ndarray, optional
        The diagonal of P, shape (n,), > 0; for Adam sqrt(vhat) + eps, for RMSProp
        sqrt(v) + eps. Default: the identity (the plain sharpness lambda_max(H)).
    tol : float
        Relative accuracy of the eigenvalue asked of ``eigsh``, > 0.
    maxiter : int
        Cap on the Lanczos restarts, >= 1.
    seed : int
        Seed of the starting vector.

    Returns
    -------
    Sharpness
        With ``success=False`` (and the best estimate) when Lanczos did not converge.

    Raises
    ------
    ValueError
        A preconditioner of the wrong shape or not > 0, or a non-finite theta.
    """
    theta = np.ascontiguousarray(theta, dtype=float)
    n = theta.size
    if theta.ndim != 1 or not np.all(np.isfinite(theta)):
        raise ValueError(f"theta must be a finite 1-D array, got shape {theta.shape}")
    scale = np.ones(n) if preconditioner is None else np.asarray(preconditioner, dtype=float)
    if scale.shape != (n,) or not np.all(scale > 0):
        raise ValueError(f"preconditioner must have shape ({n},) and entries > 0")
    tol = check.positive("tol", tol)
    maxiter = check.count("maxiter", maxiter, minimum=1)
    root = 1.0 / np.sqrt(scale)
    hv = hessian_vector(objective)
    products = 0

    def apply(u: np.ndarray) -> np.ndarray:
        nonlocal products
        products += 1
        u = np.ravel(u)
        return root * hv(theta, root * u)

    operator = LinearOperator((n, n), matvec=apply, dtype=float)
    start = np.random.default_rng(seed).standard_normal(n)
    try:
        values, vectors = eigsh(operator, k=1, which="LA", tol=tol, maxiter=maxiter, v0=start)
        success = True
    except ArpackNoConvergence as error:
        values, vectors, success = error.eigenvalues, error.eigenvectors, False
        if values.size == 0:
            return Sharpness(np.nan, np.full(n, np.nan), False, 2 * products, np.inf)
    value, vector = float(values[0]), vectors[:, 0] / np.linalg.norm(vectors[:, 0])
    residual = float(np.linalg.norm(apply(vector) - value * vector))
    return Sharpness(value, vector, success, 2 * products, residual)
