"""A released contract is never edited (ADR 4): its fields, as consumers decode them, are
recorded in ``released_contracts.json`` by ``(type, version)``. Changing a released one fails
here — give it a new version and an upcaster instead; a new contract or version is recorded
by adding its line (``python -m tests.shared.test_released_contracts`` prints the file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shared.contracts  # noqa: F401  (registers every contract)
from shared.contracts.base import _CONTRACTS

RELEASED = Path(__file__).with_name("released_contracts.json")


def shapes() -> dict[str, dict[str, Any]]:
    """Each contract's newest version: its fields, their types and which are required."""
    out = {}
    for type_, cls in sorted(_CONTRACTS.items()):
        fields = {
            name: {"type": str(f.annotation), "required": f.is_required()}
            for name, f in sorted(cls.model_fields.items())
        }
        out[f"{type_}@v{cls.version}"] = fields
    return out


def test_no_released_contract_was_edited() -> None:
    released = json.loads(RELEASED.read_text())
    now = shapes()
    edited = [key for key in now if key in released and now[key] != released[key]]
    assert not edited, f"released contracts edited (give them a new version): {edited}"
    unrecorded = sorted(set(now) - set(released))
    assert not unrecorded, f"record these in {RELEASED.name} as they are released: {unrecorded}"


if __name__ == "__main__":
    released = json.loads(RELEASED.read_text()) if RELEASED.exists() else {}
    print(json.dumps(released | shapes(), ensure_ascii=False, indent=1, sort_keys=True))
