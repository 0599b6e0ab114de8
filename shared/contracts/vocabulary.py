"""The domain's words that more than one service uses (SPEC §2), as code names.

Chinese terms appear here once, beside the code name; labels are what pages, exports and
Open311 status notes show.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """来源渠道 — where a tip came from."""

    HOTLINE_12388 = "hotline_12388"
    MAYOR_HOTLINE = "mayor_hotline"
    DISTRICT_HOTLINE = "district_hotline"
    CONDUCT_HOTLINE = "conduct_hotline"
    ACCOUNTABILITY_COMPLAINT = "accountability_complaint"
    SUPERVISION_LINE = "supervision_line"
    PETITION = "petition"
    MEDIA = "media"
    TV_INQUIRY = "tv_inquiry"
    ONLINE_OPINION = "online_opinion"
    INSPECTION = "inspection"
    UNDERCOVER_VISIT = "undercover_visit"
    MONITORING_POINT = "monitoring_point"
    SELF_INSPECTION = "self_inspection"
    HIGHER_REFERRAL = "higher_referral"
    LEADER_INSTRUCTION = "leader_instruction"
    OPEN311 = "open311"
    PUBLIC_PORTAL = "public_portal"


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.HOTLINE_12388: "12388举报投诉热线",
    Channel.MAYOR_HOTLINE: "市长专线",
    Channel.DISTRICT_HOTLINE: "区长专线",
    Channel.CONDUCT_HOTLINE: "行风连线",
    Channel.ACCOUNTABILITY_COMPLAINT: "治庸问责投诉",
    Channel.SUPERVISION_LINE: "督查室专线",
    Channel.PETITION: "信访",
    Channel.MEDIA: "新闻媒体曝光",
    Channel.TV_INQUIRY: "电视问政",
    Channel.ONLINE_OPINION: "网络舆情",
    Channel.INSPECTION: "巡查",
    Channel.UNDERCOVER_VISIT: "明察暗访",
    Channel.MONITORING_POINT: "三风监测点",
    Channel.SELF_INSPECTION: "部门自查",
    Channel.HIGHER_REFERRAL: "上级转办/督办",
    Channel.LEADER_INSTRUCTION: "领导批示",
    Channel.OPEN311: "Open311城市服务接口",
    Channel.PUBLIC_PORTAL: "公众门户",
}


class Track(StrEnum):
    """分类处置 — how a case is handled."""

    GENERAL = "general"
    KEY_RECTIFICATION = "key_rectification"
    SUPERVISED = "supervised"
    IMMEDIATE = "immediate"


TRACK_LABELS: dict[Track, str] = {
    Track.GENERAL: "普遍性问题",
    Track.KEY_RECTIFICATION: "年度重点整改",
    Track.SUPERVISED: "督办问题",
    Track.IMMEDIATE: "即查即办",
}


class CaseStatus(StrEnum):
    """The lifecycle of SPEC §3."""

    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RETURNED = "returned"
    RESULT_SUBMITTED = "result_submitted"
    AWAITING_FEEDBACK = "awaiting_feedback"
    AWAITING_EVALUATION = "awaiting_evaluation"
    SECOND_PASS = "second_pass"
    CLOSED_OUT = "closed_out"
    MERGED = "merged"
    NOT_ACCEPTED = "not_accepted"


STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.REGISTERED: "已登记",
    CaseStatus.DISPATCHED: "已交办",
    CaseStatus.IN_PROGRESS: "办理中",
    CaseStatus.RETURNED: "已退回",
    CaseStatus.RESULT_SUBMITTED: "结果待审核",
    CaseStatus.AWAITING_FEEDBACK: "待反馈",
    CaseStatus.AWAITING_EVALUATION: "待评价",
    CaseStatus.SECOND_PASS: "二次办理",
    CaseStatus.CLOSED_OUT: "已销号",
    CaseStatus.MERGED: "已合并",
    CaseStatus.NOT_ACCEPTED: "不予受理",
}


class UnitKind(StrEnum):
    """责任单位 kinds."""

    DEPARTMENT = "department"
    STREET_OFFICE = "street_office"
    COMPANY = "company"


class DeadlineKind(StrEnum):
    """签收时限 and 办结时限 are separate deadlines."""

    SIGN = "sign"
    HANDLE = "handle"


class ProposalKind(StrEnum):
    """整改建议 or 问责建议 in a unit's result."""

    RECTIFICATION = "rectification"
    ACCOUNTABILITY = "accountability"


class FeedbackChannel(StrEnum):
    """三个口径反馈 — how the public is told what was done."""

    ONLINE_PUBLICATION = "online_publication"  # 网上公示
    MEDIA_RESPONSE = "media_response"  # 媒体回应
    DIRECT_REPLY = "direct_reply"  # 直接向投诉人反馈


# Feedback the public reads: its wording passes the redaction step (issue 20).
PUBLIC_FEEDBACK = frozenset({FeedbackChannel.ONLINE_PUBLICATION, FeedbackChannel.MEDIA_RESPONSE})

FEEDBACK_LABELS: dict[FeedbackChannel, str] = {
    FeedbackChannel.ONLINE_PUBLICATION: "网上公示",
    FeedbackChannel.MEDIA_RESPONSE: "媒体回应",
    FeedbackChannel.DIRECT_REPLY: "直接反馈",
}

# Which feedback channels a case needs, by where it came from (SPEC §2).
_NETWORK = {
    Channel.CONDUCT_HOTLINE,
    Channel.MAYOR_HOTLINE,
    Channel.DISTRICT_HOTLINE,
    Channel.ONLINE_OPINION,
    Channel.PUBLIC_PORTAL,
    Channel.OPEN311,
}
_MEDIA = {Channel.MEDIA, Channel.TV_INQUIRY}
_DIRECT = {
    Channel.LEADER_INSTRUCTION,
    Channel.ACCOUNTABILITY_COMPLAINT,
    Channel.PETITION,
    Channel.SUPERVISION_LINE,
    Channel.HIGHER_REFERRAL,
    Channel.HOTLINE_12388,
    Channel.MAYOR_HOTLINE,
    Channel.DISTRICT_HOTLINE,
    # Open311 clients are call centres' and city apps' systems: answered like the hotlines
    # (市长专线), published online and replied to directly (ADR 10).
    Channel.OPEN311,
}


def required_feedback(channel: str, named: bool) -> frozenset[FeedbackChannel]:
    """The feedback channels a case must deliver before close-out.

    Network channels publish online; media exposure is answered through the media; leaders'
    instructions and direct complaints are answered to the complainant — and any named
    reporter is always answered directly. Inspections and self-inspections need none.
    """
    required: set[FeedbackChannel] = set()
    if channel in _NETWORK:
        required.add(FeedbackChannel.ONLINE_PUBLICATION)
    if channel in _MEDIA:
        required.add(FeedbackChannel.MEDIA_RESPONSE)
    if channel in _DIRECT or named:
        required.add(FeedbackChannel.DIRECT_REPLY)
    return frozenset(required)


class Rating(StrEnum):
    """回访/评价 — how the handling was rated."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


RATING_LABELS: dict[Rating, str] = {
    Rating.SATISFIED: "满意",
    Rating.BASICALLY_SATISFIED: "基本满意",
    Rating.DISSATISFIED: "不满意",
}


class EvaluatorKind(StrEnum):
    COMPLAINANT = "complainant"
    NPC_DEPUTY = "npc_deputy"  # 人大代表
    CPPCC_MEMBER = "cppcc_member"  # 政协委员
    CONDUCT_REVIEWER = "conduct_reviewer"  # 行评代表
    INTEGRITY_VOLUNTEER = "integrity_volunteer"  # 党风志愿者
    SPECIAL_INSPECTOR = "special_inspector"  # 特邀监察员
    PUBLIC_REPRESENTATIVE = "public_representative"  # 企业群众代表


EVALUATOR_LABELS: dict[EvaluatorKind, str] = {
    EvaluatorKind.COMPLAINANT: "投诉人",
    EvaluatorKind.NPC_DEPUTY: "人大代表",
    EvaluatorKind.CPPCC_MEMBER: "政协委员",
    EvaluatorKind.CONDUCT_REVIEWER: "行评代表",
    EvaluatorKind.INTEGRITY_VOLUNTEER: "党风志愿者",
    EvaluatorKind.SPECIAL_INSPECTOR: "特邀监察员",
    EvaluatorKind.PUBLIC_REPRESENTATIVE: "企业群众代表",
}


class AccountabilityTarget(StrEnum):
    PERSON = "person"
    LEADERSHIP = "leadership"


TARGET_LABELS: dict[AccountabilityTarget, str] = {
    AccountabilityTarget.PERSON: "直接责任人",
    AccountabilityTarget.LEADERSHIP: "领导班子",
}


class Measure(StrEnum):
    """问责 measures (SPEC §2); the organisational ones are 组织处理."""

    CRITICISM_EDUCATION = "criticism_education"  # 批评教育
    ADMONISHMENT_TALK = "admonishment_talk"  # 诫勉谈话
    WRITTEN_SELF_CRITICISM = "written_self_criticism"  # 责令书面检查
    CIRCULATED_CRITICISM = "circulated_criticism"  # 通报批评
    REASSIGNMENT = "reassignment"  # 调整职务
    ORDERED_RESIGNATION = "ordered_resignation"  # 责令辞职
    DISMISSAL = "dismissal"  # 免职
    DEMOTION = "demotion"  # 降职
    DISCIPLINARY_SANCTION = "disciplinary_sanction"  # 党纪政纪处分
    JUDICIAL_TRANSFER = "judicial_transfer"  # 移送司法机关
    LEADERSHIP_ADJUSTMENT = "leadership_adjustment"  # 调整处理 (a 领导班子's, not 调整职务)


MEASURE_LABELS: dict[Measure, str] = {
    Measure.CRITICISM_EDUCATION: "批评教育",
    Measure.ADMONISHMENT_TALK: "诫勉谈话",
    Measure.WRITTEN_SELF_CRITICISM: "责令书面检查",
    Measure.CIRCULATED_CRITICISM: "通报批评",
    Measure.REASSIGNMENT: "调整职务",
    Measure.ORDERED_RESIGNATION: "责令辞职",
    Measure.DISMISSAL: "免职",
    Measure.DEMOTION: "降职",
    Measure.DISCIPLINARY_SANCTION: "党纪政纪处分",
    Measure.JUDICIAL_TRANSFER: "移送司法机关",
    Measure.LEADERSHIP_ADJUSTMENT: "调整处理",
}

# 武昌办法第三十六条: a 领导班子 is held accountable by these only; a 领导干部 by all the others.
LEADERSHIP_MEASURES = frozenset(
    {Measure.WRITTEN_SELF_CRITICISM, Measure.CIRCULATED_CRITICISM, Measure.LEADERSHIP_ADJUSTMENT}
)
INDIVIDUAL_MEASURES = frozenset(Measure) - {Measure.LEADERSHIP_ADJUSTMENT}


class Circumstance(StrEnum):
    AGGRAVATING = "aggravating"  # 从重
    MITIGATING = "mitigating"  # 从轻
    REDUCED = "reduced"  # 减轻
    NO_SANCTION = "no_sanction"  # 免予处理
    NONE = "none"


CIRCUMSTANCE_LABELS: dict[Circumstance, str] = {
    Circumstance.AGGRAVATING: "从重",
    Circumstance.MITIGATING: "从轻",
    Circumstance.REDUCED: "减轻",
    Circumstance.NO_SANCTION: "免予处理",
    Circumstance.NONE: "",
}


class OriginLevel(StrEnum):
    """来源层级 — the level of the body a tip came from (a higher level's 暗访, 转办, exposure)."""

    DISTRICT = "district"
    CITY = "city"
    PROVINCE = "province"
    CENTRAL = "central"


ORIGIN_LEVEL_LABELS: dict[OriginLevel, str] = {
    OriginLevel.DISTRICT: "区级",
    OriginLevel.CITY: "市级",
    OriginLevel.PROVINCE: "省级",
    OriginLevel.CENTRAL: "中央",
}
ORIGIN_RANK: dict[str, int] = {level.value: rank for rank, level in enumerate(OriginLevel)}


class Liability(StrEnum):
    """责任 (武昌办法第三十五条): collective or individual, main or important leadership."""

    DIRECT = "direct"  # 直接责任
    MAIN_LEADERSHIP = "main_leadership"  # 主要领导责任
    IMPORTANT_LEADERSHIP = "important_leadership"  # 重要领导责任
    COLLECTIVE = "collective"  # 集体责任


LIABILITY_LABELS: dict[Liability, str] = {
    Liability.DIRECT: "直接责任",
    Liability.MAIN_LEADERSHIP: "主要领导责任",
    Liability.IMPORTANT_LEADERSHIP: "重要领导责任",
    Liability.COLLECTIVE: "集体责任",
}


class DecidingBody(StrEnum):
    """Who decides accountability (杭州办法五): 上级主管部门, 任免机关 or 监察机关."""

    SUPERIOR_DEPARTMENT = "superior_department"
    APPOINTING_AUTHORITY = "appointing_authority"
    SUPERVISORY_AUTHORITY = "supervisory_authority"


DECIDING_BODY_LABELS: dict[DecidingBody, str] = {
    DecidingBody.SUPERIOR_DEPARTMENT: "上级主管部门",
    DecidingBody.APPOINTING_AUTHORITY: "任免机关",
    DecidingBody.SUPERVISORY_AUTHORITY: "监察机关",
}


class AccountabilityTrigger(StrEnum):
    """What opened a 问责程序."""

    HIGHER_SOURCE = "higher_source"  # 上级转办、领导批示、上级暗访、市级以上媒体曝光、电视问政
    SUPERVISED_TRACK = "supervised_track"  # 列为督办问题
    SECOND_PASS = "second_pass"  # 二次办理 (一案双查)
    DISSATISFIED_TWICE = "dissatisfied_twice"  # 二次办理后仍不满意
    SUPERVISION_NOTICES = "supervision_notices"  # 多次督办
    OFFICE = "office"  # 问责办启动
    LAST_PLACE_TWICE = "last_place_twice"  # 连续两年考核列小组末位 (004): a unit's, not a case's


TRIGGER_LABELS: dict[AccountabilityTrigger, str] = {
    AccountabilityTrigger.HIGHER_SOURCE: "上级来源",
    AccountabilityTrigger.SUPERVISED_TRACK: "督办问题",
    AccountabilityTrigger.SECOND_PASS: "二次办理(一案双查)",
    AccountabilityTrigger.DISSATISFIED_TWICE: "二次办理后仍不满意",
    AccountabilityTrigger.SUPERVISION_NOTICES: "多次督办",
    AccountabilityTrigger.OFFICE: "问责办启动",
    AccountabilityTrigger.LAST_PLACE_TWICE: "连续两年考核列小组末位",
}


class RoundKind(StrEnum):
    """The office's periodic duties (issue 19): each a round units report in."""

    SELF_INSPECTION = "self_inspection"  # 001: 每年6月和12月, 对照"三个清单"的自查报告
    ANNUAL_REPORT = "annual_report"  # 000: 每年12月25日前, 年度纠风工作报告
    MONTHLY_CIRCULAR = "monthly_circular"  # 一月一通报


ROUND_LABELS: dict[RoundKind, str] = {
    RoundKind.SELF_INSPECTION: "对照三个清单履行职责情况自查",
    RoundKind.ANNUAL_REPORT: "年度纠风工作报告",
    RoundKind.MONTHLY_CIRCULAR: "月度通报",
}
