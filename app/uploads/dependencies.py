"""This process's upload runner (on app.state by create_app): its accessor and route alias."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI

from app.core.dependencies import from_app
from app.uploads.runner import UploadRunner as UploadRunner  # its type, for services


def upload_runner_of(app: FastAPI) -> UploadRunner:
    runner: UploadRunner = app.state.uploads
    return runner


UploadRunnerDep = Annotated[UploadRunner, Depends(from_app(upload_runner_of))]
