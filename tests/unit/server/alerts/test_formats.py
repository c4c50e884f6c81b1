"""Each notifier format: the body's shape and a signature computed here independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest

from server.alerts.formats import (
    AlertMessage,
    Format,
    accepted,
    build,
    check_template,
    render_template,
)

MESSAGE = AlertMessage(
    alarm_id=42,
    station_id="sz-001",
    station_name="南山驿站",
    kind="forced_open",
    kind_words="门被强行打开",
    raised_at_local="2025-10-01 08:30:00",
    raised_at_iso="2025-10-01T00:30:00+00:00",
    detail="no unlock",
    link="https://ws.example.cn/stations/sz-001",
    title="【暖心驿站告警】南山驿站：门被强行打开",
    text="站点：南山驿站（sz-001）\n告警：门被强行打开",
)
NOW_MS = 1_759_278_600_123
SECRET = "SEC0123456789abcdef"


def _build(fmt: Format, **kw: object) -> tuple[str, dict[str, str], dict[str, object]]:
    secret = kw.pop("secret", None)
    assert secret is None or isinstance(secret, str)
    out = build(fmt, MESSAGE, url="https://hook.example/x?key=k", secret=secret,
                now_ms=NOW_MS, notifier_id=7, **kw)  # type: ignore[arg-type]  # fmt: skip
    return out.url, out.headers, json.loads(out.body)


def test_webhook_is_our_json_signed_over_timestamp_and_body() -> None:
    out = build(Format.WEBHOOK, MESSAGE, url="https://r.example/h", secret=SECRET,
                now_ms=NOW_MS, notifier_id=7)  # fmt: skip
    body = json.loads(out.body)
    assert body["alarm_id"] == 42
    assert body["kind"] == "forced_open"
    assert body["idempotency_key"] == out.headers["Idempotency-Key"] == "ws-alarm-42-n7"
    timestamp = out.headers["X-WarmStation-Timestamp"]
    assert timestamp == str(NOW_MS // 1000)
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + out.body, hashlib.sha256)
    assert out.headers["X-WarmStation-Signature"] == "sha256=" + expected.hexdigest()


def test_webhook_without_a_secret_is_not_signed() -> None:
    _, headers, _ = _build(Format.WEBHOOK)
    assert "X-WarmStation-Signature" not in headers


def test_wecom_is_markdown_content() -> None:
    url, _, body = _build(Format.WECOM, secret=SECRET)
    assert url == "https://hook.example/x?key=k"  # WeCom has no signature: the key is the URL
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]  # type: ignore[index]
    assert MESSAGE.title in content
    assert MESSAGE.link in content
    assert "sz-001" in content


def test_dingtalk_is_markdown_with_a_signed_url() -> None:
    url, _, body = _build(Format.DINGTALK, secret=SECRET)
    assert body == {
        "msgtype": "markdown",
        "markdown": {"title": MESSAGE.title, "text": body["markdown"]["text"]},  # type: ignore[index]
    }
    query = parse_qs(urlsplit(url).query)
    assert query["key"] == ["k"]
    assert query["timestamp"] == [str(NOW_MS)]
    to_sign = f"{NOW_MS}\n{SECRET}".encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), to_sign, hashlib.sha256).digest())
    assert query["sign"] == [expected.decode()]
    raw_sign = urlsplit(url).query.split("sign=")[1]
    assert unquote_plus(raw_sign) == expected.decode()  # URL-encoded, as DingTalk asks


def test_dingtalk_without_a_secret_keeps_the_url() -> None:
    url, _, _ = _build(Format.DINGTALK)
    assert url == "https://hook.example/x?key=k"


def test_feishu_is_text_with_timestamp_and_sign() -> None:
    _, _, body = _build(Format.FEISHU, secret=SECRET)
    assert body["msg_type"] == "text"
    assert MESSAGE.title in body["content"]["text"]  # type: ignore[index]
    timestamp = str(NOW_MS // 1000)
    key = f"{timestamp}\n{SECRET}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["timestamp"] == timestamp
    assert body["sign"] == expected


def test_feishu_without_a_secret_has_no_sign() -> None:
    _, _, body = _build(Format.FEISHU)
    assert "sign" not in body
    assert "timestamp" not in body


def test_sms_default_body_lists_the_numbers() -> None:
    _, headers, body = _build(Format.SMS, secret=SECRET, recipients=("+8613800000000",))
    assert body["to"] == ["+8613800000000"]
    assert MESSAGE.title in str(body["text"])
    assert headers["X-WarmStation-Signature"].startswith("sha256=")


def test_sms_template_fills_json_values_safely() -> None:
    quoted = replace(MESSAGE, title='a "quoted" title\n')
    template = '{"mobiles": {to}, "content": {text}, "sign": "暖心驿站"}'
    body = json.loads(render_template(template, quoted, ["+8613800000000"]))
    assert body["mobiles"] == ["+8613800000000"]
    assert body["content"].startswith(quoted.title)


def test_a_template_that_is_not_json_is_refused() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        check_template('{"content": {text}')


@pytest.mark.parametrize(
    ("fmt", "status", "body", "ok"),
    [
        (Format.WEBHOOK, 204, b"", True),
        (Format.WEBHOOK, 503, b"", False),
        (Format.WECOM, 200, b'{"errcode":0,"errmsg":"ok"}', True),
        (Format.WECOM, 200, b'{"errcode":93000,"errmsg":"invalid webhook url"}', False),
        (Format.DINGTALK, 200, b'{"errcode":310000,"errmsg":"sign not match"}', False),
        (Format.FEISHU, 200, b'{"code":0,"msg":"success"}', True),
        (Format.FEISHU, 200, b'{"code":19021,"msg":"sign match fail"}', False),
        (Format.FEISHU, 200, b"<html>", False),
    ],
)
def test_what_counts_as_delivered(fmt: Format, status: int, body: bytes, ok: bool) -> None:
    assert (accepted(fmt, status, body) is None) is ok
