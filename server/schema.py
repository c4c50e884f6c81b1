"""Every table of the server, imported so that ``SQLModel.metadata`` knows them all: the
database is created (and, later, migrated) from this one list."""

from __future__ import annotations

from sqlmodel import SQLModel

from server.access.models import DecisionRecord, UsedNonce
from server.alarms.models import Alarm
from server.alerts.models import AlertDelivery, Notifier
from server.audit.models import AuditEntry
from server.events.models import CountCorrection, EventRecord, EventStream, Stay
from server.jobs.models import JobLease
from server.join.models import InviteBatch, InviteCode, JoinAttempt, JoinRequest
from server.keys.models import SigningKeyRecord
from server.reports.tally import Tally
from server.riders.models import DeviceCertRecord, Rider
from server.staff.models import LoginFailure, StaffSession, StaffUser
from server.stations.models import ConfigState, Station, StationPhoto

TABLES: tuple[type[SQLModel], ...] = (
    Alarm,
    AlertDelivery,
    AuditEntry,
    ConfigState,
    CountCorrection,
    DecisionRecord,
    DeviceCertRecord,
    EventRecord,
    EventStream,
    InviteBatch,
    InviteCode,
    JobLease,
    JoinAttempt,
    JoinRequest,
    LoginFailure,
    Notifier,
    Rider,
    SigningKeyRecord,
    StaffSession,
    StaffUser,
    Station,
    StationPhoto,
    Stay,
    Tally,
    UsedNonce,
)
metadata = SQLModel.metadata
