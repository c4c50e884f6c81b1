"""``python -m server``: run the server (HTTP and MQTT) until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from server.core.settings import ServerSettings
from server.main import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s server %(levelname)s %(message)s"
    )
    settings = ServerSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=args.log_level,
        access_log=False,
    )


if __name__ == "__main__":
    main()
