"""The assessment's use cases on an in-memory event store and a stand-in for the ledger: last
in its group two years running is flagged, and the office's decision on such a unit records
the trigger for the accountability procedure (004)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.application import Application

from services.tracking.assessment.application import AssessmentOffice, UnitFigures
from services.tracking.assessment.domain import AssessmentYear, Finding, Grade, year_id

AT = datetime(2026, 12, 20, 9, tzinfo=UTC)
OFFICE = {"id": "o1", "name": "纠风办", "role": "office", "unit": None}


RATES = {
    2025: {"S1": 0.9, "S2": 0.3, "S3": 0.3, "D1": 0.8},
    2026: {"S1": 0.95, "S2": 0.9, "S3": 0.4, "D1": 0.7},
}


class Ledger:
    """Two years of figures: S3 last among the streets both years, S2 last only in 2025."""

    async def figures(self, year: int) -> list[UnitFigures]:
        kinds = {"S1": "street_office", "S2": "street_office", "S3": "street_office"}
        return [
            UnitFigures(code, code, kinds.get(code, "department"), {"on_time_sign_rate": rate})
            for code, rate in RATES.get(year, {}).items()
        ]

    async def findings(self, year: int) -> list[Finding]:
        return []

    async def reply_deadline(self, start: datetime, working_days: int) -> datetime:
        return start + timedelta(days=working_days)

    async def monthly_circular(self, year: int, month: int) -> dict[str, Any]:
        return {"title": "", "period": "", "sections": []}

    async def month_figures(self, year: int, month: int) -> list[UnitFigures]:
        return []


async def test_last_place_two_years_running_triggers_the_procedure_on_decision() -> None:
    store = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    office = AssessmentOffice(store, Ledger(), now=lambda: AT)
    year = await office.year(2026)
    flags = {i["unit"]["code"]: (i["last_in_group"], i["last_two_years"]) for i in year["items"]}
    # 2025: S2 and S3 tie for last; 2026: S3 alone. D1 is alone in its group: never last.
    assert flags == {
        "S1": (False, False),
        "S2": (False, False),
        "S3": (True, True),
        "D1": (False, False),
    }
    await office.decide(2026, "S3", Grade.INCOMPETENT, "连续两年末位,整改不力", OFFICE, AT)
    await office.decide(2026, "S1", Grade.EXCELLENT, "成绩突出", OFFICE, AT)
    stored: AssessmentYear = store.repository.get(year_id(2026))
    assert set(stored.triggers) == {"S3"}
    names = [type(e).__name__ for e in store.repository.event_store.get(year_id(2026))]
    assert names == [
        "Opened",
        "GradeDecided",
        "AccountabilityProcedureTriggered",
        "GradeDecided",
    ]
    s3 = await office.unit(2026, "S3")
    assert s3["accountability_triggered"] is True
    assert s3["final_grade"] == {"code": "incompetent", "label": "不合格"}
    assert s3["decision"]["reason"] == "连续两年末位,整改不力"
