"""Who rates as what, and whose dissatisfaction starts a second pass (ADR 20).

Pure rules, no I/O. An ``evaluator``'s kind (人大代表, 政协委员 …) comes from its credential;
a body that names another kind is refused, never believed. The complainant rates through its
receipt code on the public portal, or the office records the complainant's answer from its
回访 call (role ``office``, ``evaluator_kind: complainant``); the office, which also records
ratings given on paper, names the kind itself.

Whose ``dissatisfied`` starts a second pass is a setting (``TAIZHANG_SECOND_PASS_STARTERS``,
default the complainant only): a third party's dissatisfaction is referred to the office,
which decides (``POST /api/v1/cases/{id}/second-pass``).
"""

from __future__ import annotations

from services.tracking.followup.errors import EvaluatorKindRefused
from shared.contracts.vocabulary import EVALUATOR_LABELS, EvaluatorKind

EVALUATOR = "evaluator"
OFFICE = "office"
DEFAULT_SECOND_PASS_STARTERS = frozenset({EvaluatorKind.COMPLAINANT.value})


def _label(kind: str) -> str:
    try:
        return EVALUATOR_LABELS[EvaluatorKind(kind)]
    except ValueError:
        return kind


def recorded_kind(role: str, credential_kind: str | None, claimed: str | None) -> str:
    """The kind an evaluation is recorded under, or :class:`EvaluatorKindRefused`."""
    if role == EVALUATOR:
        if credential_kind is None or credential_kind == EvaluatorKind.COMPLAINANT:
            raise EvaluatorKindRefused(
                "评价人凭证未载明评价人类别,请向管理员重新申领 (the evaluator credential names "
                "no third-party kind)",
                code="evaluator_kind_missing",
            )
        if claimed is not None and claimed != credential_kind:
            raise EvaluatorKindRefused(
                f"评价人类别与凭证不符:凭证为「{_label(credential_kind)}」,不能以"
                f"「{_label(claimed)}」身份评价 (evaluator_kind {claimed!r} disagrees with the "
                f"credential's {credential_kind!r})",
                code="evaluator_kind_mismatch",
                field="evaluator_kind",
            )
        return credential_kind
    if claimed is None:
        raise EvaluatorKindRefused(
            "请注明评价人类别 evaluator_kind(回访投诉人填 complainant) "
            "(evaluator_kind is required when the office records a rating)",
            code="evaluator_kind_required",
            field="evaluator_kind",
        )
    return claimed
