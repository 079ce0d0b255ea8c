"""A phone number in a path, validated against the live area-code table."""

from typing import Annotated

from fastapi import Depends, Path, Request

from app.numbers.parsing import PhoneNumber, parse_strict
from app.reference.snapshot import ReferenceData


async def in_service(request: Request) -> frozenset[str]:
    """The area codes in service now (from the in-memory reference snapshot)."""
    reference: ReferenceData = request.app.state.reference
    snapshot = await reference.current(request.app.state.db.sessionmaker)
    return snapshot.in_service


async def phone_number(
    request: Request, phone: Annotated[str, Path(description="E.164, e.g. +14155551234")]
) -> PhoneNumber:
    return parse_strict(phone, await in_service(request))


Phone = Annotated[PhoneNumber, Depends(phone_number)]
