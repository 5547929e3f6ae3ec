"""Scanner: cached discovery, one book request per venue for matched markets only, errors reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from arbkit.models import BookKey, Market, OrderBook
from arbkit.scanner import Scanner
from tests.core.test_bot import pair_by_title
from tests.core.test_trading_fakes import Clock, FakeExchange, binary_market

D = Decimal


class RecordingExchange(FakeExchange):
    """Remembers which markets each ``order_books`` call asked for."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.book_requests: list[list[str]] = []

    def order_books(self, markets: Sequence[Market]) -> Mapping[BookKey, OrderBook]:
        self.book_requests.append(sorted(m.id for m in markets))
        return super().order_books(markets)


def venues(clock: Clock) -> tuple[RecordingExchange, RecordingExchange]:
    alpha, beta = RecordingExchange("alpha"), RecordingExchange("beta")
    a = alpha.add_market(binary_market("alpha", "A"))
    alpha.add_market(binary_market("alpha", "C", title="Only on alpha"))
    b = beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "10")], at=clock.now)
    beta.set_book(b, "no", [("0.50", "10")], at=clock.now)
    return alpha, beta


def scanner(clock: Clock, *exchanges: FakeExchange, **kw: Any) -> Scanner:
    options: dict[str, Any] = {"bet_amount": D(100), "matcher": pair_by_title, "refresh_seconds": 300, **kw}
    return Scanner({e.name: e for e in exchanges}, clock=clock, **options)


def test_scan_ranks_opportunities_and_fetches_books_once_per_venue_for_matched_markets() -> None:
    clock = Clock()
    alpha, beta = venues(clock)
    result = scanner(clock, alpha, beta).scan()
    (opportunity,) = result.opportunities
    assert opportunity.profit == D(1)
    assert alpha.book_requests == [["A"]]  # the unmatched market C is not fetched
    assert beta.book_requests == [["B"]]
    assert result.book_requests == {"alpha": 1, "beta": 1}
    assert result.market_count == 3


def test_ranking_is_by_profit_then_roi() -> None:
    clock = Clock()
    alpha, beta = venues(clock)
    small = alpha.add_market(binary_market("alpha", "S", title="Small"))
    small_b = beta.add_market(binary_market("beta", "SB", title="Small"))
    alpha.set_book(small, "yes", [("0.30", "2")], at=clock.now)
    beta.set_book(small_b, "no", [("0.30", "2")], at=clock.now)
    result = scanner(clock, alpha, beta).scan()
    assert [o.title for o in result.opportunities] == ["Lakers at Celtics", "Small"]
    assert result.opportunities[1].roi_percent > result.opportunities[0].roi_percent


def test_markets_are_cached_until_the_refresh_interval() -> None:
    clock = Clock()
    alpha, beta = venues(clock)
    scan = scanner(clock, alpha, beta)
    scan.scan()
    clock.advance(seconds=299)
    scan.scan()
    assert alpha.calls.count("markets") == 1
    clock.advance(seconds=1)
    scan.scan()
    assert alpha.calls.count("markets") == 2
    scan.invalidate("alpha")
    scan.scan()
    assert alpha.calls.count("markets") == 3
    assert beta.calls.count("markets") == 2


def test_matching_is_reused_until_discovery_lists_markets_again() -> None:
    clock = Clock()
    alpha, beta = venues(clock)
    calls: list[int] = []

    def counting_matcher(markets: Mapping[str, Sequence[Market]], **options: Any) -> Any:
        calls.append(1)
        return pair_by_title(markets, **options)

    scan = scanner(clock, alpha, beta, matcher=counting_matcher)
    first = scan.scan()
    second = scan.scan()
    assert len(calls) == 1
    assert second.matches == first.matches
    assert len(second.opportunities) == 1
    clock.advance(seconds=300)  # discovery refreshes: the lists are new, so matching runs again
    scan.scan()
    assert len(calls) == 2
    scan.match_options = {"min_confidence": D("0.9")}
    scan.scan()
    assert len(calls) == 3


def test_a_failing_venue_keeps_its_cached_markets_and_is_reported() -> None:
    clock = Clock()
    alpha, beta = venues(clock)
    seen: list[tuple[str, str]] = []
    scan = scanner(clock, alpha, beta, on_error=lambda exc, venue, op: seen.append((venue, op)))
    scan.scan()
    clock.advance(seconds=600)
    alpha.fail.add("markets")

    result = scan.scan()

    assert len(result.opportunities) == 1  # the cached alpha markets were used
    assert seen == [("alpha", "list markets")]
    assert result.errors[0][2] == "markets is down [alpha, HTTP 503, code=down]"


def test_a_venue_without_markets_means_nothing_to_match_and_no_book_requests() -> None:
    clock = Clock()
    alpha, beta = venues(clock)
    beta.fail.add("markets")
    result = scanner(clock, alpha, beta).scan()
    assert result.opportunities == ()
    assert result.matches == ()
    assert alpha.book_requests == []


def test_a_crashing_matcher_is_reported_not_raised() -> None:
    clock = Clock()
    alpha, beta = venues(clock)

    def broken(markets: Mapping[str, Sequence[Market]]) -> list[Any]:
        raise RuntimeError("matcher bug")

    seen: list[str] = []
    result = scanner(clock, alpha, beta, on_error=lambda e, v, o: seen.append(o), matcher=broken).scan()
    assert result.opportunities == ()
    assert seen == ["match markets"]


def test_stale_books_are_not_used() -> None:
    clock = Clock()
    alpha, beta = venues(clock)
    clock.advance(seconds=11)
    assert scanner(clock, alpha, beta, max_book_age_seconds=D(10)).scan().opportunities == ()
    assert len(scanner(clock, alpha, beta, max_book_age_seconds=D(12)).scan().opportunities) == 1


def test_default_matcher_is_the_engines_match_markets_with_explicit_pairs() -> None:
    from arbkit.engine.matching import ContractSpec, PairSpec

    clock = Clock()
    alpha, beta = venues(clock)
    pairs = [
        PairSpec("Lakers at Celtics", [ContractSpec("alpha", "A", "yes"), ContractSpec("beta", "B", "yes")])
    ]
    scan = Scanner(
        {"alpha": alpha, "beta": beta},
        bet_amount=D(100),
        match_options={"pairs": pairs},
        clock=clock,
    )
    result = scan.scan()
    (match,) = result.matches
    assert match.method == "explicit"
    (opportunity,) = result.opportunities
    assert [(leg.exchange, leg.outcome_id) for leg in opportunity.legs] == [("alpha", "yes"), ("beta", "no")]
