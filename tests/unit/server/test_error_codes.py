"""Errors people meet: every code has words in both languages, every place that raises one
passes exactly the values its words need, and the JSON answer carries the English detail with
the code and values that a page translates."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import FastAPI, Query

import i18n
from server.core.api_errors import ApiError, install
from server.core.errors import ErrorCode, NotFoundError
from server.web.language import Texts

SERVER = Path(__file__).parents[3] / "server"
LATIN = re.compile(r"[A-Za-z]")
# Keyword arguments that are not words' values.
NOT_VALUES = {"headers", "fields"}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_code_has_words_in_both_languages_and_no_word_lacks_a_code() -> None:
    for language in i18n.LANGUAGES:
        keys = {k for k in i18n.catalogue(language) if k.startswith("error.")}
        assert keys == {f"error.{code.value}" for code in ErrorCode}, language


@pytest.mark.parametrize("code", list(ErrorCode))
def test_chinese_errors_are_chinese(code: ErrorCode) -> None:
    text = i18n.text(f"error.{code.value}", "zh")
    without_values = re.sub(r"\{\w+\}", "", text)
    assert not LATIN.search(without_values), text


def _raises() -> list[tuple[str, ErrorCode, set[str]]]:
    """(where, code, value names) of every call in the server given an ``ErrorCode.X``: the
    names of its keyword arguments, or of a dict of values beside the code."""
    found = []
    for path in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            for arg in node.args:
                if (
                    isinstance(arg, ast.Attribute)
                    and isinstance(arg.value, ast.Name)
                    and arg.value.id == "ErrorCode"
                ):
                    names = {k.arg for k in node.keywords if k.arg} - NOT_VALUES
                    for values in (a for a in node.args if isinstance(a, ast.Dict)):
                        names |= {k.value for k in values.keys if isinstance(k, ast.Constant)}
                    where = f"{path.relative_to(SERVER)}:{node.lineno}"
                    found.append((where, ErrorCode[arg.attr], names))
    return found


def test_every_raise_passes_the_values_its_words_need() -> None:
    raises = _raises()
    assert len(raises) > 30
    for where, code, names in raises:
        assert names == _placeholders(i18n.text(f"error.{code.value}", "en")), where


def test_every_code_is_used() -> None:
    source = "\n".join(p.read_text() for p in SERVER.rglob("*.py"))
    for code in ErrorCode:
        assert f"ErrorCode.{code.name}" in source, code


def test_a_page_says_an_error_in_its_language() -> None:
    assert Texts("zh").error("role_required", {"role": "operator"}) == "此操作需要操作员权限"
    assert (
        Texts("en").error("role_required", {"role": "operator"}) == "this needs the operator role"
    )
    assert Texts("zh").error("report_range_too_long", {"days": 366}) == (
        "报表最多覆盖 366 天，请缩短日期范围"
    )


def _app() -> FastAPI:
    app = FastAPI()
    install(app)

    @app.get("/station/{station_id}")
    def station(station_id: str) -> None:
        raise ApiError(404, ErrorCode.NO_STATION, id=station_id)

    @app.get("/throttled")
    def throttled() -> None:
        raise ApiError(429, ErrorCode.TOO_MANY_LOGINS, headers={"Retry-After": "7"}, s=7)

    @app.get("/alarm")
    def alarm() -> None:
        raise ApiError.of(404, NotFoundError(ErrorCode.NO_ALARM, id=5))

    @app.get("/count")
    def count(n: int = Query(ge=0)) -> None:
        return None

    return app


def _get(path: str, **params: object) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, params=params)  # type: ignore[arg-type]

    return anyio.run(get)


def test_the_json_answer_keeps_the_english_detail_and_adds_the_code() -> None:
    reply = _get("/station/st-x")
    assert reply.status_code == 404
    assert reply.json() == {
        "detail": "no station 'st-x'",
        "code": "no_station",
        "values": {"id": "st-x"},
    }
    throttled = _get("/throttled")
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json()["code"] == "too_many_logins"
    assert _get("/alarm").json() == {
        "detail": "no alarm 5",
        "code": "no_alarm",
        "values": {"id": 5},
    }
    invalid = _get("/count", n=-1).json()
    assert invalid["code"] == "invalid_input"
    assert invalid["values"] == {"fields": "n"}
    assert invalid["detail"][0]["loc"] == ["query", "n"]  # FastAPI's own list, unchanged
