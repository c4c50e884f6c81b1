"""Alarms out through notifiers, against a real database (SQLite and PostgreSQL) and a local
HTTP receiver: each format arrives in its shape with a valid signature; a receiver that is
down gets the alert when it is back (nothing lost, no second copy once delivered); quiet hours
hold and release; routing; two workers never send one delivery at once; a station offline
too long raises its alarm. The worker runs turn by turn on a clock the test sets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.alarms.models import Alarm
from server.alarms.repo import raise_alarm
from server.alerts import repo
from server.alerts.models import AlertDelivery, NotifierWrite
from server.alerts.rules import Backoff
from server.alerts.worker import DeliveryWorker
from server.core.db import session_scope
from server.core.localtime import LOCAL_TZ
from server.events.effects import apply_effects
from server.events.models import EventRecord
from server.jobs.station_jobs import run_station_jobs
from server.stations.models import Station
from tests.support.receiver import Receiver

SECRET = "SECtest-secret-0123456789"
# 2025-10-01 10:00 in Shanghai.
T0 = datetime(2025, 10, 1, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


@pytest.fixture
def engine(engine: Engine) -> Engine:
    """The shared database fixture (tests/conftest.py), with two stations."""
    with session_scope(engine) as session:
        for station_id in ("sz-001", "gz-001"):
            session.add(Station(id=station_id, name=f"驿站 {station_id}", capacity=10))
        session.commit()
    return engine


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.start()
    yield made
    made.stop()


def _notifier(engine: Engine, **fields: object) -> int:
    with session_scope(engine) as session:
        notifier = repo.new_notifier(session, NotifierWrite.model_validate(fields), now=T0)
        session.commit()
        assert notifier.id is not None
        return notifier.id


def _alarm(engine: Engine, station_id: str, kind: str, at: datetime = T0) -> int:
    with session_scope(engine) as session:
        alarm = raise_alarm(session, station_id=station_id, kind=kind, at=at, detail="d")
        session.commit()
        assert alarm.id is not None
        return alarm.id


def _worker(engine: Engine, clock: Clock, **kw: object) -> DeliveryWorker:
    backoff = Backoff(base_s=10, cap_s=60, max_age=timedelta(hours=1))
    return DeliveryWorker(engine, public_url="https://ws.example.cn", backoff=backoff,
                          clock=clock, jitter=lambda: 0.0, timeout_s=2, **kw)  # type: ignore[arg-type]  # fmt: skip


def _deliveries(engine: Engine) -> list[AlertDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(AlertDelivery).order_by(AlertDelivery.id)))  # type: ignore[arg-type]


def test_every_format_arrives_in_its_shape_and_signed(engine: Engine, receiver: Receiver) -> None:
    for fmt in ("webhook", "wecom", "dingtalk", "feishu"):
        _notifier(engine, name=fmt, format=fmt, url=receiver.url(f"/{fmt}?key=k"), secret=SECRET)
    _notifier(engine, name="sms", format="sms", url=receiver.url("/sms"), secret=SECRET,
              recipients=["+8613800000000"])  # fmt: skip
    alarm_id = _alarm(engine, "sz-001", "held_open")
    worker = _worker(engine, Clock(T0))
    assert worker.deliver_due() == 5
    assert worker.delivered == 5

    (hook,) = receiver.at("/webhook")
    stamp = hook.headers["X-WarmStation-Timestamp"]
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + hook.body, hashlib.sha256)
    assert hook.headers["X-WarmStation-Signature"] == "sha256=" + mac.hexdigest()
    document = json.loads(hook.body)
    assert document["alarm_id"] == alarm_id
    assert document["idempotency_key"] == hook.headers["Idempotency-Key"]
    assert document["station_name"] == "驿站 sz-001"
    assert "门长时间未关" in document["title"]  # Chinese by default
    assert "2025-10-01 10:00:00" in document["text"]  # local time
    assert document["link"] == "https://ws.example.cn/stations/sz-001"

    (wecom,) = receiver.at("/wecom")
    assert json.loads(wecom.body)["msgtype"] == "markdown"

    (ding,) = receiver.at("/dingtalk")
    stamp_ms = ding.query["timestamp"][0]
    mac = hmac.new(SECRET.encode(), f"{stamp_ms}\n{SECRET}".encode(), hashlib.sha256)
    assert ding.query["sign"] == [base64.b64encode(mac.digest()).decode()]
    assert json.loads(ding.body)["markdown"]["title"]

    (feishu,) = receiver.at("/feishu")
    body = json.loads(feishu.body)
    key = f"{body['timestamp']}\n{SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "text"

    (sms,) = receiver.at("/sms")
    assert json.loads(sms.body)["to"] == ["+8613800000000"]
    assert all(d.done and d.delivered_at is not None for d in _deliveries(engine))
    assert worker.deliver_due() == 0  # nothing twice


def test_a_receiver_that_is_down_gets_the_alert_when_it_is_back(
    engine: Engine, receiver: Receiver
) -> None:
    _notifier(engine, name="hook", format="webhook", url=receiver.url("/h"), secret=SECRET)
    receiver.stop()
    alarm_id = _alarm(engine, "sz-001", "forced_open")
    clock = Clock(T0)
    worker = _worker(engine, clock)
    assert worker.deliver_due() == 1
    (pending,) = _deliveries(engine)
    assert not pending.done
    assert pending.attempts == 1
    assert pending.last_error
    assert worker.deliver_due() == 0  # not before its backoff
    clock.at = T0 + timedelta(seconds=30)
    assert worker.deliver_due() == 1  # still down: a second try, later again
    assert _deliveries(engine)[0].attempts == 2

    receiver.start()
    clock.at = T0 + timedelta(minutes=5)
    assert worker.deliver_due() == 1
    (sent,) = receiver.received
    assert json.loads(sent.body)["alarm_id"] == alarm_id
    clock.at = T0 + timedelta(hours=2)
    assert worker.deliver_due() == 0
    assert len(receiver.received) == 1
    assert worker.delivered == 1
    assert worker.retried == 2


def test_a_robot_error_is_retried_and_a_delivery_too_old_is_given_up(
    engine: Engine, receiver: Receiver
) -> None:
    _notifier(engine, name="ding", format="dingtalk", url=receiver.url("/d"), secret=SECRET)
    receiver.answer = b'{"errcode":310000,"errmsg":"sign not match"}'
    _alarm(engine, "sz-001", "camera_tamper")
    clock = Clock(T0)
    worker = _worker(engine, clock)
    worker.deliver_due()
    assert worker.retried == 1
    assert "310000" in _deliveries(engine)[0].last_error
    clock.at = T0 + timedelta(hours=1, seconds=1)
    worker.deliver_due()
    (given_up,) = _deliveries(engine)
    assert given_up.done
    assert given_up.failed_at is not None
    assert given_up.delivered_at is None
    assert worker.failed == 1


def test_quiet_hours_hold_non_urgent_alarms_until_they_end(
    engine: Engine, receiver: Receiver
) -> None:
    _notifier(engine, name="night", format="wecom", url=receiver.url("/q"),
              quiet_from="09:00", quiet_until="12:00")  # fmt: skip
    welfare_id = _alarm(engine, "sz-001", "welfare")
    forced_id = _alarm(engine, "sz-001", "forced_open")
    clock = Clock(T0)
    worker = _worker(engine, clock)
    assert worker.deliver_due() == 1  # the forced door goes at once
    assert "sz-001" in json.loads(receiver.received[0].body)["markdown"]["content"]
    held = [d for d in _deliveries(engine) if d.alarm_id == welfare_id]
    assert not held[0].done
    clock.at = datetime(2025, 10, 1, 11, 59, tzinfo=LOCAL_TZ).astimezone(UTC)
    assert worker.deliver_due() == 0
    clock.at = datetime(2025, 10, 1, 12, 0, tzinfo=LOCAL_TZ).astimezone(UTC)
    assert worker.deliver_due() == 1
    assert len(receiver.received) == 2
    assert {d.alarm_id for d in _deliveries(engine) if d.done} == {welfare_id, forced_id}


def test_routing_by_station_prefix_and_kind(engine: Engine, receiver: Receiver) -> None:
    _notifier(engine, name="shenzhen", format="webhook", url=receiver.url("/sz"), stations=["sz-*"])
    _notifier(engine, name="forced", format="webhook", url=receiver.url("/f"),
              kinds=["forced_open"])  # fmt: skip
    _notifier(engine, name="off", format="webhook", url=receiver.url("/off"), enabled=False)
    _alarm(engine, "gz-001", "held_open")  # nobody
    _alarm(engine, "sz-001", "held_open")  # shenzhen
    _alarm(engine, "gz-001", "forced_open")  # forced
    _worker(engine, Clock(T0)).deliver_due()
    assert [json.loads(r.body)["station_id"] for r in receiver.at("/sz")] == ["sz-001"]
    assert [json.loads(r.body)["station_id"] for r in receiver.at("/f")] == ["gz-001"]
    assert receiver.at("/off") == []


def test_two_workers_never_hold_one_delivery(engine: Engine, receiver: Receiver) -> None:
    _notifier(engine, name="hook", format="webhook", url=receiver.url("/h"))
    _alarm(engine, "sz-001", "held_open")
    with session_scope(engine) as session:
        first = repo.claim_due(session, worker="a", now=T0, lease=timedelta(seconds=30))
    with session_scope(engine) as session:
        second = repo.claim_due(session, worker="b", now=T0, lease=timedelta(seconds=30))
    assert len(first) == 1
    assert second == []
    # The holder died: after its claim runs out another worker takes the row.
    with session_scope(engine) as session:
        later = repo.claim_due(session, worker="b", now=T0 + timedelta(seconds=31),
                               lease=timedelta(seconds=30))  # fmt: skip
        assert len(later) == 1
        # ... and the first one's late outcome is not recorded over it.
        assert not repo.mark_delivered(session, delivery_id=later[0].delivery.id or 0,
                                       worker="a", now=T0)  # fmt: skip


def test_a_door_alarm_from_a_stored_event_is_queued_with_it(
    engine: Engine, receiver: Receiver
) -> None:
    _notifier(engine, name="hook", format="feishu", url=receiver.url("/f"))
    with session_scope(engine) as session:
        station = session.get(Station, "sz-001")
        assert station is not None
        event = EventRecord(event_id="e1", station_id="sz-001", epoch="x", seq=1,
                            kind="alarm_raised", alarm="forced_open", occurred_at=T0,
                            received_at=T0, detail="no unlock")  # fmt: skip
        session.add(event)
        apply_effects(session, station, event)
        session.commit()
    (queued,) = _deliveries(engine)
    _worker(engine, Clock(T0)).deliver_due()
    assert "门被强行打开" in json.loads(receiver.received[0].body)["content"]["text"]
    assert queued.alarm_id == _only_alarm(engine).id


def _only_alarm(engine: Engine) -> Alarm:
    with Session(engine) as session:
        (alarm,) = session.exec(select(Alarm))
        return alarm


def test_a_station_offline_too_long_raises_one_alarm_and_clears_it(
    engine: Engine, receiver: Receiver
) -> None:
    _notifier(engine, name="hook", format="webhook", url=receiver.url("/h"))
    with session_scope(engine) as session:
        station = session.get(Station, "sz-001")
        assert station is not None
        station.online, station.online_changed_at = False, T0
        station.offline_reason = "heartbeat_missed"
        session.add(station)
        session.commit()
    for minutes in (5, 10, 15):
        with session_scope(engine) as session:
            run_station_jobs(session, now=T0 + timedelta(minutes=minutes),
                             offline_after=timedelta(minutes=10))  # fmt: skip
    alarm = _only_alarm(engine)
    assert alarm.kind == "station_offline"
    assert alarm.cleared_at is None
    assert "heartbeat_missed" in alarm.detail
    _worker(engine, Clock(T0 + timedelta(minutes=15))).deliver_due()
    assert json.loads(receiver.received[0].body)["kind"] == "station_offline"

    with session_scope(engine) as session:
        station = session.get(Station, "sz-001")
        assert station is not None
        station.online, station.online_changed_at = True, T0 + timedelta(minutes=20)
        session.add(station)
        session.commit()
        run_station_jobs(session, now=T0 + timedelta(minutes=21))
    assert _only_alarm(engine).cleared_at is not None
