"""Explicit pairs files, generic proposals and resolution-risk differences."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from arbkit.engine.detect import detect
from arbkit.engine.fees import NoFees
from arbkit.engine.matching import (
    MarketMatch,
    ResolutionPolicy,
    load_pairs,
    match_markets,
    parse_pairs,
    proposals,
    resolve_pairs,
)
from arbkit.engine.matching.resolution import compare, threshold_numbers
from arbkit.errors import ConfigError
from arbkit.models import Market, OrderBook, Outcome
from tests.core.test_matching_sports import kalshi_game, poly_game

CLOSE = datetime(2025, 12, 10, 19, 0, tzinfo=UTC)


def kalshi(ticker: str, title: str, close: datetime = CLOSE, rules: str = "") -> Market:
    return Market(
        exchange="kalshi",
        id=ticker,
        title=title,
        outcomes=[Outcome("yes", "Yes"), Outcome("no", "No")],
        status="open",
        close_time=close,
        fees=NoFees(),
        rules=rules,
    )


def poly(cid: str, title: str, close: datetime = CLOSE, rules: str = "") -> Market:
    return Market(
        exchange="polymarket",
        id=cid,
        title=title,
        outcomes=[Outcome(f"{cid}-y", "Yes"), Outcome(f"{cid}-n", "No")],
        status="open",
        close_time=close,
        fees=NoFees(),
        rules=rules,
    )


FED_K = kalshi("KXFED-25DEC-C25", "Will the Fed cut rates by 25bps in December 2025?")
FED_P = poly("0xfed", "Fed cuts rates by 25bps in December 2025?")
PAIRS_TOML = """
[[pair]]
title = "Fed December cut"
polymarket = { market = "0xfed", outcome = "Yes" }
kalshi = { market = "KXFED-25DEC-C25", side = "yes" }
"""


# -- explicit pairs -----------------------------------------------------------------------------------


def test_pairs_file_maps_a_polymarket_outcome_to_a_kalshi_side(tmp_path: Path) -> None:
    path = tmp_path / "pairs.toml"
    path.write_text(PAIRS_TOML)
    match = match_markets({"kalshi": [FED_K], "polymarket": [FED_P]}, pairs=path)[0]
    assert (match.method, match.confidence, match.title) == ("explicit", D(1), "Fed December cut")
    assert [sorted(str(r) for r in g.refs) for g in match.groups] == [
        ["kalshi:KXFED-25DEC-C25:yes", "polymarket:0xfed:0xfed-y"],
        ["kalshi:KXFED-25DEC-C25:no", "polymarket:0xfed:0xfed-n"],
    ]
    assert match.tradable


def test_json_pairs_file_has_the_same_shape(tmp_path: Path) -> None:
    path = tmp_path / "pairs.json"
    path.write_text(
        json.dumps(
            {
                "pair": [
                    {
                        "polymarket": {"market": "0xfed", "outcome": "0xfed-n"},
                        "kalshi": {"market": "KXFED-25DEC-C25", "outcome": "no"},
                    }
                ]
            }
        )
    )
    (match,) = match_markets({"kalshi": [FED_K], "polymarket": [FED_P]}, pairs=path)
    assert {str(r) for r in match.groups[0].refs} == {"kalshi:KXFED-25DEC-C25:no", "polymarket:0xfed:0xfed-n"}


def test_unknown_ids_in_the_pairs_file_are_reported_not_guessed() -> None:
    specs = parse_pairs(
        {
            "pair": [
                {
                    "title": "a",
                    "polymarket": {"market": "0xnope", "outcome": "Yes"},
                    "kalshi": {"market": "KXFED-25DEC-C25", "side": "yes"},
                },
                {
                    "title": "b",
                    "polymarket": {"market": "0xfed", "outcome": "Maybe"},
                    "kalshi": {"market": "KXFED-25DEC-C25", "side": "yes"},
                },
            ]
        }
    )
    matches, problems = resolve_pairs(specs, {"kalshi": [FED_K], "polymarket": [FED_P]})
    assert matches == []
    assert problems == [
        "a: polymarket:0xnope:Yes: no polymarket market '0xnope'",
        "b: polymarket:0xfed:Maybe: market '0xfed' has no single outcome 'Maybe'",
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"pairs": []}, "unknown top-level keys"),
        ({"pair": [{"kalshi": {"market": "K", "side": "yes"}}]}, "at least two venues"),
        (
            {"pair": [{"kalshi": {"market": "K"}, "polymarket": {"market": "P", "outcome": "Yes"}}]},
            "'outcome'",
        ),
        ({"set": [{"outcome": [{"name": "home", "contracts": []}]}]}, "at least two"),
    ],
)
def test_malformed_pairs_files_are_refused_naming_the_entry(document: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_pairs(document)


def test_missing_pairs_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read pairs file"):
        load_pairs(tmp_path / "absent.toml")


def test_explicit_pairs_win_over_the_sports_matcher() -> None:
    k = kalshi_game("nba", "KXNBAGAME-26MAR31NYKHOU", "NYK", "HOU", day=date(2026, 3, 31))
    p = poly_game("nba", "nba-nyk-hou-2026-03-31", "nyk", "hou", day=date(2026, 3, 31))
    specs = parse_pairs(
        {
            "pair": [
                {
                    "title": "mine",
                    "kalshi": {"market": "KXNBAGAME-26MAR31NYKHOU-NYK", "side": "yes"},
                    "polymarket": {"market": "nba-nyk-hou-2026-03-31", "outcome": "nyk"},
                }
            ]
        }
    )
    matches = match_markets({"kalshi": k, "polymarket": p}, pairs=specs)
    assert [m.method for m in matches] == ["explicit"]


def test_n_way_set_from_the_pairs_file() -> None:
    markets = [kalshi(f"K-{x}", x) for x in ("H", "D", "A")]
    specs = parse_pairs(
        {
            "set": [
                {
                    "title": "3-way",
                    "outcome": [
                        {
                            "name": n,
                            "contracts": [{"exchange": "kalshi", "market": f"K-{n}", "outcome": "yes"}],
                        }
                        for n in "HDA"
                    ],
                }
            ]
        }
    )
    (match,) = match_markets({"kalshi": markets}, pairs=specs)
    assert [g.name for g in match.groups] == ["H", "D", "A"]


def test_accepted_differences_do_not_refuse_an_explicit_pair() -> None:
    late = poly("0xfed", FED_P.title, close=CLOSE + timedelta(days=20))
    document = {
        "pair": [
            {
                "polymarket": {"market": "0xfed", "outcome": "Yes"},
                "kalshi": {"market": "KXFED-25DEC-C25", "side": "yes"},
            }
        ]
    }
    (refused,), _ = resolve_pairs(parse_pairs(document), {"kalshi": [FED_K], "polymarket": [late]})
    assert not refused.allowed
    assert "close times 20.0 days apart" in refused.refusals[0]
    document["pair"][0]["accept"] = ["close_time"]
    (accepted,), _ = resolve_pairs(parse_pairs(document), {"kalshi": [FED_K], "polymarket": [late]})
    assert accepted.allowed
    assert accepted.differences == refused.differences


# -- generic proposals --------------------------------------------------------------------------------


def test_generic_proposals_rank_similar_questions_and_are_never_traded_unconfirmed() -> None:
    ks = [
        FED_K,
        kalshi("KXBTC-25DEC31-100K", "Will Bitcoin close above $100k on December 31?"),
        kalshi("KXRAIN-NYC", "Will it rain in New York City tomorrow?"),
    ]
    ps = [
        FED_P,
        poly("0xbtc", "Bitcoin above $100k on December 31?"),
        poly("0xsnow", "Snow in Boston this week?"),
    ]
    found = proposals({"kalshi": ks, "polymarket": ps})
    assert {(m.markets[0].id, m.markets[1].id) for m in found} == {
        ("KXFED-25DEC-C25", "0xfed"),
        ("KXBTC-25DEC31-100K", "0xbtc"),
    }
    assert all(m.method == "generic" and not m.confirmed and not m.tradable for m in found)
    assert [m.confidence for m in found] == sorted((m.confidence for m in found), reverse=True)
    match = found[0]
    books = {}
    for group, price in zip(match.groups, ("0.40", "0.50"), strict=True):
        for ref in group.refs:
            b = OrderBook.build(ref.exchange, ref.market.id, ref.outcome_id, asks=[(price, "10")])
            books[b.key] = b
    assert detect(match, books, bet_amount=D(100)) is None
    assert detect(match.confirm(), books, bet_amount=D(100)) is not None


def test_generic_proposals_require_the_same_threshold_numbers() -> None:
    k = kalshi("KXCPI-4.5", "Will CPI inflation be above 4.5% in March?")
    p = poly("0xcpi", "CPI inflation above 4.75% in March?")
    assert proposals({"kalshi": [k], "polymarket": [p]}) == []
    same = poly("0xcpi2", "CPI inflation above 4.5% in March?")
    assert len(proposals({"kalshi": [k], "polymarket": [same]})) == 1


def test_generic_proposals_require_close_dates_within_a_window() -> None:
    k = kalshi("KXGDP", "US recession declared in 2026?", close=CLOSE)
    p = poly("0xgdp", "US recession declared in 2026?", close=CLOSE + timedelta(days=30))
    assert proposals({"kalshi": [k], "polymarket": [p]}) == []


def test_generic_proposals_skip_markets_already_matched() -> None:
    matches = match_markets(
        {"kalshi": [FED_K], "polymarket": [FED_P]},
        pairs=parse_pairs(
            {
                "pair": [
                    {
                        "polymarket": {"market": "0xfed", "outcome": "Yes"},
                        "kalshi": {"market": "KXFED-25DEC-C25", "side": "yes"},
                    }
                ]
            }
        ),
    )
    assert proposals({"kalshi": [FED_K], "polymarket": [FED_P]}, exclude=matches) == []


# -- resolution risk ----------------------------------------------------------------------------------


def differences(a: Market, b: Market, **kw: object) -> list[str]:
    return [str(d) for d in compare([("kalshi", [a]), ("polymarket", [b])], **kw)]  # type: ignore[arg-type]


def test_void_rules_that_differ_are_reported_and_refused_only_when_asked() -> None:
    k = kalshi("K", "x", rules="If the game is postponed or cancelled, the market resolves to No.")
    p = poly("P", "x", rules="If the game is postponed, this market resolves 50-50.")
    found = compare([("kalshi", [k]), ("polymarket", [p])])
    assert [d.kind for d in found] == ["void_rules"]
    assert "settles no on kalshi but 50-50 on polymarket" in str(found[0])
    assert ResolutionPolicy().refusals(found) == ()
    assert ResolutionPolicy(refuse=frozenset({"void_rules"})).refusals(found) == (str(found[0]),)


def test_missing_rules_text_is_reported_for_each_side() -> None:
    assert differences(kalshi("K", "x"), poly("P", "x", rules="Resolves Yes if...")) == [
        "kalshi gives no rules text to compare"
    ]


def test_same_overtime_rule_in_different_words_is_no_difference() -> None:
    k = kalshi("K", "x", rules="Includes overtime.")
    p = poly("P", "x", rules="Overtime counts toward the result.")
    assert differences(k, p) == []


def test_threshold_numbers_ignore_dates_and_normalise_formats() -> None:
    assert threshold_numbers("Bitcoin above $100,000 on 2025-12-31?") == {"100000"}
    assert threshold_numbers("Above 4.50% in 2026") == {"4.5%"}
    assert threshold_numbers("Over 219.5 points") == {"219.5"}


def test_match_refusal_gates_detection() -> None:
    late = poly("0xfed", FED_P.title, close=CLOSE + timedelta(days=3))
    (match,), _ = resolve_pairs(
        parse_pairs(
            {
                "pair": [
                    {
                        "polymarket": {"market": "0xfed", "outcome": "Yes"},
                        "kalshi": {"market": "KXFED-25DEC-C25", "side": "yes"},
                    }
                ]
            }
        ),
        {"kalshi": [FED_K], "polymarket": [late]},
    )
    assert isinstance(match, MarketMatch)
    assert not match.allowed
    relaxed, _ = resolve_pairs(
        parse_pairs(
            {
                "pair": [
                    {
                        "polymarket": {"market": "0xfed", "outcome": "Yes"},
                        "kalshi": {"market": "KXFED-25DEC-C25", "side": "yes"},
                    }
                ]
            }
        ),
        {"kalshi": [FED_K], "polymarket": [late]},
        policy=ResolutionPolicy(max_close_gap=timedelta(days=5)),
    )
    assert relaxed[0].allowed
