"""How many MO/s Kannel (bearerbox + smsbox + fakesmsc) pushes into an HTTP endpoint that answers at once.

Starts Kannel on loopback (tests/integration/kannel_fixture.py) with its sms-service post-url pointing at
one of two endpoints on 127.0.0.1, injects N MO with `fakesmsc -i 0 -m N`, and times until the endpoint
has received all N:

- `raw`: a bare asyncio HTTP/1.1 responder (200, empty body): Kannel's own ceiling;
- `router`: subreg's `POST /sms/kannel/{gateway}/mo` under uvicorn (one process), with an inbox that only
  counts: the cost of the router, secret check and thread hand-off included.

    PYTHONPATH=src .venv/bin/python bench/kannel_mo.py --count 5000 --endpoint raw
    PYTHONPATH=src .venv/bin/python bench/kannel_mo.py --count 5000 --endpoint router
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.integration.kannel_fixture import KannelLoopback, free_port, kannel_missing  # noqa: E402

SECRET = "bench-secret"  # noqa: S105 - a throwaway loopback gateway


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.first = 0.0
        self.last = 0.0
        self.lock = threading.Lock()

    def hit(self, k: int = 1) -> None:
        now = time.monotonic()
        with self.lock:
            if self.n == 0:
                self.first = now
            self.n += k
            self.last = now


def raw_endpoint(port: int, counter: Counter) -> None:
    """A minimal HTTP/1.1 keep-alive responder in its own thread and event loop."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                counter.hit()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()


def router_endpoint(port: int, counter: Counter) -> None:
    """subreg's MO route under uvicorn, with an inbox that counts."""
    import uvicorn
    from fastapi import FastAPI

    from subreg.api.routers import sms_gateways
    from subreg.api.routers.sms_gateways import GatewayCallback

    class CountingInbox:
        def receive(self, messages: object) -> None:
            counter.hit(len(messages))  # type: ignore[arg-type]

        def record_receipts(self, receipts: object) -> None:
            pass

    app = FastAPI()
    app.include_router(sms_gateways.router)
    app.state.sms_gateways = {"bench": GatewayCallback("bench", SECRET)}
    app.state.sms_inbox = CountingInbox()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--endpoint", choices=["raw", "router"], default="raw")
    args = parser.parse_args()
    if why := kannel_missing():
        sys.exit(why)

    counter = Counter()
    port = free_port()
    (raw_endpoint if args.endpoint == "raw" else router_endpoint)(port, counter)
    post_url = f"http://127.0.0.1:{port}/sms/kannel/bench/mo?secret={SECRET}&id=%I"
    with tempfile.TemporaryDirectory() as tmp, KannelLoopback(Path(tmp), post_url=post_url, log_level=2) as kannel:
        time.sleep(0.5)
        started = time.monotonic()
        sent_in = kannel.inject_mo("84901234567", "1414", "TTTB", count=args.count, timeout=600)
        deadline = time.monotonic() + 600
        while counter.n < args.count and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = counter.last - started
        print(
            f"endpoint={args.endpoint} mo={counter.n}/{args.count} "
            f"fakesmsc_sent_in={sent_in:.2f}s all_received_in={elapsed:.2f}s "
            f"rate={counter.n / elapsed:.0f} MO/s (first to last arrival: "
            f"{(counter.n - 1) / max(counter.last - counter.first, 1e-9):.0f} MO/s)"
        )


if __name__ == "__main__":
    main()
