"""Tests of idebook.sde: the SDEs of Malladi et al. (2022), their covariance, the scaling rule.

Independent truths: a direct numpy computation of the per-sample gradients' covariance, the
closed-form moments of the Ornstein-Uhlenbeck case, the drift-only ODE models of
idebook.ode_models, and the discrete algorithms.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from idebook import objectives, ode_models, sde, stochastic

X1, Y1 = objectives.paper_regression_data()
XL, YL, _ = stochastic.teacher_logistic(n_samples=60, dim=4, seed=2)
REG = 1e-2


def per_sample_covariance(theta, X, y, loss, reg):
    """Sigma from the per-sample gradients, each computed as a batch of one (numpy only)."""
    grads = stochastic.minibatch_gradient(theta, X, y, np.arange(y.size)[:, None], loss, reg)
    centred = grads - grads.mean(axis=0)
    return grads.mean(axis=0), centred.T @ centred / y.size


# ---------------------------------------------------------------------------------------------
# the diffusion
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse", "logistic"])
def test_covariance_matches_the_per_sample_gradients(loss):
    X, y, reg = (np.column_stack([X1, X1**2]), Y1, 0.0) if loss == "mse" else (XL, YL, REG)
    rng = np.random.default_rng(0)
    for _ in range(3):
        theta = rng.normal(size=X.shape[1])
        g, cov = sde.gradient_covariance(theta, X, y, loss, reg)
        g_ref, cov_ref = per_sample_covariance(theta, X, y, loss, reg)
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(cov, cov_ref, rtol=1e-9, atol=1e-12 * np.abs(cov_ref).max())
        for B in (1, 7, y.size):
            S = sde.minibatch_covariance(theta, X, y, batch_size=B, loss=loss, reg=reg)
            N = y.size
            np.testing.assert_allclose(S, cov_ref * (N - B) / ((N - 1) * B), rtol=1e-9,
                                       atol=1e-12 * np.abs(cov_ref).max())


def test_minibatch_covariance_is_the_variance_of_the_sampled_gradients():
    """Monte Carlo over the package's own batch schedule: Var ghat = S within 5 per cent."""
    theta, B = np.array([0.7]), 10
    idx = stochastic.batch_indices(X1.size, B, 20_000, 4)
    ghat = stochastic.minibatch_gradient(theta, X1, Y1, idx)[:, 0]
    S = sde.minibatch_covariance(theta, X1, Y1, batch_size=B)[0, 0]
    assert abs(ghat.var() / S - 1) < 0.05


# ---------------------------------------------------------------------------------------------
# the integrator
# ---------------------------------------------------------------------------------------------
def ou_data(n_samples=20, seed=1):
    y = 1.0 + 0.2 * np.random.default_rng(seed).standard_normal(n_samples)
    return np.ones(n_samples), y


def test_euler_maruyama_matches_the_ornstein_uhlenbeck_moments():
    """Mean and variance at t = 0.5 against the closed form of the EM chain and of the SDE."""
    x, y = ou_data()
    s, e0, alpha, K = np.sqrt(4 * y.var()), 0.3, 0.1, 5
    for substeps in (1, 4):
        r = sde.rmsprop_sde(x, y, theta0=y.mean() + e0, alpha=alpha, eps=0.0, batch_size=1,
                            steps=K, paths=40_000, seed=3, substeps=substeps)
        e = r.theta[:, :, 0] - y.mean()
        mean, var = sde.linear_rmsprop_moments(r.t, e0=e0, noise_std=s, alpha=alpha,
                                               substeps=substeps)
        assert np.all(np.abs(e.mean(axis=0) - mean) <= 4 * e.std(axis=0) / 200 + 1e-12)
        np.testing.assert_allclose(e[:, 1:].var(axis=0), var[1:], rtol=0.03)
    # 4 substeps: the chain is within 15 per cent of the SDE's variance; 1 substep: > 30
    _, var_sde = sde.linear_rmsprop_moments(alpha * K, e0=e0, noise_std=s, alpha=alpha)
    _, var_1 = sde.linear_rmsprop_moments(alpha * K, e0=e0, noise_std=s, alpha=alpha,
                                          substeps=1)
    assert abs(e[:, -1].var() / var_sde - 1) < 0.15 < 0.3 < abs(var_1 / var_sde - 1)


def test_weak_error_halves_with_the_step():
    x, y = ou_data()
    s, e0 = np.sqrt(4 * y.var()), 0.3
    mean, var = sde.linear_rmsprop_moments(0.5, e0=e0, noise_std=s, alpha=0.1)
    errors = []
    for substeps in (1, 2, 4):
        r = sde.rmsprop_sde(x, y, theta0=y.mean() + e0, alpha=0.1, eps=0.0, batch_size=1,
                            steps=5, paths=50_000, seed=substeps, substeps=substeps)
        errors.append(abs(np.mean((r.theta[:, -1, 0] - y.mean()) ** 2) - mean**2 - var))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 1.7) & (ratios < 3.2)), ratios


def test_adam_weak_error_halves_with_the_step():
    """The mean of the linear Adam SDE against its moment equations (sde.linear_adam_moments)."""
    x, y = ou_data()
    s, e0 = np.sqrt(4 * y.var()), 0.3
    mean, var = sde.linear_adam_moments(0.5, e0=e0, noise_std=s, alpha=0.1, beta1=0.9)
    errors = []
    for substeps in (1, 2, 4):
        r = sde.adam_sde(x, y, theta0=y.mean() + e0, alpha=0.1, eps=0.0, beta1=0.9, beta2=0.99,
                         batch_size=1, steps=5, paths=40_000, seed=substeps, substeps=substeps)
        errors.append(abs(r.mean[-1, 0] - y.mean() - mean))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 1.6) & (ratios < 2.6)), ratios
    assert 0 < var < 0.02


def test_linear_adam_moments_without_noise_is_the_heavy_ball_ode():
    """s -> 0 with eps > 0: the mean solves e' = -m / (gamma1 P), m' = c1 (2 e - m) (scipy)."""
    from scipy.integrate import solve_ivp
    alpha, eps, c1 = 0.1, 0.5, 10.0
    mean, var = sde.linear_adam_moments(0.5, e0=0.3, noise_std=1e-300, alpha=alpha, beta1=0.9,
                                        eps=eps)

    def field(tau, z):  # in mhat = m / gamma1, which is regular at tau = 0
        e, mhat = z
        gamma1 = -np.expm1(-c1 * tau)
        return [-mhat / (alpha * eps), c1 * (2 * e - mhat) / gamma1 if tau > 0 else 0.0]

    ref = solve_ivp(field, (0.0, 0.05), [0.3, 0.6], method="Radau", rtol=1e-11, atol=1e-14)
    assert mean == pytest.approx(ref.y[0, -1], rel=1e-6) and var < 1e-300


@pytest.mark.parametrize("alg", ["rmsprop", "adam"])
def test_without_noise_the_sde_converges_to_the_drift_model(alg):
    """B = N: S = 0, identical paths, and Euler's first-order convergence to the ODE of
    ode_models (the same drift, integrated by scipy to 1e-10)."""
    kw = {"beta": 0.99} if alg == "rmsprop" else {"beta1": 0.9, "beta2": 0.99}
    # the drift model starts from w = 0; RMSProp's SDE needs w > 0: start it just above
    extra = {"v0": 1e-12} if alg == "rmsprop" else {}
    solve = sde.rmsprop_sde if alg == "rmsprop" else sde.adam_sde
    ode = getattr(ode_models, f"{alg}_sde_drift")(stochastic.objective(X1, Y1), 0.0,
                                                   alpha=0.1, t_end=3.0, eps=1e-2, rtol=1e-10,
                                                   atol=1e-12, **kw)
    errors = []
    for substeps in (100, 200):
        r = solve(X1, Y1, theta0=0.0, alpha=0.1, eps=1e-2, batch_size=X1.size, steps=30,
                  paths=2, substeps=substeps, **kw, **extra)
        assert np.array_equal(r.theta[0], r.theta[1]) and np.all(r.std == 0)
        errors.append(np.abs(r.mean[:, 0] - ode.theta[:, 0]).max())
    assert errors[1] < 0.02 and 1.6 < errors[0] / errors[1] < 2.5, errors


def test_substeps_one_is_the_algorithm_with_gaussian_noise_in_the_limit_of_small_noise():
    """h = alpha^2 makes the memory update the algorithm's exponential average."""
    alpha, B = 0.05, 200
    a = stochastic.seed_average("adam", X1, Y1, theta0=0.0, alpha=alpha, batch_size=B,
                                steps=100, seeds=20, beta1=0.9, beta2=0.99)
    r = sde.adam_sde(X1, Y1, theta0=0.0, alpha=alpha, batch_size=B, steps=100, paths=200,
                     beta1=0.9, beta2=0.99, memory="second_moment")
    assert np.abs(r.mean - a.mean).max() < 0.05


# ---------------------------------------------------------------------------------------------
# shapes, seeding, result
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("per_coordinate", [False, True])
@pytest.mark.parametrize("alg", ["rmsprop", "adam"])
def test_shapes_seeds_and_result_fields(alg, per_coordinate):
    solve = sde.rmsprop_sde if alg == "rmsprop" else sde.adam_sde
    kw = dict(loss="logistic", reg=REG, theta0=np.zeros(4), alpha=0.05, batch_size=5, steps=12,
              paths=7, per_coordinate=per_coordinate, substeps=2)
    a, b, c = solve(XL, YL, seed=3, **kw), solve(XL, YL, seed=3, **kw), solve(XL, YL, seed=4, **kw)
    assert a.theta.shape == (7, 13, 4) and a.mean.shape == a.std.shape == (13, 4)
    assert np.array_equal(a.theta, b.theta) and not np.array_equal(a.theta, c.theta)
    assert np.all(a.theta[:, 0] == 0.0)
    np.testing.assert_allclose(a.t, 0.05 * np.arange(13))
    np.testing.assert_allclose(a.tau, 0.05 * a.t)
    assert a.success and a.status == 0 and a.nfev == 7 * 12 * 2 and a.weak_order == 1
    np.testing.assert_allclose(a.std_error, a.std / np.sqrt(7))
    assert a.params["h"] == pytest.approx(0.05**2 / 2)


def test_result_pickles():
    run = sde.rmsprop_sde(X1, Y1, theta0=0.0, alpha=0.1, batch_size=3, steps=4, paths=3)
    back = pickle.loads(pickle.dumps(run))
    assert back.params == run.params and back.message == run.message
    np.testing.assert_array_equal(back.theta, run.theta)


def test_chunks_do_not_change_the_paths(monkeypatch):
    kw = dict(theta0=0.0, alpha=0.05, batch_size=3, steps=40, paths=5, seed=2)
    whole = sde.adam_sde(X1, Y1, **kw)
    monkeypatch.setattr(sde, "_CHUNK", 5 * 7)  # 7 steps per chunk
    np.testing.assert_array_equal(sde.adam_sde(X1, Y1, **kw).theta, whole.theta)


# ---------------------------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kw", "match"), [
    ({"alpha": -0.1}, "alpha must be > 0"),
    ({"beta": 1.0}, r"beta must be in \[0, 1\)"),
    ({"batch_size": 0}, r"batch_size must be an integer in \[1, 1000\]"),
    ({"paths": 1}, "paths must be an integer >= 2"),
    ({"substeps": 0}, "substeps must be an integer >= 1"),
    ({"steps": -1}, "steps must be an integer >= 0"),
    ({"seed": -2}, "seed must be an integer >= 0"),
    ({"memory": "full"}, "memory must be one of noise, second_moment"),
    ({"v0": 0.0}, "v0 must be > 0"),
    ({"eps": -1.0}, "eps must be >= 0"),
])
def test_bad_input_names_the_parameter(kw, match):
    args = {"theta0": 0.0, "alpha": 0.1, "batch_size": 10, "steps": 5, **kw}
    with pytest.raises(ValueError, match=match):
        sde.rmsprop_sde(X1, Y1, **args)


def test_adam_bad_betas_and_data():
    with pytest.raises(ValueError, match=r"beta2 must be in \[0, 1\)"):
        sde.adam_sde(X1, Y1, theta0=0.0, alpha=0.1, beta2=-0.1, batch_size=10, steps=5)
    with pytest.raises(ValueError, match="y must hold labels"):
        sde.adam_sde(X1, Y1, loss="logistic", theta0=0.0, alpha=0.1, batch_size=10, steps=5)


# ---------------------------------------------------------------------------------------------
# the scaling rule
# ---------------------------------------------------------------------------------------------
def test_scaling_rule_transform():
    out = sde.scaling_rule(4, alpha=0.01, batch_size=3, eps=1e-8, betas=(0.99, 0.999))
    assert out["alpha"] == pytest.approx(0.02) and out["batch_size"] == 12
    assert out["eps"] == pytest.approx(5e-9)
    np.testing.assert_allclose(out["betas"], (0.96, 0.996))
    # the SDE's constants sigma0 = alpha sqrt(S_B), c_i, eps0 are invariant (S_B ~ 1/B)
    for kappa in (2, 8):
        new = sde.scaling_rule(kappa, alpha=0.01, batch_size=3, eps=1e-8, betas=(0.99, 0.999))
        assert new["alpha"] ** 2 / new["batch_size"] == pytest.approx(0.01**2 / 3)
        assert new["eps"] * new["alpha"] == pytest.approx(1e-10)
        for b, b0 in zip(new["betas"], (0.99, 0.999), strict=True):
            assert (1 - b) / new["alpha"] ** 2 == pytest.approx((1 - b0) / 0.01**2)
    assert sde.scaling_rule(1, alpha=0.3, batch_size=5, betas=(0.9,))["alpha"] == 0.3


@pytest.mark.parametrize(("kappa", "match"), [
    (0.0, "kappa must be > 0"),
    (20.0, r"kappa must be in \(0, 10\]"),
    (1.5, "kappa must make kappa \\* batch_size an integer"),
])
def test_scaling_rule_rejects_bad_kappa(kappa, match):
    with pytest.raises(ValueError, match=match):
        sde.scaling_rule(kappa, alpha=0.01, batch_size=3, betas=(0.9,))


def test_teacher_logistic_is_seeded_and_shaped():
    X, y, w = stochastic.teacher_logistic(n_samples=50, dim=12, seed=5)
    X2, y2, w2 = stochastic.teacher_logistic(n_samples=50, dim=12, seed=5)
    assert X.shape == (50, 12) and y.shape == (50,) and w.shape == (12,)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(w, w2)
    assert np.all(X[:, -1] == 1.0) and set(np.unique(y)) <= {-1.0, 1.0}
    with pytest.raises(ValueError, match="dim must be an integer >= 2"):
        stochastic.teacher_logistic(dim=1)


def test_minibatch_run_warm_start():
    a = stochastic.minibatch_run("rmsprop", X1, Y1, theta0=0.0, alpha=0.1, batch_size=10,
                                 steps=5, seed=1, v0=2.0)
    assert a.v[0, 0] == 2.0
    with pytest.raises(TypeError, match="unexpected keyword"):
        stochastic.minibatch_run("rmsprop", X1, Y1, theta0=0.0, alpha=0.1, batch_size=10,
                                 steps=5, seed=1, beta1=0.5)
