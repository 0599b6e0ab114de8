"""An Open311 service request (a form) as a tip: which attributes each category asks for, and
how the spec's fields map onto the native tip so that the same validation rules apply.

The reporter's first_name/last_name/phone/email become the sealed reporter identity exactly as
the native API's ``reporter`` does; with none of them the tip is anonymous.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, uuid5

from pydantic import ValidationError

from services.intake.schemas import TipIn
from shared.contracts.categories import TipCategory
from shared.contracts.vocabulary import Channel
from shared.web.auth import Principal
from shared.web.open311 import bad_request
from shared.web.problems import validation_problem

_REF_NAMESPACE = uuid5(NAMESPACE_URL, "taizhang:open311")

# The native field each Open311 field is checked as, so that a refusal names the client's field.
_CLIENT_FIELD = {
    "content": "description",
    "location.lat": "lat",
    "location.lon": "long",
    "location.address": "address_string",
    "location.district": "attribute[district]",
    "occurred_at": "attribute[occurred_at]",
    "subject.unit": "attribute[subject_unit]",
    "subject.person": "attribute[subject_person]",
    "subject.position": "attribute[subject_position]",
    "reporter.name": "first_name/last_name",
    "reporter.phone": "phone",
    "reporter.email": "email",
    "reporter": "first_name/last_name",
}


def attributes_of(category: TipCategory) -> list[dict[str, Any]]:
    """The service definition's attributes (spec: GET services/{code})."""
    found: list[dict[str, Any]] = []
    if category.names_an_office:
        found += [
            _attribute("subject_unit", "被反映的单位名称(如某局、某街道办)", required=True),
            _attribute("subject_person", "被反映人员姓名或工号(可不填)"),
            _attribute("subject_position", "被反映人员职务或岗位(可不填)"),
        ]
    found += [
        _attribute("district", "所在区或街道(可不填)"),
        _attribute(
            "occurred_at",
            "问题发生时间(可不填)",
            datatype="datetime",
            datatype_description="ISO 8601,例如 2026-05-01T09:30:00+08:00",
        ),
    ]
    return [a | {"order": i} for i, a in enumerate(found, start=1)]


def tip_from_form(
    category: TipCategory, fields: dict[str, str], attributes: dict[str, list[str]], ref: str
) -> TipIn:
    """The native tip this request files, or 400 naming every field that is wrong."""
    values = _single_values(category, attributes)
    data: dict[str, Any] = {
        "channel": Channel.OPEN311.value,
        "content": _content(category, fields),
        "category": category.code,
        "external_ref": ref,
        "location": _location(fields, values.get("district")),
        "occurred_at": values.get("occurred_at"),
        "subject": _subject(values),
        "reporter": _reporter(fields),
    }
    try:
        return TipIn.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as e:
        problem = validation_problem([dict(error) for error in e.errors()])
        errors = problem.errors or []
        raise bad_request(
            *(f"{_CLIENT_FIELD.get(i['field'], i['field'])}: {i['message']}" for i in errors)
        ) from None


def external_ref(principal: Principal, fields: dict[str, str], key: str | None) -> str:
    """The reference that makes a client's retry land on the first case: its
    Idempotency-Key, or else its device/account and the description it sent."""
    if key:
        seed = f"key\n{principal.id}\n{key}"
    else:
        parts = (fields.get("device_id"), fields.get("account_id"), fields.get("description"))
        seed = "form\n" + principal.id + "\n" + "\n".join(p or "" for p in parts)
    return uuid5(_REF_NAMESPACE, seed).hex


def _attribute(
    code: str,
    description: str,
    *,
    required: bool = False,
    datatype: str = "string",
    datatype_description: str | None = None,
) -> dict[str, Any]:
    return {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": required,
        "datatype_description": datatype_description,
        "description": description,
    }


def _single_values(category: TipCategory, attributes: dict[str, list[str]]) -> dict[str, str]:
    known = {a["code"]: a for a in attributes_of(category)}
    errors = [
        f"attribute[{code}]: 服务 {category.code} 没有此属性 (unknown attribute)"
        for code in attributes
        if code not in known
    ]
    errors += [
        f"attribute[{code}]: 只能填写一个值 (one value only)"
        for code, given in attributes.items()
        if len(given) > 1
    ]
    errors += [
        f"attribute[{code}]: 必填 (required)"
        for code, attribute in known.items()
        if attribute["required"] and code not in attributes
    ]
    if errors:
        raise bad_request(*errors)
    return {code: given[0] for code, given in attributes.items()}


MEDIA_URL_MAX = 2000


def _content(category: TipCategory, fields: dict[str, str]) -> str:
    # A request without description still says what kind of problem it is.
    text = fields.get("description") or category.name
    if media := fields.get("media_url"):
        text += f"\n附件(media_url):{_media_url(media)}"
    return text


def _media_url(value: str) -> str:
    """The client's photo link, kept as text with the tip for the office to open: the server
    never fetches it (no request forgery through us) and never shows it publicly (a
    reporter's photo may identify them). Only a web link is kept."""
    url = urlsplit(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname or len(value) > MEDIA_URL_MAX:
        raise bad_request(
            f"media_url: 应为不超过 {MEDIA_URL_MAX} 个字符的 http(s) 链接 "
            "(must be an http or https URL)"
        )
    return url.geturl()


def _location(fields: dict[str, str], district: str | None) -> dict[str, Any]:
    lat, lon = fields.get("lat"), fields.get("long")
    address = fields.get("address_string")
    if not address and fields.get("address_id"):
        address = f"地址编号 {fields['address_id']}"
    if (lat is None or lon is None) and not address:
        raise bad_request(
            "位置必填:请提供 lat 与 long,或 address_string,或 address_id "
            "(a location is required: lat & long, address_string or address_id)"
        )
    location: dict[str, Any] = {"address": address, "district": district}
    if lat is not None or lon is not None:
        location |= {"lat": _number("lat", lat), "lon": _number("long", lon)}
    return {k: v for k, v in location.items() if v is not None}


def _number(name: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise bad_request(f"{name}: 应为数字 (must be a number)") from None


def _subject(values: dict[str, str]) -> dict[str, str] | None:
    subject = {
        key: values[code]
        for key, code in (
            ("unit", "subject_unit"),
            ("person", "subject_person"),
            ("position", "subject_position"),
        )
        if code in values
    }
    return subject or None


def _reporter(fields: dict[str, str]) -> dict[str, Any] | None:
    # Chinese names put the family name first.
    name = "".join(fields.get(k, "") for k in ("last_name", "first_name")) or None
    phone, email = fields.get("phone"), fields.get("email")
    if not (name or phone or email):
        return None
    reporter = {"anonymous": False, "name": name, "phone": phone, "email": email}
    return {k: v for k, v in reporter.items() if v is not None}
