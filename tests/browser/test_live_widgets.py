"""A slider moved by a reader against a live kernel (Voila on 127.0.0.1) redraws the figure.

A tiny notebook that shows ``idebook.widgets.panel(...)`` is served by Voila; Chromium drags the
α slider's handle with the mouse, and the figure (a PNG in the panel's Output widget) and the
summary line must change, computed by the kernel. Screenshots before and after the move go to
_build/screenshots/live__before.png and live__after.png.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import free_port, running

CELL = """from idebook import widgets

panel = widgets.panel("rmsprop", alpha=0.1, beta=0.9, steps=60)
panel"""

_FIGURE_JS = """() => {
  const img = document.querySelector('.idebook-panel .widget-output img');
  return img && img.naturalWidth > 0 ? img.src : null;
}"""


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    pytest.importorskip("voila", reason="voila is installed from requirements.txt")
    folder = tmp_path_factory.mktemp("live")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = folder / "live_panel.ipynb"
    nbformat.write(nb, path)
    port = free_port()
    env = dict(os.environ)
    # The kernel must be this environment's Python, whatever kernelspecs the machine has.
    env["JUPYTER_PATH"] = os.pathsep.join(
        [str(Path(sys.prefix) / "share" / "jupyter"), env.get("JUPYTER_PATH", "")]).rstrip(
        os.pathsep)
    log = open(folder / "voila.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(path), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        # the server is up (the page itself starts the kernel)
        with running(proc, base + "api", 120, grace=15):
            yield base
    finally:
        log.close()
        print((folder / "voila.log").read_text()[-3000:])


def test_slider_redraws_against_a_live_kernel(voila, browser, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    external: list[str] = []

    def route(r):
        if r.request.url.startswith((voila, "data:", "blob:", "ws://127.0.0.1")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        started = time.perf_counter()
        page.goto(voila, wait_until="load", timeout=180_000)
        page.wait_for_function(_FIGURE_JS, timeout=180_000)
        loaded = time.perf_counter() - started
        before_src = page.evaluate(_FIGURE_JS)
        summary = page.locator(".idebook-panel .widget-html").first
        before_summary = summary.inner_text()
        page.screenshot(path=str(screenshots / "live__before.png"), full_page=True)

        alpha = page.locator(".idebook-panel .widget-slider").filter(has_text="α").first
        readout = alpha.locator(".widget-readout")
        before_alpha = readout.inner_text()
        handle = alpha.locator(".noUi-handle")
        box = handle.bounding_box()
        assert box is not None, "the α slider has no visible handle"
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        moved = time.perf_counter()
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x - 60, y, steps=8)  # drag left: a smaller α
        page.mouse.up()
        page.wait_for_function(f"() => ({_FIGURE_JS})() !== {before_src!r}", timeout=120_000)
        redrawn = time.perf_counter() - moved
        after_src = page.evaluate(_FIGURE_JS)
        after_alpha = readout.inner_text()
        after_summary = summary.inner_text()
        page.screenshot(path=str(screenshots / "live__after.png"), full_page=True)
    finally:
        context.close()

    assert after_alpha != before_alpha, f"the slider did not move ({before_alpha})"
    assert float(after_alpha) < float(before_alpha)
    assert after_src != before_src, "the figure did not change"
    assert after_summary != before_summary and f"α = {after_alpha}" in after_summary, (
        before_summary, after_summary)
    assert not errors, f"page errors: {errors}"
    print(f"live widget: page with figure in {loaded:.1f} s; α {before_alpha} -> {after_alpha}, "
          f"redrawn by the kernel in {redrawn:.1f} s; requests to other hosts (blocked): "
          f"{external or 'none'}")
