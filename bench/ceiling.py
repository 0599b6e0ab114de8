"""Baseline (e), the HTTP ceiling: the same tip payload validated by the same pydantic model
(``TipIn``), answered without storing anything, served exactly as a service is
(``services.cli.run_server``: uvicorn, one worker, the same loop and HTTP parser).

    python -m bench.ceiling --port 8100
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from fastapi import FastAPI

from services.cli import run_server
from services.intake.schemas import TipCreated, TipIn

app = FastAPI(title="HTTP ceiling")


@app.post("/api/v1/tips", status_code=201, response_model=TipCreated)
async def register_tip(body: TipIn) -> TipCreated:
    return TipCreated(case_id=uuid4(), number="2026-000000", status="registered")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    run_server(app, args.host, args.port)


if __name__ == "__main__":
    main()
