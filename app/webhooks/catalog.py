"""The events a hook may subscribe to, the change events each stands for, and the payload a
receiver gets (pure: no I/O).

A webhook event type is the API's name (API-2.md section 17); the change events recorded by
app/events have their own, older names. The fan-out (the trigger `webhooks_fan_out`) matches a
change event's type against a hook's `change_types`, derived from its `events` here when it is
created, so this table is the one place the two vocabularies meet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, get_args

from app.core.schemas import rfc3339_utc

EventType = Literal[
    "dnc.number_added",
    "dnc.number_removed",
    "upload.finished",
    "optout.recorded",
    "optin.recorded",
    "consent.revoked",
    "scrub.finished",
    "registry.aging",
    "registry.stale",
    "key.revoked",
    "webhook.test",
    "webhook.disabled",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# webhook event type -> the change event types it stands for
CHANGE_TYPES: dict[str, tuple[str, ...]] = {
    "dnc.number_added": ("dnc_number.added",),
    "dnc.number_removed": ("dnc_number.removed",),
    # one event per upload, with its counts, never one per number
    "upload.finished": (
        "dnc_upload.finished",
        "optout_upload.finished",
        "consent_upload.finished",
    ),
    "optout.recorded": ("optout.opted_out",),
    "optin.recorded": ("optout.opted_in",),
    "consent.revoked": ("consent.revoked",),
    # app/scrubs records `scrub.finished` (its tenant, the job as target) when a job ends
    "scrub.finished": ("scrub.finished",),
    "registry.aging": ("registry.aging",),
    "registry.stale": ("registry.stale",),
    "key.revoked": ("key.revoked",),
    # sent to one hook on request (POST /v1/webhooks/{id}/test), never fanned out
    "webhook.test": (),
    "webhook.disabled": ("webhook.disabled",),
}
EVENT_TYPE_OF: dict[str, str] = {
    change: event for event, changes in CHANGE_TYPES.items() for change in changes
}
TEST_CHANGE = "webhook.test"
EVENT_TYPE_OF[TEST_CHANGE] = "webhook.test"
UPLOAD_KINDS = {
    "dnc_upload.finished": "dnc",
    "optout_upload.finished": "optout",
    "consent_upload.finished": "consent",
}
DESCRIPTIONS: dict[str, str] = {
    "dnc.number_added": "A number was put on a DNC list one at a time (not by an upload).",
    "dnc.number_removed": "A number was taken off a DNC list one at a time.",
    "upload.finished": "A DNC, opt-out or consent upload succeeded: one event, with its counts.",
    "optout.recorded": "An opt-out was recorded: the number may not be called (or texted).",
    "optin.recorded": "An opt-in was recorded: consent to be called given again.",
    "consent.revoked": "A consent or established business relationship was revoked.",
    "scrub.finished": "A scrub job finished.",
    "registry.aging": "A registry list turns stale within 7 days (announced once per refresh).",
    "registry.stale": "A registry list is older than its maximum age (once per refresh).",
    "key.revoked": "An API key was revoked.",
    "webhook.test": "Sent on request by POST /v1/webhooks/{id}/test.",
    "webhook.disabled": "Another hook of the tenant was disabled after failing for 24 h.",
}
assert set(CHANGE_TYPES) == set(EVENT_TYPES) == set(DESCRIPTIONS)


def change_types_of(events: list[str]) -> list[str]:
    """The change event types a hook subscribed to `events` receives, sorted."""
    return sorted({change for event in events for change in CHANGE_TYPES[event]})


def _data(change_type: str, target: str, details: Mapping[str, Any]) -> dict[str, Any]:
    """The `data` of an event: what happened to what, from the change event's details."""
    if change_type in ("dnc_number.added", "dnc_number.removed"):
        data = {"phone": target, "list_id": details.get("list_id")}
        if change_type == "dnc_number.added":
            data["reason"] = details.get("reason")
        return data
    if change_type in UPLOAD_KINDS:
        data = {"upload_id": target, "kind": UPLOAD_KINDS[change_type], "status": "succeeded"}
        return {**data, **details}
    if change_type == "optout.opted_out":
        return {"phone": target, "channel": details.get("channel"), "source": details.get("source")}
    if change_type == "optout.opted_in":
        return {"phone": target, "channel": details.get("channel")}
    if change_type == "key.revoked":
        return {"key_id": target}
    if change_type in ("webhook.test", "webhook.disabled"):
        return {"webhook_id": target, **details}
    # consent.revoked, registry.aging and .stale, scrub.finished: their details say it all
    return dict(details)


def payload(
    *,
    change_type: str,
    at: datetime,
    tenant_id: str | None,
    target: str,
    details: Mapping[str, Any],
) -> bytes:
    """The body of every attempt of a delivery: `{"type", "timestamp", "data"}` (Standard
    Webhooks), compact JSON. Made from the stored event alone, so each retry sends the same
    bytes."""
    data = {**_data(change_type, target, details), "tenant_id": tenant_id}
    body = {"type": EVENT_TYPE_OF[change_type], "timestamp": rfc3339_utc(at), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
