"""The shared WebSocket sandbox toolkit, driven by a plain websockets client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from arbkit.errors import ValidationError
from arbkit.sandbox import HttpError, Request, WsApp, WsConnection, WsFault, WsSandboxServer


class Venue(WsApp):
    """A toy venue: token auth, ``{"sub": topic}`` subscribes, frames carry a sequence number."""

    venue = "toy"

    def __init__(self) -> None:
        self.closed: list[int] = []

    def accept(self, request: Request) -> None:
        if request.path != "/ws":
            raise HttpError(404, {"error": "no such stream"})
        if request.header("Authorization") != "Bearer good":
            raise HttpError(401, {"error": "bad credentials"})

    def on_message(self, conn: WsConnection, text: str) -> None:
        if text == "PING":
            conn.send("PONG")
            return
        topic = json.loads(text)["sub"]
        conn.state[topic] = 0
        conn.subscribe(topic, lambda c: frame(c, topic, "snapshot"))

    def on_close(self, conn: WsConnection) -> None:
        self.closed.append(conn.id)


def frame(conn: WsConnection, topic: str, kind: str = "delta") -> str:
    conn.state[topic] += 1
    return json.dumps({"topic": topic, "kind": kind, "seq": conn.state[topic]})


@pytest.fixture
def server() -> Iterator[WsSandboxServer]:
    with WsSandboxServer(Venue(), send_queue=8) as srv:
        yield srv


def client(server: WsSandboxServer, **kwargs: Any) -> ClientConnection:
    return connect(server.url + "/ws", additional_headers={"Authorization": "Bearer good"}, **kwargs)


def subscribed(server: WsSandboxServer, topic: str = "book:A", **kwargs: Any) -> ClientConnection:
    ws = client(server, **kwargs)
    ws.send(json.dumps({"sub": topic}))
    assert server.wait_subscribed(topic)
    assert json.loads(ws.recv(timeout=5))["kind"] == "snapshot"
    return ws


def publish(server: WsSandboxServer, topic: str = "book:A") -> int:
    return server.publish(topic, lambda c: frame(c, topic))


def drain(ws: ClientConnection) -> None:
    while True:
        ws.recv(timeout=5)


def seqs(ws: ClientConnection, n: int) -> list[int]:
    return [json.loads(ws.recv(timeout=5))["seq"] for _ in range(n)]


def test_serves_on_a_free_loopback_port_and_stops() -> None:
    srv = WsSandboxServer(Venue()).start()
    assert srv.url.startswith("ws://127.0.0.1:")
    assert srv.port > 0
    ws = client(srv)
    srv.stop()
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)
    with pytest.raises(ConnectionRefusedError):
        connect(srv.url + "/ws", open_timeout=1)


def test_handshake_refused_with_the_venue_status(server: WsSandboxServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url + "/ws", additional_headers={"Authorization": "Bearer bad"})
    assert refused.value.response.status_code == 401
    assert b"bad credentials" in refused.value.response.body
    with pytest.raises(InvalidStatus) as missing:
        connect(server.url + "/elsewhere", additional_headers={"Authorization": "Bearer good"})
    assert missing.value.response.status_code == 404
    assert server.accepted == 0


def test_snapshot_then_published_frames_in_order_to_subscribers_only(server: WsSandboxServer) -> None:
    a = subscribed(server, "book:A")
    b = subscribed(server, "book:B")
    for _ in range(3):
        assert publish(server, "book:A") == 1
    assert seqs(a, 3) == [2, 3, 4]
    a.send("PING")
    assert a.recv(timeout=5) == "PONG"
    publish(server, "book:B")
    assert seqs(b, 1) == [2]
    a.close()
    assert server.wait_for(lambda: not server.subscribers("book:A"))
    assert publish(server, "book:A") == 0


def test_gap_skips_one_frame_while_the_sequence_advances(server: WsSandboxServer) -> None:
    ws = subscribed(server)
    server.inject(WsFault("gap", topic="book:A"))
    for _ in range(3):
        publish(server)
    assert seqs(ws, 2) == [3, 4]
    assert server.faults.fired == [("gap", server.connections()[0].id, "book:A")]


def test_duplicate_sends_the_next_frame_twice(server: WsSandboxServer) -> None:
    ws = subscribed(server)
    server.inject(WsFault("duplicate", topic="book:*"))
    publish(server)
    publish(server)
    assert seqs(ws, 3) == [2, 2, 3]


def test_bad_frame_arrives_before_the_real_one_or_instead_of_it(server: WsSandboxServer) -> None:
    ws = subscribed(server)
    server.inject(WsFault("bad_frame", text="{not json"))
    publish(server)
    assert ws.recv(timeout=5) == "{not json"
    assert seqs(ws, 1) == [2]
    server.inject(WsFault("bad_frame", text="\x00", replace=True))
    publish(server)
    publish(server)
    assert ws.recv(timeout=5) == "\x00"
    assert seqs(ws, 1) == [4]


def test_drop_closes_abruptly_without_a_close_frame(server: WsSandboxServer) -> None:
    ws = subscribed(server)
    server.inject(WsFault("drop"))
    publish(server)
    with pytest.raises(ConnectionClosedError) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is None  # no close frame: the venue vanished
    assert server.wait_for(lambda: not server.connections())
    # a new connection is served as usual
    again = subscribed(server)
    publish(server)
    assert seqs(again, 1) == [2]


def test_drop_now_hits_every_open_connection(server: WsSandboxServer) -> None:
    first, second = client(server), client(server)
    assert server.wait_for(lambda: len(server.connections()) == 2)
    server.inject(WsFault.from_json({"kind": "drop", "now": True}))
    for ws in (first, second):
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=5)
    venue = server.app
    assert isinstance(venue, Venue)
    assert server.wait_for(lambda: len(venue.closed) == 2)


def test_freeze_swallows_frames_with_the_socket_open_until_thawed(server: WsSandboxServer) -> None:
    ws = subscribed(server)
    server.inject(WsFault("freeze", now=True))
    publish(server)
    ws.send("PING")  # even answers stop, as from a venue that hangs
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.3)
    ws.ping().wait(5)  # the TCP connection is still up
    server.clear_faults()
    publish(server)
    assert seqs(ws, 1) == [3]


def test_timed_freeze_ends_by_itself(server: WsSandboxServer) -> None:
    ws = subscribed(server)
    server.inject(WsFault("freeze", seconds=0.2))
    publish(server)  # triggers the freeze and is swallowed
    assert publish(server) == 0
    time.sleep(0.25)  # the fault is a wall-clock duration by definition
    publish(server)
    assert seqs(ws, 1) == [4]


def test_slow_consumer_is_dropped_when_its_queue_fills(server: WsSandboxServer) -> None:
    ws = subscribed(server)
    conn = server.connections()[0]
    server.inject(WsFault("slow_consumer", now=True))
    sent = [publish(server) for _ in range(9)]
    assert sent == [1] * 8 + [0]  # queue of 8; the 9th finds it full
    assert conn.closed_reason == "slow consumer"
    with pytest.raises(ConnectionClosedError):
        drain(ws)


def test_a_stall_holds_back_even_the_very_next_frame(server: WsSandboxServer) -> None:
    ws = subscribed(server)
    server.inject(WsFault("slow_consumer", now=True))
    publish(server)
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.3)
    server.clear_faults()
    assert seqs(ws, 1) == [2]


def test_a_client_that_stops_reading_is_dropped_as_slow() -> None:
    with WsSandboxServer(Venue(), send_queue=4) as srv:
        ws = subscribed(srv, max_queue=1)
        big = "x" * 65536
        dropped = False
        for _ in range(2000):
            if not srv.publish("book:A", big):
                dropped = True
                break
        assert dropped
        ws.close()


def test_faults_from_control_api_json_are_validated() -> None:
    fault = WsFault.from_json({"kind": "freeze", "seconds": 1.5, "path": "/ws*", "times": None})
    assert fault.seconds == 1.5
    assert fault.times is None
    assert WsFault.from_json(fault.to_json()) == fault
    for bad in (
        {"kind": "explode"},
        {"kind": "drop", "extra": 1},
        {"kind": "freeze", "seconds": -1},
        {"kind": "freeze", "seconds": "soon"},
        {"kind": "gap", "times": 0},
        {"kind": "drop", "now": "yes"},
        ["drop"],
    ):
        with pytest.raises(ValidationError):
            WsFault.from_json(bad)  # type: ignore[arg-type]


def test_status_lists_connections_topics_and_pending_faults(server: WsSandboxServer) -> None:
    subscribed(server)
    server.inject(WsFault("gap", topic="book:A", times=2))
    status = server.status()
    assert status["connections"][0]["topics"] == ["book:A"]
    assert status["faults"][0]["kind"] == "gap"
    assert status["faults"][0]["times"] == 2


def test_handshake_headers_never_reach_the_logs_even_at_debug(
    server: WsSandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.DEBUG):
        ws = connect(
            server.url + "/ws",
            additional_headers={"Authorization": "Bearer good", "X-Signature": "s3cr3t-sig"},
        )
        ws.send("PING")
        assert ws.recv(timeout=5) == "PONG"
        ws.close()
        assert server.wait_for(lambda: not server.connections())
    server_side = [
        r for r in caplog.records if not r.name.startswith("websockets.client")
    ]  # not our test client
    assert server_side  # the server did log (at INFO)
    assert all("s3cr3t-sig" not in r.getMessage() for r in server_side)
