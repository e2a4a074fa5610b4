"""The rules of customer-managed webhook endpoints and the vault that seals their
secrets (issue 25): pure, no server."""

from __future__ import annotations

import pytest

from flowhooks.vault import NO_VAULT, SealBroken, Vault, VaultUnavailable
from flowhooks.webhooks import endpoints as rules
from flowhooks.webhooks import signing

KEY = "k" * 40


def test_vault_seals_and_opens_and_never_shows_the_text() -> None:
    vault = Vault([KEY])
    sealed = vault.seal("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
    assert "c2VjcmV0" not in sealed and "whsec_" not in sealed
    assert vault.open(sealed) == "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    assert vault.seal("x") != vault.seal("x")  # a fresh IV each time


def test_vault_with_a_previous_key_opens_old_seals() -> None:
    old = Vault(["o" * 40]).seal("pw")
    assert Vault([KEY, "o" * 40]).open(old) == "pw"
    with pytest.raises(SealBroken):
        Vault([KEY]).open(old)
    with pytest.raises(VaultUnavailable):
        NO_VAULT.seal("x")


def test_creation_fills_defaults_and_makes_a_secret() -> None:
    made = rules.creation({"url": "https://x.example/h?c={{id}}"}, allow_private=False)
    assert made.values["events"] == ["call_status", "report"]
    assert made.values["enabled"] is True and made.values["body"] is None
    assert made.secret is not None and len(signing.secret_key(made.secret)) == 24
    assert rules.valid_id(rules.new_id())
    assert not rules.valid_id("whk_../../etc") and not rules.valid_id("acme")


def test_events_keep_one_order_without_repeats() -> None:
    made = rules.creation(
        {"url": "https://x.example/", "events": ["report", "call_status", "report"]}, False
    )
    assert made.values["events"] == ["call_status", "report"]


def test_a_body_checked_against_every_event_it_will_carry() -> None:
    body = '{"n": {{duration}}}'  # a number in call_status's sample, empty in report's
    rules.creation({"url": "https://x.example/", "body": body, "events": ["call_status"]}, False)
    with pytest.raises(rules.FieldProblem) as found:
        rules.creation({"url": "https://x.example/", "body": body}, False)
    assert found.value.field == "body"
    with pytest.raises(rules.FieldProblem):  # the kept body, with the new events
        rules.change({"events": ["report"]}, False, ["call_status"], body)


def test_private_literals_refused_unless_allowed() -> None:
    for url in ("http://localhost/x", "http://[::ffff:127.0.0.1]/", "http://192.168.1.1/"):
        with pytest.raises(rules.FieldProblem):
            rules.creation({"url": url}, allow_private=False)
        rules.creation({"url": url}, allow_private=True)


def test_grace_seconds_bounds() -> None:
    assert rules.grace_seconds({}) == 86_400
    assert rules.grace_seconds({"gracePeriodSeconds": 0}) == 0
    assert rules.grace_seconds({"gracePeriodSeconds": 604_800}) == 604_800
    for bad in (-1, 604_801, True, "1", None):
        with pytest.raises(rules.FieldProblem):
            rules.grace_seconds({"gracePeriodSeconds": bad})


def test_secret_looking_headers_are_masked() -> None:
    shown = rules.shown_headers({"Authorization": "Bearer x", "X-Api-Key": "k", "X-Call": "{{id}}"})
    assert shown == {"Authorization": "***", "X-Api-Key": "***", "X-Call": "{{id}}"}
