"""The reader against S3 (moto server): the awkward-file corpus, a big file in bounded memory, resuming."""

import gzip
import random
import tracemalloc
from pathlib import Path

import pytest

from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.models import Position, Recipient, RowError

DATA = Path(__file__).parent.parent / "data"


def upload(aws, name: str, body: bytes) -> RecipientReader | tuple:
    s3 = aws.client("s3")
    key = f"incoming/{name}"
    version = s3.put_object(Bucket=aws.names.bucket, Key=key, Body=body)["VersionId"]
    return s3, key, version


def reader(aws, name: str, body: bytes | None = None, **rules) -> RecipientReader:
    s3, key, version = upload(aws, name, (DATA / name).read_bytes() if body is None else body)
    return RecipientReader(s3, aws.names.bucket, key, version, RowRules(**rules))


def verdicts(rows: list) -> list[tuple]:
    return [(r.row, r.number, r.content) if isinstance(r, Recipient) else (r.row, r.number, r.code) for r in rows]


# (corpus file, rules, (row, number sent or as written, content or rejection code) for each row)
CORPUS = [
    (
        "bom_crlf.csv",
        {},
        [
            (2, "447911123456", "Your order has shipped"),
            (3, "447911123457", "Your order has shipped"),
            (5, "447911123458", "Your order is late"),
        ],
    ),
    (
        "quoted_newlines.csv",
        {},
        [
            (2, "447911123456", 'Dear Asha,\r\nyour code is "1234".\r\nBye'),
            (3, "447911123457", "One, two, three"),
            (4, "447911123458", "Line one\nline two"),
            (5, "447911123459", "plain"),
        ],
    ),
    (
        "excel_export.csv",
        {},
        [
            (2, "919876543210", "Hello, your bill is ready"),
            (3, "9.18563E+11", "NUMBER_SCIENTIFIC"),
            (4, "919876543211", "Hello, your bill is ready"),
        ],
    ),
    (
        "emoji_non_latin.csv",
        {"default_region": "IN"},
        [
            (2, "919876543210", "Namaste \U0001f64f \u0928\u092e\u0938\u094d\u0924\u0947"),
            (3, "919876543211", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0643"),
            (4, "919876543212", "\u4f60\u597d\uff0c\u4e16\u754c"),
            (5, "919876543213", "\u041f\u0440\u0438\u0432\u0435\u0442 \U0001f468\u200d\U0001f469\u200d\U0001f467"),
        ],
    ),
    (
        "content_limits.csv",
        {},
        [
            (2, "447911123456", "a" * 1024),
            (3, "+447911123457", "CONTENT_TOO_LONG"),
            (4, "447911123458", "\U0001f600" * 1024),
            (5, "+447911123459", "CONTENT_TOO_LONG"),
        ],
    ),
    (
        "latin1.csv",
        {},
        [(2, "447911123456", "Caf\u00e9 ouvert")],
    ),
    (
        "recipients.csv.gz",
        {},
        [
            (2, "2348031234567", "Hello Lagos"),
            (3, "5511961234567", "Ol\u00e1 S\u00e3o Paulo"),
            (4, "4915123456789", "Hallo Berlin"),
            (5, "12125550100", "Hello New York"),
        ],
    ),
]


@pytest.mark.parametrize(("name", "rules", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_each_awkward_file_gives_the_rows_a_person_would_expect(aws, name, rules, expected):
    assert verdicts(list(reader(aws, name, **rules).rows())) == expected


REFUSED = [
    ("empty.csv", FileProblem.EMPTY),
    ("header_only.csv", FileProblem.HEADER_ONLY),
    ("binary.csv", FileProblem.BINARY),
]


@pytest.mark.parametrize(("name", "problem"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_file_that_cannot_be_sent_is_refused_as_a_whole(aws, name, problem):
    with pytest.raises(FileRefused) as caught:
        next(reader(aws, name).rows())
    assert caught.value.problem is problem


def test_rows_in_equal_recipients_plus_errors_plus_blank_lines(aws):
    source = reader(aws, "excel_export.csv")
    rows = list(source.rows())
    assert len(rows) + source.blank_lines == 5
    assert source.position == Position(offset=len((DATA / "excel_export.csv").read_bytes()), row=6)


# ---- a big file --------------------------------------------------------------------------------------------


def big_file(rows: int, seed: int = 1) -> bytes:
    """Rows with unique numbers, some repeated contents, a few rows to reject."""
    rng = random.Random(seed)
    lines = ["number,content,senderId"]
    for i in range(rows):
        number = f"+91 9{rng.randrange(10**9):09d}" if i % 1000 else "not a number"
        lines.append(f'{number},"Hello {i % 50}, your code is {rng.randrange(10**6)}",SHOP')
    return ("\r\n".join(lines) + "\r\n").encode()


def test_two_hundred_thousand_rows_stream_in_bounded_memory(aws):
    source = reader(aws, "big.csv", big_file(200_000))
    tracemalloc.start()
    try:
        counts = [0, 0]
        for row in source.rows():
            counts[isinstance(row, RowError)] += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts == [199_800, 200]
    # The duplicate index alone is 2**19 slots of 12 bytes (6 MiB, 9 MiB while it grows); everything
    # else is a few chunks and lines. Moto's own copy of the 11 MB object is in the figure too.
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_resumed_run_gets_exactly_the_remaining_rows_and_still_sees_duplicates(aws, gzipped):
    body = big_file(20_000, seed=2)
    lines = body.split(b"\r\n")
    body = b"\r\n".join([*lines[:15_001], lines[3].replace(b"SHOP", b"SHOP"), *lines[15_001:]])
    name = "resume.csv.gz" if gzipped else "resume.csv"
    raw = gzip.compress(body) if gzipped else body
    everything = list(reader(aws, name, raw).rows())
    checkpoint = everything[12_000]
    start = Position(offset=checkpoint.offset, row=checkpoint.row - 1)
    rest = list(reader(aws, name, raw).rows(start))
    assert rest == everything[12_000:]
    duplicate = next(r for r in rest if isinstance(r, RowError) and r.code == "DUPLICATE")
    assert (duplicate.row, duplicate.reason) == (15_002, "duplicate of row 4: same number and content")
