"""The server's exceptions for what a request got wrong; routes turn them into HTTP answers.

Each names what went wrong with an ``ErrorCode``: stable, sent beside the English ``detail``
of a JSON error (``server.core.api_errors``) and the key of the words staff read
(``error.<code>`` in ``i18n``), so a page says it in its own language."""

from __future__ import annotations

from enum import StrEnum

import i18n


class ErrorCode(StrEnum):
    """Every error a person can meet through the API or a page. A new one needs
    ``error.<code>`` in both catalogues (a test checks it, and the values each raise passes)."""

    # who is asking
    LOGIN_REQUIRED = "login_required"
    WRONG_LOGIN = "wrong_login"
    TOO_MANY_LOGINS = "too_many_logins"
    CSRF_FAILED = "csrf_failed"
    ROLE_REQUIRED = "role_required"
    # what was sent
    INVALID_INPUT = "invalid_input"  # FastAPI's own validation; ``detail`` lists the fields
    NO_STATION = "no_station"
    NO_RIDER = "no_rider"
    NO_ALARM = "no_alarm"
    NO_NOTIFIER = "no_notifier"
    STATION_EXISTS = "station_exists"
    STAFF_EXISTS = "staff_exists"
    NOTIFIER_EXISTS = "notifier_exists"
    WEAK_PASSWORD = "weak_password"  # noqa: S105 (a code, not a password)
    RIDER_ALREADY_REVOKED = "rider_already_revoked"
    ALARM_ALREADY_ACKNOWLEDGED = "alarm_already_acknowledged"
    # time ranges
    BAD_DATE = "bad_date"
    REPORT_RANGE_REVERSED = "report_range_reversed"
    REPORT_RANGE_TOO_LONG = "report_range_too_long"
    TIME_RANGE_REVERSED = "time_range_reversed"
    # the live stream
    STREAM_TOO_MANY = "stream_too_many"
    STREAM_BAD_IDS = "stream_bad_ids"
    # station rules and commands
    HOURS_OR_ALL_DAY = "hours_or_all_day"
    EMERGENCY_OR_END = "emergency_or_end"
    MODE_ONLY_WITH_SET_MODE = "mode_only_with_set_mode"
    HOURS_WEEKLY = "hours_weekly"
    HOURS_HOLIDAYS = "hours_holidays"
    HOURS_HOLIDAY_DATE = "hours_holiday_date"
    HOURS_SPAN = "hours_span"
    HOURS_TIME = "hours_time"
    HOURS_UNKNOWN_KEYS = "hours_unknown_keys"
    FREE_ENTRY_NEEDS_CAUSE = "free_entry_needs_cause"
    EMERGENCY_ONLY_WITH_FREE_ENTRY = "emergency_only_with_free_entry"
    UNLOCK_STATION_OFFLINE = "unlock_station_offline"
    ALARM_ALREADY_RESOLVED = "alarm_already_resolved"
    # count corrections (``server.events.occupancy.CorrectionError``)
    CORRECTION_NEGATIVE_TARGET = "correction_negative_target"
    CORRECTION_NO_STAFF = "correction_no_staff"
    CORRECTION_EMPTY_REASON = "correction_empty_reason"
    # joining without a desk (``server.join``)
    JOIN_RATE_LIMITED = "join_rate_limited"
    INVITE_UNKNOWN = "invite_unknown"
    INVITE_USED = "invite_used"
    INVITE_EXPIRED = "invite_expired"
    NO_JOIN_REQUEST = "no_join_request"
    JOIN_REQUEST_DECIDED = "join_request_decided"
    NO_FREE_REQUEST_CODE = "no_free_request_code"
    NO_INVITE_BATCH = "no_invite_batch"


def english(code: ErrorCode, values: dict[str, object]) -> str:
    """The error in English: the JSON API's ``detail``, logs, ``str()`` of the exception."""
    return i18n.text(f"error.{code.value}", "en", **values)


class ServerError(Exception):
    """Base of the server's own errors: a ``code`` and the values its words need."""

    def __init__(self, code: ErrorCode, **values: object) -> None:
        super().__init__(english(code, values))
        self.code = code
        self.values = values


class NotFoundError(ServerError):
    """No row with this key (HTTP 404)."""


class ConflictError(ServerError):
    """The change does not apply to the row as it is: already done, say (HTTP 409)."""


class AlreadyExistsError(ConflictError):
    """A row with this key is already stored (HTTP 409)."""


class InvalidError(ServerError, ValueError):
    """A value a person got wrong (HTTP 422)."""
