"""What the procedure's commands receive (strict: unknown fields and wrong types are refused
with the field's name) and what they answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool

from shared.contracts.vocabulary import (
    AccountabilityTarget,
    Circumstance,
    DecidingBody,
    Liability,
    Measure,
)
from shared.web.schemas import Content, Strict, Text100, Text200, Text500


class Exemption(Strict):
    """容错免责: on what grounds, approved by whom."""

    grounds: Text500
    approved_by: Text100


class FindingIn(Strict):
    """A decision about one target. The §6 form (``target_kind``, ``name``, ``position``,
    ``measures``, ``circumstances``, ``exempted``, ``note``) is still accepted: without
    ``liability`` and ``decided_by`` it is recorded with the defaults of ADR 19."""

    target_kind: AccountabilityTarget
    name: Text100
    unit: Text200 | None = None
    position: Text100 | None = None
    liability: Liability | None = None
    measures: Annotated[list[Measure], Field(default_factory=list, max_length=len(Measure))]
    circumstances: Circumstance = Circumstance.NONE
    grounds: Text500 | None = None
    exempted: StrictBool = False
    exemption: Exemption | None = None
    decided_by: DecidingBody | None = None
    decided_on: date | None = None
    note: Text500 | None = None

    @property
    def legacy(self) -> bool:
        """The §6 form: neither liability nor the deciding body given."""
        return self.liability is None and self.decided_by is None


class CorrectionIn(FindingIn):
    reason: Text500


class OpenIn(Strict):
    reason: Text500


class NoAccountabilityIn(Strict):
    reason: Content
    decided_by: DecidingBody
    decided_on: date


class ReportBackIn(Strict):
    reported_to: Text200
    content: Content
    reported_on: date | None = None


class TypicalCaseIn(Strict):
    """典型案例 (typical) or 标杆案例 (benchmark); ``keep_names``: the redaction decision."""

    kind: Literal["typical", "benchmark"] = "typical"
    title: Text200
    text: Content
    keep_names: StrictBool


class ProcedureAnswer(BaseModel):
    """The procedure after a command; ``position`` is where its event sits in tracking's log.
    ``status``/``pass_no`` are the case's follow-up's, as the §6 route always answered."""

    case_id: UUID
    stage: str
    round: int
    position: int | None
    n: int | None = None
    status: str | None = None
    pass_no: int | None = None


class UnitProcedureAnswer(BaseModel):
    """A unit's procedure (opened by its assessment) after a command; ``position`` is where
    its event sits in tracking's log."""

    unit: str
    year: int
    stage: str
    round: int
    position: int | None
    n: int | None = None
