"""Real browser: start a playground run from a Train link and watch the decision boundary change between two
epochs (the heatmap's title and values read from the plotly figure in the page, as the learner sees them)."""

from __future__ import annotations

import re
import time

import pytest
from browserhelpers import CHROMIUM, IDLE, page_text
from test_browser import browser_page

pytestmark = pytest.mark.browser

# the plotly figure whose layout.meta is "boundary" (ui/boundary_charts.py): its title and a fingerprint of z
READ_BOUNDARY = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.layout && p.layout.meta === 'boundary');
  if (!plot || !plot.data || !plot.data.length) return null;
  const z = plot.data[0].z;
  const values = z && z.bdata !== undefined ? z.bdata : JSON.stringify(Array.from(z, row => Array.from(row)));
  return {title: plot.layout.title.text || plot.layout.title, z: values, points: plot.data.length - 1};
}"""


def read_boundary(page) -> dict | None:
    shown = page.evaluate(READ_BOUNDARY)
    if shown is None:
        return None
    title = shown["title"]["text"] if isinstance(shown["title"], dict) else shown["title"]
    return {**shown, "epoch": int(re.search(r"epoch (\d+)", title).group(1))}  # the theme may wrap it in <b>


def wait_boundary(page, done, timeout: float) -> dict:
    deadline, shown = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        shown = read_boundary(page)
        if shown is not None and done(shown):
            return shown
        time.sleep(0.5)
    raise AssertionError(f"the boundary never showed the awaited epoch (last: {shown and shown['epoch']}); page: "
                         f"{page_text(page)}")


def test_the_boundary_changes_between_epochs_while_a_playground_run_trains(server, home, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make browser` (or apt-get install chromium) installs it")
    from playwright.sync_api import expect

    from engine.jobs.store import RunStore

    with browser_page(server, "Train?dataset=playground&shape=xor&points=200&epochs=60") as page:
        expect(page.get_by_text("Playground: 2-D points").first).to_be_visible(timeout=60_000)
        page.get_by_role("button", name="Start training").click()
        page.wait_for_selector(IDLE, timeout=90_000)
        first = wait_boundary(page, lambda b: b["epoch"] >= 1, timeout=240)
        later = wait_boundary(page, lambda b: b["epoch"] >= first["epoch"] + 3, timeout=240)
        page.screenshot(path=str(tmp_path / "playground_live.png"), full_page=True)
    assert later["epoch"] > first["epoch"] and later["z"] != first["z"]  # the heatmap moved with training
    assert first["points"] == 4  # train and test points of both classes on top
    (run,) = RunStore(home).list_runs()
    assert run["config"]["dataset"] == "playground" and run["config"]["data_args"]["shape"] == "xor"
