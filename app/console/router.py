"""/console: the compliance console's static files (API-2.md section 19), under a strict
Content-Security-Policy. The console calls the public /v1 API like any client; nothing here
reads the database or needs a key."""

from __future__ import annotations

from pathlib import Path

from fastapi import Response
from starlette.responses import FileResponse

from app.core.errors import NotFound
from app.core.routing import make_router

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Scripts, styles, images and fetches from this origin only; no inline script or style, no eval,
# no plugin, no <base>, forms post here only, and no page may frame the console (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    # revalidated on every load (ETag), so a new release's files are never mixed with old ones
    "Cache-Control": "no-cache",
}


def _assets(root: Path) -> dict[str, tuple[Path, str]]:
    """Every file the console may serve, by its path under /console/: the files of the types
    above, nothing else (no READMEs, licences or VERSION files, no path outside `root`)."""
    found = {}
    for path in sorted(root.rglob("*")):
        media_type = CONTENT_TYPES.get(path.suffix)
        if path.is_file() and media_type and not path.name.startswith("."):
            found[path.relative_to(root).as_posix()] = (path, media_type)
    return found


ASSETS = _assets(STATIC_DIR)
INDEX = "index.html"

router = make_router(include_in_schema=False)


def _serve(name: str) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        raise NotFound("There is no such page or file in the console.")
    path, media_type = asset
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)


@router.api_route("/console", methods=["GET", "HEAD"])
@router.api_route("/console/", methods=["GET", "HEAD"])
async def console() -> Response:
    """The console's single page."""
    return _serve(INDEX)


@router.api_route("/console/{name:path}", methods=["GET", "HEAD"])
async def console_file(name: str) -> Response:
    """One of the console's static files (scripts, styles, the icon, the vendored libraries)."""
    return _serve(name)
