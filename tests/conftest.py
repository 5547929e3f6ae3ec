"""Suite-wide test settings."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Locally, hypothesis explores new examples on every run; in CI the examples are fixed
# (derandomize) so a run is reproducible and a failure there can be replayed exactly.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _user_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings without ARBKIT_DATA_DIR write to the per-user folder: a temporary one in tests."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
