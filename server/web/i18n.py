"""The staff pages' words in Chinese (the default) and English, and the language choice:
``?lang=en`` or ``?lang=zh`` switches and is remembered in a cookie."""

from __future__ import annotations

from fastapi import Request

LANG_COOKIE = "ws_lang"
LANGUAGES = ("zh", "en")

# key: (zh-CN, en)
_TEXTS: dict[str, tuple[str, str]] = {
    "app": ("暖心驿站", "Warm Station"),
    "overview": ("站点总览", "Overview"),
    "riders": ("骑手", "Riders"),
    "reports": ("报表", "Reports"),
    "logout": ("退出登录", "Log out"),
    "login": ("登录", "Log in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "wrong_login": ("用户名或密码错误", "Wrong user name or password"),
    "locked": ("登录失败次数过多，请 {s} 秒后再试", "Too many failed logins: try again in {s} s"),
    "login_failed": ("登录失败，请稍后再试", "Login failed, please try again later"),
    "station": ("站点", "Station"),
    "state": ("状态", "State"),
    "online": ("在线", "online"),
    "offline": ("离线", "offline"),
    "since": ("自", "since"),
    "occupancy": ("在站 / 容量", "Occupancy"),
    "door": ("门", "Door"),
    "alarms": ("告警", "Alarms"),
    "active_alarms": ("未确认告警", "Active alarms"),
    "last_entry": ("最近进站", "Last entry"),
    "filter": ("筛选", "Filter"),
    "filter_placeholder": ("站点名称或编号", "Station name or id"),
    "all": ("全部", "All"),
    "with_alarms": ("有告警", "With alarms"),
    "shown": ("显示 {n} / {total} 个站点", "{n} of {total} stations shown"),
    "no_stations": ("尚无站点", "No stations yet"),
    "live": ("实时", "live"),
    "reconnecting": ("正在重新连接…", "reconnecting…"),
    "door_locked": ("已锁", "locked"),
    "door_unlocked": ("已开锁", "unlocked"),
    "door_open": ("开启", "open"),
    "door_closed": ("关闭", "closed"),
    "door_held_open": ("长时间未关", "held open"),
    "door_forced_open": ("被强行打开", "forced open"),
    "lockdown": ("封闭", "lockdown"),
    "maintenance": ("维护中", "maintenance"),
    "chart_24h": ("最近 24 小时在站人数", "Occupancy, last 24 hours"),
    "chart_7d": ("最近 7 天在站人数", "Occupancy, last 7 days"),
    "usage_log": ("使用记录", "Usage log"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "time": ("时间", "Time"),
    "event": ("事件", "Event"),
    "rider": ("骑手", "Rider"),
    "reason": ("原因", "Reason"),
    "detail": ("详情", "Detail"),
    "newer": ("较新", "Newer"),
    "older": ("较早", "Older"),
    "page_of": ("第 {a}-{b} 条，共 {total} 条", "{a}-{b} of {total}"),
    "no_events": ("暂无记录", "Nothing yet"),
    "kind": ("类型", "Kind"),
    "raised": ("发生", "Raised"),
    "cleared": ("已解除", "Cleared"),
    "acknowledged": ("已确认", "Acknowledged"),
    "acknowledge": ("确认", "Acknowledge"),
    "no_alarms": ("没有告警", "No alarms"),
    "remote_unlock": ("远程开门", "Remote unlock"),
    "unlock": ("开门", "Unlock"),
    "reason_required": ("原因（必填）", "Reason (required)"),
    "unlock_sent": ("开门指令已发送", "Unlock sent"),
    "audit": ("操作记录", "Audit trail"),
    "actor": ("操作人", "By"),
    "action": ("操作", "Action"),
    "no_audit": ("暂无操作记录", "No entries yet"),
    "enrol": ("登记骑手", "Enrol a rider"),
    "display_name": ("姓名（仅工作人员可见）", "Name (staff only)"),
    "platform": ("平台", "Platform"),
    "platform_food_delivery": ("外卖", "Food delivery"),
    "platform_courier": ("快递", "Courier"),
    "platform_ride_hailing": ("网约车", "Ride hailing"),
    "platform_other": ("其他", "Other"),
    "search": ("搜索", "Search"),
    "search_placeholder": ("骑手编号或姓名", "Rider id or name"),
    "enrolled": ("登记时间", "Enrolled"),
    "status": ("状态", "Status"),
    "active": ("有效", "active"),
    "revoked": ("已停用", "revoked"),
    "revoke": ("停用", "Revoke"),
    "revoke_confirm": (
        "确定停用骑手 {id} 吗？其通行码将在所有站点失效。",
        "Revoke rider {id}? Their code stops working at every station.",
    ),
    "new_link": ("新链接", "New link"),
    "renew_confirm": (
        "为骑手 {id} 生成新链接吗？旧链接将立即失效。",
        "Make a new link for rider {id}? The old one stops working at once.",
    ),
    "link_for": ("骑手 {id} 的个人链接", "Personal link of rider {id}"),
    "link_hint": (
        "请打印或发送给骑手本人。此链接只显示这一次。",
        "Print it or send it to the rider. The link is shown only this once.",
    ),
    "print": ("打印", "Print"),
    "no_riders": ("没有找到骑手", "No riders found"),
    "visits_per_day": ("每日到访人次", "Visits per day"),
    "visits_per_week": ("每周到访人次", "Visits per week"),
    "visits": ("到访人次", "Visits"),
    "unique_riders": ("骑手人数", "Unique riders"),
    "peak_hours": ("高峰时段", "Peak hours"),
    "hour": ("时", "Hour"),
    "date": ("日期", "Date"),
    "week_of": ("周（起始日）", "Week of"),
    "from": ("从", "From"),
    "to": ("到", "To"),
    "show": ("查看", "Show"),
    "total": ("合计", "Total"),
    "report_range": ("{a} 至 {b}", "{a} to {b}"),
    "error": ("操作失败", "Failed"),
    "forbidden": ("您的角色无权执行此操作", "Your role does not allow this"),
    "role": ("角色", "Role"),
    "language_switch": ("English", "中文"),
}


# Codes stored in events, alarms and the audit trail, as staff read them. A code not listed
# is shown as it is (a new kind must not break a page).
_CODES: dict[str, tuple[str, str]] = {
    # event kinds
    "access_granted": ("准许进入", "access granted"),
    "access_denied": ("拒绝进入", "access denied"),
    "door_opened": ("门已开", "door opened"),
    "door_closed": ("门已关", "door closed"),
    "exit_pressed": ("按出门按钮", "exit button"),
    "alarm_raised": ("告警", "alarm raised"),
    "alarm_cleared": ("告警解除", "alarm cleared"),
    "command_done": ("指令已执行", "command done"),
    "command_refused": ("指令被拒绝", "command refused"),
    # passages
    "entry": ("进站", "entry"),
    "exit": ("出站", "exit"),
    "unknown": ("未知", "unknown"),
    # alarms
    "forced_open": ("门被强行打开", "door forced open"),
    "held_open": ("门长时间未关", "door held open"),
    "contact_fault": ("门磁故障", "door contact fault"),
    "camera_tamper": ("摄像头被遮挡或故障", "camera tampered"),
    "tailgate": ("尾随进入", "tailgating"),
    "welfare": ("关怀提醒（停留过久）", "welfare check (long stay)"),
    # staff actions
    "rules_changed": ("修改站点规则", "rules changed"),
    "command_remote_unlock": ("远程开门", "remote unlock"),
    "command_lockdown": ("封闭站点", "lockdown"),
    "command_lockdown_release": ("解除封闭", "lockdown released"),
    "command_set_mode": ("切换模式", "mode set"),
    "occupancy_corrected": ("校正在站人数", "count corrected"),
    "occupancy_reconciled": ("夜间人数核对", "nightly count check"),
    "alarm_acknowledged": ("确认告警", "alarm acknowledged"),
    # refusal reasons (the common ones)
    "granted": ("准许", "granted"),
    "revoked": ("通行证已停用", "pass revoked"),
    "expired": ("二维码已过期", "code expired"),
    "replayed": ("二维码已使用过", "code already used"),
    "unknown_rider": ("未知骑手", "unknown rider"),
    "bad_signature": ("签名无效", "bad signature"),
    "not_our_code": ("非本系统二维码", "not our code"),
    "wrong_audience": ("不适用于本系统", "wrong audience"),
    "station_full": ("站点已满", "station full"),
    "closed_now": ("不在开放时间", "closed now"),
    "maintenance": ("维护中", "maintenance"),
    "lockdown": ("封闭中", "lockdown"),
    "anti_passback": ("重复进站", "anti-passback"),
    "server_unavailable": ("服务器无响应", "server unavailable"),
}


def language_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    return remembered if remembered in LANGUAGES else "zh"


class Texts:
    """``t("key")`` or ``t("key", n=3)`` in a template."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._column = LANGUAGES.index(language)

    def __call__(self, key: str, **values: object) -> str:
        text = _TEXTS[key][self._column]
        return text.format(**values) if values else text

    def code(self, value: str | None) -> str:
        """A stored code (event kind, alarm, action, reason) in words, or as it is."""
        if not value:
            return ""
        known = _CODES.get(value)
        return known[self._column] if known else value

    def as_dict(self, *keys: str) -> dict[str, str]:
        """A few words for the page's script."""
        return {key: _TEXTS[key][self._column] for key in keys}
