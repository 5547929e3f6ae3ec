"""``make bench``: run every ``benchmarks/bench_*.py`` and print one table.

Each module's ``run() -> list[dict]`` returns rows with ``name``, ``arbkit_median_s``,
``baseline_median_s`` (or ``None`` when there is no baseline), ``ratio``, ``target`` and
optionally ``met`` (whether the target was reached; ``None`` when the row only reports)
and ``unit`` (``"requests"`` for counts; seconds otherwise). Modules are found by file
name, so a new ``bench_*.py`` is picked up without touching this runner.

The table is also written as JSON to ``benchmarks/results.json`` (git-ignored).

    python -m benchmarks                 # everything
    python -m benchmarks scan orderprep  # only bench_scan and bench_orderprep
"""

from __future__ import annotations

import importlib
import json
import math
import platform
import re
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
NAME_WIDTH = 72


def discover(only: Sequence[str] = ()) -> list[str]:
    """Module names of every ``bench_*.py`` beside this file (filtered by ``only`` suffixes)."""
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        names = [n for n in names if n.removeprefix("bench_") in only or n in only]
    return names


def format_value(value: float | None, unit: str | None = None) -> str:
    """Seconds as us/ms/s; request counts as integers; megabytes as MB; ``-`` for no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "requests":
        return f"{value:.0f} req"
    if unit == "MB":
        return f"{value:.1f} MB"
    if value < 1e-3:
        return f"{value * 1e6:.1f} us"
    if value < 1:
        return f"{value * 1e3:.2f} ms"
    return f"{value:.3f} s"


_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_LIMIT = re.compile(r"^(<=|<)\s*([\d.]+)\s*(us|ms|s)\b")
_RATIO = re.compile(r"^ratio\s*(<=|<)\s*([\d.]+)$")


def judge(row: dict[str, Any]) -> bool | None:
    """``row["met"]`` if the module decided, else a ``< 1 s`` / ``ratio <= 1.5`` target read; or ``None``."""
    if row.get("met") is not None:
        return bool(row["met"])
    target = str(row.get("target", "")).strip()
    limit = _LIMIT.match(target)
    if limit and row.get("unit") is None and row.get("arbkit_median_s") is not None:
        op, number, unit = limit.groups()
        bound = float(number) * _SECONDS[unit]
        value = float(row["arbkit_median_s"])
        return value <= bound if op == "<=" else value < bound
    ratio = _RATIO.match(target)
    if ratio and row.get("ratio") is not None:
        op, number = ratio.groups()
        return float(row["ratio"]) <= float(number) if op == "<=" else float(row["ratio"]) < float(number)
    return None


def _met(row: dict[str, Any]) -> str:
    met = row.get("met")
    return "-" if met is None else ("yes" if met else "NO")


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines or [""]


def render(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a fixed-width text table (long names wrap inside their column)."""
    header = ("measured", "arbkit", "baseline", "ratio", "target", "met")
    widths = (NAME_WIDTH, 11, 11, 7, 24, 3)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        unit = row.get("unit")
        ratio = row.get("ratio")
        cells = (
            format_value(row.get("arbkit_median_s"), unit),
            format_value(row.get("baseline_median_s"), unit),
            "-" if ratio is None or math.isnan(ratio) else f"{ratio:.3f}",
            str(row.get("target", "")),
            _met(row),
        )
        name_lines = _wrap(f"[{row['module']}] {row['name']}", NAME_WIDTH)
        out.append(
            "  ".join(
                [name_lines[0].ljust(NAME_WIDTH)]
                + [c.ljust(w) for c, w in zip(cells, widths[1:], strict=True)]
            ).rstrip()
        )
        out.extend(f"  {line}" for line in name_lines[1:])
    return "\n".join(out)


def collect(names: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Run each module; rows tagged with their module, and the modules that failed."""
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            produced = module.run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        short = name.removeprefix("bench_")
        for row in produced:
            ratio = row.get("ratio")
            if ratio is None and row.get("baseline_median_s"):
                ratio = row["arbkit_median_s"] / row["baseline_median_s"]
            tagged = {**row, "ratio": ratio, "module": short}
            tagged["met"] = judge(tagged)
            rows.append(tagged)
        print(f"  {name}: {len(produced)} rows in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return rows, failed


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table, write ``results.json``; exit 1 if a module failed or a target was missed."""
    args = list(sys.argv[1:] if argv is None else argv)
    names = discover(args)
    if not names:
        print(f"no benchmarks match {args}", file=sys.stderr)
        return 2
    rows, failed = collect(names)
    print(render(rows))
    missed = [r for r in rows if r.get("met") is False]
    RESULTS.write_text(
        json.dumps(
            {
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "machine": f"{platform.system()} {platform.machine()}",
                "modules": names,
                "failed": failed,
                "rows": rows,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"\n{len(rows)} rows from {len(names) - len(failed)} modules; written to {RESULTS.name}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    if missed:
        print("targets missed: " + "; ".join(r["name"][:60] for r in missed))
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
