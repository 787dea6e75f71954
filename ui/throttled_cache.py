"""A cache of values that are costly to build and read by many sessions at once (the live curves of a
run that a classroom watches): a value is rebuilt only when its source changed (its `version`) *and*
it is older than the `max_age` the caller accepts, and only by one thread while the others wait for it.
No Streamlit here; the page keeps one instance per server process (st.cache_resource)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class ThrottledCache:
    def __init__(self, capacity: int = 64, clock: Callable[[], float] = time.monotonic):
        self.capacity = capacity
        self.clock = clock
        self.builds = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Hashable, Any]] = OrderedDict()

    def get(self, key: Hashable, version: Hashable, max_age: float, build: Callable[[], Any]) -> Any:
        """The value for `key`: the stored one if it was built from `version`, or is younger than
        `max_age` seconds; else `build()` (its exceptions propagate and nothing is stored)."""
        with self._lock:  # one builder; sessions arriving meanwhile get its value
            entry = self._entries.get(key)
            if entry is not None:
                built_at, built_version, value = entry
                if built_version == version or self.clock() - built_at < max_age:
                    self._entries.move_to_end(key)
                    return value
            value = build()
            self.builds += 1
            self._entries[key] = (self.clock(), version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            return value
