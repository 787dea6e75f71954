"""ThrottledCache: rebuilt only when the source changed and the value is older than the caller accepts;
one builder while concurrent readers wait; bounded; a failed build stores nothing."""

from __future__ import annotations

import threading
import time

import pytest

from ui.throttled_cache import ThrottledCache


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rebuilds_only_for_a_new_version_older_than_max_age():
    clock, calls = Clock(), []
    cache = ThrottledCache(clock=clock)

    def build(tag):
        return lambda: calls.append(tag) or tag

    assert cache.get("run", 1, 1.5, build("a")) == "a"
    assert cache.get("run", 1, 1.5, build("b")) == "a"  # same version: never rebuilt, however old
    clock.now += 1.0
    assert cache.get("run", 2, 1.5, build("c")) == "a"  # new rows, but the figure is 1 s old: shown as is
    clock.now += 1.0
    assert cache.get("run", 2, 1.5, build("d")) == "d"  # 2 s old: rebuilt
    assert cache.get("run", 3, 0.0, build("e")) == "e"  # max_age 0 (an ended run): every new version
    assert calls == ["a", "d", "e"] and cache.builds == 3


def test_a_failed_build_stores_nothing_and_the_cache_is_bounded():
    cache = ThrottledCache(capacity=2)

    def fail():
        raise KeyError("deleted")

    with pytest.raises(KeyError):
        cache.get("gone", 1, 10.0, fail)
    assert cache.get("gone", 1, 10.0, lambda: "built") == "built"
    cache.get("x", 1, 10.0, lambda: "x")
    cache.get("y", 1, 10.0, lambda: "y")  # evicts "gone", the least recently read
    assert cache.get("gone", 1, 10.0, lambda: "again") == "again"
    assert cache.get("x", 1, 10.0, lambda: "x2") == "x2"  # "x" was evicted by "gone"
    assert cache.builds == 5


def test_concurrent_readers_share_one_build():
    cache, started = ThrottledCache(), threading.Barrier(8)
    results = []

    def slow_build():
        time.sleep(0.2)
        return object()

    def reader():
        started.wait()
        results.append(cache.get("run", 7, 5.0, slow_build))

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.builds == 1 and len({id(r) for r in results}) == 1
