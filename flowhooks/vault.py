"""Secrets sealed at rest: what the database keeps of a webhook's signing secret or a
basic-auth password is a Fernet token (AES-128-CBC + HMAC-SHA256, from ``cryptography``)
under a key derived from ``[security] secret_key``.

The configured key may be any text of 32 characters or more; HKDF-SHA256 turns it into
the Fernet key, so operators need not make a Fernet key by hand. To change the key, put
the old one in ``previous_secret_keys``: it still opens what it sealed, and a secret is
sealed again with the newest key whenever it is written (a rotation, a PATCH).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"flowhooks secrets at rest v1"


class VaultUnavailable(Exception):
    """No ``[security] secret_key``: nothing can be sealed or opened (503)."""

    code = "SECRET_KEY_MISSING"


class SealBroken(Exception):
    """A sealed value that no configured key opens (a lost or wrong key)."""


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class Vault:
    """Seals with the newest key, opens with any configured one."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._box = MultiFernet([_fernet(k) for k in keys]) if keys else None

    @property
    def available(self) -> bool:
        return self._box is not None

    def seal(self, text: str) -> str:
        if self._box is None:
            raise VaultUnavailable("[security] secret_key is not set")
        return self._box.encrypt(text.encode()).decode()

    def open(self, sealed: str) -> str:
        if self._box is None:
            raise VaultUnavailable("[security] secret_key is not set")
        try:
            return self._box.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealBroken("no configured secret_key opens this value") from None


NO_VAULT = Vault(())
