"""Per-client envelope tokens (SPEC 3, issue 13): a flow token acts as its client, naming
another client is 403 FORBIDDEN, require_flow_token makes one necessary, and the shared
[server] token keeps working."""

from __future__ import annotations

from typing import Any

import pytest

from flowhooks.errors import ConfigError
from tests.conftest import ClientFactory, answer_keys, envelope, settings_from

ACME, GLOBEX, SHARED = "acme-flow-token-0001", "globex-flow-token-02", "shared-server-token"


def conf(require: bool = False, shared: bool = True) -> Any:
    server = f'token = "{SHARED}"\n' if shared else ""
    return settings_from(
        f"""
[server]
{server}require_flow_token = {"true" if require else "false"}
[clients.acme]
flow_token = "{ACME}"
[clients.globex]
flow_token = "{GLOBEX}"
[[agents]]
client = "acme"
cli = "+919800000001"
name = "Asha"
did = "+918068000000"
"""
    )


async def pause(client: Any, token: str | None, **keys: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    doc = envelope("updatePauseStatusForCLI", cli="9800000001", pauseStatus="pause", **keys)
    resp = await client.post("/webhook", json=doc, headers=headers)
    return resp.status, await resp.json()


async def test_a_flow_token_acts_as_its_client(make_client: ClientFactory) -> None:
    client = await make_client(conf())
    status, body = await pause(client, ACME)  # no clientID: acme, from the token
    assert (status, answer_keys(body)["$flow.key.agentName"]) == (200, "Asha")
    status, body = await pause(client, ACME, clientID="acme")
    assert status == 200


async def test_naming_another_client_is_403(make_client: ClientFactory) -> None:
    client = await make_client(conf())
    status, body = await pause(client, GLOBEX, clientID="acme")
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    assert answer_keys(body)["$flow.key.status"] == "FAILED"
    status, body = await pause(client, GLOBEX)  # globex has no such agent
    assert answer_keys(body)["$flow.key.errorCode"] == "AGENT_NOT_FOUND"


async def test_the_shared_token_keeps_working_and_a_wrong_one_is_401(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf())
    status, _ = await pause(client, SHARED, clientID="acme")
    assert status == 200
    for token in (None, "nope-nope-nope-nope"):
        status, body = await pause(client, token, clientID="acme")
        assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")


async def test_require_flow_token_refuses_the_shared_token(make_client: ClientFactory) -> None:
    client = await make_client(conf(require=True))
    status, body = await pause(client, SHARED, clientID="acme")
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")
    assert "flow_token" in body["error"]["message"]
    status, _ = await pause(client, ACME)
    assert status == 200


async def test_without_a_shared_token_an_envelope_may_come_without_one(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf(shared=False))
    status, _ = await pause(client, None, clientID="acme")
    assert status == 200
    status, _ = await pause(client, "wrong-wrong-wrong-wrong", clientID="acme")
    assert status == 401


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[server]\nrequire_flow_token = true\n", "server.require_flow_token"),
        ('[clients.a]\nflow_token = "short"\n', "clients.a.flow_token"),
        (
            f'[clients.a]\nflow_token = "{ACME}"\n[clients.b]\nflow_token = "{ACME}"\n',
            "clients.b.flow_token",
        ),
        (f'[server]\ntoken = "{ACME}"\n[clients.a]\nflow_token = "{ACME}"\n', "must differ"),
    ],
)
def test_flow_token_config_errors_name_their_path(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        settings_from(text)
