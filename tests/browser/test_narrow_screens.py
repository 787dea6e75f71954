"""Narrow screens in a real browser: at 800 px (sidebar open, columns not yet stacked) and at a 390 px phone
width no widget label, metric or button is cut off or broken inside a word (on Runs and Predict with a run), and the Regression lab's formulas
and tables stay inside the main block at 800 px and at desktop width."""

from __future__ import annotations

import contextlib

import pytest
from browserhelpers import CHROMIUM, CHROMIUM_ARGS, IDLE

pytestmark = pytest.mark.browser

# Pages whose forms are checked at 800 px (Runs and Predict show their forms only once a run exists; the
# Regression lab's labels are checked with its formulas, below).
FORM_PAGES = ("", "Train", "Gradient_check", "Batch_size_timing", "Softmax_lab", "Tuning")

# Labels, metrics and buttons of the main block that are cut (an ellipsis: some part scrolls), whose text has a
# line break inside a word (a word's pieces lie on two lines; breaks after a hyphen or a slash are allowed), and
# widget labels squeezed onto more than two lines.
CUT_TEXT = r"""
() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const found = [];
  const selector = '[data-testid="stWidgetLabel"], [data-testid="stMetricLabel"], [data-testid="stMetricValue"], '
                 + 'button, h1, h2, h3';
  for (const el of main.querySelectorAll(selector)) {
    if (!el.offsetParent || el.closest('.js-plotly-plot, [data-testid="stDataFrame"]')) continue;
    const text = el.innerText.trim().replace(/\s+/g, ' ');
    if (!text) continue;
    if ([el, ...el.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1)) {
      found.push(`cut: "${text}"`);
      continue;
    }
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const lines = new Set();
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (const m of node.data.matchAll(/[^\s\-\/]+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) found.push(`"${m[0]}" broken in "${text}"`);
        tops.forEach(top => lines.add(top));
      }
    }
    if (el.matches('[data-testid="stWidgetLabel"]') && lines.size > 2) found.push(`"${text}" on ${lines.size} lines`);
  }
  return found;
}
"""

# Elements that reach past the main block's right edge (KaTeX's hidden MathML copy and the shapes inside an svg,
# which clips them, and a slider's invisible range input aside); tables drawn by
# st.dataframe whose columns do not all fit (the grid then scrolls them out of view).
OVERFLOW = r"""
() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const right = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight) + 1;
  const found = [];
  for (const el of main.querySelectorAll('*')) {
    if (el.ownerSVGElement || el.matches('input[type="range"]')
        || el.closest('.katex-mathml, .js-plotly-plot, [data-testid="stDataFrame"]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && r.right > right) {
      found.push(`${el.tagName.toLowerCase()} "${(el.textContent || '').trim().slice(0, 50)}" by ${Math.round(r.right - right)} px`);
    }
  }
  for (const grid of main.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')) {
    if (grid.scrollWidth > grid.clientWidth + 1) found.push(`a table ${grid.scrollWidth - grid.clientWidth} px too wide`);
  }
  return found.slice(0, 20);
}
"""


@contextlib.contextmanager
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make browser` (or apt-get install chromium) installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def opened(page, server: str, path: str):
    """`page` on `server/path` once its script run has finished and its layout has settled."""
    page.goto(f"{server}/{path}", wait_until="commit", timeout=120_000)
    return settled(page)


def settled(page):
    page.locator("[data-testid='stMainBlockContainer'] h1").first.wait_for(timeout=120_000)  # this page's, not the last
    page.wait_for_selector(IDLE, timeout=120_000)
    # widgets whose code has not loaded yet are grey skeletons, without their labels
    page.wait_for_function("!document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=60_000)
    page.wait_for_timeout(300)
    return page


def test_no_label_is_cut_at_800_px_nor_on_a_phone(server):
    problems = {}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 900})
        for path in FORM_PAGES:
            if found := opened(page, server, path).evaluate(CUT_TEXT):
                problems[f"{path or 'Home'} at 800 px"] = found
        page.set_viewport_size({"width": 390, "height": 844})
        if found := opened(page, server, "Train").evaluate(CUT_TEXT):
            problems["Train at 390 px"] = found
        assert page.get_by_text("Epochs (maximum)").count() == 1  # the check saw the form
    assert not problems, problems


def test_runs_and_predict_labels_fit_at_800_px(server, home):
    """Runs (the tracker, one run's detail, downloads, projector) and Predict show their forms once a run exists."""
    from engine.config.run_config import make_config
    from engine.jobs.store import RunStore
    from engine.training.run import execute

    store = RunStore(home)
    tiny = {"layers": 1, "width": 16, "batch_norm": False, "input_norm": False, "dropout": 0.0}
    run_id = store.create_run(make_config(dataset="digits", model="mlp", seed=1, epochs=2, model_args=tiny),
                              status="running")
    assert execute(store, run_id, threads=1)["status"] == "done"
    problems = {}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 900})
        for path in ("Runs", "Predict"):
            if found := opened(page, server, path).evaluate(CUT_TEXT):
                problems[path] = found
        assert page.get_by_text("Draw a digit on the canvas").count() == 1  # Predict showed the run's form
    assert not problems, problems


@pytest.mark.real_data
def test_regression_formulas_and_tables_fit_the_page(server, home):
    from conftest import shared

    from engine.data import pokemon

    pokemon.fetch(home, from_dir=shared("pokemon"))  # part 2: its formulas and accuracy table
    problems = {}
    with chromium() as browser:
        for width in (800, 1400):
            page = opened(browser.new_page(viewport={"width": width, "height": 900}), server, "Regression_lab")
            page.get_by_text("Pokémon Water vs Normal").first.wait_for(timeout=60_000)
            page.locator("[data-testid='stDataFrame']").nth(1).wait_for(timeout=60_000)
            if found := page.evaluate(OVERFLOW) + page.evaluate(CUT_TEXT):
                problems[f"{width} px"] = found
    assert not problems, problems
