"""Nothing on a page scrolls sideways, on a desktop screen or on a phone held upright.

Every page of the table of contents is loaded at two viewport widths, 1280 px and 390 px (a
phone in portrait), with every collapsed block (``hide-input`` cells, dropdowns) opened, since
the reader can open them. Then, in the page's content column, no code cell, printed output,
table, display equation or widget area may be wider than its box (``scrollWidth`` larger than
``clientWidth``: the reader would have to scroll it, or part of it would be cut off) or stick
out of the content column, and the page itself may not be wider than the window.
"""

from __future__ import annotations

from functools import cache

import pytest
from conftest import toc_pages

PAGES = toc_pages()
WIDTHS = {"desktop": 1280, "phone": 390}
SLACK = 1  # px: sub-pixel rounding

# The blocks a reader could have to scroll: code and outputs (pre, the highlight boxes, output
# areas), tables, display math (Sphinx's div.math and MathJax's display containers), widgets.
_BLOCKS = ", ".join([
    "pre", "div.highlight", "div.cell_input", "div.cell_output", "div.output",
    "table", "div.math", 'mjx-container[display="true"]', ".jupyter-widgets",
    ".widget-subarea",
])

_LAYOUT_JS = """async ([selector, slack]) => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden, .toggle-details__container').forEach(
      e => e.classList.remove('toggle-hidden'));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  window.dispatchEvent(new Event('resize'));
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)));
  const column = document.querySelector('article.bd-article') ||
                 document.querySelector('main') || document.body;
  const right = column.getBoundingClientRect().right;
  const name = e => {
    const cell = e.closest('.cell');
    const where = cell ? `cell ${Array.from(document.querySelectorAll('.cell')).indexOf(cell)}`
                       : (e.closest('section[id]') || {id: '?'}).id;
    return `${e.tagName.toLowerCase()}${e.className && e.className.baseVal === undefined
            ? '.' + String(e.className).trim().split(/\\s+/).join('.') : ''} (${where})`;
  };
  const bad = [];
  for (const e of column.querySelectorAll(selector)) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not displayed
    const text = e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 60);
    if (e.scrollWidth > e.clientWidth + slack && getComputedStyle(e).display !== 'inline') {
      bad.push(`${name(e)}: content ${e.scrollWidth} px in a box of ${e.clientWidth} px: ${text}`);
    } else if (r.right > right + slack) {
      bad.push(`${name(e)}: right edge at ${Math.round(r.right)} px, past the content column `
               + `(${Math.round(right)} px): ${text}`);
    }
  }
  const doc = document.documentElement;
  // What makes the page wider than the window: the outermost elements that end past its edge.
  const wide = [];
  if (doc.scrollWidth > doc.clientWidth + slack) {
    for (const e of document.body.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (r.right > doc.clientWidth + slack && r.width > 0 &&
          !(e.parentElement && e.parentElement.getBoundingClientRect().right
            > doc.clientWidth + slack)) {
        wide.push(`${name(e)}: right edge at ${Math.round(r.right)} px: `
                  + e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 60));
      }
    }
  }
  return {bad: bad, wide: wide.slice(0, 10), page_scroll: doc.scrollWidth,
          window: doc.clientWidth};
}"""


@cache
def _layout(page_name: str, width: int, browser, base: str) -> dict:
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  color_scheme="light")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base)
                  or r.request.url.startswith(("data:", "blob:")) else r.abort())
    try:
        page = context.new_page()
        page.goto(base + page_name + ".html", wait_until="load", timeout=60_000)
        return page.evaluate(_LAYOUT_JS, [_BLOCKS, SLACK])
    finally:
        context.close()


@pytest.mark.parametrize("screen", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_nothing_scrolls_sideways(page, screen, browser, server):
    width = WIDTHS[screen]
    result = _layout(page, width, browser, server)
    bad = result["bad"]
    assert not bad, (f"{page} at {width} px: {len(bad)} block(s) wider than their box:\n  "
                     + "\n  ".join(bad[:15]) + ("\n  ..." if len(bad) > 15 else ""))
    assert result["page_scroll"] <= result["window"] + SLACK, (
        f"{page} at {width} px: the page is {result['page_scroll']} px wide in a window of "
        f"{result['window']} px, because of:\n  " + "\n  ".join(result["wide"]))
