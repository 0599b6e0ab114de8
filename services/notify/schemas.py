"""Request and response models of notify's API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool, StringConstraints, model_validator

from services.notify.domain import Role
from shared.web.schemas import Strict, Text32, Text64, Text128

UnitCode = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[A-Z][A-Z0-9-]{1,31}$", max_length=32)
]
Email = Annotated[str, StringConstraints(strict=True, pattern=r"^[^@\s<>]{1,64}@[^@\s<>]{1,190}$")]
ClockTime = Annotated[str, StringConstraints(strict=True, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
# An Apprise URL of a group robot (json://, dingtalk://, wecombot://, feishu:// …).
RobotUrl = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[a-z][a-z0-9+]{1,20}://\S{1,480}$")
]


class NotificationSettings(Strict):
    """The channels a person chooses (短信 only when turned on, and only where the deployment
    has an SMS provider), 免打扰 (quiet hours, local time, both or neither) and 每日汇总 (one
    daily digest per channel instead of one message per notification)."""

    email_enabled: StrictBool = True
    robot_enabled: StrictBool = True
    sms_enabled: StrictBool = Field(
        default=False, description="SMS to the person's phone, where the deployment sends SMS"
    )
    quiet_start: ClockTime | None = None
    quiet_end: ClockTime | None = None
    digest: StrictBool = False

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("免打扰时段须同时给出开始和结束 (give both quiet_start and quiet_end)")
        return self


class PersonFields(NotificationSettings):
    name: Text64
    role: Role
    unit: UnitCode | None = None
    email: Email | None = None
    phone: Text32 | None = None
    robot_url: RobotUrl | None = None

    @model_validator(mode="after")
    def _liaison_has_unit(self) -> Self:
        if self.role is Role.LIAISON and self.unit is None:
            raise ValueError("联络员须注明所属单位 (a liaison officer needs a unit)")
        return self

    def record(self) -> dict[str, Any]:
        return self.model_dump() | {"role": self.role.value}


class PersonIn(PersonFields):
    id: Text128 = Field(description="The person's account subject (the token's sub)")


class PersonOut(BaseModel):
    id: str
    name: str
    role: str
    unit: str | None
    email: str | None
    phone: str | None
    robot: bool = Field(description="A group robot is configured (its URL is a secret)")
    email_enabled: bool
    robot_enabled: bool
    sms_enabled: bool
    quiet_start: str | None
    quiet_end: str | None
    digest: bool

    @classmethod
    def of(cls, row: dict[str, Any]) -> PersonOut:
        return cls.model_validate(row | {"robot": bool(row.get("robot_url"))})


class PersonList(BaseModel):
    items: list[PersonOut]
    total: int


class InboxItem(BaseModel):
    id: UUID
    title: str
    event_type: str
    case_id: UUID | None
    case_number: str | None
    created_at: datetime
    read: bool
    read_at: datetime | None


class Inbox(BaseModel):
    items: list[InboxItem]
    total: int
    unread: int


class UnreadCount(BaseModel):
    unread: int


class Channels(BaseModel):
    """Which channels this deployment sends on (a person's choice counts only there)."""

    inbox: bool = Field(description="站内待办: always")
    email: bool = Field(description="电子邮件: the deployment has an SMTP server")
    robot: bool = Field(description="群机器人: each person's robot URL in the directory")
    sms: bool = Field(description="短信: the deployment has an SMS provider (sms_url)")
    note: str = Field(description="What a person reads about them, in Chinese")


class Delivery(BaseModel):
    id: UUID
    event_type: str
    title: str
    person_id: str
    person_name: str | None
    channel: str
    status: str = Field(
        description="pending, sent, failed or read; held or digested for a daily digest"
    )
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None
    last_error: str | None


class DeliveryLog(BaseModel):
    items: list[Delivery]
    total: int
