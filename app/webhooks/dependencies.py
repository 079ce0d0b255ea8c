"""The process's delivery worker, reached through its accessor (app.state.webhooks)."""

from typing import Annotated

from fastapi import Depends, FastAPI

from app.core.dependencies import from_app
from app.webhooks.tasks import DeliveryWorker


def delivery_worker_of(app: FastAPI) -> DeliveryWorker:
    worker: DeliveryWorker = app.state.webhooks
    return worker


DeliveryWorkerDep = Annotated[DeliveryWorker, Depends(from_app(delivery_worker_of))]
