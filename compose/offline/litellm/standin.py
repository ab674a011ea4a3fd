"""Offline stand-in for the LiteLLM proxy: answers only its health path.

Usage: litellm-standin --port PORT [ignored litellm options ...]
The health path comes from the environment variable LITELLM_STANDIN_HEALTH.
"""

import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEALTH = os.environ.get("LITELLM_STANDIN_HEALTH", "")


class Handler(BaseHTTPRequestHandler):
    server_version = "litellm-offline-standin"

    def do_GET(self) -> None:
        if HEALTH and self.path.split("?", 1)[0] == HEALTH:
            self._reply(200, {"status": "ok", "standin": "offline stand-in, not LiteLLM"})
        else:
            self._reply(404, {"error": "offline stand-in: only the health path exists"})

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Umgebungsmatrix-Standin", "litellm")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write("standin: " + fmt % args + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description="Offline stand-in for LiteLLM (health path only)")
    parser.add_argument("--port", type=int, required=True)
    args, _ignored = parser.parse_known_args()
    if not HEALTH:
        sys.exit("LITELLM_STANDIN_HEALTH ist nicht gesetzt")
    # PID 1 in a container ignores SIGTERM without a handler: stop promptly
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"LiteLLM OFFLINE-ERSATZ (kein echtes LiteLLM) auf Port {args.port}, Health {HEALTH}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
