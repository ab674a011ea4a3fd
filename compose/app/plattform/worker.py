"""Celery app of the worker: `celery -A plattform.worker worker --queues ...`.

The queues a worker consumes come from the command line (rendered from the
matrix). A task sent without an explicit queue (e.g. scheduled by beat) goes
to the matrix's standard queue, never to Celery's own default "celery",
which no worker consumes. This module also holds the probe task of the stack checks.
"""

from __future__ import annotations

import os
import socket

from celery import Celery

from . import fakten

_broker = os.environ.get(fakten.REDIS_URL_ENV, "")
app = Celery("plattform", broker=_broker, backend=_broker)
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    result_expires=3600,
    task_default_queue=fakten.DEFAULT_QUEUE,
)


@app.task(name="plattform.probe", bind=True)
def probe(self, token: str = "") -> dict:
    """Round-trip probe: answer which queue delivered the message, and where."""
    info = self.request.delivery_info or {}
    return {
        "queue": info.get("routing_key"),
        "worker": self.request.hostname or socket.gethostname(),
        "token": token,
    }
