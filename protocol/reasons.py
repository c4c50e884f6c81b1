"""Reason codes of access decisions, and the short words a rider sees at the door.

A code is stable: it is stored, shown to staff and matched by tests. The texts say what to do,
never why internally.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    GRANTED = "granted"
    # The code itself (checked at the station, cheapest first).
    TOO_LONG = "too_long"
    NOT_OUR_CODE = "not_our_code"
    BAD_ENCODING = "bad_encoding"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WRONG_AUDIENCE = "wrong_audience"
    # The rider (checked by the server).
    UNKNOWN_RIDER = "unknown_rider"
    REVOKED = "revoked"
    REPLAYED = "replayed"
    # The station.
    NOT_CONFIGURED = "not_configured"
    SERVER_UNAVAILABLE = "server_unavailable"
    DENYLIST_STALE = "denylist_stale"
    CLOCK_UNTRUSTED = "clock_untrusted"
    UNKNOWN_STATION = "unknown_station"
    STATION_MISMATCH = "station_mismatch"
    # The station's rules (checked by the server after the credential).
    STATION_FULL = "station_full"
    CLOSED_NOW = "closed_now"
    MAINTENANCE = "maintenance"
    LOCKDOWN = "lockdown"
    ANTI_PASSBACK = "anti_passback"


# (zh-CN, en): what the station's display says. Short, plain, and a next step where one exists.
RIDER_MESSAGES: dict[Reason, tuple[str, str]] = {
    Reason.GRANTED: ("欢迎，请进", "Welcome, please come in"),
    Reason.TOO_LONG: ("无法识别此二维码", "This code is not a Warm Station pass"),
    Reason.NOT_OUR_CODE: ("无法识别此二维码", "This code is not a Warm Station pass"),
    Reason.BAD_ENCODING: ("无法识别此二维码", "This code is not a Warm Station pass"),
    Reason.MALFORMED: ("无法识别此二维码", "This code is not a Warm Station pass"),
    Reason.UNKNOWN_KEY: ("二维码已失效，请刷新", "Code no longer valid, please refresh"),
    Reason.BAD_SIGNATURE: ("二维码无效", "This pass is not valid"),
    Reason.LIFETIME_TOO_LONG: ("二维码无效", "This pass is not valid"),
    Reason.NOT_YET_VALID: ("请检查手机时间后刷新", "Check your phone's clock, then refresh"),
    Reason.EXPIRED: ("二维码已过期，请刷新", "Code expired, please refresh"),
    Reason.WRONG_AUDIENCE: ("此二维码不适用于本站", "This pass is not for this station"),
    Reason.UNKNOWN_RIDER: ("未找到账户，请联系工作人员", "Account not found, please ask staff"),
    Reason.REVOKED: ("通行证已停用，请联系工作人员", "Pass disabled, please ask staff"),
    Reason.REPLAYED: ("二维码已使用，请刷新", "Code already used, please refresh"),
    Reason.NOT_CONFIGURED: ("本站暂未就绪，请稍后再试", "Station not ready, try again shortly"),
    Reason.SERVER_UNAVAILABLE: ("网络繁忙，请稍后再试", "Network busy, try again shortly"),
    Reason.DENYLIST_STALE: ("网络中断，暂时无法验证", "Offline, cannot check passes now"),
    Reason.CLOCK_UNTRUSTED: ("网络中断，暂时无法验证", "Offline, cannot check passes now"),
    Reason.UNKNOWN_STATION: ("本站暂未登记，请联系工作人员", "Station not registered, ask staff"),
    Reason.STATION_MISMATCH: ("本站暂未就绪，请稍后再试", "Station not ready, try again shortly"),
    Reason.STATION_FULL: ("本站已满，请稍后再来", "Station full, please come back later"),
    Reason.CLOSED_NOW: ("本站现在不开放", "Station closed at this time"),
    Reason.MAINTENANCE: ("本站维护中，暂停使用", "Closed for maintenance"),
    Reason.LOCKDOWN: ("本站暂时关闭，请联系工作人员", "Station closed for now, ask staff"),
    Reason.ANTI_PASSBACK: ("系统显示您已在站内，请联系工作人员", "You are shown inside, ask staff"),
}

# STATION_FULL when the server names another open station with room; ``{station}`` is its name.
FULL_WITH_NEARBY: dict[str, str] = {
    "zh": "本站已满，附近的{station}有空位",
    "en": "Station full. {station} nearby has room",
}


def rider_message(reason: Reason, language: str = "zh") -> str:
    zh, en = RIDER_MESSAGES[reason]
    return en if language == "en" else zh


def full_message(nearby: str | None, language: str = "zh") -> str:
    """What a rider refused at a full station sees: the nearest station with room, if any."""
    if not nearby:
        return rider_message(Reason.STATION_FULL, language)
    template = FULL_WITH_NEARBY["en" if language == "en" else "zh"]
    return template.format(station=nearby)
