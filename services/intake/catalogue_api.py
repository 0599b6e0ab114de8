"""问题分类 over HTTP: the catalogue as it stands (anyone signed in) and the office's changes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.intake.deps import IntakeDep
from shared.contracts.catalogue import SEED_VERSION, Change
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import not_found
from shared.web.schemas import Strict, Text64

router = APIRouter(prefix="/api/v1/categories", tags=["catalogue"])

Reader = Annotated[Principal, Depends(require(Action.READ_DIRECTORY))]
Keeper = Annotated[Principal, Depends(require(Action.MANAGE_CATALOGUE))]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,47}$", description="类别代码")]


class CategoryIn(Strict):
    code: Code
    name: Text64
    parent: Code | None = None


class CategoryChange(Strict):
    """One change: a new name, a new parent (``null``: top level), or retire/reinstate."""

    change: Literal["renamed", "retired", "reinstated", "moved"]
    name: Text64 | None = None
    parent: Code | None = None


class CategoryEntry(BaseModel):
    code: str
    name: str
    parent: str | None
    active: bool
    aliases: list[str]
    depth: int


class CatalogueOut(BaseModel):
    seed_version: int
    items: list[CategoryEntry]


@router.get("", summary="The category catalogue (问题分类), parents before children")
def read_catalogue(intake: IntakeDep, _: Reader) -> CatalogueOut:
    listing: list[Any] = intake.app.catalogue().listing()
    return CatalogueOut(seed_version=SEED_VERSION, items=listing)


@router.post("", status_code=201, summary="Add a category (the office)")
def add_category(body: CategoryIn, intake: IntakeDep, principal: Keeper) -> CategoryEntry:
    change = Change("added", body.code, body.name, body.parent)
    return CategoryEntry.model_validate(intake.app.change_catalogue(change, principal.actor()))


@router.post("/{code}/changes", summary="Rename, move, retire or reinstate a category")
def change_category(
    code: Code, body: CategoryChange, intake: IntakeDep, principal: Keeper
) -> CategoryEntry:
    if intake.app.catalogue().find(code) is None:
        raise not_found("category")
    change = Change(body.change, code, body.name, body.parent)
    return CategoryEntry.model_validate(intake.app.change_catalogue(change, principal.actor()))
