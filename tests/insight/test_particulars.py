"""Particulars compare in normalised form (ADR 36): the same window, sum, official or number of
trips told in another form is one fact, and a word before 工作人员 is not an official."""

from __future__ import annotations

from services.insight.particulars import agreements, conflicts, number, particulars


def test_chinese_numerals_read_as_digits() -> None:
    cases = {"三": "3", "十二": "12", "二十": "20", "二百五十": "250", "两千": "2000"}
    cases |= {"一万二千": "12000", "300": "300", "3.5": "3.5", "1,500": "1500", "1.5万": "15000"}
    assert {k: number(k) for k in cases} == cases


def test_a_window_told_in_digits_or_in_words_is_the_same_window() -> None:
    a = "在3号窗口办理时被刁难。"
    b = "政务大厅的三号窗口态度恶劣。"
    assert particulars(a)["窗口"] == particulars(b)["窗口"] == {"3号窗口"}
    assert conflicts(a, b) == []
    assert agreements(a, b) == ["窗口相同（3号窗口）"]
    assert conflicts(a, "5号窗口也一样。") == ["窗口不同（3号窗口／5号窗口）"]


def test_only_a_surname_before_a_title_names_an_official() -> None:
    text = "一名工作人员说找王科长，另一位工作人员让找李某所长。"
    assert particulars(text)["涉及人员"] == {"王科长", "李所长"}


def test_sums_and_trips_compare_across_forms() -> None:
    a = "交了三百块，前后跑了四趟。"
    b = "收300元，来回四次，第一次就被拒。"
    assert particulars(a)["金额"] == particulars(b)["金额"] == {"300元"}
    assert particulars(b)["次数"] == {"4次"}  # 第一次 is not a count of trips
    assert conflicts(a, b) == []
    assert conflicts(a, "跑了五回。") == ["次数不同（4次／5次）"]


def test_everyday_words_before_a_title_name_nobody() -> None:
    text = "向工作人员反映后，担任主任的那位让找治安民警。"
    assert particulars(text)["涉及人员"] == set()


def test_a_sum_in_ten_thousands_or_with_a_separator_is_one_sum() -> None:
    a = "工程款被卡，要交1.5万元好处费。"
    b = "要一万五千块好处费才签字，另收1,500元。"
    assert particulars(a)["金额"] == {"15000元"}
    assert particulars(b)["金额"] == {"15000元", "1500元"}
    assert conflicts(a, b) == [] and agreements(a, b) == ["金额相同（15000元）"]
    assert particulars("交了300,跑了5次")["次数"] == {"5次"}  # a comma between clauses
