"""Typed keys for the state an aiohttp application shares."""

from __future__ import annotations

from aiohttp import web

from flowhooks.clock import Clock
from flowhooks.dispatch.engine import Engine
from flowhooks.dispatch.registry import MethodRegistry
from flowhooks.logs import AccessLog
from flowhooks.metrics import Metrics
from flowhooks.services import Services
from flowhooks.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", MethodRegistry)
SERVICES = web.AppKey("services", Services)
CLOCK = web.AppKey("clock", Clock)
ENGINE = web.AppKey("engine", Engine)
METRICS = web.AppKey("metrics", Metrics)
OPENAPI = web.AppKey("openapi", dict)
ACCESS_LOG = web.AppKey("access_log", AccessLog)
