"""Typed keys for the state an aiohttp application shares (its resources among them)."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver

from flowhooks.calendar import Calendars
from flowhooks.clients import Clients
from flowhooks.clock import Clock
from flowhooks.integrations.nlu import Nlu
from flowhooks.integrations.translate import Translator
from flowhooks.links.service import Links
from flowhooks.logs import AccessLog
from flowhooks.methods.engine import Engine
from flowhooks.methods.registry import MethodRegistry
from flowhooks.metrics import Metrics
from flowhooks.outbound.service import Outbound
from flowhooks.settings import Settings
from flowhooks.storage import Storage
from flowhooks.traces.recorder import Recorder
from flowhooks.webhooks.service import Endpoints
from flowhooks.workers.delivery import DeliveryLoop
from flowhooks.workers.dispatcher import Dispatcher

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", MethodRegistry)
CLOCK = web.AppKey("clock", Clock)
ENGINE = web.AppKey("engine", Engine)
METRICS = web.AppKey("metrics", Metrics)
OPENAPI = web.AppKey("openapi", dict)
ACCESS_LOG = web.AppKey("access_log", AccessLog)
# resources, each started and stopped by its own cleanup context (app.py)
CLIENTS = web.AppKey("clients", Clients)
CALENDARS = web.AppKey("calendars", Calendars)
HTTP = web.AppKey("http", aiohttp.ClientSession)
DB = web.AppKey("db", Storage)
OUTBOUND = web.AppKey("outbound", Outbound)
LINKS = web.AppKey("links", Links)
ENDPOINTS = web.AppKey("endpoints", Endpoints)  # customers' own webhooks
TRANSLATOR = web.AppKey("translator", Translator)  # only when [translate] has a backend
NLU = web.AppKey("nlu", Nlu)  # only when [nlu] has a backend
DISPATCHER = web.AppKey("dispatcher", Dispatcher)  # only while this process dispatches
DELIVERIES = web.AppKey("deliveries", DeliveryLoop)  # only while this process delivers
TRACES = web.AppKey("traces", Recorder)  # the traces recorder (idle when [traces] is off)
RESOLVER = web.AppKey("resolver", AbstractResolver)  # tests: a DNS seam for the SSRF guard
