"""The redaction step before publication: personal particulars masked and flagged."""

from __future__ import annotations

from shared.platform.redaction import redact


def test_phones_id_numbers_emails_and_introduced_names_are_masked_and_flagged() -> None:
    text = (
        "举报人:张三丰,电话13912345678,身份证420106198001011234,"
        "座机027-87654321,邮箱zs@example.cn。经查属实,已整改。"
    )
    shown = redact(text)
    assert shown.text == (
        "举报人:张某某,电话139****5678,身份证420106********1234,"
        "座机027-********,邮箱***@***。经查属实,已整改。"
    )
    assert shown.flags == ("id_number", "phone", "email", "name")
    assert shown.flag_labels == ["身份证号", "电话号码", "电子邮箱", "姓名"]


def test_wording_without_particulars_is_left_as_the_office_wrote_it() -> None:
    text = "经查,该局窗口存在多收费用问题,已责令退还 2 名群众共 300 元,并通报批评。"
    assert redact(text).text == text
    assert redact(text).flags == ()
    assert redact(None).text == ""


def test_masked_text_passes_again_unflagged() -> None:
    """What the office approves (the masked suggestion) is not refused a second time."""
    once = redact("来电人:李四,电话13912345678,已回访。")
    assert once.text == "来电人:李某,电话139****5678,已回访。"
    again = redact(once.text)
    assert (again.text, again.flags) == (once.text, ())
