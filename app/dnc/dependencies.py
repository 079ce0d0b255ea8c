"""The DNC list a route's `{list_id}` names, as the caller may see it (404 otherwise)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.auth.dependencies import CurrentPrincipal
from app.core.dependencies import SessionDep
from app.dnc.models import DncList
from app.dnc.service import visible_list

ListId = Annotated[str, Path(max_length=40, description="lst_…")]


async def named_list(list_id: ListId, principal: CurrentPrincipal, session: SessionDep) -> DncList:
    """The list, global or the caller's tenant's (any tenant's for a platform admin)."""
    return await visible_list(session, principal, list_id)


async def list_to_change(
    list_id: ListId, principal: CurrentPrincipal, session: SessionDep
) -> DncList:
    """The list, locked in the request's transaction for a change: a global one only for a
    platform admin (403 otherwise)."""
    return await visible_list(session, principal, list_id, to_change=True)


ListDep = Annotated[DncList, Depends(named_list)]
WritableListDep = Annotated[DncList, Depends(list_to_change)]
