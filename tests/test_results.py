"""The result contract (idebook.results) and the error policy, the same for every solver."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from roundtrip import assert_round_trips

import idebook
from idebook import continuous, discrete, modified, stochastic
from idebook.model import output_times
from idebook.results import STATUS, ContinuousRun, DiscreteRun

F = idebook.objectives.quadratic()
F2 = idebook.objectives.quadratic(np.array([4.0, -2.0]))


def _runs():
    """One result of every kind the package returns."""
    X, y = idebook.objectives.paper_regression_data(50)
    return {
        "discrete adagrad": discrete.adagrad(F, 1.0, alpha=0.1, steps=20),
        "discrete adam, per coordinate": discrete.adam(F2, [1.0, 1.0], alpha=0.1, steps=20,
                                                       per_coordinate=True),
        "discrete gd, warm": modified.discrete_run("gd", F, 1.0, alpha=0.1, steps=5),
        "fast rmsprop": continuous.rmsprop(F, 1.0, alpha=0.1, t_end=1.0),
        "fast adam": continuous.adam(F2, [1.0, 1.0], alpha=0.1, t_end=1.0),
        "paper adagrad": continuous.adagrad(F, 1.0, alpha=0.1, t_end=0.5, method="paper"),
        "paper adam": continuous.adam(F, 1.0, alpha=0.1, t_end=0.5, method="paper"),
        "ode adam": modified.ode_model("adam", F, 1.0, alpha=0.1, t_end=1.0),
        "ode adam, matched, beta1 = 0": modified.ode_model(
            "adam", F, 1.0, alpha=0.1, t_end=1.0, beta1=0.0, decay="matched"),
        "ode rmsprop, fixed": modified.ode_model("rmsprop", F, 1.0, alpha=0.1, t_end=1.0,
                                                 order=1, regime="fixed", v0=36.0),
        "minibatch": stochastic.minibatch_run("adam", X, y, theta0=0.0, alpha=0.05,
                                              batch_size=5, steps=20, seed=1),
    }


RUNS = _runs()


@pytest.mark.parametrize("name", RUNS)
def test_every_run_pickles_and_round_trips(name):
    run = RUNS[name]
    assert_round_trips(run, run.t[[0, len(run.t) // 2, -1]])


def test_ide_result_pickles_and_keeps_idesolver_names():
    res = idebook.solve_ide(np.linspace(0.0, 1.0, 5), 1.0, lambda x, y: y, lambda x: 0.5,
                            lambda x, s: 1.0, lambda y: y, lambda x: 0.0, lambda x: x)
    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(back.y, res.y)
    assert back.sol(0.37) == res.sol(0.37)
    assert res.iteration == res.iterations and res.residual == res.global_error
    assert res.status == 0 and res.success
    assert res != back and hash(res) != hash(back)  # identity semantics, no exception


def test_seed_average_pickles():
    X, y = idebook.objectives.paper_regression_data(50)
    avg = stochastic.seed_average("rmsprop", X, y, theta0=0.0, alpha=0.05, batch_size=5,
                                  steps=10, seeds=3)
    back = pickle.loads(pickle.dumps(avg))
    np.testing.assert_array_equal(back.mean, avg.mean)
    assert back.seeds == avg.seeds


@pytest.mark.parametrize("name", RUNS)
def test_equality_and_hash_do_not_raise(name):
    run = RUNS[name]
    assert run == run and run != pickle.loads(pickle.dumps(run))
    assert isinstance(hash(run), int)


@pytest.mark.parametrize("name", RUNS)
def test_every_run_reports_status_and_nfev(name):
    run = RUNS[name]
    assert run.success is True and run.status == 0 and run.status in STATUS
    assert isinstance(run.message, str) and run.message
    assert isinstance(run.nfev, int) and run.nfev > 0


def test_discrete_nfev_is_the_number_of_steps():
    assert discrete.rmsprop(F, 1.0, alpha=0.1, steps=17).nfev == 17


def test_results_need_their_fields_by_keyword():
    t, theta = np.zeros(1), np.zeros((1, 1))
    with pytest.raises(TypeError):
        ContinuousRun(t=t, theta=theta)
    with pytest.raises(TypeError):
        DiscreteRun(t, theta)  # positional construction is not allowed


@pytest.mark.parametrize("method", ["fast", "paper"])
def test_failures_return_a_negative_status_with_a_warning(method):
    with pytest.warns(idebook.ConvergenceWarning):
        run = continuous.rmsprop(F, 1.0, alpha=0.1, t_end=3.0, method=method, max_sweeps=1)
    assert not run.success and run.status == -1 and run.message


def test_divergence_error_has_separate_k_and_t():
    broken = idebook.objectives.from_functions(
        lambda th: 0.0, lambda th: np.where(th > 2.0, np.nan, 2 * (th - 4)))
    with pytest.raises(idebook.DivergenceError) as d:
        discrete.adagrad(broken, 1.0, alpha=0.5, steps=50)
    assert d.value.k is not None and d.value.t is None
    with pytest.raises(idebook.DivergenceError) as c:
        continuous.adagrad(broken, 1.0, alpha=0.1, t_end=5.0)
    assert c.value.k is None and c.value.t > 0
    assert isinstance(c.value, FloatingPointError)


@pytest.mark.parametrize("method", ["fast", "paper"])
def test_output_times_are_alpha_k_then_t_end(method):
    """The issue's bug: t_end = 0.33 = 11 alpha in exact arithmetic gave 13 times (fast)."""
    run = continuous.adam(F, 1.0, alpha=0.03, t_end=0.33, method=method)
    assert run.t.size == 12
    np.testing.assert_array_equal(run.t, 0.03 * np.arange(12))


def test_output_times_every_method_alike():
    d = discrete.adam(F, 1.0, alpha=0.03, steps=11)
    o = modified.ode_model("adam", F, 1.0, alpha=0.03, t_end=0.33)
    np.testing.assert_array_equal(d.t, o.t)
    np.testing.assert_array_equal(output_times(0.1, 1.05), [*(0.1 * np.arange(11)), 1.05])
    assert output_times(0.1, 0.0).tolist() == [0.0]


def test_discrete_dense_output_is_the_iterates_at_step_times():
    d = discrete.adam(F, 1.0, alpha=0.1, steps=10)
    np.testing.assert_array_equal(d.sol(d.t[[2, 5]]).theta, d.theta[[2, 5]])
    with pytest.raises(ValueError, match="step times"):
        d.sol(0.15)


def test_ode_integrator_failure_is_reported_not_raised():
    """theta' = theta^3 from 1 blows up at t = 1/2: the integrator's step underflows while the
    state is still finite, so the solve ends early with success=False, not an exception."""
    blow_up = idebook.objectives.from_functions(lambda th: 0.0, lambda th: -th**3)
    with pytest.warns(idebook.ConvergenceWarning, match="stopped"):
        run = modified.ode_model("gd", blow_up, 1.0, alpha=0.1, t_end=1.0)
    assert not run.success and run.status == -4
    assert run.t[-1] <= 0.5 and np.all(np.isfinite(run.theta))
    with pytest.raises(ValueError, match="t must lie"):
        run.at(0.6)
