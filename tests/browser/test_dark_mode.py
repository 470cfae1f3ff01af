"""Dark mode: with the reader's system set to dark, the theme turns dark and figures stay readable.

The figures are PNGs with an opaque white background (idebook.plotting.set_style), so their
black text and lines stay visible on the dark page. One page with figures is checked pixel by
pixel at the figures' corners, and a screenshot saved (_build/screenshots/dark__<page>.png).
"""

from __future__ import annotations

import pytest
from conftest import toc_pages

PAGES = toc_pages()

_FIGURES_JS = """async () => {
  const imgs = Array.from(document.querySelectorAll('.cell_output img, .widget-output img'));
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const out = [];
  for (const img of imgs) {
    if (!img.naturalWidth) { out.push({src: img.src.slice(0, 80), error: 'not loaded'}); continue; }
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = (x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data);
    out.push({src: img.src.slice(0, 80),
              corners: [px(1, 1), px(c.width - 2, 1), px(1, c.height - 2),
                        px(c.width - 2, c.height - 2)]});
  }
  return out;
}"""


def _figure_page(site) -> str:
    preferred = [p for p in PAGES if p.endswith("playground")] + PAGES
    for page in preferred:
        html = (site / f"{page}.html").read_text()
        if 'class="cell_output' in html and "<img" in html:
            return page
    pytest.skip("no page with figures in the table of contents")


def test_dark_mode_keeps_figures_readable(browser, server, site, screenshots):
    page_name = _figure_page(site)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
        (server, "data:", "blob:")) else r.abort())
    page = context.new_page()
    try:
        page.goto(server + page_name + ".html", wait_until="load")
        theme = page.evaluate("document.documentElement.dataset.theme")
        background = page.evaluate(
            "getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number)")
        figures = page.evaluate(_FIGURES_JS)
        shot = screenshots / ("dark__" + page_name.replace("/", "__") + ".png")
        # The first figure in view, with the dark page around it.
        page.locator(".cell_output img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shot), full_page=False)
    finally:
        context.close()
    assert theme == "dark", f"the theme did not follow the dark colour scheme (data-theme={theme})"
    assert sum(background[:3]) < 3 * 80, f"page background not dark: {background}"
    assert figures, f"{page_name}: no figure found"
    not_white = [f for f in figures
                 if "error" in f or any(c != [255, 255, 255, 255] for c in f["corners"])]
    assert not not_white, f"{page_name}: figures without an opaque white background: {not_white}"
    print(f"dark mode: {len(figures)} figures on {page_name} have white backgrounds; {shot}")
