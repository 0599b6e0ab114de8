"""Insight's read model over the backbone's contracts: open cases, closes, triage, warnings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid5

from services.insight.index import OpenCases
from shared.contracts.dispatch import CaseMerged, CaseTriaged
from shared.contracts.intake import TipRegistered

NS = UUID("00000000-0000-0000-0000-000000000025")
T0 = datetime(2025, 4, 7, 9, tzinfo=UTC)


def registered(
    n: int, content: str, unit: str | None, day: int = 0, category: str | None = "arbitrary_charges"
) -> TipRegistered:
    return TipRegistered(
        case_id=uuid5(NS, str(n)),
        number=f"TZ-{n}",
        channel="hotline",
        content=content,
        summary=None,
        category=category,
        external_ref=None,
        occurred_at=None,
        location={"street": "南湖街道"},
        subject={"unit": unit, "person": None},
        named=False,
        receipt_digest=None,
        registered_at=T0 + timedelta(days=day),
    )


A = registered(
    1, "南湖街道便民服务大厅办理停车证，王科长要交300元加急费，不开收据。", "南湖街道便民服务大厅"
)
B = registered(
    2, "市民反映：南湖街道便民服务大厅王科长办理停车证收取加急费300元，无票据。", None, 3
)
C = registered(3, "南湖街道社区服务中心开居住证明要交80元服务费。", "南湖街道社区服务中心", 1)


def test_a_repeat_is_suggested_until_its_case_is_merged_and_redelivery_changes_nothing() -> None:
    cases = OpenCases()
    for event in (A, B, C, B):
        cases.apply(event)
    found = cases.suggestions(str(B.case_id))
    assert found is not None and [s.number for s in found] == ["TZ-1"]
    assert "金额相同（300元）" in found[0].reason
    cases.apply(
        CaseMerged(
            case_id=A.case_id,
            status="merged",
            into_case_id=C.case_id,
            into_number="TZ-3",
            reason=None,
        )
    )
    assert cases.suggestions(str(B.case_id)) == []
    assert cases.suggestions(str(uuid5(NS, "never"))) is None


def test_triage_sets_the_category_the_warning_counts() -> None:
    cases = OpenCases()
    tips = [
        registered(10 + i, f"南湖街道第{i}件收费问题，要交{100 + i}元。", None, i % 4, None)
        for i in range(8)
    ]
    for t in tips:
        cases.apply(t)
    assert cases.warnings(date(2025, 4, 7), date(2025, 4, 14)) == []
    for t in tips:
        cases.apply(
            CaseTriaged(
                case_id=t.case_id,
                status="registered",
                track="general",
                category="arbitrary_charges",
                note=None,
            )
        )
    (w,) = cases.warnings(date(2025, 4, 7), date(2025, 4, 14))
    assert w.keys == [("street", "南湖街道")]
    assert w.case_ids == {str(t.case_id) for t in tips}
