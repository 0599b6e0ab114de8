"""The tip as the API receives and shows it (SPEC §6). Strict at the edge: unknown fields,
wrong types, NUL bytes, impossible coordinates and identity on an anonymous report are
refused with the field's name."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from shared.contracts.vocabulary import Channel
from shared.web.schemas import (
    Content,
    Number,
    Origin,
    Strict,
    Text18,
    Text32,
    Text64,
    Text100,
    Text128,
    Text200,
    Text300,
    Text500,
)

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")
_ID_NUMBER = re.compile(r"^(\d{17}[\dXx]|\d{15})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _pattern(regex: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"{what}格式不正确 (invalid {what})")
        return value

    return AfterValidator(check)


class Location(Strict):
    district: Text64 | None = None
    street: Text64 | None = None
    address: Text300 | None = None
    lat: Annotated[Number, Field(ge=-90, le=90)] | None = None
    lon: Annotated[Number, Field(ge=-180, le=180)] | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat 与 lon 须同时提供 (give both lat and lon, or neither)")
        return self


class Subject(Strict):
    """Who or what the tip is about."""

    unit: Text200 | None = None
    person: Text100 | None = None
    position: Text100 | None = None


class Reporter(Strict):
    anonymous: StrictBool = True
    name: Text100 | None = None
    phone: Annotated[Text32, _pattern(_PHONE, "电话")] | None = None
    id_number: Annotated[Text18, _pattern(_ID_NUMBER, "身份证号")] | None = None
    email: Annotated[Text200, _pattern(_EMAIL, "邮箱")] | None = None
    # 同意短信告知办理进展 (ADR 37): off unless the reporter says so — a text can tell whoever
    # holds the phone that a report was made. Kept by intake alone, never in the identity.
    sms_consent: StrictBool = False

    @model_validator(mode="after")
    def _identity_matches_anonymity(self) -> Self:
        identity = [self.name, self.phone, self.id_number, self.email]
        if self.anonymous and any(identity):
            raise ValueError(
                "匿名举报不应填写姓名、电话、身份证号或邮箱;实名举报请设 anonymous=false "
                "(an anonymous reporter carries no identity)"
            )
        # A phone or an e-mail without a name is a reporter who can be answered (GeoReport v2
        # makes every personal field optional, issue 20); an ID number alone reaches no one.
        if not self.anonymous and not (self.name or self.phone or self.email):
            raise ValueError(
                "实名举报须至少留下姓名、电话或邮箱之一 (a named reporter needs a name, a phone "
                "or an e-mail)"
            )
        if self.sms_consent and not self.phone:
            raise ValueError(
                "同意短信告知须留下举报人的电话 (sms_consent needs the reporter's phone)"
            )
        return self

    def identity(self) -> dict[str, Any] | None:
        if self.anonymous:
            return None
        return self.model_dump(exclude={"anonymous", "sms_consent"}, exclude_none=True)


class TipIn(Strict):
    # Shown in the API docs, and the seed from which fuzzers reach a real case.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "hotline_12388",
                    "content": "某街道办事处办理低保手续时多次推诿,要求群众反复提交材料。",
                    "summary": "街道办理低保推诿",
                    "category": "作风问题",
                    "reporter": {"anonymous": True},
                }
            ]
        },
    )

    channel: Channel
    content: Content
    external_ref: Text128 | None = None
    summary: Text200 | None = None
    category: Text64 | None = None
    occurred_at: AwareDatetime | None = None
    location: Location | None = None
    subject: Subject | None = None
    origin: Origin | None = None  # 来源层级与机关 (issue 18): e.g. {level: city, body: 市纪委}
    reporter: Reporter | None = None

    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + timedelta(days=1):
            raise ValueError("发生时间晚于当前时间 (occurred_at is in the future)")
        return value

    def fingerprint(self) -> str:
        """Same request ⇔ same fingerprint (used to tell a replay from a reused key)."""
        # A tip without an origin, or whose reporter gave no SMS consent, hashes as before
        # they existed (keys stored then still match).
        exclude: dict[str, Any] = {}
        if self.origin is None:
            exclude["origin"] = True
        if self.reporter is not None and not self.reporter.sms_consent:
            exclude["reporter"] = {"sms_consent"}
        dumped = self.model_dump(mode="json", exclude=exclude or None)
        canonical = json.dumps(dumped, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class TipCreated(BaseModel):
    case_id: UUID
    number: str
    status: str
    receipt_code: str | None = Field(
        None,
        description="回执码: the reporter's key to the portal (every new tip's, named ones too "
        "since ADR 44; absent for a named tip registered before). Told once: only a replay by "
        "the same registrant answers it again",
    )


class Actor(BaseModel):
    id: str
    name: str
    role: str
    unit: str | None = None


class ReporterSummary(BaseModel):
    """What a registration record shows of its reporter: never who they are."""

    anonymous: bool


class TipRecord(BaseModel):
    case_id: UUID
    number: str
    channel: Channel
    content: str
    summary: str | None
    category: str | None
    external_ref: str | None
    occurred_at: datetime | None
    location: Location | None
    subject: Subject | None
    reporter: ReporterSummary
    registered_at: datetime
    registered_by: Actor


class IdentityViewRequest(Strict):
    reason: Text500


class ReporterIdentity(BaseModel):
    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    email: str | None = None
