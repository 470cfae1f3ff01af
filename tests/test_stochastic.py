"""Tests of idebook.stochastic: minibatch runs of Algorithms 1-3, seeded and reproducible.

The reference recursion below is written out in plain Python from the paper's Algorithms 2-3;
the minibatch gradients it uses are checked separately against the full gradient.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from idebook import continuous, discrete, objectives, stochastic

X1, Y1 = objectives.paper_regression_data()  # Appendix B: N = 1000, one feature
XL, YL = objectives.two_blobs(n_samples=120, seed=3)  # logistic, theta in R^3
REG = 1e-2
KW = {"adagrad": {}, "rmsprop": {"beta": 0.9}, "adam": {"beta1": 0.9, "beta2": 0.99}}
DATA = {"mse": (X1, Y1, 0.0, 0.0), "logistic": (XL, YL, REG, np.zeros(3))}


def run(alg, loss="mse", **kw):
    X, y, reg, theta0 = DATA[loss]
    args = dict(loss=loss, theta0=theta0, alpha=0.1, batch_size=10, steps=50, seed=0, reg=reg)
    return stochastic.minibatch_run(alg, X, y, **{**args, **KW[alg], **kw})


# ---------------------------------------------------------------------------------------------
# full batch = the deterministic algorithm
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("per_coordinate", [False, True])
@pytest.mark.parametrize("loss", ["mse", "logistic"])
@pytest.mark.parametrize("alg", ["adagrad", "rmsprop", "adam"])
def test_full_batch_reproduces_discrete_run_exactly(alg, loss, per_coordinate):
    X, y, reg, theta0 = DATA[loss]
    d = getattr(discrete, alg)(stochastic.objective(X, y, loss, reg), theta0, alpha=0.1,
                               steps=80, per_coordinate=per_coordinate, **KW[alg])
    s = run(alg, loss, batch_size=X.shape[0], steps=80, per_coordinate=per_coordinate, seed=7)
    assert np.array_equal(s.theta, d.theta)
    for name, state in d.memory.items():
        assert np.array_equal(s.memory[name], state)
    assert s.params == {**d.params, "loss": loss, "batch_size": X.shape[0], "seed": 7, "reg": reg}


@pytest.mark.parametrize("loss", ["mse", "logistic"])
def test_sampling_path_with_a_full_batch_gives_the_full_gradient(loss):
    """The kernel used for B < N, fed a whole permutation, is the full gradient to rounding."""
    X, y, reg, _ = DATA[loss]
    f = stochastic.objective(X, y, loss, reg)
    N, n = y.size, f.dim
    rng = np.random.default_rng(11)
    for _ in range(5):
        theta = rng.normal(size=n)
        perm = stochastic.batch_indices(N, N, 1, int(rng.integers(1000)))[0]
        g = stochastic.minibatch_gradient(theta, X, y, perm, loss, reg)
        full = f.gradient(theta)
        np.testing.assert_allclose(g, full, rtol=1e-12, atol=1e-14 * np.abs(full).max())


def test_minibatch_run_follows_the_recursion_with_the_scheduled_batches():
    """Adam by hand, in plain Python, with ghat_k the gradient of batch k - 1 of the schedule."""
    alpha, b1, b2, eps, steps, B, seed = 0.05, 0.9, 0.99, 1e-8, 6, 4, 5
    schedule = stochastic.batch_indices(X1.size, B, steps, seed)
    theta, m, v = 0.0, 0.0, 0.0
    expected = [theta]
    for k in range(1, steps + 1):
        i = schedule[k - 1]
        g = 2.0 * np.mean(X1[i] * (X1[i] * theta - Y1[i]))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - alpha * (m / (1 - b1**k)) / (math.sqrt(v / (1 - b2**k)) + eps)
        expected.append(theta)
    s = stochastic.minibatch_run("adam", X1, Y1, theta0=0.0, alpha=alpha, batch_size=B,
                                 steps=steps, seed=seed, beta1=b1, beta2=b2, eps=eps)
    np.testing.assert_allclose(s.theta[:, 0], expected, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# seeds
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse", "logistic"])
@pytest.mark.parametrize("alg", ["adagrad", "rmsprop", "adam"])
def test_same_seed_same_run_different_seed_different_run(alg, loss):
    a, b, c = run(alg, loss, seed=3), run(alg, loss, seed=3), run(alg, loss, seed=4)
    assert np.array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, c.theta)
    assert np.all(a.theta[0] == c.theta[0])


def test_batch_indices_are_distinct_uniform_and_seeded():
    N, B, steps = 50, 7, 4000
    idx = stochastic.batch_indices(N, B, steps, 9)
    assert idx.shape == (steps, B) and idx.dtype == np.int64
    assert np.array_equal(idx, stochastic.batch_indices(N, B, steps, 9))
    assert not np.array_equal(idx, stochastic.batch_indices(N, B, steps, 10))
    assert all(len(set(row)) == B for row in idx)
    assert idx.min() >= 0 and idx.max() < N
    # every index is drawn with probability B/N per step: counts ~ Binomial(steps, B/N)
    counts = np.bincount(idx.ravel(), minlength=N)
    p = B / N
    assert np.all(np.abs(counts - steps * p) < 5 * math.sqrt(steps * p * (1 - p)))
    # consecutive batches are independent: overlap has mean B^2/N
    overlap = [len(set(r) & set(s)) for r, s in zip(idx[:-1], idx[1:], strict=True)]
    assert abs(np.mean(overlap) - B * B / N) < 5 * math.sqrt(B * B / N / steps)
    assert stochastic.batch_indices(N, B, 0, 1).shape == (0, B)


# ---------------------------------------------------------------------------------------------
# the minibatch gradient is unbiased, with the finite-population variance
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("loss", "B"), [("mse", 1), ("mse", 10), ("logistic", 5),
                                         ("logistic", 40)])
def test_mean_of_minibatch_gradients_is_the_full_gradient(loss, B):
    X, y, reg, _ = DATA[loss]
    f = stochastic.objective(X, y, loss, reg)
    N = y.size
    theta = np.full(f.dim, 0.4)
    per_sample = stochastic.minibatch_gradient(theta, X, y, np.arange(N)[:, None], loss, reg)
    var = per_sample.var(axis=0, ddof=1) / B * (N - B) / N  # variance of one batch mean
    R = 4000
    g = stochastic.minibatch_gradient(theta, X, y, stochastic.batch_indices(N, B, R, 1), loss,
                                      reg)
    full = f.gradient(theta)
    np.testing.assert_allclose(per_sample.mean(axis=0), full, rtol=1e-12, atol=1e-15)
    # the mean of R independent batches is within 5 standard errors of the full gradient
    assert np.all(np.abs(g.mean(axis=0) - full) < 5 * np.sqrt(var / R))
    # and their variance is the finite-population variance (relative std error ~ sqrt(2/R))
    np.testing.assert_allclose(g.var(axis=0, ddof=1), var, rtol=0.15)


# ---------------------------------------------------------------------------------------------
# seed averages, the continuous counterpart, the stationary spread
# ---------------------------------------------------------------------------------------------
def test_seed_average_is_mean_and_std_of_the_runs():
    avg = stochastic.seed_average("rmsprop", X1, Y1, theta0=0.0, alpha=0.1, batch_size=10,
                                  steps=40, seeds=(2, 5, 8), beta=0.9)
    runs = [run("rmsprop", seed=s, steps=40).theta for s in (2, 5, 8)]
    assert avg.theta.shape == (3, 41, 1) and avg.seeds == (2, 5, 8)
    np.testing.assert_array_equal(avg.theta, np.stack(runs))
    np.testing.assert_allclose(avg.mean, np.mean(runs, axis=0), rtol=1e-15)
    np.testing.assert_allclose(avg.std, np.std(runs, axis=0, ddof=1), rtol=1e-15)
    np.testing.assert_array_equal(avg.k, np.arange(41))
    one = stochastic.seed_average("adagrad", X1, Y1, theta0=0.0, alpha=0.1, batch_size=10,
                                  steps=5, seeds=1)
    assert one.seeds == (0,) and np.all(one.std == 0)


def test_continuous_model_is_the_full_batch_model():
    c = stochastic.continuous_model("adam", X1, Y1, theta0=0.0, alpha=0.1, t_end=3.0,
                                    beta1=0.9, beta2=0.99)
    ref = continuous.adam(objectives.mse_line(X1, Y1), 0.0, alpha=0.1, t_end=3.0, beta1=0.9,
                          beta2=0.99)
    np.testing.assert_array_equal(c.theta, ref.theta)
    assert c.success


def test_noise_shrinks_with_the_batch_size():
    spread = [stochastic.stationary_spread(
        stochastic.seed_average("rmsprop", X1, Y1, theta0=0.0, alpha=0.1, batch_size=B,
                                steps=300, seeds=4, beta=0.9).theta) for B in (1, 10, 100)]
    assert spread[0] > spread[1] > spread[2] > 0


def test_stationary_spread():
    theta = np.zeros((10, 1))
    theta[5:, 0] = [1.0, -1.0, 1.0, -1.0, 1.0]
    assert stochastic.stationary_spread(theta, 0.4) == pytest.approx(1.0)
    both = np.stack([theta, 2 * theta])
    assert stochastic.stationary_spread(both, 0.4) == pytest.approx(math.sqrt(2.5))
    assert stochastic.stationary_spread(np.ones((6, 2))) == 0.0


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kw", "match"), [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 1001}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"batch_size": True}, "batch_size"),
    ({"steps": -1}, "steps"),
    ({"steps": 1.5}, "steps"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.0}, "seed"),
    ({"alpha": 0.0}, "alpha"),
    ({"alpha": float("nan")}, "alpha"),
    ({"reg": 0.1}, "reg"),
    ({"reg": -1.0}, "reg"),
    ({"theta0": [0.0, 1.0]}, "theta0"),
    ({"beta": 1.0}, "beta"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(kw, match):
    with pytest.raises(ValueError, match=match):
        run("rmsprop", **kw)


def test_bad_data_and_names():
    with pytest.raises(ValueError, match="algorithm"):
        stochastic.minibatch_run("sgd", X1, Y1, theta0=0.0, alpha=0.1, batch_size=1, steps=1,
                                 seed=0)
    with pytest.raises(ValueError, match="loss"):
        stochastic.minibatch_run("adam", X1, Y1, loss="hinge", theta0=0.0, alpha=0.1,
                                 batch_size=1, steps=1, seed=0)
    with pytest.raises(ValueError, match="X must be"):
        stochastic.minibatch_run("adam", X1, Y1[:-1], theta0=0.0, alpha=0.1, batch_size=1,
                                 steps=1, seed=0)
    with pytest.raises(ValueError, match="finite"):
        stochastic.objective(np.array([1.0, np.nan]), np.ones(2))
    with pytest.raises(ValueError, match="labels"):
        stochastic.objective(XL, np.abs(YL) * 2, "logistic")
    with pytest.raises(ValueError, match="n_samples"):
        stochastic.batch_indices(0, 1, 1, 0)
    with pytest.raises(ValueError, match="batch_size"):
        stochastic.batch_indices(5, 6, 1, 0)
    with pytest.raises(ValueError, match="indices"):
        stochastic.minibatch_gradient(0.0, X1, Y1, np.array([0, 1000]))
    with pytest.raises(ValueError, match="indices"):
        stochastic.minibatch_gradient(0.0, X1, Y1, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="seeds"):
        stochastic.seed_average("adam", X1, Y1, theta0=0.0, alpha=0.1, batch_size=1, steps=1,
                                seeds=0)
    with pytest.raises(ValueError, match="seeds"):
        stochastic.seed_average("adam", X1, Y1, theta0=0.0, alpha=0.1, batch_size=1, steps=1,
                                seeds=())
    with pytest.raises(ValueError, match="fraction"):
        stochastic.stationary_spread(np.zeros((4, 1)), 0.0)
    with pytest.raises(ValueError, match="algorithm"):
        stochastic.continuous_model("sgd", X1, Y1, theta0=0.0, alpha=0.1, t_end=1.0)


def test_divergence_is_reported():
    X = np.array([[1.0], [1e150]])  # finite loss, but ||ghat||^2 overflows
    with pytest.raises(FloatingPointError, match="non-finite"):
        stochastic.minibatch_run("adagrad", X, np.zeros(2), theta0=1.0, alpha=0.1,
                                 batch_size=1, steps=20, seed=0)


def test_runtime():
    """20 seeds x 1000 steps with B = 100 (after compilation) is well under a second."""
    run("adam", steps=2)
    start = time.perf_counter()
    stochastic.seed_average("adam", X1, Y1, theta0=0.0, alpha=0.01, batch_size=100,
                            steps=1000, seeds=20, beta1=0.9, beta2=0.99)
    assert time.perf_counter() - start < 10.0
