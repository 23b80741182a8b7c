"""The emulator's env hooks (``EMULATOR_*`` values in a deployment config or a workflow spec), parsed once.

Requests are checked with these parsers (a value they refuse is a 400 at its path), and the lifecycles read
stored values with the same parsers, falling back to the default for one they refuse: a hook can never put a
non-finite or out-of-range time into a timeline, whatever a state file holds.
"""

from __future__ import annotations

import math
import re

# Plain decimal seconds: digits, an optional fraction and exponent. No sign, no "nan"/"inf", no underscores.
_SECONDS = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_EXIT_CODE = re.compile(r"[0-9]{1,3}")
_MAX_SECONDS_TEXT = 64

MAX_HOOK_SECONDS = 1_000_000  # EMULATOR_RUN_SECONDS and EMULATOR_READY_SECONDS: 0 to about 11.6 days


def seconds(raw: object) -> float | None:
    """A duration hook's value in seconds, from 0 to MAX_HOOK_SECONDS; None when it is not one."""
    if not isinstance(raw, str) or len(raw) > _MAX_SECONDS_TEXT or not _SECONDS.fullmatch(raw.strip()):
        return None
    value = float(raw)
    return value if math.isfinite(value) and 0 <= value <= MAX_HOOK_SECONDS else None


def exit_code(raw: object) -> int | None:
    """``EMULATOR_EXIT_CODE``: a whole number from 0 to 255; None when it is not one."""
    if not isinstance(raw, str) or not _EXIT_CODE.fullmatch(raw.strip()):
        return None
    value = int(raw)
    return value if value <= 255 else None


def seconds_or(raw: object, default: float) -> float:
    """For lifecycles: the hook's seconds, or ``default`` when it is absent or not valid."""
    value = seconds(raw)
    return default if value is None else value


def exit_code_or(raw: object, default: int = 0) -> int:
    value = exit_code(raw)
    return default if value is None else value
