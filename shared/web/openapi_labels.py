"""Every enum of the OpenAPI document carries its Chinese labels (issue 22 point 2): clients send
and receive the codes; a person reading the documentation (or a client building a form) reads
``x-enum-labels`` and the description, both from :mod:`shared.contracts.wording`."""

from __future__ import annotations

from typing import Any

from shared.contracts.wording import labels_for


def add_enum_labels(node: Any) -> Any:
    """Labels every string enum under ``node`` (in place) and returns ``node``."""
    if isinstance(node, dict):
        values = node.get("enum")
        if isinstance(values, list) and all(isinstance(v, str) for v in values):
            _label(node, values)
        for child in node.values():
            add_enum_labels(child)
    elif isinstance(node, list):
        for child in node:
            add_enum_labels(child)
    return node


def _label(node: dict[str, Any], values: list[str]) -> None:
    labels = labels_for(values)
    if labels is None:
        return
    node["x-enum-labels"] = labels
    listing = ";".join(f"{code} = {label}" for code, label in labels.items())
    described = str(node.get("description", "")).strip()
    node["description"] = f"{described}\n\n取值:{listing}" if described else f"取值:{listing}"
