"""A threaded loopback WebSocket server that venue sandboxes stream from.

Each venue's sandbox plugs a :class:`WsApp` into a :class:`WsSandboxServer`:

* :meth:`WsApp.accept` sees the handshake (path, query, headers) and refuses it by
  raising :class:`~arbkit.sandbox.server.HttpError` (the status goes back on the
  HTTP upgrade, as a venue refusing bad credentials does);
* :meth:`WsApp.on_message` handles each client frame (subscribe commands, pings) and
  answers with :meth:`WsConnection.send`; a subscription is a *topic* the venue names
  (``"orderbook:KXNBA-X"``), joined with :meth:`WsConnection.subscribe`, which also sends
  its snapshot under the publish lock, so no update can overtake it;
* the venue publishes each book change with :meth:`WsSandboxServer.publish`, giving a
  frame or a function of the connection (per-subscription sequence numbers live in
  ``conn.state``).

Every frame leaves through one bounded queue per connection and a sender thread; a
client that reads too slowly fills the queue and is dropped, as a real venue does.
Faults (:class:`WsFault`) fire on the next frame sent to a matching connection:

=================  ===================================================================
kind               effect
=================  ===================================================================
``drop``           close the TCP connection abruptly (no close frame) instead of sending
``freeze``         send nothing for ``seconds`` (``None``: until cleared); socket stays open
``gap``            skip this frame (its function still runs, so a venue's sequence
                   number advances and the client sees a gap)
``duplicate``      send this frame twice
``bad_frame``      send ``text`` (malformed) before this frame (``replace``: instead of it)
``slow_consumer``  stall the connection's sender for ``seconds``, as a client that stops
                   reading; frames pile up and a full queue drops the connection
=================  ===================================================================

``now=True`` applies ``drop``, ``freeze`` and ``slow_consumer`` at once to every
matching open connection instead of waiting for a frame. A control API passes its
JSON body to :meth:`WsFault.from_json` and :meth:`WsSandboxServer.inject`.

Needs the ``stream`` extra (``websockets``); the HTTP sandboxes do not.
"""

from __future__ import annotations

import contextlib
import fnmatch
import itertools
import json
import logging
import math
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import attrs
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsHttpRequest
from websockets.http11 import Response as WsHttpResponse
from websockets.sync.server import Server, ServerConnection, serve

from arbkit.errors import ValidationError
from arbkit.sandbox.faults import PendingFaults
from arbkit.sandbox.server import HttpError, Request
from arbkit.values import one_of

__all__ = [
    "WS_FAULT_KINDS",
    "WsApp",
    "WsConnection",
    "WsFault",
    "WsFaultPlan",
    "WsSandboxServer",
]

log = logging.getLogger(__name__)
# websockets logs each handshake's headers at DEBUG, and clients sign theirs (Kalshi's
# KALSHI-ACCESS-SIGNATURE): the server's own logger never goes below INFO.
_WS_LOG = logging.getLogger("arbkit.sandbox.ws.websockets")
_WS_LOG.setLevel(logging.INFO)

WS_FAULT_KINDS = frozenset({"drop", "freeze", "gap", "duplicate", "bad_frame", "slow_consumer"})
_NOW_KINDS = frozenset({"drop", "freeze", "slow_consumer"})

#: What :meth:`WsSandboxServer.publish` accepts: the frame, or a function of the
#: connection returning it (``None``: nothing for this connection).
Frame = str | Callable[["WsConnection"], str | None]

_STOP = object()


@attrs.define
class WsFault:
    """One injected stream fault; ``times=None`` keeps it until cleared.

    ``path`` and ``topic`` are glob patterns on the connection's path and on the topic
    of the frame (frames sent with :meth:`WsConnection.send` have topic ``""``).
    """

    kind: str = attrs.field(validator=one_of(WS_FAULT_KINDS, what="stream fault kind"))
    path: str = "*"
    topic: str = "*"
    times: int | None = 1
    #: ``freeze`` / ``slow_consumer`` duration; ``None`` until cleared.
    seconds: float | None = None
    #: The malformed frame ``bad_frame`` sends.
    text: str = '{"type": "broken'
    #: ``bad_frame``: send ``text`` instead of the frame rather than before it.
    replace: bool = False
    #: ``drop`` / ``freeze`` / ``slow_consumer``: act on open connections at once.
    now: bool = False

    def matches(self, path: str, topic: str) -> bool:
        """Whether this fault applies to a frame of ``topic`` on a connection at ``path``."""
        return fnmatch.fnmatchcase(path, self.path) and fnmatch.fnmatchcase(topic, self.topic)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WsFault:
        """Build a fault from a control-API body; :class:`ValidationError` on bad input."""
        if not isinstance(data, Mapping):
            raise ValidationError("a stream fault must be a JSON object")
        allowed = {f.name for f in attrs.fields(cls)}
        unknown = set(data) - allowed
        if unknown:
            raise ValidationError(f"unknown stream fault fields: {', '.join(sorted(unknown))}")
        kwargs = dict(data)
        for name in ("kind", "path", "topic", "text"):
            if name in kwargs and not isinstance(kwargs[name], str):
                raise ValidationError(f"stream fault {name} must be a string")
        for name in ("replace", "now"):
            if name in kwargs and not isinstance(kwargs[name], bool):
                raise ValidationError(f"stream fault {name} must be true or false")
        times = kwargs.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValidationError("stream fault times must be a positive integer or null")
        seconds = kwargs.get("seconds")
        if seconds is not None:
            try:
                value = float(seconds)
            except (TypeError, ValueError):
                raise ValidationError("stream fault seconds must be a number or null") from None
            if isinstance(seconds, bool) or not math.isfinite(value) or value < 0:
                raise ValidationError("stream fault seconds must be a non-negative number or null")
            kwargs["seconds"] = value
        return cls(**kwargs)

    def to_json(self) -> dict[str, Any]:
        """The fault as a control API shows it."""
        return attrs.asdict(self)


class WsFaultPlan(PendingFaults[WsFault]):
    """The pending stream faults of a WebSocket sandbox; ``fired`` holds ``(kind, connection id, topic)``."""

    def take(self, conn: WsConnection, topic: str) -> WsFault | None:
        """The first pending fault for this frame, consumed once."""
        return self._take(lambda f: f.matches(conn.path, topic), lambda f: (f.kind, conn.id, topic))


class WsApp:
    """A venue's side of the stream; override what the venue needs. Runs on server threads."""

    #: Name used in logs.
    venue = "sandbox"

    def accept(self, request: Request) -> None:
        """Check the handshake (path, headers); raise :class:`HttpError` to refuse it."""

    def on_open(self, conn: WsConnection) -> None:
        """A connection was accepted."""

    def on_message(self, conn: WsConnection, text: str) -> None:
        """One frame from the client (binary frames arrive decoded as UTF-8)."""

    def on_close(self, conn: WsConnection) -> None:
        """The connection ended (either side, or dropped); no more frames reach it."""


class WsConnection:
    """One client connection: its handshake, topics, venue state and send queue."""

    def __init__(self, server: WsSandboxServer, ws: ServerConnection, request: Request, conn_id: int) -> None:
        self.server = server
        self.id = conn_id
        self.request = request
        self.path = request.path
        #: Free for the venue's per-connection state (subscription ids, sequence numbers).
        self.state: dict[str, Any] = {}
        self.topics: set[str] = set()
        #: Frames handed to the socket, and frames a freeze or gap swallowed.
        self.sent = 0
        self.suppressed = 0
        #: Why the server ended the connection ("dropped", "slow consumer"), if it did.
        self.closed_reason = ""
        self._ws = ws
        self._queue: queue.Queue[object] = queue.Queue(maxsize=server.send_queue)
        self._frozen_until = 0.0
        self._stalled_until = 0.0
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name=f"ws-send-{conn_id}", daemon=True)

    def __repr__(self) -> str:
        return f"<WsConnection {self.id} {self.path} topics={len(self.topics)}>"

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self._closed.is_set()

    @property
    def frozen(self) -> bool:
        """Whether a freeze is holding this connection's frames back."""
        return time.monotonic() < self._frozen_until

    # -- what the venue calls -----------------------------------------------------------
    def send(self, frame: Frame, topic: str = "") -> bool:
        """Queue one frame (faults apply); ``False`` if nothing was queued."""
        with self.server.publish_lock:
            return self._emit(frame, topic)

    def subscribe(self, topic: str, snapshot: Frame | None = None) -> None:
        """Join ``topic``; its ``snapshot`` (if any) is sent before any later publish."""
        with self.server.publish_lock:
            self.topics.add(topic)
            if snapshot is not None:
                self._emit(snapshot, topic)
        self.server._notify()

    def unsubscribe(self, topic: str) -> None:
        """Leave ``topic``."""
        with self.server.publish_lock:
            self.topics.discard(topic)

    def freeze(self, seconds: float | None = None) -> None:
        """Send nothing for ``seconds`` (``None``: until :meth:`thaw`); frames are swallowed."""
        self._frozen_until = math.inf if seconds is None else time.monotonic() + seconds

    def thaw(self) -> None:
        """End a freeze or a stall."""
        self._frozen_until = 0.0
        self._stalled_until = 0.0
        self._wake.set()

    def stall(self, seconds: float | None = None) -> None:
        """Stop draining the send queue, as a client that stopped reading would force."""
        self._stalled_until = math.inf if seconds is None else time.monotonic() + seconds
        self._wake.set()

    def drop(self, reason: str = "dropped") -> None:
        """Close the TCP connection abruptly: the client sees no close frame (1006)."""
        if not self.closed_reason:
            self.closed_reason = reason
        self._closed.set()
        with contextlib.suppress(OSError):
            self._ws.socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._ws.socket.close()
        self._wake.set()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close politely with a close frame (after the frames already queued)."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait((_STOP, code, reason))

    # -- internals ----------------------------------------------------------------------
    def _emit(self, frame: Frame, topic: str) -> bool:
        # Called under the server's publish lock, so frames leave in publish order.
        if self.closed:
            return False
        fault = self.server.faults.take(self, topic)
        text = frame(self) if callable(frame) else frame
        if text is None:
            return False
        if fault is not None:
            if fault.kind == "drop":
                self.drop("dropped (injected)")
                return False
            if fault.kind == "freeze":
                self.freeze(fault.seconds)
            elif fault.kind == "slow_consumer":
                self.stall(fault.seconds)
            elif fault.kind == "gap":
                self.suppressed += 1
                return False
        if self.frozen:
            self.suppressed += 1
            return False
        frames = [text]
        if fault is not None and fault.kind == "duplicate":
            frames = [text, text]
        elif fault is not None and fault.kind == "bad_frame":
            frames = [fault.text] if fault.replace else [fault.text, text]
        for item in frames:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                log.info("%s stream: connection %s too slow, dropped", self.server.app.venue, self.id)
                self.drop("slow consumer")
                return False
        return True

    def _hold_while_stalled(self) -> None:
        while not self.closed:
            self._wake.clear()  # before reading the deadline, so a thaw in between is not missed
            stalled = self._stalled_until - time.monotonic()
            if stalled <= 0:
                return
            self._wake.wait(min(stalled, 1.0))

    def _send_loop(self) -> None:
        while not self.closed:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            # A stall (even one that began while this thread waited) holds the frame back.
            self._hold_while_stalled()
            if self.closed:
                return
            if isinstance(item, tuple) and item and item[0] is _STOP:
                with contextlib.suppress(ConnectionClosed, OSError):
                    self._ws.close(item[1], item[2])
                return
            try:
                self._ws.send(item)  # type: ignore[arg-type]
            except (ConnectionClosed, OSError):
                return
            self.sent += 1


class WsSandboxServer:
    """Serves a :class:`WsApp` on a loopback port (``port=0``: a free one) in threads.

    >>> with WsSandboxServer(MyVenueStream()) as server:   # doctest: +SKIP
    ...     client = websockets.sync.client.connect(server.url + "/ws/market")
    """

    def __init__(
        self,
        app: WsApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        send_queue: int = 1024,
        ping_interval: float | None = 20.0,
        max_size: int | None = 1 << 20,
    ) -> None:
        self.app = app
        self.host = host
        self.send_queue = send_queue
        self.faults = WsFaultPlan()
        #: Serialises publishing and subscribing: frames reach every connection in order.
        self.publish_lock = threading.RLock()
        self._port = port
        self._ping_interval = ping_interval
        self._max_size = max_size
        self._server: Server | None = None
        self._bound_port: int | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._conns: dict[int, WsConnection] = {}
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        #: Connections accepted since start (refused handshakes not counted).
        self.accepted = 0

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`; kept after :meth:`stop`)."""
        if self._bound_port is None:
            raise RuntimeError("stream sandbox not started")
        return self._bound_port

    @property
    def url(self) -> str:
        """``ws://host:port`` (append the venue's path)."""
        return f"ws://{self.host}:{self.port}"

    def start(self) -> WsSandboxServer:
        """Listen and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        self._stopping = False
        self._server = serve(
            self._handle,
            self.host,
            self._port,
            process_request=self._process_request,
            ping_interval=self._ping_interval,
            max_size=self._max_size,
            logger=_WS_LOG,
        )
        self._bound_port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="ws-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and end every connection (close frame 1001); idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with self._changed:
            self._stopping = True
        for conn in self.connections():
            conn.close(1001, "sandbox stopping")
        deadline = time.monotonic() + 2.0
        for conn in self.connections():
            conn._closed.wait(max(0.0, deadline - time.monotonic()))
            if not conn.closed:
                conn.drop("sandbox stopped")
        if self._thread is not None:
            self._thread.join(2.0)

    def __enter__(self) -> WsSandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what the venue and tests call ----------------------------------------------------
    def connections(self, path: str = "*") -> list[WsConnection]:
        """Open connections whose path matches the glob ``path``."""
        with self._changed:
            return [c for c in self._conns.values() if not c.closed and fnmatch.fnmatchcase(c.path, path)]

    def subscribers(self, topic: str) -> list[WsConnection]:
        """Open connections subscribed to ``topic``."""
        with self._changed:
            return [c for c in self._conns.values() if not c.closed and topic in c.topics]

    def publish(self, topic: str, frame: Frame) -> int:
        """Send a frame to every subscriber of ``topic``; returns how many got it queued."""
        count = 0
        with self.publish_lock:
            for conn in self.subscribers(topic):
                count += conn._emit(frame, topic)
        return count

    def broadcast(self, frame: Frame, path: str = "*") -> int:
        """Send a frame to every open connection at ``path`` (heartbeats, lifecycle)."""
        count = 0
        with self.publish_lock:
            for conn in self.connections(path):
                count += conn._emit(frame, "")
        return count

    def inject(self, fault: WsFault) -> WsFault:
        """Queue a fault, or apply it at once to open connections when ``fault.now``."""
        if fault.now and fault.kind in _NOW_KINDS:
            with self.faults._lock:
                for conn in self.connections(fault.path):
                    self.faults.fired.append((fault.kind, conn.id, ""))
            for conn in self.connections(fault.path):
                if fault.kind == "drop":
                    conn.drop("dropped (injected)")
                elif fault.kind == "freeze":
                    conn.freeze(fault.seconds)
                else:
                    conn.stall(fault.seconds)
            return fault
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        """Forget pending faults and end every freeze and stall."""
        self.faults.clear()
        for conn in self.connections():
            conn.thaw()

    def drop_all(self, path: str = "*") -> int:
        """Drop every open connection at ``path`` abruptly; returns how many."""
        conns = self.connections(path)
        for conn in conns:
            conn.drop("dropped (injected)")
        return len(conns)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` holds after a connect, subscribe or close (tests)."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_subscribed(self, topic: str, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until ``count`` connections are subscribed to ``topic``."""
        return self.wait_for(lambda: len(self.subscribers(topic)) >= count, timeout)

    def status(self) -> dict[str, Any]:
        """Connections, topics and faults, for a sandbox's state endpoint."""
        return {
            "url": self.url if self._bound_port is not None else None,
            "accepted": self.accepted,
            "connections": [
                {
                    "id": c.id,
                    "path": c.path,
                    "topics": sorted(c.topics),
                    "sent": c.sent,
                    "suppressed": c.suppressed,
                    "frozen": c.frozen,
                }
                for c in self.connections()
            ],
            "faults": [f.to_json() for f in self.faults.pending()],
        }

    # -- internals ------------------------------------------------------------------------
    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _process_request(self, ws: ServerConnection, raw: WsHttpRequest) -> WsHttpResponse | None:
        request = Request("GET", raw.path, dict(raw.headers.raw_items()), b"")
        try:
            self.app.accept(request)
        except HttpError as exc:
            body = exc.payload if isinstance(exc.payload, str) else json.dumps(exc.payload, default=str)
            response = ws.respond(exc.status, body)
            for name, value in exc.headers.items():
                response.headers[name] = value
            return response
        ws.arbkit_request = request  # type: ignore[attr-defined]
        return None

    def _handle(self, ws: ServerConnection) -> None:
        request = getattr(ws, "arbkit_request", None)
        if not isinstance(request, Request):
            request = Request("GET", ws.request.path if ws.request else "/", {}, b"")
        conn = WsConnection(self, ws, request, next(self._ids))
        with self._changed:
            self._conns[conn.id] = conn
            self.accepted += 1
            stopping = self._stopping
            self._changed.notify_all()
        conn._sender.start()
        if stopping:
            conn.close(1001, "sandbox stopping")
        try:
            self.app.on_open(conn)
            for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                try:
                    self.app.on_message(conn, text)
                except Exception:
                    log.exception("%s stream: handler failed on a frame", self.app.venue)
        except (ConnectionClosed, OSError):
            pass
        finally:
            conn._closed.set()
            conn._wake.set()
            try:
                self.app.on_close(conn)
            except Exception:
                log.exception("%s stream: close handler failed", self.app.venue)
            with self._changed:
                self._conns.pop(conn.id, None)
                self._changed.notify_all()
