"""Celery app of the worker: `celery -A plattform.worker worker --queues ...`.

The queues come from the command line (rendered from the matrix); this
module only knows the broker and the probe task used by the stack checks.
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
