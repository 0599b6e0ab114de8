"""The query parameters of the ledger's lists, reports and pages (strict: unknown fields and
wrong types are refused with the field's name), and the page it answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, Self
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.contracts.vocabulary import (
    CaseStatus,
    Channel,
    Track,
)
from shared.web.schemas import Text64, Text100

MAX_PAGE_SIZE = 200
ReporterKind = Literal["named", "anonymous"]  # labels: shared.contracts.wording


class QueryParams(BaseModel):
    """Query parameters of the ``/api/v1`` lists: an unknown one is a 422 naming it (a filter
    misspelt must not silently answer every row), except the allowlist — ``_``, the
    cache-buster jQuery and some proxies add. An empty one (``?q=&status=`` from a form left
    blank) means "no filter"."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cache_buster: str | None = Field(
        default=None, alias="_", description="ignored (a cache-buster); the only extra allowed"
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data


# Days and moments the ledger can hold; year 1 or 9999 overflow once shifted between zones.
PeriodDay = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]
Moment = Annotated[
    AwareDatetime,
    Field(ge=datetime(1900, 1, 1, tzinfo=UTC), le=datetime(2999, 12, 31, tzinfo=UTC)),
]


class Period(QueryParams):
    """``from``/``to`` are calendar days in the office's timezone, both inclusive."""

    from_: PeriodDay | None = Field(default=None, alias="from")
    to: PeriodDay | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError("登记起始日不能晚于截止日 (from is after to)")
        return self

    def bounds(self, timezone: str) -> tuple[datetime | None, datetime | None]:
        """[start, end) as moments."""
        return _start_of(self.from_, timezone), _start_of(
            self.to + timedelta(days=1) if self.to else None, timezone
        )


class Page(QueryParams):
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 50


class PublicPage(Page):
    """The public pages keep the web's tolerance: unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class LedgerFilters(Period):
    status: CaseStatus | None = None
    unit: Text64 | None = None
    channel: Channel | None = None
    track: Track | None = None
    overdue: bool | None = None
    q: Text100 | None = Field(
        default=None, description="words of the summary or content, or a case number exactly"
    )
    category: Text64 | None = Field(
        default=None, description="a category code or Chinese name; its subcategories too"
    )
    district: Text64 | None = None
    person: Text100 | None = Field(
        default=None, description="被反映人: part of the name of the person complained about"
    )
    reporter: ReporterKind | None = Field(
        default=None, description="举报人: named (实名) or anonymous (匿名)"
    )


class LedgerQuery(LedgerFilters, Page):
    pass


class LedgerPage(BaseModel):
    """A page of the ledger. ``total`` counts the matches exactly up to the deployment's
    ``TAIZHANG_LEDGER_COUNT_LIMIT`` (1000 by default); beyond it ``total`` is that limit and
    ``total_exact`` is false — show "1000+" and offer the next page while pages come full
    (ADR 13)."""

    items: list[dict[str, Any]]
    total: int = Field(description="matching cases, exact up to the count limit, else the limit")
    total_exact: bool = Field(description="false when more cases match than `total` says")
    page: int
    page_size: int


class AuditQuery(Period, Page):
    actor: Text100 | None = None
    type: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z]+$")] | None = None
    case_id: UUID | None = None
    term: Text100 | None = None  # searches for this term (matched keyed, ADR 26)


def _start_of(day: date | None, timezone: str) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
