"""Mounts every feature router under /v1, all behind the one authentication dependency, names
what each kind of upload merges into (the features that own those tables say how), and names
the operations whose endpoint names read badly as operationIds."""

from fastapi import APIRouter, Depends

from app.areacodes.router import router as areacodes_router
from app.audit.router import router as audit_router
from app.auth.dependencies import authenticate
from app.auth.router import router as auth_router
from app.callingrules.router import router as callingrules_router
from app.checks.router import router as checks_router
from app.dnc import uploads as dnc_uploads
from app.dnc.router import router as dnc_router
from app.history.router import router as history_router
from app.optouts import uploads as optout_uploads
from app.optouts.router import router as optouts_router
from app.uploads.importer import Targets

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
    "delete_list": "deleteDncList",
    "put_number": "addDncNumber",
    "get_number": "getDncNumber",
    "delete_number": "removeDncNumber",
    "list_numbers": "listDncNumbers",
    "lookup_number": "lookupDncNumber",
    "upload_numbers": "uploadDncNumbers",
    "get_upload": "getDncUpload",
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
    v1.include_router(audit_router)
    v1.include_router(history_router)
    return v1


def upload_targets() -> Targets:
    return {"dnc": dnc_uploads.target, "optout": optout_uploads.target}
