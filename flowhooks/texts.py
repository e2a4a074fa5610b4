"""Rules every stored text follows: no control characters, a documented maximum length."""

from __future__ import annotations

import re

# Unicode Cc other than tab, line feed and carriage return: NUL breaks PostgreSQL text,
# escapes break terminals and log viewers
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def without_control(text: str) -> str:
    return CONTROL.sub("", text)
