"""Staff commands against a running server: provision, reprovision, enrol, revoke, new-link,
rotate-key, rotate-control-key; and migrate, on the database itself (the server's settings).

Each prints what it did, or one line saying what went wrong, and exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx

from server.core.db import make_engine
from server.core.settings import ServerSettings
from server.migrations import apply as migrations
from server.riders.models import Platform
from server.riders.tokens import render_qr_png


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server.cli", description=__doc__)
    parser.add_argument("--server", default="http://127.0.0.1:8080", help="server base URL")
    parser.add_argument("--user", default=os.environ.get("WS_STAFF_USER", "admin"))
    parser.add_argument(
        "--password",
        default=os.environ.get("WS_STAFF_PASSWORD"),
        help="default: the environment variable WS_STAFF_PASSWORD",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    provision = commands.add_parser(
        "provision", help="add a station; writes its bundle (keep it like a password)"
    )
    provision.add_argument("station_id")
    provision.add_argument("--name", required=True)
    provision.add_argument("--capacity", type=int, required=True)
    provision.add_argument("--bundle", required=True, help="file to write the bundle to")
    provision.add_argument("--qr", help="also write the bundle as a QR code (PNG) to scan")
    reprovision = commands.add_parser(
        "reprovision", help="new identity for a station (a stolen or replaced box)"
    )
    reprovision.add_argument("station_id")
    reprovision.add_argument("--reason", required=True)
    reprovision.add_argument("--bundle", required=True, help="file to write the bundle to")
    reprovision.add_argument("--qr", help="also write the bundle as a QR code (PNG) to scan")
    enrol = commands.add_parser("enrol", help="enrol a rider; prints the personal link")
    enrol.add_argument("--name", default="", help="display name, for staff only")
    enrol.add_argument("--platform", choices=[p.value for p in Platform], default="other")
    revoke = commands.add_parser("revoke", help="disable a rider at every station")
    revoke.add_argument("rider_id")
    link = commands.add_parser("new-link", help="replace a rider's link (old one stops)")
    link.add_argument("rider_id")
    commands.add_parser("rotate-key", help="add a rider-token key; the current one retires")
    commands.add_parser(
        "rotate-control-key", help="add a control key; stations learn it under the old one"
    )
    commands.add_parser(
        "migrate",
        help="upgrade the database of WS_SERVER_DATABASE_URL to this version's schema"
        " (back it up first; docs/operations.md)",
    )
    return parser


def _migrate() -> int:
    """No login: it works on the database, before a server of this version can start. Tables
    made before migrations are stamped as the baseline first; a foreign schema is refused."""
    settings = ServerSettings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        before = migrations.current_revision(engine)
        migrations.prepare(engine, auto_migrate=True)
        after = migrations.current_revision(engine)
    except migrations.SchemaNotCurrentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps({"schema_before": before, "schema_now": after}))
    return 0


def _detail(reply: httpx.Response) -> str:
    try:
        detail = reply.json().get("detail", reply.text)
    except ValueError:
        detail = reply.text
    return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)


def _write_secret(path: Path, text: str) -> None:
    """Owner-only from the start: the bundle holds the station's password and key."""
    _write_secret_bytes(path, (text + "\n").encode())


def _write_secret_bytes(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    path.chmod(0o600)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "migrate":
        return _migrate()
    base = args.server.rstrip("/")
    if not args.password:
        print("error: give --password or set WS_STAFF_PASSWORD", file=sys.stderr)
        return 2
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            login = http.post(
                "/api/auth/login", json={"username": args.user, "password": args.password}
            )
            if login.is_error:
                print(f"error: cannot log in: {_detail(login)}", file=sys.stderr)
                return 1
            http.headers["Authorization"] = f"Bearer {login.json()['token']}"
            if args.command == "provision":
                reply = http.post(
                    "/api/stations",
                    json={"id": args.station_id, "name": args.name, "capacity": args.capacity},
                )
            elif args.command == "reprovision":
                reply = http.post(
                    f"/api/stations/{args.station_id}/provision", json={"reason": args.reason}
                )
            elif args.command == "enrol":
                reply = http.post(
                    "/api/riders", json={"display_name": args.name, "platform": args.platform}
                )
            elif args.command == "revoke":
                reply = http.post(f"/api/riders/{args.rider_id}/revoke")
            elif args.command == "new-link":
                reply = http.post(f"/api/riders/{args.rider_id}/link")
            elif args.command == "rotate-control-key":
                reply = http.post("/api/keys/control/rotate")
            else:
                reply = http.post("/api/keys/rotate")
    except httpx.TransportError as exc:
        print(f"error: cannot reach the server at {base}: {exc}", file=sys.stderr)
        return 2
    if reply.is_error:
        print(f"error: {reply.status_code}: {_detail(reply)}", file=sys.stderr)
        return 1
    body = reply.json()
    if "bundle" in body:
        bundle = body.pop("bundle")
        _write_secret(Path(args.bundle), json.dumps(bundle, indent=2))
        body["bundle_written_to"] = args.bundle
        if args.qr:
            # Compact JSON: about 1.1 KB, a version-21 code a box's camera reads off a screen.
            compact = json.dumps(bundle, separators=(",", ":"))
            _write_secret_bytes(Path(args.qr), render_qr_png(compact, error_correction="L"))
            body["qr_written_to"] = args.qr
    if "link" in body:
        body["link"] = base + body["link"]
    print(json.dumps(body, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
