"""What intake's endpoints are given."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.intake.service import IntakeService


async def get_intake(request: Request) -> IntakeService:
    service: IntakeService = request.app.state.services["intake"]
    return service


IntakeDep = Annotated[IntakeService, Depends(get_intake)]
