"""The baseline: a bare aiohttp endpoint that parses a JSON body and answers JSON."""

from __future__ import annotations

import argparse

import uvloop
from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    doc = await request.json()
    return web.json_response({"method": doc.get("method"), "status": "SUCCESS", "keys": []})


def main() -> None:
    parser = argparse.ArgumentParser(description="Bare aiohttp JSON endpoint for benchmarks.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/webhook", echo)
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
