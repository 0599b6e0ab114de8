"""Integration events between services (see ``base`` for the envelope and the evolution rule).

Each producing service's contracts live in a module of its own name; importing this package
registers all of them, so any consumer can decode any message.
"""

from shared.contracts import dispatch, insight, intake, tracking
from shared.contracts.base import (
    SYSTEM_ACTOR,
    Contract,
    Envelope,
    UnknownContract,
    contract,
    contract_class,
    decode,
    upcaster,
)

__all__ = [
    "SYSTEM_ACTOR",
    "Contract",
    "Envelope",
    "UnknownContract",
    "contract",
    "contract_class",
    "decode",
    "dispatch",
    "insight",
    "intake",
    "tracking",
    "upcaster",
]
