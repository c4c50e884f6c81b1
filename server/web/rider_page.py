"""The rider's page: the current code, large, refreshed before it expires, in zh-CN or English."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from server.web.pages import templates

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "暖心驿站通行码",
        "hint": "请将二维码对准门口摄像头",
        "left": "剩余 {s} 秒",
        "weak": "网络不佳，正在重试。当前二维码仍可使用 {s} 秒",
        "expired": "二维码已过期，请连接网络后刷新页面",
        "disabled": "通行证已停用，请联系工作人员",
        "invalid": "此链接无效，请联系工作人员获取新链接",
        "loading": "正在获取二维码…",
        "other": "English",
    },
    "en": {
        "title": "Warm Station pass",
        "hint": "Hold this code up to the door camera",
        "left": "{s} s left",
        "weak": "Weak network, retrying. This code still works for {s} s",
        "expired": "Code expired. Connect to the internet and reload this page",
        "disabled": "This pass has been disabled. Please ask staff",
        "invalid": "This link is not valid. Please ask staff for a new one",
        "loading": "Getting your code…",
        "other": "中文",
    },
}


def render_rider_page(
    request: Request, *, secret: str, language: str, problem: int | None
) -> HTMLResponse:
    texts = TEXTS[language]
    message = None
    if problem == 410:
        message = texts["disabled"]
    elif problem is not None:
        message = texts["invalid"]
    return templates.TemplateResponse(
        request,
        "rider.html",
        {
            "language": language,
            "other_language": "en" if language == "zh" else "zh",
            "texts": texts,
            "code_url": f"/r/{secret}/code",
            "message": message,
        },
        status_code=problem or 200,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
