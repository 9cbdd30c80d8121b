"""CSVs that test what the scale-out engine must decide across chunks: bench/csv_data.py's rows, plus rows that
repeat the number and text of a row far before them (duplicates across chunk boundaries), rows that repeat an
earlier row's orderId, rows without an orderId (generated ones), and blank lines."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from bench.csv_data import HEADER, synthetic_rows

Row = tuple[str, str, str, str]


def scale_rows(count: int, seed: int = 11) -> Iterator[Row | None]:
    """`count` rows (None: a blank line); every 37th repeats row i//2's number and text, every 53rd its orderId, every
    41st has no orderId."""
    rows: list[Row] = []
    for i, row in enumerate(synthetic_rows(count, seed)):
        if i and i % 37 == 0:
            earlier = rows[i // 2]
            row = (earlier[0], earlier[1], earlier[2], f"DUP-{i}")
        elif i and i % 53 == 0:
            row = (row[0], row[1], row[2], rows[i // 3][3])
        elif i % 41 == 0:
            row = (row[0], row[1], row[2], "")
        rows.append(row)
        yield None if i % 97 == 96 else row


def scale_csv(rows: int, seed: int = 11) -> bytes:
    """The file of `scale_rows`, in memory."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in scale_rows(rows, seed):
        writer.writerow(row or ())
    return out.getvalue().encode()


def write_scale_csv(path: Path, rows: int, seed: int = 11) -> Path:
    """Write the file of `scale_rows` to `path`."""
    path.write_bytes(scale_csv(rows, seed))
    return path
