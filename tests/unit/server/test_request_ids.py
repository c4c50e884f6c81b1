"""A proxy's request id is kept only when it is a plain short token."""

from __future__ import annotations

import re

from server.web.request_ids import request_id_from


def test_a_plain_id_is_kept() -> None:
    assert request_id_from(b"caddy-0a1b.2_c") == "caddy-0a1b.2_c"


def test_anything_else_gets_a_new_id() -> None:
    for sent in (None, b"", b"x" * 65, b"id with spaces", b"id\nforged: line", "标识".encode()):
        made = request_id_from(sent)
        assert re.fullmatch(r"[0-9a-f]{32}", made), sent
