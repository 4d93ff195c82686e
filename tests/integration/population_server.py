"""A small population database speaking subreg's JSON contract (docs/verification.md), for tests: a real HTTP
server process on 127.0.0.1.

Run: `python -m tests.integration.population_server TABLE.json TOKEN`; it prints its port on the first line of
standard output and serves until killed. TABLE.json: `{"<id number>": ["<full name>", "<date of birth>"]}`.
Paths: `/v1/population/match` (the contract), `/unavailable/v1/population/match` (503),
`/broken/v1/population/match` (200 with an answer that breaks the contract: a ref missing).
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from subreg.domain.verification.population import PopulationQuery, compare

MAX_QUERIES = 1000


def make_handler(table: dict[str, tuple[str, str]], token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet: no personal data on the test's stderr
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._send(401, {"error": {"code": "unauthorized", "message": "bad or missing token"}})
                return
            if self.path == "/unavailable/v1/population/match":
                self._send(503, {"error": {"code": "unavailable", "message": "try later"}})
                return
            if self.path not in ("/v1/population/match", "/broken/v1/population/match"):
                self._send(404, {"error": {"code": "not_found", "message": "no such path"}})
                return
            try:
                body = json.loads(raw)
                queries = [
                    PopulationQuery(int(q["ref"]), q["id_number"], q["full_name"], q["date_of_birth"])
                    for q in body["queries"]
                ]
            except (ValueError, KeyError, TypeError):
                self._send(400, {"error": {"code": "invalid_request", "message": "body breaks the contract"}})
                return
            if len(queries) > MAX_QUERIES:
                self._send(413, {"error": {"code": "too_many_queries", "message": "at most 1000 queries"}})
                return
            answers = [compare(q, table.get(q.id_number)) for q in queries]
            items = [
                {"ref": str(a.ref), "id_number": a.id_number.value, "full_name": a.full_name.value,
                 "date_of_birth": a.date_of_birth.value}
                for a in reversed(answers)  # any order: the client pairs answers by ref
            ]  # fmt: skip
            if self.path.startswith("/broken/"):
                items = items[1:]
            self._send(200, {"answers": items})

    return Handler


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        table = {k: (v[0], v[1]) for k, v in json.load(f).items()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(table, sys.argv[2]))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
