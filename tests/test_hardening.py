"""Input hardening: each case was observed to fail (silently or with a bad message) before it
was fixed. Every entry point that takes an objective and theta0 is checked the same way."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from idebook import continuous, discrete, modified
from idebook.objectives import from_functions, quadratic

F = quadratic()  # (theta - 4)^2


def _entry_points():
    """name -> call(objective, theta0, **extra): every public solver taking an objective."""
    return {
        "discrete.adagrad": lambda f, th, **kw: discrete.adagrad(f, th, alpha=0.1, steps=5, **kw),
        "discrete.rmsprop": lambda f, th, **kw: discrete.rmsprop(f, th, alpha=0.1, steps=5, **kw),
        "discrete.adam": lambda f, th, **kw: discrete.adam(f, th, alpha=0.1, steps=5, **kw),
        "continuous.fast": lambda f, th, **kw: continuous.rmsprop(f, th, alpha=0.1, t_end=0.5,
                                                                  **kw),
        "continuous.adam": lambda f, th, **kw: continuous.adam(f, th, alpha=0.1, t_end=0.5, **kw),
        "continuous.paper": lambda f, th, **kw: continuous.adagrad(f, th, alpha=0.1, t_end=0.3,
                                                                   method="paper", **kw),
        "modified.ode_model": lambda f, th, **kw: modified.ode_model("adam", f, th, alpha=0.1,
                                                                     t_end=0.5, **kw),
        "modified.discrete_run": lambda f, th, **kw: modified.discrete_run(
            "gd", f, th, alpha=0.1, steps=5, **kw),
    }


ENTRY = _entry_points()


@numba.njit
def _short_grad(theta):
    return 2.0 * (theta[:2] - 4.0)  # length 2 whatever the length of theta


@numba.njit
def _scalar_grad(theta):
    return 2.0 * (theta[0] - 4.0)


def _value(theta):
    return float(np.sum((theta - 4.0) ** 2))


@pytest.mark.parametrize("name", ENTRY)
def test_numba_gradient_of_the_wrong_length_is_rejected(name):
    """Before: the compiled loop read past the array and coordinates 2 and 3 never moved."""
    f = from_functions(_value, _short_grad)
    with pytest.raises(ValueError, match=r"grad must return an array of shape \(4,\)"):
        ENTRY[name](f, np.ones(4))


@pytest.mark.parametrize("name", ENTRY)
def test_python_gradient_of_the_wrong_length_is_rejected_the_same_way(name):
    f = from_functions(_value, lambda th: 2.0 * (th[:2] - 4.0))
    with pytest.raises(ValueError, match=r"grad must return an array of shape \(4,\)"):
        ENTRY[name](f, np.ones(4))


def test_numba_gradient_returning_a_scalar_gives_one_line():
    """Before: pages of numba TypingError."""
    with pytest.raises(ValueError, match=r"grad\(theta: float64\[::1\]\) -> float64\[::1\]") as e:
        from_functions(_value, _scalar_grad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name", ENTRY)
def test_gradient_returning_none_is_a_type_error(name):
    """Before: reported as divergence."""
    f = from_functions(_value, lambda th: None)
    with pytest.raises(TypeError, match="grad returned None"):
        ENTRY[name](f, 1.0)


@pytest.mark.parametrize("name", ENTRY)
def test_complex_theta0_is_rejected(name):
    """Before: the imaginary part was dropped silently."""
    with pytest.raises(ValueError, match="theta0 must be real"):
        ENTRY[name](F, 1.0 + 2.0j)


@pytest.mark.parametrize("name", ENTRY)
def test_missing_theta0_says_it_is_required(name):
    """Before: 'theta0 must be finite, got [nan]'."""
    with pytest.raises(ValueError, match="theta0 is required"):
        ENTRY[name](F, None)


ZERO_STEP = {
    "discrete.adagrad": lambda th, **kw: discrete.adagrad(F2, th, alpha=0.1, steps=20, eps=0.0,
                                                         **kw),
    "discrete.rmsprop": lambda th, **kw: discrete.rmsprop(F2, th, alpha=0.1, steps=20, eps=0.0,
                                                         **kw),
    "discrete.adam": lambda th, **kw: discrete.adam(F2, th, alpha=0.1, steps=20, eps=0.0, **kw),
    "fast.adagrad": lambda th, **kw: continuous.adagrad(F2, th, alpha=0.1, t_end=1.0, eps=0.0,
                                                        **kw),
    "fast.rmsprop": lambda th, **kw: continuous.rmsprop(F2, th, alpha=0.1, t_end=1.0, eps=0.0,
                                                        **kw),
    "fast.adam": lambda th, **kw: continuous.adam(F2, th, alpha=0.1, t_end=1.0, eps=0.0, **kw),
    "paper.rmsprop": lambda th, **kw: continuous.rmsprop(F2, th, alpha=0.1, t_end=0.5, eps=0.0,
                                                         method="paper", **kw),
    "paper.adam": lambda th, **kw: continuous.adam(F2, th, alpha=0.1, t_end=0.5, eps=0.0,
                                                   method="paper", **kw),
    "ode.adagrad": lambda th, **kw: modified.ode_model("adagrad", F2, th, alpha=0.1, t_end=1.0,
                                                       eps=0.0, **kw),
    "ode.rmsprop": lambda th, **kw: modified.ode_model("rmsprop", F2, th, alpha=0.1, t_end=1.0,
                                                       eps=0.0, **kw),
    "ode.adam": lambda th, **kw: modified.ode_model("adam", F2, th, alpha=0.1, t_end=1.0,
                                                    eps=0.0, **kw),
}
F2 = quadratic(np.array([4.0, -2.0]))


@pytest.mark.parametrize("name", ZERO_STEP)
def test_eps_zero_at_the_minimiser_stays_there(name):
    """0/0 = 0: a zero gradient gives a zero step in every method. Before: DivergenceError
    (discrete, fast) or ZeroDivisionError (paper)."""
    run = ZERO_STEP[name](np.array([4.0, -2.0]))
    np.testing.assert_array_equal(run.theta, np.broadcast_to([4.0, -2.0], run.theta.shape))


@pytest.mark.parametrize("name", ZERO_STEP)
def test_eps_zero_one_coordinate_at_its_optimum_per_coordinate(name):
    # Radau's finite-difference Jacobian would probe m != 0 at v = 0, where Adam's eps = 0
    # field is singular; an explicit integrator stays on the solution, where m = v = 0
    extra = {"method": "RK45"} if name == "ode.adam" else {}
    run = ZERO_STEP[name](np.array([4.0, 1.0]), per_coordinate=True, **extra)
    assert np.all(run.theta[:, 0] == 4.0)
    assert np.all(np.isfinite(run.theta)) and run.theta[-1, 1] < 1.0


@pytest.mark.parametrize("method", ["fast", "paper", "ode"])
@pytest.mark.parametrize("t", [np.nan, [0.1, np.nan], np.inf])
def test_dense_output_at_nan_is_a_value_error(method, t):
    """Before: IndexError (fast) and a silent NaN (paper)."""
    if method == "ode":
        run = modified.ode_model("rmsprop", F, 1.0, alpha=0.1, t_end=1.0)
    else:
        run = continuous.rmsprop(F, 1.0, alpha=0.1, t_end=1.0, method=method)
    with pytest.raises(ValueError, match="t must be finite"):
        run.at(t)
