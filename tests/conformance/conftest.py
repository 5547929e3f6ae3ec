"""Conformance: the venues' own official SDKs, unmodified, judge arbkit's sandboxes and request bodies.

Each SDK runs in its own virtualenv built by the Makefile (``make test`` builds them first),
because ``kalshi-python-sync`` 3.34 needs Python >= 3.13 while arbkit's suite runs on 3.11.
The driver scripts run there as subprocesses; the sandboxes run here, on loopback ports.

Without the SDK's virtualenv these tests fail in CI (``CI`` set: nothing may be skipped
there) and are skipped elsewhere with the command that builds it. ``make test KALSHI_SDK=none``
runs everything else on a machine without Python 3.13.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
#: The judge: exactly this SDK release (pinned again in kalshi_sdk_requirements.txt).
KALSHI_SDK_VERSION = "3.34.0"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def sdk_python(env_var: str, venv: str, what: str) -> Path:
    """The interpreter of an SDK's virtualenv, or fail (CI) / skip (elsewhere) saying how to build it."""
    configured = os.environ.get(env_var)
    path = Path(configured) if configured else ROOT / venv / "bin" / "python"
    if path.exists():
        return path
    message = (
        f"{what} is not installed ({path} is missing): run `make test` (it builds {venv} with "
        f"Python 3.13), or `make kalshi-sdk` first; `make test KALSHI_SDK=none` runs the rest without it"
    )
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kalshi_sdk_python() -> Path:
    """Python of ``.venv-kalshi-sdk`` (kalshi-python-sync 3.34.0), checked to hold the pinned SDK."""
    path = sdk_python(
        "ARBKIT_KALSHI_SDK_PYTHON", ".venv-kalshi-sdk", f"kalshi-python-sync {KALSHI_SDK_VERSION}"
    )
    found = subprocess.run(
        [str(path), "-c", "import kalshi_python_sync, sys; print(kalshi_python_sync.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert found.stdout.strip() == KALSHI_SDK_VERSION, f"{path}: {found.stdout}{found.stderr}"
    return path


def run_driver(python: Path, script: str, *args: str, timeout: float = 180) -> dict[str, Any]:
    """Run a driver script under an SDK's interpreter; its last stdout line is a JSON report."""
    result = subprocess.run(
        [str(python), str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")},
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        pytest.fail(f"{script} {args[0]} failed:\n{result.stderr[-4000:]}", pytrace=False)
    return json.loads(result.stdout.strip().splitlines()[-1])
