"""/docs is served from the package: no CDN or other outside host, every miss the 404 envelope."""

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import httpx
import pytest

from app.core.openapi import DOCS_STATIC, SWAGGER_UI_ASSETS, SWAGGER_UI_DIR
from tests.envelope import assert_envelope

ROOT = Path(__file__).resolve().parents[2]


def _references(html: str) -> list[str]:
    """Every URL the page loads or links to: src/href attributes and Swagger UI's spec url."""
    return re.findall(r'(?:src|href)="([^"]*)"', html) + re.findall(r"url: '([^']*)'", html)


async def test_docs_page_loads_only_same_origin_urls(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "SwaggerUIBundle" in html
    # no scheme URL at all (http, https, protocol-relative): nothing from an outside host
    assert "http:" not in html
    assert "https:" not in html
    assert "//" not in re.sub(r"<!--.*?-->", "", html, flags=re.S)
    assert sorted(_references(html)) == sorted(
        [f"{DOCS_STATIC}/{name}" for name in SWAGGER_UI_ASSETS] + ["/openapi.json"]
    )
    # the online validator badge (an image from validator.swagger.io) is off
    assert '"validatorUrl": null' in html


async def test_every_url_the_page_references_is_served(client: httpx.AsyncClient) -> None:
    html = (await client.get("/docs")).text
    for url in _references(html):
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        assert (await client.get(url)).status_code == 200, url


@pytest.mark.parametrize(
    ("name", "content_type", "min_bytes"),
    [
        ("swagger-ui-bundle.js", "text/javascript", 500_000),
        ("swagger-ui.css", "text/css", 50_000),
        ("favicon-32x32.png", "image/png", 100),
    ],
)
async def test_swagger_ui_files_are_served(
    client: httpx.AsyncClient, name: str, content_type: str, min_bytes: int
) -> None:
    response = await client.get(f"{DOCS_STATIC}/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.content) >= min_bytes
    assert response.content == (SWAGGER_UI_DIR / name).read_bytes()
    head = await client.head(f"{DOCS_STATIC}/{name}")
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(response.content)


async def test_the_bundle_is_swagger_ui(client: httpx.AsyncClient) -> None:
    script = (await client.get(f"{DOCS_STATIC}/swagger-ui-bundle.js")).text
    assert "SwaggerUIBundle" in script
    assert ".swagger-ui" in (await client.get(f"{DOCS_STATIC}/swagger-ui.css")).text


@pytest.mark.parametrize(
    "path",
    [
        f"{DOCS_STATIC}/missing.js",
        f"{DOCS_STATIC}/",
        f"{DOCS_STATIC}",
        f"{DOCS_STATIC}/swagger-ui.css.map",
        f"{DOCS_STATIC}/VERSION",
        f"{DOCS_STATIC}/sub/swagger-ui.css",
        f"{DOCS_STATIC}/%2e%2e/openapi.py",
        f"{DOCS_STATIC}/..%2f..%2fcore%2fopenapi.py",
        "/docs/",
        "/docs/oauth2-redirect",  # no OAuth2 flow in this API: not served
        "/redoc",  # removed: FastAPI's ReDoc page loads from a CDN
    ],
)
async def test_other_docs_paths_are_the_404_envelope(client: httpx.AsyncClient, path: str) -> None:
    body = assert_envelope(await client.get(path), 404, "not_found")
    assert body["message"].startswith("No route matches GET ")


async def test_docs_files_refuse_other_methods_with_the_envelope(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(f"{DOCS_STATIC}/swagger-ui.css")
    assert_envelope(response, 405, "method_not_allowed")


async def test_missing_docs_files_share_the_unmatched_metric_label(
    client: httpx.AsyncClient,
) -> None:
    await client.get(f"{DOCS_STATIC}/scanner-{id(client)}.js")
    metrics = (await client.get("/metrics")).text
    assert f"scanner-{id(client)}" not in metrics
    assert 'route="<unmatched>",status="404"' in metrics


async def test_openapi_route_still_works_and_omits_the_docs(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "callguard"
    assert "/healthz" in schema["paths"]
    assert not [path for path in schema["paths"] if path.startswith(("/docs", "/redoc"))]


def test_served_files_are_package_data() -> None:
    """pyproject.toml ships every served file (and the licences) in a wheel, not only in -e."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["app"]
    package = ROOT / "app"
    for name in [*SWAGGER_UI_ASSETS, "LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"]:
        file = SWAGGER_UI_DIR / name
        assert file.is_file(), file
        relative = file.relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative
