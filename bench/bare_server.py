"""The baseline: a bare aiohttp endpoint that parses a JSON body and answers JSON."""

from __future__ import annotations

import argparse

import uvloop
from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    doc = await request.json()
    return web.json_response({"method": doc.get("method"), "status": "SUCCESS", "keys": []})


async def redirect(request: web.Request) -> web.Response:
    """The redirector's bare equivalent: a 302 from a dict lookup."""
    target = TARGETS.get(request.match_info["code"], "https://example.com/")
    return web.Response(
        status=302, headers={"Location": target, "Cache-Control": "private, max-age=0"}
    )


TARGETS: dict[str, str] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description="Bare aiohttp JSON endpoint for benchmarks.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/webhook", echo)
    app.router.add_get("/s/{code}", redirect)
    web.run_app(
        app,
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
