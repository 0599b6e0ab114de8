"""What the procedure's endpoints are given: tracking's Application, which carries the
procedure's commands (``tracking/service.py`` joins them with the follow-up's), and the
service's read audit, where a look at a procedure (names of officials) is recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.tracking.accountability.application import AccountabilityCommands
from shared.web.reads import ReadRecorder


def get_procedures(request: Request) -> AccountabilityCommands:
    app: AccountabilityCommands = request.app.state.services["tracking"].app
    return app


Procedures = Annotated[AccountabilityCommands, Depends(get_procedures)]


def get_reads(request: Request) -> ReadRecorder:
    service: ReadRecorder = request.app.state.services["tracking"]
    return service


Reads = Annotated[ReadRecorder, Depends(get_reads)]
