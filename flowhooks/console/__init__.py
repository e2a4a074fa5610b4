"""The console: a web UI under /console for IVR builders and operators (issue 27).

Server-rendered pages (aiohttp-jinja2) with htmx as progressive enhancement, one
module a page, each reading through the same storage functions and services as the
/api/v1 routes (never SQL of its own). ``app.install`` puts it in an app.
"""
