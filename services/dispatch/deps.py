"""What dispatch's endpoints are given."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.dispatch.service import DispatchService


def get_dispatch(request: Request) -> DispatchService:
    service: DispatchService = request.app.state.services["dispatch"]
    return service


DispatchDep = Annotated[DispatchService, Depends(get_dispatch)]
