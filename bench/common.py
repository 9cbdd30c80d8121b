"""What every bench script shares: results.json (with the machine it was measured on), plain text tables, and
the scripts' command line."""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def save(section: str, data: dict[str, Any], path: Path = RESULTS) -> None:
    """Merge `data` under `section` of results.json (other sections are kept), with the machine."""
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        results = {}
    results[section] = data
    results["machine"] = machine()
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def script_main(
    name: str,
    doc: str,
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    argv: list[str] | None,
    quick_help: str = "small inputs",
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """A bench script's command line (its `options`, --quick, --no-save): measure, print the table, save it under
    `name` in results.json, or `<name>_quick` so a quick run never overwrites the full figures."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--no-save", action="store_true")
    if options:
        options(parser)
    args = parser.parse_args(argv)
    result = measure(args)
    print(report(result))
    if not args.no_save:
        save(f"{name}_quick" if args.quick else name, result)
    return 0


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table."""
    cells = [[_cell(v) for v in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
              for r in cells[1:]]  # fmt: skip
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
