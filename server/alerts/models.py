"""Alert notifiers (where alarms go) and the durable queue of deliveries; the API shapes.

A secret is write-only: stored for signing, never returned (``has_secret`` says whether one
is set) nor logged."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from server.alerts import rules
from server.alerts.formats import Format, check_template
from server.core.columns import timestamp_field

LANGUAGES = ("zh", "en")


class Notifier(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    format: str = Field(max_length=16)
    url: str = Field(max_length=500)
    secret: str | None = Field(default=None, max_length=200)
    stations: str = Field(default='["*"]', max_length=2000)  # JSON list of patterns
    kinds: str = Field(default="[]", max_length=500)  # JSON list; empty: every kind
    quiet_from: str | None = Field(default=None, max_length=5)
    quiet_until: str | None = Field(default=None, max_length=5)
    recipients: str = Field(default="[]", max_length=2000)  # JSON list (sms)
    template: str | None = Field(default=None, max_length=2000)  # sms body
    language: str = Field(default="zh", max_length=2)
    enabled: bool = True
    created_at: datetime = timestamp_field()


class AlertDelivery(SQLModel, table=True):
    """One alarm to one notifier; a row until delivered or given up. Claimed by one worker at
    a time (``claimed_until``); ``not_before`` holds it through quiet hours and backoff."""

    __tablename__ = "alert_delivery"
    __table_args__ = (Index("ix_alert_delivery_due", "done", "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    alarm_id: int = Field(foreign_key="alarm.id")
    notifier_id: int = Field(foreign_key="notifier.id", index=True)
    created_at: datetime = timestamp_field()
    not_before: datetime = timestamp_field()
    done: bool = False  # delivered or given up
    attempts: int = 0
    claimed_until: datetime | None = timestamp_field(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=80)
    delivered_at: datetime | None = timestamp_field(nullable=True)
    failed_at: datetime | None = timestamp_field(nullable=True)
    last_error: str = Field(default="", max_length=200)


class NotifierWrite(SQLModel):
    """A new notifier, or a whole replacement of one (PUT). Checked before anything is stored."""

    name: str = Field(min_length=1, max_length=80)
    format: Format
    url: str = Field(min_length=1, max_length=500)
    secret: str | None = Field(default=None, min_length=1, max_length=200)
    stations: list[str] = Field(default_factory=lambda: [rules.ALL_STATIONS], max_length=200)
    kinds: list[str] = Field(default_factory=list)
    quiet_from: str | None = None
    quiet_until: str | None = None
    recipients: list[str] = Field(default_factory=list, max_length=50)
    template: str | None = Field(default=None, max_length=2000)
    language: str = "zh"
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an http:// or https:// address with a host")
        return value

    @field_validator("stations")
    @classmethod
    def _stations(cls, value: list[str]) -> list[str]:
        rules.check_station_patterns(value)
        return value

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(rules.ALARM_KINDS))
        if unknown:
            raise ValueError(f"kinds: unknown {unknown}; known: {list(rules.ALARM_KINDS)}")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"language: one of {list(LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NotifierWrite:
        rules.parse_quiet_hours(self.quiet_from, self.quiet_until)
        if self.format is Format.SMS:
            if not self.recipients and not self.template:
                raise ValueError("an sms notifier needs recipients or a template")
            if self.template:
                check_template(self.template)
        elif self.recipients or self.template:
            raise ValueError("recipients and template are for the sms format only")
        return self


class NotifierPublic(SQLModel):
    id: int
    name: str
    format: str
    url: str
    has_secret: bool
    stations: list[str]
    kinds: list[str]
    quiet_from: str | None
    quiet_until: str | None
    recipients: list[str]
    template: str | None
    language: str
    enabled: bool
    created_at: datetime


class DeliveryPublic(SQLModel):
    id: int
    alarm_id: int
    notifier_id: int
    not_before: datetime
    done: bool
    attempts: int
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str


def public(notifier: Notifier) -> dict[str, Any]:
    """What the API shows of a notifier: everything but the secret."""
    return {
        **notifier.model_dump(exclude={"secret", "stations", "kinds", "recipients"}),
        "has_secret": bool(notifier.secret),
        "stations": json.loads(notifier.stations),
        "kinds": json.loads(notifier.kinds),
        "recipients": json.loads(notifier.recipients),
    }
