"""The webhook endpoints customers manage: create, read, change, delete, rotate a
secret; secrets sealed at rest by the process's ``Vault``; read by the delivery loop
through a cache that is never older than ``FRESH_SECONDS``.

The web routes (``web/webhooks.py``) and the console call this; ``storage.endpoints``
holds the SQL; ``webhooks.endpoints`` the field rules (pure).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from flowhooks.clock import Clock
from flowhooks.settings import Settings
from flowhooks.storage import Storage, outbox
from flowhooks.storage import endpoints as store
from flowhooks.vault import Vault, VaultUnavailable
from flowhooks.webhooks import endpoints as rules
from flowhooks.webhooks import signing, templates
from flowhooks.webhooks.endpoints import Target
from flowhooks.webhooks.events import CALL_STATUS, NewDelivery

FRESH_SECONDS = 1.0  # another process's change is seen within this (issue 25)


class Endpoints:
    """One process's door to customer-managed endpoints."""

    def __init__(self, settings: Settings, db: Storage, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.vault = Vault(settings.security.vault_keys())
        self.allow_private = settings.security.allow_private_targets
        self.limit = settings.delivery.max_endpoints_per_client
        self.give_up = timedelta(hours=settings.delivery.give_up_hours)
        self._targets: dict[str, tuple[float, Target | None]] = {}

    def _require_vault(self) -> None:
        if not self.vault.available:
            raise VaultUnavailable(
                "[security] secret_key is not set: endpoints with secrets cannot be stored"
            )

    async def create(self, client: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        """A new endpoint (FieldProblem, TooMany, VaultUnavailable); its row and secret."""
        made = rules.creation(body, self.allow_private)
        self._require_vault()
        assert made.secret is not None
        now = self.clock.now()
        row = {
            "id": rules.new_id(),
            "client": client,
            **made.values,
            "disabled_reason": None,
            "username": None,
            "password_sealed": None,
            "secret_sealed": self.vault.seal(made.secret),
            "old_secret_sealed": None,
            "old_secret_until": None,
            "created_at": now,
            "updated_at": now,
        }
        if made.basic_auth is not None:
            row["username"] = made.basic_auth.username
            row["password_sealed"] = self.vault.seal(made.basic_auth.password)
        return await store.create(self.db, row, self.limit), made.secret

    async def listing(self, client: str) -> list[dict[str, Any]]:
        return await store.listing(self.db, client)

    async def get(self, client: str, webhook_id: str) -> dict[str, Any] | None:
        if not rules.valid_id(webhook_id):
            return None
        return await store.get(self.db, client, webhook_id)

    async def change(
        self, client: str, webhook_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """A PATCH: only the fields named; ``enabled: true`` clears a 410's disabling."""
        current = await self.get(client, webhook_id)
        if current is None:
            return None
        made = rules.change(body, self.allow_private, current["events"], current["body"])
        values: dict[str, Any] = {**made.values, "updated_at": self.clock.now()}
        if made.basic_auth is not None:
            self._require_vault()
            values["username"] = made.basic_auth.username
            values["password_sealed"] = self.vault.seal(made.basic_auth.password)
        elif made.clears_basic_auth:
            values["username"] = values["password_sealed"] = None
        if "enabled" in values:
            values["disabled_reason"] = None
        changed = await store.update_one(self.db, client, webhook_id, values, self.give_up)
        self._targets.pop(webhook_id, None)
        return changed

    async def delete(self, client: str, webhook_id: str) -> bool:
        if not rules.valid_id(webhook_id):
            return False
        gone = await store.delete_one(self.db, client, webhook_id, self.clock.now())
        self._targets.pop(webhook_id, None)
        return gone

    async def rotate(
        self, client: str, webhook_id: str, body: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str] | None:
        """A new secret; the old one signs too for ``gracePeriodSeconds``."""
        grace = rules.grace_seconds(body)
        self._require_vault()
        current = await self.get(client, webhook_id)
        if current is None:
            return None
        secret, now = rules.new_secret(), self.clock.now()
        values = {
            "secret_sealed": self.vault.seal(secret),
            "old_secret_sealed": current["secret_sealed"] if grace else None,
            "old_secret_until": now + timedelta(seconds=grace) if grace else None,
            "updated_at": now,
        }
        changed = await store.update_one(self.db, client, webhook_id, values)
        self._targets.pop(webhook_id, None)
        return (changed, secret) if changed is not None else None

    async def refusal(self, client: str, webhook_id: str) -> str | None:
        """Why a createOutbound may not send its call_status events to this endpoint
        (unknown, deleted, disabled, not taking them); None when it may."""
        row = await self.get(client, webhook_id)
        if row is None:
            return "is not one of this client's webhooks"
        if not row["enabled"]:
            return "is disabled"
        if CALL_STATUS not in row["events"]:
            return "does not take call_status events"
        return None

    def check_url(self, url: str, name: str) -> None:
        """A one-off URL (createOutbound's webhookUrl): the endpoints' rules (FieldProblem)."""
        rules.check_url(url, self.allow_private, name)

    async def send_test(
        self, client: str, webhook_id: str, body: Mapping[str, Any]
    ) -> NewDelivery | None:
        """A sample event through the outbox to this endpoint only, marked as a test."""
        row = await self.get(client, webhook_id)
        if row is None:
            return None
        event = rules.test_event(body, list(row["events"]))
        now = self.clock.now()
        test = NewDelivery(
            id=str(uuid.uuid4()),
            event_id=f"msg_{uuid.uuid4().hex}",
            client=client,
            event=event,
            variables={**templates.SAMPLES[event], "test": "true"},
            created_at=now,
            give_up_at=now + self.give_up,
            endpoint=webhook_id,
            test=True,
        )
        await outbox.enqueue_now(self.db, [test])
        return test

    async def stats(self, client: str, webhook_id: str) -> dict[str, Any]:
        """Its deliveries of the last 24 hours by outcome, its last success and failure."""
        since = self.clock.now() - timedelta(hours=24)
        return await outbox.endpoint_stats(self.db, (client, webhook_id), since)

    # -- the delivery loop's side ---------------------------------------------------

    def target_of(self, row: Mapping[str, Any], now: datetime) -> Target:
        """A row opened for sending: its signing keys (the old one while in its grace)."""
        keys = [signing.secret_key(self.vault.open(row["secret_sealed"]))]
        until = row["old_secret_until"]
        if row["old_secret_sealed"] and until is not None and until > now:
            keys.append(signing.secret_key(self.vault.open(row["old_secret_sealed"])))
        else:
            until = None
        auth = None
        if row["username"] and row["password_sealed"]:
            auth = (str(row["username"]), self.vault.open(row["password_sealed"]))
        return Target(
            id=row["id"],
            client=row["client"],
            url=row["url"],
            events=tuple(row["events"]),
            enabled=bool(row["enabled"]),
            headers=dict(row["headers"] or {}),
            body=row["body"],
            keys=tuple(keys),
            basic_auth=auth,
            old_key_until=until,
        )

    async def targets(self, ids: Sequence[str]) -> dict[str, Target | None]:
        """The endpoints of these ids (None: deleted), each read at most FRESH_SECONDS ago."""
        at, now = time.monotonic(), self.clock.now()
        found: dict[str, Target | None] = {}
        stale = []
        for webhook_id in dict.fromkeys(ids):
            cached = self._targets.get(webhook_id)
            if cached is not None and at - cached[0] < FRESH_SECONDS:
                found[webhook_id] = cached[1]
            else:
                stale.append(webhook_id)
        if stale:
            rows = await store.by_ids(self.db, stale)
            if len(self._targets) > 10_000:  # bounded: ids of deleted endpoints fall out
                self._targets.clear()
            for webhook_id in stale:
                row = rows.get(webhook_id)
                target = self.target_of(row, now) if row is not None else None
                self._targets[webhook_id] = (at, target)
                found[webhook_id] = target
        return found
