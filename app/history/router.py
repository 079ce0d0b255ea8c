from typing import Annotated, Any

from fastapi import Depends

from app.auth.dependencies import OptionalTenantDep, require
from app.auth.errors import AUTH_ERRORS
from app.auth.principal import Principal, Scope
from app.auth.routing import make_v1_router
from app.core.dependencies import ReadSessionDep
from app.core.errors import NotFound
from app.core.pagination import PageDep
from app.core.routing import errors
from app.history import service
from app.history.schemas import NumberHistory
from app.numbers.dependencies import Phone
from app.numbers.errors import InvalidPhone

router = make_v1_router(tags=["History"])
Auditor = Annotated[Principal, Depends(require(Scope.AUDIT_READ))]

EXAMPLE: dict[str, Any] = {
    "phone": "+14155552671",
    "now": {
        "lists": [
            {
                "list_id": "lst_2Vq8k1",
                "list_name": "do not call",
                "kind": "internal",
                "scope": "tenant",
                "listed_at": "2026-11-20T15:02:11Z",
            }
        ],
        "opted_out": {"voice": False, "sms": True},
        "consents": [],
        "attempts_24h": 0,
    },
    "data": [
        {
            "at": "2026-11-23T18:30:00.412Z",
            "type": "check",
            "summary": 'Blocked a call: on the Do-Not-Call list "do not call".',
            "details": {
                "check_id": "chk_1Dk3Jq0aB7xYz2mN4",
                "at": "2026-11-23T18:30:00Z",
                "outcome": "blocked",
                "error": "dnc_blocked",
                "channel": "voice",
                "recipient_state": None,
                "batch": False,
                "api_key_id": "key_7Hc2",
                "request_id": "req_3f9c2a7d1e5b4c6a8d0e2f41",
                "record": {"check_id": "chk_1Dk3Jq0aB7xYz2mN4", "violations": ["dnc_blocked"]},
            },
        },
        {
            "at": "2026-11-21T09:12:40Z",
            "type": "optout",
            "summary": "Opted out of texts (source: sms_stop).",
            "details": {
                "event_id": "oo_5Lp0",
                "channel": "sms",
                "source": "sms_stop",
                "note": None,
                "recorded_at": "2026-11-21T09:12:41Z",
                "actor_key_id": "key_7Hc2",
                "upload_id": None,
            },
        },
        {
            "at": "2026-11-20T15:02:11Z",
            "type": "dnc.added",
            "summary": 'Added to the DNC list "do not call".',
            "details": {
                "list_id": "lst_2Vq8k1",
                "list_name": "do not call",
                "event_id": "evt_9Ux1",
                "actor_key_id": "key_7Hc2",
                "reason": "asked on the phone",
            },
        },
        {
            "at": "2026-11-02T16:40:00Z",
            "type": "consent.granted",
            "summary": "Consent to calls and texts given (an inquiry).",
            "details": {
                "consent_id": "cns_4Fh2Kq9LmP0sT7vX",
                "basis": "ebr_inquiry",
                "channel": "all",
                "obtained_at": "2026-11-02T16:40:00Z",
                "expires_at": "2027-02-02T16:40:00Z",
                "revoked_at": None,
                "source": "web form",
                "evidence": "https://crm.example.com/leads/8812",
                "recorded_at": "2026-11-02T16:41:07Z",
                "actor_key_id": "key_7Hc2",
                "upload_id": None,
            },
        },
    ],
    "next_cursor": None,
}


@router.get(
    "/numbers/{phone}/history",
    responses={
        **errors(*AUTH_ERRORS, InvalidPhone, NotFound),
        "200": {"content": {"application/json": {"example": EXAMPLE}}},
    },
)
async def number_history(
    number: Phone, _: Auditor, session: ReadSessionDep, tenant_id: OptionalTenantDep, page: PageDep
) -> NumberHistory:
    """A number's state now and its timeline, newest first, for the tenant's checks.

    `now`: the live lists holding it (global and the tenant's), its opt-out state per channel,
    the tenant's consents in force now; `attempts_24h` is always 0 until call attempts
    exist. `data`, newest first by when each thing happened, paged with `cursor`: `check`
    (every decision, by decision time, with its `at`, outcome and error in `details`),
    `dnc.added` / `dnc.removed` (single-number changes of its lists, and the `listed_at` of a
    current entry that no change records, such as one from a bulk upload: `event_id` null),
    `optout` / `optin` (by when they occurred), `consent.granted` (by its `obtained_at`,
    uploaded ones too) / `consent.revoked` (by its `revoked_at`). A platform key naming no
    tenant sees the platform's own checks, which only global lists decide.
    """
    return await service.number_history(
        session=session, tenant_id=tenant_id, number=number, page=page
    )
