#!/usr/bin/env python3
"""An example webhook receiver: verifies Standard Webhooks signatures and prints each event.

    python3 scripts/example_receiver.py --port 8090 --secret whsec_...

Standard library only. Answers 200 to a correctly signed event (printing it), 401 to a
bad signature or one older than five minutes, and 200 again to a repeated webhook-id
without printing it twice (a receiver's de-duplication).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE_SECONDS = 300


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, signatures: str) -> bool:
    """True when one of the ``v1,`` signatures is HMAC-SHA256 of ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


def handler(
    secret: str | None, check_time: bool = True, events: list[dict[str, object]] | None = None
) -> type[BaseHTTPRequestHandler]:
    seen: set[str] = set()

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            msg_id = self.headers.get("webhook-id", "")
            stamp = self.headers.get("webhook-timestamp", "0")
            if secret:
                fresh = not check_time or abs(time.time() - int(stamp)) <= TOLERANCE_SECONDS
                signature = self.headers.get("webhook-signature", "")
                if not fresh or not verify(secret, msg_id, stamp, body, signature):
                    self.send_response(401)
                    self.end_headers()
                    print(f"REFUSED {msg_id}: bad or stale signature", flush=True)
                    return
            if msg_id not in seen:
                seen.add(msg_id)
                event = json.loads(body)
                if events is not None:
                    events.append(event)
                print(f"{msg_id} {self.path} {json.dumps(event)}", flush=True)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    return Receive


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8090, help="port on 127.0.0.1")
    parser.add_argument("--secret", help="the webhook's whsec_ secret (omit: no check)")
    args = parser.parse_args()
    server = HTTPServer(("127.0.0.1", args.port), handler(args.secret))
    print(f"receiving on http://127.0.0.1:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
