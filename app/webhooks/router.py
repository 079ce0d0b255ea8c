from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response

from app.auth.dependencies import OptionalTenantDep, require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.core.db import after_commit
from app.core.dependencies import SessionDep, SettingsDep
from app.core.errors import NotFound
from app.core.pagination import PageDep
from app.core.routing import RETURNS_SECRET, errors
from app.core.schemas import Page
from app.webhooks import service
from app.webhooks.dependencies import DeliveryWorkerDep
from app.webhooks.errors import WebhookDisabled, WebhookNotFound
from app.webhooks.schemas import (
    CREATED_EXAMPLE,
    DELIVERY_EXAMPLE,
    EXAMPLE,
    DeliveryOut,
    DeliveryStatus,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)

router = make_v1_router(tags=["Webhooks"])
# a hook's URL, events and deliveries are its owner's configuration: reading them takes the
# same scope as changing them (API-2.md names no read scope for webhooks)
Manager = Annotated[Principal, Depends(require(Scope.WEBHOOKS_WRITE))]
WebhookId = Annotated[str, Path(max_length=40, description="whk_…")]


def _example(status: int, example: Any) -> dict[int | str, dict[str, Any]]:
    return {str(status): {"content": {"application/json": {"example": example}}}}


@router.post(
    "/webhooks",
    status_code=201,
    responses={**errors(*AUTH_ERRORS, NotFound), **_example(201, CREATED_EXAMPLE)},
    openapi_extra={RETURNS_SECRET: True},
)
async def create_webhook(
    body: WebhookIn,
    principal: Manager,
    session: SessionDep,
    tenant: OptionalTenantDep,
    settings: SettingsDep,
) -> WebhookCreated:
    """Create a webhook; its signing secret is in this answer only.

    Every event of the subscribed types that the tenant's changes record is POSTed to `url`
    as `{"type", "timestamp", "data"}` with the Standard Webhooks headers `webhook-id` (the
    event's id, the same on every retry: dedupe by it), `webhook-timestamp` (the attempt's
    Unix seconds) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
    `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's base64-decoded bytes).
    At least once: a non-2xx answer, a redirect (never followed), a timeout (10 s) or a
    refused connection is retried with exponential backoff and jitter from 5 s up to 1 h, for
    24 h; then the delivery is `failed`. A hook failing for 24 h straight is disabled, and a
    `webhook.disabled` event says so. A platform key without `?tenant_id=` makes a hook of
    the platform's own events (global lists, platform keys).
    """
    return await service.create_webhook(
        session=session, principal=principal, tenant_id=tenant, data=body, settings=settings
    )


@router.get(
    "/webhooks",
    responses={
        **errors(*AUTH_ERRORS),
        **_example(200, {"data": [EXAMPLE], "next_cursor": None}),
    },
)
async def list_webhooks(principal: Manager, session: SessionDep, page: PageDep) -> Page[WebhookOut]:
    """The webhooks this caller may see, newest first.

    Its tenant's (every one for the platform); never their secrets."""
    data, cursor = await service.list_webhooks(session=session, principal=principal, page=page)
    return Page(data=data, next_cursor=cursor)


@router.get(
    "/webhooks/{webhook_id}",
    responses={**errors(*AUTH_ERRORS, WebhookNotFound), **_example(200, EXAMPLE)},
)
async def get_webhook(webhook_id: WebhookId, principal: Manager, session: SessionDep) -> WebhookOut:
    """One webhook (another tenant's, or a deleted one, is not found); never its secret."""
    return await service.get_webhook(session=session, principal=principal, webhook_id=webhook_id)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTH_ERRORS, WebhookNotFound),
)
async def delete_webhook(
    webhook_id: WebhookId, principal: Manager, session: SessionDep
) -> Response:
    """Delete a webhook: nothing more is sent to it, and its secret is wiped.

    Its pending deliveries end `failed`; an attempt in flight is not retried."""
    await service.delete_webhook(session=session, principal=principal, webhook_id=webhook_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/test",
    status_code=202,
    responses={
        **errors(*AUTH_ERRORS, WebhookNotFound, WebhookDisabled),
        **_example(
            202,
            {
                **DELIVERY_EXAMPLE,
                "event_type": "webhook.test",
                "attempts": 0,
                "last_status_code": None,
                "last_error": None,
                "last_attempt_at": None,
            },
        ),
    },
)
async def send_webhook_test(
    webhook_id: WebhookId,
    principal: Manager,
    session: SessionDep,
    worker: DeliveryWorkerDep,
) -> DeliveryOut:
    """Send a `webhook.test` event to this webhook now.

    The answer is its delivery, `pending` (read `GET /v1/webhooks/{id}/deliveries` for how it
    went)."""
    delivery = await service.send_test(session=session, principal=principal, webhook_id=webhook_id)
    after_commit(session, worker.wake)
    return delivery


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    responses={
        **errors(*AUTH_ERRORS, WebhookNotFound),
        **_example(200, {"data": [DELIVERY_EXAMPLE], "next_cursor": None}),
    },
)
async def list_webhook_deliveries(
    webhook_id: WebhookId,
    principal: Manager,
    session: SessionDep,
    page: PageDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only these.")] = None,
) -> Page[DeliveryOut]:
    """A webhook's deliveries, newest first.

    Each with its status, attempts, the last answer and when the next attempt is due."""
    data, cursor = await service.list_deliveries(
        session=session, principal=principal, webhook_id=webhook_id, status=status, page=page
    )
    return Page(data=data, next_cursor=cursor)
