"""The client-side token buckets and rules that keep requests under a venue's documented limits."""

from __future__ import annotations

from arbkit.throttle import TokenBucket


def test_bucket_allows_a_burst_then_spaces_requests_at_the_rate() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(10, clock=lambda: now[0], sleep=sleep)
    assert [bucket.acquire() for _ in range(10)] == [0.0] * 10  # one second of burst
    assert round(bucket.acquire(), 6) == 0.1
    assert round(bucket.acquire(), 6) == 0.1
    now[0] += 5  # idle time refills, but never beyond one second's worth
    assert [bucket.acquire() for _ in range(10)] == [0.0] * 10
    assert bucket.acquire() > 0
    assert len(waits) == 3


def test_a_request_takes_a_token_from_every_rule_it_matches() -> None:
    from arbkit.throttle import Limit, Rule, Throttle

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    throttle = Throttle(
        [
            Rule(Limit(100, 1.0)),  # everything
            Rule(Limit(2, 1.0), methods=("post",), path="/order"),
            Rule(Limit(1, 1.0), path="/data/order/"),  # every path under it
        ],
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert throttle.acquire("POST", "/order") == 0.0
    assert throttle.acquire("POST", "/order") == 0.0
    assert round(throttle.acquire("POST", "/order"), 6) == 0.5  # the order rule's third token
    assert throttle.acquire("GET", "/order") == 0.0  # not a POST: only the general rule
    assert throttle.acquire("GET", "/data/order/0xabc") == 0.0
    assert round(throttle.acquire("GET", "/data/order/0xdef"), 6) == 1.0
    assert throttle.acquire("GET", "/data/orders") == 0.0  # a sibling path, not under the prefix


def test_a_batch_costs_its_items_and_waits_for_all_of_them() -> None:
    from arbkit_kalshi.throttle import RateLimit, throttle

    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    kalshi = throttle(RateLimit(reads_per_second=20, writes_per_second=10))
    # Rebuild the rules on a fake clock: the same limits Kalshi's client uses.
    from arbkit.throttle import Throttle

    fake = Throttle(kalshi.rules, clock=lambda: now[0], sleep=sleep)
    assert fake.acquire("POST", "/portfolio/events/orders/batched", cost=25) == 1.5  # 10 in the bucket
    assert fake.acquire("GET", "/markets") == 0.0  # reads have their own bucket
    assert waits == [1.5]
