"""The shared sandbox pieces: matching engine, fault plan and control API."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from arbkit import ValidationError
from arbkit.sandbox import (
    BinaryBook,
    BookSide,
    Fault,
    FaultPlan,
    Response,
    RestingOrder,
    SandboxApp,
    SandboxServer,
)

D = Decimal


def ask(order_id: str, price: str, size: str, account: str = "house") -> RestingOrder:
    return RestingOrder(order_id, account, BookSide.ASK, D(price), D(size))


def bid(order_id: str, price: str, size: str, account: str = "house") -> RestingOrder:
    return RestingOrder(order_id, account, BookSide.BID, D(price), D(size))


class TestBinaryBook:
    def test_buyer_takes_lowest_asks_first_at_maker_prices(self) -> None:
        book = BinaryBook()
        for order in (ask("a2", "0.48", "5"), ask("a1", "0.47", "3"), ask("a3", "0.52", "10")):
            book.add(order)
        matches = book.take("t", "alice", BookSide.BID, D("0.50"), D("6"))
        assert [(m.maker_order_id, m.price, m.size) for m in matches] == [
            ("a1", D("0.47"), D("3")),
            ("a2", D("0.48"), D("3")),
        ]
        assert book.levels(BookSide.ASK) == [(D("0.48"), D("2")), (D("0.52"), D("10"))]
        assert book.get("a1") is None
        assert book.get("a2") is not None

    def test_seller_takes_highest_bids_first(self) -> None:
        book = BinaryBook()
        book.add(bid("b1", "0.40", "2"))
        book.add(bid("b2", "0.45", "2"))
        matches = book.take("t", "alice", BookSide.ASK, D("0.41"), D("5"))
        assert [(m.price, m.size) for m in matches] == [(D("0.45"), D("2"))]  # 0.40 is below the limit

    def test_time_priority_within_a_level(self) -> None:
        book = BinaryBook()
        book.add(ask("first", "0.50", "1"))
        book.add(ask("second", "0.50", "1"))
        assert [m.maker_order_id for m in book.take("t", "x", BookSide.BID, D("0.5"), D("1"))] == ["first"]

    def test_own_orders_are_skipped(self) -> None:
        book = BinaryBook()
        book.add(ask("mine", "0.40", "5", account="alice"))
        book.add(ask("theirs", "0.45", "5"))
        assert book.fillable(BookSide.BID, D("0.50"), account="alice") == D("5")
        matches = book.take("t", "alice", BookSide.BID, D("0.50"), D("5"))
        assert [m.maker_order_id for m in matches] == ["theirs"]
        assert book.get("mine") is not None

    def test_cancel_and_cancel_account(self) -> None:
        book = BinaryBook()
        book.add(ask("a", "0.5", "1"))
        book.add(bid("b", "0.4", "1"))
        book.add(bid("c", "0.3", "1", account="alice"))
        assert book.cancel("a") is not None
        assert book.cancel("a") is None
        assert [o.order_id for o in book.cancel_account("house")] == ["b"]
        assert len(book) == 1
        assert book.levels(BookSide.BID) == [(D("0.3"), D("1"))]

    @given(
        asks=st.lists(st.tuples(st.integers(1, 99), st.integers(1, 50)), min_size=0, max_size=20),
        limit=st.integers(1, 99),
        size=st.integers(1, 200),
    )
    def test_never_fills_more_than_asked_or_beyond_the_limit(
        self, asks: list[tuple[int, int]], limit: int, size: int
    ) -> None:
        book = BinaryBook()
        for i, (price, qty) in enumerate(asks):
            book.add(ask(f"a{i}", str(D(price) / 100), str(qty)))
        available = book.fillable(BookSide.BID, D(limit) / 100)
        matches = book.take("t", "alice", BookSide.BID, D(limit) / 100, D(size))
        filled = sum((m.size for m in matches), D(0))
        assert filled == min(D(size), available)
        assert all(m.price <= D(limit) / 100 for m in matches)
        prices = [m.price for m in matches]
        assert prices == sorted(prices)


class TestFaults:
    def test_fault_fires_the_given_number_of_times(self) -> None:
        plan = FaultPlan()
        plan.add(Fault("status", method="POST", path="/order*", times=2))
        assert plan.take({"status"}, "GET", "/orders") is None
        assert plan.take({"status"}, "POST", "/orders") is not None
        assert plan.take({"status"}, "POST", "/orders") is not None
        assert plan.take({"status"}, "POST", "/orders") is None

    def test_persistent_latency_adds_up(self) -> None:
        plan = FaultPlan()
        plan.add(Fault("latency", delay_ms=50, times=None))
        plan.add(Fault("latency", delay_ms=20, path="/books"))
        assert plan.latency_ms("POST", "/books") == 70
        assert plan.latency_ms("POST", "/books") == 50

    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "explode"},
            {"kind": "status", "status": "500"},
            {"kind": "status", "times": -1},
            {"kind": "partial_fill", "fill_ratio": "1.5"},
            {"kind": "status", "colour": "red"},
            ["not", "an", "object"],
        ],
    )
    def test_bad_fault_bodies_are_refused(self, body: object) -> None:
        with pytest.raises(ValidationError):
            Fault.from_json(body)  # type: ignore[arg-type]


class Toy(SandboxApp):
    venue = "toy"

    def __init__(self) -> None:
        super().__init__()
        self.router.add("GET", "/ping", lambda r, p: Response.json({"pong": True}))
        self.router.add("POST", "/orders", self._order)
        self.seen_faults: list[str] = []

    def _order(self, request: object, params: dict[str, str]) -> Response:
        fault = self.order_fault(request)  # type: ignore[arg-type]
        self.seen_faults.append(fault.kind if fault else "none")
        return Response.json({"ok": True}, 201)


@pytest.fixture
def toy() -> Iterator[tuple[Toy, str]]:
    app = Toy()
    with SandboxServer(app) as server:
        yield app, server.url


def test_control_api_adds_lists_and_clears_faults(toy: tuple[Toy, str]) -> None:
    app, url = toy
    reply = requests.post(
        f"{url}/_sandbox/faults",
        json=[{"kind": "reject", "method": "POST"}, {"kind": "status", "path": "/ping"}],
        timeout=5,
    )
    assert reply.status_code == 201
    assert len(requests.get(f"{url}/_sandbox/faults", timeout=5).json()["faults"]) == 2
    assert requests.get(f"{url}/ping", timeout=5).status_code == 500
    assert requests.post(f"{url}/orders", json={}, timeout=5).status_code == 201
    assert app.seen_faults == ["reject"]
    requests.delete(f"{url}/_sandbox/faults", timeout=5)
    assert requests.get(f"{url}/_sandbox/faults", timeout=5).json() == {"faults": []}


def test_control_api_refuses_bad_input_with_400(toy: tuple[Toy, str]) -> None:
    _, url = toy
    assert requests.post(f"{url}/_sandbox/faults", data=b"{not json", timeout=5).status_code == 400
    assert requests.post(f"{url}/_sandbox/faults", json={"kind": "boom"}, timeout=5).status_code == 400
    assert requests.post(f"{url}/_sandbox/scenario", json={}, timeout=5).status_code == 501


def test_requests_are_counted_per_path(toy: tuple[Toy, str]) -> None:
    _, url = toy
    for _ in range(3):
        requests.get(f"{url}/ping", timeout=5)
    seen = requests.get(f"{url}/_sandbox/requests", timeout=5).json()
    assert seen["by_path"] == {"GET /ping": 3}
    requests.delete(f"{url}/_sandbox/requests", timeout=5)
    assert requests.get(f"{url}/_sandbox/requests", timeout=5).json()["total"] == 0


def test_unknown_path_and_wrong_method(toy: tuple[Toy, str]) -> None:
    _, url = toy
    assert requests.get(f"{url}/nope", timeout=5).status_code == 404
    assert requests.delete(f"{url}/ping", timeout=5).status_code == 405
