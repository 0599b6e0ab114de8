"""Baseline (s), the services' own HTTP stack: ``create_app``'s middlewares, authentication,
the role check and the problem handlers around a tip endpoint that validates the body with
``TipIn`` and answers without storing — optionally also building the ``TipSubmission``
intake's writer would get. What intake's HTTP path costs before the tip.

    python -m bench.stack_ceiling --port 8101 [--submission]
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from fastapi import FastAPI

from services.app import create_app
from services.cli import run_server
from services.intake.api import IdempotencyKeyHeader, Registrant, submission_of
from services.intake.schemas import TipCreated, TipIn
from shared.platform.settings import Settings


def app(submission: bool) -> FastAPI:
    stack = create_app(Settings(), services=[])

    @stack.post(
        "/api/v1/tips", status_code=201, response_model=TipCreated, response_model_exclude_none=True
    )
    async def register_tip(
        body: TipIn, principal: Registrant, idempotency_key: IdempotencyKeyHeader = None
    ) -> TipCreated:
        if submission:
            submission_of(body, principal, idempotency_key)
        return TipCreated(case_id=uuid4(), number="2026-000000", status="registered")

    return stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--submission", action="store_true", help="also build the submission")
    args = parser.parse_args()
    run_server(app(args.submission), args.host, args.port)


if __name__ == "__main__":
    main()
