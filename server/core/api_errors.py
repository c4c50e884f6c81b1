"""Errors as the JSON API answers them: ``{"detail": <English>, "code": <ErrorCode>,
"values": {...}}``. ``detail`` stays what scripts and logs read; ``code`` and ``values`` let a
page say the same in the staff member's language (``error.<code>`` in ``i18n``; staff.js
does it for the errors it shows)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from server.core.errors import ErrorCode, ServerError, english

Value = str | int


class ApiError(HTTPException):
    """An HTTP error with a stable code: ``raise ApiError(404, ErrorCode.NO_RIDER, id=...)``."""

    def __init__(
        self,
        status_code: int,
        code: ErrorCode,
        *,
        headers: Mapping[str, str] | None = None,
        **values: Value,
    ) -> None:
        super().__init__(status_code, english(code, dict(values)), dict(headers or {}) or None)
        self.code = code
        self.values = values

    @classmethod
    def of(cls, status_code: int, error: ServerError) -> ApiError:
        """The server error ``error`` as an HTTP answer."""
        answer = cls(status_code, error.code)
        answer.detail = str(error)
        answer.values = {n: v if isinstance(v, int) else str(v) for n, v in error.values.items()}
        return answer


def error_body(detail: object, code: ErrorCode, values: Mapping[str, Value]) -> dict[str, object]:
    return {"detail": detail, "code": code.value, "values": dict(values)}


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.detail, exc.code, exc.values),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _invalid_input(_: Request, exc: Exception) -> Response:
    """FastAPI's own answer (``detail`` lists each problem), with the code and the fields."""
    assert isinstance(exc, RequestValidationError)
    problems = jsonable_encoder(exc.errors())
    fields = sorted({str(p["loc"][-1]) for p in problems if p.get("loc")})
    body = error_body(problems, ErrorCode.INVALID_INPUT, {"fields": ", ".join(fields)})
    return JSONResponse(body, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_input)
