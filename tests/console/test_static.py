"""The console's files as HTTP serves them: headers, content types, the 404 envelope."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app.console.router import ASSETS, CONTENT_SECURITY_POLICY, STATIC_DIR
from tests.envelope import assert_envelope

BANNED = ("innerHTML", "outerHTML", "dangerouslySetInnerHTML", "eval(", "new Function")


@pytest.mark.parametrize("path", ["/console", "/console/"])
async def test_the_page_is_served_without_a_key_under_a_strict_policy(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert '<script type="module" src="/console/app.js"></script>' in response.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/pages/overview.js", "text/javascript; charset=utf-8"),
        ("/console/vendor/preact/hooks.mjs", "text/javascript; charset=utf-8"),
        ("/console/vendor/uplot/uPlot.esm.js", "text/javascript; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
        ("/console/vendor/uplot/uPlot.min.css", "text/css; charset=utf-8"),
        ("/console/icon.svg", "image/svg+xml"),
    ],
)
async def test_assets_have_their_content_types_and_the_policy(
    client: httpx.AsyncClient, path: str, content_type: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "path",
    [
        "/console/nothing.js",
        "/console/vendor/preact/LICENSE",
        "/console/vendor/README.md",
        "/console/%2e%2e/router.py",
        "/console/..%2f..%2fmain.py",
        "/consoles",
    ],
)
async def test_anything_else_under_console_is_the_404_envelope(
    client: httpx.AsyncClient, path: str
) -> None:
    assert_envelope(await client.get(path), 404, "not_found")


async def test_only_get_and_head_are_allowed(client: httpx.AsyncClient) -> None:
    assert (await client.head("/console")).status_code == 200
    assert_envelope(await client.post("/console", json={}), 405, "method_not_allowed")


def test_served_files_are_only_the_console_s_own() -> None:
    assert "index.html" in ASSETS
    assert all(not name.endswith((".md", "LICENSE", "VERSION")) for name in ASSETS)
    assert all(path.is_relative_to(STATIC_DIR) for path, _ in ASSETS.values())


def test_no_inline_script_style_eval_or_html_injection_in_the_console_s_code() -> None:
    index = (STATIC_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", index)  # every script is a file
    assert "<style" not in index
    assert " style=" not in index
    assert not re.search(r"\bon[a-z]+=", index)
    ours = [p for p in STATIC_DIR.rglob("*.js") if "vendor" not in p.parts]
    assert len(ours) >= 6
    for path in ours:
        code = path.read_text()
        for banned in BANNED:
            assert banned not in code, f"{path.name} uses {banned}"
        assert "localStorage" not in code, f"{path.name}: the key stays in sessionStorage only"


def test_vendored_libraries_are_pinned_with_their_licences() -> None:
    vendor = STATIC_DIR / "vendor"
    versions = {p.name: (p / "VERSION").read_text().strip() for p in vendor.iterdir() if p.is_dir()}
    assert set(versions) == {"preact", "htm", "uplot"}
    assert versions["preact"].startswith("11.")
    assert versions["htm"].startswith("3.")
    assert versions["uplot"].startswith("1.6.")
    for name in versions:
        assert (vendor / name / "LICENSE").read_text().strip()
    hooks = (vendor / "preact" / "hooks.mjs").read_text()
    assert 'from"./preact.mjs"' in hooks
    assert not re.search(r"""from\s*["']preact["']""", hooks)  # no bare import left


def test_the_wheel_takes_the_console_s_files() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    for pattern in ("*", "pages/*", "vendor/*/*"):
        assert f'"console/static/{pattern}"' in pyproject


def test_the_console_importing_a_feature_breaks_its_contract(tmp_path: Path) -> None:
    from tests.core.test_house_rules import _copy, _lint_imports

    tree = _copy(tmp_path)
    with (tree / "app/console/router.py").open("a", encoding="utf-8") as module:
        module.write("\nimport app.dnc.service  # a deliberate violation\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert "the console is static files: it imports nothing of the features" in result.stdout
