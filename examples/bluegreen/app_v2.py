"""Release 2.0.0 of the blue/green example: shows ``display_name`` and writes both it and
``name``, so release 1.0.0 keeps working beside it (expand, not contract).

``POST /admin/break`` makes every list request fail with 500 and ``POST /admin/mend`` ends
that: the bad deploy the story rolls back from. Each response carries ``X-Release``.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

RELEASE = "2.0.0"


def handler(dsn: str) -> type[BaseHTTPRequestHandler]:
    broken = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Release", RELEASE)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self.reply(200, {"release": RELEASE})
                return
            if broken.is_set():
                self.reply(500, {"error": "the bug this release shipped with"})
                return
            try:
                with psycopg.connect(dsn) as conn:
                    rows = conn.execute(
                        "SELECT id, display_name FROM users ORDER BY id"
                    ).fetchall()
            except psycopg.Error as exc:
                self.reply(500, {"error": str(exc)})
                return
            self.reply(200, [{"id": i, "display_name": n} for i, n in rows])

        def do_POST(self) -> None:
            if self.path in ("/admin/break", "/admin/mend"):
                (broken.set if self.path == "/admin/break" else broken.clear)()
                self.reply(200, {"broken": broken.is_set()})
                return
            length = int(self.headers.get("Content-Length") or 0)
            name = json.loads(self.rfile.read(length) or b"{}").get("name", "")
            with psycopg.connect(dsn) as conn:
                conn.execute(
                    "INSERT INTO users (name, display_name) VALUES (%s, %s)", (name, name)
                )
            self.reply(201, {"display_name": name})

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the example's output is the story, not an access log."""

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), handler(args.database_url)).serve_forever()


if __name__ == "__main__":
    main()
