"""Intake's domain and the protection primitives, without infrastructure."""

from __future__ import annotations

import base64
import uuid

import pytest

from services.intake.domain import CaseNumberSequence, Tip, case_id_for_external_ref
from shared.platform.protection import (
    CROCKFORD,
    Sealer,
    SealError,
    new_receipt_code,
    normalize_receipt_code,
    receipt_digest,
)
from shared.platform.settings import ConfigurationError, Settings, load_secrets, parse_reporter_keys


def test_case_numbers_run_on_without_gaps_and_restart_each_year() -> None:
    seq = CaseNumberSequence(year=2026)
    assert seq.issue(3) == ["2026-000001", "2026-000002", "2026-000003"]
    assert seq.issue(1) == ["2026-000004"]
    assert [type(e).__name__ for e in seq.collect_events()] == [
        "Started",
        "NumbersIssued",
        "NumbersIssued",
    ]
    assert CaseNumberSequence.create_id(2026) == CaseNumberSequence(year=2026).id
    assert CaseNumberSequence(year=2027).issue(1) == ["2027-000001"]


def test_a_channel_reference_names_one_case() -> None:
    assert case_id_for_external_ref("media", "A-1") == case_id_for_external_ref("media", "A-1")
    assert case_id_for_external_ref("media", "A-1") != case_id_for_external_ref("petition", "A-1")


def _tip(**overrides) -> Tip:
    fields = dict(
        number="2026-000001",
        channel="media",
        content="x",
        summary=None,
        category=None,
        external_ref=None,
        occurred_at=None,
        location=None,
        subject=None,
        anonymous=True,
        reporter_sealed=None,
        receipt_sealed=None,
        receipt_digest=None,
        fingerprint="f",
        actor={"id": "u", "name": "n", "role": "operator", "unit": None},
        sms_consent=False,
    )
    return Tip(id=uuid.uuid4(), **(fields | overrides))  # type: ignore[call-arg]


def test_viewing_an_identity_is_an_event_with_who_and_why() -> None:
    tip = _tip(anonymous=False, reporter_sealed={"kid": "k1", "ct": "…"})
    tip.view_identity({"id": "o1", "name": "赵主任", "role": "office", "unit": None}, "回访核实")
    events = tip.collect_events()
    assert type(events[-1]).__name__ == "ReporterIdentityViewed"
    assert events[-1].reason == "回访核实"  # type: ignore[attr-defined]


def test_an_anonymous_tip_has_no_identity_to_view() -> None:
    from services.intake.domain import AnonymousReporterError

    with pytest.raises(AnonymousReporterError):
        _tip().view_identity({"id": "o1"}, "x")


def test_receipt_codes_carry_80_bits_and_survive_being_read_out() -> None:
    codes = {new_receipt_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = codes.pop()
    assert len(code.replace("-", "")) * 5 >= 80
    assert set(code.replace("-", "")) <= set(CROCKFORD)
    spoken = code.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    assert normalize_receipt_code(spoken) == code
    assert normalize_receipt_code("too-short") is None
    secret = b"s" * 32
    assert receipt_digest(secret, spoken) == receipt_digest(secret, code)
    assert receipt_digest(b"t" * 32, code) != receipt_digest(secret, code)


def test_a_seal_opens_only_for_its_case_and_survives_key_rotation() -> None:
    old = parse_reporter_keys("k1:" + base64.b64encode(b"A" * 32).decode())
    case = uuid.uuid4()
    sealed = Sealer(old).seal({"name": "李四"}, case)
    assert "李四" not in str(sealed)
    assert Sealer(old).open(sealed, case) == {"name": "李四"}
    with pytest.raises(SealError):
        Sealer(old).open(sealed, uuid.uuid4())
    rotated = Sealer({"k2": b"\x02" * 32} | old)
    assert rotated.open(sealed, case) == {"name": "李四"}
    resealed = rotated.reseal(sealed, case)
    assert resealed["kid"] == "k2"
    with pytest.raises(SealError):
        Sealer(old).open(resealed, case)


def test_development_secrets_are_generated_once_per_data_dir(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_secrets(settings)
    assert load_secrets(settings) == first
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert load_secrets(Settings(data_dir=tmp_path / "other")) != first


def test_production_needs_every_secret() -> None:
    with pytest.raises(ConfigurationError, match="TAIZHANG_REPORTER_KEYS"):
        load_secrets(Settings(environment="production"))
