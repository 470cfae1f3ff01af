"""Tests of idebook.ide.solve_ide against IDEs with analytic solutions.

Each accuracy test asserts the maximum error actually reached (with a small margin), far below the
1e-7 target, so a loss of accuracy makes it fail.
"""

import math
import pickle
import re
import warnings
from collections.abc import Callable

import numba
import numpy as np
import pytest
import sympy as sp

from idebook.ide import ConvergenceWarning, IDEResult, solve_ide
from idebook.results import STATUS, DivergenceError

LOG2_SQ = 1 / np.log(2) ** 2
SQRT_DISC = np.sqrt(25 - 12j)


def log_problem(c=None, k=None, f=None) -> dict:
    """y' = y - x/2 + 1/(1+x) - ln(1+x) + (1/ln²2) ∫₀¹ x/(1+s) y(s) ds, y(0) = 0 -> ln(1+x)."""
    return dict(
        y_0=0.0,
        c=c or (lambda x, y: y - 0.5 * x + 1 / (1 + x) - np.log(1 + x)),
        d=lambda x: LOG2_SQ,
        k=k or (lambda x, s: x / (1 + s)),
        f=f or (lambda y: y),
        lower_bound=lambda x: 0.0,
        upper_bound=lambda x: 1.0,
    )


def sin_cos_problem(d=lambda x: -0.5) -> dict:
    """y₁' = ½(y₂ + 1) - ½ ∫₀ˣ y₁, y₂' = -½ y₁ - ½ ∫₀ˣ y₂, y(0) = (0, 1) -> (sin x, cos x)."""
    return dict(
        y_0=[0.0, 1.0],
        c=lambda x, y: [0.5 * (y[1] + 1), -0.5 * y[0]],
        d=d,
        k=lambda x, s: 1.0,
        f=lambda y: y,
        lower_bound=lambda x: 0.0,
        upper_bound=lambda x: x,
    )


def complex_exact(x):
    return 2 * np.exp(2.5 * x) * np.sinh(0.5 * SQRT_DISC * x) / SQRT_DISC


def complex_problem() -> dict:
    """y' = 5y + 1 - 3i ∫₀ˣ y(s) ds, y(0) = 0 -> 2 e^{5x/2} sinh(√(25-12i) x/2) / √(25-12i)."""
    return dict(
        y_0=0j,
        c=lambda x, y: 5 * y + 1,
        d=lambda x: -3j,
        k=lambda x, s: 1.0,
        f=lambda y: y,
        lower_bound=lambda x: 0.0,
        upper_bound=lambda x: x,
    )


def max_error(result: IDEResult, exact) -> float:
    return float(np.max(np.abs(result.y - exact(result.x))))


def assert_converged(result: IDEResult, tolerance: float = 1e-10) -> None:
    assert result.success, result.message
    assert result.global_error <= tolerance
    assert 1 <= result.iterations <= 200


def test_log_solution_fredholm():
    """idesolver's first Gelmi–Jorquera example (Fredholm, linear)."""
    result = solve_ide(np.linspace(0, 1, 101), **log_problem())
    assert_converged(result)
    assert result.y.shape == (101,)
    assert max_error(result, np.log1p) < 5e-11  # reached: 2.3e-11


def test_quadratic_solution_nonlinear_f():
    """y' = 1 - (29/60) x + ∫₀¹ x s y(s)² ds, y(0) = 1 -> 1 + x + x²."""
    result = solve_ide(
        np.linspace(0, 1, 101),
        1.0,
        c=lambda x, y: 1 - 29 / 60 * x,
        d=lambda x: 1.0,
        k=lambda x, s: x * s,
        f=lambda y: y**2,
        lower_bound=lambda x: 0.0,
        upper_bound=lambda x: 1.0,
    )
    assert_converged(result)
    assert max_error(result, lambda x: 1 + x + x**2) < 3e-10  # reached: 1.4e-10


@pytest.mark.parametrize(
    "d",
    [lambda x: -0.5, lambda x: [-0.5, -0.5], lambda x: [[-0.5, 0.0], [0.0, -0.5]]],
    ids=["scalar d", "componentwise d", "matrix d"],
)
def test_sin_cos_system_volterra(d):
    """The stated system is right: with y = (sin, cos), ∫₀ˣ sin = 1 - cos x and ∫₀ˣ cos = sin x,
    so ½(cos + 1) - ½(1 - cos) = cos = y₁' and -½ sin - ½ sin = -sin = y₂'. It is idesolver's
    vector example (c = [½(y₂+1), -½y₁], d = -½, k = 1, F(y) = y, bounds 0 and x).
    """
    result = solve_ide(np.linspace(0, 7, 141), **sin_cos_problem(d))
    assert_converged(result)
    assert result.y.shape == (141, 2)
    exact = lambda x: np.stack([np.sin(x), np.cos(x)], axis=-1)  # noqa: E731
    assert max_error(result, exact) < 5e-11  # reached: 1.8e-11


def test_plain_picard_iteration():
    """smoothing_factor = 0 (no relaxation) converges much faster on this Volterra system."""
    result = solve_ide(np.linspace(0, 7, 71), **sin_cos_problem(), smoothing_factor=0.0)
    assert_converged(result)
    assert result.iterations <= 10
    exact = np.stack([np.sin(result.x), np.cos(result.x)], axis=-1)
    assert np.abs(result.y - exact).max() < 2e-12  # reached: 4.4e-13


def test_complex_volterra():
    result = solve_ide(np.linspace(0, 1, 101), **complex_problem())
    assert_converged(result)
    assert np.iscomplexobj(result.y)
    assert max_error(result, complex_exact) < 1e-10  # reached: 4.4e-11 (|y| up to 30)


def test_complex_problem_detected_from_d_with_real_y0():
    problem = complex_problem() | {"y_0": 0.0}
    result = solve_ide(np.linspace(0, 1, 11), **problem)
    assert result.success and np.iscomplexobj(result.y)
    assert max_error(result, complex_exact) < 1e-10


def test_complex_reference_solution_satisfies_the_ide():
    """Derivation: differentiating y' = 5y + 1 - 3i ∫₀ˣ y gives y'' = 5y' - 3i y with y(0) = 0,
    y'(0) = 1, so y = (e^{λ₁x} - e^{λ₂x})/(λ₁ - λ₂) with λ₁,₂ = (5 ± √(25-12i))/2, which is
    2 e^{5x/2} sinh(√(25-12i) x/2)/√(25-12i). Check it symbolically against the integral form.
    """
    x, s = sp.symbols("x s", real=True)
    root = sp.sqrt(25 - 12 * sp.I)
    lam = ((5 + root) / 2, (5 - root) / 2)
    y = lambda t: (sp.exp(lam[0] * t) - sp.exp(lam[1] * t)) / root  # noqa: E731
    residual = sp.diff(y(x), x) - (5 * y(x) + 1 - 3 * sp.I * sp.integrate(y(s), (s, 0, x)))
    assert y(0) == 0
    assert sp.simplify(sp.radsimp(sp.expand(residual))) == 0
    points = np.linspace(0, 1, 5)
    np.testing.assert_allclose(sp.lambdify(x, y(x))(points), complex_exact(points), rtol=1e-14)


def test_variable_bounds():
    """Gelmi–Jorquera example with bounds x and √x: y' = x(1+√x)e^{-√x} - (x²+x+1)e^{-x}
    + ∫_x^{√x} x s y(s) ds, y(0) = 1 -> e^{-x}.
    """
    result = solve_ide(
        np.linspace(0, 1, 101),
        1.0,
        c=lambda x, y: x * (1 + np.sqrt(x)) * np.exp(-np.sqrt(x)) - (x**2 + x + 1) * np.exp(-x),
        d=lambda x: 1.0,
        k=lambda x, s: x * s,
        f=lambda y: y,
        lower_bound=lambda x: x,
        upper_bound=lambda x: np.sqrt(x),
    )
    assert_converged(result)
    assert max_error(result, lambda x: np.exp(-x)) < 1e-11  # reached: 2e-12


def test_numba_and_python_functions_give_the_same_answer():
    x = np.linspace(0, 1, 101)
    python = solve_ide(x, **log_problem())
    jitted = solve_ide(
        x,
        **log_problem(
            c=numba.njit(lambda x, y: y - 0.5 * x + 1 / (1 + x) - np.log(1 + x)),
            k=numba.njit(lambda x, s: x / (1 + s)),
            f=numba.njit(lambda y: y),
        ),
    )
    assert_converged(jitted)
    assert jitted.iterations == python.iterations
    np.testing.assert_allclose(jitted.y, python.y, rtol=0, atol=1e-14)
    assert max_error(jitted, np.log1p) < 1e-10


def test_numba_vector_system():
    @numba.njit
    def c(x, y):
        return np.array([0.5 * (y[1] + 1), -0.5 * y[0]])

    result = solve_ide(
        np.linspace(0, 7, 71),
        np.array([0.0, 1.0]),
        c=c,
        d=lambda x: -0.5,
        k=numba.njit(lambda x, s: 1.0),
        f=numba.njit(lambda y: y),
        lower_bound=lambda x: 0.0,
        upper_bound=lambda x: x,
    )
    assert_converged(result)
    exact = np.stack([np.sin(result.x), np.cos(result.x)], axis=-1)
    assert np.abs(result.y - exact).max() < 5e-11


def test_non_vectorisable_functions_are_called_pointwise():
    """math.log rejects arrays, so c is evaluated point by point; the answer is the same."""
    x = np.linspace(0, 1, 21)
    vectorised = solve_ide(x, **log_problem())
    pointwise = solve_ide(
        x, **log_problem(c=lambda x, y: y - 0.5 * x + 1 / (1 + x) - math.log(1 + x))
    )
    assert_converged(pointwise)
    np.testing.assert_allclose(pointwise.y, vectorised.y, rtol=0, atol=1e-14)


def test_sol_evaluates_between_output_points():
    result = solve_ide(np.array([0.0, 1.0]), **log_problem())
    xq = np.linspace(0, 1, 37)
    assert np.abs(result.sol(xq) - np.log1p(xq)).max() < 5e-11
    assert result.sol(0.5).shape == ()
    with pytest.raises(ValueError, match="must lie in"):
        result.sol(1.5)


def test_mesh_refinement_resolves_the_solution():
    """One 16-node panel cannot resolve sin/cos on [0, 10] to 1e-10; the mesh is refined."""
    result = solve_ide(np.linspace(0, 10, 61), **sin_cos_problem(), n_panels=1)
    assert_converged(result)
    assert result.panel_edges.size - 1 >= 2
    exact = np.stack([np.sin(result.x), np.cos(result.x)], axis=-1)
    assert np.abs(result.y - exact).max() < 1e-10  # reached: 2.7e-11


def test_long_volterra_interval_is_iterated_panel_by_panel():
    """Picard on [0, 100] at once would need e^50-fold transients to die out; with Volterra
    bounds the iteration runs window by window (panel by panel), halving windows that fail.
    """
    result = solve_ide(np.linspace(0, 100, 401), **sin_cos_problem(), n_panels=1)
    assert result.success, result.message
    assert result.global_error <= 1e-10
    exact = np.stack([np.sin(result.x), np.cos(result.x)], axis=-1)
    assert np.abs(result.y - exact).max() < 1.5e-9  # reached: 6.3e-10, 1e-10 per window


def stiff_cubic_problem() -> dict:
    """y' = -100 y^3, y(0) = 1 on one panel [0, 1]: too nonlinear for simplified Newton."""
    return dict(x=np.linspace(0, 1, 5), y_0=1.0, c=lambda x, y: -100 * y**3, d=lambda x: 0.0,
                k=lambda x, s: 1.0, f=lambda y: y, lower_bound=lambda x: 0.0,
                upper_bound=lambda x: x, n_panels=1, max_panels=1)


#: status -> (arguments, a word of the message): max_iterations reached; y' = 10 ∫₀¹ y, whose
#: relaxed Picard map multiplies errors by 0.5 + 0.5*5 = 3 per step; sin/cos on [0, 10] not
#: resolved by one panel; a collocation step that simplified Newton cannot solve.
FAILURES = {
    -1: (dict(x=np.linspace(0, 1, 11), **log_problem(), max_iterations=1,
              global_error_tolerance=1e-14), "max_iterations=1"),
    -2: (dict(x=np.linspace(0, 1, 11), y_0=1.0, c=lambda x, y: 0.0 * y, d=lambda x: 10.0,
              k=lambda x, s: 1.0, f=lambda y: y, lower_bound=lambda x: 0.0,
              upper_bound=lambda x: 1.0), "diverged"),
    -3: (dict(x=np.linspace(0, 10, 61), **sin_cos_problem(), n_panels=1, max_panels=1),
         "max_panels=1"),
    -4: (stiff_cubic_problem(), "Newton"),
}


@pytest.mark.parametrize("status", sorted(FAILURES))
def test_each_failure_has_its_status_and_warns_once(status):
    arguments, match = FAILURES[status]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solve_ide(**arguments)
    assert [w.category for w in caught] == [ConvergenceWarning]
    assert str(caught[0].message) == result.message and match in result.message
    assert result.status == status and status in STATUS and not result.success
    assert result.nfev > 0


def test_max_iterations_stops_after_that_many_iterations():
    with pytest.warns(ConvergenceWarning, match="max_iterations=1"):
        result = solve_ide(**FAILURES[-1][0])
    assert result.iterations == 1
    assert result.global_error > 1e-14
    assert "did not converge" in result.message


def test_success_has_status_zero_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = solve_ide(np.linspace(0, 1, 11), **log_problem())
    assert result.status == 0 and result.success and result.message.startswith("converged")


def counting(function, counter: list) -> Callable:
    """``function`` that adds to ``counter[0]`` the number of points x it is called at."""
    def counted(x, y):
        counter[0] += np.size(x)
        return function(x, y)
    return counted


@pytest.mark.parametrize("vectorisable", [True, False], ids=["arrays", "pointwise"])
def test_nfev_counts_every_point_at_which_c_is_evaluated(vectorisable):
    """Counted by instrumenting c: the checks, y^(0) and every collocation step on every mesh
    (the [0, 10] problem needs mesh refinement). A c using math.log fails on arrays and is
    called point by point after one trial call on an array, which counts too.
    """
    counter = [0]
    if vectorisable:
        problem = sin_cos_problem()
        problem["c"] = counting(lambda x, y: np.array([0.5 * (y[1] + 1), -0.5 * y[0]]), counter)
        result = solve_ide(np.linspace(0, 10, 61), **problem, n_panels=1)
        assert result.panel_edges.size - 1 >= 2
    else:
        c = log_problem()["c"]
        problem = log_problem(c=counting(lambda x, y: c(x, y) + 0 * math.log(1 + x), counter))
        result = solve_ide(np.linspace(0, 1, 11), **problem)
    assert result.success
    assert result.nfev == counter[0]


@pytest.mark.parametrize("jit", [False, True], ids=["python", "numba"])
def test_nfev_on_a_case_counted_by_hand(jit):
    """y' = 1 (d = 0), y(0) = 0 on 4 panels of p = 16 nodes, so the iteration converges at once.

    y^(0): per panel a Jacobian probe (1 + n = 2 points) and two Newton evaluations of the 16
    nodes (the first update is exact for this linear c, the second sees a zero step): 4 * 34.
    The one iteration starts from y^(0), exact already: 4 * (2 + 16). Before that, the type
    check evaluates c once and, for plain Python functions, choosing between array and
    pointwise calls evaluates it at the 16 nodes of a panel both ways: 32.
    """
    wrap = numba.njit if jit else (lambda fn: fn)
    result = solve_ide(np.linspace(0, 1, 3), 0.0, wrap(lambda x, y: 1.0 + 0.0 * y),
                       lambda x: 0.0, wrap(lambda x, s: 1.0), wrap(lambda y: y),
                       lambda x: 0.0, lambda x: 1.0)
    assert result.success and result.iterations == 1
    np.testing.assert_allclose(result.y, [0.0, 0.5, 1.0], rtol=0, atol=1e-15)
    assert result.nfev == 1 + (0 if jit else 32) + 4 * 34 + 4 * (2 + 16)


def test_ide_result_and_its_dense_output_pickle():
    result = solve_ide(np.linspace(0, 2, 9), **sin_cos_problem())
    back = pickle.loads(pickle.dumps(result))
    for name in ("x", "y", "x_nodes", "y_nodes", "panel_edges"):
        np.testing.assert_array_equal(getattr(back, name), getattr(result, name))
    for name in ("success", "status", "message", "nfev", "iterations", "global_error"):
        assert getattr(back, name) == getattr(result, name), name
    xq = np.linspace(0, 2, 23)
    np.testing.assert_array_equal(back.sol(xq), result.sol(xq))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(result.sol))(xq), result.sol(xq))
    assert result.sol(xq).shape == (23, 2)


def test_result_fields_are_required():
    with pytest.raises(TypeError, match="status"):
        IDEResult(x=np.zeros(2), y=np.zeros(2), success=True, message="", nfev=0, iterations=1,
                  global_error=0.0, x_nodes=np.zeros(2), y_nodes=np.zeros(2),
                  panel_edges=np.zeros(2))


def reported_x(message: str) -> float:
    return float(re.search(r"at x = (\S+)", message).group(1))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("jit", [False, True], ids=["python", "numba"])
def test_nan_in_c_raises_divergence_error_at_its_x(jit):
    """c = √(1/2 - x) is nan for x > 1/2: raised at the first node past 1/2."""
    wrap = numba.njit if jit else (lambda fn: fn)
    with pytest.raises(DivergenceError, match="non-finite") as error:
        solve_ide(
            np.linspace(0, 1, 11),
            0.0,
            c=wrap(lambda x, y: np.sqrt(0.5 - x) + 0.0 * y),
            d=lambda x: 1.0,
            k=wrap(lambda x, s: 1.0),
            f=wrap(lambda y: y),
            lower_bound=lambda x: 0.0,
            upper_bound=lambda x: x,
        )
    assert error.value.k is None
    assert 0.5 < error.value.t < 0.5 + 0.25 * 0.2  # within the first panel quarter past 1/2
    assert reported_x(str(error.value)) == pytest.approx(error.value.t, rel=1e-9)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_nan_in_f_raises_divergence_error_at_its_x():
    """y = 1 - x, so f = √(y + 0.1) is nan past x = 1.1."""
    with pytest.raises(DivergenceError, match=r"f\(y\)") as error:
        solve_ide(
            np.linspace(0, 2, 11),
            1.0,
            c=lambda x, y: -1.0 + 0.0 * y,
            d=lambda x: 0.0,
            k=lambda x, s: 1.0,
            f=lambda y: np.sqrt(y + 0.1),
            lower_bound=lambda x: 0.0,
            upper_bound=lambda x: x,
        )
    assert error.value.k is None
    assert 1.1 < error.value.t < 1.2


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_blow_up_raises_divergence_error_not_a_warning():
    """y' = y^2, y(0) = 1 has y = 1/(1 - x), infinite at x = 1: the collocation step on the
    panel [0.5, 1] that holds the pole overflows, and that panel is where it is reported.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(DivergenceError) as error:
            solve_ide(np.linspace(0, 2, 11), 1.0, c=lambda x, y: y**2, d=lambda x: 0.0,
                      k=lambda x, s: 1.0, f=lambda y: y, lower_bound=lambda x: 0.0,
                      upper_bound=lambda x: x)
    assert error.value.k is None
    assert 0.5 < error.value.t <= 1.0


def base_arguments() -> dict:
    return dict(x=np.linspace(0, 1, 11), **log_problem())


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"x": np.zeros((2, 2))}, r"x must be a 1-D array with at least 2 points"),
        ({"x": np.array([0.0])}, r"x must be a 1-D array with at least 2 points"),
        ({"x": np.array([0.0, np.nan, 1.0])}, r"x must contain only finite values"),
        ({"x": np.array([0.0, 0.5, 0.5, 1.0])}, r"x must be strictly increasing"),
        ({"x": np.array([1.0, 0.0])}, r"x must be strictly increasing"),
        ({"y_0": np.nan}, r"y_0 must be finite"),
        ({"y_0": [0.0, np.inf]}, r"y_0 must be finite"),
        ({"y_0": np.zeros((2, 2))}, r"y_0 must be a number or a non-empty 1-D array"),
        ({"global_error_tolerance": -1}, r"global_error_tolerance must be > 0, got -1"),
        ({"global_error_tolerance": 0.0}, r"global_error_tolerance must be > 0, got 0"),
        ({"max_iterations": 0}, r"max_iterations must be an integer >= 1, got 0"),
        ({"max_iterations": 2.5}, r"max_iterations must be an integer >= 1"),
        ({"smoothing_factor": 1.0}, r"smoothing_factor must be in \[0, 1\), got 1.0"),
        ({"smoothing_factor": -0.1}, r"smoothing_factor must be in \[0, 1\)"),
        ({"c": 1.0}, r"c must be callable, got float"),
        ({"d": None}, r"d must be callable, got NoneType"),
        ({"k": "x*s"}, r"k must be callable, got str"),
        ({"f": [1]}, r"f must be callable, got list"),
        ({"lower_bound": 0.0}, r"lower_bound must be callable"),
        ({"upper_bound": 1.0}, r"upper_bound must be callable"),
        ({"nodes_per_panel": 2}, r"nodes_per_panel must be an integer >= 3, got 2"),
        ({"n_panels": 0}, r"n_panels must be an integer >= 1, got 0"),
        ({"n_panels": 8, "max_panels": 4}, r"max_panels must be an integer >= 8, got 4"),
        ({"resolution_tolerance": 0.0}, r"resolution_tolerance must be > 0"),
        ({"upper_bound": lambda x: 2.0}, r"upper_bound\(x\) must return real numbers in \[x\[0\]"),
        ({"lower_bound": lambda x: -x - 1}, r"lower_bound\(x\) must return real numbers"),
        ({"c": lambda x, y: [y, y]}, r"c\(x, y\) must return the shape of y_0"),
        ({"f": lambda y: np.ones(3)}, r"f\(y\) must return the shape of y_0"),
        ({"d": lambda x: np.ones(3)}, r"d\(x\) must return a scalar"),
        ({"k": lambda x, s: [x, s]}, r"k\(x, s\) must return a scalar"),
    ],
)
def test_bad_input_raises_value_error(changes, match):
    with pytest.raises(ValueError, match=match):
        solve_ide(**(base_arguments() | changes))


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("global_error_tolerance", "a", "> 0"),
        ("global_error_tolerance", None, "> 0"),
        ("global_error_tolerance", 1e-8j, "> 0"),
        ("global_error_tolerance", [1e-8], "> 0"),
        ("global_error_tolerance", np.inf, "> 0"),
        ("smoothing_factor", "a", "in [0, 1)"),
        ("smoothing_factor", None, "in [0, 1)"),
        ("smoothing_factor", 0.5j, "in [0, 1)"),
        ("resolution_tolerance", "a", "> 0"),
        ("resolution_tolerance", 1e-8j, "> 0"),
        ("resolution_tolerance", np.inf, "> 0"),
        ("max_iterations", True, "an integer >= 1"),
        ("nodes_per_panel", True, "an integer >= 3"),
        ("n_panels", False, "an integer >= 1"),
        ("max_panels", "a", "an integer >= 4"),
        ("x", "ab", "a 1-D array of real numbers"),
        ("x", ["0", "1"], "a 1-D array of real numbers"),
        ("x", np.array([0.0, 0.5j, 1.0]), "a 1-D array of real numbers"),
        ("y_0", None, "a number or a non-empty 1-D array"),
    ],
)
def test_argument_of_the_wrong_type_raises_value_error_naming_it(name, value, allowed):
    """Every argument of the wrong type gets the package's ValueError (name, allowed range),
    never a TypeError from a comparison or numpy's message without the parameter's name.
    """
    with pytest.raises(ValueError) as info:
        solve_ide(**(base_arguments() | {name: value}))
    message = str(info.value)
    assert message.startswith(f"{name} must be "), message
    assert allowed in message, message


@pytest.mark.parametrize(
    ("name", "value", "call"),
    [
        ("c", lambda x, y: "a", "c(x, y)"),
        ("c", lambda x, y: None, "c(x, y)"),
        ("f", lambda y: None, "f(y)"),
        ("k", lambda x, s: "a", "k(x, s)"),
        ("d", lambda x: None, "d(x)"),
        ("lower_bound", lambda x: None, "lower_bound(x)"),
        ("upper_bound", lambda x: "a", "upper_bound(x)"),
    ],
)
def test_function_returning_the_wrong_type_is_named(name, value, call):
    """A user function that returns a non-number is named in a ValueError (the bounds gave a
    TypeError from np.isfinite, the others named all of y_0, c, d, k and f at once).
    """
    with pytest.raises(ValueError) as info:
        solve_ide(**(base_arguments() | {name: value}))
    message = str(info.value)
    assert message.startswith(f"{call} must return "), message


def test_proposition_1_in_gelmi_jorquera_form_agrees_with_continuous_adagrad():
    """Proposition 1 (scalar memory) as y = (theta, z), z(t) = G(t + alpha):

        theta' = -g / (sqrt(z) + eps),
        z'     = q(theta)/alpha + (1/alpha) int_t^{t+alpha} dq/ds ds,   dq/ds = 2 g f'' theta',

    which is dy/dx = c(x, y) + d(x) int_x^{x+alpha} F(y(s)) ds with k = 1. The form needs
    z(0) = G(alpha), a property of the solution, taken from idebook.continuous.adagrad; all of
    the rest of the trajectory is then solved independently and must agree with it. (Past
    t_end - alpha the window is cut at t_end, so the last window is left out.)
    """
    import idebook

    alpha, eps, t_end = 0.1, 1e-8, 3.0
    run = idebook.continuous.adagrad(idebook.objectives.quadratic(), 1.0, alpha=alpha,
                                     t_end=t_end, tol=1e-11)

    def g(theta):
        return 2.0 * (theta - 4.0)

    x = np.linspace(0.0, t_end, 301)
    result = idebook.solve_ide(
        x, np.array([1.0, run.at([alpha]).G[0, 0]]),
        lambda x, y: np.array([-g(y[0]) / (np.sqrt(y[1]) + eps), g(y[0]) ** 2 / alpha]),
        lambda x: np.array([0.0, 1.0 / alpha]),
        lambda x, s: 1.0,
        lambda y: np.array([0.0, -4.0 * g(y[0]) ** 2 / (np.sqrt(y[1]) + eps)]),
        lambda x: x, lambda x: min(x + alpha, t_end))
    assert result.success, result.message
    inside = x <= t_end - alpha + 1e-12
    gap = np.max(np.abs(result.y[inside, 0] - run.at(x[inside]).theta[:, 0]))
    assert gap < 1e-9
    G_ahead = run.at(x[inside] + alpha).G[:, 0]
    assert np.max(np.abs(result.y[inside, 1] - G_ahead) / G_ahead) < 1e-8
