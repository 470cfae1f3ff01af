"""Algorithm 4 as the paper describes it (method="paper"): Euler steps h = alpha, memories by
1000-node Gauss-Legendre quadrature of the previous iterate's spline, smoothed Picard iteration.

Its step h = alpha keeps it close to the discrete algorithm, and O(alpha) away from the
converged solution of the IDE (the fast method). The bounds below are measured values with a
margin of about 20 %."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.integrate import quad

from idebook import continuous, discrete
from idebook.objectives import from_functions, quadratic
from idebook.results import ConvergenceWarning, DivergenceError

F = quadratic()
THETA0 = 1.0

# (algorithm, parameters, steps at alpha = 0.1, bound on max |paper - discrete| in theta)
SHORT = [
    ("adagrad", {}, 50, 0.0125),  # measured 0.0103
    ("rmsprop", {"beta": 0.9}, 30, 0.12),  # measured 0.0964
    ("adam", {"beta1": 0.9, "beta2": 0.999}, 30, 0.05),  # measured 0.0407
]


def runs(name, params, alpha, steps, **kw):
    """(discrete, paper, fast) runs of one configuration."""
    d = getattr(discrete, name)(F, THETA0, alpha=alpha, steps=steps, **params)
    solve = getattr(continuous, name)
    p = solve(F, THETA0, alpha=alpha, t_end=alpha * steps, method="paper", **params, **kw)
    c = solve(F, THETA0, alpha=alpha, t_end=alpha * steps, **params)
    return d, p, c


def gap(a, b) -> float:
    return float(np.max(np.abs(a.theta - b.theta)))


@pytest.mark.parametrize(("name", "params", "steps", "bound"), SHORT, ids=lambda x: str(x))
def test_paper_method_converges_and_stays_near_the_discrete_run(name, params, steps, bound):
    d, p, _ = runs(name, params, 0.1, steps)
    assert p.success, p.message
    assert p.method == "paper" and p.substeps == 1 and math.isnan(p.error_estimate)
    assert 1 < p.iterations < 100 and p.residual <= 1e-4
    np.testing.assert_allclose(p.t, d.t, rtol=0, atol=1e-12)
    assert gap(p, d) < bound


def test_step_alpha_is_closer_to_the_discrete_run_than_to_the_ide():
    """AdaGrad: the h = alpha solution is 4x nearer the discrete run than the converged IDE
    solution is (measured 0.0103 vs 0.0452)."""
    d, p, c = runs("adagrad", {}, 0.1, 50)
    assert gap(p, c) > 4 * gap(p, d)


@pytest.mark.parametrize(("name", "params", "t_end"), [("adagrad", {}, 5.0),
                                                       ("adam", {"beta1": 0.9, "beta2": 0.999},
                                                        3.0)])
def test_gap_to_the_converged_solution_is_first_order_in_alpha(name, params, t_end):
    """Halving alpha (same t_end) halves max |paper - fast| (measured ratios 1.9 and 1.7)."""
    gaps = []
    for alpha in (0.1, 0.05):
        _, p, c = runs(name, params, alpha, round(t_end / alpha))
        gaps.append(gap(p, c))
    assert 1.5 < gaps[0] / gaps[1] < 2.5


def test_memory_is_the_integral_of_the_returned_trajectory():
    """v(t_k) equals int_0^t K(t - s) ||g(theta(s))||^2 ds of the returned theta's spline,
    computed independently by adaptive quadrature, and at() interpolates the grid values."""
    alpha, beta = 0.1, 0.9
    p = continuous.rmsprop(F, THETA0, alpha=alpha, beta=beta, t_end=2.0, method="paper")
    rate = (1 - beta) / alpha
    for k in (1, 7, 20):
        b = p.t[k]
        exact = quad(lambda s, b=b: rate * np.exp(-rate * (b - s))
                     * (2 * (p.at(s).theta[0, 0] - 4)) ** 2, 0, b, limit=200)[0]
        assert p.v[k, 0] == pytest.approx(exact, rel=1e-8)
    np.testing.assert_allclose(p.at(p.t).theta, p.theta, atol=1e-12)
    with pytest.raises(ValueError):
        p.at(2.5)


def test_adam_first_step_uses_the_limits_of_the_bias_corrected_moments():
    """At t = 0, mhat = (1-beta1)/(-ln beta1) g0 and vhat = (1-beta2)/(-ln beta2) g0^2."""
    b1, b2, alpha = 0.9, 0.999, 0.1
    p = continuous.adam(F, THETA0, alpha=alpha, beta1=b1, beta2=b2, t_end=1.0, method="paper")
    g0 = 2 * (THETA0 - 4)
    mhat = (1 - b1) / -math.log(b1) * g0
    vhat = (1 - b2) / -math.log(b2) * g0 * g0
    assert p.theta[1, 0] == pytest.approx(THETA0 - alpha * mhat / (math.sqrt(vhat) + 1e-8),
                                          rel=1e-12)


def test_adam_l2_is_adam_on_the_regularised_objective():
    """AdamL2's g + (lambda/2) theta is the gradient of f + (lambda/4) theta^2."""
    lam = 0.5
    regularised = quadratic(4 / (1 + lam / 4), np.array([[1 + lam / 4]]))
    a = continuous.adam(F, THETA0, alpha=0.1, t_end=3.0, l2=lam, method="paper")
    b = continuous.adam(regularised, THETA0, alpha=0.1, t_end=3.0, method="paper")
    np.testing.assert_allclose(a.theta, b.theta, rtol=0, atol=1e-12)


def test_adamw_stays_near_discrete_adamw():
    d, p, _ = runs("adam", {"weight_decay": 0.01}, 0.1, 30)
    assert p.success and gap(p, d) < 0.05  # measured 0.0393


def test_per_coordinate_memory_and_a_python_gradient():
    """A 2-D problem with per-coordinate memory: shapes (K, n), and a plain Python gradient
    gives the same solution as the compiled one."""
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    center = np.array([1.0, -2.0])
    compiled = quadratic(center, A)
    python = from_functions(compiled.value, lambda th: 2 * A @ (th - center))
    runs_ = [continuous.adam(f, [0.0, 0.0], alpha=0.1, t_end=1.0, per_coordinate=True,
                             method="paper") for f in (compiled, python)]
    for r in runs_:
        assert r.success and r.theta.shape == (11, 2)
        assert r.v.shape == (11, 2) and r.m.shape == (11, 2)
    np.testing.assert_allclose(runs_[0].theta, runs_[1].theta, rtol=1e-12, atol=1e-12)


def test_too_few_iterations_fail_with_a_warning():
    with pytest.warns(ConvergenceWarning, match="did not converge in 1 iterations"):
        p = continuous.adagrad(F, THETA0, alpha=0.1, t_end=2.0, method="paper", max_sweeps=1)
    assert not p.success and p.iterations == 1 and p.residual > 1e-4
    assert np.all(np.isfinite(p.theta))


def test_non_finite_values_raise_divergence_error_with_the_time():
    def grad(theta):
        return np.where(theta > 2.5, np.inf, 2 * (theta - 4))

    f = from_functions(lambda th: float(np.sum((th - 4) ** 2)), grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DivergenceError) as info:
            continuous.adagrad(f, THETA0, alpha=0.1, t_end=3.0, method="paper")
    assert 0 < info.value.where <= 3.0


def test_t_end_off_the_grid_and_at_zero():
    p = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=1.05, method="paper")
    assert p.success and p.t[-1] == pytest.approx(1.05) and p.t.size == 12
    z = continuous.adagrad(F, THETA0, alpha=0.1, t_end=0.0, method="paper")
    assert z.t.tolist() == [0.0] and z.theta[0, 0] == THETA0 and z.G[0, 0] == 0.0
