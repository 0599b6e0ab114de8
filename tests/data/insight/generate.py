"""How pairs.json was made (run once, then frozen: never re-run to tune a scorer).

``python tests/data/insight/generate.py`` writes pairs.json from a fixed seed. Each *problem*
is one incident — a unit in a street, a category, a service item and its particulars (an
amount, a person, a window). A positive pair is that incident told twice, in different words,
by different channels, sometimes weeks apart and sometimes without the unit filled in. A hard
negative is two incidents in the same street and category — often at the same unit — that are
different problems. Pairs are split by problem: the tuning part and the held-out part share no
incident.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

SEED = 20261206
STREETS = [
    "城东街道",
    "城西街道",
    "南湖街道",
    "北关街道",
    "新华街道",
    "临江镇",
    "青山镇",
    "桃源街道",
]
UNITS = {
    "arbitrary_charges": [
        "社区服务中心",
        "便民服务大厅",
        "不动产登记中心",
        "物业服务站",
        "派出所户籍窗口",
    ],
    "bribe_seeking": ["市场监管所", "城管中队", "消防救援站", "税务分局", "建设管理站"],
    "buck_passing": ["社保服务站", "民政办", "规划所", "社区居委会", "人力资源服务所"],
    "service_attitude": ["政务服务中心", "医保窗口", "公安户籍窗口", "社区卫生服务中心", "车管所"],
}
ITEMS = {
    "arbitrary_charges": [
        "开具居住证明",
        "办理房产过户",
        "门面装修备案",
        "办理停车证",
        "小区电梯维修",
        "办理户口迁入",
    ],
    "bribe_seeking": [
        "餐馆办理营业执照",
        "门店消防验收",
        "小饭店卫生检查",
        "装修工程竣工验收",
        "个体户税务登记",
        "店铺招牌审批",
    ],
    "buck_passing": [
        "办理失业金",
        "申请低保",
        "老房翻建审批",
        "开具无犯罪证明",
        "退休人员养老金认证",
        "灵活就业社保补缴",
    ],
    "service_attitude": [
        "补办身份证",
        "办理医保报销",
        "新生儿落户",
        "慢病门诊申请",
        "驾驶证换证",
        "办理老年证",
    ],
}
SURNAMES = list("王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高")
TITLES = ["科长", "所长", "工作人员", "窗口人员", "队长", "主任"]
CHANNELS = ["12345热线", "网站留言", "信件", "来访", "Open311", "电话"]


def particulars(rng: random.Random, cat: str) -> dict[str, str]:
    return {
        "amount": str(
            rng.choice([50, 80, 100, 120, 150, 200, 260, 300, 350, 500, 800, 1000, 1500, 2000])
        ),
        "person": rng.choice(SURNAMES) + rng.choice(TITLES),
        "times": rng.choice(["三", "四", "五", "六", "七"]),
        "window": rng.choice(["2号", "3号", "5号", "7号", "9号"]) + "窗口",
        "gift": rng.choice(["两条烟", "一箱酒", "购物卡", "红包", "土特产", "请吃饭"]),
        "fee": rng.choice(["加急费", "资料费", "服务费", "工本费", "押金", "咨询费", "协调费"]),
        "dept": rng.choice(["街道", "区局", "社区", "上级部门", "另一个科室", "市里"]),
        "bad": rng.choice(["玩手机", "聊天", "吃早饭", "看视频", "打游戏"]),
    }


# Each category: several ways a person tells the same incident (citizen, hotline clerk, letter).
TELLINGS = {
    "arbitrary_charges": [
        "我在{street}{unit}{item}，{person}说要先交{amount}元{fee}才给办，没有任何收据，这个钱到底该不该收？",
        "市民反映：{street}{unit}在{item}时收取{fee}{amount}元，未出具票据，市民认为属于乱收费，请核实处理。",
        "{unit}（{street}）办{item}被要求交{fee}，{amount}块钱，问依据是什么也说不清楚，不交就不给办。",
        "反映{street}{unit}{person}{item}额外收费问题：每件收{amount}元所谓{fee}，无公示无发票。",
        "{item}本来是免费的吧？{street}那个{unit}硬要收{amount}元{fee}，还不开票，希望管一管。",
    ],
    "bribe_seeking": [
        "{street}{unit}的{person}在{item}时故意刁难，暗示要送{gift}才给过，已经跑了{times}趟。",
        "来电人称：其{item}过程中，{street}{unit}{person}多次以材料不全为由拖延，并暗示送{gift}，涉嫌吃拿卡要。",
        "举报{unit}（{street}）{person}吃拿卡要：{item}一直不给签字，私下说懂点事，要{gift}。",
        "我们{item}被{street}{unit}{person}卡住了，跑了{times}次都说不行，旁人提醒要送{gift}才好办。",
        "{street}{unit}{person}借{item}索要{gift}，不给就挑毛病，群众意见很大。",
    ],
    "buck_passing": [
        "为了{item}去{street}{unit}跑了{times}趟，每次都说归{dept}管，{dept}又推回来，到底谁管？",
        "市民反映：其在{street}{unit}{item}，工作人员称应找{dept}，{dept}称应回{unit}办理，来回推诿已{times}次。",
        "{item}的事在{unit}（{street}）和{dept}之间踢皮球，前后跑了{times}回，没人给个准话。",
        "投诉{street}{unit}推诿扯皮：{item}一事让我找{dept}，{dept}说不归他们，又让回去，跑了{times}趟。",
        "{street}{unit}办{item}互相推，{person}说这事该{dept}管，{dept}不认，群众来回跑了{times}次。",
    ],
    "service_attitude": [
        "在{street}{unit}{window}{item}，{person}一直在{bad}，问两句就不耐烦，态度很差。",
        "市民反映：{street}{unit}{window}工作人员在{item}时上班期间{bad}，对群众咨询态度生硬，门难进脸难看。",
        "{unit}（{street}）{window}的{person}上班{bad}，我{item}问个问题被呛回来，脸难看话难听。",
        "投诉{street}{unit}服务态度：{item}时{window}{person}只顾{bad}，让我们干等还甩脸色。",
        "{street}{unit}{window}{item}的人{bad}，叫了几次才理，说话很冲，希望整改作风。",
    ],
}
SUBJECT_BLANK_RATE = 0.2  # hotline tickets often leave the unit unfilled


def make_problem(
    rng: random.Random, cat: str, street: str, unit: str | None = None, item: str | None = None
) -> dict:
    return {
        "category": cat,
        "street": street,
        "unit": unit or rng.choice(UNITS[cat]),
        "item": item or rng.choice(ITEMS[cat]),
        **particulars(rng, cat),
    }


def tell(rng: random.Random, problem: dict, template: int, when: datetime, tid: str) -> dict:
    text = TELLINGS[problem["category"]][template].format(**problem)
    blank = rng.random() < SUBJECT_BLANK_RATE
    return {
        "id": tid,
        "channel": rng.choice(CHANNELS),
        "content": text,
        "category": problem["category"],
        "street": problem["street"],
        "subject_unit": None if blank else problem["street"] + problem["unit"],
        "registered_at": when.isoformat(),
    }


def main() -> None:
    rng = random.Random(SEED)
    start = datetime(2025, 1, 6, 9, 0)
    pairs: list[dict] = []
    n = 0
    for k in range(160):
        cat = list(TELLINGS)[k % 4]
        street = rng.choice(STREETS)
        split = "tuning" if k % 2 == 0 else "heldout"
        base = make_problem(rng, cat, street)
        t0 = start + timedelta(days=rng.randrange(0, 330), hours=rng.randrange(0, 8))
        a, b = rng.sample(range(len(TELLINGS[cat])), 2)
        gap = timedelta(
            days=rng.choice([0, 1, 2, 3, 5, 9, 14, 21, 35, 45]), hours=rng.randrange(0, 6)
        )
        # positive: the same incident, told another way by another channel
        pairs.append(
            {
                "label": 1,
                "split": split,
                "kind": "paraphrase",
                "a": tell(rng, base, a, t0, f"p{n}a"),
                "b": tell(rng, base, b, t0 + gap, f"p{n}b"),
            }
        )
        n += 1
        # hard negative: same street and category — half of them at the same unit
        same_unit = rng.random() < 0.5
        other = make_problem(rng, cat, street, unit=base["unit"] if same_unit else None)
        if other["item"] == base["item"] and rng.random() < 0.5:
            other["item"] = rng.choice([i for i in ITEMS[cat] if i != base["item"]])
        c = rng.randrange(len(TELLINGS[cat]))
        gap2 = timedelta(days=rng.randrange(0, 25), hours=rng.randrange(0, 6))
        pairs.append(
            {
                "label": 0,
                "split": split,
                "kind": "same_unit" if same_unit else "same_street",
                "a": tell(rng, base, a, t0, f"n{n}a"),
                "b": tell(rng, other, c, t0 + gap2, f"n{n}b"),
            }
        )
        n += 1
    out = Path(__file__).with_name("pairs.json")
    out.write_text(
        json.dumps({"seed": SEED, "pairs": pairs}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    print(f"{len(pairs)} pairs → {out}")


if __name__ == "__main__":
    main()
