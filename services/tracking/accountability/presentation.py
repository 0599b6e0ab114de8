"""A procedure as the API and the workbench show it (labels beside the codes)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.tracking.accountability.domain import (
    AccountabilityProcedure,
    UnitAccountabilityProcedure,
)
from shared.contracts.vocabulary import (
    CIRCUMSTANCE_LABELS,
    DECIDING_BODY_LABELS,
    LIABILITY_LABELS,
    MEASURE_LABELS,
    TARGET_LABELS,
    TRIGGER_LABELS,
    AccountabilityTarget,
    AccountabilityTrigger,
    Circumstance,
    DecidingBody,
    Liability,
    Measure,
)

STAGE_LABELS = {"open": "待决定", "decided": "已决定,待回告", "closed": "已办结"}


def finding_view(finding: dict[str, Any]) -> dict[str, Any]:
    decided_by = finding.get("decided_by")
    return {
        **{k: v for k, v in finding.items() if k != "round"},
        "round": finding.get("round"),
        "target_label": TARGET_LABELS[AccountabilityTarget(finding["target_kind"])],
        "liability_label": LIABILITY_LABELS[Liability(finding["liability"])],
        "measure_labels": [MEASURE_LABELS[Measure(m)] for m in finding["measures"]],
        "circumstances_label": CIRCUMSTANCE_LABELS[Circumstance(finding["circumstances"])],
        "decided_by_label": DECIDING_BODY_LABELS[DecidingBody(decided_by)]
        if decided_by
        else "未注明",
    }


def procedure_view(case_id: UUID, p: AccountabilityProcedure) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "stage": p.stage,
        "stage_label": STAGE_LABELS[p.stage],
        "round": p.round,
        "triggers": [
            {**t, "label": TRIGGER_LABELS[AccountabilityTrigger(t["trigger"])]} for t in p.triggers
        ],
        "origin": p.origin,
        "report_back_required": p.report_back_required,
        "report_back_due": p.report_back_due,
        "reported_back": p.reported,
        "findings": [finding_view(f) for f in p.current()],
        "all_findings": [finding_view(f) for f in p.findings],
        "no_accountability": p.no_accountability,
        "missing": p.missing_for_close_out(),
    }


UNIT_STAGE_LABELS = {"open": "待决定", "decided": "已决定", "closed": "已办结"}


def unit_procedure_view(p: UnitAccountabilityProcedure) -> dict[str, Any]:
    """A unit's procedure: its source is the unit's assessment (004), not a case."""
    return {
        "unit": p.unit,
        "year": p.year,
        "group": p.group,
        "source": {
            "kind": "assessment",
            "unit": p.unit,
            "year": p.year,
            "label": f"{p.year}年度考核:连续两年列{p.group}小组末位",
        },
        "stage": p.stage,
        "stage_label": UNIT_STAGE_LABELS[p.stage],
        "round": p.round,
        "triggers": [
            {**t, "label": TRIGGER_LABELS[AccountabilityTrigger(t["trigger"])]} for t in p.triggers
        ],
        "findings": [finding_view(f) for f in p.current()],
        "all_findings": [finding_view(f) for f in p.findings],
        "no_accountability": p.no_accountability,
    }
