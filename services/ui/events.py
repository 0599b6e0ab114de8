"""How the timeline names the integration events of a case (``shared.contracts``); a type
not listed here (a newer producer) shows under its code name."""

from __future__ import annotations

EVENT_LABELS = {
    "TipRegistered": "登记",
    "ReporterIdentityViewed": "查看举报人身份",
    "CaseOpened": "进入分办",
    "CaseTriaged": "分类处置",
    "CaseFlaggedForAccountability": "启动问责程序",
    "CaseMerged": "合并",
    "RepeatReportLinked": "重复件关联",
    "CaseNotAccepted": "不予受理",
    "CaseDispatched": "交办",
    "CaseSigned": "签收",
    "CaseReturned": "退回",
    "ReturnOverruled": "驳回退回",
    "ExtensionRequested": "申请延期",
    "ExtensionDecided": "延期审批",
    "ProgressReported": "报送进展",
    "ResultSubmitted": "报送办理结果",
    "ResultReviewed": "审核办理结果",
    "CaseReopenedForSecondPass": "重新交办(二次办理)",
    "DeadlinesRecalculated": "时限重算",
    "DeadlineApproaching": "催办提醒",
    "DeadlineMissed": "超期",
    "SupervisionNoticeIssued": "督办通知",
    "FollowUpStarted": "建立跟踪",
    "FollowUpOpened": "进入反馈",
    "FeedbackDelivered": "反馈",
    "EvaluationRecorded": "评价",
    "SecondPassStarted": "启动二次办理",
    "EscalatedToSupervisors": "提交纪委监察",
    "AccountabilityRecorded": "问责",
    "CaseClosedOut": "销号",
}
