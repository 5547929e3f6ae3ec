"""The reconnect backoff both venues' streams use."""

from __future__ import annotations

import random

from arbkit.streams import backoff


def test_backoff_is_full_jitter_doubling_to_its_cap() -> None:
    rng = random.Random(1)
    delays = [[backoff(attempt, rng, 0.25, 30.0) for _ in range(200)] for attempt in range(10)]
    assert all(0 <= d < min(30.0, 0.25 * 2**a) for a, ds in enumerate(delays) for d in ds)
    assert max(delays[0]) < 0.25 < max(delays[3]) < 2.0 < max(delays[9])
    assert backoff(10**9, rng, 0.25, 30.0) < 30.0  # no overflow, capped
