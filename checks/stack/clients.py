"""Small clients the providers and checks share: Celery control, Redis, HTTP."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

_APPS: dict[str, Any] = {}


def celery_app(broker_url: str):
    """A Celery client on one Redis database, cached per URL.

    It has no result backend on purpose: an AsyncResult of a Redis backend
    subscribes to pub/sub and outlives the stack in garbage collection;
    `wait_result` reads the worker's stored result key instead.
    """
    if broker_url not in _APPS:
        from celery import Celery

        app = Celery("umgebungsmatrix-check", broker=broker_url)
        app.conf.update(broker_connection_retry_on_startup=True, broker_connection_max_retries=3)
        _APPS[broker_url] = app
    return _APPS[broker_url]


RESULT_KEY = "celery-task-meta-{}"  # where Celery's Redis backend stores a task's result


def wait_result(broker_url: str, task_id: str, timeout: float) -> dict | None:
    """The stored result document of a task, or None after `timeout` seconds."""
    import json
    import time

    r = redis_client(broker_url)
    deadline = time.monotonic() + timeout
    while True:
        raw = r.get(RESULT_KEY.format(task_id))
        if raw is not None:
            return json.loads(raw)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


def close_clients() -> None:
    """Close all cached clients (their Redis connections)."""
    for app in _APPS.values():
        try:
            app.close()
        except Exception:
            pass
    _APPS.clear()


def ping(broker_url: str, node: str, timeout: float = 0.25) -> bool:
    try:
        return bool(celery_app(broker_url).control.ping(destination=[node], timeout=timeout))
    except Exception:
        return False


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=1)


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None
