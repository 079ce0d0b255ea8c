"""Mounts every feature router under /v1, all behind the one authentication dependency, names
what each kind of upload merges into (the features that own those tables say how), and names
the operations whose endpoint names read badly as operationIds."""

from fastapi import APIRouter, Depends

from app.areacodes.router import router as areacodes_router
from app.attempts.router import router as attempts_router
from app.audit.router import router as audit_router
from app.auth.dependencies import authenticate
from app.auth.router import router as auth_router
from app.callingrules.router import router as callingrules_router
from app.checks.router import router as checks_router
from app.consents import uploads as consent_uploads
from app.consents.router import router as consents_router
from app.dnc import uploads as dnc_uploads
from app.dnc.router import router as dnc_router
from app.history.router import router as history_router
from app.optouts import uploads as optout_uploads
from app.optouts.router import router as optouts_router
from app.scrubs.router import router as scrubs_router
from app.uploads.importer import RowKinds, Targets
from app.webhooks.router import router as webhooks_router

# operationIds (what client generators name their functions after) are the endpoint names in
# camelCase (app.core.openapi.operation_ids); these are the endpoints whose bare name does not
# say what they do or on what. tests/openapi checks that every entry names a route.
OPERATION_IDS = {
    # checks
    "check": "createCheck",
    # auth
    "me": "getMe",
    # calling rules
    "calling_rules": "getCallingRules",
    "set_policy": "setCallingPolicy",
    "get_policy": "getCallingPolicy",
    # DNC lists
    "create_list": "createDncList",
    "list_lists": "listDncLists",
    "get_list": "getDncList",
    "update_list": "updateDncList",
    "delete_list": "deleteDncList",
    "put_number": "addDncNumber",
    "get_number": "getDncNumber",
    "delete_number": "removeDncNumber",
    "list_numbers": "listDncNumbers",
    "lookup_number": "lookupDncNumber",
    "upload_numbers": "uploadDncNumbers",
    "get_upload": "getDncUpload",
    "list_uploads": "listDncUploads",
    # opt-outs
    "opt_in": "deleteOptOut",
    # audit
    "list_checks": "listAuditChecks",
    "get_check": "getAuditCheck",
    "list_events": "listAuditEvents",
    "verify": "verifyAuditChain",
    "stats": "getAuditStats",
    # history
    "number_history": "getNumberHistory",
    # scrubs
    "create_scrub": "createScrub",
    "list_scrubs": "listScrubs",
    "get_scrub": "getScrub",
    "get_scrub_result": "getScrubResult",
    # operations
    "metrics": "getMetrics",
}


def api_router() -> APIRouter:
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)])
    # the hot path first: routes are matched in order
    v1.include_router(checks_router)
    v1.include_router(auth_router)
    v1.include_router(areacodes_router)
    v1.include_router(callingrules_router)
    v1.include_router(dnc_router)
    v1.include_router(optouts_router)
    v1.include_router(consents_router)
    v1.include_router(attempts_router)
    v1.include_router(audit_router)
    v1.include_router(history_router)
    v1.include_router(webhooks_router)
    v1.include_router(scrubs_router)
    return v1


def upload_targets() -> Targets:
    return {
        "dnc": dnc_uploads.target,
        "optout": optout_uploads.target,
        "consent": consent_uploads.target,
    }


def upload_row_kinds() -> RowKinds:
    """The upload kinds whose rows have several columns, and how each reads its rows."""
    return {"consent": consent_uploads.row_parser}
