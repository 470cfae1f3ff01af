"""The settings behind the paper's figures, in one place (read from the paper's published code).

Every chapter takes its defaults from here, so the book states each choice once.
"""

from __future__ import annotations

THETA0 = 1.0
"""Initial point of Figures 1-14."""

EPS = 1e-8
"""epsilon of Algorithms 1-3 and Propositions 1-3."""

ALPHAS = (0.1, 0.01)
"""The two learning rates of every figure."""

HORIZONS = {
    "adagrad": {0.1: 2_000, 0.01: 200_000},
    "rmsprop": {0.1: 60, 0.01: 600},
    "adam": {0.1: 100, 0.01: 1_000},
}
"""Steps (k-iterations) shown in Figures 1-14, by algorithm and learning rate."""

RMSPROP_BETAS = (0.0, 0.9, 0.99)
"""beta of Figures 3-4 and 10-11."""

ADAM_BETAS = ((0.9, 0.99), (0.9, 0.999), (0.0, 0.99), (0.0, 0.999))
"""(beta1, beta2) of Figures 5-7 and 12-14, {0.9, 0.0} x {0.99, 0.999}."""

REGRESSION = {
    "theta0": 0.0,
    "n_samples": 1000,
    "seed": 42,
    "figure15": {"rmsprop_beta": 0.9, "adam_betas": (0.9, 0.99), "horizons": {0.1: 60, 0.01: 300}},
    "figure16": {"rmsprop_beta": 0.99, "adam_betas": (0.99, 0.999),
                 "horizons": {0.1: 80, 0.01: 500}},
}
"""Appendix B, y = theta x fitted to y = 2x + N(0, 0.1^2) noise, x ~ U[0, 1), legacy seed 42."""
