"""Checks of a setting's or an input's value, as errors that say what to use instead.

>>> check_choice("lang", "xx", ("auto", "id", "en"))
Traceback (most recent call last):
rag.errors.ConfigError: lang='xx' is unknown; use auto, id or en.
"""

from __future__ import annotations

from typing import Any

from rag.errors import ConfigError


def check_choice(
    name: str, value: Any, known: tuple[str, ...], error: type[Exception] = ConfigError
) -> None:
    if value not in known:
        listed = ", ".join(known[:-1]) + " or " + known[-1] if len(known) > 1 else known[0]
        raise error(f"{name}={value!r} is unknown; use {listed}.")


def check_range(
    name: str, value: int, bounds: tuple[int, int], error: type[Exception] = ConfigError
) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise error(f"{name}={value} is out of range; use a value from {low} to {high}.")


def check_positive(name: str, seconds: float) -> None:
    if seconds <= 0:
        raise ConfigError(f"{name}={seconds} must be a positive number of seconds.")
