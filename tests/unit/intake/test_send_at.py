"""The upload's `send-at` metadata: an instant with its offset, or a clear refusal."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from smsdrop.intake.send_at import SendAtRefused, parse_send_at, read_send_at
from smsdrop.intake.uploads import Upload

IST = timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-01T09:30:00+05:30", datetime(2026, 12, 1, 9, 30, tzinfo=IST)),
        (" 2026-12-01T04:00:00Z ", datetime(2026, 12, 1, 4, 0, tzinfo=UTC)),
        ("2026-12-01 09:30+05:30", datetime(2026, 12, 1, 9, 30, tzinfo=IST)),
    ],
    ids=["offset", "zulu-spaces", "space-no-seconds"],
)
def test_a_send_at_with_an_offset_is_the_instant_it_names(raw, expected):
    assert parse_send_at(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("2026-12-01T09:30:00", "has no UTC offset"),
        ("tomorrow 9am", "is not an ISO 8601 time"),
        ("2026-13-01T09:30:00+05:30", "is not an ISO 8601 time"),
    ],
    ids=["no-offset", "words", "month-13"],
)
def test_a_send_at_that_cannot_be_used_is_refused_saying_why(raw, why):
    with pytest.raises(SendAtRefused, match=why) as refusal:
        parse_send_at(raw)
    assert "2026-12-01T09:30:00+05:30" in str(refusal.value)  # how to write it


class _Head:
    def __init__(self, metadata):
        self.metadata = metadata
        self.asked = []

    def head_object(self, **request):
        self.asked.append(request)
        return {"Metadata": self.metadata}


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [({}, None), ({"send-at": " "}, None), ({"send-at": "2026-12-01T04:00:00Z"}, datetime(2026, 12, 1, 4, tzinfo=UTC))],
    ids=["none", "blank", "set"],
)
def test_the_send_at_is_read_from_the_uploaded_version_metadata(metadata, expected):
    s3 = _Head(metadata)
    assert read_send_at(s3, Upload("b", "incoming/a.csv", "v7")) == expected
    assert s3.asked == [{"Bucket": "b", "Key": "incoming/a.csv", "VersionId": "v7"}]
