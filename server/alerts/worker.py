"""The delivery worker: a thread that claims due deliveries and POSTs them with httpx.

Every server worker runs one; the claim in the database (``repo.claim_due``) makes sure a
delivery is being sent by one of them at a time. A delivery is at least once: a receiver
that took the message but whose answer was lost gets it again, with the same idempotency
key. A failure is retried with backoff until ``Backoff.max_age`` after the alarm, then the
delivery is marked failed, logged and counted (``failed``)."""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from server.alerts import repo
from server.alerts.formats import Format, Outbound, accepted, build
from server.alerts.message import AlarmFacts, compose
from server.alerts.rules import Backoff, given_up, retry_delay_s
from server.core.db import session_scope
from server.core.localtime import Clock, as_utc

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        *,
        public_url: str = "",
        backoff: Backoff | None = None,
        poll_s: float = 1.0,
        timeout_s: float = 10.0,
        clock: Clock = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._engine = engine
        self._public_url = public_url
        self._backoff = backoff or Backoff()
        self._poll_s = poll_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._jitter = jitter
        # A claim outlives the slowest attempt, so no other worker sends the row meanwhile.
        self._lease = timedelta(seconds=2 * timeout_s + 5)
        self.name = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.delivered = 0
        self.retried = 0
        self.failed = 0
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._timeout_s + 5)
        self._client.close()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _run(self) -> None:
        while not self._stopping.wait(self._poll_s):
            try:
                while self.deliver_due() and not self._stopping.is_set():
                    pass  # a full batch: there may be more due
            except Exception:
                log.exception("alert delivery failed; retrying")

    def deliver_due(self, limit: int = 20) -> int:
        """Claim and try every due delivery (up to ``limit``); how many were claimed."""
        now = self._now()
        with session_scope(self._engine) as session:
            batch = repo.claim_due(
                session, worker=self.name, now=now, lease=self._lease, limit=limit
            )
            for claimed in batch:
                self._attempt(session, claimed)
        return len(batch)

    def _attempt(self, session: Session, claimed: repo.Claimed) -> None:
        delivery, notifier, alarm = claimed.delivery, claimed.notifier, claimed.alarm
        assert delivery.id is not None
        assert notifier.id is not None
        assert alarm.id is not None
        facts = AlarmFacts(
            alarm.id,
            alarm.station_id,
            claimed.station_name,
            alarm.kind,
            as_utc(alarm.raised_at),
            alarm.detail,
        )
        message = compose(facts, language=notifier.language, public_url=self._public_url)
        fmt = Format(notifier.format)
        outbound = build(
            fmt,
            message,
            url=notifier.url,
            secret=notifier.secret,
            now_ms=int(self._clock() * 1000),
            notifier_id=notifier.id,
            recipients=tuple(json.loads(notifier.recipients)),
            template=notifier.template,
        )
        error = self._post(fmt, outbound)
        now = self._now()
        if error is None:
            repo.mark_delivered(session, delivery_id=delivery.id, worker=self.name, now=now)
            self.delivered += 1
            return
        if given_up(self._backoff, raised_at=as_utc(delivery.created_at), now=now):
            repo.mark_failed(
                session, delivery_id=delivery.id, worker=self.name, error=error, now=now
            )
            self.failed += 1
            log.error(
                "alarm %d to notifier %r given up after %d attempts: %s",
                alarm.id, notifier.name, delivery.attempts + 1, error,
            )  # fmt: skip
            return
        delay = retry_delay_s(self._backoff, attempts=delivery.attempts + 1, jitter=self._jitter())
        repo.mark_retry(
            session,
            delivery_id=delivery.id,
            worker=self.name,
            error=error,
            retry_at=now + timedelta(seconds=delay),
        )
        self.retried += 1
        log.warning(
            "alarm %d to notifier %r not delivered (%s); retrying in %.0f s",
            alarm.id, notifier.name, error, delay,
        )  # fmt: skip

    def _post(self, fmt: Format, outbound: Outbound) -> str | None:
        """None when delivered; else why not (never the URL: it may carry the robot's key)."""
        try:
            response = self._client.post(
                outbound.url, content=outbound.body, headers=outbound.headers
            )
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return accepted(fmt, response.status_code, response.content)
