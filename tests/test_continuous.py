"""The continuous models (Propositions 1-3) and the fast solver, checked against independent truth:
the equations themselves (residuals by quadrature), grid refinement (observed order), and the
discrete algorithms (a gap that is first order in alpha)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

import idebook
from idebook import continuous, discrete
from idebook.analysis import gaps, observed_order
from idebook.objectives import from_functions, quadratic

F = quadratic()
THETA0 = 1.0

# the paper's configurations at alpha = 0.1, with their horizons (k-iterations)
PAPER_01 = [
    ("adagrad", {}, 2000),
    *[("rmsprop", {"beta": b}, 60) for b in (0.0, 0.9, 0.99)],
    *[("adam", {"beta1": b1, "beta2": b2}, 100) for b1 in (0.9, 0.0) for b2 in (0.99, 0.999)],
]
PAPER_001 = [
    ("adagrad", {}, 20_000),  # a tenth of the paper's 200 000 keeps the suite fast
    *[("rmsprop", {"beta": b}, 600) for b in (0.0, 0.9, 0.99)],
    *[("adam", {"beta1": b1, "beta2": b2}, 1000) for b1 in (0.9, 0.0) for b2 in (0.99, 0.999)],
]


def solve(name, alpha, t_end, **kw):
    return getattr(continuous, name)(F, THETA0, alpha=alpha, t_end=t_end, **kw)


@pytest.mark.parametrize(("name", "params", "steps"), PAPER_01 + PAPER_001[1:],
                         ids=lambda x: str(x))
def test_default_accuracy_on_every_paper_configuration(name, params, steps):
    """Default tol: theta within 1e-6 of a much finer solve (the grid-converged solution)."""
    alpha = 0.1 if (name, params, steps) in PAPER_01 else 0.01
    run = solve(name, alpha, alpha * steps, **params)
    reference = solve(name, alpha, alpha * steps, substeps=128, **params)
    assert run.success, run.message
    err = np.max(np.abs(run.theta - reference.theta))
    assert err < 1e-6
    assert run.error_estimate < 1e-8
    assert np.all(np.isfinite(run.theta))


@pytest.mark.parametrize(("name", "params"), [("rmsprop", {"beta": 0.9}),
                                              ("adam", {"beta1": 0.9, "beta2": 0.999}),
                                              ("adagrad", {})])
def test_observed_order_is_four(name, params):
    """Grid refinement h = alpha/N, N = 4..32, against N = 256: errors fall like h^4."""
    alpha, t_end = 0.1, 3.0
    reference = solve(name, alpha, t_end, substeps=256, **params).theta
    Ns = np.array([4, 8, 16, 32])
    errors = [np.max(np.abs(solve(name, alpha, t_end, substeps=int(N), **params).theta
                            - reference)) for N in Ns]
    order = observed_order(alpha / Ns, errors)
    assert 3.7 < order < 4.5, (errors, order)


def _ide_residual(run, times, alpha, shifted, kernel_rate=None):
    """|theta'(t) + g / (sqrt(M(t + shift)) + eps)| with M by adaptive quadrature of the
    solution's own dense output: an independent check of the equation that was solved."""
    eps = run.params["eps"]
    h = 1e-5
    out = []
    for t in times:
        dtheta = (run.at([t + h]).theta[0, 0] - run.at([t - h]).theta[0, 0]) / (2 * h)
        s = t + alpha if shifted else t

        def weighted_q(tau, s=s):
            weight = 1 / alpha if kernel_rate is None else (
                kernel_rate * np.exp(-kernel_rate * (s - tau)))
            return weight * F.gradient(run.at([tau]).theta[0])[0] ** 2

        memory = quad(weighted_q, 0, s, limit=400, epsabs=1e-13)[0]
        g = F.gradient(run.at([t]).theta[0])[0]
        out.append(abs(dtheta + g / (np.sqrt(memory) + eps)))
    return np.array(out)


def test_adagrad_solves_proposition_1():
    alpha = 0.1
    run = solve("adagrad", alpha, 3.0)
    res = _ide_residual(run, [0.35, 1.0, 1.73, 2.5], alpha, shifted=True)
    assert res.max() < 1e-6


def test_rmsprop_solves_proposition_2():
    alpha, beta = 0.1, 0.9
    run = solve("rmsprop", alpha, 3.0, beta=beta)
    res = _ide_residual(run, [0.35, 1.0, 1.73, 2.5], alpha, shifted=True,
                        kernel_rate=(1 - beta) / alpha)
    assert res.max() < 1e-6


def test_adam_solves_proposition_3():
    """theta' = -alpha(t) m / (sqrt(v) + eps(t)) with m, v the kernel integrals, eq. (5)-(6)."""
    alpha, b1, b2 = 0.1, 0.9, 0.999
    run = solve("adam", alpha, 3.0, beta1=b1, beta2=b2)
    eps, h = run.params["eps"], 1e-5
    for t in (0.35, 1.0, 2.5):
        def moment(beta, power, t=t):
            c = (1 - beta) / alpha
            return quad(lambda s: c * np.exp(-c * (t - s))
                        * F.gradient(run.at([s]).theta[0])[0] ** power, 0, t, limit=400,
                        epsabs=1e-13)[0]
        m, v = moment(b1, 1), moment(b2, 2)
        alpha_t = np.sqrt(1 - b2 ** (t / alpha)) / (1 - b1 ** (t / alpha))
        eps_t = eps * np.sqrt(1 - b2 ** (t / alpha))
        dtheta = (run.at([t + h]).theta[0, 0] - run.at([t - h]).theta[0, 0]) / (2 * h)
        assert abs(dtheta + alpha_t * m / (np.sqrt(v) + eps_t)) < 1e-6
        assert abs(run.at([t]).m[0, 0] - m) < 1e-7
        assert abs(run.at([t]).v[0, 0] - v) < 1e-7


@pytest.mark.parametrize(("name", "params"), [("adagrad", {}), ("rmsprop", {"beta": 0.9}),
                                              ("adam", {"beta1": 0.0, "beta2": 0.99}),
                                              ("adam", {"beta1": 0.9, "beta2": 0.999})])
def test_gap_to_discrete_is_first_order_in_alpha(name, params):
    """max_k |theta(alpha k) - theta_k| over a fixed time horizon falls like alpha."""
    t_end = 3.0
    out = []
    for alpha in (0.02, 0.01, 0.005):
        steps = round(t_end / alpha)
        d = getattr(discrete, name)(F, THETA0, alpha=alpha, steps=steps, **params)
        c = solve(name, alpha, d.t[-1], **params)
        out.append(gaps(d, c)["theta"][0])
    order = observed_order([0.02, 0.01, 0.005], out)
    assert 0.85 < order < 1.15, (out, order)


def test_issue_gap_values_adam_theta0_zero():
    """Adam (0, 0.99) on (theta-4)^2 from theta0 = 0: max gap 0.092, 0.029, 0.0097, 0.0029."""
    expected = {0.1: 0.092, 0.03: 0.029, 0.01: 0.0097, 0.003: 0.0029}
    for alpha, gap in expected.items():
        t_end = 10.0 if alpha >= 0.01 else 3.0
        d = discrete.adam(F, 0.0, alpha=alpha, beta1=0.0, beta2=0.99, steps=round(t_end / alpha))
        c = continuous.adam(F, 0.0, alpha=alpha, beta1=0.0, beta2=0.99, t_end=d.t[-1])
        assert gaps(d, c)["theta"][0] == pytest.approx(gap, rel=0.06)


def test_memory_states_and_layout():
    c = solve("adam", 0.1, 1.05, beta1=0.9, beta2=0.99)
    assert c.t[-1] == 1.05 and c.t[-2] == pytest.approx(1.0)
    assert c.theta.shape == (c.t.size, 1) and c.m.shape == c.v.shape == (c.t.size, 1)
    assert c.G is None and c.m[0, 0] == 0.0 and c.v[0, 0] == 0.0
    a = solve("adagrad", 0.1, 1.0)
    assert a.G is not None and a.v is None and a.m is None
    np.testing.assert_allclose(a.t, 0.1 * np.arange(11), rtol=0, atol=1e-15)


def test_dense_output_matches_nodes_and_a_finer_grid():
    c = solve("rmsprop", 0.1, 2.0, beta=0.9)
    np.testing.assert_array_equal(c.at(c.t).theta, c.theta)
    fine = solve("rmsprop", 0.1, 2.0, beta=0.9, substeps=128)
    times = np.linspace(0, 2.0, 97)
    assert np.max(np.abs(c.at(times).theta - fine.at(times).theta)) < 1e-7
    with pytest.raises(ValueError, match="t must lie"):
        c.at([2.5])


@pytest.mark.parametrize("d", [0.5, 10.0, 400.0])
def test_a_decaying_memory_is_interpolated_exactly_between_nodes(d):
    """The dense output of a step that is not Dormand & Prince's (idebook._fast.interpolate): a
    component y' = -d y + N with N quadratic in tau is y0 exp(-d tau) plus the integral of
    exp(-d (tau - s)) N(s), here by quadrature, at small d tau (phi123's series) and large."""
    from idebook._fast import interpolate

    h, y0 = 0.3, 1.7

    def forcing(s):
        return 0.4 - 1.1 * s + 2.3 * s * s

    def exact(tau):
        return y0 * np.exp(-d * tau) + quad(lambda s: np.exp(-d * (tau - s)) * forcing(s),
                                            0.0, tau, epsabs=0.0, epsrel=1e-13)[0]

    T = np.array([0.0, h])
    Y = np.array([[y0], [exact(h)]])
    dY = -d * Y + np.array([[forcing(0.0)], [forcing(h)]])
    M, D = np.full((1, 1), np.nan), np.array([d])
    taus = np.concatenate([np.geomspace(1e-6, 0.1 / d, 5), np.linspace(0.0, h, 31)])
    out, slopes = np.empty((taus.size, 1)), np.empty((taus.size, 1))
    interpolate(T, Y, dY, D, M, taus, out, slopes)
    want = np.array([exact(tau) for tau in taus])
    np.testing.assert_allclose(out[:, 0], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(slopes[:, 0], -d * want + forcing(taus), rtol=1e-11, atol=1e-11)


def test_a_dopri_step_is_interpolated_by_its_quartic_and_its_slope():
    """A DOPRI step's dense output (M, its midpoint value, not NaN) is the quartic through both
    nodes' values and slopes and the midpoint: exact, with its derivative, for a quartic."""
    from idebook._fast import interpolate

    coefficients = np.array([0.3, -1.2, 0.7, 2.1, -0.9])  # of t^0 ... t^4
    p = np.polynomial.Polynomial(coefficients)
    T = np.array([0.5, 0.9])
    Y, dY = p(T)[:, None], p.deriv()(T)[:, None]
    M, D = np.array([[p(0.7)]]), np.array([3.0])  # the decay rate plays no part here
    x = np.linspace(0.5, 0.9, 17)
    out, slopes = np.empty((x.size, 1)), np.empty((x.size, 1))
    interpolate(T, Y, dY, D, M, x, out, slopes)
    np.testing.assert_allclose(out[:, 0], p(x), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(slopes[:, 0], p.deriv()(x), rtol=1e-12, atol=1e-13)


def test_once_theta_rests_the_decaying_memory_takes_steps_far_beyond_alpha():
    """RMSProp (beta = 0.9, alpha = 0.01) on the paper's quadratic: theta reaches the minimiser
    near t = 4 and rests there while v decays like exp(-10 t). DOPRI5's error on [4, 6] then
    comes from that decay alone, measured relative to v, and held its steps near 0.7 alpha
    (283 steps). Exponential steps integrate the decay exactly (_fast.DECAYS): the steps grow
    far beyond alpha, and theta and v still agree with a solve at tol 1e-11."""
    run = solve("rmsprop", 0.01, 6.0, beta=0.9)
    nodes = run.sol.t_nodes
    tail = nodes[(nodes >= 4.0) & (nodes <= 6.0)]
    assert run.success
    assert tail.size <= 30 and np.diff(tail).max() > 10 * 0.01
    reference = solve("rmsprop", 0.01, 6.0, beta=0.9, tol=1e-11)
    t = np.linspace(0.0, 6.0, 3001)
    ours, theirs = run.at(t), reference.at(t)
    assert np.max(np.abs(ours.theta - theirs.theta)) <= 10 * continuous.TOL
    assert np.max(np.abs(ours.v - theirs.v)) <= 10 * continuous.TOL * np.max(np.abs(theirs.v))


def test_adam_resting_at_the_minimiser_stays_on_the_implicit_path():
    """Adam (alpha = 0.05, beta1 = 0.5, beta2 = 0.9) on the paper's quadratic reaches theta*
    near t = 8 and rests there. m and theta then oscillate at a frequency that grows as v
    decays, sqrt(c1 f'' / (sqrt(vhat) + eps)) with f'' = 2, damped at c1 / 2 = 5: a stiff mode,
    which one step's estimate rho can miss and which explicit steps near their stability limit
    hardly damp. Steps of about 2e-4 then kept such an oscillation alive at the tolerance's
    level, to the work limit of 10^7 gradients. After an SDIRK4 step the solver stays implicit
    while the steps are stiff (_fast.DOPRI_STIFF), and rho is remembered over a few steps
    (RHO_MEMORY): the solve takes about 10^4 gradients. Adam has no shift, so scipy's Radau
    solves the same ODE from the state at t = 1 (where the bias factors are smooth) as an
    independent reference (LSODA, which also switches between explicit and implicit steps,
    needs 2.7e6 evaluations here)."""
    alpha, beta1, beta2, eps = 0.05, 0.5, 0.9, 1e-8
    run = solve("adam", alpha, 40.0, beta1=beta1, beta2=beta2, eps=eps)
    assert run.success and run.nfev < 10**5
    c1, c2 = (1 - beta1) / alpha, (1 - beta2) / alpha

    def field(t, y):
        theta, m, v = y
        g = 2 * (theta - 4.0)
        mhat, vhat = m / (1 - beta1 ** (t / alpha)), v / (1 - beta2 ** (t / alpha))
        return [-mhat / (np.sqrt(max(vhat, 0.0)) + eps), c1 * (g - m), c2 * (g * g - v)]

    start = run.at(np.array([1.0]))
    t = np.linspace(1.0, 40.0, 3901)
    reference = solve_ivp(field, (1.0, 40.0), [start.theta[0, 0], start.m[0, 0], start.v[0, 0]],
                          method="Radau", rtol=1e-12, atol=1e-15, t_eval=t)
    assert reference.success
    assert np.max(np.abs(run.at(t).theta[:, 0] - reference.y[0])) <= 10 * continuous.TOL


@pytest.mark.parametrize(("name", "alpha", "t_end", "kw"), [
    ("adam", 0.05, 40.0, {"beta1": 0.5, "beta2": 0.9}),  # the stiff rest above
    ("rmsprop", 0.01, 6.0, {"beta": 0.9}),  # the decay steps above
    # a stiffness that L missed (_fast.STIFF_SEEN): set early in the coarse solve, it must
    # outlast the arrays' growth
    ("adam", 0.01, 10.0, {"beta1": 0.0, "beta2": 0.999}),
])
def test_a_sweep_resumed_in_larger_arrays_takes_the_same_steps(monkeypatch, name, alpha, t_end,
                                                                kw):
    """A sweep whose node arrays fill up is resumed in larger ones (_fast.FULL): it must go on
    with the state it had (step, stiffness estimates, implicit path, decay run, a stiffness
    seen; _fast.STATE), so that the solution does not depend on where the arrays happened to
    fill (a lost stiffness seen changes the gradient count, not the nodes returned)."""
    runs = []
    for rows in (16, 10**6):
        monkeypatch.setattr(continuous, "FIRST_ROWS", rows)
        runs.append(solve(name, alpha, t_end, **kw))
    assert runs[0].nfev == runs[1].nfev
    np.testing.assert_array_equal(runs[0].sol.t_nodes, runs[1].sol.t_nodes)
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)


def test_per_coordinate_equals_norm_in_one_dimension():
    a = solve("adam", 0.1, 2.0, beta1=0.9, beta2=0.99)
    b = solve("adam", 0.1, 2.0, beta1=0.9, beta2=0.99, per_coordinate=True)
    np.testing.assert_array_equal(a.theta, b.theta)


def test_per_coordinate_in_two_dimensions_tracks_discrete():
    f = quadratic([4.0, -2.0], curvature=[[1.0, 0.0], [0.0, 10.0]])
    for per in (False, True):
        d = discrete.rmsprop(f, [1.0, 1.0], alpha=0.01, beta=0.9, steps=300, per_coordinate=per)
        c = continuous.rmsprop(f, [1.0, 1.0], alpha=0.01, beta=0.9, t_end=d.t[-1],
                               per_coordinate=per)
        assert c.v.shape[1] == (2 if per else 1)
        assert gaps(d, c)["theta"][0] < 0.05


def test_adamw_and_adaml2_track_their_discrete_versions():
    for kw in ({"weight_decay": 0.01}, {"l2": 0.5}):
        gap = []
        for alpha in (0.02, 0.01):
            d = discrete.adam(F, THETA0, alpha=alpha, beta1=0.9, beta2=0.999,
                              steps=round(2 / alpha), **kw)
            c = continuous.adam(F, THETA0, alpha=alpha, beta1=0.9, beta2=0.999, t_end=d.t[-1],
                                **kw)
            gap.append(gaps(d, c)["theta"][0])
        assert 1.6 < gap[0] / gap[1] < 2.4


def test_weight_decay_moves_the_fixed_point():
    """AdamW's continuous model settles where w theta / alpha balances the normalised step."""
    kw = {"alpha": 0.1, "beta1": 0.9, "beta2": 0.999, "t_end": 10.0}
    c = continuous.adam(F, THETA0, weight_decay=0.01, **kw)
    plain = continuous.adam(F, THETA0, **kw)
    assert c.success and plain.success
    assert c.theta[-1, 0] < plain.theta[-1, 0] - 1e-3


def test_plain_python_gradient_gives_the_same_solution():
    g = from_functions(lambda th: float((th[0] - 4) ** 2), lambda th: 2 * (th - 4))
    a = continuous.rmsprop(g, THETA0, alpha=0.1, beta=0.9, t_end=1.0)
    b = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=1.0)
    np.testing.assert_array_equal(a.theta, b.theta)


def test_non_convergence_is_reported_with_a_warning():
    with pytest.warns(idebook.ConvergenceWarning, match="did not converge"):
        run = solve("rmsprop", 0.1, 3.0, beta=0.9, max_sweeps=1)
    assert not run.success and "Picard" in run.message


def test_divergence_reports_the_time():
    """A gradient that turns NaN past theta = 2 stops the solve where theta crosses 2."""
    broken = from_functions(lambda th: 0.0, lambda th: np.where(th > 2.0, np.nan, 2 * (th - 4)))
    with pytest.raises(idebook.DivergenceError, match="t = ") as info:
        continuous.adagrad(broken, THETA0, alpha=0.1, t_end=5.0)
    healthy = solve("adagrad", 0.1, 5.0)
    t_cross = healthy.t[np.argmax(healthy.theta[:, 0] > 2.0)]
    assert abs(info.value.where - t_cross) < 0.1 + 1e-12


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"alpha": 0.0}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"alpha": np.nan}, "alpha"),
    ({"beta": 1.0}, "beta"), ({"beta": -0.5}, "beta"), ({"eps": -1e-8}, "eps"),
    ({"t_end": -1.0}, "t_end"), ({"tol": 0.0}, "tol"), ({"max_sweeps": 0}, "max_sweeps"),
    ({"substeps": 3}, "substeps"), ({"method": "rk45"}, "method"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    args = {"alpha": 0.1, "beta": 0.9, "t_end": 1.0} | kwargs
    with pytest.raises(ValueError, match=name):
        continuous.rmsprop(F, THETA0, **args)


@pytest.mark.parametrize("theta0", [np.nan, np.inf, [[1.0]], []])
def test_bad_theta0(theta0):
    with pytest.raises(ValueError, match="theta0"):
        continuous.adagrad(F, theta0, alpha=0.1, t_end=1.0)


def test_adam_betas_and_decay_are_validated():
    for kw, name in (({"beta1": 1.0}, "beta1"), ({"beta2": 1.5}, "beta2"),
                     ({"weight_decay": 1.0}, "weight_decay"), ({"l2": -1.0}, "l2")):
        with pytest.raises(ValueError, match=name):
            continuous.adam(F, THETA0, alpha=0.1, t_end=1.0, **kw)


def test_t_end_zero_returns_the_initial_state():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = solve("adam", 0.1, 0.0, beta1=0.9, beta2=0.999)
    assert c.t.tolist() == [0.0] and c.theta[0, 0] == THETA0


def test_a_jump_within_a_third_of_a_step_is_resolved():
    """alpha = 0.316, beta = 0.999: theta runs from 1 to 4 within a third of a step, which the
    fixed grids of the first edition overflowed on; the adaptive steps resolve it."""
    c = solve("rmsprop", 0.316, 3.0, beta=0.999)
    assert c.success and c.error_estimate < 1e-8
    assert abs(c.theta[-1, 0] - 4.0) < 1e-6


def test_a_refined_solve_divides_the_difference_by_the_tolerance_ratio_less_one(monkeypatch):
    """With every difference between two solves equal to 45 tol: the first estimate is
    45 tol / 15 = 3 tol, so the solve is refined at a tolerance 6 times smaller (to land at
    tol / 2); the refined estimate is then 45 tol / 5 = 9 tol (not 45 tol / 15), the second
    refinement is 18 times smaller and its estimate 45 tol / 17."""
    tol = 1e-8
    monkeypatch.setattr(continuous, "_difference", lambda a, b, t_end: 45 * tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", idebook.ConvergenceWarning)
        run = continuous.adam(quadratic(), 1.0, alpha=0.1, t_end=1.0, tol=tol)
    assert not run.success and run.status == -3
    assert run.error_estimate == pytest.approx(45 * tol / 17, rel=1e-12)


def test_no_refinement_is_closer_than_a_factor_two_above_the_floor(monkeypatch):
    """Errors proportional to the local tolerance, 50 tol in the second solve: just above
    LOCAL_FLOOR the refinement would land on the floor, a ratio of 1.01 whose estimate
    (difference / 0.01) no clamp may shrink. It is not made, and the result says the
    estimate exceeds tol."""
    tol = 1.01 * continuous.LOCAL_FLOOR / continuous.LOCAL
    local = []
    one_solve = continuous._one_solve

    def recording(system, t_end, **kw):
        local.append(kw.get("tol"))
        return one_solve(system, t_end, **kw)

    K = 50 * tol / (continuous.LOCAL * tol)  # error = K * local tolerance
    monkeypatch.setattr(continuous, "_one_solve", recording)
    monkeypatch.setattr(continuous, "_difference",
                        lambda a, b, t_end: K * abs(local[-2] - local[-1]))
    with pytest.warns(idebook.ConvergenceWarning, match="floor"):
        run = continuous.adam(quadratic(), 1.0, alpha=0.1, t_end=1.0, tol=tol)
    assert len(local) == 2 and local[0] == pytest.approx(16 * local[1], rel=1e-12)
    assert not run.success and run.status == -3
    assert run.error_estimate == pytest.approx(50 * tol, rel=1e-9)


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adam"])
def test_a_tolerance_below_the_floor_is_reported_not_met(name):
    # both solves at LOCAL_FLOOR would agree to round-off and report an error of 0
    with pytest.warns(idebook.ConvergenceWarning, match="floor"):
        run = getattr(continuous, name)(F, 1.0, alpha=0.1, t_end=1.0, tol=1e-15)
    assert not run.success and run.status == -3
    assert run.error_estimate > 1e-15


def _dense_error(run, reference, t_end, points=2001):
    t = np.linspace(0.0, t_end, points)
    return float(np.max(np.abs(run.at(t).theta - reference.at(t).theta)))


def test_no_step_crosses_where_the_window_leaves_the_lag():
    """Past end - alpha the window reaches beyond the lag's last node, where q is frozen: the
    field's second derivative jumps there. A DOPRI5 step across it (whose error estimate did not
    see the jump) put errors of 2e-7 into the pad, and the step's dense output carried 5.6e-8 =
    5.6 tol back to t_end; with a node at end - alpha the error is tol's."""
    kw = {"alpha": 0.34027662452425617, "t_end": 6.041535453374982, "eps": 1e-12}
    run = continuous.adagrad(F, -3.762751067764939, **kw)
    reference = continuous.adagrad(F, -3.762751067764939, tol=1e-11, **kw)
    assert run.success and reference.success
    assert _dense_error(run, reference, kw["t_end"]) < 3 * continuous.TOL
    end = kw["t_end"] + idebook._fast.PAD * kw["alpha"]
    assert np.min(np.abs(run.sol.t_nodes - (end - kw["alpha"]))) < 1e-12


@pytest.mark.parametrize("ulps", range(3))
def test_replayed_steps_keep_the_error_estimate_honest(ulps):
    """The solve returns its last Picard sweep, which replays an earlier sweep's nodes and
    methods. Replayed steps allowed errors of 100 local tol (REPLAY_LIMIT) left the returned
    theta 2.3e-8 off (at t = 0.8) while the estimate, from two such sweeps, said 1.3e-9; at 2
    local tol the estimate covers the error (at 4, with SDIRK4's stages predicted, two of these
    three came out 7.5e-9 against 7.7e-10). theta0 moves by a few units in the last place, as
    round-off would on another machine (the limit of 100 failed most of these)."""
    kw = {"alpha": 1.0, "t_end": 1.0, "eps": 8.566098166596824e-05,
          "beta": 0.42894339303623996}
    theta0 = 3.854841113697976
    for _ in range(ulps):
        theta0 = np.nextafter(theta0, np.inf)
    run = continuous.rmsprop(F, theta0, **kw)
    reference = continuous.rmsprop(F, theta0, tol=1e-11, **kw)
    assert run.success and reference.success
    assert _dense_error(run, reference, kw["t_end"]) < 2 * run.error_estimate


def test_the_error_estimate_compares_the_two_solves_at_t_end():
    """Two solutions equal at every node and every midpoint in [0, t_end], which differ only
    inside the step that t_end cuts (their slopes at its far end differ): the difference that
    the error estimate divides is taken at t_end too, and sees it (cubic Hermite: a quarter)."""

    def solution(slope_at_end):
        seg = continuous.Segment(
            X=np.array([0.0, 1.0, 3.0]), Y=np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]),
            dY=np.array([[1.0, 0.0], [1.0, 0.0], [slope_at_end, 0.0]]),
            M=np.full((2, 2), np.nan), sqrt_time=False, methods=np.zeros(2, dtype=np.int8),
            D=np.zeros(2))
        return continuous.HermiteSolution(segments=(seg,), n=1, iv=1, names=("G",), t_end=2.0)

    assert continuous._difference(solution(1.0), solution(2.0), 2.0) == pytest.approx(0.25)
