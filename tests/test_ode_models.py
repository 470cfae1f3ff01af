"""idebook.ode_models: the plain-ODE models of the literature, against closed forms and the
discrete algorithms in each model's own regime (observed orders from fitted slopes)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from roundtrip import assert_round_trips

import idebook
from idebook import discrete, ode_models
from idebook.analysis import gaps, observed_order
from idebook.results import STATUS

F = idebook.objectives.quadratic()  # f = (theta - 4)^2, g = 2 (theta - 4)
B = np.array([3.0, -4.0])
LINEAR = idebook.objectives.from_functions(lambda th: float(B @ th), lambda th: B.copy())


def theta_gap(d, c) -> float:
    return gaps(d, c)["theta"][0]


# -- closed forms ----------------------------------------------------------------------------

def test_sign_flow_reaches_the_minimiser_at_unit_speed():
    run = ode_models.sign_flow(F, 1.0, alpha=0.01, t_end=5.0)
    assert run.success and run.nfev > 0
    np.testing.assert_allclose(run.at([1.0, 2.5, 3.5, 5.0]).theta[:, 0], [2.0, 3.5, 4.0, 4.0],
                               atol=1e-6)
    np.testing.assert_allclose(run.t, 0.01 * np.arange(501))


def test_regularised_sign_flow_matches_its_implicit_solution():
    """theta' = -g/(|g| + eps), d = 4 - theta: t = d0 - d + (eps/2) ln(d0/d)."""
    eps = 0.1
    run = ode_models.sign_flow(F, 1.0, alpha=0.1, t_end=3.0, eps=eps)
    d = 4.0 - run.theta[1:, 0]
    np.testing.assert_allclose(3.0 - d + eps / 2 * np.log(3.0 / d), run.t[1:], atol=1e-6)


@pytest.mark.parametrize("per_coordinate", [False, True])
def test_sign_flow_on_a_linear_objective(per_coordinate):
    """Constant g: -g/||g|| (norm memory) or -sign(g) per coordinate, at constant speed."""
    run = ode_models.sign_flow(LINEAR, [0.0, 0.0], alpha=0.1, t_end=2.0, eps=0.0,
                               per_coordinate=per_coordinate)
    direction = -np.sign(B) if per_coordinate else -B / np.linalg.norm(B)
    np.testing.assert_allclose(run.theta, run.t[:, None] * direction, atol=1e-7)
    np.testing.assert_allclose(run.m, np.tile(B, (run.t.size, 1)))


def test_adam_ode_memories_on_a_linear_objective():
    """g constant: m = g (1 - e^{-a1 t}), v = q (1 - e^{-a2 t}), so mhat = g, vhat = q."""
    alpha, beta1, beta2 = 0.1, 0.9, 0.99
    run = ode_models.adam_ode(LINEAR, [0.0, 0.0], alpha=alpha, beta1=beta1, beta2=beta2,
                              t_end=3.0, eps=0.0)
    a1, a2, t = (1 - beta1) / alpha, (1 - beta2) / alpha, run.t[:, None]
    np.testing.assert_allclose(run.m, B * (1 - np.exp(-a1 * t)), atol=1e-7)
    np.testing.assert_allclose(run.v, 25.0 * (1 - np.exp(-a2 * t)), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(run.theta, -t * B / 5.0, atol=1e-6)


def test_rmsprop_ode_cold_start_closed_form():
    """1-D, g = 3: v = 9 (1 - e^{-a t}), theta = -(2/a) artanh(sqrt(1 - e^{-a t})) (eps = 0)."""
    f = idebook.objectives.from_functions(lambda th: 3.0 * th[0], lambda th: np.array([3.0]))
    a = 0.5
    run = ode_models.rmsprop_ode(f, 0.0, alpha=0.2, beta=1 - 0.2 * a, t_end=4.0, eps=0.0)
    exact = -(2 / a) * np.arctanh(np.sqrt(-np.expm1(-a * run.t)))
    np.testing.assert_allclose(run.theta[:, 0], exact, atol=1e-5)
    np.testing.assert_allclose(run.v[:, 0], -9.0 * np.expm1(-a * run.t), atol=1e-6)


def test_sde_drift_without_noise_is_a_gradient_flow():
    """No noise: dtheta/dtau = -g/eps0, tau = alpha t, so theta = 4 - 3 exp(-2 alpha t/eps0)."""
    alpha, eps = 0.1, 20.0
    eps0 = eps * alpha
    for model, kw in [(ode_models.rmsprop_sde_drift, {"beta": 0.99}),
                      (ode_models.adam_sde_drift, {"beta1": 0.0, "beta2": 0.99})]:
        run = model(F, 1.0, alpha=alpha, t_end=20.0, eps=eps, **kw)
        if model is ode_models.rmsprop_sde_drift:
            exact = 4.0 - 3.0 * np.exp(-2 * alpha * run.t / eps0)
            np.testing.assert_allclose(run.theta[:, 0], exact, atol=1e-6)
        assert np.allclose(run.v, 0.0)
    # Adam with beta1 = 0 has c1 = 1/alpha^2: m lags g by tau ~ alpha^2 = 0.01, a 1% effect
    np.testing.assert_allclose(run.theta[-1, 0], 4.0 - 3.0 * np.exp(-2 * alpha * 20.0 / eps0),
                               rtol=5e-3)


# -- against the discrete algorithms, each in its own regime ---------------------------------

def test_adam_ode_is_first_order_in_its_regime():
    alphas, out = np.array([0.04, 0.02, 0.01]), []
    for a in alphas:
        kw = {"beta1": 1 - a, "beta2": 1 - 0.1 * a}
        d = discrete.adam(F, 1.0, alpha=a, steps=round(4.0 / a), **kw)
        out.append(theta_gap(d, ode_models.adam_ode(F, 1.0, alpha=a, t_end=4.0, **kw)))
    assert 0.9 < observed_order(alphas, out) < 1.1
    assert out[-1] < 5e-3


def test_rmsprop_ode_from_a_cold_start_is_half_order():
    """v(0) = 0: the first steps sample t^(-1/2) and the gap is O(sqrt(alpha))."""
    alphas, out = np.array([0.004, 0.001, 0.00025]), []
    for a in alphas:
        d = discrete.rmsprop(F, 1.0, alpha=a, beta=1 - 0.1 * a, steps=round(0.5 / a))
        out.append(theta_gap(d, ode_models.rmsprop_ode(F, 1.0, alpha=a, beta=1 - 0.1 * a,
                                                       t_end=0.5)))
    assert 0.4 < observed_order(alphas, out) < 0.6


def test_sign_flow_is_the_fixed_beta_limit():
    alphas, out = np.array([0.004, 0.002, 0.001]), []
    flow = ode_models.sign_flow(F, 1.0, alpha=0.001, t_end=2.0)
    for a in alphas:
        d = discrete.rmsprop(F, 1.0, alpha=a, beta=0.5, steps=round(2.0 / a))
        out.append(theta_gap(d, flow))
    assert 0.9 < observed_order(alphas, out) < 1.1


def test_rmsprop_sde_drift_is_first_order_in_its_regime_without_noise():
    """1 - beta = alpha^2, eps = 1/alpha: the drift is the limit, the gap O(alpha)."""
    alphas, out = np.array([0.1, 0.05, 0.025]), []
    for a in alphas:
        kw = {"beta": 1 - a * a, "eps": 1.0 / a}
        d = discrete.rmsprop(F, 1.0, alpha=a, steps=round(1.0 / a**2), **kw)
        out.append(theta_gap(d, ode_models.rmsprop_sde_drift(F, 1.0, alpha=a, t_end=1.0 / a,
                                                              **kw)))
    assert 0.9 < observed_order(alphas, out) < 1.1


def test_rmsprop_sde_drift_with_noise_follows_the_mean_recursion():
    """v_k = beta v + (1-beta)(g^2 + s^2), s^2 = 4/alpha^2 (sigma0^2 Sigma = 4): the drift
    follows this noise-averaged recursion to O(alpha^2)."""
    alphas, out = np.array([0.1, 0.05, 0.025]), []
    for a in alphas:
        beta, eps, s2 = 1 - a * a, 1.0 / a, 4.0 / a**2
        theta, v, worst = 1.0, 0.0, 0.0
        run = ode_models.rmsprop_sde_drift(F, 1.0, alpha=a, beta=beta, t_end=1.0 / a, eps=eps,
                                           noise_var=s2)
        for k in range(1, round(1.0 / a**2) + 1):
            g = 2 * (theta - 4)
            v = beta * v + (1 - beta) * (g * g + s2)
            theta -= a * g / (np.sqrt(v) + eps)
            worst = max(worst, abs(theta - run.theta[k, 0]))
        out.append(worst)
    assert 1.8 < observed_order(alphas, out) < 2.2


# -- results and validation ------------------------------------------------------------------

def test_result_fields_and_dense_output():
    run = ode_models.adam_ode(F, 1.0, alpha=0.1, t_end=1.05)
    assert run.success and run.method == "ode-LSODA" and run.algorithm == "adam"
    assert run.t[-1] == pytest.approx(1.05) and run.t.size == 12
    assert run.error_estimate < 1e-6
    np.testing.assert_allclose(run.at(run.t[3:5]).theta, run.theta[3:5])
    with pytest.raises(ValueError, match="t must lie in"):
        run.at(2.0)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: ode_models.adam_ode(F, 1.0, alpha=0.0, t_end=1.0), "alpha must be > 0"),
    (lambda: ode_models.adam_ode(F, 1.0, alpha=0.1, beta1=1.0, t_end=1.0), "beta1 must be in"),
    (lambda: ode_models.rmsprop_ode(F, 1.0, alpha=0.1, beta=-0.1, t_end=1.0), "beta must be in"),
    (lambda: ode_models.sign_flow(F, 1.0, alpha=0.1, t_end=0.0), "t_end must be > 0"),
    (lambda: ode_models.sign_flow(F, 1.0, alpha=0.1, t_end=1.0, eps=-1.0), "eps must be >= 0"),
    (lambda: ode_models.adam_ode(F, 1.0, alpha=0.1, t_end=1.0, method="Euler"), "method must"),
    (lambda: ode_models.adam_ode(F, 1.0, alpha=0.1, t_end=1.0, rtol=0.0), "rtol must be > 0"),
    (lambda: ode_models.rmsprop_sde_drift(F, 1.0, alpha=0.1, t_end=1.0, eps=0.0),
     "eps must be > 0 when noise_var is 0"),
    (lambda: ode_models.adam_sde_drift(F, 1.0, alpha=0.1, t_end=1.0, noise_var=-1.0),
     "noise_var must be >= 0"),
    (lambda: ode_models.adam_ode(F, [1.0, 2.0], alpha=0.1, t_end=1.0), "theta0 must have"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_per_coordinate_sign_flow_stops_each_coordinate_at_its_minimiser():
    """Sign descent on (x - 1)^2 + 10 (y + 2)^2 from 0: each coordinate moves at unit speed
    until its own minimiser, x at t = 1, y at t = 2 (eps = 1e-8, stiff there)."""
    f = idebook.objectives.quadratic(np.array([1.0, -2.0]), np.diag([1.0, 10.0]))
    run = ode_models.sign_flow(f, [0.0, 0.0], alpha=0.1, t_end=3.0, per_coordinate=True)
    assert run.success and run.method == "ode-Radau"
    t = run.t
    np.testing.assert_allclose(run.theta, np.c_[np.minimum(t, 1.0), -np.minimum(t, 2.0)],
                               atol=1e-6)


def test_a_solve_that_runs_out_of_evaluations_reports_failure(monkeypatch):
    monkeypatch.setattr(ode_models, "MAX_NFEV", 40)
    with pytest.warns(idebook.ConvergenceWarning, match="MAX_NFEV = 40"):
        run = ode_models.adam_ode(F, 1.0, alpha=0.01, t_end=5.0)
    assert not run.success and run.status == -4 and "MAX_NFEV" in run.message
    assert 0 < run.t[-1] < 5.0 and np.isnan(run.error_estimate)
    reached = run.sol.end
    np.testing.assert_array_equal(run.t, idebook.model.output_times(0.01, reached))
    with pytest.raises(ValueError, match="t must lie in"):
        run.at(5.0)
    back = pickle.loads(pickle.dumps(run))
    np.testing.assert_array_equal(back.at(run.t).theta, run.at(run.t).theta)


def test_adam_sde_drift_with_noise_follows_the_mean_recursion():
    """Adam with v_k fed g^2 + s^2, s^2 = 4/alpha^2, 1 - beta_i = (1, 0.5) alpha^2,
    eps = 1/alpha: the drift follows it to O(alpha^2)."""
    alphas, out = np.array([0.1, 0.05, 0.025]), []
    for a in alphas:
        b1, b2, eps, s2 = 1 - a * a, 1 - 0.5 * a * a, 1.0 / a, 4.0 / a**2
        theta, m, v, worst = 1.0, 0.0, 0.0, 0.0
        run = ode_models.adam_sde_drift(F, 1.0, alpha=a, beta1=b1, beta2=b2, t_end=1.0 / a,
                                        eps=eps, noise_var=s2)
        for k in range(1, round(1.0 / a**2) + 1):
            g = 2 * (theta - 4)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * (g * g + s2)
            theta -= a * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
            worst = max(worst, abs(theta - run.theta[k, 0]))
        out.append(worst)
    assert 1.8 < observed_order(alphas, out) < 2.2


# -- the result contract (as tests/test_results.py for the other solvers) --------------------

F2 = idebook.objectives.quadratic(np.array([4.0, -2.0]))
RUNS = {
    "adam_ode": ode_models.adam_ode(F, 1.0, alpha=0.1, t_end=1.05),
    "adam_ode, per coordinate, no bias": ode_models.adam_ode(
        F2, [1.0, 1.0], alpha=0.1, t_end=1.0, per_coordinate=True, bias=False),
    "rmsprop_ode (clock sqrt t)": ode_models.rmsprop_ode(F, 1.0, alpha=0.1, t_end=1.0),
    "sign_flow (clock in the state)": ode_models.sign_flow(F2, [1.0, 1.0], alpha=0.1,
                                                           t_end=1.0),
    "sign_flow, per coordinate": ode_models.sign_flow(F2, [1.0, 1.0], alpha=0.1, t_end=1.0,
                                                      per_coordinate=True),
    "rmsprop_sde_drift (clock alpha t)": ode_models.rmsprop_sde_drift(
        F, 1.0, alpha=0.1, beta=0.99, t_end=1.0, eps=10.0, noise_var=4.0),
    "adam_sde_drift": ode_models.adam_sde_drift(F2, [1.0, 1.0], alpha=0.1, beta1=0.99,
                                                beta2=0.995, t_end=1.0, eps=10.0,
                                                noise_var=4.0),
}


@pytest.mark.parametrize("name", RUNS)
def test_every_model_pickles_and_round_trips(name):
    run = RUNS[name]
    back = assert_round_trips(run, np.linspace(0.0, run.t[-1], 7))
    assert type(back.sol) is ode_models.ODEModelSolution
    np.testing.assert_allclose(run.at(run.t).theta, run.theta, rtol=0, atol=0)


@pytest.mark.parametrize("name", RUNS)
def test_every_model_reports_status_and_rejects_bad_times(name):
    run = RUNS[name]
    assert run.success is True and run.status == 0 and run.status in STATUS
    assert isinstance(run.nfev, int) and run.nfev > 0 and run.message
    assert run.error_estimate < 1e-5
    for bad in (np.nan, np.inf, -0.1, [0.5, np.nan]):
        with pytest.raises(ValueError, match="t must"):
            run.at(bad)


def test_a_failed_solve_has_status_minus_4():
    """Per coordinate with eps = 1e-8 the field is stiff at y = -2; RK45 cannot cross it."""
    f = idebook.objectives.quadratic(np.array([1.0, -2.0]), np.diag([1.0, 10.0]))
    with pytest.warns(idebook.ConvergenceWarning, match="Reached t"):
        run = ode_models.sign_flow(f, [0.0, 0.0], alpha=0.1, t_end=3.0, per_coordinate=True,
                                   method="RK45")
    assert not run.success and run.status == -4 and STATUS[-4]
    assert run.t[-1] == run.sol.end < 3.0 and np.all(np.isfinite(run.theta))


@pytest.mark.parametrize("method", ["LSODA", "Radau"])
@pytest.mark.parametrize("model", [ode_models.adam_ode, ode_models.sign_flow])
def test_a_non_finite_state_raises_divergence_error_with_its_time(model, method):
    """The gradient is NaN beyond theta = 2, reached near t = 1."""
    broken = idebook.objectives.from_functions(
        lambda th: 0.0, lambda th: np.where(th > 2.0, np.nan, 2 * (th - 4)))
    with pytest.raises(idebook.DivergenceError) as err:
        model(broken, 1.0, alpha=0.1, t_end=5.0, method=method)
    assert err.value.k is None and 0.5 < err.value.t < 1.5


def test_per_coordinate_sign_flow_with_eps_0_stops_at_the_minimiser():
    """eps = 0: 0/0 = 0 at g = 0 (the package's rule), not a NaN Jacobian: theta = 1 + t up to
    the minimiser 4 at t = 3 (beyond it the discontinuous field chatters, status -4)."""
    run = ode_models.sign_flow(F, 1.0, alpha=0.1, t_end=3.0, eps=0.0, per_coordinate=True)
    assert run.success and run.status == 0
    np.testing.assert_allclose(run.theta[:, 0], np.minimum(1.0 + run.t, 4.0), atol=1e-6)


def test_a_gradient_returning_none_raises_type_error():
    f = idebook.objectives.from_functions(lambda th: 0.0, lambda th: None)
    with pytest.raises(TypeError, match="grad returned None"):
        ode_models.adam_ode(f, 1.0, alpha=0.1, t_end=1.0)
