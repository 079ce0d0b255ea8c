"""Schema fuzzing: schemathesis sends generated requests to every operation of the app's own
OpenAPI document (as `/openapi.json` serves it, unmodified), on real PostgreSQL, as a platform
admin.

Every answer must be: not a 5xx, a status code the operation documents, with a documented
content type and a body matching the documented schema; and every 4xx/5xx must be the error
envelope `{"error", "message", "details", "request_id"}`.

Bounded and deterministic so it can run in CI: a fixed number of cases per operation (about
2,700 in all), a fixed seed per operation, derandomized, no example database. The requests go
through the ASGI app in the test's event loop (the conftest `app` fixture: its sessions join the
test's transaction, which is rolled back at the end, so nothing the fuzzer makes survives it);
Hypothesis runs in a worker thread and hands each request to the loop, one at a time, because
that one connection serves one request at a time.

Most positive cases have their ids (path, query, and `to`, `phone`, `tenant_id` in bodies)
replaced by ids of real resources (a tenant, a list with a number, uploads, an opt-out, a
consent, a check, a ban), so the fuzzer reaches past the 404s and invalid_phone 400s; deletions
run last. Defects it found are kept as plain regression tests in
tests/fuzz/test_fuzz_regressions.py.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import hypothesis
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err, Ok
from schemathesis.errors import InvalidSchema
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import create_key, create_tenant

SEED = 20_260_808
POSITIVE_PER_OPERATION = 34
NEGATIVE_PER_OPERATION = 18
BASE_URL = "http://callguard.test"
PHONE = "+14155552671"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ENVELOPE_KEYS = {"error", "message", "details", "request_id"}


@dataclass
class Finding:
    operation: str
    problem: str
    reproduce: str


@dataclass
class Report:
    sent: int = 0
    unsendable: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    not_generated: list[str] = field(default_factory=list)

    def add(self, operation: str, problem: str, reproduce: str) -> None:
        title = problem.strip().splitlines()[0] if problem.strip() else "?"
        self.findings.setdefault((operation, title), Finding(operation, problem, reproduce))


Send = Callable[[requests.PreparedRequest], httpx.Response]
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Operation]


def envelope_problem(response: httpx.Response) -> str | None:
    """Why a 4xx/5xx answer is not the API.md envelope, or None when it is."""
    if response.status_code < 400:
        return None
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{response.status_code} with content-type {response.headers.get('content-type')}"
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} whose body is not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict):
        return f"{response.status_code} whose body is not an object: {response.text[:200]!r}"
    if not set(body) <= ENVELOPE_KEYS or not {"error", "message", "request_id"} <= set(body):
        return f"{response.status_code} body keys {sorted(body)} are not the envelope's"
    if not (isinstance(body["error"], str) and isinstance(body["message"], str)):
        return f"{response.status_code} envelope with non-string error or message"
    if "details" in body and not isinstance(body["details"], dict):
        return f"{response.status_code} envelope whose details is not an object"
    # an Idempotency-Key replay too: it is the first response, body and X-Request-Id both
    # (API-2.md, clarifications of part 1)
    if body["request_id"] != response.headers.get("x-request-id"):
        return f"{response.status_code} envelope request_id differs from X-Request-Id"
    return None


def _prepared(case: Case, auth: dict[str, str], key_prefix: str) -> Any:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=auth)
    headers = kwargs.get("headers") or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str):
            headers[name] = f"{key_prefix}{headers[name]}"
    allowed = {"method", "url", "headers", "files", "data", "params", "json", "cookies"}
    return requests.Request(**{k: v for k, v in kwargs.items() if k in allowed}).prepare()


# body fields that name a resource: (field, kind of id in `known`)
BODY_IDS = {"to": "phone", "phone": "phone", "tenant_id": "tenant_id"}


def _substitute(
    case: Case,
    data: st.DataObject,
    known: dict[str, list[str]],
    query_names: list[str],
) -> None:
    """Swap generated ids for real ones, most of the time, so cases get past the 404s and the
    invalid_phone 400s to the code behind them."""

    def real(kind: str) -> bool:
        return bool(known.get(kind)) and data.draw(st.integers(0, 3), label=f"keep {kind}") > 0

    if case.path_parameters:
        for name in list(case.path_parameters):
            if real(name):
                case.path_parameters[name] = data.draw(st.sampled_from(known[name]), label=name)
    query = dict(case.query or {})
    for name in query_names:  # the optional ones too: a platform key must name the tenant
        if real(name):
            query[name] = data.draw(st.sampled_from(known[name]), label=name)
    if query:
        case.query = query
    body = case.body
    if isinstance(body, dict):
        items = body.get("items")
        targets = (
            [body, *(item for item in items if isinstance(item, dict))]
            if isinstance(items, list)
            else [body]
        )
        for target in targets:
            for name, kind in BODY_IDS.items():
                if name in target and real(kind):
                    target[name] = data.draw(st.sampled_from(known[kind]), label=name)


WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _complete_week(case: Case, data: st.DataObject) -> None:
    """A calling policy must name every day with an ordered window, which random generation
    almost never does: half of the time, complete and order the generated week."""
    windows = case.body.get("windows") if isinstance(case.body, dict) else None
    if not isinstance(windows, dict) or not data.draw(st.booleans(), label="complete week"):
        return
    for day in WEEK:
        window = windows.get(day)
        if isinstance(window, list) and len(window) == 2 and window[0] != window[1]:
            clocks = cast("list[str]", window)  # a positive case's window: two clock strings
            windows[day] = [*sorted(clocks)]
        else:
            windows[day] = None


def fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    seed: int,
    send: Send,
    auth: dict[str, str],
    known: dict[str, list[str]],
    run_token: str,
    report: Report,
) -> None:
    label = operation.label
    query_names = [p.name for p in operation.query]
    counter = itertools.count()

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.seed(seed)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Case, data: st.DataObject) -> None:
        if mode is GenerationMode.POSITIVE:
            _substitute(case, data, known, query_names)
            _complete_week(case, data)
        # Idempotency claims commit on their own connection (outside the test's transaction):
        # this run's keys are kept apart from every other test's, and mostly one per case (so
        # that few cases end as 409 idempotency_key_reused), sometimes shared (replays, 409s)
        shared = data.draw(st.integers(0, 3), label="shared idempotency key") == 0
        key_prefix = f"fuzz-{run_token}-" + ("" if shared else f"{next(counter)}-")
        try:
            prepared = _prepared(case, auth, key_prefix)
        except Exception:
            report.unsendable += 1
            return
        try:
            response = send(prepared)
        except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeError):
            report.unsendable += 1
            return
        report.sent += 1
        report.statuses[(label, response.status_code)] += 1
        problems = []
        if (problem := envelope_problem(response)) is not None:
            problems.append(f"not the error envelope: {problem}")
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except FailureGroup as group:
            problems += [f"{failure.title}: {failure.message}" for failure in group.exceptions]
        if problems:
            reproduce = case.as_curl_command(headers=auth, base_url=BASE_URL)
            for problem in problems:
                report.add(label, problem, reproduce)

    try:
        run()
    except (hypothesis.errors.Unsatisfiable, schemathesis.errors.SerializationNotPossible) as exc:
        report.not_generated.append(f"{label} {mode.value}: {type(exc).__name__}")


def _operation(result: Ok[Operation] | Err[InvalidSchema]) -> Operation:
    """The operation, or the reason the schema could not give it, raised."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


def _ascii(value: str | bytes) -> bytes:
    """A header name or value as httpx itself encodes one (str as ASCII, bytes as they are)."""
    return value if isinstance(value, bytes) else value.encode("ascii")


def fuzz_schema(
    schema_document: dict[str, Any],
    send: Send,
    auth: dict[str, str],
    known: dict[str, list[str]],
    run_token: str,
) -> Report:
    schema = schemathesis.openapi.from_dict(schema_document)
    report = Report()
    # deletions last: a deleted list or a revoked key would turn every later case into a 404
    operations = sorted(
        (_operation(result) for result in schema.get_all_operations()),
        key=lambda operation: operation.method.upper() == "DELETE",
    )
    for index, operation in enumerate(operations):
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_PER_OPERATION),
            (GenerationMode.NEGATIVE, NEGATIVE_PER_OPERATION),
        ):
            seed = SEED + 2 * index + (mode is GenerationMode.NEGATIVE)
            fuzz_operation(operation, mode, examples, seed, send, auth, known, run_token, report)
    return report


async def seed_resources(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, list[str]]:
    """Real resources of every kind a path or query names, made by the admin for one tenant."""
    tenant = await create_tenant(client, admin)
    key_id, _ = await create_key(client, admin, tenant_id=tenant)
    # before the uploads: they run in the background on the test's one connection
    webhook = await client.post(
        f"/v1/webhooks?tenant_id={tenant}",
        json={"url": "https://hooks.example.com/fuzzed", "events": ["optout.recorded"]},
        headers=admin,
    )
    assert webhook.status_code == 201, webhook.text
    made = await client.post(
        f"/v1/dnc/lists?tenant_id={tenant}", json={"name": "fuzzed"}, headers=admin
    )
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]
    global_list = await client.post(
        "/v1/dnc/lists", json={"name": "fuzzed global", "scope": "global"}, headers=admin
    )
    assert global_list.status_code == 201, global_list.text
    put = await client.put(f"/v1/dnc/lists/{list_id}/numbers/{PHONE}", headers=admin)
    assert put.status_code == 201, put.text
    csv = {**admin, "content-type": "text/csv"}
    upload = await client.post(
        f"/v1/dnc/lists/{list_id}/uploads", content=b"2125552671\n", headers=csv
    )
    assert upload.status_code == 202, upload.text
    optout = await client.post(
        f"/v1/opt-outs?tenant_id={tenant}", json={"phone": PHONE}, headers=admin
    )
    assert optout.status_code == 201, optout.text
    optout_upload = await client.post(
        f"/v1/opt-outs/uploads?tenant_id={tenant}", content=b"2125552671\n", headers=csv
    )
    assert optout_upload.status_code == 202, optout_upload.text
    consent = await client.post(
        f"/v1/consents?tenant_id={tenant}",
        json={"phone": PHONE, "basis": "ebr_inquiry", "obtained_at": "2026-01-05T10:00:00Z"},
        headers=admin,
    )
    assert consent.status_code == 201, consent.text
    consent_upload = await client.post(
        f"/v1/consents/uploads?tenant_id={tenant}",
        content=b"phone,basis,obtained_at\n2125552671,ebr_transaction,2026-01-05T10:00:00Z\n",
        headers=csv,
    )
    assert consent_upload.status_code == 202, consent_upload.text
    check = await client.post(f"/v1/checks?tenant_id={tenant}", json={"to": PHONE}, headers=admin)
    check_body = check.json()
    check_id = check_body.get("check_id") or check_body["details"]["check_id"]
    ban = await client.post(
        "/v1/calling-rules/bans",
        json={
            "jurisdiction": "US-LA",
            "starts_at": "2090-01-01T00:00:00Z",
            "ends_at": "2090-01-02T00:00:00Z",
            "reason": "fuzzed",
        },
        headers=admin,
    )
    assert ban.status_code == 201, ban.text
    return {
        "tenant_id": [tenant],
        "key_id": [key_id],
        "list_id": [list_id, global_list.json()["id"]],
        "phone": [PHONE, "+12125552671"],
        "upload_id": [
            upload.json()["id"],
            optout_upload.json()["id"],
            consent_upload.json()["id"],
        ],
        "consent_id": [consent.json()["id"]],
        "check_id": [check_id],
        "ban_id": [ban.json()["id"]],
        "webhook_id": [webhook.json()["id"]],
        "npa": ["415", "212", "800"],
        "api_key_id": [key_id],
    }


def summary(report: Report, elapsed: float) -> str:
    lines = [f"{report.sent} requests in {elapsed:.1f} s ({report.unsendable} not sendable)"]
    by_operation: dict[str, list[str]] = {}
    for (label, status), count in sorted(report.statuses.items()):
        by_operation.setdefault(label, []).append(f"{status}x{count}")
    lines += [f"  {label}: {' '.join(seen)}" for label, seen in by_operation.items()]
    lines += [f"  not generated: {item}" for item in report.not_generated]
    return "\n".join(lines)


def describe(findings: Iterable[Finding]) -> str:
    return "\n\n".join(
        f"== {f.operation}\n{f.problem.strip()[:2000]}\nreproduce: {f.reproduce}" for f in findings
    )


async def test_every_operation_answers_as_documented(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    engine: AsyncEngine,
) -> None:
    served = await client.get("/openapi.json")  # the document as clients read it, unmodified
    assert served.status_code == 200, served.text
    document = served.json()
    operations = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    known = await seed_resources(client, admin)
    await app.state.uploads.wait()
    loop = asyncio.get_running_loop()
    run_token = secrets.token_hex(4)

    def send(prepared: requests.PreparedRequest) -> httpx.Response:
        body = prepared.body  # prepared from data, json or files: never a stream here
        assert body is None or isinstance(body, (bytes, str)), type(body)
        request = client.request(
            prepared.method or "GET",
            prepared.url or "/",
            headers=[(_ascii(k), _ascii(v)) for k, v in prepared.headers.items()],
            content=body,
        )
        return asyncio.run_coroutine_threadsafe(request, loop).result(timeout=60)

    started = time.monotonic()
    try:
        report = await asyncio.to_thread(fuzz_schema, document, send, admin, known, run_token)
    finally:
        await app.state.uploads.wait()
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM idempotency_records WHERE key LIKE :prefix"),
                {"prefix": f"fuzz-{run_token}-%"},
            )
    elapsed = time.monotonic() - started
    print(summary(report, elapsed))
    reached = {tuple(label.split(" ", 1)) for label, _ in report.statuses}
    assert reached == operations, f"never reached: {sorted(operations - reached)}"
    # at most the cases of every operation (the bound grows with the routes)
    most = len(operations) * (POSITIVE_PER_OPERATION + NEGATIVE_PER_OPERATION)
    assert 1500 <= report.sent <= most, summary(report, elapsed)
    assert report.unsendable <= report.sent // 20, summary(report, elapsed)
    assert not report.findings, describe(report.findings.values())
