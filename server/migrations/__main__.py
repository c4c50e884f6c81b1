"""``python -m server.migrations``: Alembic's own command line (upgrade, downgrade, current,
history, check, revision --autogenerate, stamp) on the database of the server's settings
(``WS_SERVER_DATABASE_URL``, else SQLite in ``WS_SERVER_DATA_DIR``), from any directory."""

from __future__ import annotations

import sys

from alembic.config import CommandLine

from server.migrations.apply import alembic_config


def main(argv: list[str] | None = None) -> None:
    cli = CommandLine(prog="python -m server.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    config = alembic_config()
    config.cmd_opts = options
    cli.run_cmd(config, options)


if __name__ == "__main__":
    main(sys.argv[1:])
