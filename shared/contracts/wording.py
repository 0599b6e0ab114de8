"""The one vocabulary of what a person reads (issue 22 point 2): every status, enum value and
code that reaches a page, an export or a refusal, with its Chinese label, gathered here by the
name the API documents it under.

API clients keep the codes; people read the labels. :data:`LABELS` is what the OpenAPI document's
enum descriptions, the workbench's pages and the refusals' Chinese answers read, and what the
test over every enum of the OpenAPI checks for completeness. :func:`chinese_only` turns a
refusal's bilingual message (``中文 (english gloss)``) into what a ``zh-CN`` reader gets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from shared.contracts.vocabulary import (
    CHANNEL_LABELS,
    CIRCUMSTANCE_LABELS,
    DECIDING_BODY_LABELS,
    EVALUATOR_LABELS,
    FEEDBACK_LABELS,
    LIABILITY_LABELS,
    MEASURE_LABELS,
    ORIGIN_LEVEL_LABELS,
    RATING_LABELS,
    STATUS_LABELS,
    TARGET_LABELS,
    TRACK_LABELS,
    TRIGGER_LABELS,
)
from shared.contracts.vocabulary import ROUND_LABELS as ROUNDS

ROLE_LABELS = {
    "operator": "话务员",
    "office": "纠风办",
    "unit_liaison": "单位联络员",
    "supervisor": "纪委监察",
    "evaluator": "评价员",
    "admin": "系统管理员",
}
# Who an event's actor may be besides a signed-in role: the public (a receipt's rating, a
# reporter's reply to a text, ADR 49) and the system itself — as a case's history names them.
ACTOR_ROLE_LABELS = ROLE_LABELS | {"public": "公众", "system": "系统"}
# A person's place in notify's directory of persons (ADR 21).
DIRECTORY_ROLE_LABELS = {"liaison": "单位联络员", "office": "纠风办", "supervisor": "纪委监察"}
UNIT_KIND_LABELS = {"department": "职能部门", "street_office": "街道办事处", "company": "企业"}
DEADLINE_KIND_LABELS = {"sign": "签收时限", "handle": "办结时限"}
PROPOSAL_KIND_LABELS = {"rectification": "整改建议", "accountability": "问责建议"}
GRADE_LABELS = {
    "excellent": "优秀",
    "competent": "合格",
    "basically_competent": "基本合格",
    "incompetent": "不合格",
}
ROUND_LABELS = {str(kind): label for kind, label in ROUNDS.items()}
CATALOGUE_CHANGE_LABELS = {
    "added": "新增",
    "renamed": "改名",
    "retired": "停用",
    "reinstated": "恢复启用",
    "moved": "调整上级",
}
TYPICAL_KIND_LABELS = {"typical": "典型案例", "benchmark": "标杆案例"}
REPORT_FORMAT_LABELS = {"md": "文本(Markdown)", "html": "网页", "xlsx": "Excel表格"}
DOCUMENT_FORMAT_LABELS = {"docx": "Word文档(可编辑)", "pdf": "PDF文件(可打印)"}
# Who reported, as the ledger filters it (issue 22 point 3).
REPORTER_KIND_LABELS = {"named": "实名", "anonymous": "匿名"}
# 短信告知举报人 (ADR 37): the steps a consenting reporter is texted, how each text fared, and
# why one was not sent — what the office reads in a case's SMS log.
REPORTER_NOTICE_STEP_LABELS = {
    "accepted": "受理交办",
    "not_accepted": "不予受理",
    "merged": "合并办理",
    "replied": "直接反馈",
    "closed": "办结销号",
    "second_pass": "二次办理",
}
REPORTER_NOTICE_STATUS_LABELS = {
    "pending": "待发送",
    "sent": "已发送",
    "failed": "未能发送",
    "withheld": "举报人已撤回同意,不再发送",
}
SMS_ERROR_LABELS = {
    "sms_not_configured": "本系统未开通短信",
    "sms_url_invalid": "短信通道配置有误",
    "sms_refused": "短信通道未接收",
    "no_address": "举报人未留电话",
    "identity_destroyed": "举报人信息已按期限销毁",
    "no_receipt": "回执码无法取得,未发送",
}


# How the timeline names the integration events of a case (``shared.contracts``); a type not
# listed here (a newer producer) shows under its code name.
EVENT_LABELS = {
    "TipRegistered": "登记",
    "ReporterIdentityViewed": "查看举报人身份",
    "TipRecordViewed": "查看登记记录",
    "ReporterSmsConsentWithdrawn": "举报人撤回短信告知同意",
    "ReporterSmsConsentGiven": "举报人同意短信告知",
    "CaseOpened": "进入分办",
    "CaseTriaged": "分类处置",
    "CaseFlaggedForAccountability": "暗访或曝光问题,提请问责",
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
    "CaseAttachmentAdded": "上传附件",
    "CaseAttachmentDownloaded": "下载附件",
    "CaseAttachmentApprovedForPublic": "批准图片或视频在公众门户公开",
    "CaseAttachmentWithdrawnFromPublic": "撤回公开的图片或视频",
    "CaseAttachmentCleaned": "清除附件元数据(旧文件补清)",
    "DeadlineApproaching": "催办提醒",
    "DeadlineMissed": "超期",
    "SupervisionNoticeIssued": "督办通知",
    "FollowUpStarted": "建立跟踪",
    "FollowUpOpened": "进入反馈",
    "FeedbackDelivered": "反馈",
    "EvaluationRecorded": "评价",
    "DissatisfactionReferred": "第三方不满意,提交办公室研究",
    "ReferralDecided": "办公室研究决定",
    "SecondPassStarted": "启动二次办理",
    "EscalatedToSupervisors": "提交纪委监察",
    "AccountabilityRecorded": "问责",
    "CaseClosedOut": "销号",
    "CaseOriginRecorded": "记录来源层级",
    "TipOriginRecorded": "记录来源层级",
    "TipEvidenceAttached": "随登记提交证据",
    "UnitRegistered": "新增责任单位",
    "UnitUpdated": "修改责任单位",
    "CalendarYearLoaded": "载入年度日历",
    "CategoryCatalogueChanged": "修改问题分类",
    "FollowUpConcluded": "办结告知(合并或不予受理)",
    "AccountabilityProcedureOpened": "启动问责程序",
    "AccountabilityTriggerAdded": "问责程序新增启动事由",
    "AccountabilityFindingRecorded": "记录问责决定",
    "NoAccountabilityFound": "认定无人应被问责",
    "AccountabilityDecided": "问责决定",
    "AccountabilityReportedBack": "问责回告",
    "TypicalCasePublished": "发布典型案例",
    "AccountabilityProcedureClosed": "问责程序办结",
    "ReportBackApproaching": "回告催办",
    "ReportBackMissed": "回告督办(逾期)",
    "ReporterAnswerApproaching": "实名答复催办",
    "ReporterAnswerMissed": "实名答复督办(逾期)",
    "EarlyWarningRaised": "苗头预警",
    "RoundOpened": "定期任务启动",
    "RoundSubmitted": "定期任务报送",
    "RoundReviewed": "定期任务审核",
    "RoundReminded": "定期任务督办",
    "RectificationNoticeReminded": "整改通知书督办(逾期未回告)",
    "UnitAccountabilityProcedureOpened": "考核启动问责程序",
    "UnitAccountabilityFindingRecorded": "记录问责决定(考核启动)",
    "UnitNoAccountabilityFound": "认定无人应被问责(考核启动)",
    "UnitAccountabilityDecided": "问责决定(考核启动)",
    "UnitAccountabilityProcedureClosed": "问责程序办结(考核启动)",
}
# How the audit trail names a read of protected data (ADR 26; tracking's ``read_audit``).
READ_LABELS = {
    "CaseViewed": "查看案件",
    "CaseHistoryViewed": "查看案件历程",
    "LedgerSearched": "查询台账",
    "LedgerExported": "导出台账",
    "ReportExported": "导出报告",
    "AccountablePersonSearched": "查询被问责人员",
    "AccountabilityListSearched": "查阅问责清单",
    "AccountabilityProcedureViewed": "查看问责程序",
    "UnitAssessmentViewed": "查看单位考核",
}


def _by_code(table: Mapping[Any, str]) -> dict[str, str]:
    return {str(code): label for code, label in table.items()}


# Every enum the API documents, by its schema name (an inline enum by its values' table).
LABELS: dict[str, dict[str, str]] = {
    "Channel": _by_code(CHANNEL_LABELS),
    "Track": _by_code(TRACK_LABELS),
    "CaseStatus": _by_code(STATUS_LABELS),
    "FeedbackChannel": _by_code(FEEDBACK_LABELS),
    "Rating": _by_code(RATING_LABELS),
    "EvaluatorKind": _by_code(EVALUATOR_LABELS),
    "AccountabilityTarget": _by_code(TARGET_LABELS),
    "Measure": _by_code(MEASURE_LABELS),
    "Circumstance": _by_code(CIRCUMSTANCE_LABELS) | {"none": "无"},
    "Origin": _by_code(ORIGIN_LEVEL_LABELS),
    "Liability": _by_code(LIABILITY_LABELS),
    "DecidingBody": _by_code(DECIDING_BODY_LABELS),
    "AccountabilityTrigger": _by_code(TRIGGER_LABELS),
    "Role": ROLE_LABELS,
    "DirectoryRole": DIRECTORY_ROLE_LABELS,
    "UnitKind": UNIT_KIND_LABELS,
    "DeadlineKind": DEADLINE_KIND_LABELS,
    "ProposalKind": PROPOSAL_KIND_LABELS,
    "Grade": GRADE_LABELS,
    "RoundKind": ROUND_LABELS,
    "CategoryChange": CATALOGUE_CHANGE_LABELS,
    "TypicalKind": TYPICAL_KIND_LABELS,
    "ReportFormat": REPORT_FORMAT_LABELS,
    "DocumentFormat": DOCUMENT_FORMAT_LABELS,
    "ReporterKind": REPORTER_KIND_LABELS,
}


def labels_for(values: Iterable[str]) -> dict[str, str] | None:
    """The labels of an enum given by its values: the first table holding every one of them."""
    wanted = list(values)
    for table in LABELS.values():
        if all(v in table for v in wanted):
            return {v: table[v] for v in wanted}
    return None


# Refusal titles (RFC 9457 ``title``) as a zh-CN reader gets them.
PROBLEM_TITLES = {
    400: "请求有误",
    401: "需要登录",
    403: "无权操作",
    404: "未找到",
    405: "不支持该请求方法",
    409: "与当前状态冲突",
    410: "已不存在",
    413: "内容过大",
    415: "文件类型不允许",
    422: "请求内容无效",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
}

# A gloss: a parenthesised run with no Chinese in it, after Chinese text (``不能为空 (must …)``).
_GLOSS = re.compile(r"\s*[((][^()()\u4e00-\u9fff]*[A-Za-z][^()()\u4e00-\u9fff]*[))]")


def chinese_only(text: str) -> str:
    """A bilingual message without its English glosses: ``没有找到该案件(not found)`` →
    ``没有找到该案件``. Text with no Chinese in it is returned as it is."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    return _GLOSS.sub("", text).strip()
