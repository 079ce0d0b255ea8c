"""The baseline of bench/checks.py: a FastAPI endpoint that parses the same JSON body as
POST /v1/checks (the same Pydantic model) and returns a constant, served by the same uvicorn
settings. Not part of the product."""

from typing import Any

from fastapi import FastAPI

from app.checks.schemas import CheckIn

CONSTANT = {
    "ok": True,
    "check_id": "chk_0000000000000000",
    "to": "+14155552671",
    "at": "2026-11-23T18:30:00Z",
    "zones": [{"time_zone": "America/Los_Angeles", "local_time": "2026-11-23T10:30:00-08:00"}],
    "jurisdictions": ["US", "US-CA"],
    "allowed_until": "2026-11-24T05:00:00Z",
}

app = FastAPI()


@app.post("/v1/checks")
async def check(body: CheckIn) -> dict[str, Any]:
    return CONSTANT
