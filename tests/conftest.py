"""Suite-wide test settings."""

from __future__ import annotations

import os

from hypothesis import settings

# Locally, hypothesis explores new examples on every run; in CI the examples are fixed
# (derandomize) so a run is reproducible and a failure there can be replayed exactly.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
