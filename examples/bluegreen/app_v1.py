"""Release 1.0.0 of the blue/green example: a list of users, read from ``users.name``.

Run: ``python app_v1.py --port 8001 --database-url postgresql://…`` (or DATABASE_URL).
Each response carries ``X-Release`` so a client can tell which release served it.
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

RELEASE = "1.0.0"


def handler(dsn: str) -> type[BaseHTTPRequestHandler]:
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
            try:
                with psycopg.connect(dsn) as conn:
                    rows = conn.execute("SELECT id, name FROM users ORDER BY id").fetchall()
            except psycopg.Error as exc:
                self.reply(500, {"error": str(exc)})
                return
            self.reply(200, [{"id": i, "name": n} for i, n in rows])

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            name = json.loads(self.rfile.read(length) or b"{}").get("name", "")
            with psycopg.connect(dsn) as conn:
                conn.execute("INSERT INTO users (name) VALUES (%s)", (name,))
            self.reply(201, {"name": name})

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
