"""`plattform-health -- COMMAND ...`: run COMMAND with a tiny health endpoint.

Cloud Run needs a listening port even for queue consumers; this wrapper
answers the health path on PORT while the wrapped process lives, forwards
SIGTERM/SIGINT to it and exits with its exit code.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import fakten, settings


def _handler(child: subprocess.Popen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path.split("?", 1)[0] == fakten.HEALTH_WRAPPER_PATH and child.poll() is None
            self.send_response(200 if ok else (404 if child.poll() is None else 503))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("Aufruf: plattform-health -- BEFEHL [ARGUMENTE …]", file=sys.stderr)
        return 2
    port = settings.web_port(default=fakten.HEALTH_WRAPPER_PORT)
    child = subprocess.Popen(args)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda s, _f: child.send_signal(s))
    server = ThreadingHTTPServer(("0.0.0.0", port), _handler(child))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    code = child.wait()
    server.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
