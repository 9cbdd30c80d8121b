"""What a job's report page shows, collected from its per-number items one at a time.

The collector does not care where items come from (the results file as it is written, invocation after
invocation: its tallies travel between them as `state()`); it keeps a bounded summary: the top reasons with a few
masked example rows, parts and estimated cost per country, rows recorded per minute, and each invocation's span.
`PageData` is that summary plus the job's own summary: it is stored beside the page as JSON, so the page can be
drawn again with new counts without reading every item.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any

from smsdrop.masking import mask_digits, mask_number
from smsdrop.models import Status
from smsdrop.output.sms_parts import PriceTable

EXAMPLES = 3
MAX_REASONS = 100
OTHER_REASONS = "(other reasons)"
PROBLEMS = frozenset(s.value for s in (Status.REJECTED, Status.FAILED, Status.UNKNOWN, Status.UNDELIVERED))
_CODE_OF = {"REJECTED": "reject_code", "FAILED": "provider_code", "UNKNOWN": "provider_code"}
_DIGITS = re.compile(r"\d+")
RECOVERED = "recovered"


@dataclass(slots=True)
class ReasonGroup:
    """Numbers of one status that share a code (or, without a code, a reason), with a few masked examples."""

    status: str
    code: str
    reason: str
    count: int = 0
    varied: bool = False
    """Whether the group's reasons differ in their details (row numbers, lengths...)."""
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The reason as shown: the first one seen, its figures blanked out when the group's reasons vary."""
        return _DIGITS.sub("…", self.reason) if self.varied else self.reason


@dataclass(slots=True)
class CountryCost:
    """Numbers that were (or in a dry run would be) paid for to one calling code, their parts and estimate."""

    code: str
    numbers: int = 0
    parts: int = 0
    estimate: Decimal = Decimal(0)


@dataclass(slots=True)
class Span:
    """When one invocation (or the recovery of a dead one's rows) recorded its first and last rows, and how many."""

    name: str
    first: int
    last: int
    rows: int = 0


@dataclass(frozen=True, slots=True)
class PageData:
    """Everything the page shows; JSON-able through `as_json` / `from_json`."""

    summary: dict[str, Any]
    """The job's summary: job_id, source, state, dry_run, rows, counts, stop_reason, error, cost."""
    files: dict[str, str]
    """S3 keys of the page, the results file and the summary."""
    reasons: list[ReasonGroup]
    countries: list[CountryCost]
    per_minute: list[tuple[int, int]]
    """(start of the minute, epoch s; rows recorded in it), in time order."""
    spans: list[Span]
    stopped_at: int | None
    finished_at: int
    counts_updated_at: int | None = None

    def with_counts(self, counts: Mapping[str, int], at: int) -> PageData:
        """The same page with the job's counts as they are now (delivery reports move them)."""
        return replace(self, summary={**self.summary, "counts": dict(counts)}, counts_updated_at=at)

    def as_json(self) -> dict[str, Any]:
        """A JSON-able dict (Decimals as strings)."""
        data = asdict(self)
        for country in data["countries"]:
            country["estimate"] = str(country["estimate"])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PageData:
        """Back from `as_json`."""
        return cls(
            summary=dict(data["summary"]),
            files=dict(data["files"]),
            reasons=[ReasonGroup(**r) for r in data["reasons"]],
            countries=[CountryCost(**{**c, "estimate": Decimal(c["estimate"])}) for c in data["countries"]],
            per_minute=[(int(t), int(n)) for t, n in data["per_minute"]],
            spans=[Span(**s) for s in data["spans"]],
            stopped_at=data["stopped_at"],
            finished_at=data["finished_at"],
            counts_updated_at=data.get("counts_updated_at"),
        )


class PageCollector:
    """Fed every per-number item of a job (DynamoDB's wire format), in any order; bounded memory."""

    def __init__(self, prices: PriceTable, billable: Collection[str]) -> None:
        self._prices = prices
        self._billable = billable
        self._reasons: dict[tuple[str, str], ReasonGroup] = {}
        self._countries: dict[str, CountryCost] = {}
        self._minutes: Counter[int] = Counter()
        self._spans: dict[str, Span] = {}
        self._first_failure: dict[str, int] = {}

    def add(self, item: Mapping[str, Any]) -> None:
        """Take one item into the page's tallies."""
        status = item["status"]["S"]
        stamp = item.get("submitted_at") or item.get("updated_at")  # when it was sent, else recorded
        at = int(stamp["N"]) if stamp else 0
        self._minutes[at - at % 60] += 1
        batch = item.get("batch")
        self._span(batch["S"] if batch else "", at)
        if status in PROBLEMS:
            self._reason(status, item)
        if status == Status.FAILED and (code := _value(item, "provider_code")):
            self._first_failure[code] = min(at, self._first_failure.get(code, at))
        if status in self._billable and "parts" in item:
            self._cost(item)

    def state(self) -> dict[str, Any]:
        """The tallies so far, JSON-able: a later invocation of the same job carries on from them (`resume`)."""
        return {
            "reasons": [asdict(group) for group in self._reasons.values()],
            "countries": [{**asdict(c), "estimate": str(c.estimate)} for c in self._countries.values()],
            "minutes": sorted(self._minutes.items()),
            "spans": [asdict(span) for span in self._spans.values()],
            "first_failure": dict(self._first_failure),
        }

    def resume(self, state: Mapping[str, Any]) -> PageCollector:
        """Carry on from tallies `state()` gave (this collector is fresh); returns itself."""
        for group in (ReasonGroup(**g) for g in state["reasons"]):
            self._reasons[(group.status, group.code or group.reason)] = group
        for country in (CountryCost(**{**c, "estimate": Decimal(c["estimate"])}) for c in state["countries"]):
            self._countries[country.code] = country
        self._minutes.update({int(minute): int(n) for minute, n in state["minutes"]})
        self._spans.update({s["name"]: Span(**s) for s in state["spans"]})
        self._first_failure.update(state["first_failure"])
        return self

    @classmethod
    def of_parts(cls, parts: Iterable[tuple[str, PageData]]) -> PageCollector:
        """The tallies of a job whose parts (a scaled-out job's chunks, each `(label, its page's data)`) drew pages
        of their own: reasons, countries and minutes added up, each part's invocations named with its label."""
        collector = cls(PriceTable({}, Decimal(0)), ())  # no item is added: nothing is priced
        for label, data in parts:
            collector._absorb(label, data)
        return collector

    def data(self, summary: Mapping[str, Any], files: Mapping[str, str], now: float) -> PageData:
        """The page's data, with the job's summary and the keys of its files, finished at `now`."""
        stop = str(summary.get("stop_reason") or "")
        return PageData(
            summary=dict(summary),
            files=dict(files),
            reasons=sorted(self._reasons.values(), key=lambda g: (-g.count, g.status, g.code)),
            countries=sorted(self._countries.values(), key=lambda c: (-c.parts, c.code)),
            per_minute=sorted(self._minutes.items()),
            spans=sorted(self._spans.values(), key=lambda s: (s.first, s.name)),
            stopped_at=self._first_failure.get(stop.split(" ", 1)[0]) if stop else None,
            finished_at=int(now),
        )

    def _reason(self, status: str, item: Mapping[str, Any]) -> None:
        reason = mask_digits(str(_value(item, "reason") or ""))
        code = str(_value(item, _CODE_OF.get(status, "report_code")) or "")
        key, first = (status, code or reason), reason
        if key not in self._reasons and len(self._reasons) >= MAX_REASONS:
            key, code, first = (status, OTHER_REASONS), "", OTHER_REASONS
        group = self._reasons.setdefault(key, ReasonGroup(status, code, first))
        group.count += 1
        group.varied = group.varied or group.reason != reason
        if len(group.examples) < EXAMPLES:
            number = mask_number(str(_value(item, "number") or ""))
            group.examples.append({"row": int(_value(item, "row") or 0), "number": number, "reason": reason})

    def _absorb(self, label: str, data: PageData) -> None:
        for group in data.reasons:
            self._absorb_reason(group)
        for country in data.countries:
            mine = self._countries.setdefault(country.code, CountryCost(country.code))
            mine.numbers, mine.parts = mine.numbers + country.numbers, mine.parts + country.parts
            mine.estimate += country.estimate
        self._minutes.update(dict(data.per_minute))
        for span in data.spans:
            name = span.name if span.name == RECOVERED else f"{span.name} of {label}"
            mine_span = self._spans.setdefault(name, Span(name, span.first, span.last))
            mine_span.first, mine_span.last = min(mine_span.first, span.first), max(mine_span.last, span.last)
            mine_span.rows += span.rows
        stop = str(data.summary.get("stop_reason") or "").split(" ", 1)[0]
        if stop and data.stopped_at is not None:
            self._first_failure[stop] = min(data.stopped_at, self._first_failure.get(stop, data.stopped_at))

    def _absorb_reason(self, group: ReasonGroup) -> None:
        key, code, reason = (group.status, group.code or group.reason), group.code, group.reason
        if key not in self._reasons and len(self._reasons) >= MAX_REASONS:
            key, code, reason = (group.status, OTHER_REASONS), "", OTHER_REASONS
        mine = self._reasons.setdefault(key, ReasonGroup(group.status, code, reason))
        mine.count += group.count
        mine.varied = mine.varied or group.varied or mine.reason != group.reason
        mine.examples.extend(group.examples[: EXAMPLES - len(mine.examples)])

    def _cost(self, item: Mapping[str, Any]) -> None:
        parts = int(item["parts"]["N"])
        number = item["number"]["S"]
        code = item["country_code"]["N"] if "country_code" in item else "?"
        country = self._countries.setdefault(code, CountryCost(code))
        country.numbers += 1
        country.parts += parts
        country.estimate += self._prices.price_per_part(number) * parts

    def _span(self, batch: str, at: int) -> None:
        name = RECOVERED if batch == RECOVERED else batch.split(".", 1)[0]
        span = self._spans.get(name)
        if span is None:
            span = self._spans[name] = Span(name, at, at)
        span.first, span.last, span.rows = min(span.first, at), max(span.last, at), span.rows + 1


def _value(item: Mapping[str, Any], name: str) -> str | None:
    """An attribute's value as DynamoDB's wire format holds it (a string, also for numbers), or None."""
    attribute = item.get(name)
    return next(iter(attribute.values())) if attribute else None
