"""idebook.modified: the IDEs as ODEs, and the O(alpha)-corrected modified equations.

The claims are checked against independent references: the package's IDE solver
(idebook.continuous), the package's discrete algorithms (idebook.discrete), the sympy expansion
F0 + alpha F1 of the discrete map, and observed orders of the gap to the discrete iterates.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import idebook
from idebook import modified
from idebook.analysis import gaps, observed_order
from idebook.model import build

F = idebook.objectives.quadratic()  # f = (theta - 4)^2
ALPHAS = np.array([0.04, 0.02, 0.01])


def gap_to_discrete(algorithm, alphas, t_end, discrete_kw, model_kw):
    """max_k |theta_k - theta(alpha k)| for each alpha; kw may be callables of alpha."""
    out = []
    for a in alphas:
        dk = discrete_kw(a) if callable(discrete_kw) else discrete_kw
        mk = model_kw(a) if callable(model_kw) else model_kw
        d = modified.discrete_run(algorithm, F, 1.0, alpha=a, steps=round(t_end / a), **dk)
        run = modified.ode_model(algorithm, F, 1.0, alpha=a, t_end=t_end, **dk, **mk)
        out.append(gaps(d, run)["theta"][0])
    return np.array(out)


# -- the IDEs as ODEs ------------------------------------------------------------------------

@pytest.mark.parametrize(("beta1", "beta2", "alpha", "steps"),
                         [(0.9, 0.999, 0.1, 100), (0.0, 0.99, 0.1, 100), (0.9, 0.99, 0.01, 300)])
def test_adam_ode_is_the_ide(beta1, beta2, alpha, steps):
    """Proposition 3 has no shift: its ODE form is the same model, to solver accuracy."""
    kw = {"alpha": alpha, "beta1": beta1, "beta2": beta2, "t_end": alpha * steps}
    ide = idebook.continuous.adam(F, 1.0, **kw)
    ode = modified.ode_model("adam", F, 1.0, **kw)
    for name in ("theta", "m", "v"):
        assert np.max(np.abs(getattr(ode, name) - getattr(ide, name))) < 1e-7, name


def test_adagrad_taylor_shift_is_second_order_close_to_the_ide():
    """G(t + alpha) ~ G + alpha G' changes AdaGrad's solution by O(alpha^2) only."""
    alphas = np.array([0.1, 0.05])
    err = []
    for a in alphas:
        ide = idebook.continuous.adagrad(F, 1.0, alpha=a, t_end=20.0)
        ode = modified.ode_model("adagrad", F, 1.0, alpha=a, t_end=20.0)
        err.append(np.max(np.abs(ode.theta - ide.theta)))
    assert 1.7 < observed_order(alphas, err) < 2.3
    assert err[-1] < 1e-3


def test_discrete_run_reproduces_the_package():
    for alg, kw in [("adagrad", {}), ("rmsprop", {"beta": 0.9}),
                    ("adam", {"beta1": 0.9, "beta2": 0.999})]:
        ref = getattr(idebook.discrete, alg)(F, 1.0, alpha=0.1, steps=50, **kw)
        run = modified.discrete_run(alg, F, 1.0, alpha=0.1, steps=50, **kw)
        np.testing.assert_allclose(run.theta, ref.theta, rtol=1e-14, atol=1e-14)
        for name, values in ref.memory.items():
            np.testing.assert_allclose(getattr(run, name), values, rtol=1e-14, atol=1e-14)


# -- modified equations: observed orders -----------------------------------------------------

def test_gradient_descent_modified_flow_is_second_order():
    plain = gap_to_discrete("gd", ALPHAS, 2.0, {}, {"order": 0})
    mod = gap_to_discrete("gd", ALPHAS, 2.0, {}, {"order": 1})
    assert 0.9 < observed_order(ALPHAS, plain) < 1.1
    assert 1.9 < observed_order(ALPHAS, mod) < 2.1
    assert np.all(mod < plain / 10)


def test_rmsprop_scaled_regime_is_second_order():
    """1 - beta = alpha, warm memory v0 = g(theta0)^2: order 1 -> order 2."""
    dk = lambda a: {"beta": 1 - a, "v0": 36.0}  # noqa: E731
    plain = gap_to_discrete("rmsprop", ALPHAS, 2.0, dk, {"order": 0})
    mod = gap_to_discrete("rmsprop", ALPHAS, 2.0, dk, {"order": 1})
    assert 0.9 < observed_order(ALPHAS, plain) < 1.1
    assert 1.9 < observed_order(ALPHAS, mod) < 2.1


def test_adam_scaled_regime_is_second_order():
    """1 - beta1 = alpha, 1 - beta2 = alpha/10: without bias correction from a warm memory,
    and with bias correction from the cold start m0 = v0 = 0."""
    warm = lambda a: {"beta1": 1 - a, "beta2": 1 - a / 10, "bias": False,  # noqa: E731
                      "m0": -6.0, "v0": 36.0}
    cold = lambda a: {"beta1": 1 - a, "beta2": 1 - a / 10}  # noqa: E731
    for dk, low in ((warm, 1.9), (cold, 1.75)):
        plain = gap_to_discrete("adam", ALPHAS, 2.0, dk, {"order": 0})
        mod = gap_to_discrete("adam", ALPHAS, 2.0, dk, {"order": 1})
        assert 0.9 < observed_order(ALPHAS, plain) < 1.1
        assert low < observed_order(ALPHAS, mod) < 2.1


def test_adam_fixed_beta_regime_is_second_order():
    """beta fixed (0.5, 0.6), bias-corrected Adam from the cold start: the theta-only flow."""
    alphas = ALPHAS / 2
    dk = {"beta1": 0.5, "beta2": 0.6}
    plain = gap_to_discrete("adam", alphas, 2.0, dk, {"order": 0})
    mod = gap_to_discrete("adam", alphas, 2.0, dk, {"order": 1, "regime": "fixed"})
    assert 0.9 < observed_order(alphas, plain) < 1.1
    assert 1.9 < observed_order(alphas, mod) < 2.1


# -- the modified fields are F0 + alpha F1 of the sympy expansion ----------------------------

@pytest.mark.parametrize(("algorithm", "bias", "state"), [
    ("gd", False, (1.3,)),
    ("rmsprop", False, (1.3, 20.0)),
    ("adam", False, (1.3, -4.0, 20.0)),
    ("adam", True, (0.8, 1.3, -2.0, 5.0)),  # (t, theta, m, v)
])
def test_half_step_fields_match_the_symbolic_expansion(algorithm, bias, state):
    S = modified.symbolic_modified(algorithm, bias=bias)
    th = S["theta"]

    def concrete(e):
        return e.subs(S["f"](th), (th - 4) ** 2).doit()

    expansion = (S["F0"] + S["alpha"] * S["F1"]).applyfunc(concrete)
    symbols = [*S["y"], S["alpha"], S["c"], S["c1"], S["c2"], S["eps"]]
    reference = sp.lambdify(symbols, expansion, "numpy")
    c1, c2, eps = 0.7, 0.2, 1e-8
    scaled = []
    for a in (1e-3, 1e-4):
        kw = {"alpha": a, "t_end": 1.0, "order": 1, "eps": eps}
        if algorithm == "rmsprop":
            kw["beta"] = 1 - c1 * a
        if algorithm == "adam":
            kw.update(beta1=1 - c1 * a, beta2=1 - c2 * a, bias=bias)
        field = _field(algorithm, a, kw)
        t, y = (state[0], np.array(state[1:])) if bias else (0.0, np.array(state))
        ref = np.array(reference(*state, a, c1, c1, c2, eps), dtype=float).ravel()
        ref = ref[1:] if bias else ref
        scaled.append(np.max(np.abs(field(t, y) - ref)) / a**2)
    # the difference is O(alpha^2): its ratio to alpha^2 is bounded and settles
    assert scaled[1] < 10 and abs(scaled[1] - scaled[0]) < 0.05 * max(scaled[0], 1e-6) + 1e-6


def _field(algorithm, alpha, kw):
    """The right-hand side ode_model would integrate (the same private constructor)."""
    model = build(algorithm, F, 1.0, alpha=alpha, beta=kw.get("beta", 0.9),
                  beta1=kw.get("beta1", 0.9), beta2=kw.get("beta2", 0.999), eps=kw["eps"],
                  bias=kw.get("bias", True))
    form = modified._Form(order=1, shift=True, decay="paper", regime="scaled")
    return modified._FIELDS[algorithm](model, form, modified.hessian_vector(F))


def test_symbolic_gradient_descent_is_barrett_dherin():
    S = modified.symbolic_modified("gd")
    th, f = S["theta"], S["f"]
    expected = -sp.diff(f(th), th) * sp.diff(f(th), th, 2) / 2
    assert sp.simplify(S["F1"][0] - expected) == 0


# -- the matched kernel ----------------------------------------------------------------------

def test_matched_adam_starts_at_the_gradient_and_helps():
    """With decay -ln(beta)/alpha the bias-corrected moment starts at g exactly, and Adam's
    gap to the discrete run shrinks at the paper's alpha = 0.1."""
    kw = {"alpha": 0.1, "beta1": 0.9, "beta2": 0.999}
    d = idebook.discrete.adam(F, 1.0, steps=100, **kw)
    paper = modified.ode_model("adam", F, 1.0, t_end=10.0, **kw)
    matched = modified.ode_model("adam", F, 1.0, t_end=10.0, decay="matched", **kw)
    assert gaps(d, matched)["theta"][0] < gaps(d, paper)["theta"][0] / 3
    early = matched.at(np.array([1e-9]))
    # theta'(0) = -g/|g| = +1 for g(1) = -6: the step of the first iterate
    assert abs((early.theta[0, 0] - 1.0) / 1e-9 - 1.0) < 1e-3


def test_matched_beta_zero_is_quasi_static():
    run = modified.ode_model("adam", F, 1.0, alpha=0.1, t_end=1.0, beta1=0.0, beta2=0.99,
                             decay="matched")
    g = 2 * (run.theta[:, 0] - 4)
    np.testing.assert_allclose(run.m[:, 0], g, rtol=1e-12)
    rms = modified.ode_model("rmsprop", F, 1.0, alpha=0.1, t_end=1.0, beta=0.0, decay="matched")
    np.testing.assert_allclose(rms.v[:, 0], (2 * (rms.theta[:, 0] - 4)) ** 2, rtol=1e-12)


# -- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "name"), [
    ({"alpha": -0.1}, "alpha"),
    ({"t_end": 0.0}, "t_end"),
    ({"order": 2}, "order"),
    ({"order": True}, "order"),
    ({"decay": "exact"}, "decay"),
    ({"regime": "other"}, "regime"),
    ({"beta": 1.0}, "beta"),
    ({"method": "euler"}, "method"),
    ({"v0": -1.0}, "v0"),
    ({"v0": [1.0, 2.0]}, "v0"),
    ({"rtol": 0.0}, "rtol"),
    ({"theta0": np.nan}, "theta0"),
])
def test_invalid_input_names_the_parameter(kw, name):
    args = {"alpha": 0.1, "t_end": 1.0, "theta0": 1.0}
    args.update(kw)
    theta0 = args.pop("theta0")
    with pytest.raises(ValueError, match=name):
        modified.ode_model("rmsprop", F, theta0, **args)


def test_invalid_combinations():
    with pytest.raises(ValueError, match="algorithm"):
        modified.ode_model("sgd", F, 1.0, alpha=0.1, t_end=1.0)
    with pytest.raises(ValueError, match="order=1"):
        modified.ode_model("adagrad", F, 1.0, alpha=0.1, t_end=1.0, order=1)
    with pytest.raises(ValueError, match="matched"):
        modified.ode_model("adam", F, 1.0, alpha=0.1, t_end=1.0, order=1, decay="matched")
    with pytest.raises(ValueError, match="v0 > 0"):
        modified.ode_model("rmsprop", F, 1.0, alpha=0.1, t_end=1.0, shift=False)
    with pytest.raises(ValueError, match="steps"):
        modified.discrete_run("adam", F, 1.0, alpha=0.1, steps=-1)
    with pytest.raises(ValueError, match="algorithm"):
        modified.symbolic_modified("adagrad")
    with pytest.raises(ValueError, match="hessian"):
        modified.hessian_vector(F, hessian=3)


def test_hessian_vector_by_differences_on_rosenbrock():
    R = idebook.objectives.rosenbrock()
    theta, u = np.array([-0.3, 0.8]), np.array([0.6, -1.1])
    x, y = theta
    H = np.array([[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]])
    np.testing.assert_allclose(modified.hessian_vector(R)(theta, u), H @ u, rtol=1e-7)
