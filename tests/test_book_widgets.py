"""idebook.widgets: the chapters' control panels, driven from Python (no browser, no kernel)."""

from __future__ import annotations

import base64
import io

import ipywidgets
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from idebook import analysis, continuous, discrete, objectives, widgets  # noqa: E402
from idebook.results import DivergenceError  # noqa: E402


def _png_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return im.size


@pytest.fixture(scope="module")
def adam_panel() -> widgets.Panel:
    return widgets.panel("adam", alpha=0.1, beta1=0.9, beta2=0.999, steps=100)


def test_panel_is_a_vbox_with_controls_and_a_first_figure(adam_panel):
    p = adam_panel
    assert isinstance(p, ipywidgets.VBox)
    assert {"alpha", "beta", "beta1", "beta2", "theta0", "steps"} <= set(p.controls)
    assert p.output in p.children and p.summary in p.children
    assert p.draws >= 1 and p.last is not None and p.last.error is None
    (out,) = p.output.outputs
    assert out["output_type"] == "display_data"
    png = base64.b64decode(out["data"]["image/png"])
    assert png == p.last.png and png.startswith(b"\x89PNG")
    assert "max gap in θ" in p.summary.value


def test_first_draw_matches_the_package(adam_panel):
    f = objectives.quadratic()
    d = discrete.adam(f, 1.0, alpha=0.1, beta1=0.9, beta2=0.999, steps=100)
    c = continuous.adam(f, 1.0, alpha=0.1, beta1=0.9, beta2=0.999, t_end=d.t[-1], tol=1e-6)
    last = widgets.panel("adam", steps=100).last
    np.testing.assert_array_equal(last.discrete.theta, d.theta)
    np.testing.assert_allclose(last.continuous.theta, c.theta, rtol=0, atol=1e-12)
    assert last.gaps == analysis.gaps(d, c)


def test_moving_a_slider_reruns_and_redraws():
    p = widgets.panel("rmsprop", beta=0.9, steps=60)
    before = p.last
    draws = p.draws
    p.controls["alpha"].value = 0.05  # what a reader's slider does, through the same trait
    after = p.last
    assert p.draws == draws + 1
    assert after is not before
    assert after.params["alpha"] == pytest.approx(0.05)
    assert after.discrete.alpha == pytest.approx(0.05)
    assert after.discrete.t[-1] == pytest.approx(0.05 * 60)  # steps stay fixed, t_end moves
    assert not np.array_equal(after.discrete.theta, before.discrete.theta)
    assert after.theta_gap != before.theta_gap
    assert after.png != before.png
    assert base64.b64decode(p.output.outputs[0]["data"]["image/png"]) == after.png
    assert f"{after.theta_gap:.3g}" in p.summary.value

    p.controls["beta"].value = 0.99
    assert p.draws == draws + 2
    assert p.last.discrete.params["beta"] == pytest.approx(0.99)
    assert p.last.continuous.params["beta"] == pytest.approx(0.99)


def test_set_changes_several_controls_with_one_redraw():
    p = widgets.panel("adam", steps=50)
    draws = p.draws
    last = p.set(alpha=0.02, beta1=0.0, beta2=0.99, theta0=2.0, steps=80)
    assert p.draws == draws + 1
    assert last is p.last
    assert last.discrete.theta.shape == (81, 1)
    assert last.discrete.theta[0, 0] == 2.0
    assert last.discrete.params["beta1"] == 0.0 and last.discrete.params["beta2"] == 0.99
    with pytest.raises(KeyError):
        p.set(gamma=1.0)


def test_algorithm_and_objective_menus():
    p = widgets.panel("adagrad", choose=True, steps=40)
    visible = {k: w.layout.display != "none" for k, w in p.controls.items()}
    assert visible["algorithm"] and visible["objective"]
    assert not visible["beta"] and not visible["beta1"] and not visible["theta0_y"]
    assert "G" in p.last.gaps

    p.controls["algorithm"].value = "adam"
    assert p.last.params["algorithm"] == "adam"
    assert p.controls["beta1"].layout.display != "none"
    assert p.controls["beta"].layout.display == "none"
    assert set(p.last.gaps) == {"theta", "v", "m"}

    draws = p.draws
    p.controls["objective"].value = "rosenbrock"  # a 2-D start and one redraw
    assert p.draws == draws + 1
    assert p.last.params["theta0"] == (-1.2, 1.0)
    assert p.last.discrete.theta.shape[1] == 2
    assert p.controls["theta0_y"].layout.display != "none"

    last = p.set(objective="regression")
    assert last.params["theta0"] == (0.0,)
    assert last.discrete.theta.shape[1] == 1


def test_hidden_menus_without_choose():
    p = widgets.panel("rmsprop", objective="regression", steps=30)
    assert p.controls["algorithm"].layout.display == "none"
    assert p.controls["objective"].layout.display == "none"
    assert p.last.discrete.theta[0, 0] == 0.0  # Appendix B starts at theta = 0


def test_memory_panel_draws_a_second_row():
    small = widgets.panel("rmsprop", steps=30).last.png
    tall = widgets.panel("rmsprop", steps=30, memory=True).last.png
    assert _png_size(tall)[1] > 1.5 * _png_size(small)[1]


def test_png_has_an_opaque_white_background():
    from PIL import Image

    png = widgets.panel("adam", steps=20).last.png
    with Image.open(io.BytesIO(png)) as im:
        rgba = im.convert("RGBA")
        assert rgba.getpixel((1, 1)) == (255, 255, 255, 255)
        assert rgba.getpixel((rgba.width - 2, rgba.height - 2)) == (255, 255, 255, 255)


def test_a_redraw_draws_what_a_new_figure_draws(monkeypatch):
    """A panel keeps its figure between redraws (for matplotlib's caches): each redraw's PNG is,
    byte for byte, the one a new figure gives, also after a failed run's figure."""
    p = widgets.panel("rmsprop", steps=30, memory=True)
    p.set(alpha=0.05, steps=40)
    assert p.last.png == widgets._render(p.last, widgets._figure(memory=True), memory=True)

    def refuse(**kwargs):
        raise ValueError("refused")

    with monkeypatch.context() as m:
        m.setattr(widgets, "simulate", refuse)
        assert p.set(alpha=0.2).error == "refused"
    p.set(steps=20)
    assert p.draws == 4 and p.last.error is None
    assert p.last.png == widgets._render(p.last, widgets._figure(memory=True), memory=True)


def test_a_failed_run_is_reported_not_raised(monkeypatch):
    p = widgets.panel("adam", steps=20)

    def diverge(*args, **kwargs):
        raise DivergenceError("adam: theta became non-finite at k = 3", k=3)

    monkeypatch.setattr(widgets, "simulate", diverge)
    last = p.set(alpha=0.3)
    assert last.discrete is None and last.gaps == {}
    assert "non-finite" in last.error and "non-finite" in p.summary.value
    assert last.png.startswith(b"\x89PNG")


def test_t_end_gives_the_number_of_steps():
    p = widgets.panel("adam", alpha=0.1, t_end=5.0)
    assert p.controls["steps"].value == 50
    with pytest.raises(ValueError):
        widgets.panel("adam", steps=10, t_end=1.0)


def test_the_steps_slider_reaches_the_papers_longest_horizon():
    """AdaGrad at alpha = 0.01 over 200 000 steps (Figures 2 and 9): the slider's log scale
    reaches it, the redraw keeps the number of steps exactly, both runs succeed, and the
    discrete one ends within 1e-3 of the minimiser 4."""
    p = widgets.panel("adagrad", alpha=0.01, steps=60)
    slider = p.controls["steps"]
    assert 10 ** slider.min <= 10 and 10 ** slider.max == pytest.approx(200_000)
    last = p.set(steps=200_000)
    assert last.error is None and last.params["steps"] == 200_000
    assert last.discrete.t[-1] == pytest.approx(2000.0) and last.continuous.success
    assert abs(last.discrete.theta[-1, 0] - 4.0) < 1e-3
    assert last.png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="200000"):
        widgets.simulate("adagrad", alpha=0.01, steps=200_001)


@pytest.mark.parametrize("kwargs", [{"algorithm": "sgd"}, {"objective": "himmelblau"},
                                    {"steps": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        widgets.panel(**kwargs)


def test_simulate_gives_what_the_two_calls_give_alone():
    """simulate runs the discrete loop on a second thread: the runs are those of the two calls
    made one after the other, bit for bit."""
    d, c = widgets.simulate("rmsprop", objective="rosenbrock", alpha=0.1, beta=0.9, steps=300)
    start = widgets._START["rosenbrock"]
    d0 = discrete.rmsprop(objectives.rosenbrock(), start, alpha=0.1, beta=0.9, steps=300)
    c0 = continuous.rmsprop(objectives.rosenbrock(), start, alpha=0.1, beta=0.9, t_end=d0.t[-1],
                            tol=1e-6)
    assert np.array_equal(d.theta, d0.theta) and np.array_equal(d.v, d0.v)
    assert np.array_equal(c.t, c0.t) and np.array_equal(c.theta, c0.theta)
    assert (c.nfev, c.error_estimate, c.success) == (c0.nfev, c0.error_estimate, True)


def test_simulate_raises_the_discrete_runs_error_first(monkeypatch):
    def diverge(*args, **kwargs):
        raise DivergenceError("adam: theta became non-finite at k = 3", k=3)

    def refuse(*args, **kwargs):
        raise ValueError("the continuous model's error")

    monkeypatch.setattr(discrete, "adam", diverge)
    monkeypatch.setattr(continuous, "adam", refuse)
    with pytest.raises(DivergenceError, match="k = 3"):
        widgets.simulate("adam", steps=20)
    monkeypatch.setattr(discrete, "adam", lambda *args, **kwargs: "the discrete run")
    with pytest.raises(ValueError, match="continuous"):
        widgets.simulate("adam", steps=20)


def test_simulate_objectives():
    for name in widgets.OBJECTIVES:
        d, c = widgets.simulate("adam", objective=name, steps=20)
        assert d.theta.shape == c.theta.shape
        assert np.all(np.isfinite(c.theta))
    f = objectives.quadratic(center=1.0)
    d, _ = widgets.simulate("rmsprop", objective=f, theta0=0.0, steps=10)
    assert d.theta[0, 0] == 0.0
    with pytest.raises(ValueError):
        widgets.objective("nope")
