"""A stand-in for the Rasa server and the action server, for the load benches' runs where the
bot must not be the bottleneck: ``python -m bench.stand_in_bot --port P --latency-ms 50``.

A real HTTP server (aiohttp, already in the app environment for the gateway's Rasa client), in
its own process, that answers what the gateway asks the bot:

- ``POST /webhooks/rest/webhook``: after ``--latency-ms`` (asyncio.sleep, so any number of turns
  wait at once and it costs no CPU meanwhile), one reply that quotes the message, so the bench can
  tell which message an answer belongs to, and in which order a resident's messages were handled;
- ``GET /status`` (the Rasa server's) and ``GET /health`` (the action server's): answered.

It keeps the messages it saw per conversation, in the order seen (``GET /seen``: JSON,
conversation id -> texts), as Rasa's tracker store would, so the bench can check that one
resident's messages reached the bot in order. It takes the options ``stack.cluster`` gives the
Rasa server that concern it (``--port``) and ignores ``--endpoints`` (the lock store's).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict

from aiohttp import web

PREFIX = "stand-in: "  # the reply is PREFIX + the message


def make_app(latency: float) -> web.Application:
    seen: defaultdict[str, list[str]] = defaultdict(list)

    async def rest(request: web.Request) -> web.Response:
        payload = await request.json()
        sender, message = payload.get("sender", ""), payload.get("message", "")
        seen[sender].append(message)
        await asyncio.sleep(latency)
        return web.json_response([{"recipient_id": sender, "text": PREFIX + message}])

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"model_file": "stand-in.tar.gz"})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def order(request: web.Request) -> web.Response:
        return web.json_response(seen)

    app = web.Application()
    app.add_routes(
        [
            web.post("/webhooks/rest/webhook", rest),
            web.get("/status", status),
            web.get("/health", health),
            web.get("/seen", order),
        ]
    )
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stand_in_bot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="how long each turn takes")
    parser.add_argument("--endpoints", help="ignored (stack.cluster names the Rasa server's lock store here)")
    args = parser.parse_args()
    web.run_app(make_app(args.latency_ms / 1000), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
