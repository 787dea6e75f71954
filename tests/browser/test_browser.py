"""Real-browser tests: `streamlit run app.py` on a free port, Playwright driving Debian's chromium.
1. Open Train, start a digits run, watch the chart reach 2 epochs, press Stop, find the run on the
   Runs page as stopped.
2. On Predict, draw digits on the canvas with mouse moves and read the model's predictions."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest
from browserhelpers import CHROMIUM, CHROMIUM_ARGS, IDLE

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def browser_page(server: str, path: str):
    """Headless chromium on `server/path`, once the page's script run has finished."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{server}/{path}", wait_until="commit", timeout=120_000)
            page.wait_for_selector(IDLE, timeout=120_000)
            yield page
        finally:
            browser.close()


def epochs_done(page) -> int:
    text = page.get_by_text(re.compile(r"Epoch \d+ of \d+ finished")).first.inner_text(timeout=5000)
    return int(re.search(r"Epoch (\d+) of", text).group(1))


def test_train_live_stop_and_runs(server, home, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make browser` (or apt-get install chromium) installs it")
    from playwright.sync_api import expect

    from engine.jobs.store import RunStore

    with browser_page(server, "Train") as page:
        expect(page.get_by_text("Train a network")).to_be_visible()
        epochs = page.get_by_role("spinbutton", name="Epochs (maximum)")
        epochs.fill("30")
        epochs.press("Enter")
        page.wait_for_selector(IDLE, timeout=90_000)
        page.get_by_text("Early stopping", exact=True).click()  # off: the run must still be going at Stop
        page.wait_for_selector(IDLE, timeout=90_000)
        expect(page.get_by_text("early stopping (patience")).to_have_count(0)
        page.get_by_role("button", name="Start training").click()

        # the fragment redraws from the RunStore every second: wait for 2 finished epochs
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if epochs_done(page) >= 2:
                    break
            time.sleep(0.5)
        assert epochs_done(page) >= 2, "the live view never showed 2 finished epochs"
        # plotly lays a chart out after its div is in the page: on a slow machine that takes seconds
        expect(page.locator(".js-plotly-plot >> visible=true").first).to_be_visible(timeout=60_000)
        page.screenshot(path=str(tmp_path / "train_live.png"), full_page=True)

        runs = RunStore(home).list_runs()
        assert len(runs) == 1 and runs[0]["status"] == "running" and runs[0]["max_epochs"] == 30
        run_id = runs[0]["id"]

        page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True).click()
        RunStoreWait(home, run_id).until(lambda r: r["status"] == "stopped", timeout=60)
        expect(page.get_by_text("stopped by the user")).to_be_visible(timeout=90_000)
        page.screenshot(path=str(tmp_path / "train_stopped.png"), full_page=True)

        page.goto(f"{server}/Runs", wait_until="commit", timeout=120_000)
        page.wait_for_selector(IDLE, timeout=120_000)
        expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible(timeout=90_000)
        # the run-detail picker opens on the newest run: ours, with its status
        expect(page.locator(f"text={run_id} >> visible=true").first).to_be_visible(timeout=90_000)
        expect(page.locator("[data-testid='stMetric']").filter(has_text="Status")).to_contain_text("stopped",
                                                                                                timeout=90_000)
        page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
        detail = RunStore(home).get_run(run_id)
        assert detail["status"] == "stopped" and 2 <= detail["epoch"] < 30


class RunStoreWait:
    def __init__(self, home: Path, run_id: str):
        from engine.jobs.store import RunStore

        self.store, self.run_id = RunStore(home), run_id

    def until(self, predicate, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.store.get_run(self.run_id)
            if predicate(run):
                return run
            time.sleep(0.3)
        raise TimeoutError(f"run {self.run_id} is {run['status']} after {timeout:.0f}s")


def draw_on_canvas(page, path: list[tuple[float, float]]) -> None:
    """Mouse down, move along `path` (fractions of the canvas side) in small steps, mouse up."""
    box = page.locator("canvas.upper-canvas").bounding_box()  # fabric.js takes the pointer events there
    x0, y0, side = box["x"], box["y"], box["width"]
    page.mouse.move(x0 + path[0][0] * side, y0 + path[0][1] * side)
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(path, path[1:], strict=False):
        for t in (i / 8 for i in range(1, 9)):
            page.mouse.move(x0 + (ax + (bx - ax) * t) * side, y0 + (ay + (by - ay) * t) * side)
    page.mouse.up()


def draw_until_taken(page, path: list[tuple[float, float]], tries: int = 3) -> None:
    """Draw `path` until the canvas keeps it. A freshly mounted canvas loads its (empty) initial drawing
    asynchronously and only then switches on free drawing and resets its history: a stroke made before
    that is wiped and never reaches the app. Its Undo button turns on once a stroke is in the history
    (and, with realtime updates, on its way to the app)."""
    from playwright.sync_api import expect

    undo = page.get_by_role("button", name="Undo", exact=True)
    for _ in range(tries):
        draw_on_canvas(page, path)
        with contextlib.suppress(AssertionError):
            expect(undo).to_be_enabled(timeout=10_000)
            return
    raise AssertionError(f"the canvas kept none of {tries} strokes: its Undo button stayed disabled")


def test_draw_digits_on_the_canvas_and_read_the_predictions(server, home, tmp_path):
    """Mouse strokes on the streamlit-drawable-canvas reach the model: a digits run reads a drawn 0, then,
    after Clear, a drawn 4."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make browser` (or apt-get install chromium) installs it")
    import math

    from playwright.sync_api import expect

    from engine.config.run_config import make_config
    from engine.jobs.store import RunStore
    from engine.training.run import execute

    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="mlp", seed=1), status="running")
    assert execute(store, run_id, threads=1)["status"] == "done"
    zero = [(0.5 + 0.2 * math.cos(a * math.pi / 10), 0.5 + 0.3 * math.sin(a * math.pi / 10)) for a in range(21)]
    four = [(0.6, 0.85), (0.6, 0.15), (0.25, 0.6), (0.75, 0.6)]
    with browser_page(server, "Predict") as page:
        expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible(timeout=60_000)
        expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=60_000)
        metric = page.locator("[data-testid='stMetric']").filter(has_text="Prediction")
        value = metric.locator("[data-testid='stMetricValue']")
        for digit, path in (("0", zero), ("4", four)):
            draw_until_taken(page, path)
            expect(value).to_have_text(digit, timeout=60_000)
            expect(page.get_by_text("What the model sees: your drawing as 8x8 pixels")).to_be_visible()
            page.screenshot(path=str(tmp_path / f"predict_canvas_{digit}.png"), full_page=True)
            drawn_on = page.locator("canvas.upper-canvas").element_handle()
            page.get_by_role("button", name="Clear", exact=True).click()
            expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible(timeout=60_000)
            # Clear mounts a new canvas: strokes made before it is up would land on the old one
            page.wait_for_function("canvas => !canvas.isConnected", arg=drawn_on, timeout=60_000)
            expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=60_000)
