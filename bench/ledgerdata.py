"""Realistic ledger rows, written straight into tracking's read tables with COPY (asyncpg).

Replaying a million cases through intake, dispatch and the projection would take hours on
this machine; the ledger and export figures are about reading, so their data is generated:
tips in Chinese (district, street, unit, conduct), statuses in the proportions of a working
office, three years of registration dates with monotone case numbers, lead units in
``case_units`` for the unit filter, the people complained about in ``case_persons`` for the
person filter (ADR 43). Rows are made in chunks, so memory stays flat.

The trigram index (migration t0002) and the filter indexes (t0004) are dropped during a large
load and built again after it (one index build is far cheaper than a million index
insertions), the KPIs' counters (``ledger_tallies``, ADR 33) are counted from the rows as the
migration that made them counts them, then the tables are vacuumed and analysed: the planner
sees the real sizes, and the visibility map lets a count read an index alone, as on a ledger
that autovacuum has been through (PostgreSQL ≥ 13 vacuums a table after inserts too) — left
to autovacuum, it would come at some moment of the measurement.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.tracking.ledger import persons, tallies
from shared.platform.readmodel import create_engine
from shared.platform.settings import Settings

CHUNK = 20_000
REBUILD_INDEX_FROM = 50_000  # rows; below this, inserting through the index is cheaper
# dropped for a large load and built again after it
REBUILT_INDEXES = [
    "ix_ledger_search_trgm",
    "ix_ledger_status_channel",
    "ix_ledger_track_status",
    "ix_case_units_unit_status",
    "ix_case_persons_part",
]

DISTRICTS = ["江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区", "东西湖区"]
STREETS = ["中南路街道", "水果湖街道", "徐家棚街道", "首义路街道", "紫阳街道", "积玉桥街道"]
STREETS += ["花桥街道", "唐家墩街道", "汉兴街道", "二七街道", "大智街道", "民族街道"]
UNITS = [
    ("zfj", "区住房和城乡建设局"),
    ("scj", "区市场监督管理局"),
    ("cgj", "区城市管理执法局"),
    ("jyj", "区教育局"),
    ("wjw", "区卫生健康委员会"),
    ("rsj", "区人力资源和社会保障局"),
    ("mzj", "区民政局"),
    ("gaj", "公安分局"),
    ("swj", "区税务局"),
    ("zwj", "区政务服务中心"),
    ("jtj", "区交通运输局"),
    ("sthj", "区生态环境分局"),
] + [(f"jd{i:02d}", f"{s}办事处") for i, s in enumerate(STREETS)]
CONDUCT = [
    ("乱收费", "违规收取办证费用,且不开具正规票据"),
    ("吃拿卡要", "工作人员办事吃拿卡要,要求送礼后才给办理"),
    ("推诿扯皮", "多个部门之间推诿扯皮,群众来回跑了五六趟仍未办结"),
    ("态度生硬", "窗口工作人员态度生硬、言语粗暴,不耐烦解答群众咨询"),
    ("不作为", "对群众多次反映的噪音扰民问题长期不作为"),
    ("慢作为", "低保申请材料提交三个月仍无答复,慢作为问题突出"),
    ("违规办理", "违规为不符合条件的人员办理公租房资格"),
    ("优亲厚友", "村(社区)在困难补助评定中优亲厚友,群众意见很大"),
    ("私设关卡", "私设关卡拦截外地车辆并收取所谓管理费"),
    ("工作时间脱岗", "工作人员上班时间脱岗,窗口长时间无人值守"),
    ("拖欠工资", "欠薪投诉久拖不决,劳动监察部门答复敷衍"),
    ("违规执法", "执法人员违规执法,暴力扣押摊贩物品且不出具清单"),
]
CHANNELS = ["hotline_12388", "mayor_hotline", "district_hotline", "conduct_hotline"]
CHANNELS += ["accountability_complaint", "supervision_line", "petition", "media"]
CHANNELS += ["online_opinion", "inspection", "undercover_visit", "monitoring_point"]
TRACKS = ["general", "key_rectification", "supervised", "immediate"]
# (status, share, reached dispatch?) — roughly a working office's ledger
STATUSES = [
    ("registered", 4, False),
    ("dispatched", 8, True),
    ("in_progress", 22, True),
    ("returned", 2, True),
    ("result_submitted", 8, True),
    ("awaiting_feedback", 9, True),
    ("awaiting_evaluation", 5, True),
    ("second_pass", 2, True),
    ("closed_out", 36, True),
    ("merged", 2, False),
    ("not_accepted", 2, False),
]
YEARS = 3

# Search terms of the `q=` figure: conduct words, places and units, each of 3+ characters
# (the trigram index has nothing to look up for fewer), from common to rare.
SEARCH_TERMS = ["乱收费", "推诿扯皮", "中南路街道", "区教育局", "暴力扣押", "公租房资格"]
SEARCH_TERMS += ["欠薪投诉", "徐家棚街道办事处"]

# The people complained about (被反映人): about 40 % of tips name one — a surname in roughly
# its frequency (Zipf-like over the commonest fifty, a few compound ones rare), then half the
# time the anonymised 某/某某 the offices write, else a given name of one or two characters.
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田")
SURNAMES += list("董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
SURNAME_WEIGHTS = [1 / (rank + 4) for rank in range(len(SURNAMES))]
SURNAMES += ["欧阳", "司马", "诸葛", "上官"]
SURNAME_WEIGHTS += [1 / 400] * 4
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超华平刚桂英红霞玉兰建国德文斌鹏辉")
POSITIONS = ["科长", "所长", "局长", "主任", "副局长", "队长", "科员", "窗口工作人员"]
# Terms of the `person=` figure, common to rare: a surname, an anonymised name, a given
# name's character, a whole name, a compound surname, a whole name of four characters.
PERSON_TERMS = ["张", "王某", "伟", "李建国", "欧阳", "诸葛某某"]


@dataclass(frozen=True)
class Generated:
    rows: int
    seconds: float
    index_seconds: float


LEDGER_COLUMNS = [
    "case_id",
    "number",
    "channel",
    "tip_category",
    "summary",
    "content",
    "search_text",
    "district",
    "subject",
    "named",
    "registered_at",
    "registered_by",
    "track",
    "triaged_category",
    "category",
    "lead_unit",
    "co_units",
    "dispatched_at",
    "sign_deadline",
    "handle_deadline",
    "signed_at",
    "extensions_requested",
    "extensions_granted",
    "returns",
    "returns_by_unit",
    "dispatches_by_unit",
    "result_findings",
    "result_rectification",
    "repeats",
    "flagged_for_accountability",
    "reminders",
    "supervision_notices",
    "required_feedback",
    "delivered_feedback",
    "feedback",
    "evaluations_total",
    "evaluations_satisfied",
    "escalated",
    "accountability",
    "closed_out_at",
    "dispatch_status",
    "dispatch_pass",
    "status",
    "pass_no",
    "updated_at",
]
UNIT_COLUMNS = ["case_id", "unit", "lead", "co", "dispatches", "returns", "status"]


def ledger_rows(
    start: int, count: int, total: int, now: datetime, seed: int = 10
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...] | None, list[tuple[Any, ...]]]]:
    """Rows ``start`` … ``start + count - 1`` of a ledger of ``total`` cases ending ``now``;
    each with its ``case_units`` row (None for a case never dispatched) and its
    ``case_persons`` records (``persons.COLUMNS``; none for a case naming no one)."""
    rng = random.Random(seed * 1_000_003 + start)
    span = timedelta(days=365 * YEARS)
    began = now - span
    statuses = [s for s, share, _ in STATUSES for _ in range(share)]
    dispatched = {s for s, _, reached in STATUSES if reached}
    empty_list, empty_map = "[]", "{}"
    for i in range(start, start + count):
        case_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        registered = began + span * (i / total) + timedelta(seconds=rng.random() * 60)
        district, street = rng.choice(DISTRICTS), rng.choice(STREETS)
        unit_code, unit_name = rng.choice(UNITS)
        word, detail = rng.choice(CONDUCT)
        summary = f"反映{district}{unit_name}{word}问题"
        content = (
            f"来电人反映:{district}{street}{unit_name}{detail}。"
            f"地点在{street}附近第{rng.randint(1, 300)}号,希望有关部门尽快核实处理并给予答复。"
        )
        person = _person(rng)
        subject = {"unit": unit_name}
        if person is not None:
            subject |= {"person": person, "position": rng.choice(POSITIONS)}
        status = rng.choice(statuses)
        reached = status in dispatched
        closed = status == "closed_out"
        dispatched_at = registered + timedelta(hours=rng.randint(2, 48)) if reached else None
        handle_deadline = dispatched_at + timedelta(days=15) if dispatched_at else None
        ledger = (
            case_id,
            f"{registered.year}-{i % 1_000_000:06d}",
            rng.choice(CHANNELS),
            word,
            summary,
            content,
            f"{summary}\n{content}",
            district,
            json.dumps(subject, ensure_ascii=False),
            i % 3 == 0,
            registered,
            f"operator:{i % 40:02d}",
            rng.choice(TRACKS) if reached else None,
            word if reached else None,
            word,
            unit_code if reached else None,
            empty_list,
            dispatched_at,
            dispatched_at + timedelta(days=1) if dispatched_at else None,
            handle_deadline,
            dispatched_at + timedelta(hours=6) if dispatched_at else None,
            0,
            0,
            1 if status == "returned" else 0,
            empty_map,
            json.dumps({unit_code: 1}) if reached else empty_map,
            "经核查,反映问题属实,已责令退还并批评教育。" if closed else None,
            "已整改到位。" if closed else None,
            0,
            False,
            0,
            0,
            '["direct"]' if closed else empty_list,
            '["direct"]' if closed else empty_list,
            empty_list,
            1 if closed else 0,
            1 if closed else 0,
            False,
            empty_list,
            handle_deadline if closed else None,
            status if reached else None,
            1 if reached else None,
            status,
            2 if status == "second_pass" else 1,
            dispatched_at or registered,
        )
        unit_row = (case_id, unit_code, True, False, 1, 0, status) if reached else None
        number = ledger[1]
        named = {"case_id": case_id, "subject": subject, "registered_at": registered}
        parts = [tuple(e.values()) for e in persons.entries(named | {"number": number})]
        yield ledger, unit_row, parts


def _person(rng: random.Random) -> str | None:
    if rng.random() >= 0.4:
        return None
    surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
    if rng.random() < 0.5:
        return surname + rng.choice(["某", "某某"])
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


async def fill(
    pg_url: str,
    schema: str,
    total: int,
    *,
    already: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Generated:
    """Add rows ``already`` … ``total - 1`` to the schema's ledger (migrated by tracking)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    now = datetime.now(UTC)
    conn = await asyncpg.connect(pg_url, server_settings={"search_path": schema})
    try:
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await _units(conn)
        rebuild = total - already >= REBUILD_INDEX_FROM
        indexes = await _indexes(conn, REBUILT_INDEXES) if rebuild else {}
        for name in indexes:
            await conn.execute(f"DROP INDEX {name}")
        for start in range(already, total, CHUNK):
            count = min(CHUNK, total - start)
            pairs = list(ledger_rows(start, count, total, now))
            await conn.copy_records_to_table(
                "ledger", records=[p[0] for p in pairs], columns=LEDGER_COLUMNS
            )
            units = [p[1] for p in pairs if p[1] is not None]
            await conn.copy_records_to_table("case_units", records=units, columns=UNIT_COLUMNS)
            parts = [r for p in pairs for r in p[2]]
            await conn.copy_records_to_table(
                "case_persons", records=parts, columns=list(persons.COLUMNS)
            )
            if progress is not None:
                progress(start + count)
        indexed = loop.time()
        for definition in indexes.values():
            await conn.execute(definition)
        await _recount(pg_url, schema)
        await conn.execute("VACUUM (ANALYZE) ledger")
        await conn.execute("VACUUM (ANALYZE) case_units")
        await conn.execute("VACUUM (ANALYZE) case_persons")
        await conn.execute("VACUUM (ANALYZE) ledger_tallies")
        done = loop.time()
    finally:
        await conn.close()
    return Generated(total - already, done - began, done - indexed)


async def _recount(pg_url: str, schema: str) -> None:
    """The KPIs' counters (ADR 33) from the rows COPYed past the projection, as the
    migration that introduced them counts them."""
    engine = create_engine(Settings(database_url=pg_url, database_schema=schema))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(tallies.recount)
    finally:
        await engine.dispose()


async def _units(conn: asyncpg.Connection) -> None:
    await conn.executemany(
        "INSERT INTO units (code, name, kind, parent, active) VALUES ($1, $2, 'department', "
        "NULL, true) ON CONFLICT (code) DO NOTHING",
        UNITS,
    )


async def _indexes(conn: asyncpg.Connection, names: list[str]) -> dict[str, str]:
    """The definitions of those of ``names`` that exist (the trigram index only where the
    migration could create it)."""
    found = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = any($1::text[]) "
        "AND schemaname = current_schema()",
        names,
    )
    return {str(r["indexname"]): str(r["indexdef"]) for r in found}
