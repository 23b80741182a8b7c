"""Literal values in a stack file that look like credentials (they belong in secret config, not in git)."""

from __future__ import annotations

import math
import re
from collections import Counter

_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH)", re.I)
_KNOWN_TOKENS = [
    re.compile(pattern)
    for pattern in (
        r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face
        r"\bsk-[A-Za-z0-9_-]{20,}",  # OpenAI-style secret keys
        r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
        r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key id
        r"\bxox[abprs]-[A-Za-z0-9-]{10,}",  # Slack
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        r"://[^/\s:@]+:[^/\s@]+@",  # credentials inside a URL
    )
]


def looks_like_credential(name: str, value: str) -> bool:
    """True for a literal env value (not `secret:NAME`) that is probably a credential."""
    if value.startswith("secret:") or not value:
        return False
    if any(pattern.search(value) for pattern in _KNOWN_TOKENS):
        return True
    if _SECRET_NAME.search(name) and len(value) >= 8:
        return True
    return len(value) >= 32 and re.fullmatch(r"[A-Za-z0-9+/=_\-]+", value) is not None and _entropy(value) > 4.0


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
