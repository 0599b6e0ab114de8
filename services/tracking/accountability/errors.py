"""What the accountability procedure refuses, and why. The API's table
(``accountability.api.REFUSALS``) says how each is answered; nothing here knows of HTTP."""

from __future__ import annotations

from typing import Any


class CaseNotFound(Exception):
    """No case of that id has reached tracking."""


class ProcedureNotFound(Exception):
    """The case has no accountability procedure (or no such case)."""


class UnitProcedureNotFound(Exception):
    """No procedure was opened for that unit by that year's assessment."""


class ProcedureError(Exception):
    """A command the procedure refuses; ``details`` say what stands in the way."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class InvalidFinding(ProcedureError):
    """A finding that breaks a rule of the documents (``details['field']``; ``errors`` lists
    every field at fault)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors[0][1], field=errors[0][0])
        self.errors = errors


class NotDecided(ProcedureError):
    """Reporting back before the procedure has its decision."""


class NoReportBackOwed(ProcedureError):
    """The case's source is not a higher level's: nothing to report back."""


class AlreadyReportedBack(ProcedureError):
    """This round's decision was reported back already."""


class DecisionConflict(ProcedureError):
    """Findings and a finding of no accountability contradict each other."""


class NoSuchFinding(ProcedureError):
    """A correction names a finding the procedure does not have."""
