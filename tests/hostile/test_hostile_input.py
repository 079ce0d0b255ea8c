"""Hostile input through the HTTP API, on real PostgreSQL.

Every hostile request must get a clear answer (a 4xx envelope; a 2xx only where the input is
legitimately free text, stored and echoed verbatim) and change nothing it should not: the
database's counts are compared before and after each rejected request, and check records
are counted where a check could be audited.

- SQL injection strings in every path parameter, string query parameter, Idempotency-Key and
  string body field of every /v1 operation, enumerated from the app's own OpenAPI document
  (as tests/test_isolation.py does), so a new route or field joins on its own: a route with a
  JSON body needs a template below, and the test fails until it has one covering every field;
- absurd times (years 1 and 9999, with offsets that overflow when converted to UTC) in every
  time field of every body and query, also enumerated from the OpenAPI document;
- a 10,001-item batch of hostile items (400, nothing audited);
- bodies over the limits and gzip bombs (413, or an upload that fails `payload_too_large`),
  with the process's RSS sampled while they are handled;
- binary garbage, corrupt gzip, invalid UTF-8 and NUL bytes, a 1 MB line, a line longer than
  any row can be, and a million columns, in DNC and opt-out uploads: per-row errors or a
  per-file failure, never `internal_error`.
"""

from __future__ import annotations

import base64
import copy
import csv
import gzip
import io
import json
import random
import re
import secrets
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.auth import service as auth_service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.envelope import assert_envelope
from tests.helpers import bearer, create_key, create_tenant
from tests.workers import _delete_what_was_made

PAYLOADS = [
    "'; DROP TABLE dnc_entries; --",
    "' OR 1=1 --",
    '" OR ""="',
    "1; SELECT pg_sleep(10) --",
]
PHONE = "+14155552671"  # on the world's list and opted out
OTHER_PHONE = "+12125552671"
MONDAY_1030_PT = "2026-11-23T18:30:00Z"
FUTURE = "2031-01-01T00:00:00Z"
LATER = "2031-01-02T00:00:00Z"
PAST = "2024-01-01T00:00:00Z"
WEEK = {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
CSV_BODY = b"4155552671\n"
ABSURD_TIMES = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+23:59",  # in UTC: year 0
    "9999-12-31T23:59:59-23:59",  # in UTC: year 10000
]
ABSURD_DATES = ["0001-01-01", "9999-12-31"]
MIB = 1 << 20


# --- the world the hostile requests aim at -------------------------------------------------


@dataclass
class World:
    tenant: str
    key_id: str
    list_id: str
    upload_id: str
    optout_upload_id: str
    check_id: str
    ban_id: str
    webhook_id: str = ""
    consent_id: str = ""
    consent_upload_id: str = ""
    scrub_id: str = ""

    def ids(self) -> list[str]:
        return [self.tenant, self.key_id, self.list_id, self.check_id, self.upload_id]

    def path_value(self, path: str, param: str) -> str:
        if param == "upload_id":
            if path.startswith("/v1/consents"):
                return self.consent_upload_id
            return self.optout_upload_id if path.startswith("/v1/opt-outs") else self.upload_id
        return {
            "consent_id": self.consent_id,
            "scrub_id": self.scrub_id,
            "key_id": self.key_id,
            "list_id": self.list_id,
            "phone": PHONE,
            "check_id": self.check_id,
            "ban_id": self.ban_id,
            "webhook_id": self.webhook_id,
            "npa": "415",
        }[param]


async def make_world(client: httpx.AsyncClient, admin: dict[str, str]) -> World:
    """One tenant's resources of every kind a path names, made by the platform admin."""
    tenant = await create_tenant(client, admin)
    key_id, _ = await create_key(client, admin, tenant_id=tenant)

    async def ok(response: Any) -> dict[str, Any]:
        got = await response
        assert got.status_code in (200, 201, 202), got.text
        body: dict[str, Any] = got.json()
        return body

    at = f"?tenant_id={tenant}"
    hook = await ok(
        client.post(
            f"/v1/webhooks{at}",
            json={"url": "https://hooks.example.com/world", "events": ["optout.recorded"]},
            headers=admin,
        )
    )
    lst = await ok(client.post(f"/v1/dnc/lists{at}", json={"name": "world"}, headers=admin))
    await ok(client.put(f"/v1/dnc/lists/{lst['id']}/numbers/{PHONE}", headers=admin))
    file = {**admin, "content-type": "text/csv"}
    upload = await ok(
        client.post(f"/v1/dnc/lists/{lst['id']}/uploads", content=CSV_BODY, headers=file)
    )
    await ok(client.post(f"/v1/opt-outs{at}", json={"phone": PHONE}, headers=admin))
    optout_upload = await ok(
        client.post(f"/v1/opt-outs/uploads{at}", content=CSV_BODY, headers=file)
    )
    check = (await client.post(f"/v1/checks{at}", json={"to": PHONE}, headers=admin)).json()
    consent = await ok(
        client.post(
            f"/v1/consents{at}",
            json={"phone": PHONE, "basis": "express_written_consent", "obtained_at": PAST},
            headers=admin,
        )
    )
    consent_upload = await ok(
        client.post(
            f"/v1/consents/uploads{at}",
            content=b"phone,basis,obtained_at\n4155552671,ebr_inquiry,2024-01-01T00:00:00Z\n",
            headers=file,
        )
    )
    scrub = await ok(client.post(f"/v1/scrubs{at}", content=CSV_BODY, headers=file))
    ban = await ok(
        client.post(
            "/v1/calling-rules/bans",
            json={"jurisdiction": "US-LA", "starts_at": FUTURE, "ends_at": LATER, "reason": "x"},
            headers=admin,
        )
    )
    return World(
        tenant=tenant,
        key_id=key_id,
        list_id=lst["id"],
        upload_id=upload["id"],
        optout_upload_id=optout_upload["id"],
        check_id=check.get("check_id") or check["details"]["check_id"],
        ban_id=ban["id"],
        webhook_id=hook["id"],
        consent_id=consent["id"],
        consent_upload_id=consent_upload["id"],
        scrub_id=scrub["id"],
    )


# a valid JSON body for each operation that takes one; `n` makes names unique per request
BODIES: dict[str, Callable[[World, int], dict[str, Any]]] = {
    "POST /v1/checks": lambda w, n: {
        "to": OTHER_PHONE,
        "at": MONDAY_1030_PT,
        "recipient_state": "CA",
        "channel": "voice",
        "purpose": "default",
        "reserve": False,
    },
    "POST /v1/checks/batch": lambda w, n: {
        "items": [{"to": OTHER_PHONE, "recipient_state": "CA"}],
        "at": MONDAY_1030_PT,
        "channel": "voice",
        "purpose": "default",
        "reserve": False,
    },
    "POST /v1/consents": lambda w, n: {
        "phone": OTHER_PHONE,
        "basis": "express_written_consent",
        "obtained_at": PAST,
        "expires_at": FUTURE,
        "channel": "all",
        "source": "web form",
        "evidence": "e",
    },
    "POST /v1/attempts": lambda w, n: {
        "items": [
            {
                "phone": OTHER_PHONE,
                "at": PAST,
                "purpose": "p",
                "channel": "voice",
                "check_id": "chk_hostile",
                "disposition": "no_answer",
            }
        ]
    },
    "POST /v1/tenants": lambda w, n: {"name": f"hostile tenant {n}"},
    "POST /v1/api-keys": lambda w, n: {
        "name": f"hostile key {n}",
        "scopes": ["dnc:read"],
        "expires_at": FUTURE,
        "tenant_id": w.tenant,
    },
    "POST /v1/api-keys/{key_id}/rotate": lambda w, n: {"grace_seconds": 60},
    "PUT /v1/area-codes/{npa}": lambda w, n: {
        "time_zones": ["America/Los_Angeles"],
        "region": "CA",
        "in_service": True,
    },
    "POST /v1/calling-rules/bans": lambda w, n: {
        "jurisdiction": "US-LA",
        "starts_at": FUTURE,
        "ends_at": LATER,
        "reason": f"hostile ban {n}",
    },
    "PUT /v1/calling-policy": lambda w, n: {
        "windows": copy.deepcopy(WEEK),
        "banned_dates": ["2031-07-04"],
        "on_stale_registry": "refuse",
        "frequency_caps": [{"max_calls": 3, "within_hours": 24, "per": "number"}],
        "after_conversation_hours": 24,
    },
    "POST /v1/dnc/lists": lambda w, n: {
        "name": f"hostile list {n}",
        "scope": "tenant",
        "description": "d",
        "kind": "internal",
        "max_age_days": None,
    },
    # the world's list stays what it is (internal): only the hostile field changes
    "PATCH /v1/dnc/lists/{list_id}": lambda w, n: {
        "kind": "internal",
        "description": "d",
        "max_age_days": None,
    },
    "PUT /v1/dnc/lists/{list_id}/numbers/{phone}": lambda w, n: {
        "reason": "r",
        "expires_at": FUTURE,
    },
    "POST /v1/opt-outs": lambda w, n: {
        "phone": OTHER_PHONE,
        "channel": "voice",
        "source": "api",
        "occurred_at": PAST,
        "note": "n",
    },
}
BODIES["POST /v1/webhooks"] = lambda w, n: {
    "url": f"https://hooks.example.com/hostile/{n}",
    "events": ["optout.recorded"],
    "description": "d",
}
# free text: stored and echoed as sent, so a 2xx is right (and the text must come back verbatim)
FREE_TEXT_FIELDS = {"name", "description", "reason", "note", "evidence", "source"}
# free text stored but not echoed by the answer: a call's subject (a check's `purpose`, an
# attempt's), an attempt's reference to its check; a 2xx is right
FREE_TEXT_UNECHOED = {"purpose", "check_id"}
FREE_TEXT_QUERY = {
    "column",
    "purpose",
}  # a CSV column name (the upload fails later if absent), a scrub's call subject
# filters of listings: a 200 is right, with nothing in it (a widened query would show rows)
FILTERS = {"error", "phone", "type", "api_key_id", "country", "region", "tenant_id", "list_id"}


@dataclass
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    components: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def parameters(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]

    def body_media(self) -> list[str]:
        return list(self.spec.get("requestBody", {}).get("content", {}))

    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return None if media is None else resolve(media["schema"], self.components)


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def v1_operations(app: FastAPI) -> list[Operation]:
    document = app.openapi()
    components = document.get("components", {}).get("schemas", {})
    return [
        Operation(method.upper(), path, spec, components)
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method, spec in item.items()
    ]


def is_string(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    schema = resolve(schema, components)
    options = schema.get("anyOf", []) + schema.get("oneOf", [])
    return schema.get("type") == "string" or any(is_string(o, components) for o in options)


@dataclass
class Call:
    method: str
    path: str
    path_values: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None

    @property
    def url(self) -> str:
        url = self.path
        for name, value in self.path_values.items():
            url = url.replace(f"{{{name}}}", quote(value, safe=""))
        return url

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        kwargs: dict[str, Any] = {"params": self.query, "headers": self.headers}
        if self.content is not None:
            kwargs["content"] = self.content
        elif self.json is not None:
            kwargs["json"] = self.json
        return await client.request(self.method, self.url, **kwargs)


def base_call(op: Operation, world: World, admin: dict[str, str], n: int) -> Call:
    """A valid request to the operation: real ids, the world's tenant, a template body."""
    call = Call(
        op.method,
        op.path,
        {p["name"]: world.path_value(op.path, p["name"]) for p in op.parameters("path")},
        headers=dict(admin),
    )
    if any(p["name"] == "tenant_id" for p in op.parameters("query")):
        call.query["tenant_id"] = world.tenant
    media = op.body_media()
    if "application/json" in media:
        template = BODIES.get(op.label)
        assert template is not None, f"add a body template for {op.label} to BODIES"
        call.json = template(world, n)
    elif media:  # an upload: the file as the raw body
        call.content = CSV_BODY
        call.headers["content-type"] = "text/csv"
    return call


def property_paths(schema: dict[str, Any], components: dict[str, Any]) -> set[tuple[str, ...]]:
    """Every named field of a body schema, nested objects and array items included."""
    schema = resolve(schema, components)
    found: set[tuple[str, ...]] = set()
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= property_paths(option, components)
    if isinstance(schema.get("items"), dict):
        found |= property_paths(schema["items"], components)
    for name, sub in schema.get("properties", {}).items():
        found.add((name,))
        found |= {(name, *rest) for rest in property_paths(sub, components)}
    return found


Path_ = tuple[str | int, ...]


def template_paths(value: Any, path: Path_ = ()) -> set[tuple[str, ...]]:
    names = tuple(str(p) for p in path if isinstance(p, str))
    found = {names} if names else set()
    if isinstance(value, dict):
        for key, sub in value.items():
            found |= template_paths(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found |= template_paths(sub, (*path, index))
    return found


def string_targets(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, bool]]:
    """(location, is a map key) of every string in a body: values, and the keys of maps
    (objects below the top that are not array items, like a policy's `windows`)."""
    if isinstance(value, str):
        yield path, False
    elif isinstance(value, dict):
        is_map = bool(path) and isinstance(path[-1], str)
        for key, sub in value.items():
            if is_map:
                yield (*path, key), True
            yield from string_targets(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from string_targets(sub, (*path, index))


def with_value(body: Any, path: Path_, value: Any, *, as_key: bool = False) -> Any:
    body = copy.deepcopy(body)
    parent = body
    for part in path[:-1]:
        parent = parent[part]
    if as_key:
        parent[value] = parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return body


def field_name(path: Path_) -> str:
    return ".".join(str(p) for p in path if isinstance(p, str))


# --- what may not change ------------------------------------------------------------------

FINGERPRINT = text(
    """
    SELECT json_build_object(
      'tenants', (SELECT count(*) FROM tenants),
      'keys', (SELECT count(*) FROM api_keys),
      'usable_keys', (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL
                      AND expires_at IS NULL),
      'lists', (SELECT count(*) FROM dnc_lists),
      'live_lists', (SELECT count(*) FROM dnc_lists WHERE deleted_at IS NULL),
      'entries', (SELECT count(*) FROM dnc_entries),
      'annotated_entries', (SELECT count(*) FROM dnc_entries
                            WHERE reason IS NOT NULL OR expires_at IS NOT NULL),
      'optout_events', (SELECT count(*) FROM optout_events),
      'opted_out', (SELECT count(*) FROM optout_state WHERE voice_out OR sms_out),
      'change_events', (SELECT count(*) FROM change_events),
      'check_records', (SELECT count(*) FROM check_records),
      'bans', (SELECT count(*) FROM calling_bans),
      'live_bans', (SELECT count(*) FROM calling_bans WHERE lifted_at IS NULL),
      'overrides', (SELECT count(*) FROM area_code_overrides),
      'policies', (SELECT count(*) FROM calling_policies),
      'uploads', (SELECT count(*) FROM uploads)
    )
    """
)


async def fingerprint(connection: AsyncConnection) -> dict[str, int]:
    row: dict[str, int] = (await connection.execute(FINGERPRINT)).scalar_one()
    return row


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield key
            yield from strings_in(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from strings_in(sub)


@dataclass
class Judge:
    client: httpx.AsyncClient
    connection: AsyncConnection
    world: World
    sent: int = 0

    async def rejected_or_harmless(
        self, op: Operation, call: Call, where: str, name: str, payload: str
    ) -> httpx.Response:
        """Send one hostile request: a 4xx envelope that changed nothing (a check's
        invalid_phone is audited, as every check is), or a 2xx where that is right."""
        before = await fingerprint(self.connection)
        started = time.monotonic()
        response = await call.send(self.client)
        self.sent += 1
        context = (op.label, where, name, payload, response.text[:300])
        assert time.monotonic() - started < 5, context  # pg_sleep(10) never ran
        if response.status_code >= 400:
            assert response.status_code < 500, context
            body = assert_envelope(response, response.status_code, response.json()["error"])
            expected = dict(before)
            if body["error"] == "invalid_phone" and op.path.startswith("/v1/checks"):
                expected["check_records"] += 1  # a check of an invalid number is audited
            assert await fingerprint(self.connection) == expected, context
            return response
        named = ".".join(part for part in name.split(".") if not part.isdigit())
        if where == "body" and named.rsplit(".", 1)[-1] in FREE_TEXT_FIELDS:
            assert payload in set(strings_in(response.json())), context  # stored verbatim
        elif where == "body" and named.rsplit(".", 1)[-1] in FREE_TEXT_UNECHOED:
            pass
        elif where == "header" or (where == "query" and name in FREE_TEXT_QUERY):
            pass  # an Idempotency-Key or a CSV column name: any text is a valid one
        elif op.label == "POST /v1/checks/batch" and named == "items.to":
            result = response.json()["results"][0]
            assert (result["ok"], result["error"]) == (False, "invalid_phone"), context
        elif op.method == "GET" and where == "query" and name in FILTERS:
            # each row matched the text literally (a check of that very "number" was
            # recorded), or is not the world tenant's (the platform's bans, visible to every
            # tenant): never the rows the text would match as SQL
            for row in response.json().get("data", [response.json()]):
                literal = payload in set(strings_in(row))
                assert literal or not set(strings_in(row)) & set(self.world.ids()), context
        else:
            raise AssertionError(f"a hostile value was accepted: {context}")
        return response


async def test_sql_injection_in_every_field_and_parameter_of_every_route(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    engine: AsyncEngine,
) -> None:
    world = await make_world(client, admin)
    judge = Judge(client, connection, world)
    token = secrets.token_hex(4)
    counter = iter(range(1_000_000))
    injected: set[tuple[str, str, str]] = set()
    try:
        for op in v1_operations(app):
            schema = op.body_schema()
            if schema is not None:
                template = base_call(op, world, admin, 0).json
                missing = property_paths(schema, op.components) - template_paths(template)
                assert not missing, f"BODIES[{op.label!r}] lacks {sorted(missing)}"
            for payload in PAYLOADS:
                for param in op.parameters("path"):
                    call = base_call(op, world, admin, next(counter))
                    call.path_values[param["name"]] = payload
                    await judge.rejected_or_harmless(op, call, "path", param["name"], payload)
                    injected.add((op.label, "path", param["name"]))
                for param in op.parameters("query"):
                    if not is_string(param["schema"], op.components):
                        continue
                    call = base_call(op, world, admin, next(counter))
                    call.query[param["name"]] = payload
                    await judge.rejected_or_harmless(op, call, "query", param["name"], payload)
                    injected.add((op.label, "query", param["name"]))
                for param in op.parameters("header"):
                    n = next(counter)
                    call = base_call(op, world, admin, n)
                    call.headers[param["name"]] = f"hostile-{token}-{n}-{payload}"
                    await judge.rejected_or_harmless(op, call, "header", param["name"], payload)
                    injected.add((op.label, "header", param["name"]))
                if schema is None:
                    continue
                for target, as_key in string_targets(base_call(op, world, admin, 0).json):
                    call = base_call(op, world, admin, next(counter))
                    call.json = with_value(call.json, target, payload, as_key=as_key)
                    name = ".".join(map(str, target)) + (" (key)" if as_key else "")
                    await judge.rejected_or_harmless(op, call, "body", name, payload)
                    injected.add((op.label, "body", name))
        await app.state.uploads.wait()
        # the tables are all there, and the world as it was made
        for table in ("tenants", "api_keys", "dnc_lists", "dnc_entries", "check_records"):
            assert await connection.scalar(text(f"SELECT to_regclass('{table}') IS NOT NULL"))
        entry = await client.get(f"/v1/dnc/lists/{world.list_id}/numbers/{PHONE}", headers=admin)
        assert entry.status_code == 200, entry.text
        record = await client.get(f"/v1/audit/checks/{world.check_id}", headers=admin)
        assert record.status_code == 200, record.text
    finally:
        async with engine.begin() as conn:  # Idempotency-Key claims commit on their own
            await conn.execute(
                text("DELETE FROM idempotency_records WHERE key LIKE :prefix"),
                {"prefix": f"hostile-{token}-%"},
            )
    labels = {label for label, _, _ in injected}
    uninjectable = {op.label for op in v1_operations(app)} - labels
    # the routes that take no input
    assert uninjectable == {"GET /v1/calling-rules", "GET /v1/me"}
    assert len(injected) > 100, len(injected)
    assert judge.sent == len(injected) * len(PAYLOADS)


def time_targets(op: Operation) -> Iterator[tuple[str, Path_ | str, list[str]]]:
    """('body', path, values) for every date or date-time of the body template, and
    ('query', name, values) for every date-time query parameter."""
    schema = op.body_schema()
    if schema is not None:
        formats = dict(_formats(schema, op.components))
        template = BODIES[op.label](_NO_WORLD, 0)
        for path, _ in string_targets(template):
            kind = formats.get(tuple(p for p in path if isinstance(p, str)))
            if kind is not None:
                yield "body", path, ABSURD_TIMES if kind == "date-time" else ABSURD_DATES
    for param in op.parameters("query"):
        if "date-time" in str(param["schema"]):
            yield "query", param["name"], ABSURD_TIMES


def _formats(
    schema: dict[str, Any], components: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str]]:
    schema = resolve(schema, components)
    if schema.get("format") in ("date", "date-time"):
        yield path, schema["format"]
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        yield from _formats(option, components, path)
    if isinstance(schema.get("items"), dict):
        yield from _formats(schema["items"], components, path)
    for name, sub in schema.get("properties", {}).items():
        yield from _formats(sub, components, (*path, name))


_NO_WORLD = World("ten_x", "key_x", "lst_x", "upl_x", "upl_y", "chk_x", "ban_x")


async def test_absurd_times_everywhere_times_are_accepted(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    world = await make_world(client, admin)
    judge = Judge(client, connection, world)
    seen: set[tuple[str, str]] = set()
    counter = iter(range(1_000_000))
    for op in v1_operations(app):
        for where, target, values in time_targets(op):
            for value in values:
                call = base_call(op, world, admin, next(counter))
                if where == "body":
                    assert isinstance(target, tuple)
                    call.json = with_value(call.json, target, value)
                    name = field_name(target)
                else:
                    assert isinstance(target, str)
                    call.query[target] = value
                    name = target
                response = await judge.rejected_or_harmless(op, call, where, name, value)
                body = assert_envelope(response, 400, "validation_failed")
                fields = [f["field"] for f in body["details"]["fields"]]
                assert any(
                    re.sub(r"\[\d+\]", "", f) in (name, name.rsplit(".", 1)[-1])
                    or f.split("[")[0] in (name, name.rsplit(".", 1)[-1])
                    for f in fields
                ), (
                    op.label,
                    name,
                    value,
                    fields,
                )
            seen.add((op.label, name))
    assert {
        ("POST /v1/checks", "at"),
        ("POST /v1/checks/batch", "at"),
        ("POST /v1/opt-outs", "occurred_at"),
        ("POST /v1/api-keys", "expires_at"),
        ("PUT /v1/dnc/lists/{list_id}/numbers/{phone}", "expires_at"),
        ("POST /v1/calling-rules/bans", "starts_at"),
        ("POST /v1/calling-rules/bans", "ends_at"),
        ("PUT /v1/calling-policy", "banned_dates"),
        ("GET /v1/audit/checks", "since"),
        ("GET /v1/audit/checks", "until"),
        ("GET /v1/audit/events", "since"),
        ("GET /v1/audit/events", "until"),
    } <= seen, sorted(seen)


async def test_a_batch_of_ten_thousand_and_one_hostile_items_is_refused_unaudited(
    settings: Settings, engine: AsyncEngine, connection: AsyncConnection, admin_key: str
) -> None:
    big = create_app(
        settings.model_copy(update={"max_body_bytes": 4 * MIB}),
        Database.joined_to(engine, connection),
    )
    transport = httpx.ASGITransport(app=big)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        before = await fingerprint(connection)
        items = [{"to": PAYLOADS[n % len(PAYLOADS)]} for n in range(10_001)]
        response = await client.post(
            "/v1/checks/batch", json={"items": items}, headers=bearer(admin_key)
        )
        fields = assert_envelope(response, 400, "validation_failed")["details"]["fields"]
        assert fields[0]["field"] == "items"
        assert await fingerprint(connection) == before  # not one item audited
    await big.state.checks.stop()


# --- bodies over the limits, gzip bombs, memory --------------------------------------------


class PeakRss:
    """The process's resident memory, sampled every few milliseconds in a thread while the
    block runs: the growth of its peak over the RSS at the start."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self.start = self.peak = 0

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._process.memory_info().rss)

    async def __aenter__(self) -> PeakRss:
        self.start = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start


MEMORY_MARGIN = 96 * MIB  # generous; the hostile inputs below would need 256 MiB or more


def gzip_bomb(inflated: int, pattern: bytes) -> bytes:
    """A gzip file of `pattern` repeated to `inflated` bytes, made in pieces (never whole)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    piece = pattern * (MIB // len(pattern))
    out = [packer.compress(piece) for _ in range(inflated // len(piece))]
    return b"".join([*out, packer.flush()])


async def chunks(total: int, piece: bytes) -> AsyncIterator[bytes]:
    for _ in range(total // len(piece)):
        yield piece


UPLOAD_LIMIT = 8 * MIB


@dataclass
class Limited:
    app: FastAPI
    admin: dict[str, str]
    client: httpx.AsyncClient
    spool: Path


@pytest.fixture
async def limited(database_url: str, settings: Settings) -> AsyncIterator[Limited]:
    """An app whose uploads run for real (committed, so the background import sees them;
    what the test made is deleted afterwards), with an upload limit of 8 MiB."""
    small = settings.model_copy(update={"max_upload_bytes": UPLOAD_LIMIT})
    database = Database.from_url(database_url, small)
    async with database.sessionmaker() as session, session.begin():
        admin_key, secret = await auth_service.create_key(
            session=session, principal=None, data=ApiKeyIn(name="hostile", scopes=[Scope.ADMIN])
        )
    app = create_app(small, Database.from_url(database_url, small))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
                yield Limited(app, bearer(secret), client, small.data_dir / "uploads")
    finally:
        await app.state.db.dispose()
        await _delete_what_was_made(database, admin_key.id)
        await database.dispose()


@dataclass
class Target:
    """Where a file goes: a tenant's DNC list, or its opt-outs."""

    kind: str
    url: str
    status_url: str
    numbers_url: str

    async def numbers(self, client: httpx.AsyncClient, admin: dict[str, str]) -> list[str]:
        joiner = "&" if "?" in self.numbers_url else "?"
        page = await client.get(f"{self.numbers_url}{joiner}limit=1000", headers=admin)
        assert page.status_code == 200, page.text
        return [row["phone"] for row in page.json()["data"]]


async def targets(client: httpx.AsyncClient, admin: dict[str, str]) -> list[Target]:
    tenant = await create_tenant(client, admin)
    made = await client.post(
        f"/v1/dnc/lists?tenant_id={tenant}", json={"name": "hostile uploads"}, headers=admin
    )
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]
    put = await client.put(f"/v1/dnc/lists/{list_id}/numbers/+13055552671", headers=admin)
    assert put.status_code == 201, put.text
    out = await client.post(
        f"/v1/opt-outs?tenant_id={tenant}", json={"phone": "+13055552671"}, headers=admin
    )
    assert out.status_code == 201, out.text
    return [
        Target(
            "dnc",
            f"/v1/dnc/lists/{list_id}/uploads",
            "/v1/dnc/uploads/{id}",
            f"/v1/dnc/lists/{list_id}/numbers",
        ),
        Target(
            "optout",
            f"/v1/opt-outs/uploads?tenant_id={tenant}",
            "/v1/opt-outs/uploads/{id}",
            f"/v1/opt-outs?tenant_id={tenant}",
        ),
    ]


async def upload(
    env: Limited, target: Target, body: bytes, query: str = "", **headers: str
) -> dict[str, Any]:
    """Send a file, let it run, and read the upload as it ended."""
    url = target.url + (("&" if "?" in target.url else "?") + query if query else "")
    sent = await env.client.post(
        url, content=body, headers={**env.admin, "content-type": "text/csv", **headers}
    )
    assert sent.status_code == 202, sent.text
    await env.app.state.uploads.wait()
    got = await env.client.get(target.status_url.format(id=sent.json()["id"]), headers=env.admin)
    assert got.status_code == 200, got.text
    done: dict[str, Any] = got.json()
    assert done["status"] in ("succeeded", "failed"), done
    if done["status"] == "failed":
        assert done["failure"]["error"] != "internal_error", done
    for error in done["errors"]:  # what is echoed is printable and short
        assert error["value"].isprintable(), error
        assert len(error["value"]) <= 640, error
    return done


async def test_gzip_bombs_fail_their_upload_and_memory_stays_flat(limited: Limited) -> None:
    env = limited
    bombs = {
        # 256 MiB of valid numbers: every row would be accepted, were it read
        "rows": gzip_bomb(256 * MIB, b"4155552671\n"),
        # 256 MiB in one line, no newline: held whole, it would be a 256 MiB string
        "line": gzip_bomb(256 * MIB, b"7"),
    }
    assert all(len(bomb) < UPLOAD_LIMIT // 8 for bomb in bombs.values())
    for target in await targets(env.client, env.admin):
        before = await target.numbers(env.client, env.admin)
        for name, bomb in bombs.items():
            for encoding in ({"content-encoding": "gzip"}, {}):  # declared, or detected
                async with PeakRss() as rss:
                    done = await upload(env, target, bomb, **encoding)
                assert rss.growth < MEMORY_MARGIN, (target.kind, name, rss.growth)
                assert done["status"] == "failed", done
                assert done["failure"]["error"] == "payload_too_large", done
                assert str(UPLOAD_LIMIT) in done["failure"]["message"]
                assert done["rows_added"] == 0
                assert await target.numbers(env.client, env.admin) == before
    assert list(env.spool.glob("*")) == []  # every spooled file is gone


async def test_bodies_over_the_upload_limit_are_413_and_leave_nothing(limited: Limited) -> None:
    env = limited
    for target in await targets(env.client, env.admin):
        before = await target.numbers(env.client, env.admin)
        headers = {**env.admin, "content-type": "text/csv"}
        declared = await env.client.post(
            target.url, content=b"4155552671\n" * (UPLOAD_LIMIT // 11 + 1), headers=headers
        )
        body = assert_envelope(declared, 413, "payload_too_large")
        assert body["details"]["limit_bytes"] == UPLOAD_LIMIT
        async with PeakRss() as rss:  # 256 MiB streamed, no Content-Length
            streamed = await env.client.post(
                target.url, content=chunks(256 * MIB, b"2125552671\n" * 95_325), headers=headers
            )
        assert "content-length" not in streamed.request.headers
        assert_envelope(streamed, 413, "payload_too_large")
        assert rss.growth < MEMORY_MARGIN, rss.growth
        await env.app.state.uploads.wait()
        assert await target.numbers(env.client, env.admin) == before
    assert list(env.spool.glob("*")) == []  # the spooled part of the refused body is gone


async def test_json_bodies_over_the_limit_are_413_and_memory_stays_flat(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    before = await fingerprint(connection)
    for url in ("/v1/checks", "/v1/checks/batch", "/v1/tenants", "/v1/dnc/lists"):
        async with PeakRss() as rss:
            response = await client.post(
                url,
                content=chunks(256 * MIB, b" " * MIB),  # JSON whitespace, without end
                headers={**admin, "content-type": "application/json"},
            )
        assert "content-length" not in response.request.headers
        assert_envelope(response, 413, "payload_too_large")
        assert rss.growth < MEMORY_MARGIN, (url, rss.growth)
        # a gzip bomb as a JSON body: the API does not inflate JSON bodies, so it is not JSON
        bomb = gzip_bomb(16 * MIB, b"[" * 64)
        assert len(bomb) < 64 * 1024  # under the tests' JSON body limit
        answer = await client.post(
            url,
            content=bomb,
            headers={**admin, "content-type": "application/json", "content-encoding": "gzip"},
        )
        assert_envelope(answer, 400, "validation_failed")
    assert await fingerprint(connection) == before


# --- garbage in files ----------------------------------------------------------------------


def garbage(size: int, seed: int) -> bytes:
    data = random.Random(seed).randbytes(size)
    return b"G" + data[1:]  # never the gzip magic by chance


def csv_text(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


# name: (file, what must happen: "failed <error>", or "added <n>" with at least one bad row
# reported, or "added <n> cleanly")
GARBAGE_FILES: dict[str, tuple[bytes, str]] = {
    # no valid row at all: the upload fails as rejected (the new-user issue), never "succeeded"
    "binary garbage": (garbage(256 * 1024, 8), "failed upload_rejected"),
    "fake gzip": (b"\x1f\x8b" + garbage(4096, 9), "failed unreadable_file"),
    "truncated gzip": (
        gzip.compress(b"4155552671\n2125552671\n" * 1000)[:-40],
        "failed unreadable_file",
    ),
    "invalid UTF-8 and NUL": (
        b"\xff\xfe\xfd\n415\x00555\x002672\n4155552671\n\xc3\x28\n2125552671\n\x00\n",
        "added 2",
    ),
    "a 1 MB line": (b"4155552671\n" + b"9" * 1_000_000 + b"\n2125552671\n", "added 2"),
    "a 3 MiB line": (b"4155552671\n" + b"8" * (3 * MIB) + b"\n2125552671\n", "added 2"),
    "a line of a million columns": (
        b"4155552671" + b"," * 1_000_000 + b"\n2125552671\n",
        "added 1",
    ),
    "a CSV row of a million columns": (
        b"phone,note\n4155552671" + b"," * 1_000_000 + b"\n2125552671,ok\n",
        "added 2 cleanly",
    ),
    "a CSV row of two million columns": (
        b"phone,note\n4155552671" + b",x" * 1_000_000 + b"\n2125552671,ok\n",
        "added 1",  # over the longest line read as a row
    ),
    "a CSV header of 100,000 columns": (
        ",".join(f"c{i}" for i in range(100_000)).encode()
        + b",phone\n"
        + b"x," * 100_000
        + b"4155552671\n",
        "added 1 cleanly",
    ),
    "a CSV field of 200,000 characters": (
        b"phone,note\n4155552671," + b"y" * 200_000 + b"\n",
        "added 1 cleanly",
    ),
    "SQL in rows": ("\n".join([*PAYLOADS, "4155552671"]).encode(), "added 1"),
    "SQL in a CSV phone column": (
        csv_text([["phone", "note"], *([p, p] for p in PAYLOADS), ["2125552671", "ok"]]),
        "added 1",
    ),
}


@pytest.mark.parametrize("name", list(GARBAGE_FILES))
async def test_garbage_files_get_row_or_file_errors_never_internal_ones(
    limited: Limited, name: str
) -> None:
    env = limited
    body, expected = GARBAGE_FILES[name]
    for target in await targets(env.client, env.admin):
        before = await target.numbers(env.client, env.admin)
        async with PeakRss() as rss:
            done = await upload(env, target, body)
        assert rss.growth < MEMORY_MARGIN, (name, rss.growth)
        after = await target.numbers(env.client, env.admin)
        outcome, detail, *clean = expected.split()
        if name == "binary garbage" and done["status"] == "failed":
            # its first line may read as a CSV header naming no phone column; else no row is valid
            assert done["failure"]["error"] in ("unreadable_file", "upload_rejected"), done
            assert after == before
            continue
        if outcome == "failed":
            assert (done["status"], done["failure"]["error"]) == ("failed", detail), done
            assert after == before
            continue
        assert done["status"] == "succeeded", done
        assert (done["rows_rejected"] == 0) if clean else (done["rows_rejected"] >= 1), done
        assert done["rows_added"] == int(detail), done
        assert len(after) == len(before) + int(detail)
        assert set(before) <= set(after)


async def test_row_errors_echo_what_was_sent_escaped(limited: Limited) -> None:
    env = limited
    lines = [*PAYLOADS, "415\x00555\x002672", "x" * (2 * MIB)]
    target = (await targets(env.client, env.admin))[0]
    done = await upload(env, target, "\n".join(lines).encode())
    errors = {e["line"]: e for e in done["errors"]}
    for line, payload in enumerate(PAYLOADS, 1):
        assert errors[line] == {"line": line, "value": payload, "reason": "not_a_phone_number"}
    assert errors[5]["value"] == "415\\u0000555\\u00002672"
    assert errors[6] == {"line": 6, "value": "x" * 64, "reason": "line_too_long"}


async def test_a_csv_column_named_by_sql_is_just_a_missing_column(limited: Limited) -> None:
    env = limited
    for target in await targets(env.client, env.admin):
        before = await target.numbers(env.client, env.admin)
        for payload in PAYLOADS:
            done = await upload(
                env, target, b"phone\n4155552671\n", query=f"column={quote(payload)}"
            )
            assert (done["status"], done["failure"]["error"]) == ("failed", "unreadable_file")
            assert payload in done["failure"]["message"]
        assert await target.numbers(env.client, env.admin) == before


# --- forged cursors ------------------------------------------------------------------------


def forged(text_: str) -> str:
    return base64.urlsafe_b64encode(text_.encode()).decode().rstrip("=")


FORGED_CURSORS = [
    *PAYLOADS,  # not base64 at all (a lenient decoder would read 'OR' out of `" OR ""="`)
    forged(json.dumps(["0001-01-01T00:00:00+23:59", "lst_x"])),  # year 0 in UTC
    forged(json.dumps(["9999-12-31T23:59:59-23:59", "lst_x"])),  # year 10000 in UTC
    forged(json.dumps(["2026-01-01T00:00:00+00:00", "\u0000"])),  # NUL
    forged(json.dumps(["2026-01-01T00:00:00+00:00", "\ud800"])),  # a lone surrogate
    forged(json.dumps(["2026-01-01T00:00:00", "lst_x"])),  # naive
    forged("-" + "9" * 19),  # beyond bigint
    forged(str(10**10)),  # beyond ten digits
    forged("' OR 1=1 --"),
]


async def test_forged_cursors_are_a_400_on_every_listing(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    """Cursors are opaque, but a client can send anything: what does not decode to a position
    this API could have given out is `400 cursor`, never a 500 or a silent first page."""
    world = await make_world(client, admin)
    judge = Judge(client, connection, world)
    listings = [
        op
        for op in v1_operations(app)
        if op.method == "GET" and any(p["name"] == "cursor" for p in op.parameters("query"))
    ]
    assert len(listings) >= 8
    for op in listings:
        for cursor in FORGED_CURSORS:
            call = base_call(op, world, admin, 0)
            call.query["cursor"] = cursor
            response = await judge.rejected_or_harmless(op, call, "query", "cursor", cursor)
            fields = assert_envelope(response, 400, "validation_failed")["details"]["fields"]
            assert fields[0]["field"] == "cursor", (op.label, cursor, fields)
