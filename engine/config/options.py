"""Declarative settings: one `Option` describes a knob once, and the CLI flags, the Train page
widgets and config validation are all generated from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A setting is out of range or unknown. The message names the allowed values."""


@dataclass(frozen=True)
class Option:
    name: str
    type: str  # "int" | "float" | "str" | "bool" | "ints" (comma-separated list of ints)
    default: Any
    help: str = ""
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None
    log: bool = False  # shown on a log scale: 1-2-5 steps for floats (0 kept), powers of two for ints
    step: float | None = None  # widget step of a bounded float (None: 0.05)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.type == "bool":
            return "true or false"
        lo = "" if self.min is None else f"{self.min:g}"
        hi = "" if self.max is None else f"{self.max:g}"
        kind = "a list of integers, each" if self.type == "ints" else f"a{'n' if self.type == 'int' else ''} {self.type}"
        return f"{kind} in [{lo}, {hi}]"

    def parse(self, value: Any) -> Any:
        """Coerce `value` (a Python value or a string from a flag/URL) and check its range."""
        try:
            value = _coerce(self.type, value)
        except (TypeError, ValueError):
            raise ConfigError(f"{self.name}={value!r} is not valid: expected {self.allowed()}") from None
        if self.choices and value not in self.choices:
            raise ConfigError(f"{self.name}={value!r} is not allowed: expected {self.allowed()}")
        for v in value if self.type == "ints" else [value]:
            numeric = isinstance(v, int | float) and not isinstance(v, bool)
            if numeric and (v != v or (self.min is not None and v < self.min)
                            or (self.max is not None and v > self.max)):
                raise ConfigError(f"{self.name}={value!r} is out of range: expected {self.allowed()}")
        return value


def _coerce(kind: str, value: Any) -> Any:
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            return int(value)
        return int(str(value).strip())
    if kind == "float":
        if isinstance(value, bool):
            raise TypeError
        return float(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ValueError
    if kind == "ints":
        if isinstance(value, str):
            parts = [p for p in value.replace(" ", "").split(",") if p]
        else:
            parts = list(value)
        if not parts:
            raise ValueError
        return tuple(_coerce("int", p) for p in parts)
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError
        return value
    raise ValueError(f"unknown option type {kind}")


def parse_options(options: list[Option] | tuple[Option, ...], values: dict, where: str) -> dict:
    """Validate `values` against `options`, fill defaults, reject unknown keys."""
    known = {o.name: o for o in options}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) for {where}: {', '.join(unknown)}; allowed: {', '.join(sorted(known)) or 'none'}"
        )
    return {name: opt.parse(values[name]) if name in values else opt.default for name, opt in known.items()}
