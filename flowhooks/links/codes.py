"""Short codes: base62 from a cryptographic random source; the shape a code may have."""

from __future__ import annotations

import secrets
import string

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase  # base62
MIN_LENGTH = 7
MAX_LENGTH = 16  # codes made under an older, longer [links] code_length keep working
_ALLOWED = frozenset(ALPHABET)


def new_code(length: int) -> str:
    """``length`` base62 characters, each drawn with ``secrets`` (62^8 ≈ 2.2e14 codes)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def is_well_formed(code: str) -> bool:
    """A code we could have made: base62, 7 to 16 characters (else 404 with no query)."""
    return MIN_LENGTH <= len(code) <= MAX_LENGTH and _ALLOWED.issuperset(code)
