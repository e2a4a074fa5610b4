"""Config: one TOML file -> validated pydantic models (SPEC 3).

``${ENV_NAME}`` in any string is replaced from the environment at load; a missing
variable is an error. Every problem is reported at once, each named by its TOML
path (``calendars.default.hours: '9-18' is not a window ...``). Secret values are
never quoted in an error.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from flowhooks import calendar as cal
from flowhooks import phones
from flowhooks.errors import ConfigError
from flowhooks.integrations.dialer import DIALERS
from flowhooks.integrations.nlu import NLU_BACKENDS
from flowhooks.integrations.providers import PROVIDERS
from flowhooks.integrations.translate import TRANSLATORS
from flowhooks.links.urls import check_long_url
from flowhooks.plugins import BackendSettings
from flowhooks.speech.default_intents import DEFAULT_INTENTS
from flowhooks.webhooks import events, signing, targets, templates
from flowhooks.webhooks.endpoints import url_fingerprint

DEFAULT_CONFIG = Path("config/flowhooks.toml")
SECRET_WORDS = ("secret", "password", "token", "security_id", "api_key")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _window(value: Any) -> cal.Window:
    if isinstance(value, cal.Window):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a string like '09:00-18:00'")
    return cal.Window.parse(value)


def _weekday(value: Any) -> int:
    if isinstance(value, int):
        if not 0 <= value <= 6:
            raise ValueError(f"{value} is not a weekday number 0..6")
        return value
    if not isinstance(value, str):
        raise ValueError("must be a weekday name like 'Mon'")
    return cal.parse_weekday(value)


WindowField = Annotated[cal.Window, BeforeValidator(_window)]
Weekday = Annotated[int, BeforeValidator(_weekday)]


class Section(BackendSettings):
    """Base of every section: unknown keys are errors (they are usually typos)."""


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    paths: list[str] = Field(default_factory=list)
    token: SecretStr | None = None
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    public_base_url: str = "http://127.0.0.1:8080"
    workers: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # slow and idle clients: a request head, a body, an idle kept-alive connection
    header_timeout_seconds: float = Field(10, gt=0, le=600)
    body_timeout_seconds: float = Field(10, gt=0, le=600)
    keepalive_timeout_seconds: float = Field(75, gt=0, le=3600)
    max_connections: int = Field(10_000, ge=1, le=1_000_000)
    require_flow_token: bool = False  # every envelope needs a [clients.NAME] flow_token
    # several processes on one port, through gunicorn (PostgreSQL only)
    processes: int = Field(1, ge=1, le=256)
    graceful_timeout_seconds: float = Field(30, gt=0, le=3600)  # a stopping process's grace

    @field_validator("paths")
    @classmethod
    def _paths_are_absolute(cls, value: list[str]) -> list[str]:
        for p in value:
            if not p.startswith("/") or "{" in p:
                raise ValueError(f"{p!r} must be a literal path starting with '/'")
        return value


class StorageSettings(Section):
    url: str = "sqlite:///var/flowhooks.db"
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    pool_size: int = Field(10, ge=1, le=500)  # SQLAlchemy's (dispatcher, deliveries, API)
    driver_pool_size: int = Field(20, ge=1, le=500)  # asyncpg's, the envelope hot paths
    statement_cache: bool = True  # false behind PgBouncer in transaction mode
    # deadlines of a database use, so a database that hangs costs a caller seconds:
    connect_timeout_seconds: float = Field(2.0, gt=0, le=60)  # opening a connection
    acquire_timeout_seconds: float = Field(1.0, gt=0, le=60)  # a free connection (SQLite: the lock)
    statement_timeout_seconds: float = Field(2.0, gt=0, le=600)  # each statement, COMMIT too
    ping_timeout_seconds: float = Field(0.8, gt=0, le=60)  # /readyz's database check

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+aiosqlite:", "postgresql:", "postgresql+")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value


class TestingSettings(Section):
    allow_clock_override: bool = False
    # the process's clock starts here and runs in real time (tests, demos); None = system
    clock_start: datetime | None = None

    @field_validator("clock_start")
    @classmethod
    def _has_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs an offset, e.g. 2026-11-23T12:00:00+05:30")
        return value


class SecuritySettings(Section):
    allow_private_targets: bool = False
    # signs console sessions (issue 25 reuses it to encrypt secrets at rest); absent: a
    # random key per process, so sessions end at restart and hold in one process only
    secret_key: SecretStr | None = Field(None, min_length=32)
    # seals webhook secrets and basic-auth passwords at rest (flowhooks.vault); an old
    # key kept here still opens what it sealed
    previous_secret_keys: list[SecretStr] = Field(default_factory=list)

    def vault_keys(self) -> list[str]:
        """The keys that seal (the first) and open (all) secrets at rest."""
        if self.secret_key is None:
            return []
        return [self.secret_key.get_secret_value()] + [
            k.get_secret_value() for k in self.previous_secret_keys
        ]


class ConsoleSettings(Section):
    """``[console]``: the web console under /console (issue 27)."""

    enabled: bool = True
    admin_token: SecretStr | None = Field(None, min_length=16)  # the operator's sign-in
    session_hours: float = Field(8, gt=0, le=24 * 30)  # a sign-in lasts this long
    stats_seconds: float = Field(60, gt=0, le=3600)  # request counts written this often
    page_size: int = Field(50, ge=5, le=500)  # rows a list page shows


class TypeHoursSettings(Section):
    hours: WindowField | None = None
    day_hours: dict[Weekday, WindowField] = Field(default_factory=dict)


class CalendarSettings(Section):
    timezone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None
    extra_holidays: dict[date, str] = Field(default_factory=dict)
    working_days: list[date] = Field(default_factory=list)
    workdays: list[Weekday] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    hours: WindowField = cal.Window(9 * 60, 18 * 60)
    day_hours: dict[Weekday, WindowField] = Field(default_factory=dict)
    max_days_ahead: int = Field(30, ge=0, le=3650)
    min_lead_minutes: int = Field(0, ge=0, le=7 * 24 * 60)
    types: dict[str, TypeHoursSettings] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value == "callee":
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (or 'callee')") from None
        return value

    @field_validator("subdivision")
    @classmethod
    def _needs_country(cls, value: str | None, info: Any) -> str | None:
        country = info.data.get("country")
        if value is not None and country is None:
            raise ValueError("a subdivision needs a country")
        return value

    @field_validator("country")
    @classmethod
    def _country_exists(cls, value: str | None) -> str | None:
        if value is not None:
            cal.check_country(value, None)
        return value

    def build(self, name: str, zone_fallback: str = "UTC") -> cal.BusinessCalendar:
        """The pure calendar object; a ``callee`` zone is read per number by the caller."""
        zone = ZoneInfo(zone_fallback if self.timezone == "callee" else self.timezone)
        return cal.BusinessCalendar(
            name=name,
            timezone=zone,
            country=self.country,
            subdivision=self.subdivision,
            extra_holidays=dict(self.extra_holidays),
            working_days=frozenset(self.working_days),
            workdays=frozenset(self.workdays),
            hours=self.hours,
            day_hours=dict(self.day_hours),
            max_days_ahead=self.max_days_ahead,
            min_lead_minutes=self.min_lead_minutes,
            types={
                t: cal.TypeHours(hours=th.hours, day_hours=dict(th.day_hours))
                for t, th in self.types.items()
            },
        )


class WebhookSettings(Section):
    """``[clients.NAME.webhooks.EVENT]``: where and how one event is delivered (SPEC 2.4)."""

    url: str = Field(max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    secret: SecretStr | None = None

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            signing.secret_key(value.get_secret_value())
        return value

    @property
    def key(self) -> bytes | None:
        """The signing key (the base64-decoded part of the secret), if signed."""
        return None if self.secret is None else signing.secret_key(self.secret.get_secret_value())

    @property
    def fingerprint(self) -> str:
        """Identifies the URL template: a disabled endpoint whose URL changed is enabled."""
        return url_fingerprint(self.url)  # as a stored endpoint's: their health is compared


class DeliverySettings(Section):
    """``[delivery]``: how customer webhooks are sent and retried (SPEC 2.4)."""

    timeout_seconds: float = Field(10, gt=0, le=120)
    initial_backoff_seconds: float = Field(5, gt=0, le=3600)
    max_backoff_seconds: float = Field(3600, gt=0, le=7 * 24 * 3600)
    give_up_hours: float = Field(24, gt=0, le=24 * 30)
    concurrency: int = Field(16, ge=1, le=1000)
    per_endpoint: int = Field(4, ge=1, le=1000)
    poll_seconds: float = Field(0.25, gt=0, le=60)  # how often other processes' events are seen
    lease_seconds: float = Field(60, ge=5, le=3600)  # a dead worker's claim is taken over after
    max_endpoints_per_client: int = Field(20, ge=0, le=1000)  # made through /api/v1/webhooks
    # endpoints whose last attempt failed share at most this part of the slots (at least one)
    failing_share: float = Field(0.25, gt=0, le=1)
    breaker_failures: int = Field(3, ge=1, le=1000)  # failed in a row: backed off as a whole

    @property
    def failing_slots(self) -> int:
        return max(1, int(self.concurrency * self.failing_share))


class RetentionSettings(Section):
    """``[retention]``: days kept (0 = forever), purged by a periodic job in batches."""

    call_events_days: int = Field(90, ge=0, le=36500)
    reports_days: int = Field(365, ge=0, le=36500)
    deliveries_days: int = Field(30, ge=0, le=36500)
    interval_minutes: float = Field(60, gt=0, le=7 * 24 * 60)
    batch_size: int = Field(1000, ge=1, le=100000)


class TracesSettings(Section):
    """``[traces]``: a trace of every envelope answered, its secrets "***" (issue 26)."""

    enabled: bool = True
    sample_rate: float = Field(1.0, ge=0, le=1)  # share of calls (or requests) traced
    retention_days: int = Field(7, ge=0, le=36500)  # 0 = forever
    max_value_chars: int = Field(512, ge=16, le=8192)  # longer values are cut and marked
    call_keys: list[str] = Field(
        default_factory=lambda: ["callId", "ucid", "uuid", "callSid"], max_length=20
    )
    queue_size: int = Field(10_000, ge=1, le=1_000_000)  # traces waiting for the writer

    @field_validator("call_keys")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.strip() or len(name) > 128 or not name.isprintable():
                raise ValueError(f"{name!r} is not a key name (1 to 128 printable characters)")
        return value


_NUMBER_TYPES = frozenset(
    name for name in vars(phonenumbers.PhoneNumberType) if name.isupper() and name != "UNKNOWN"
)


class ClientSettings(Section):
    security_id: SecretStr | None = None
    api_token: SecretStr | None = None
    cust_token: SecretStr | None = None
    flow_token: SecretStr | None = None  # an envelope bearing it acts as this client
    default_region: str = "IN"
    allowed_regions: list[str] = Field(default_factory=list)
    blocked_number_types: list[str] = Field(
        default_factory=lambda: ["PREMIUM_RATE", "SHARED_COST", "UAN", "VOICEMAIL"]
    )
    flows: list[str] = Field(default_factory=list)
    calling_calendar: str | None = None
    max_attempts: int = Field(3, ge=1, le=20)
    retry_minutes: int = Field(30, ge=0, le=7 * 24 * 60)
    max_calls_per_second: float = Field(5, gt=0, le=1000)
    max_concurrent_calls: int = Field(10, ge=1, le=10000)
    max_requests_per_second: float = Field(1000, gt=0, le=100000)  # every method naming it
    dedupe_seconds: int = Field(120, ge=0, le=24 * 3600)
    timezone: str = "UTC"  # where a "callee" calendar is read for numbers spanning zones
    webhooks: dict[Literal["call_status", "report"], WebhookSettings] = Field(default_factory=dict)
    webhook_secret: SecretStr | None = None  # signs a createOutbound's one-off webhookUrl

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            signing.secret_key(value.get_secret_value())
        return value

    @field_validator("security_id")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 64:
            raise ValueError("must be 64 characters")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region code like 'IN' or 'US'")
        return value.upper()

    @field_validator("allowed_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return [cls._region(v) for v in value]

    @field_validator("blocked_number_types")
    @classmethod
    def _number_types(cls, value: list[str]) -> list[str]:
        for v in value:
            if v.upper() not in _NUMBER_TYPES:
                raise ValueError(f"{v!r} is not one of {', '.join(sorted(_NUMBER_TYPES))}")
        return [v.upper() for v in value]

    @property
    def regions(self) -> list[str]:
        return self.allowed_regions or [self.default_region]


class DialerSettings(Section):
    """``[dialer]``; each ``[dialer.NAME]`` table is checked by that backend's own model."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: str = "simulated"  # a name in integrations.dialer.DIALERS
    lease_seconds: int = Field(60, ge=5, le=3600)
    poll_seconds: float = Field(0.5, gt=0, le=60)
    max_call_minutes: int = Field(60, ge=1, le=24 * 60)

    def options(self, name: str | None = None) -> Any:
        """The validated ``[dialer.NAME]`` of a backend (its defaults when absent)."""
        name = name or self.backend
        table = (self.model_extra or {}).get(name)
        spec = DIALERS.get(name).settings
        return table if isinstance(table, spec) else spec.model_validate(table or {})


class ProviderSettings(Section):
    format: str  # a name in integrations.providers.PROVIDERS
    username: str | None = None
    password: SecretStr | None = None


class LinksSettings(Section):
    """``[links]``: short links (SPEC 2.8)."""

    code_length: int = Field(8, ge=7, le=16)
    expire_days: int = Field(0, ge=0, le=3650)  # a link's default life; 0 = never expires
    cache_size: int = Field(100_000, ge=0, le=10_000_000)  # links the redirector keeps
    flush_seconds: float = Field(1.0, gt=0, le=1)  # clicks counted in memory this long


class BotSettings(Section):
    """``[bots.ID]``: a chat bot that linkcreation makes personalised links to."""

    url: str
    token: SecretStr
    client: str = "default"  # whose link it is

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_long_url(value)


class TranslateSettings(Section):
    """``[translate]``; the backend's own keys are checked by that backend's model."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: str | None = "google"  # a name in integrations.translate.TRANSLATORS
    timeout_seconds: float = Field(3.0, gt=0, le=30)
    cache_size: int = Field(10000, ge=0, le=10_000_000)

    def options(self) -> Any:
        """The backend's own settings, validated by its model."""
        assert self.backend is not None
        return TRANSLATORS.get(self.backend).settings.model_validate(self.model_extra or {})


class NluSettings(Section):
    """``[nlu]``; the backend's own keys are checked by that backend's model."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: str | None = "rules"  # a name in integrations.nlu.NLU_BACKENDS
    threshold: float = Field(0.6, ge=0, le=1)
    # {set: {intent: examples}}; without a "default" set, speech.default_intents is it
    intents: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    def intent_sets(self) -> dict[str, dict[str, list[str]]]:
        return {"default": DEFAULT_INTENTS, **self.intents}

    def options(self) -> Any:
        """The backend's own settings, validated by its model."""
        assert self.backend is not None
        return NLU_BACKENDS.get(self.backend).settings.model_validate(self.model_extra or {})


class AgentSettings(Section):
    client: str = "default"
    cli: str
    name: str
    did: str


class Settings(Section):
    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    testing: TestingSettings = TestingSettings()
    security: SecuritySettings = SecuritySettings()
    calendars: dict[str, CalendarSettings] = Field(default_factory=dict)
    clients: dict[str, ClientSettings] = Field(default_factory=dict)
    dialer: DialerSettings = DialerSettings()
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    delivery: DeliverySettings = DeliverySettings()
    retention: RetentionSettings = RetentionSettings()
    traces: TracesSettings = TracesSettings()
    links: LinksSettings = LinksSettings()
    bots: dict[str, BotSettings] = Field(default_factory=dict)
    translate: TranslateSettings = TranslateSettings()
    nlu: NluSettings = NluSettings()
    agents: list[AgentSettings] = Field(default_factory=list)
    console: ConsoleSettings = ConsoleSettings()
    source: str = Field("<defaults>", exclude=True)


# -- loading ------------------------------------------------------------------


def _is_secret(path: str) -> bool:
    last = path.rsplit(".", 1)[-1].lower()
    return any(word in last for word in SECRET_WORDS)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _substitute(node: Any, path: str, env: Mapping[str, str], problems: list[str]) -> Any:
    """Replace ``${NAME}`` in every string; note each missing variable with its path."""
    if isinstance(node, str):

        def repl(m: re.Match[str]) -> str:
            if m.group(1) not in env:
                problems.append(f"{path}: environment variable {m.group(1)} is not set")
                return ""
            return env[m.group(1)]

        return _ENV_REF.sub(repl, node)
    if isinstance(node, dict):
        return {
            k: _substitute(v, f"{path}.{k}" if path else k, env, problems) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_substitute(v, f"{path}[{i}]", env, problems) for i, v in enumerate(node)]
    return node


def _problems(exc: ValidationError, prefix: str) -> list[str]:
    """Each error of a validation, named by its TOML path; secrets never quoted."""
    problems = []
    for err in exc.errors():
        path = _format_loc((prefix, *err["loc"])) if prefix else _format_loc(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if "input" in err and err["type"] != "missing" and not _is_secret(path):
            value = err["input"]
            if isinstance(value, str | int | float | bool):
                msg = f"has value {value!r}: {msg}"
        problems.append(f"{path}: {msg}")
    return problems


def _check_dialer(s: Settings, problems: list[str]) -> DialerSettings:
    """``[dialer] backend`` and each ``[dialer.NAME]`` against the dialer registry."""
    if DIALERS.find(s.dialer.backend) is None:
        problems.append(
            f"dialer.backend: unknown dialer {s.dialer.backend!r}; known: {DIALERS.known()}"
        )
    checked: dict[str, Any] = {}
    for name, table in (s.dialer.model_extra or {}).items():
        spec = DIALERS.find(name)
        if spec is None or not isinstance(table, dict):
            problems.append(
                f"dialer.{name}: not a dialer backend's table; known: {DIALERS.known()}"
            )
            continue
        try:
            checked[name] = spec.settings.model_validate(table)
        except ValidationError as exc:
            problems.extend(_problems(exc, f"dialer.{name}"))
    return s.dialer.model_copy(update=checked)


def _check_flat_backend(
    section: str, conf: TranslateSettings | NluSettings, registry: Any, problems: list[str]
) -> None:
    """``[SECTION] backend`` against its registry; the section's other keys against its model."""
    extra = dict(conf.model_extra or {})
    if conf.backend is None:
        problems.extend(f"{section}.{key}: no backend is chosen" for key in extra)
        return
    spec = registry.find(conf.backend)
    if spec is None:
        problems.append(
            f"{section}.backend: unknown {registry.kind} {conf.backend!r};"
            f" known: {registry.known()}"
        )
        return
    try:
        spec.settings.model_validate(extra)
    except ValidationError as exc:
        problems.extend(_problems(exc, section))


def _with_backend_options(s: Settings, problems: list[str]) -> Settings:
    """Check every backend name and its own settings against its kind's registry."""
    dialer = _check_dialer(s, problems)
    _check_flat_backend("translate", s.translate, TRANSLATORS, problems)
    _check_flat_backend("nlu", s.nlu, NLU_BACKENDS, problems)
    for name, provider in s.providers.items():
        if PROVIDERS.find(provider.format) is None:
            problems.append(
                f"providers.{name}.format: unknown format {provider.format!r};"
                f" known: {PROVIDERS.known()}"
            )
    return s.model_copy(update={"dialer": dialer})


def _webhook_problems(s: Settings) -> list[str]:
    """Each webhook's templates, filled with sample values (SPEC 2.4)."""
    return [
        f"clients.{name}.webhooks.{event}.{key}: {problem}"
        for name, client in s.clients.items()
        for event, hook in client.webhooks.items()
        for key, problem in templates.template_problems(event, hook.url, hook.body)
    ]


def _flow_token_problems(s: Settings) -> list[str]:
    problems = []
    owners: dict[str, str] = {}
    shared = s.server.token.get_secret_value() if s.server.token else None
    for name, client in s.clients.items():
        if client.flow_token is None:
            continue
        token = client.flow_token.get_secret_value()
        if len(token) < 16:
            problems.append(f"clients.{name}.flow_token: must be at least 16 characters")
        if token == shared:
            problems.append(f"clients.{name}.flow_token: must differ from [server] token")
        if token in owners:
            problems.append(f"clients.{name}.flow_token: the same as clients.{owners[token]}'s")
        owners.setdefault(token, name)
    if s.server.require_flow_token and not owners:
        problems.append("server.require_flow_token: no [clients.NAME] has a flow_token")
    return problems


def _cross_check(s: Settings) -> list[str]:
    problems = []
    for name, client in s.clients.items():
        if client.calling_calendar and client.calling_calendar not in s.calendars:
            problems.append(
                f"clients.{name}.calling_calendar: no [calendars.{client.calling_calendar}]"
            )
    for name, c in s.calendars.items():
        if c.timezone == "callee" and name in ("default",):
            problems.append(f"calendars.{name}.timezone: 'callee' is only for calling calendars")
        if c.country is not None and c.subdivision is not None:
            try:
                cal.check_country(c.country, c.subdivision)
            except ValueError as exc:
                problems.append(f"calendars.{name}.subdivision: {exc}")
    problems.extend(_webhook_problems(s))
    problems.extend(_flow_token_problems(s))
    problems.extend(processes_problems(s, s.server.processes))
    problems.extend(
        f"bots.{name}.client: no [clients.{bot.client}]"
        for name, bot in s.bots.items()
        if bot.client not in s.clients
    )
    for i, agent in enumerate(s.agents):
        if agent.client not in s.clients:
            problems.append(f"agents[{i}].client: no [clients.{agent.client}]")
            continue
        region = s.clients[agent.client].default_region
        for key in ("cli", "did"):
            try:
                phones.normalize(getattr(agent, key), region)
            except phones.NumberRefused as exc:
                problems.append(f"agents[{i}].{key}: {exc}")
    return problems


def processes_problems(s: Settings, processes: int) -> list[str]:
    """Several processes share only a PostgreSQL database: SQLite serves one process."""
    if processes > 1 and not s.storage.url.startswith("postgresql"):
        return [
            f"storage.url: {processes} processes need a postgresql:// database; SQLite"
            " serves one process (set [server] processes = 1, or move [storage] url to"
            " PostgreSQL)"
        ]
    return []


def validate(raw: Mapping[str, Any], source: str, env: Mapping[str, str]) -> Settings:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    problems: list[str] = []
    data = _substitute(dict(raw), "", env, problems)
    data["source"] = source
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems(exc, ""))
    if settings is not None:
        settings = _with_implicit_defaults(settings)
        settings = _with_backend_options(settings, problems)
        problems.extend(_cross_check(settings))
    if problems or settings is None:
        raise ConfigError([f"{source}: {p}" for p in problems])
    return settings


def _with_implicit_defaults(s: Settings) -> Settings:
    """The calendar and client named ``default`` always exist."""
    calendars = {"default": CalendarSettings(), **s.calendars}
    clients = {"default": ClientSettings(), **s.clients}
    return s.model_copy(update={"calendars": calendars, "clients": clients})


def warnings(s: Settings) -> list[str]:
    """What is allowed but probably wrong; logged at start and by check-config."""
    found = []
    if not s.security.allow_private_targets:
        for name, client in s.clients.items():
            for event, hook in client.webhooks.items():
                host = targets.literal_forbidden_host(hook.url)
                if host is not None:
                    found.append(
                        f"{s.source}: clients.{name}.webhooks.{event}.url: {host} is a private"
                        " or local address; deliveries to it are refused"
                        " (security.allow_private_targets)"
                    )
    if s.security.secret_key is None:
        found.append(
            f"{s.source}: security.secret_key is not set: webhooks cannot be made through"
            " /api/v1/webhooks (their secrets are sealed with it) and answer 503"
        )
    return found


def console_warnings(s: Settings) -> list[str]:
    """The console without ``[security] secret_key``: what that means for sign-ins."""
    if not s.console.enabled or s.security.secret_key is not None:
        return []
    if s.server.processes > 1:
        return [
            f"{s.source}: security.secret_key is not set: the console refuses sign-ins while"
            f" {s.server.processes} processes serve (each would sign with its own random key)"
        ]
    return [
        f"{s.source}: security.secret_key is not set: console sessions are signed with a"
        " random key of this process; they end when it restarts and are not valid in any"
        " other serve process on the same database"
    ]


def build_planner(s: Settings) -> events.Planner:
    """Which clients have which webhook, their zones: what events become deliveries."""
    return events.Planner(
        endpoints=frozenset(
            (name, event) for name, client in s.clients.items() for event in client.webhooks
        ),
        zones={name: ZoneInfo(client.timezone) for name, client in s.clients.items()},
        give_up=timedelta(hours=s.delivery.give_up_hours),
    )


def build_calendars(s: Settings) -> cal.Calendars:
    """The pure calendar objects of ``[calendars.*]``."""
    built = {name: c.build(name) for name, c in s.calendars.items()}
    return cal.Calendars(built, [n for n, c in s.calendars.items() if c.timezone == "callee"])


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load ``path``, else $FLOWHOOKS_CONFIG, else config/flowhooks.toml, else the defaults."""
    env = os.environ if env is None else env
    chosen = path or env.get("FLOWHOOKS_CONFIG")
    if not chosen and DEFAULT_CONFIG.is_file():
        chosen = str(DEFAULT_CONFIG)
    if not chosen:
        return validate({}, "<defaults>", env)
    p = Path(chosen)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
    return validate(raw, str(p), env)
