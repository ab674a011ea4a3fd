"""`plattform-web`: the web service. Answers the health path on PORT.

With AUTO_MIGRATE=true (only the local stage sets it) the schema is applied
before the port opens, exactly like `plattform-migrate`.
"""

from __future__ import annotations

import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

from . import fakten, migrate, settings


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Handler(BaseHTTPRequestHandler):
    database_url = ""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != fakten.HEALTH_PATH:
            self._reply(404, {"status": "unbekannt", "pfad": self.path})
            return
        try:
            with psycopg.connect(self.database_url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            self._reply(503, {"status": "fehler", "datenbank": str(exc).strip()})
            return
        self._reply(200, {"status": "ok"})

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        pass  # health probes would flood the console


def _stop(*_args) -> None:
    raise KeyboardInterrupt


def serve(port: int, database_url: str) -> None:
    Handler.database_url = database_url
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    signal.signal(signal.SIGTERM, _stop)
    log(f"Web bereit auf Port {port}, Health unter {fakten.HEALTH_PATH}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main() -> int:
    try:
        database_url = settings.database_url()
        port = settings.web_port()
        if settings.auto_migrate():
            migrate.apply(database_url, settings.schema_file(), log=log)
        else:
            log(f"{fakten.AUTO_MIGRATE_ENV} ist nicht true: keine Migration beim Start.")
    except (settings.SettingsError, migrate.MigrationError, OSError, psycopg.Error) as exc:
        log(f"✗ Web-Start fehlgeschlagen: {exc}")
        return 1
    serve(port, database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
