"""What one alert looks like on the wire, per notifier format. Pure: the message, the secret
and the time come in; the URL, headers and body to POST go out, and whether the receiver's
answer means it took the message.

- ``webhook``: our own JSON; ``X-WarmStation-Timestamp`` (Unix seconds) and
  ``X-WarmStation-Signature: sha256=<hex HMAC-SHA256 of "timestamp.body", key the secret>``;
  the receiver drops a repeated ``idempotency_key`` (delivery is at least once).
- ``wecom``: WeCom (企业微信) group robot, ``{"msgtype": "markdown", "markdown": {"content"}}``;
  the key is in the robot's URL, there is no signature.
- ``dingtalk``: DingTalk (钉钉) custom robot, ``{"msgtype": "markdown", "markdown": {"title",
  "text"}}``; with a secret (加签) the URL gets ``timestamp`` (milliseconds) and ``sign`` =
  URL-encoded base64 HMAC-SHA256 of "timestamp\\nsecret" keyed with the secret.
- ``feishu``: Feishu/Lark custom bot, ``{"msg_type": "text", "content": {"text"}}``; with a
  secret (签名校验) the body gets ``timestamp`` (seconds) and ``sign`` = base64 HMAC-SHA256 of
  an empty message keyed with "timestamp\\nsecret".
- ``sms``: an SMS gateway is a webhook too: ``{"to": [numbers], "text"}`` (or the notifier's
  own template, ``{text}``, ``{to}``... filled in as JSON strings), signed as ``webhook``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

SIGNATURE_HEADER = "X-WarmStation-Signature"
TIMESTAMP_HEADER = "X-WarmStation-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
JSON_TYPE = "application/json; charset=utf-8"


class Format(StrEnum):
    WEBHOOK = "webhook"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
    SMS = "sms"


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One alarm, as every format tells it (words already in the notifier's language)."""

    alarm_id: int
    station_id: str
    station_name: str
    kind: str  # the stored code: forced_open, welfare...
    kind_words: str  # the code in words
    raised_at_local: str  # "2025-10-01 08:30" in the deployment's time zone
    raised_at_iso: str  # UTC, ISO 8601
    detail: str
    link: str  # the station's page; "" when no public URL is set
    title: str  # one line
    text: str  # a few lines, plain


@dataclass(frozen=True, slots=True)
class Outbound:
    url: str
    headers: dict[str, str]
    body: bytes


def idempotency_key(alarm_id: int, notifier_id: int) -> str:
    return f"ws-alarm-{alarm_id}-n{notifier_id}"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp_s: str) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote_plus)))


def _markdown(message: AlertMessage) -> str:
    lines = [f"### {message.title}", *(f"> {line}" for line in message.text.splitlines())]
    if message.link:
        lines.append(f"[{message.link}]({message.link})")
    return "\n".join(lines)


def _plain(message: AlertMessage) -> str:
    return "\n".join([message.title, message.text, *([message.link] if message.link else [])])


def _document(message: AlertMessage, key: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "alarm_id": message.alarm_id,
        "station_id": message.station_id,
        "station_name": message.station_name,
        "kind": message.kind,
        "raised_at": message.raised_at_iso,
        "detail": message.detail,
        "link": message.link,
        "title": message.title,
        "text": message.text,
    }


def render_template(template: str, message: AlertMessage, recipients: list[str]) -> bytes:
    """An SMS gateway's own body: ``{text}``, ``{title}``, ``{station_id}``, ``{kind}``,
    ``{alarm_id}``, ``{link}`` and ``{to}`` replaced by JSON values (strings quoted, ``{to}``
    a list), so the result stays valid JSON whatever the message says."""
    values: dict[str, Any] = {
        "text": _plain(message),
        "title": message.title,
        "station_id": message.station_id,
        "kind": message.kind,
        "alarm_id": message.alarm_id,
        "link": message.link,
        "to": recipients,
    }
    body = template
    for name, value in values.items():
        body = body.replace("{" + name + "}", json.dumps(value, ensure_ascii=False))
    return body.encode()


def check_template(template: str) -> None:
    """Raises ValueError unless the template makes valid JSON (tried on a sample message)."""
    sample = AlertMessage(1, "s", "s", "k", "k", "t", "t", "d", "", "t", "t")
    try:
        json.loads(render_template(template, sample, ["+8613800000000"]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"sms_template is not JSON once filled in: {exc.msg}") from None


def _signed(url: str, body: bytes, *, secret: str | None, now_s: int, key: str) -> Outbound:
    headers = {"Content-Type": JSON_TYPE, IDEMPOTENCY_HEADER: key}
    if secret:
        timestamp = str(now_s)
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = webhook_signature(secret, timestamp, body)
    return Outbound(url, headers, body)


def build(
    fmt: Format,
    message: AlertMessage,
    *,
    url: str,
    secret: str | None,
    now_ms: int,
    notifier_id: int,
    recipients: tuple[str, ...] = (),
    template: str | None = None,
) -> Outbound:
    """The request that carries ``message`` to one notifier."""
    key = idempotency_key(message.alarm_id, notifier_id)
    now_s = now_ms // 1000
    if fmt is Format.WEBHOOK:
        return _signed(url, _json(_document(message, key)), secret=secret, now_s=now_s, key=key)
    if fmt is Format.SMS:
        to = list(recipients)
        body = (
            render_template(template, message, to)
            if template
            else _json({"to": to, "text": _plain(message), "idempotency_key": key})
        )
        return _signed(url, body, secret=secret, now_s=now_s, key=key)
    headers = {"Content-Type": JSON_TYPE}
    if fmt is Format.WECOM:
        wecom = {"msgtype": "markdown", "markdown": {"content": _markdown(message)}}
        return Outbound(url, headers, _json(wecom))
    if fmt is Format.DINGTALK:
        ding = {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": _markdown(message)},
        }
        if secret:
            url = _with_query(url, timestamp=str(now_ms), sign=dingtalk_sign(secret, str(now_ms)))
        return Outbound(url, headers, _json(ding))
    feishu: dict[str, Any] = {"msg_type": "text", "content": {"text": _plain(message)}}
    if secret:
        feishu = {"timestamp": str(now_s), "sign": feishu_sign(secret, str(now_s)), **feishu}
    return Outbound(url, headers, _json(feishu))


def accepted(fmt: Format, status: int, body: bytes) -> str | None:
    """None when the receiver took the message; else why not. The robots answer 200 with an
    error code in the body (a bad signature, a keyword missing, a rate limit)."""
    if not 200 <= status < 300:
        return f"HTTP {status}"
    if fmt in (Format.WEBHOOK, Format.SMS):
        return None
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return "the robot's answer is not JSON"
    if not isinstance(answer, dict):
        return "the robot's answer is not a JSON object"
    code = answer.get("code", answer.get("StatusCode", 0)) if fmt is Format.FEISHU else None
    if fmt is not Format.FEISHU:
        code = answer.get("errcode", 0)
    if code in (0, None):
        return None
    message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
    return f"robot error {code}: {str(message)[:100]}"
