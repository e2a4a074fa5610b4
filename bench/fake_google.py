"""A minimal Cloud Translation v2 stand-in for benchmarks: answers after --delay seconds."""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from aiohttp import web


def app(delay: float) -> web.Application:
    async def translate(request: web.Request) -> web.Response:
        body = await request.json()
        if delay:
            await asyncio.sleep(delay)
        said = [{"translatedText": f"[{body['target']}] {q}"} for q in body["q"]]
        return web.json_response({"data": {"translations": said}})

    application = web.Application()
    application.router.add_post("/language/translate/v2", translate)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering")
    args = parser.parse_args()
    web.run_app(
        app(args.delay),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
