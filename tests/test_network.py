"""The digits MLP (idebook.network), the sharpness (idebook.sharpness) and the stored runs."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from idebook import continuous, discrete, modified, network, objectives
from idebook.sharpness import sharpness, stability_threshold

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "book" / "data" / "network.npz"


@pytest.fixture(scope="module")
def digits_mlp():
    X, y = network.digits(300, 0)
    f = network.mlp(X, y, 16)
    return f, network.initial_theta(f, 0), X, y


def small_mlp(seed: int = 1):
    """A network 3 -> 2 -> 3 on 12 random points: 17 parameters."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((12, 3))
    y = rng.integers(0, 3, 12)
    y[:3] = (0, 1, 2)
    return network.mlp(X, y, 2), rng


def numpy_logits(theta, X, y, hidden):
    """The network's logits written with numpy, independently of the compiled loop."""
    n_in, n_out = X.shape[1], int(y.max()) + 1
    W1 = theta[: hidden * n_in].reshape(hidden, n_in)
    b1 = theta[hidden * n_in: hidden * (n_in + 1)]
    W2 = theta[hidden * (n_in + 1): hidden * (n_in + 1) + n_out * hidden].reshape(n_out, hidden)
    b2 = theta[hidden * (n_in + 1) + n_out * hidden:]
    return np.tanh(X @ W1.T + b1) @ W2.T + b2


def numpy_loss(theta, X, y, hidden):
    """The mean cross-entropy of :func:`numpy_logits`."""
    z = numpy_logits(theta, X, y, hidden)
    zmax = z.max(axis=1, keepdims=True)
    logsumexp = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
    return float(np.mean(logsumexp - z[np.arange(y.size), y]))


def test_digits_subset_is_seeded_and_standardised():
    X, y = network.digits(300, 0)
    X2, y2 = network.digits(300, 0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert X.shape == (300, 56) and set(np.unique(y)) == set(range(10))
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0, rtol=1e-12)
    assert not np.array_equal(network.digits(300, 1)[1], y)


@pytest.mark.parametrize("n", [0, 9, 1798, 2.0])
def test_digits_rejects_sizes(n):
    with pytest.raises(ValueError, match="n_samples"):
        network.digits(n)


def test_the_network_has_over_a_thousand_parameters(digits_mlp):
    f, theta0, X, y = digits_mlp
    assert f.dim == network.parameter_count(56, 16, 10) == 1082 == theta0.size
    assert f.jitted and f.name == "MLP 56-16-10"


def test_loss_equals_a_numpy_implementation(digits_mlp):
    f, theta0, X, y = digits_mlp
    rng = np.random.default_rng(3)
    for theta in (theta0, theta0 + 0.5 * rng.standard_normal(theta0.size)):
        assert f(theta) == pytest.approx(numpy_loss(theta, X, y, 16), rel=1e-12)
    assert f(theta0) == pytest.approx(np.log(10), rel=0.1)  # near-uniform start
    trained = discrete.adam(f, theta0, alpha=0.05, steps=20, per_coordinate=True).theta[-1]
    for theta in (theta0, trained):
        expected = np.mean(np.argmax(numpy_logits(theta, X, y, 16), axis=1) == y)
        assert network.accuracy(f, theta) == expected
    assert network.accuracy(f, trained) > 0.9


def test_gradient_equals_central_differences(digits_mlp):
    """Every one of 60 random coordinates and 5 random directions, relative error < 1e-6."""
    f, theta0, X, y = digits_mlp
    rng = np.random.default_rng(4)
    theta = theta0 + 0.3 * rng.standard_normal(theta0.size)
    g = f.gradient(theta)
    h = 1e-5
    for i in rng.choice(theta.size, 60, replace=False):
        e = np.zeros(theta.size)
        e[i] = h
        fd = (f(theta + e) - f(theta - e)) / (2 * h)
        assert abs(fd - g[i]) <= 1e-6 * max(abs(g[i]), 1e-3), i
    for _ in range(5):
        u = rng.standard_normal(theta.size)
        u /= np.linalg.norm(u)
        fd = (f(theta + h * u) - f(theta - h * u)) / (2 * h)
        assert abs(fd - g @ u) <= 1e-6 * np.linalg.norm(g)


def test_mlp_rejects_bad_input():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="shapes"):
        network.mlp(X, np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="integer labels"):
        network.mlp(X, np.array([0.0, 1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="hidden"):
        network.mlp(X, np.array([0, 1, 0, 1]), hidden=0)
    with pytest.raises(ValueError, match="finite"):
        network.mlp(np.full((4, 2), np.nan), np.array([0, 1, 0, 1]))


def test_the_optimisers_accept_the_network(digits_mlp):
    f, theta0, X, y = digits_mlp
    run = discrete.adam(f, theta0, alpha=0.02, steps=10, per_coordinate=True)
    losses = network.losses(f, run.theta)
    assert losses[-1] < 0.7 * losses[0]
    assert network.accuracy(f, run.theta[-1]) > network.accuracy(f, theta0)


def test_adams_ode_form_is_proposition_3():
    """modified.ode_model(order=0) for Adam solves the same equation as continuous.adam (the
    IDE of Proposition 3 has no shift): the two agree to the solvers' tolerances."""
    f, rng = small_mlp()
    theta0 = network.initial_theta(f, 2)
    kw = {"alpha": 0.05, "t_end": 1.0, "per_coordinate": True}
    ide = continuous.adam(f, theta0, tol=1e-8, **kw)
    ode = modified.ode_model("adam", f, theta0, method="RK45", rtol=1e-10, atol=1e-12, **kw)
    assert ide.success and ode.success
    scale = np.abs(ide.theta).max()
    assert np.abs(ode.theta - ide.theta).max() < 1e-6 * scale
    d = discrete.adam(f, theta0, alpha=0.05, steps=20, per_coordinate=True)
    assert np.abs(d.theta - ide.theta).max() > 1e-4 * scale  # the gap is not round-off


def test_gap_of_a_run_with_itself_is_zero_and_times_must_match(digits_mlp):
    f, theta0, X, y = digits_mlp
    run = discrete.rmsprop(f, theta0, alpha=0.05, steps=4, per_coordinate=True)
    g = network.gap(f, run, run)
    assert g.theta == 0.0 and g.loss == 0.0 and g.decrease > 0 and g.predictive
    other = discrete.rmsprop(f, theta0, alpha=0.04, steps=4, per_coordinate=True)
    with pytest.raises(ValueError, match="same times"):
        network.gap(f, run, other)


def test_sharpness_of_a_quadratic_is_its_top_eigenvalue():
    rng = np.random.default_rng(5)
    B = rng.standard_normal((30, 30))
    A = B @ B.T / 30 + np.diag(np.linspace(0.1, 3.0, 30))
    f = objectives.quadratic(np.ones(30), A)
    theta = rng.standard_normal(30)
    s = sharpness(f, theta, tol=1e-10)
    top = np.linalg.eigvalsh(2 * A)[-1]
    assert s.success and s.value == pytest.approx(top, rel=1e-8) and s.residual < 1e-6 * top
    d = rng.uniform(0.1, 2.0, 30)
    preconditioned = np.linalg.eigvalsh(2 * A / np.sqrt(np.outer(d, d)))[-1]
    assert sharpness(f, theta, d, tol=1e-10).value == pytest.approx(preconditioned, rel=1e-8)


def test_sharpness_of_the_network_matches_its_hessian():
    """Against the full Hessian of a 17-parameter network by differences of the gradient."""
    f, rng = small_mlp()
    theta = network.initial_theta(f, 6) + 0.5 * rng.standard_normal(17)
    h = 1e-5
    H = np.array([(f.gradient(theta + h * e) - f.gradient(theta - h * e)) / (2 * h)
                  for e in np.eye(17)])
    d = rng.uniform(0.5, 2.0, 17)
    expected = np.linalg.eigvalsh(0.5 * (H + H.T) / np.sqrt(np.outer(d, d)))[-1]
    s = sharpness(f, theta, d, tol=1e-10)
    assert s.value == pytest.approx(expected, rel=1e-6)
    assert s.nfev > 0 and s.success


def test_sharpness_rejects_bad_preconditioners():
    f = objectives.quadratic(np.zeros(3))
    with pytest.raises(ValueError, match="preconditioner"):
        sharpness(f, np.ones(3), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="preconditioner"):
        sharpness(f, np.ones(3), np.ones(2))


def test_stability_thresholds_of_cohen_et_al():
    assert stability_threshold(0.01) == pytest.approx(200.0)
    assert stability_threshold(0.01, 0.9) == pytest.approx(3800.0)
    with pytest.raises(ValueError, match="beta1"):
        stability_threshold(0.01, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        stability_threshold(0.0)


def _script():
    spec = importlib.util.spec_from_file_location("network_runs",
                                                  ROOT / "scripts" / "network_runs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stored_runs_are_intact_and_reproduced():
    """The sha256 the script recorded, and a recomputation of the largest alpha's Adam runs."""
    recorded = (DATA.with_suffix(".sha256")).read_text().split()[0]
    assert hashlib.sha256(DATA.read_bytes()).hexdigest() == recorded
    script = _script()
    data = np.load(DATA)
    assert np.array_equal(data["alphas"], script.ALPHAS) and data["T"][0] == script.T
    f, theta0, kwargs = script.setting()
    i = len(script.ALPHAS) - 1
    fresh = script.one(f, theta0, "adam", script.ALPHAS[i], kwargs["adam"])
    for key in ("loss_discrete", "loss_ide", "loss_ode", "gap_ide", "gap_ode", "sharp"):
        np.testing.assert_allclose(data[f"adam/{i}/{key}"], fresh[key], rtol=1e-6, atol=1e-9,
                                   err_msg=key)
    # the models' distance from a solve 100 times more accurate: about the solver's rtol 1e-7,
    # here and on the stored runs of every alpha, where the chapter prints 3 digits
    for key in ("error_ide", "error_ode"):
        assert np.all(fresh[key] < 1e-5), (key, fresh[key])
        stored = np.array([data[f"{alg}/{j}/{key}"] for alg in ("adam", "rmsprop")
                           for j in range(len(script.ALPHAS))])
        assert np.all(stored < 1e-4), (key, stored.max(axis=0))
