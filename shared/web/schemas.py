"""Request-model building blocks every API uses: strict text, strict objects."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StrictFloat,
    StringConstraints,
)

CONTENT_MAX = 10_000


# Tabs and line breaks are text; every other C0 control character (and DEL) is not: no one
# types them, and they cannot be written into XML (Excel exports, Open311 answers).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("不能包含控制字符 (must not contain control characters)")
    return value


def _limits(max_length: int) -> StringConstraints:
    return StringConstraints(
        strict=True, strip_whitespace=True, min_length=1, max_length=max_length
    )


_Clean = AfterValidator(_no_control_chars)
Text18 = Annotated[str, _limits(18), _Clean]
Text32 = Annotated[str, _limits(32), _Clean]
Text64 = Annotated[str, _limits(64), _Clean]
Text100 = Annotated[str, _limits(100), _Clean]
Text128 = Annotated[str, _limits(128), _Clean]
Text200 = Annotated[str, _limits(200), _Clean]
Text300 = Annotated[str, _limits(300), _Clean]
Text500 = Annotated[str, _limits(500), _Clean]
Content = Annotated[str, _limits(CONTENT_MAX), _Clean]


Number = StrictFloat  # accepts integers, refuses "30.5" and true


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Origin(Strict):
    """来源 — the level and body a tip came from, when a body sent it: a higher level's 暗访,
    转办 or exposure (``level``: district, city, province, central)."""

    level: Literal["district", "city", "province", "central"]
    body: Text100 | None = None
