"""``python -m server``: run the server (HTTP and MQTT) until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn
from pydantic import ValidationError

from server.core.db import make_engine
from server.core.runtime import tune_interpreter
from server.core.settings import ServerSettings
from server.main import UnsafeStartError, check_can_start, create_app
from server.migrations.apply import SchemaNotCurrentError
from telemetry.logs import configure

# How long a stopping server lets requests in flight finish. uvicorn's own wait has no limit,
# and a staff page's live stream lasts ten minutes: with a tab reading one, a stopping server
# was still waiting after 5 s (tests/integration/test_server_start.py), and Docker kills at
# 10 s, before the MQTT consumer has stopped. Past the grace what is left is cancelled and
# the browsers reconnect to whichever server answers.
SHUTDOWN_GRACE_S = 5


def _settings_or_exit() -> ServerSettings:
    """The settings, checked before anything starts; else one line on stderr, exit status 1."""
    try:
        settings = ServerSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "WS_SERVER_" + "_".join(str(part) for part in first["loc"]).upper()
        sys.exit(f"server: {name}: {first['msg']}")  # never the value: it may be a secret
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        check_can_start(settings, engine)
    except (UnsafeStartError, SchemaNotCurrentError) as exc:
        sys.exit(f"server: {exc}")
    finally:
        engine.dispose()
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    fmt = configure(
        component="server",
        level=args.log_level,
        text_format="%(asctime)s server %(levelname)s %(message)s",
    )
    # Alembic's INFO lines (its context, each revision run) tell an operator nothing at start;
    # what a migration changed is printed by `python -m server.cli migrate`.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    settings = _settings_or_exit()
    app = create_app(settings)
    tune_interpreter()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=args.log_level,
        log_config=None if fmt == "json" else uvicorn.config.LOGGING_CONFIG,  # json: ours
        access_log=False,  # an access log would hold every rider link's secret
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )


if __name__ == "__main__":
    main()
