"""Dispatch's directory API (SPEC §6): units, routing rules, the official calendar by year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from services.dispatch.deps import DispatchDep
from services.dispatch.errors import NoSuchYear
from services.dispatch.schemas import (
    RulesIn,
    RulesOut,
    UnitIn,
    UnitList,
    UnitOut,
    UnitUpdate,
    YearIn,
    YearOut,
)
from shared.web.auth import Principal
from shared.web.authz import Action, require, who_may

router = APIRouter(tags=["directory"])

Reader = Annotated[Principal, Depends(require(Action.READ_DIRECTORY))]
Manager = Annotated[Principal, Depends(require(Action.MANAGE_DIRECTORY))]


@router.get("/units", response_model=UnitList, summary="The responsible units (责任单位)")
def list_units(dispatch: DispatchDep, who: Reader) -> UnitList:
    units = [UnitOut(**u.as_dict()) for u in dispatch.app.units()]
    return UnitList(items=units, total=len(units))


@router.post("/units", status_code=201, response_model=UnitOut)
def register_unit(body: UnitIn, dispatch: DispatchDep, who: Manager) -> UnitOut:
    unit = dispatch.app.register_unit({"code": body.code, **body.record()}, who.actor())
    return UnitOut(**unit.as_dict())


@router.put("/units/{code}", response_model=UnitOut)
def update_unit(code: str, body: UnitUpdate, dispatch: DispatchDep, who: Manager) -> UnitOut:
    unit = dispatch.app.update_unit(code, {**body.record(), "active": body.active}, who.actor())
    return UnitOut(**unit.as_dict())


@router.get("/routing-rules", response_model=RulesOut, summary="The routing rules, in order")
def read_rules(dispatch: DispatchDep, who: Reader) -> RulesOut:
    return RulesOut.model_validate({"rules": dispatch.app.routing_rules()})


@router.put("/routing-rules", response_model=RulesOut)
def replace_rules(body: RulesIn, dispatch: DispatchDep, who: Manager) -> RulesOut:
    """Replace the whole ordered list; the first rule that matches a tip wins."""
    rules = dispatch.app.replace_rules(body.records(), who.actor())
    return RulesOut.model_validate({"rules": rules})


@router.get("/calendar/{year}", response_model=YearOut)
def read_year(year: int, dispatch: DispatchDep, who: Reader) -> YearOut:
    """A year's holidays and make-up working days (调休), loaded or built in."""
    view = dispatch.app.year_view(year)
    if view is None:
        raise NoSuchYear(
            f"尚无 {year} 年的官方日历,请{who_may(Action.MANAGE_DIRECTORY)}加载"
            f"(工作台「日历」页或 `PUT /api/v1/calendar/{year}`)"
            f" (no calendar for {year} yet)"
        )
    return YearOut(**view)


@router.put("/calendar/{year}", response_model=YearOut)
async def load_year(year: int, body: YearIn, dispatch: DispatchDep, who: Manager) -> YearOut:
    """Load a year the built-in calendar does not know (or correct one); provisional
    deadlines of open cases are counted again on it."""
    await run_in_threadpool(dispatch.app.load_year, year, body.holidays, body.workdays, who.actor())
    await dispatch.recount_now()
    view = await run_in_threadpool(dispatch.app.year_view, year)
    return YearOut(**(view or {}))
