"""Packaging: the sdist and the wheel build, pass ``twine check``, and the wheel works in an empty venv.

The wheel is installed with its runtime dependencies only (from the package index), then it
must import ``arbkit``, list both shipped exchanges through the entry points, and run the
README's notebook example, printing what the README says it prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _readme_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks, "the README has a python example"
    return blocks[0]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="build is in the dev extra: pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    return out


def test_build_makes_one_sdist_and_one_wheel_that_pass_twine_check(dist: Path) -> None:
    sdists, wheels = sorted(dist.glob("arbkit-*.tar.gz")), sorted(dist.glob("arbkit-*.whl"))
    assert len(sdists) == 1
    assert len(wheels) == 1
    pytest.importorskip("twine", reason="twine is in the dev extra")
    output = _run(sys.executable, "-m", "twine", "check", "--strict", *sdists, *wheels)
    assert output.count("PASSED") == 2, output

    names = zipfile.ZipFile(wheels[0]).namelist()
    for package in ("arbkit", "arbkit_kalshi", "arbkit_polymarket"):
        assert f"{package}/py.typed" in names, package
    for package in ("arbkit", "arbkit_kalshi", "arbkit_polymarket"):  # team names; each venue's codes
        assert f"{package}/data/teams.json" in names, package
    assert any(n.endswith("arbkit_kalshi/sandbox/scenarios/example.json") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheels[0]).read(entry_points).decode()
    assert "kalshi = arbkit_kalshi.plugin" in text
    assert "polymarket = arbkit_polymarket.plugin" in text

    with tarfile.open(sdists[0]) as sdist:
        members = sdist.getnames()
    assert any(m.endswith("/README.md") for m in members)
    assert any(m.endswith("/tests/test_packaging.py") for m in members)


def test_the_wheel_in_an_empty_venv_lists_both_exchanges_and_runs_the_readme_example(
    dist: Path, tmp_path: Path
) -> None:
    wheel = next(dist.glob("arbkit-*.whl"))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel, timeout=300)

    listed = _run(python, "-c", "import arbkit; print(arbkit.exchanges())", cwd=tmp_path)
    assert listed.strip() == "['kalshi', 'polymarket']"

    output = _run(python, "-c", _readme_example(), cwd=tmp_path).splitlines()
    assert output[0] == "['kalshi', 'polymarket']"
    assert output[1] == "0.18"
    assert output[2].startswith("BookLevel(price=Decimal('0.47')")
    assert output[2].endswith(" 50")
