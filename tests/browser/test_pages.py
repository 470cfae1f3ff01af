"""Every page of the table of contents, as a reader's browser shows it (headless Chromium).

Each page is loaded once (cached per session) from the local server, with every request to
another host blocked and recorded, and then checked: no console error, no request to another
host and no failed request, the equations typeset by MathJax, every image loaded, every internal
link pointing at an existing file and anchor, and the saved widgets rendered with their state.
A full-page screenshot of each page goes to _build/screenshots/.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import ROOT, toc_pages

PAGES = toc_pages()
SLIDER_MODELS = {"IntSliderModel", "FloatSliderModel", "FloatLogSliderModel",
                 "IntRangeSliderModel", "FloatRangeSliderModel"}


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    math: dict = field(default_factory=dict)
    images: list[dict] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    widgets: dict = field(default_factory=dict)
    screenshot: Path | None = None
    seconds: float = 0.0


def _is_local(url: str, base: str) -> bool:
    return url.startswith(base) or url.startswith(("data:", "blob:", "about:"))


# MathJax: wait for the first typesetting (if the page loads MathJax), then count.
_MATH_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    if (MathJax.typesetPromise) { await MathJax.typesetPromise(); }
  }
  const math = Array.from(document.querySelectorAll('.math'));
  const raw = [];
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest('pre, code, script, style, textarea, mjx-container')) continue;
    const t = n.textContent;
    if (t.includes('$$') || /\\\\(begin|frac|theta|alpha|beta)\\b/.test(t)) {
      raw.push(t.trim().slice(0, 80));
    }
  }
  return {
    loaded: !!(window.MathJax && MathJax.version),
    version: window.MathJax ? MathJax.version : null,
    math_nodes: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(
        e => e.textContent.trim().slice(0, 80)),
    containers: document.querySelectorAll('mjx-container').length,
    errors: Array.from(document.querySelectorAll('mjx-merror')).map(
        e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120)),
    raw: raw,
  };
}"""

_IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return imgs.map(i => ({src: i.currentSrc.slice(0, 120), complete: i.complete,
                         width: i.naturalWidth, height: i.naturalHeight}));
}"""

_WIDGETS_JS = """() => {
  const stateTag = document.querySelector(
      'script[type="application/vnd.jupyter.widget-state+json"]');
  if (!stateTag) return null;
  const state = JSON.parse(stateTag.textContent).state;
  const views = Array.from(document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]')).map(
      s => JSON.parse(s.textContent).model_id);
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const sliders = Array.from(document.querySelectorAll('.widget-slider'));
  return {
    models: Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.model_name])),
    output_images: Object.values(state).filter(v => v.model_name === 'OutputModel').map(
        v => (v.state.outputs || []).filter(o => o.data && o.data['image/png']).length
    ).reduce((a, b) => a + b, 0),
    views: views,
    rendered: Array.from(document.querySelectorAll('.widget-subarea')).filter(
        e => e.children.length > 0).length,
    jupyter_widgets: document.querySelectorAll('.jupyter-widgets').length,
    sliders: sliders.length,
    visible_sliders: sliders.filter(visible).length,
    readouts: Array.from(document.querySelectorAll('.widget-slider .widget-readout')).map(
        e => e.textContent.trim()),
    widget_images: Array.from(document.querySelectorAll('.widget-output img')).map(
        i => i.naturalWidth),
  };
}"""


@cache
def _ids(path: Path) -> frozenset[str]:
    text = path.read_text(errors="replace")
    return frozenset(re.findall(r'\s(?:id|name)="([^"]+)"', text))


def _check_links(hrefs: list[str], base: str, site: Path) -> list[str]:
    broken = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base):
            continue  # another host (Binder, GitHub, arXiv, ...): a link, not a request
        parts = urlsplit(href)
        rel = unquote(parts.path[len(urlsplit(base).path):])
        target = site / rel
        if rel == "" or target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href}: no file {target.relative_to(site)}")
            continue
        frag = unquote(parts.fragment)
        if frag and target.suffix == ".html" and frag not in _ids(target):
            broken.append(f"{href}: no element with id {frag!r} in {target.relative_to(site)}")
    return broken


_reports: dict[str, PageReport] = {}


@pytest.fixture
def report(request, browser, server, site, screenshots):
    page_name = request.node.callspec.params["page"]
    if page_name not in _reports:
        _reports[page_name] = _load(page_name, browser, server, site, screenshots)
    return _reports[page_name]


def _load(page_name: str, browser, base: str, site: Path, screenshots: Path) -> PageReport:
    started = time.perf_counter()
    url = base + page_name + ".html"
    rep = PageReport(url)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")

    def route(r):
        if _is_local(r.request.url, base):
            r.continue_()
        else:
            rep.external_requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and rep.console_errors.append(
        f"{m.text} ({m.location.get('url', '')}:{m.location.get('lineNumber', '')})"))
    page.on("pageerror", lambda e: rep.console_errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: _is_local(r.url, base) and rep.failed_requests.append(
        f"{r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and rep.failed_requests.append(
        f"{r.url}: HTTP {r.status}"))
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        if page.query_selector('script[type="application/vnd.jupyter.widget-view+json"]'):
            # The HTML manager renders after the load event; wait for its views.
            try:
                page.wait_for_function(
                    """() => document.querySelectorAll('.widget-subarea').length >=
                        document.querySelectorAll(
                          'script[type="application/vnd.jupyter.widget-view+json"]').length""",
                    timeout=30_000)
            except Exception:  # noqa: BLE001 - reported by test_widgets_render
                pass
        rep.math = page.evaluate(_MATH_JS)
        # Scroll through the page so that nothing waits for visibility, then back to the top.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(200)
        page.evaluate("window.scrollTo(0, 0)")
        rep.images = page.evaluate(_IMAGES_JS)
        rep.widgets = page.evaluate(_WIDGETS_JS) or {}
        rep.links = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'))"
                                  ".map(a => a.href)")
        rep.screenshot = screenshots / (page_name.replace("/", "__") + ".png")
        page.screenshot(path=str(rep.screenshot), full_page=True)
    finally:
        context.close()
    rep.seconds = time.perf_counter() - started
    print(f"{page_name}: loaded and checked in {rep.seconds:.1f} s")
    return rep


def _fmt(items: list) -> str:
    return "\n  ".join(map(str, items[:20])) + ("\n  ..." if len(items) > 20 else "")


@pytest.mark.parametrize("page", PAGES)
def test_no_console_errors(report, page):
    assert not report.console_errors, f"{page}: console errors:\n  {_fmt(report.console_errors)}"


@pytest.mark.parametrize("page", PAGES)
def test_no_external_or_failed_requests(report, page):
    assert not report.external_requests, (
        f"{page}: requests to other hosts (blocked):\n  {_fmt(report.external_requests)}")
    assert not report.failed_requests, f"{page}: failed requests:\n  {_fmt(report.failed_requests)}"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(report, page):
    m = report.math
    if m["math_nodes"]:
        assert m["loaded"], f"{page}: the page has equations but MathJax did not load"
        assert m["version"].startswith("3."), m["version"]
        assert not m["untypeset"], f"{page}: equations not typeset:\n  {_fmt(m['untypeset'])}"
        assert m["containers"] >= m["math_nodes"]
    assert not m["errors"], f"{page}: TeX errors:\n  {_fmt(m['errors'])}"
    assert not m["raw"], f"{page}: raw TeX left in the text:\n  {_fmt(m['raw'])}"


@pytest.mark.parametrize("page", PAGES)
def test_images_load(report, page):
    bad = [i for i in report.images if not (i["complete"] and i["width"] > 0)]
    assert not bad, f"{page}: images that did not load:\n  {_fmt(bad)}"


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(report, page, site, server):
    broken = _check_links(report.links, server, site)
    assert not broken, f"{page}: broken internal links:\n  {_fmt(broken)}"


@pytest.mark.parametrize("page", PAGES)
def test_widgets_render(report, page):
    w = report.widgets
    if not w:
        return  # no saved widget state on this page
    missing = [v for v in w["views"] if v not in w["models"]]
    assert not missing, (f"{page}: {len(missing)} widget view(s) without saved state (the reader "
                         "sees nothing there): re-execute the notebook and save its widget state")
    assert w["rendered"] >= len(w["views"]), (
        f"{page}: {w['rendered']} of {len(w['views'])} widget views rendered")
    assert w["jupyter_widgets"] > 0
    if SLIDER_MODELS & set(w["models"].values()):
        assert w["visible_sliders"] > 0, f"{page}: slider models in the state, no slider shown"
        assert all(w["readouts"]), f"{page}: sliders without a value: {w['readouts']}"
    if w["output_images"]:
        assert w["widget_images"] and all(x > 0 for x in w["widget_images"]), (
            f"{page}: figures saved in Output widgets did not render: {w['widget_images']}")


@pytest.mark.parametrize("page", PAGES)
def test_screenshot_saved(report, page):
    assert report.screenshot is not None and report.screenshot.stat().st_size > 0


def test_notebook_pages_have_binder_launch_buttons(site):
    """Every notebook page links to Binder, opening that notebook in JupyterLab."""
    checked = 0
    for page in PAGES:
        if not (ROOT / f"{page}.ipynb").exists():
            continue
        html = (site / f"{page}.html").read_text()
        want = f"https://mybinder.org/v2/gh/idebook/idebook/main?urlpath=lab/tree/{page}.ipynb"
        assert want in html.replace("&amp;", "&"), f"{page}: no Binder (JupyterLab) launch button"
        checked += 1
    assert checked > 0, "no notebook page in the table of contents"


def test_widget_state_is_valid_json(site):
    for page in PAGES:
        html = (site / f"{page}.html").read_text()
        for m in re.finditer(r'<script type="application/vnd.jupyter.widget-state\+json">'
                             r'(.*?)</script>', html, re.S):
            json.loads(m.group(1))
