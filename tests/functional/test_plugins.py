"""Plug-ins through the entry-point groups, end to end: a method with an HTTP backend
(a translator) and a third-party dialer, installed as a distribution would install them.

The plug-in is a real distribution on ``sys.path``: its modules beside a
``.dist-info`` folder whose ``entry_points.txt`` fills ``flowhooks.handlers``,
``flowhooks.translators`` and ``flowhooks.dialers``. Nothing of flowhooks is mocked:
the app finds them by name, validates their settings, and calls them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from flowhooks.errors import ConfigError
from tests.conftest import ClientFactory, answer_keys, envelope, settings_from
from tests.fakes import wait_for
from tests.outbound_conf import create, outbound_conf, post, view

METHOD_MODULE = '''
"""Says a text back in another language (a plug-in method)."""
from pydantic import Field

from flowhooks.errors import HandlerFailed
from flowhooks.method import Context, Keys

METHOD = "shoutText"


class Input(Keys):
    text: str = Field(description="what to say")
    target: str = Field("hi", description="the language to say it in")


class Output(Keys):
    said: str = Field(description="the text in the target language")
    heard: str = Field(description="the language the backend heard")


async def handle(ctx: Context, keys: Input) -> Output:
    if ctx.translator is None:
        raise HandlerFailed("TRANSLATE_FAILED", "no translator configured")
    done = await ctx.translator.translate(keys.text, keys.target, None, None)
    return Output(said=done.text, heard=done.detected or "")
'''

TRANSLATOR_MODULE = '''
"""A translator backend speaking a small JSON API over the app's shared session."""
import aiohttp

from flowhooks.integrations.translate import Translation, TranslatorBackend
from flowhooks.plugins import BackendSettings


class LoudSettings(BackendSettings):
    endpoint: str


class Loud:
    name = "loud"

    def __init__(self, conf, timeout, http):
        self.conf, self.http = conf, http
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def translate(self, text, target, source, api_key):
        body = {"q": text, "target": target}
        async with self.http.post(self.conf.endpoint, json=body, timeout=self.timeout) as r:
            doc = await r.json()
        return Translation(doc["text"], doc["detected"])

    async def close(self):
        return None


BACKEND = TranslatorBackend("loud", LoudSettings, Loud)
'''

DIALER_MODULE = '''
"""A third-party dialer: accepts every call and remembers it."""
from flowhooks.integrations.dialer import DialerBackend
from flowhooks.outbound.model import Accepted
from flowhooks.plugins import BackendSettings

DIALED = []


class EchoSettings(BackendSettings):
    prefix: str = "echo"


class Echo:
    name = "echo"

    def __init__(self, conf):
        self.conf = conf

    async def dial(self, request):
        DIALED.append(request.number)
        return Accepted(f"{self.conf.prefix}-{request.call_id}")

    async def close(self):
        return None


BACKEND = DialerBackend("echo", EchoSettings, lambda conf, http, sink: Echo(conf))
'''

ENTRY_POINTS = """
[flowhooks.handlers]
shoutText = fh_plugin_method

[flowhooks.translators]
loud = fh_plugin_translator:BACKEND

[flowhooks.dialers]
echo = fh_plugin_dialer:BACKEND
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plug-in distribution, importable and discoverable for this test only."""
    root = tmp_path / "site"
    info = root / "fh_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fh-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    for name, source in (
        ("fh_plugin_method", METHOD_MODULE),
        ("fh_plugin_translator", TRANSLATOR_MODULE),
        ("fh_plugin_dialer", DIALER_MODULE),
    ):
        (root / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.delitem(__import__("sys").modules, name, raising=False)
    monkeypatch.syspath_prepend(str(root))
    return root


async def test_a_plugin_method_with_a_plugin_http_backend_end_to_end(
    plugin: Path, make_client: ClientFactory, aiohttp_server: Any
) -> None:
    seen: list[dict[str, Any]] = []

    async def translate(request: web.Request) -> web.Response:
        seen.append(await request.json())
        return web.json_response({"text": "NAMASTE", "detected": "en"})

    api = web.Application()
    api.router.add_post("/translate", translate)
    server = await aiohttp_server(api)
    conf = settings_from(
        f'[translate]\nbackend = "loud"\nendpoint = "{server.make_url("/translate")}"'
    )
    client = await make_client(conf)
    resp = await client.post("/webhook", json=envelope("shoutText", text="hello", target="hi"))
    assert resp.status == 200, await resp.text()
    keys = answer_keys(await resp.json())
    assert keys["$flow.key.said"] == "NAMASTE" and keys["$flow.key.heard"] == "en"
    assert seen == [{"q": "hello", "target": "hi"}]
    methods = await (await client.get("/methods")).json()
    assert "shoutText" in [m["method"] for m in methods["methods"]]


def test_plugin_backend_settings_are_validated_with_their_toml_path(plugin: Path) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from('[translate]\nbackend = "loud"\nendpoint = 5')
    assert any("translate.endpoint" in p for p in info.value.problems)
    with pytest.raises(ConfigError) as info:
        settings_from('[dialer]\nbackend = "echo"\n[dialer.echo]\nprefix = 1\nnope = 2')
    problems = " ".join(info.value.problems)
    assert "dialer.echo.prefix" in problems and "dialer.echo.nope" in problems


async def test_a_third_party_dialer_through_its_entry_point(
    plugin: Path, make_client: ClientFactory, db_url: str
) -> None:
    dialer = '[dialer]\nbackend = "echo"\npoll_seconds = 0.05\n[dialer.echo]\nprefix = "tp"'
    client = await make_client(outbound_conf(db_url, workers=True, dialer=dialer))
    _, keys, _ = await post(client, create("9979746666"))
    req = keys["$flow.key.obdReqID"]

    async def initiated() -> bool:
        return [c["state"] for c in (await view(client, req))["calls"]] == ["initiated"]

    await wait_for(initiated)
    call = (await view(client, req))["calls"][0]
    assert call["providerCallId"] == f"tp-{call['id']}"
    import fh_plugin_dialer  # type: ignore[import-not-found]

    assert fh_plugin_dialer.DIALED == ["+919979746666"]


def test_unknown_backends_name_the_known_ones_and_the_toml_path() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from(
            '[dialer]\nbackend = "nope"\n[dialer.other]\nx = 1\n'
            '[providers.p]\nformat = "fax"\n[translate]\nbackend = "babel"\n'
        )
    problems = info.value.problems
    assert any(
        "dialer.backend: unknown dialer 'nope'; known: simulated, startcall" in p for p in problems
    )
    assert any("dialer.other: not a dialer backend's table" in p for p in problems)
    assert any(
        "providers.p.format: unknown format 'fax'; known: click2call, unifonic, voiceai" in p
        for p in problems
    )
    assert any("translate.backend: unknown translator 'babel'" in p for p in problems)
