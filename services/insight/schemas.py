"""The shapes of insight's answers."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field


class SuggestionOut(BaseModel):
    case_id: UUID
    number: str
    score: float = Field(description="0–1: text, subject unit or person, category and time")
    text_similarity: float
    reason: str = Field(description="为何疑似同一问题 (Chinese)")


class SuggestionList(BaseModel):
    case_id: UUID
    items: list[SuggestionOut]


class CaseSuggestions(BaseModel):
    case_id: UUID
    seen: bool = Field(description="false: insight has not seen this case's tip yet (ask again)")
    items: list[SuggestionOut]


class SuggestionsOfCases(BaseModel):
    items: list[CaseSuggestions] = Field(description="in the order the cases were asked for")


class WarningKey(BaseModel):
    level: str = Field(description="street | unit | person")
    level_label: str
    value: str


class WarningCase(BaseModel):
    case_id: UUID
    number: str


class WarningOut(BaseModel):
    category: str
    category_label: str
    keys: list[WarningKey]
    day: date = Field(description="the day the rule fired")
    count: int = Field(description="tips in the window")
    expected: float = Field(description="the baseline's expectation for the window (λ)")
    reason: str
    cases: list[WarningCase]


class WarningList(BaseModel):
    first: date
    last: date
    rule: str
    items: list[WarningOut]
