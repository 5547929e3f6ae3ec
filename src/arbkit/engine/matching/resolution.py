"""Resolution risk: how two "equivalent" markets could still settle differently, and what to refuse.

If two venues settle the same game differently (one counts overtime, one voids a
postponed game while the other resolves it No, their deadlines are days apart),
both legs of an arbitrage can lose. :func:`compare` lists the differences it can
see from what the venues give (close times, start times, rules text, threshold
numbers), and a :class:`ResolutionPolicy` decides which kinds disqualify a match.

Rules-text reading is keyword based and deliberately conservative: it reports a
difference only when both venues' texts say something recognisable and disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta

import attrs

from arbkit.models import Market

__all__ = ["DEFAULT_POLICY", "KINDS", "Difference", "ResolutionPolicy", "compare", "threshold_numbers"]

#: Kinds of difference :func:`compare` reports.
KINDS = (
    "close_time",
    "start_time",
    "overtime",
    "void_rules",
    "postponement",
    "schedule",
    "tie",
    "threshold",
    "rules_missing",
    "home_away",
)

_OVERTIME_IN = re.compile(
    r"includ\w*\s+(?:any\s+)?(?:overtime|extra[- ]time|extra innings|shoot-?outs?|penalt)"
    r"|(?:overtime|extra[- ]time|extra innings)\s+(?:counts?|is included|are included)",
    re.IGNORECASE,
)
_OVERTIME_OUT = re.compile(
    r"regulation(?:\s+time)?\s+only|(?:excluding|not\s+including|excludes?)\s+(?:any\s+)?"
    r"(?:overtime|extra[- ]time|penalt)|(?:overtime|extra[- ]time)\s+(?:does not|do not|will not)\s+count"
    r"|(?:end|result)\s+of\s+regulation|90 minutes",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+")
_POSTPONED = re.compile(r"postpone|cancel|abandon|suspend", re.IGNORECASE)
_VOID_POLICIES = (
    ("50-50", re.compile(r"50\s*[-/]\s*50|fifty[- ]fifty|equally", re.IGNORECASE)),
    ("void", re.compile(r"\bvoid|refund", re.IGNORECASE)),
    ("no", re.compile(r"resolves?\s+(?:to\s+)?[\"']?no\b", re.IGNORECASE)),
)
_NUMBER = re.compile(
    r"(?<![\w.])[-+]?\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(%|k\b|m\b|bn?\b)?", re.IGNORECASE
)
_DATE_LIKE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b(?:19|20)\d{2}\b")


@attrs.frozen
class Difference:
    """One way two sides of a match could settle differently: a ``kind`` (see :data:`KINDS`) and a message."""

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


def _frozen(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class ResolutionPolicy:
    """Which differences disqualify a match.

    * ``max_close_gap``: close times further apart than this are a ``close_time``
      difference. Sports games never compare close times: Kalshi closes a game market
      about two weeks after the game (``close_time`` / ``latest_expiration_time``, room
      for a postponed game) and Polymarket's ``endDate`` is the game's start, so close
      times 14 days apart are the normal case. The matcher compares the scheduled game
      time each venue means (Kalshi: ticker date, ``HHMM``, ``expected_expiration_time``;
      Polymarket: ``gameStartTime`` / ``startTime``) within ``max_start_gap``.
      ``max_sports_close_gap`` is kept for compatibility and no longer used.
    * ``max_start_gap``: start times further apart are a ``start_time`` difference (and
      sports games further apart are different games).
    * ``refuse``: the kinds that disqualify. By default a different overtime rule,
      different threshold numbers, and close or start times too far apart. Reported
      but allowed by default, to weigh: ``void_rules`` (a postponed or cancelled game
      settles differently, e.g. Kalshi "No" vs Polymarket 50-50), ``postponement`` (how
      each venue's rules treat a postponed game), ``schedule`` (a rules date differing
      from the listed one), ``tie`` (a 2-way league whose games can end tied), ``home_away``,
      ``rules_missing``. Add kinds to ``refuse`` to be stricter.

    A contract whose team is not confirmed by two signals (see :mod:`arbkit.engine.matching.sports`)
    is refused whatever the policy: that is a wrong pairing, not a resolution risk.
    """

    max_close_gap: timedelta = timedelta(days=1)
    max_sports_close_gap: timedelta = timedelta(days=10)
    max_start_gap: timedelta = timedelta(hours=3)
    refuse: frozenset[str] = attrs.field(
        default=frozenset({"close_time", "start_time", "overtime", "threshold"}), converter=_frozen
    )

    def refusals(self, differences: Iterable[Difference]) -> tuple[str, ...]:
        """The messages of the differences this policy treats as disqualifying."""
        return tuple(d.message for d in differences if d.kind in self.refuse)


DEFAULT_POLICY = ResolutionPolicy()


def _overtime_rule(text: str) -> bool | None:
    counts, excludes = bool(_OVERTIME_IN.search(text)), bool(_OVERTIME_OUT.search(text))
    return None if counts == excludes else counts


def _void_rule(text: str) -> str | None:
    for sentence in _SENTENCE.findall(text):
        if _POSTPONED.search(sentence):
            for name, pattern in _VOID_POLICIES:
                if pattern.search(sentence):
                    return name
    return None


def _postponement(text: str) -> str:
    """The venue's sentence on a postponed or cancelled game (shortened), "" when it has none."""
    for sentence in _SENTENCE.findall(text):
        if _POSTPONED.search(sentence):
            sentence = " ".join(sentence.split())
            return sentence if len(sentence) <= 160 else sentence[:157] + "..."
    return ""


def threshold_numbers(text: str) -> frozenset[str]:
    """The numbers a question turns on ("above 4.5%", "$100k"), without dates or years."""
    cleaned = _DATE_LIKE.sub(" ", text)
    found = set()
    for whole, fraction, unit in _NUMBER.findall(cleaned):
        number = (whole.replace(",", "") + (fraction or "")).lstrip("0") or "0"
        if "." in number:
            number = number.rstrip("0").rstrip(".")
        found.add(number + (unit or "").lower())
    return frozenset(found)


def _span(markets: Sequence[Market], attribute: str) -> tuple[object, object]:
    values = [getattr(m, attribute) for m in markets if getattr(m, attribute) is not None]
    return (min(values), max(values)) if values else (None, None)


def compare(
    sides: Sequence[tuple[str, Sequence[Market]]],
    *,
    policy: ResolutionPolicy = DEFAULT_POLICY,
    sports: bool = False,
    check_thresholds: bool = False,
) -> list[Difference]:
    """The differences between two venues' sides of a match, each a ``(venue, markets)`` pair."""
    (name_a, markets_a), (name_b, markets_b) = sides[0], sides[1]
    found: list[Difference] = []
    # Game markets: the venues close them for their own reasons (Kalshi two weeks after the game,
    # room for a postponed game; Polymarket's endDate is the start), so close times say nothing
    # about the game. The sports matcher compares the game times each venue means instead.
    timed = () if sports else (("close_time", policy.max_close_gap, "close_time"),)
    for attribute, limit, kind in (*timed, ("start_time", policy.max_start_gap, "start_time")):
        low_a, high_a = _span(markets_a, attribute)
        low_b, high_b = _span(markets_b, attribute)
        if low_a is None or low_b is None:
            continue
        gap = max(abs(high_a - low_b), abs(high_b - low_a))  # type: ignore[operator]
        if gap > limit:
            found.append(
                Difference(
                    kind,
                    f"{attribute.replace('_', ' ')}s {_hours(gap)} apart "
                    f"({name_a} {high_a:%Y-%m-%d %H:%M}Z, {name_b} {high_b:%Y-%m-%d %H:%M}Z)",
                )
            )
    rules_a = "\n".join(m.rules for m in markets_a if m.rules)
    rules_b = "\n".join(m.rules for m in markets_b if m.rules)
    for name, rules in ((name_a, rules_a), (name_b, rules_b)):
        if not rules:
            found.append(Difference("rules_missing", f"{name} gives no rules text to compare"))
    overtime_a, overtime_b = _overtime_rule(rules_a), _overtime_rule(rules_b)
    if overtime_a is not None and overtime_b is not None and overtime_a != overtime_b:
        counts = name_a if overtime_a else name_b
        other = name_b if overtime_a else name_a
        found.append(
            Difference("overtime", f"{counts} counts overtime/extra time, {other} only regulation time")
        )
    void_a, void_b = _void_rule(rules_a), _void_rule(rules_b)
    if void_a is not None and void_b is not None and void_a != void_b:
        found.append(
            Difference(
                "void_rules",
                f"a postponed or cancelled game settles {void_a} on {name_a} but {void_b} on {name_b}",
            )
        )
    if sports:
        said = {name: _postponement(rules) for name, rules in ((name_a, rules_a), (name_b, rules_b))}
        if all(said.values()) and said[name_a] != said[name_b]:
            found.append(
                Difference(
                    "postponement",
                    "a postponed game: " + "; ".join(f"{name} says {text!r}" for name, text in said.items()),
                )
            )
    if check_thresholds:
        numbers_a = threshold_numbers(" ".join(m.title for m in markets_a))
        numbers_b = threshold_numbers(" ".join(m.title for m in markets_b))
        if numbers_a != numbers_b:
            found.append(
                Difference(
                    "threshold",
                    f"different numbers in the questions: {name_a} "
                    f"{sorted(numbers_a)}, {name_b} {sorted(numbers_b)}",
                )
            )
    return found


def _hours(gap: timedelta) -> str:
    hours = gap.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f}h"
