"""Why notify refuses. The API's table (``api.REFUSALS``) says how each is answered."""

from __future__ import annotations


class NotifyError(Exception):
    """Base of the refusals below; the message is for the person who reads it."""


class NoSuchPerson(NotifyError):
    def __init__(self) -> None:
        super().__init__("通讯录中没有此人 (no such person in the directory)")


class PersonExists(NotifyError):
    def __init__(self, person_id: str) -> None:
        super().__init__(f"通讯录中已有 {person_id} (the person is already in the directory)")


class NoSuchMessage(NotifyError):
    def __init__(self) -> None:
        super().__init__("没有该通知 (no such notification)")


class NotInDirectory(NotifyError):
    """The signed-in person has no entry of their own (settings need one)."""

    def __init__(self) -> None:
        super().__init__(
            "您尚未登记在通讯录中,请联系办公室登记 (you are not in the directory; ask the office)"
        )
