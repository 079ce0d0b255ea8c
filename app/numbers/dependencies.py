"""A phone number in a path, validated against the live area-code table."""

from typing import Annotated

from fastapi import Depends, Path, Request

from app.numbers.parsing import PhoneNumber, parse_strict
from app.reference.dependencies import snapshot_of


async def in_service(request: Request) -> frozenset[str]:
    """The area codes in service now (from the in-memory reference snapshot)."""
    return (await snapshot_of(request.app)).in_service


async def phone_number(
    request: Request, phone: Annotated[str, Path(description="E.164, e.g. +14155551234")]
) -> PhoneNumber:
    return parse_strict(phone, await in_service(request))


Phone = Annotated[PhoneNumber, Depends(phone_number)]
