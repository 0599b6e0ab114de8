"""What the procedure's endpoints are given: tracking's Application, which carries the
procedure's commands (``tracking/service.py`` joins them with the follow-up's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.tracking.accountability.application import AccountabilityCommands


def get_procedures(request: Request) -> AccountabilityCommands:
    app: AccountabilityCommands = request.app.state.services["tracking"].app
    return app


Procedures = Annotated[AccountabilityCommands, Depends(get_procedures)]
