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
