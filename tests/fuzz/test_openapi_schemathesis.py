"""Schemathesis against the served /openapi.json (issue 13): every documented route, with
inputs generated from its schema, answers below 500, in a documented status, content
type and response shape. Bounded: 25 examples per operation (SCHEMATHESIS_EXAMPLES)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flowhooks import settings as settings_mod
from flowhooks.clock import RunningClock
from flowhooks.methods.loader import load_registry
from flowhooks.web import openapi
from tests.conftest import NEUTRAL, ROOT
from tests.served import served

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
API_TOKEN = "acme-api-token"
# what each answer must be; not whether the schema encodes every input rule (a 422 for
# an empty "name" the schema allows is a choice of the route, not a failure)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def conf(url: str) -> settings_mod.Settings:
    raw = tomllib.loads((ROOT / "config" / "flowhooks.toml").read_text())
    raw["storage"] = {"url": url}
    raw["server"]["workers"] = False
    return settings_mod.validate(raw, "<schemathesis>", {})


schema = schemathesis.openapi.from_dict(openapi.build(conf("sqlite:///:memory:"), load_registry()))


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("st") / "st.db"
    with served(conf(f"sqlite:///{path}"), RunningClock(NEUTRAL)) as base:
        yield base


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_documented_route_answers_below_500(case: schemathesis.Case, base_url: str) -> None:
    headers = {"Authorization": f"Bearer {API_TOKEN}"} if case.path.startswith("/api/") else {}
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=10)
