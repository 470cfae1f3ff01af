"""Tests of idebook.analysis on hand-made trajectories."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import idebook
from idebook import analysis, discrete, objectives
from idebook.results import ContinuousRun, DiscreteRun, Trajectory


def traj(theta):
    theta = np.asarray(theta, dtype=float)
    theta = theta.reshape(len(theta), -1)
    return Trajectory(t=0.1 * np.arange(len(theta)), theta=theta)


# ---------------------------------------------------------------------------------------------
# settle_k
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("theta, k", [
    ([5.0, 4.5, 4.01, 4.0005, 4.0001, 3.9999], 3),  # enters at k = 3 and stays
    ([4.0, 4.0001, 4.01, 4.0001, 4.0], 3),           # inside, leaves at k = 2, back at k = 3
    ([4.0, 4.0, 4.0], 0),                            # inside from the start
    ([4.0002, 3.9998, 4.0], 0),
    ([5.0, 4.0, 4.0], 1),
    ([4.0], 0),
])
def test_settle_k_by_hand(theta, k):
    assert analysis.settle_k(traj(theta), 4.0, 1e-3) == k


@pytest.mark.parametrize("theta", [[5.0, 4.0, 4.1], [5.0, 6.0, 7.0], [4.0, 4.0, 4.002], [3.0]])
def test_settle_k_never_settles(theta):
    assert analysis.settle_k(traj(theta), 4.0, 1e-3) is None


def test_settle_k_tolerance_is_strict():
    # "stays below tol": a distance equal to tol is outside
    assert analysis.settle_k(traj([1.0, 0.5, 0.25]), 0.0, 0.5) == 2
    assert analysis.settle_k(traj([1.0, 0.5, 0.25]), 0.0, 0.5000001) == 1


def test_settle_k_uses_the_euclidean_norm():
    run = traj([[3.0, 4.0], [0.3, 0.4], [0.0, 0.1]])  # distances 5, 0.5, 0.1 from 0
    assert analysis.settle_k(run, [0.0, 0.0], 0.6) == 1
    assert analysis.settle_k(run, [0.0, 0.0], 0.45) == 2  # max |coordinate| would give 1
    assert analysis.settle_k(run, np.array([0.0, 0.1]), 0.05) == 2
    assert analysis.settle_k(run, [0.0, 0.0], 0.05) is None


def test_settle_k_on_a_discrete_run_matches_the_definition():
    d = discrete.rmsprop(objectives.quadratic(), 1.0, alpha=0.1, beta=0.9, steps=60)
    tol = 0.05
    k = analysis.settle_k(d, 4.0, tol)
    assert k is not None and 0 < k <= 60
    dist = np.abs(d.theta[:, 0] - 4.0)
    assert np.all(dist[k:] < tol)
    assert dist[k - 1] >= tol


# ---------------------------------------------------------------------------------------------
# observed_order
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [1.0, 2.0, 4.0, 0.5])
@pytest.mark.parametrize("C", [1e-3, 3.7, 250.0])
def test_observed_order_exact_power_law(p, C):
    h = 0.1 / 2.0 ** np.arange(5)
    assert analysis.observed_order(h, C * h**p) == pytest.approx(p, rel=1e-12)


def test_observed_order_negative_slope_and_lists():
    h = [1.0, 0.1, 0.01]
    assert analysis.observed_order(h, [1.0, 10.0, 100.0]) == pytest.approx(-1.0, rel=1e-12)
    assert isinstance(analysis.observed_order(h, [1.0, 10.0, 100.0]), float)


def test_observed_order_least_squares_fit():
    # log err = 4 log h + c + r with residuals r = (+d, -d, -d, +d): symmetric about the mean of
    # log h, orthogonal to the centred log h, so the least-squares slope is still exactly 4
    h = np.array([0.08, 0.04, 0.02, 0.01])
    r = 0.1 * np.array([1.0, -1.0, -1.0, 1.0])
    err = 2.0 * h**4 * np.exp(r)
    assert analysis.observed_order(h, err) == pytest.approx(4.0, rel=1e-12)
    # residuals correlated with log h tilt the fit: +d at the two largest h, -d at the two
    # smallest raise the slope by sum(x r) / sum(x^2) = 0.4 ln 2 / (5 ln(2)^2), x = centred log h
    r2 = 0.1 * np.array([1.0, 1.0, -1.0, -1.0])
    assert analysis.observed_order(h, 2.0 * h**4 * np.exp(r2)) == pytest.approx(
        4.0 + 0.4 / (5.0 * np.log(2.0)), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------------
def test_table_format():
    out = analysis.table(("a", "bb"), [("xxx", 1), ("y", 22.5)])
    assert out == "a    bb\n---  ----\nxxx  1\ny    22.5"


def test_table_no_rows():
    assert analysis.table(("alpha", "k"), []) == "alpha  k\n-----  -"


def _fake_continuous(t, **states):
    """A ContinuousRun whose dense output returns the given states and records the times asked."""
    calls = []

    def dense(times):
        calls.append(np.array(times))
        return Trajectory(t=times, **states)

    run = ContinuousRun(t=t, theta=states["theta"], algorithm="adam", alpha=0.1, params={},
                        method="fast", success=True, status=0, message="", nfev=0, sol=dense,
                        iterations=0, residual=0.0, error_estimate=0.0, substeps=2)
    return run, calls


def _discrete(t, theta, **fields):
    """A DiscreteRun with the given samples (the diagnostics of a completed run)."""
    return DiscreteRun(t=t, theta=theta, params={}, success=True, status=0, message="",
                       nfev=t.size - 1, sol=None, **fields)


def test_gaps_values_and_times():
    t = np.array([0.0, 0.1, 0.2])
    d = _discrete(t, np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]]),
                  v=np.array([[0.0], [1.0], [2.0]]), m=np.zeros((3, 2)), algorithm="adam",
                  alpha=0.1)
    c, calls = _fake_continuous(t, theta=np.array([[1.0, 0.0], [2.0, 0.5], [0.0, 5.0]]),
                                v=np.array([[0.0], [1.25], [2.0]]))
    g = analysis.gaps(d, c)
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], t)
    assert set(g) == {"theta", "v"}  # m only on one side, G on neither
    assert g["theta"] == (5.0, 5.0)  # ||(3, 1) - (0, 5)|| = 5
    assert g["v"] == (0.25, 0.0)


def test_gap_table_format():
    t = np.array([0.0, 0.1, 0.2])
    adam = _discrete(t, np.array([[1.0], [2.0], [3.0]]), v=np.array([[0.0], [1.0], [2.0]]),
                     m=np.array([[0.0], [0.5], [0.7]]), algorithm="adam", alpha=0.1)
    c_adam, _ = _fake_continuous(t, theta=np.array([[1.0], [2.0 + 1.0 / 3.0], [3.0 + 2e-4 / 3.0]]),
                                 v=np.array([[0.0], [1.0], [2.0]]))
    ada = _discrete(t, np.array([[1.0], [2.0], [3.0]]), G=np.array([[0.0], [36.0], [70.0]]),
                    algorithm="adagrad", alpha=0.1)
    c_ada, _ = _fake_continuous(t, theta=np.array([[1.0], [2.0], [3.0]]),
                                G=np.array([[0.0], [36.5], [70.000123456]]))
    out = analysis.gap_table({"adam": (adam, c_adam), "adagrad": (ada, c_ada)})
    expected = "\n".join([
        "run      state  max gap  final gap",
        "-------  -----  -------  ---------",
        "adam     theta  0.333    6.67e-05",
        "adam     v      <2e-10   <2e-10",
        "adagrad  theta  <1e-10   <1e-10",
        "adagrad  G      0.5      0.000123",
    ])
    assert out == expected
    # a memory's floor scales with its size (max |v| = 2, max |G| = 70): the solver measures
    # a memory's error relative to it
    coarse = analysis.gap_table({"adam": (adam, c_adam), "adagrad": (ada, c_ada)}, floor=1e-5)
    assert [line.split()[2:] for line in coarse.splitlines()[2:]] == [
        ["0.333", "7e-05"], ["<2e-05", "<2e-05"], ["<1e-05", "<1e-05"], ["0.5", "<7e-04"]]
    out5 = analysis.gap_table({"adam": (adam, c_adam)}, digits=5)
    assert out5.splitlines()[2].split() == ["adam", "theta", "0.33333", "6.6667e-05"]


def test_gaps_of_a_run_with_itself_are_zero():
    d = discrete.adam(objectives.quadratic(), 1.0, alpha=0.1, steps=20)
    c, _ = _fake_continuous(d.t, theta=d.theta, v=d.v, m=d.m)
    assert analysis.gaps(d, c) == {"theta": (0.0, 0.0), "v": (0.0, 0.0), "m": (0.0, 0.0)}
    lines = analysis.gap_table({"adam": (d, c)}).splitlines()
    scale = {"v": np.max(np.abs(d.v)), "m": np.max(np.abs(d.m))}
    bound = {name: f"<{1e-10 * max(1.0, scale.get(name, 1.0)):.0e}" for name in ("theta", "v", "m")}
    assert [line.split()[1:] for line in lines[2:]] == [[name, bound[name], bound[name]]
                                                        for name in ("theta", "v", "m")]


def test_fmt_hides_round_off_below_the_floor():
    assert analysis.fmt(3.06e-14) == "<1e-10"
    assert analysis.fmt(-2e-12) == "<1e-10"
    assert analysis.fmt(0.0123456) == "0.0123"
    # one rule: an exact zero prints as the same bound as a round-off-level number
    assert analysis.fmt(0.0) == analysis.fmt(-0.0) == analysis.fmt(1e-17) == "<1e-10"
    assert analysis.fmt(1e-10) == "1e-10"
    assert analysis.fmt(None) == "-"
    assert analysis.fmt(float("inf")) == "inf"


@pytest.mark.parametrize(("x", "digits", "floor", "expected"), [
    (1.6e-10, 3, analysis.FLOOR, "2e-10"),  # no digit below the floor's decade
    (1.59e-9, 3, analysis.FLOOR, "1.6e-09"),
    (1.59e-8, 3, analysis.FLOOR, "1.59e-08"),
    (0.0123456, 2, analysis.FLOOR, "0.012"),
    (4.3e-9, 3, 1e-7, "<1e-07"),  # a solve's noise, below its accuracy 10 tol
    (8.514e-6, 3, 1e-7, "8.5e-06"),
    (-8.514e-6, 3, 1e-7, "-8.5e-06"),
    (0.00727, 3, 1e-7, "0.00727"),
])
def test_fmt_prints_no_digit_below_the_floor(x, digits, floor, expected):
    assert analysis.fmt(x, digits, floor) == expected


def test_approx_marks_machine_dependent_numbers_and_nbval_compares_only_the_mark():
    from notebook_outputs import sanitize as seen_by_nbval

    assert analysis.approx(16274) == "\u224816274"
    assert analysis.approx(np.int64(12)) == "\u224812"
    assert analysis.approx(32.126) == "\u224832.1"
    assert analysis.approx(1.32e-9, 1) == "\u22481e-09"
    ours = analysis.table(("run", "nfev", "estimate", "gap"),
                          [("a", analysis.approx(999), analysis.approx(2.04e-9, 1), "0.25")])
    theirs = analysis.table(("run", "nfev", "estimate", "gap"),
                            [("a", analysis.approx(1001), analysis.approx(9.6e-10, 1), "0.25")])
    assert ours != theirs and seen_by_nbval(ours) == seen_by_nbval(theirs)
    assert seen_by_nbval(analysis.approx(float("inf"))) == seen_by_nbval(analysis.approx(2.5))
    # everything else on the line is still compared
    other = theirs.replace("0.25", "0.26")
    assert seen_by_nbval(ours) != seen_by_nbval(other)


def test_gaps_up_to_t_max():
    t = np.array([0.0, 0.1, 0.2, 0.3])
    d = Trajectory(t=t, theta=np.array([[1.0], [2.0], [3.0], [4.0]]),
                   v=np.array([[0.], [1.], [2.], [3.]]))
    c, calls = _fake_continuous(t[:3], theta=np.array([[1.0], [2.5], [2.75]]),
                                v=np.array([[0.0], [1.0], [4.0]]))
    g = analysis.gaps(d, c, t_max=0.2)
    np.testing.assert_array_equal(calls[0], t[:3])  # the later time is never asked for
    assert g == {"theta": (0.5, 0.25), "v": (2.0, 2.0)}
    with pytest.raises(ValueError, match="t_max"):
        analysis.gaps(d, c, t_max=-1.0)


def test_gaps_against_another_continuous_run():
    # a continuous solution sampled at the discrete times is a valid reference
    t = np.array([0.0, 0.1])
    ref = Trajectory(t=t, theta=np.array([[1.0], [1.5]]), v=np.array([[0.0], [2.0]]))
    c, _ = _fake_continuous(t, theta=np.array([[1.0], [1.25]]), v=np.array([[0.0], [1.0]]))
    assert analysis.gaps(ref, c) == {"theta": (0.25, 0.25), "v": (1.0, 1.0)}


def test_compare_curves_by_hand():
    ref = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    other = np.array([1.0, 2.5, 2.0, 4.25, 5.0])
    out = analysis.compare_curves(ref, other)
    assert out == {"above": 0.4, "below": 0.2, "max_above": 0.5, "k_above": 1,
                   "max_below": -1.0, "k_below": 2}


def test_compare_curves_one_side_only():
    out = analysis.compare_curves([1.0, 2.0, 3.0], [0.5, 2.0, 2.0])
    assert out["above"] == 0.0 and out["max_above"] == 0.0 and out["k_above"] == -1
    assert out["below"] == pytest.approx(2 / 3) and out["max_below"] == -1.0
    assert out["k_below"] == 2
    assert analysis.compare_curves(np.ones((3, 1)), np.ones(3))["k_above"] == -1
    with pytest.raises(ValueError, match="one shape"):
        analysis.compare_curves([1.0, 2.0], [1.0])


def test_compare_curves_tolerance_ignores_round_off():
    ref = np.array([1.0, 1e-12, 2.0])
    other = np.array([1.0 + 1e-15, -1e-12, 2.5])
    assert analysis.compare_curves(ref, other)["below"] == pytest.approx(1 / 3)
    out = analysis.compare_curves(ref, other, tol=1e-10)
    assert out["above"] == pytest.approx(1 / 3) and out["below"] == 0.0
    assert out["k_below"] == -1 and out["max_above"] == 0.5
    with pytest.raises(ValueError, match="tol"):
        analysis.compare_curves(ref, other, tol=-1.0)


def test_divergence_time_from_a_real_overflow():
    # Algorithm 4 on RMSProp with beta = 0 at alpha = 0.01 overflows during a sweep
    from idebook import DivergenceError, continuous

    with pytest.raises(DivergenceError) as info:
        continuous.rmsprop(objectives.quadratic(), 1.0, alpha=0.01, beta=0.0, t_end=6.0,
                           method="paper")
    t = analysis.divergence_time(info.value)
    assert 0.0 < t <= 6.0


def test_divergence_time_is_the_time_a_continuous_solve_reports():
    from idebook import DivergenceError

    assert analysis.divergence_time(DivergenceError("diverged", t=2.5)) == 2.5
    with pytest.raises(ValueError, match="time"):
        analysis.divergence_time(DivergenceError("diverged at a step", k=3))


def test_fmt_vector():
    assert analysis.fmt_vector(np.array([1.741823, -0.2485373, 0.0])) == "(1.742, -0.2485, <1e-10)"
    assert analysis.fmt_vector([[2.0], [3e-14]], digits=6) == "(2, <1e-10)"
    assert analysis.fmt_vector([1.741823, -0.28], 3, analysis.approx) == "(\u22481.74, \u2248-0.28)"


# --- the Gronwall majorant of the gap (chapter "How good is the continuous model?") -----------

CASES = [("adagrad", {}), ("rmsprop", {"beta": 0.9}), ("rmsprop", {"beta": 0.0}),
         ("adam", {"beta1": 0.9, "beta2": 0.999}), ("adam", {"beta1": 0.0, "beta2": 0.99})]


@pytest.mark.parametrize(("algorithm", "params"), CASES)
def test_gap_bound_majorises_the_measured_gap_and_is_first_order(algorithm, params):
    f = idebook.objectives.quadratic()
    constants = []
    for alpha in (0.01, 0.001):
        d = getattr(idebook.discrete, algorithm)(f, 1.0, alpha=alpha, steps=round(2.5 / alpha),
                                                 **params)
        c = getattr(idebook.continuous, algorithm)(f, 1.0, alpha=alpha, t_end=2.5, **params)
        E = analysis.gap_bound(c, f, 2.0, t_end=2.0)
        gap = np.abs(d.theta[: E.size, 0] - c.theta[: E.size, 0])
        assert E[0] == 0.0 and np.all(np.isfinite(E)) and np.all(np.diff(E) >= 0)
        assert np.all(gap <= E + 1e-8)  # 1e-8: the solver's tolerance on theta(t)
        constants.append(E[-1] / alpha)
    # E ~ C alpha: C changes by less than 2x over a decade (E ~ sqrt(alpha) would give 3.16x)
    assert 0.5 < constants[1] / constants[0] < 2.0


@pytest.mark.parametrize(("algorithm", "params"), [("rmsprop", {"beta": 0.0}),
                                                    ("adam", {"beta1": 0.9, "beta2": 0.99})])
def test_gap_bound_takes_a_memory_below_zero_by_round_off_as_zero(algorithm, params):
    # a memory decayed towards 0 can come back as -4e-27 (RMSProp, beta = 0, alpha = 0.001, at
    # t = 3.05): no sqrt of a negative number (a NaN and a RuntimeWarning), the same bound as 0
    f = idebook.objectives.quadratic()
    c = getattr(idebook.continuous, algorithm)(f, 1.0, alpha=0.01, t_end=4.0, **params)
    k = 300  # theta rests at theta* by then
    c.v[k, 0] = 0.0
    at_zero = analysis.gap_bound(c, f, 2.0)
    c.v[k, 0] = -4e-27
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        below = analysis.gap_bound(c, f, 2.0)
    np.testing.assert_array_equal(below, at_zero)
    assert not np.any(np.isnan(below))


def test_gap_bound_is_lost_once_the_memory_bound_is_lost():
    # RMSProp with beta = 0 reaches theta* = 4 at t ~ 3, where v ~ g^2 -> 0: the bound is inf
    f = idebook.objectives.quadratic()
    c = idebook.continuous.rmsprop(f, 1.0, alpha=0.01, beta=0.0, t_end=4.0)
    assert np.isinf(analysis.gap_bound(c, f, 2.0)[-1])
    with pytest.raises(ValueError, match="L must be"):
        analysis.gap_bound(c, f, 0.0)
    with pytest.raises(ValueError, match="t_end"):
        analysis.gap_bound(c, f, 2.0, t_end=10.0)
    per = idebook.continuous.rmsprop(f, 1.0, alpha=0.1, t_end=1.0, per_coordinate=True)
    with pytest.raises(ValueError, match="norm memory"):
        analysis.gap_bound(per, f, 2.0)


def test_memory_floor_scales_with_the_memory_above_one():
    assert analysis.memory_floor(np.array([0.0, 0.5]), 1e-7) == 1e-7
    assert analysis.memory_floor(np.array([[-35.0], [2.0]]), 1e-7) == pytest.approx(3.5e-6)
