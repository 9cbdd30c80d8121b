"""How fast an XLSX upload is read, and in how much memory, beside the same rows as a CSV.

The same synthetic rows (bench/csv_data.py) are written as a CSV and as an .xlsx (numbers in the number column
stored as numbers where they are plain digits, as a spreadsheet keeps them), twice: texts in the shared strings
table as Excel saves them, and inline as openpyxl writes them.
Each file is read once through `RecipientReader` (parse, validate, index; nothing sent) in a child process of its
own, from an in-memory stand-in for S3 that answers ranged GETs as S3 does; the child reports rows/s, the time to
import openpyxl (0 for the CSV: it is never imported) and its peak RSS (VmHWM) against its RSS before reading.

python -m bench.xlsx_read [--rows 100000] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bench.common import script_main, table
from bench.csv_data import HEADER, synthetic_rows, write_csv

QUICK_ROWS = 10_000


def write_xlsx(path: Path, rows: int, shared: bool = True) -> Path:
    """The synthetic rows as a one-sheet workbook, digit-only numbers stored as numbers. `shared`: texts in the
    shared strings table, as Excel saves them (written here by hand: openpyxl writes inline strings only);
    else as openpyxl writes them."""
    if shared:
        return _write_shared_strings_xlsx(path, [list(HEADER), *synthetic_rows(rows)])
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Recipients")
    sheet.append(list(HEADER))
    for number, *rest in synthetic_rows(rows):
        sheet.append([int(number) if number.isdigit() else number, *rest])
    book.save(path)
    return path


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets>'
        '<sheet name="Recipients" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
}


def _write_shared_strings_xlsx(path: Path, rows: list[Any]) -> Path:
    """A minimal workbook as Excel lays it out: each distinct text once in xl/sharedStrings.xml, cells by index."""
    strings: dict[str, int] = {}
    sheet = [f'<worksheet xmlns="{_MAIN}"><sheetData>']
    for number, row in enumerate(rows, start=1):
        cells = []
        for column, value in zip("ABCD", row, strict=False):
            if value.isdigit() and number > 1:
                cells.append(f'<c r="{column}{number}"><v>{value}</v></c>')
            else:
                index = strings.setdefault(value, len(strings))
                cells.append(f'<c r="{column}{number}" t="s"><v>{index}</v></c>')
        sheet.append(f'<row r="{number}">{"".join(cells)}</row>')
    sheet.append("</sheetData></worksheet>")
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, xml in _PARTS.items():
            book.writestr(name, xml)
        book.writestr("xl/worksheets/sheet1.xml", "".join(sheet))
        book.writestr("xl/sharedStrings.xml", f'<sst xmlns="{_MAIN}" uniqueCount="{len(strings)}">{shared}</sst>')
    return path


class _MemoryS3:
    """get_object with a Range and head_object, over one object's bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def get_object(self, *, Range: str = "bytes=0-", **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return {"Body": io.BytesIO(self._data[int(Range.removeprefix("bytes=").removesuffix("-")) :])}

    def head_object(self, **_: Any) -> dict[str, Any]:
        return {"ContentLength": len(self._data), "Metadata": {}}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def child(path: str) -> dict[str, Any]:
    """In a fresh process: read the file once; rows/s, openpyxl's import time, RSS before and at its peak."""
    from smsdrop.intake.reader import RecipientReader, RowRules
    from smsdrop.models import RowError

    data = Path(path).read_bytes()
    before = _status_mb("VmRSS:")
    t0 = time.perf_counter()
    import_s = 0.0
    if path.endswith(".xlsx"):
        import openpyxl  # noqa: F401 - timed here, as a cold start would pay it

        import_s = time.perf_counter() - t0
    reader = RecipientReader(_MemoryS3(data), "bench", f"incoming/{Path(path).name}", None, RowRules())
    t1 = time.perf_counter()
    rows = rejected = 0
    for row in reader.rows():
        rows += 1
        rejected += isinstance(row, RowError)
    seconds = time.perf_counter() - t1
    return {
        "rows": rows,
        "rejected": rejected,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "import_s": round(import_s, 3),
        "file_mb": round(len(data) / 2**20, 1),
        "rss_before_mb": round(before, 1),
        "peak_mb": round(_status_mb("VmHWM:"), 1),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Write both files, read each in a child; the figures by format."""
    rows = QUICK_ROWS if args.quick else args.rows
    folder = Path(args.workdir)
    files = {
        "csv": write_csv(folder / f"bench-{rows}.csv", rows),
        "xlsx": write_xlsx(folder / f"bench-{rows}.xlsx", rows),
        "xlsx_inline": write_xlsx(folder / f"bench-{rows}-inline.xlsx", rows, shared=False),
    }
    figures = {}
    for kind, path in files.items():
        done = subprocess.run(
            [sys.executable, "-m", "bench.xlsx_read", "--child", str(path)], capture_output=True, text=True, check=True
        )
        figures[kind] = json.loads(done.stdout.splitlines()[-1])
        path.unlink()
    return {"rows": rows, "by_format": figures}


def report(result: dict[str, Any]) -> str:
    """The table."""
    rows = [
        [kind, f["file_mb"], f["rows_per_s"], f["seconds"], f["import_s"], f["rss_before_mb"], f["peak_mb"]]
        for kind, f in result["by_format"].items()
    ]
    header = ["format", "file MB", "rows/s", "read s", "import s", "RSS before MB", "peak MB"]
    return table(f"{result['rows']:,} rows read through RecipientReader (nothing sent)", header, rows)


def main(argv: list[str] | None = None) -> int:
    """Measure and print (or, with --child PATH, be the child that reads one file)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1])))
        return 0

    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--workdir", default="/tmp")

    return script_main("xlsx_read", __doc__ or "", measure, report, argv, f"{QUICK_ROWS:,} rows", options)


if __name__ == "__main__":
    raise SystemExit(main())
