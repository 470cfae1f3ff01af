"""Tests of idebook.discrete (Algorithms 1-3, AdamW, AdamL2) and of its input checks.

Reference values are written out in plain Python, one formula per iterate, from the paper's
recursions; they are not produced by the package.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import idebook
from idebook import discrete, objectives
from idebook.objectives import _quadratic_grad

ALGS = ("adagrad", "rmsprop", "adam")
F = objectives.quadratic()  # f = (theta - 4)^2, the paper's objective, jitted gradient
DBL_EPS = np.finfo(float).eps


def run(alg, objective, theta0, **kw):
    return getattr(discrete, alg)(objective, theta0, **kw)


def grad(theta):
    """g = f'(theta) for f = (theta - 4)^2, as a plain float."""
    return 2.0 * (theta - 4.0)


def assert_rel(actual, desired, rtol=1e-15):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), desired, rtol=rtol, atol=0.0)


def python_quadratic():
    """The same f as F, with a plain (interpreted) Python gradient."""
    return objectives.from_functions(lambda th: float((th[0] - 4.0) ** 2),
                                     lambda th: 2.0 * (th - 4.0))


# ---------------------------------------------------------------------------------------------
# first iterates on the quadratic, by hand
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("theta0", [1.0, 7.0, -2.5])
def test_adagrad_first_iterates_by_hand(theta0):
    alpha, eps = 0.1, 1e-8
    g1 = grad(theta0)
    G1 = g1 * g1
    th1 = theta0 - alpha * g1 / (math.sqrt(G1) + eps)
    g2 = grad(th1)
    G2 = G1 + g2 * g2
    th2 = th1 - alpha * g2 / (math.sqrt(G2) + eps)
    d = discrete.adagrad(F, theta0, alpha=alpha, steps=2, eps=eps)
    assert_rel(d.theta[:, 0], [theta0, th1, th2])
    assert_rel(d.G[:, 0], [0.0, G1, G2])
    if theta0 == 1.0:  # g1 = -6, G1 = 36: theta1 = 1 + 0.6/6 = 1.1 up to eps
        assert th1 == pytest.approx(1.1, abs=1e-9)
        assert G1 == 36.0


@pytest.mark.parametrize("theta0", [1.0, 7.0, -2.5])
def test_rmsprop_first_iterates_by_hand(theta0):
    alpha, beta, eps = 0.1, 0.9, 1e-8
    g1 = grad(theta0)
    v1 = (1 - beta) * g1 * g1
    th1 = theta0 - alpha * g1 / (math.sqrt(v1) + eps)
    g2 = grad(th1)
    v2 = beta * v1 + (1 - beta) * g2 * g2
    th2 = th1 - alpha * g2 / (math.sqrt(v2) + eps)
    d = discrete.rmsprop(F, theta0, alpha=alpha, beta=beta, steps=2, eps=eps)
    assert_rel(d.theta[:, 0], [theta0, th1, th2])
    assert_rel(d.v[:, 0], [0.0, v1, v2])
    if theta0 == 1.0:  # v1 = 3.6, theta1 = 1 + 0.6/sqrt(3.6) = 1 + 1/sqrt(10)
        assert th1 == pytest.approx(1.0 + 1.0 / math.sqrt(10.0), abs=1e-8)


@pytest.mark.parametrize("theta0", [1.0, 7.0, -2.5])
@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.999), (0.9, 0.99), (0.0, 0.99), (0.5, 0.0)])
def test_adam_first_iterates_by_hand(theta0, beta1, beta2):
    alpha, eps = 0.1, 1e-8
    g1 = grad(theta0)
    m1 = (1 - beta1) * g1
    v1 = (1 - beta2) * g1 * g1
    th1 = theta0 - alpha * (m1 / (1 - beta1)) / (math.sqrt(v1 / (1 - beta2)) + eps)
    g2 = grad(th1)
    m2 = beta1 * m1 + (1 - beta1) * g2
    v2 = beta2 * v1 + (1 - beta2) * g2 * g2
    th2 = th1 - alpha * (m2 / (1 - beta1**2)) / (math.sqrt(v2 / (1 - beta2**2)) + eps)
    d = discrete.adam(F, theta0, alpha=alpha, beta1=beta1, beta2=beta2, steps=2, eps=eps)
    assert_rel(d.theta[:, 0], [theta0, th1, th2])
    assert_rel(d.m[:, 0], [0.0, m1, m2])
    assert_rel(d.v[:, 0], [0.0, v1, v2])


@pytest.mark.parametrize("beta1", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("beta2", [0.0, 0.9, 0.99, 0.999])
def test_adam_first_step_is_alpha_sign_g_without_eps(beta1, beta2):
    # mhat_1 = g_1 and vhat_1 = g_1^2, so theta_1 = theta_0 - alpha sign(g_1) when eps = 0. In
    # floating point (1-b) g / (1-b) need not round back to g, so allow a couple of ulps.
    for theta0 in (1.0, 7.0, -2.5, 3.999, 0.001, 1e3):
        for alpha in (0.1, 0.01, 0.3):
            d = discrete.adam(F, theta0, alpha=alpha, beta1=beta1, beta2=beta2, steps=1,
                              eps=0.0)
            expected = theta0 - alpha * math.copysign(1.0, grad(theta0))
            assert abs(d.theta[1, 0] - expected) <= 4 * DBL_EPS * (abs(theta0) + alpha), (
                theta0, alpha, d.theta[1, 0], expected)


@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.999), (0.0, 0.99), (0.99, 0.0), (0.5, 0.5)])
@pytest.mark.parametrize("theta0", [1.0, 7.0, -2.5, 100.0])
def test_adam_first_step_is_alpha_sign_g_with_eps(theta0, beta1, beta2):
    alpha, eps = 0.1, 1e-8
    g = grad(theta0)  # |g| >= 5 here
    d = discrete.adam(F, theta0, alpha=alpha, beta1=beta1, beta2=beta2, steps=1, eps=eps)
    step = theta0 - d.theta[1, 0]
    # step = alpha g / (|g| + eps): alpha sign(g) to relative 1e-8/|g|, shrunk by eps
    assert d.theta[1, 0] == pytest.approx(theta0 - alpha * g / (abs(g) + eps), rel=1e-15)
    rel = abs(step) / alpha - 1.0
    assert math.copysign(1.0, step) == math.copysign(1.0, g)
    assert -1.01 * eps / abs(g) < rel < 0.0


@pytest.mark.parametrize("theta0", [1.0, 7.0, 3.9])
def test_rmsprop_beta0_step_is_alpha_g_over_abs_g_plus_eps(theta0):
    alpha, eps = 0.1, 1e-8
    d = discrete.rmsprop(F, theta0, alpha=alpha, beta=0.0, steps=30, eps=eps)
    th = theta0
    expected = [th]
    for _ in range(30):
        g = grad(th)
        th = th - alpha * g / (abs(g) + eps)
        expected.append(th)
    np.testing.assert_array_equal(d.theta[:, 0], expected)  # sqrt(g^2) = |g| exactly
    np.testing.assert_array_equal(d.v[1:, 0], [grad(t) ** 2 for t in expected[:-1]])


def test_rmsprop_beta0_large_eps_changes_the_step():
    # the step is alpha g/(|g| + eps), not alpha sign(g): eps = 6 halves the first step
    d = discrete.rmsprop(F, 1.0, alpha=0.1, beta=0.0, steps=1, eps=6.0)
    assert d.theta[1, 0] == pytest.approx(1.0 + 0.1 * 6.0 / 12.0, rel=1e-15)


# ---------------------------------------------------------------------------------------------
# norm memory versus per-coordinate memory
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg, kw", [("adagrad", {}), ("rmsprop", {"beta": 0.9}),
                                     ("rmsprop", {"beta": 0.0}), ("adam", {}),
                                     ("adam", {"beta1": 0.0, "beta2": 0.99})])
def test_norm_and_per_coordinate_agree_exactly_in_1d(alg, kw):
    a = run(alg, F, 1.0, alpha=0.1, steps=200, per_coordinate=False, **kw)
    b = run(alg, F, 1.0, alpha=0.1, steps=200, per_coordinate=True, **kw)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert a.memory.keys() == b.memory.keys()
    for name in a.memory:
        np.testing.assert_array_equal(a.memory[name], b.memory[name])


F2 = objectives.quadratic([4.0, 4.0])
TH0_2D = np.array([1.0, 3.0])  # g_1 = (-6, -2), ||g_1||^2 = 40


def test_adagrad_norm_and_per_coordinate_differ_in_2d():
    alpha, eps = 0.1, 1e-8
    norm = discrete.adagrad(F2, TH0_2D, alpha=alpha, steps=1, eps=eps)
    per = discrete.adagrad(F2, TH0_2D, alpha=alpha, steps=1, eps=eps, per_coordinate=True)
    assert norm.G.shape == (2, 1) and per.G.shape == (2, 2)
    assert_rel(norm.G[1], [40.0])
    assert_rel(per.G[1], [36.0, 4.0])
    s = math.sqrt(40.0) + eps
    assert_rel(norm.theta[1], [1.0 + alpha * 6.0 / s, 3.0 + alpha * 2.0 / s])
    assert_rel(per.theta[1], [1.0 + alpha * 6.0 / (6.0 + eps), 3.0 + alpha * 2.0 / (2.0 + eps)])
    assert np.abs(norm.theta[1] - per.theta[1]).max() > 0.01


def test_rmsprop_norm_and_per_coordinate_differ_in_2d():
    alpha, beta, eps = 0.1, 0.9, 1e-8
    norm = discrete.rmsprop(F2, TH0_2D, alpha=alpha, beta=beta, steps=1, eps=eps)
    per = discrete.rmsprop(F2, TH0_2D, alpha=alpha, beta=beta, steps=1, eps=eps,
                           per_coordinate=True)
    assert_rel(norm.v[1], [(1 - beta) * 40.0])  # = 4
    assert_rel(per.v[1], [(1 - beta) * 36.0, (1 - beta) * 4.0])
    # norm: theta_1 = theta_0 + alpha (6, 2)/2 ; per coordinate: both move alpha sqrt(10)
    assert norm.theta[1] == pytest.approx([1.3, 3.1], rel=1e-8)
    assert per.theta[1] == pytest.approx([1.0 + 0.1 * math.sqrt(10.0), 3.0 + 0.1 * math.sqrt(10.0)],
                                         rel=1e-8)
    s = math.sqrt((1 - beta) * 40.0) + eps
    assert_rel(norm.theta[1], [1.0 + alpha * 6.0 / s, 3.0 + alpha * 2.0 / s])


def test_adam_norm_and_per_coordinate_differ_in_2d():
    alpha = 0.1
    norm = discrete.adam(F2, TH0_2D, alpha=alpha, steps=1, eps=0.0)
    per = discrete.adam(F2, TH0_2D, alpha=alpha, steps=1, eps=0.0, per_coordinate=True)
    assert norm.m.shape == per.m.shape == (2, 2)
    assert norm.v.shape == (2, 1) and per.v.shape == (2, 2)
    assert_rel(norm.m[1], [0.1 * -6.0, 0.1 * -2.0])
    np.testing.assert_array_equal(norm.m, per.m)
    assert_rel(norm.v[1], [(1 - 0.999) * 40.0], rtol=1e-14)
    # norm: theta_1 = theta_0 - alpha g/||g|| ; per coordinate: theta_0 - alpha sign(g)
    assert_rel(norm.theta[1], [1.0 + alpha * 6.0 / math.sqrt(40.0),
                               3.0 + alpha * 2.0 / math.sqrt(40.0)], rtol=1e-14)
    assert_rel(per.theta[1], [1.1, 3.1], rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# AdamW and AdamL2
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("w", [0.01, 0.1, 0.5])
@pytest.mark.parametrize("theta0", [1.0, 7.0, -2.5])
def test_adamw_first_step(w, theta0):
    alpha = 0.1
    d = discrete.adam(F, theta0, alpha=alpha, steps=1, eps=0.0, weight_decay=w)
    expected = (1 - w) * theta0 - alpha * math.copysign(1.0, grad(theta0))
    assert abs(d.theta[1, 0] - expected) <= 4 * DBL_EPS * (abs(theta0) + alpha)
    assert d.params["weight_decay"] == w


def test_adamw_second_step_by_hand():
    alpha, b1, b2, w, eps, theta0 = 0.1, 0.9, 0.999, 0.05, 1e-8, 1.0
    g1 = grad(theta0)
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1 * g1
    th1 = (1 - w) * theta0 - alpha * (m1 / (1 - b1)) / (math.sqrt(v1 / (1 - b2)) + eps)
    g2 = grad(th1)  # the decay does not enter the gradient
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2 * g2
    th2 = (1 - w) * th1 - alpha * (m2 / (1 - b1**2)) / (math.sqrt(v2 / (1 - b2**2)) + eps)
    d = discrete.adam(F, theta0, alpha=alpha, beta1=b1, beta2=b2, steps=2, eps=eps,
                      weight_decay=w)
    assert_rel(d.theta[:, 0], [theta0, th1, th2])
    assert_rel(d.m[:, 0], [0.0, m1, m2])


def test_adamw_zero_decay_is_adam():
    a = discrete.adam(F, 1.0, alpha=0.1, steps=50)
    b = discrete.adam(F, 1.0, alpha=0.1, steps=50, weight_decay=0.0, l2=0.0)
    np.testing.assert_array_equal(a.theta, b.theta)


@pytest.mark.parametrize("lam, sign", [(8.0, -1.0), (14.0, 1.0)])
def test_adaml2_first_step(lam, sign):
    # g_1 = 2 (1 - 4) + (lam/2) * 1 = -6 + lam/2: -2 for lam = 8, +1 for lam = 14
    # (with lam instead of lam/2 the sign of g_1 would flip for lam = 8)
    alpha, b1, b2 = 0.1, 0.9, 0.999
    d = discrete.adam(F, 1.0, alpha=alpha, beta1=b1, beta2=b2, steps=1, eps=0.0, l2=lam)
    g1 = -6.0 + lam / 2.0
    assert_rel(d.m[1], [(1 - b1) * g1])
    assert_rel(d.v[1], [(1 - b2) * g1 * g1], rtol=1e-14)
    assert abs(d.theta[1, 0] - (1.0 - alpha * sign)) <= 4 * DBL_EPS
    assert d.params["l2"] == lam


def test_adaml2_second_step_by_hand():
    alpha, b1, b2, lam, eps, theta0 = 0.1, 0.9, 0.999, 8.0, 1e-8, 1.0
    g1 = grad(theta0) + 0.5 * lam * theta0
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1 * g1
    th1 = theta0 - alpha * (m1 / (1 - b1)) / (math.sqrt(v1 / (1 - b2)) + eps)
    g2 = grad(th1) + 0.5 * lam * th1
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2 * g2
    th2 = th1 - alpha * (m2 / (1 - b1**2)) / (math.sqrt(v2 / (1 - b2**2)) + eps)
    d = discrete.adam(F, theta0, alpha=alpha, beta1=b1, beta2=b2, steps=2, eps=eps, l2=lam)
    assert_rel(d.theta[:, 0], [theta0, th1, th2])
    assert_rel(d.v[:, 0], [0.0, v1, v2])


def test_adaml2_converges_to_the_shifted_minimizer():
    # f + (lam/4) theta^2 has gradient 2 (theta - 4) + (lam/2) theta, zero at 8/(2 + lam/2)
    lam = 2.0
    d = discrete.adam(F, 1.0, alpha=0.01, steps=3000, l2=lam)
    assert d.theta[-1, 0] == pytest.approx(8.0 / (2.0 + lam / 2.0), abs=0.02)


# ---------------------------------------------------------------------------------------------
# result layout
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("per_coordinate", [False, True])
def test_shapes_times_and_initial_memory(alg, n, per_coordinate):
    steps, alpha = 7, 0.05
    f = objectives.quadratic(np.full(n, 4.0))
    d = run(alg, f, np.linspace(1.0, 2.0, n), alpha=alpha, steps=steps,
            per_coordinate=per_coordinate)
    assert isinstance(d, idebook.DiscreteRun)
    assert d.algorithm == alg and d.alpha == alpha
    assert d.params["per_coordinate"] is per_coordinate
    assert d.theta.shape == (steps + 1, n)
    np.testing.assert_array_equal(d.theta[0], np.linspace(1.0, 2.0, n))
    np.testing.assert_array_equal(d.k, np.arange(steps + 1))
    np.testing.assert_array_equal(d.t, alpha * np.arange(steps + 1))
    nm = n if per_coordinate else 1
    name = "G" if alg == "adagrad" else "v"
    expected_keys = {name, "m"} if alg == "adam" else {name}
    assert set(d.memory) == expected_keys
    assert d.memory[name].shape == (steps + 1, nm)
    assert np.all(d.memory[name][0] == 0.0)
    assert np.all(d.memory[name][1:] > 0.0)
    other = "v" if alg == "adagrad" else "G"
    assert getattr(d, other) is None
    if alg == "adam":
        assert d.m.shape == (steps + 1, n)
        assert np.all(d.m[0] == 0.0)
    else:
        assert d.m is None


@pytest.mark.parametrize("alg", ALGS)
def test_steps_zero_returns_theta0(alg):
    d = run(alg, F, 2.5, alpha=0.1, steps=0)
    np.testing.assert_array_equal(d.theta, [[2.5]])
    np.testing.assert_array_equal(d.t, [0.0])
    for arr in d.memory.values():
        np.testing.assert_array_equal(arr, [[0.0]])


@pytest.mark.parametrize("alg", ALGS)
def test_theta0_is_copied_not_modified(alg):
    th0 = np.array([1.0, 2.0])
    d = run(alg, F2, th0, alpha=0.1, steps=3)
    np.testing.assert_array_equal(th0, [1.0, 2.0])
    d.theta[0, 0] = 99.0
    assert th0[0] == 1.0


@pytest.mark.parametrize("alg", ALGS)
def test_runs_approach_the_minimizer(alg):
    # the paper's horizons for alpha = 0.1 (Figures 1, 3, 5)
    steps = {"adagrad": 2000, "rmsprop": 60, "adam": 100}[alg]
    d = run(alg, F, 1.0, alpha=0.1, steps=steps)
    assert abs(d.theta[-1, 0] - 4.0) < 0.05
    assert abs(d.theta[0, 0] - 4.0) == 3.0


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
ALPHA_BAD = [(0.0, r"alpha must be > 0"), (-0.1, r"alpha must be > 0"),
             (np.nan, r"alpha must be finite"), (np.inf, r"alpha must be finite"),
             (-np.inf, r"alpha must be finite"), ("fast", r"alpha must be a real number"),
             (None, r"alpha must be a real number")]


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("alpha, msg", ALPHA_BAD)
def test_bad_alpha(alg, alpha, msg):
    with pytest.raises(ValueError, match=msg):
        run(alg, F, 1.0, alpha=alpha, steps=5)


UNIT_BAD = [1.0, -0.1, 1.5, -1e-300]


@pytest.mark.parametrize("value", UNIT_BAD)
@pytest.mark.parametrize("alg, name", [("rmsprop", "beta"), ("adam", "beta1"), ("adam", "beta2")])
def test_bad_beta(alg, name, value):
    with pytest.raises(ValueError, match=rf"{name} must be in \[0, 1\), got"):
        run(alg, F, 1.0, alpha=0.1, steps=5, **{name: value})


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("alg, name", [("rmsprop", "beta"), ("adam", "beta1"), ("adam", "beta2")])
def test_non_finite_beta(alg, name, value):
    with pytest.raises(ValueError, match=rf"{name} must be finite"):
        run(alg, F, 1.0, alpha=0.1, steps=5, **{name: value})


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("eps, msg", [(-1e-9, r"eps must be >= 0"), (-1.0, r"eps must be >= 0"),
                                      (np.nan, r"eps must be finite"),
                                      (np.inf, r"eps must be finite")])
def test_bad_eps(alg, eps, msg):
    with pytest.raises(ValueError, match=msg):
        run(alg, F, 1.0, alpha=0.1, steps=5, eps=eps)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("steps", [-1, 2.5, 10.0, "10", True, None])
def test_bad_steps(alg, steps):
    with pytest.raises(ValueError, match=r"steps must be an integer >= 0"):
        run(alg, F, 1.0, alpha=0.1, steps=steps)


@pytest.mark.parametrize("alg", ALGS)
def test_numpy_integer_steps_accepted(alg):
    d = run(alg, F, 1.0, alpha=0.1, steps=np.int64(4))
    assert d.theta.shape == (5, 1)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("theta0", [np.nan, np.inf, [1.0, np.nan]])
def test_non_finite_theta0(alg, theta0):
    f = F if np.ndim(theta0) == 0 else F2
    with pytest.raises(ValueError, match=r"theta0 must be finite"):
        run(alg, f, theta0, alpha=0.1, steps=5)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("theta0", [np.ones(3), 1.0, [1.0]])
def test_theta0_wrong_length_for_2d_objective(alg, theta0):
    with pytest.raises(ValueError, match=r"theta0 must have shape \(2,\) for this objective"):
        run(alg, F2, theta0, alpha=0.1, steps=5)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("theta0", [np.ones((2, 1)), np.ones((1, 2)), np.ones((2, 2)), []])
def test_theta0_not_a_vector(alg, theta0):
    with pytest.raises(ValueError, match=r"theta0 must be a scalar or a non-empty 1-D array"):
        run(alg, F2, theta0, alpha=0.1, steps=5)


@pytest.mark.parametrize("w", [1.0, 1.5])
def test_weight_decay_too_large(w):
    with pytest.raises(ValueError, match=r"weight_decay must be in \[0, 1\)"):
        discrete.adam(F, 1.0, alpha=0.1, steps=5, weight_decay=w)


@pytest.mark.parametrize("w, msg", [(-0.1, r"weight_decay must be in \[0, 1\)"),
                                    (np.nan, r"weight_decay must be finite")])
def test_weight_decay_negative_or_nan(w, msg):
    with pytest.raises(ValueError, match=msg):
        discrete.adam(F, 1.0, alpha=0.1, steps=5, weight_decay=w)


@pytest.mark.parametrize("lam, msg", [(-1.0, r"l2 must be >= 0"), (-1e-12, r"l2 must be >= 0"),
                                      (np.inf, r"l2 must be finite")])
def test_bad_l2(lam, msg):
    with pytest.raises(ValueError, match=msg):
        discrete.adam(F, 1.0, alpha=0.1, steps=5, l2=lam)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("objective", [None, "f", lambda th: th, [F.value, F.grad],
                                       (F.value, F.grad, F.params)],
                         ids=["None", "str", "callable", "list", "3-tuple"])
def test_bad_objective(alg, objective):
    with pytest.raises(ValueError, match=r"objective must be an Objective or a \(value, grad\)"):
        run(alg, objective, 1.0, alpha=0.1, steps=5)


@pytest.mark.parametrize("alg", ALGS)
def test_value_grad_pair_is_accepted(alg):
    d = run(alg, (lambda th: 0.0, lambda th: 2.0 * (th - 4.0)), 1.0, alpha=0.1, steps=3)
    e = run(alg, F, 1.0, alpha=0.1, steps=3)
    np.testing.assert_array_equal(d.theta, e.theta)


@pytest.mark.parametrize("alg, kw, rng", [
    ("adam", {"alpha": np.nan}, r"alpha must be .*> 0"),
    ("adam", {"alpha": 0.1, "beta1": np.nan}, r"beta1 must be .*\[0, 1\)"),
    ("adam", {"alpha": 0.1, "eps": np.inf}, r"eps must be .*>= 0"),
])
def test_non_finite_parameter_message_names_the_range(alg, kw, rng):
    with pytest.raises(ValueError, match=rng):
        run(alg, F, 1.0, steps=5, **kw)


# ---------------------------------------------------------------------------------------------
# divergence is reported with its k
# ---------------------------------------------------------------------------------------------
THRESHOLD = 1.25


def nan_beyond_python(th):
    return 2.0 * (th - 4.0) if th[0] < THRESHOLD else np.full_like(th, np.nan)


@numba.njit
def nan_beyond_jit(th):
    if th[0] < 1.25:
        return 2.0 * (th - 4.0)
    return np.full(th.shape[0], np.nan)


def first_k_past_threshold(theta0, alpha, eps):
    """AdaGrad on (theta-4)^2 in plain Python: k such that theta_{k-1} >= THRESHOLD."""
    th, G = theta0, 0.0
    for k in range(1, 100):
        if th >= THRESHOLD:
            return k
        g = grad(th)
        G += g * g
        th = th - alpha * g / (math.sqrt(G) + eps)
    raise AssertionError("never crossed")


@pytest.mark.parametrize("gradient", [nan_beyond_python, nan_beyond_jit], ids=["python", "jit"])
def test_nan_gradient_is_reported_with_its_k(gradient):
    # theta_1..4 = 1.1, 1.1695, 1.2256, 1.2738: g(theta_4) is nan, so theta_5 is the first nan
    k = first_k_past_threshold(1.0, 0.1, 1e-8)
    assert k == 5
    f = objectives.from_functions(lambda th: 0.0, gradient)
    with pytest.raises(idebook.DivergenceError, match=r"k = 5\b") as info:
        discrete.adagrad(f, 1.0, alpha=0.1, steps=50)
    assert info.value.where == 5
    assert isinstance(info.value, FloatingPointError)
    assert "adagrad" in str(info.value)
    # steps short of the bad k run through
    d = discrete.adagrad(f, 1.0, alpha=0.1, steps=4)
    assert np.all(np.isfinite(d.theta))
    assert d.theta[-1, 0] >= THRESHOLD


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("gradient", [nan_beyond_python, nan_beyond_jit], ids=["python", "jit"])
def test_nan_gradient_all_algorithms(alg, gradient):
    f = objectives.from_functions(lambda th: 0.0, gradient)
    ok = run(alg, F, 1.0, alpha=0.1, steps=40)
    crossed = np.nonzero(ok.theta[:, 0] >= THRESHOLD)[0]
    k = int(crossed[0]) + 1  # theta_{k-1} is the first iterate past the threshold
    with pytest.raises(idebook.DivergenceError, match=rf"k = {k}\b") as info:
        run(alg, f, 1.0, alpha=0.1, steps=40)
    assert info.value.where == k


@numba.njit
def minus_exp(th):
    return -np.exp(th)


@pytest.mark.parametrize("alg", ALGS)
def test_gradient_overflowing_to_inf_is_reported(alg):
    # f' = -exp(theta): theta_1 = alpha = 1000 (first step of size alpha), then g = -inf and
    # theta_2 = theta_1 + alpha inf / inf is nan
    f = objectives.from_functions(lambda th: 0.0, minus_exp)
    with pytest.raises(idebook.DivergenceError, match=r"k = 2\b") as info:
        run(alg, f, 0.0, alpha=1000.0, steps=10)
    assert info.value.where == 2


@numba.njit
def huge_exp(th):
    return np.exp(th) * 1e300


@pytest.mark.parametrize("alg", ALGS)
def test_squared_gradient_overflow_is_reported(alg):
    f = objectives.from_functions(lambda th: 0.0, huge_exp)
    with pytest.raises(idebook.DivergenceError, match=r"k = 1\b") as info:
        run(alg, f, 1.0, alpha=0.1, steps=5)
    assert info.value.where == 1


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("alg", ALGS)
def test_zero_gradient_with_zero_eps_same_in_both_twins(alg):
    outcomes = []
    for f in (F, python_quadratic()):
        try:
            d = run(alg, f, 4.0, alpha=0.1, steps=3, eps=0.0)
            outcomes.append(("ok", d.theta.tolist()))
        except idebook.DivergenceError as e:
            outcomes.append(("diverged", e.where))
        except ZeroDivisionError:
            outcomes.append(("ZeroDivisionError", None))
    assert outcomes[0][0] != "ZeroDivisionError"
    assert outcomes[0] == outcomes[1]


# ---------------------------------------------------------------------------------------------
# the compiled and the interpreted twin of the loop
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg, kw", [
    ("adagrad", {}), ("adagrad", {"per_coordinate": True}), ("rmsprop", {"beta": 0.9}),
    ("rmsprop", {"beta": 0.0}), ("rmsprop", {"beta": 0.99, "per_coordinate": True}),
    ("adam", {"beta1": 0.0, "beta2": 0.0}),
    ("adam", {"beta1": 0.9, "beta2": 0.999, "steps": 3}),
])
def test_python_gradient_equals_jitted_quadratic(alg, kw):
    kw = {"steps": 200, **kw}
    f_py = python_quadratic()
    assert F.jitted and not f_py.jitted
    a = run(alg, F, 1.0, alpha=0.1, **kw)
    b = run(alg, f_py, 1.0, alpha=0.1, **kw)
    np.testing.assert_array_equal(a.theta, b.theta)
    for name in a.memory:
        np.testing.assert_array_equal(a.memory[name], b.memory[name])


@pytest.mark.parametrize("kw", [{"beta1": 0.9, "beta2": 0.999}, {"beta1": 0.9, "beta2": 0.99},
                                {"weight_decay": 0.01}, {"l2": 0.1}])
def test_python_gradient_equals_jitted_quadratic_adam(kw):
    a = run("adam", F, 1.0, alpha=0.1, steps=100, **kw)
    b = run("adam", python_quadratic(), 1.0, alpha=0.1, steps=100, **kw)
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.m, b.m)


A2 = np.array([[2.0, 0.5], [0.5, 1.0]])
F2A = objectives.quadratic([4.0, -1.0], curvature=A2)


@pytest.mark.parametrize("alg, kw", [("adagrad", {}), ("adagrad", {"per_coordinate": True}),
                                     ("rmsprop", {"beta": 0.9}),
                                     ("rmsprop", {"beta": 0.9, "per_coordinate": True}),
                                     ("adam", {"beta1": 0.0, "beta2": 0.0, "l2": 0.3})])
def test_interpreted_twin_matches_compiled_in_nd(alg, kw):
    # the same gradient code (_quadratic_grad's Python source) run by the interpreter
    f_py = objectives.from_functions(F2A.value, _quadratic_grad.py_func, params=F2A.params,
                                     dim=2)
    assert not f_py.jitted
    a = run(alg, F2A, [1.0, 2.0], alpha=0.1, steps=60, **kw)
    b = run(alg, f_py, [1.0, 2.0], alpha=0.1, steps=60, **kw)
    np.testing.assert_array_equal(a.theta, b.theta)
    for name in a.memory:
        np.testing.assert_array_equal(a.memory[name], b.memory[name])


@numba.njit
def user_quadratic_grad(th):
    return 2.0 * (th - 4.0)


@pytest.mark.parametrize("alg", ALGS)
def test_user_jitted_gradient_equals_builtin(alg):
    f = objectives.from_functions(lambda th: float((th[0] - 4.0) ** 2), user_quadratic_grad)
    assert f.jitted
    a = run(alg, F, 1.0, alpha=0.1, steps=300)
    b = run(alg, f, 1.0, alpha=0.1, steps=300)
    np.testing.assert_array_equal(a.theta, b.theta)
    for name in a.memory:
        np.testing.assert_array_equal(a.memory[name], b.memory[name])


# ---------------------------------------------------------------------------------------------
# property-based: every run returns finite arrays or raises DivergenceError
# ---------------------------------------------------------------------------------------------
finite = st.floats(-1e100, 1e100, allow_nan=False, allow_infinity=False)
log_alpha = st.floats(-4.0, 1.0).map(lambda e: 10.0**e)


def check_run(d, alg, steps, n, alpha, per_coordinate):
    assert d.theta.shape == (steps + 1, n)
    np.testing.assert_array_equal(d.t, alpha * np.arange(steps + 1))
    for name, arr in [("theta", d.theta), *d.memory.items()]:
        assert np.all(np.isfinite(arr)), f"{alg}: non-finite {name} returned silently"
    nm = n if per_coordinate else 1
    assert d.memory["G" if alg == "adagrad" else "v"].shape == (steps + 1, nm)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alg=st.sampled_from(ALGS), alpha=log_alpha, beta1=st.floats(0.0, 0.999),
       beta2=st.floats(0.0, 0.9999), eps=st.floats(1e-12, 1e-2),
       theta0=st.integers(1, 3).flatmap(lambda n: st.lists(finite, min_size=n, max_size=n)),
       steps=st.integers(0, 60), per_coordinate=st.booleans())
def test_property_finite_or_divergence_error(alg, alpha, beta1, beta2, eps, theta0, steps,
                                             per_coordinate):
    n = len(theta0)
    f = objectives.quadratic(np.full(n, 4.0))
    kw = {"alpha": alpha, "steps": steps, "eps": eps, "per_coordinate": per_coordinate}
    if alg == "rmsprop":
        kw["beta"] = beta2
    elif alg == "adam":
        kw.update(beta1=beta1, beta2=beta2)
    try:
        d = run(alg, f, np.array(theta0), **kw)
    except idebook.DivergenceError as e:
        assert 1 <= e.where <= steps
        assert f"k = {e.where}" in str(e)
        return
    check_run(d, alg, steps, n, alpha, per_coordinate)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alg=st.sampled_from(ALGS), alpha=log_alpha, beta=st.floats(0.0, 0.999),
       theta0=st.floats(-10.0, 10.0), threshold=st.floats(-10.0, 10.0),
       steps=st.integers(0, 40))
def test_property_nan_gradient_never_returned_silently(alg, alpha, beta, theta0, threshold,
                                                       steps):
    # a Python gradient that is nan once theta >= threshold: the run must stop at the first k
    # with theta_{k-1} >= threshold, or return finite arrays if that never happens
    kw = {"alpha": alpha, "steps": steps}
    if alg == "rmsprop":
        kw["beta"] = beta
    elif alg == "adam":
        kw.update(beta1=beta, beta2=beta)
    reference = run(alg, python_quadratic(), theta0, **kw)  # the same (interpreted) loop
    f = objectives.from_functions(
        lambda th: 0.0, lambda th: 2.0 * (th - 4.0) if th[0] < threshold else np.nan * th)
    crossed = np.nonzero(reference.theta[:-1, 0] >= threshold)[0]
    if crossed.size:
        with pytest.raises(idebook.DivergenceError) as info:
            run(alg, f, theta0, **kw)
        assert info.value.where == crossed[0] + 1
    else:
        d = run(alg, f, theta0, **kw)
        check_run(d, alg, steps, 1, alpha, False)
        np.testing.assert_array_equal(d.theta, reference.theta)
