"""The generic matcher: proposes pairs of yes/no questions that read alike, for a user to confirm.

Text similarity cannot tell "above 4.5%" from "above 4.75%" or "by June" from "by
July", so every proposal is an unconfirmed :class:`~arbkit.engine.matching.MarketMatch`
(``confirmed=False``) that is never traded until :meth:`~MarketMatch.confirm` is
called (or the pair is written into the pairs file). Hard constraints come first:
the same threshold numbers in both titles and close times within a window.

Candidates come from an inverted index over title words weighted by rarity (IDF),
kept per set of threshold numbers, so only markets sharing an informative word and
the same numbers are ever scored: no all-pairs loop.
The score is the cosine similarity of the IDF-weighted word sets, in [0, 1].
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal

from arbkit.engine.matching.model import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.engine.matching.resolution import DEFAULT_POLICY, ResolutionPolicy, compare, threshold_numbers
from arbkit.engine.matching.teams import normalize_name
from arbkit.models import Market

__all__ = ["propose", "title_words"]

_STOP_WORDS = (
    "a an and are at be before by do does end for from in is it of on or than the this to what when which "
    "who will with win wins won yes no market price"
)
_STOP = frozenset(_STOP_WORDS.split())
_YES, _NO = "yes", "no"


def title_words(text: str) -> frozenset[str]:
    """The informative words of a question, normalised (stop words removed, numbers kept)."""
    return frozenset(word for word in normalize_name(text).split() if word not in _STOP)


def _yes_no(market: Market) -> tuple[str, str] | None:
    """The (yes, no) outcome ids of a yes/no market, else ``None``."""
    if len(market.outcomes) != 2:
        return None
    names = {o.name.strip().casefold() or o.id.casefold(): o.id for o in market.outcomes}
    ids = {o.id.casefold(): o.id for o in market.outcomes}
    for table in (names, ids):
        if _YES in table and _NO in table:
            return table[_YES], table[_NO]
    return None


class _Doc:
    __slots__ = ("market", "norm", "numbers", "outcomes", "weights")

    def __init__(self, market: Market, outcomes: tuple[str, str]) -> None:
        self.market = market
        self.outcomes = outcomes
        self.numbers = threshold_numbers(market.title)
        self.weights: dict[str, float] = {}
        self.norm = 0.0


def _docs(
    markets: Iterable[Market], exclude: frozenset[tuple[str, str]]
) -> list[tuple[_Doc, frozenset[str]]]:
    found = []
    for market in markets:
        if (market.exchange, market.id) in exclude or market.game is not None:
            continue
        outcomes = _yes_no(market)
        if outcomes is not None:
            found.append((_Doc(market, outcomes), title_words(market.title)))
    return found


def propose(
    markets_a: Sequence[Market],
    markets_b: Sequence[Market],
    *,
    min_score: float = 0.6,
    per_market: int = 3,
    max_close_gap: timedelta = timedelta(days=7),
    policy: ResolutionPolicy = DEFAULT_POLICY,
    exclude: frozenset[tuple[str, str]] = frozenset(),
) -> list[MarketMatch]:
    """Ranked, unconfirmed yes/no pairs between two venues' markets, best score first.

    At most ``per_market`` proposals per market of ``markets_a``, each scoring at
    least ``min_score``, with equal threshold numbers and close times no more than
    ``max_close_gap`` apart (when both are known). Sports game markets are left to
    the sports matcher.
    """
    docs_a, docs_b = _docs(markets_a, exclude), _docs(markets_b, exclude)
    if not docs_a or not docs_b:
        return []
    frequency: dict[str, int] = defaultdict(int)
    for _, words in (*docs_a, *docs_b):
        for word in words:
            frequency[word] += 1
    total = len(docs_a) + len(docs_b)
    common = max(50, total // 20)  # words in more than 5% of questions carry little and cost much
    idf = {word: math.log(1 + total / count) for word, count in frequency.items()}  # smoothed: never 0
    for doc, words in (*docs_a, *docs_b):
        doc.weights = {w: idf[w] for w in words}
        doc.norm = math.sqrt(sum(v * v for v in doc.weights.values())) or 1.0
    # Postings per (threshold numbers, word): a pair with different numbers is never proposed,
    # so only questions turning on the same numbers are ever scored. A word weighs its IDF in
    # every question, so a shared word adds its weight squared.
    postings: dict[tuple[frozenset[str], str], list[int]] = defaultdict(list)
    for n, (doc, words) in enumerate(docs_b):
        for word in words:
            if frequency[word] <= common:
                postings[(doc.numbers, word)].append(n)
    proposals: list[tuple[float, MarketMatch]] = []
    for doc, _words in docs_a:
        scores: dict[int, float] = defaultdict(float)
        numbers = doc.numbers
        for word, weight in doc.weights.items():
            found = postings.get((numbers, word))
            if found:
                shared = weight * weight
                for n in found:
                    scores[n] += shared
        ranked = []
        for n, dot in scores.items():
            other = docs_b[n][0]
            score = dot / (doc.norm * other.norm)
            if score < min_score:
                continue
            close_a, close_b = doc.market.close_time, other.market.close_time
            if close_a is not None and close_b is not None and abs(close_a - close_b) > max_close_gap:
                continue
            ranked.append((score, other.market.id, other))
        for score, _, other in heapq.nlargest(per_market, ranked, key=lambda r: (r[0], r[1])):
            proposals.append((score, _proposal(doc, other, score, policy)))
    proposals.sort(key=lambda p: (-p[0], p[1].key))
    return [match for _, match in proposals]


def _proposal(a: _Doc, b: _Doc, score: float, policy: ResolutionPolicy) -> MarketMatch:
    groups = [
        OutcomeGroup("yes", [OutcomeRef(a.market, a.outcomes[0]), OutcomeRef(b.market, b.outcomes[0])]),
        OutcomeGroup("no", [OutcomeRef(a.market, a.outcomes[1]), OutcomeRef(b.market, b.outcomes[1])]),
    ]
    # The numbers are equal (no other pair is proposed): compare need not extract them again.
    differences = compare([(a.market.exchange, [a.market]), (b.market.exchange, [b.market])], policy=policy)
    return MarketMatch(
        method="generic",
        groups=groups,
        confidence=min(Decimal(str(round(score, 4))), Decimal(1)),
        title=f"{a.market.title} ~ {b.market.title}",
        differences=[str(d) for d in differences],
        refusals=policy.refusals(differences),
        confirmed=False,
    )
