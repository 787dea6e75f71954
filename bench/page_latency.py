"""Interaction latency on the Predict page in a real browser (Playwright + Debian's chromium): from Enter in
the headline box to the headline's probabilities on screen, and from the end of a stroke on the canvas to
the digit's prediction. Prints the median and the range of N tries each (default 5).

A fresh data home gets a news run (a small made-up headline split, so the bench needs no download; the
page's work per Enter does not depend on the training set's size) and an 8x8 digits run, both trained
in-process first. Each headline carries a made-up word that the page lists as unknown: its appearance
marks the moment the new prediction is drawn.

    .venv/bin/python bench/page_latency.py [N]
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 (puts the repo and tests/ on sys.path)
from browserhelpers import CHROMIUM, CHROMIUM_ARGS, IDLE, streamlit_server

from engine.config.run_config import make_config
from engine.data import news
from engine.jobs.store import RunStore
from engine.training.run import execute

WORDS = (
    "stocks", "bank", "profits", "shares", "market", "investors", "oil",
    "dollar", "apple", "google", "software", "smartphone", "internet", "chip",
    "film", "actress", "singer", "album", "movie", "concert", "cancer",
    "health", "virus", "patients", "study", "vaccine", "hospital", "doctors",
)


def make_home() -> tuple[Path, str, str]:
    home = Path(tempfile.mkdtemp(prefix="nnlab-latency-"))
    rng = random.Random(0)
    src = home / "src"
    src.mkdir()
    for name, n in zip(news.SPLIT_FILES, (40, 10, 10), strict=True):
        lines = [f"{' '.join(rng.sample(WORDS[i * 7:(i + 1) * 7], 4))}\t{code}" for i, code in enumerate("btem")
                 for _ in range(n)]
        (src / name).write_text("\n".join(lines) + "\n")
    news.fetch(home, from_dir=src)
    store = RunStore(home)
    ids = []
    for cfg in (make_config(dataset="digits", model="mlp", epochs=3), make_config(dataset="news", model="mlp",
                                                                                    epochs=2)):
        run_id = store.create_run(cfg, status="running")
        assert execute(store, run_id, threads=1)["status"] == "done"
        ids.append(run_id)
    return home, ids[1], ids[0]


def headline_latencies(page, n: int) -> list[float]:
    from playwright.sync_api import expect

    box = page.locator("input[aria-label='Headline']")
    out = []
    for i in range(n):
        marker = f"zq{i}x{random.randrange(10**6)}"
        box.fill(f"Bank profits rise as stocks rally {marker}")
        t0 = time.perf_counter()
        box.press("Enter")
        expect(page.get_by_text(marker).first).to_be_visible(timeout=60_000)
        out.append(time.perf_counter() - t0)
    return out


def stroke_path(k: int) -> list[tuple[float, float]]:
    return [(0.5 + 0.2 * math.cos(a * math.pi / 10 + k), 0.5 + 0.3 * math.sin(a * math.pi / 10)) for a in range(21)]


def digit_latencies(page, n: int) -> list[float]:
    from playwright.sync_api import expect

    metric = page.locator("[data-testid='stMetric']").filter(has_text="Prediction")
    out = []
    for k in range(n):
        expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)  # a fresh canvas loads its empty drawing before it keeps strokes
        box = page.locator("canvas.upper-canvas").bounding_box()
        path = [(box["x"] + x * box["width"], box["y"] + y * box["width"]) for x, y in stroke_path(k)]
        page.mouse.move(*path[0])
        page.mouse.down()
        for point in path[1:]:
            page.mouse.move(*point, steps=4)
        t0 = time.perf_counter()
        page.mouse.up()
        expect(metric).to_be_visible(timeout=60_000)
        out.append(time.perf_counter() - t0)
        old = page.locator("canvas.upper-canvas").element_handle()
        page.get_by_role("button", name="Clear", exact=True).click()
        page.wait_for_function("canvas => !canvas.isConnected", arg=old, timeout=60_000)
    return out


def summary(name: str, values: list[float]) -> str:
    return (f"{name}: median {statistics.median(values):.2f} s (range {min(values):.2f}-{max(values):.2f} s, "
            f"{len(values)} tries)")


def main(n: int = 5) -> None:
    from playwright.sync_api import sync_playwright

    home, news_run, digits_run = make_home()
    with streamlit_server(home, home / "streamlit.log") as (url, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/Predict", wait_until="commit", timeout=120_000)
        page.wait_for_selector(IDLE, timeout=120_000)
        page.locator("input[aria-label='Headline']").wait_for(timeout=60_000)  # the newest run (news) is preselected
        headline_latencies(page, 1)  # warm-up: the model is loaded on the first prediction
        headlines = headline_latencies(page, n)
        page.get_by_test_id("stSelectbox").filter(has_text="Trained run").click()
        page.get_by_role("option").filter(has_text=digits_run).click()
        page.wait_for_selector(IDLE, timeout=120_000)
        digits = digit_latencies(page, n + 1)[1:]  # the first stroke loads the digits model
        browser.close()
    print(summary("Enter -> headline probabilities", headlines))
    print(summary("stroke end -> digit prediction", digits))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
