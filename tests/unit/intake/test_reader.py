import csv
import gzip
import io

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smsdrop.intake import line_feed
from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.models import Position, RowError
from tests.unit.intake.reading import GB, GB2, HEADER, chunks_of, read, reader

REFUSED_FILES = [
    (b"", FileProblem.EMPTY),
    (b"\n\n", FileProblem.NO_HEADER),
    (b"number,content\n", FileProblem.HEADER_ONLY),
    (b"number,content\n\n  \n,\n", FileProblem.HEADER_ONLY),
    (b"name,content\nAsha,Hi\n", FileProblem.NO_NUMBER_COLUMN),
    (b"number|content\n1|2\n", FileProblem.NO_NUMBER_COLUMN),
    (b"phone,sender\n1,2\n", FileProblem.NO_CONTENT_COLUMN),
    (b"phone,mobile,content\n1,2,3\n", FileProblem.DUPLICATE_COLUMN),
    (b"number,content,notes,Notes\n1,2,3,4\n", FileProblem.DUPLICATE_COLUMN),
    (b"number,content,\n1,2,3\n", FileProblem.EMPTY_COLUMN_NAME),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00number,content\n", FileProblem.BINARY),
]
REFUSED_IDS = [
    "empty", "blank-first-line", "header-only", "header-and-blank-lines", "no-number-column",
    "pipes", "no-content-column", "two-aliases-of-number", "same-name-twice", "unnamed-column",
    "zip-or-xlsx",
]  # fmt: skip


@pytest.mark.parametrize(("data", "problem"), REFUSED_FILES, ids=REFUSED_IDS)
def test_a_file_that_cannot_be_used_is_refused_before_any_row(data, problem):
    with pytest.raises(FileRefused) as caught:
        next(reader(data).rows())
    assert caught.value.problem is problem


def test_blank_lines_are_skipped_without_error_and_counted():
    source = reader(HEADER + f"\n{GB},Hi,,\n   \n,,,\n\r\n{GB2},Hi,,\n\n")
    rows = list(source.rows())
    assert [r.row for r in rows] == [3, 7]
    assert source.blank_lines == 5


def test_a_quote_that_never_closes_refuses_the_file_naming_its_row():
    data = HEADER + f'{GB},Hi,,A1\n{GB2},"open,,A2\n' + f"{GB},{'x' * 1000},,A\n" * 140
    with pytest.raises(FileRefused, match="row 3"):
        read(data)


# ---- resuming ------------------------------------------------------------------------------------------------


def _file(count: int) -> bytes:
    lines = [HEADER.strip()]
    for i in range(count):
        number = f"+4479111234{i % 7:02d}"
        lines.append(f'{number},"Hi\n{i % 3}",,O{i}' if i % 5 else "")
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.mark.parametrize("key", ["r.csv", "r.csv.gz"], ids=["plain", "gzip"])
@pytest.mark.parametrize("dedup", [True, False], ids=["duplicates-rejected", "duplicates-allowed"])
def test_resuming_at_any_row_gives_exactly_the_rows_from_there(monkeypatch, key, dedup):
    monkeypatch.setattr(line_feed, "READ_BYTES", 50)
    data = _file(40)
    raw = gzip.compress(data) if key.endswith(".gz") else data
    everything = read(raw, key=key, reject_duplicates=dedup)
    assert any(r.code == "DUPLICATE" for r in everything if isinstance(r, RowError)) is dedup
    for i, row in enumerate(everything):
        start = Position(offset=row.offset, row=row.row - 1)
        assert read(raw, key=key, start=start, reject_duplicates=dedup) == everything[i:]
    end = reader(raw, key=key, reject_duplicates=dedup)
    list(end.rows())
    assert read(raw, key=key, start=end.position, reject_duplicates=dedup) == []


def test_blank_lines_are_counted_over_the_whole_file_across_a_resume():
    data = HEADER + f"\n{GB},Hi,,A1\n\n{GB2},Hi,,A2\n\n"
    everything = read(data)
    source = reader(data)
    rest = list(source.rows(Position(offset=everything[1].offset, row=everything[1].row - 1)))
    assert rest == everything[1:]
    assert (source.blank_lines, source.position.row) == (3, 6)


def test_resuming_where_no_row_starts_is_an_error():
    data = HEADER + f"{GB},Hi,,A1\n{GB2},Hi,,A2\n"
    with pytest.raises(ValueError, match="not a record boundary"):
        read(data, start=Position(offset=len(HEADER) + 3, row=2))


# ---- every line accounted for ---------------------------------------------------------------------------

CELL = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from([GB, GB2, "12", ""]), CELL, CELL), max_size=12),
    newline=st.sampled_from(["\n", "\r\n"]),
    read_bytes=st.sampled_from([5, 64, 1 << 18]),
)
def test_every_record_is_a_recipient_an_error_or_a_blank_line_and_starts_where_csv_says(rows, newline, read_bytes):
    assume(newline == "\r\n" or not any("\r" in cell for row in rows for cell in row))  # csv.writer leaves CR bare
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(["number", "content", "notes"])
    starts = []
    for row in rows:
        starts.append(len(buffer.getvalue().encode()))
        writer.writerow(row)
    data = buffer.getvalue().encode()
    blank = [i for i, row in enumerate(rows) if not "".join(row).strip()]
    source = reader(data)
    with chunks_of(read_bytes):
        if len(blank) == len(rows):
            with pytest.raises(FileRefused, match="header but no rows"):
                list(source.rows())
            return
        got = list(source.rows())
    assert [r.offset for r in got] == [s for i, s in enumerate(starts) if i not in blank]
    assert [r.row for r in got] == [i + 2 for i in range(len(rows)) if i not in blank]
    assert len(got) + source.blank_lines == len(rows)
    assert source.position == Position(offset=len(data), row=len(rows) + 1)
