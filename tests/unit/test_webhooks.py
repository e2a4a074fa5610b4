"""The pure parts of customer webhooks: templates, signing, the retry decision, the
address rule, report secrets, CSV cells, retention cut-offs."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook

from flowhooks.errors import ConfigError
from flowhooks.redact import is_secret
from flowhooks.settings import RetentionSettings, warnings
from flowhooks.web.reports import cell
from flowhooks.webhooks import signing, targets, templates
from flowhooks.webhooks.retry import Backoff, Result, decide, retry_after_seconds
from flowhooks.workers.retention import cutoffs
from tests.conftest import settings_from

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)

# -- templates ------------------------------------------------------------------------


def test_url_placeholders_are_percent_encoded_and_cannot_add_keys() -> None:
    url = templates.fill_url(
        "https://h.example/ack?id={{id}}&status={{status}}",
        {"id": "a&b=c/d?e f#g", "status": "no-answer"},
    )
    assert url == "https://h.example/ack?id=a%26b%3Dc%2Fd%3Fe%20f%23g&status=no-answer"


def test_body_placeholders_are_json_escaped() -> None:
    body = templates.fill_body(
        '{"ref": "{{reference_id}}", "to": "{{to}}"}',
        {"reference_id": 'say "hi"\\\n\x01', "to": "+9199"},
    )
    assert json.loads(body) == {"ref": 'say "hi"\\\n\x01', "to": "+9199"}


def test_unknown_variables_are_empty_everywhere() -> None:
    assert templates.fill_url("https://h/x?a={{nope}}", {}) == "https://h/x?a="
    assert json.loads(templates.fill_body('{"a": "{{ nope }}"}', {})) == {"a": ""}
    assert templates.fill_header("Bearer {{nope}}", {}) == "Bearer "


def test_header_values_are_filled_and_cannot_inject_headers() -> None:
    value = templates.fill_header("Bearer {{id}}", {"id": "x\r\nX-Evil: 1"})
    assert value == "Bearer xX-Evil: 1"


def test_default_body_is_the_event_as_a_json_object() -> None:
    assert json.loads(templates.fill_body(None, {"id": "1", "final": True})) == {
        "id": "1",
        "final": "true",
    }


@pytest.mark.parametrize(
    ("url", "body", "problem"),
    [
        ("ftp://h.example/x", None, "url: must be an http"),
        ("https://{{to}}.example/x", None, "url: placeholders may not be in the host"),
        ("https://h.example/x", '{"id": {{id}}}', "body: is not valid JSON"),
        ("https://h.example/x", '{"id": "{{id}}",}', "body: is not valid JSON"),
    ],
)
def test_a_bad_template_is_a_config_error_naming_its_path(
    url: str, body: str | None, problem: str
) -> None:
    text = f"""
[clients.acme.webhooks.call_status]
url = "{url}"
"""
    if body is not None:
        text += f"body = '{body}'\n"
    with pytest.raises(ConfigError) as err:
        settings_from(text)
    assert f"clients.acme.webhooks.call_status.{problem}" in str(err.value)


def test_a_body_with_quoted_placeholders_is_valid() -> None:
    conf = settings_from(
        """
[clients.acme.webhooks.call_status]
url = "https://h.example/x?id={{id}}"
body = '{"id": "{{id}}", "ref": "{{reference_id}}", "n": {{attempt}}}'
"""
    )
    assert conf.clients["acme"].webhooks["call_status"].body is not None


def test_a_literal_private_target_is_a_start_up_warning() -> None:
    conf = settings_from(
        """
[clients.acme.webhooks.report]
url = "http://10.0.0.8/hook"
[clients.beta.webhooks.report]
url = "https://hooks.example.com/hook"
"""
    )
    found = [w for w in warnings(conf) if "secret_key" not in w]
    assert len(found) == 1 and "clients.acme.webhooks.report.url: 10.0.0.8" in found[0]
    assert any("security.secret_key is not set" in w for w in warnings(conf))
    allowed = settings_from(
        '[security]\nallow_private_targets = true\n[clients.acme.webhooks.report]\nurl = "http://10.0.0.8/"'
    )
    assert [w for w in warnings(allowed) if "secret_key" not in w] == []


def test_secret_query_values_are_masked_for_display() -> None:
    assert (
        templates.masked("https://h/x?id=1&token=abc&apiKey=z&sig=q")
        == "https://h/x?id=1&token=***&apiKey=***&sig=***"
    )


# -- signing --------------------------------------------------------------------------

# The Standard Webhooks specification's published example
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TS = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_spec_test_vector() -> None:
    key = signing.secret_key(SPEC_SECRET)
    assert signing.sign(key, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE


def test_signature_matches_the_standardwebhooks_package() -> None:
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    body = b'{"id": "x", "status": "completed"}'
    mine = signing.headers([signing.secret_key(secret)], "msg_1", 1700000000, body)
    theirs = Webhook(secret).sign("msg_1", datetime.fromtimestamp(1700000000, UTC), body.decode())
    assert mine["webhook-signature"] == theirs
    assert mine["webhook-id"] == "msg_1" and mine["webhook-timestamp"] == "1700000000"


@pytest.mark.parametrize("bad", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_YWJj"])
def test_a_malformed_secret_is_a_config_error_that_does_not_quote_it(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from(
            f'[clients.acme.webhooks.report]\nurl = "https://h.example/"\nsecret = "{bad}"'
        )
    assert "clients.acme.webhooks.report.secret" in str(err.value)
    assert bad not in str(err.value)


# -- the retry decision ----------------------------------------------------------------

B = Backoff(initial_seconds=5, max_seconds=3600)
GIVE_UP = NOW + timedelta(hours=24)


@pytest.mark.parametrize("status", [200, 202])
def test_only_200_and_202_are_delivered(status: int) -> None:
    assert decide(Result(status), 1, NOW, GIVE_UP, B, 0.5).state == "delivered"


@pytest.mark.parametrize("status", [201, 204, 301, 302, 400, 404, 500, 502])
def test_any_other_status_is_retried(status: int) -> None:
    d = decide(Result(status), 1, NOW, GIVE_UP, B, 0.5)
    assert d.state == "pending" and d.error == f"HTTP {status}"
    assert d.next_attempt_at == NOW + timedelta(seconds=2.5)


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    assert [B.cap(n) for n in (1, 2, 3, 4, 10, 11, 12, 100)] == [
        5, 10, 20, 40, 2560, 3600, 3600, 3600,
    ]  # fmt: skip
    rng = random.Random(7)
    waits = [B.wait(3, rng.random()) for _ in range(2000)]
    assert 0 <= min(waits) < 1 and 19 < max(waits) <= 20  # uniform over [0, cap)
    assert decide(Result(500), 1, NOW, GIVE_UP, B, 0.0).next_attempt_at == NOW


def test_connection_errors_and_timeouts_are_retried() -> None:
    d = decide(Result(error="timeout after 10 s"), 2, NOW, GIVE_UP, B, 1.0)
    assert d.state == "pending" and d.next_attempt_at == NOW + timedelta(seconds=10)


def test_retry_after_seconds_or_date_on_429_and_503_sets_the_next_attempt() -> None:
    when = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    for status, header, seconds in ((429, "30", 30), (503, when, 90), (429, "99999", 3600)):
        d = decide(Result(status, retry_after=header), 1, NOW, GIVE_UP, B, 0.1)
        assert d.next_attempt_at == NOW + timedelta(seconds=seconds), (status, header)
    ignored = decide(Result(500, retry_after="30"), 1, NOW, GIVE_UP, B, 0.1)
    assert ignored.next_attempt_at == NOW + timedelta(seconds=0.5)
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(format_datetime(NOW - timedelta(hours=1), usegmt=True), NOW) == 0


def test_410_disables_and_forbidden_is_dead_at_once() -> None:
    assert decide(Result(410), 1, NOW, GIVE_UP, B, 0.5).state == "disabled"
    d = decide(Result(error="forbidden_target"), 1, NOW, GIVE_UP, B, 0.5)
    assert (d.state, d.error) == ("dead", "forbidden_target")


def test_after_give_up_a_delivery_is_dead() -> None:
    d = decide(Result(500), 12, NOW, NOW + timedelta(seconds=10), B, 0.9)
    assert d.state == "dead" and "gave up" in (d.error or "")


def test_the_default_schedule_gives_up_after_about_a_day() -> None:
    """With the maximum jitter, attempts until give_up_hours: about 33 in 24 hours."""
    at, n = NOW, 0
    while True:
        n += 1
        d = decide(Result(500), n, at, GIVE_UP, B, 0.999999)
        if d.state == "dead":
            break
        assert d.next_attempt_at is not None
        at = d.next_attempt_at
    assert 25 <= n <= 40 and at <= GIVE_UP


# -- addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1",
        "100.127.255.254", "169.254.169.254", "169.254.1.1", "0.0.0.0", "224.0.0.1",
        "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1",
        "2002:a00:1::", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "not-an-ip",
    ],
)  # fmt: skip
def test_private_local_and_metadata_addresses_are_refused(address: str) -> None:
    assert targets.forbidden(address)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not targets.forbidden(address)


# -- reports, CSV, retention ------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["securityID", "apiKey", "token", "custToken", "password", "bot_secret", "myToken"]
)
def test_secret_report_keys_are_recognised(name: str) -> None:
    assert is_secret(name)
    assert not is_secret("disposition")


def test_csv_cells_never_start_a_formula() -> None:
    assert [cell(v) for v in ("=1+1", "+91", "-2", "@SUM(A1)", "\tx", "ok", None, 5)] == [
        "'=1+1", "'+91", "'-2", "'@SUM(A1)", "'\tx", "ok", "", "5",
    ]  # fmt: skip


def test_retention_cutoffs_per_kind_and_zero_keeps_forever() -> None:
    conf = RetentionSettings(call_events_days=90, reports_days=0, deliveries_days=30)
    found = cutoffs(conf, NOW)
    assert found == {
        "call_events": NOW - timedelta(days=90),
        "reports": None,
        "deliveries": NOW - timedelta(days=30),
        "traces": None,  # [traces] retention_days, given by the caller
    }
    assert cutoffs(conf, NOW, 7)["traces"] == NOW - timedelta(days=7)
