"""One venue's sandbox (REST and stream) in its own process, for latency measured across processes.

In one process, the sandboxes' server threads share the interpreter with the client, so a
client's CPU-bound work (signing an order) delays the sandbox noting the order's arrival. Run
apart, as a real venue is, the sandbox notes each POST with ``time.monotonic_ns()`` (one clock
for every process on the machine) and the bench reads the notes.

``python -m benchmarks._sandbox_proc kalshi|polymarket`` reads JSON commands on stdin, one a
line, and answers one JSON line each:

* ``{"op": "setup", "scenario": {...}, "account": [...]}`` -> ``{"rest": url, "ws": url}``;
* ``{"op": "book", "args": [...], "kwargs": {...}}`` -> ``{"t0": ns}`` (taken just before the change);
* ``{"op": "arrivals"}`` -> ``{"arrivals": [ns, ...]}`` (POSTs since the last call).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from arbkit.sandbox import SandboxServer


def _timed_posts(app: Any, arrivals: list[int], lock: threading.Lock) -> None:
    routes = app.router._routes
    for i, (method, regex, handler) in enumerate(routes):
        if method == "POST" and "_sandbox" not in regex.pattern:

            def timed(request: Any, params: Any, _handler: Any = handler) -> Any:
                with lock:
                    arrivals.append(time.monotonic_ns())
                return _handler(request, params)

            routes[i] = (method, regex, timed)


def main(venue: str) -> int:
    if venue == "kalshi":
        from arbkit_kalshi.sandbox import KalshiSandbox
        from arbkit_kalshi.sandbox.stream import WS_PATH, serve_stream

        app: Any = KalshiSandbox()
        path = WS_PATH
    else:
        from arbkit_polymarket.sandbox import PolymarketSandbox
        from arbkit_polymarket.sandbox.stream import serve_stream  # type: ignore[assignment]

        app = PolymarketSandbox()
        path = "/ws"
    arrivals: list[int] = []
    lock = threading.Lock()
    servers: list[Any] = []
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "setup":
            app.load_scenario(command["scenario"])
            app.add_account(*command["account"])
            _timed_posts(app, arrivals, lock)
            http = SandboxServer(app).__enter__()
            ws = serve_stream(app)
            servers += [http, ws]
            answer: dict[str, Any] = {"rest": http.url, "ws": ws.url + path}
        elif op == "book":
            t0 = time.monotonic_ns()
            app.set_book(*command.get("args", []), **command.get("kwargs", {}))
            answer = {"t0": t0}
        elif op == "arrivals":
            with lock:
                answer = {"arrivals": list(arrivals)}
                arrivals.clear()
        else:
            break
        print(json.dumps(answer), flush=True)
    for server in reversed(servers):
        server.__exit__(None, None, None) if hasattr(server, "__exit__") else server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
