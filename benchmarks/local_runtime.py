"""A local HTTP runtime for the delivery benchmarks: answers every POST with ``{"ok": true}``."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    """Reads the request body and answers at once."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def start_runtime() -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve on 127.0.0.1 (a free port) in a daemon thread; return it and the URL to POST to."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


def start_runtime_process() -> tuple[subprocess.Popen[str], str]:
    """Serve from a separate Python process, as a real runtime would (its request
    parsing then never competes with the app for the GIL); return it and the URL."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/hook"


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    served = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.daemon_threads = True
    print(served.server_address[1], flush=True)
    served.serve_forever()
