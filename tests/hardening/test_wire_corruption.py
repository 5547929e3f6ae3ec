"""Book responses corrupted on the wire: the clients raise ``InvalidResponse``, and nothing is traded.

Both sandboxes serve a scenario in which every game crosses; a hook on the sandbox corrupts
the JSON body of the book responses (truncated, not JSON, the wrong type, a NaN price, a
price outside (0, 1), an absurd size). The client must refuse the payload with
:class:`~arbkit.errors.InvalidResponse`, the scan must record the failure and find nothing
on the corrupted venue, and a paper bot must not trade.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from benchmarks.bench_scan import clients, sandboxes

import arbkit
from arbkit.errors import InvalidResponse
from arbkit.sandbox import Request, Response, SandboxApp
from arbkit.scanner import Scanner

Mutation = Callable[[bytes], bytes]
#: Every quoted price (both of Kalshi's number families carry one per level).
PRICE = re.compile(rb'"0\.\d+"')

MUTATIONS: dict[str, Mutation] = {
    "truncated": lambda body: body[: len(body) // 2],
    "not json": lambda body: b"<html>502 Bad Gateway</html>",
    "empty body": lambda body: b"",
    "wrong type": lambda body: b'"ok"',
    "nan price": lambda body: PRICE.sub(b'"NaN"', body),
    "price above one": lambda body: PRICE.sub(b'"1.5"', body),
    "huge number": lambda body: PRICE.sub(b'"1e999999"', body),
}
BOOK_PATHS = {"kalshi": "/markets/orderbooks", "polymarket": "/books"}


def corrupt(monkeypatch: pytest.MonkeyPatch, app: SandboxApp, path: str, mutation: Mutation) -> None:
    """Make ``app`` answer requests to ``path`` with a mutated body (the status stays 200)."""
    original = app.dispatch

    def dispatch(request: Request) -> Response:
        response = original(request)
        if request.path.endswith(path):
            response.body = mutation(response.body)
        return response

    monkeypatch.setattr(app, "dispatch", dispatch)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[dict[str, SandboxApp], dict[str, Any]]]:
    """Both sandboxes with 12 games, every one of them crossing, and arbkit's clients on them."""
    with sandboxes(12, arb_share=1.0) as (k_server, p_server):
        exchanges = clients(k_server, p_server)
        yield {"kalshi": k_server.app, "polymarket": p_server.app}, exchanges
        for client in exchanges.values():
            client.close()


def _scanner(exchanges: dict[str, Any]) -> Scanner:
    return Scanner(exchanges, bet_amount=Decimal(100))


def test_the_clean_scenario_has_opportunities_on_both_venues(world: Any) -> None:
    _, exchanges = world
    result = _scanner(exchanges).scan()
    assert not result.errors
    assert len(result.opportunities) == 12


@pytest.mark.parametrize("venue", sorted(BOOK_PATHS))
@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_a_corrupted_book_response_is_an_invalid_response_and_no_opportunity(
    world: Any, venue: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps, exchanges = world
    scanner = _scanner(exchanges)
    markets = scanner.markets()
    corrupt(monkeypatch, apps[venue], BOOK_PATHS[venue], MUTATIONS[kind])

    with pytest.raises(InvalidResponse):
        exchanges[venue].order_books(list(markets[venue]))

    result = scanner.scan()
    assert [(v, op) for v, op, _ in result.errors] == [(venue, "fetch order books")]
    assert result.opportunities == ()
    assert all(book.exchange != venue for book in result.books)


@pytest.mark.parametrize("venue", sorted(BOOK_PATHS))
def test_a_paper_bot_trades_nothing_from_a_corrupted_book(
    world: Any, venue: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    apps, exchanges = world
    settings = arbkit.Settings.from_env(env_file=None, environ={"ARBKIT_DATA_DIR": str(tmp_path)})
    bot = arbkit.Bot.from_settings(settings, exchanges=exchanges)
    corrupt(monkeypatch, apps[venue], BOOK_PATHS[venue], MUTATIONS["nan price"])
    report = bot.scan_and_trade()
    assert report.scan is not None
    assert any(v == venue for v, _, _ in report.scan.errors)
    assert report.results == ()
    state = bot.state()
    assert state.open_positions == ()
    assert state.trade_history == ()
    assert state.balance == state.initial_balance

    monkeypatch.undo()  # the same bot on clean books does trade: the refusal above was the corruption's
    assert bot.scan_and_trade().executed
    bot.close()
