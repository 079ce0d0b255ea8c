"""The OpenAPI document, built once for the folder (an app that is never started: building the
document touches no database)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.openapi.document import Document


@pytest.fixture(scope="session")
def unstarted_app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="session")
def document(unstarted_app: FastAPI) -> Document:
    return unstarted_app.openapi()
