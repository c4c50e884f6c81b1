"""The login page (the only page without a session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from server.web.render import render_page

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, next_: Annotated[str, Query(alias="next", max_length=500)] = "/"
) -> HTMLResponse:
    # Only a path on this site: an open redirect would help phishing.
    target = next_ if next_.startswith("/") and not next_.startswith(("//", "/\\")) else "/"
    return render_page(request, "login.html", None, {"next": target})
