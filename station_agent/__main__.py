"""``python -m station_agent`` (or ``station-agent``): the station box's commands.

    run                 the agent (settings: --config TOML, WS_AGENT_* over it; identity:
                        the enrolled bundle)
    enrol BUNDLE        make this box the station a provisioning bundle names
    check [--link | --quick]
                        a technician's self-test, one line per part (--quick: the update's
                        health check; --link: no hardware)
    decode FILE...      what the decoder reads in still images, one JSON line per file

A bad setting or an unreadable file is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from station_agent import __version__
from station_agent.cli.check import hardware_checks, link_checks, quick_checks, report
from station_agent.cli.decode import decode_files
from station_agent.cli.enrol import enrol
from station_agent.cli.files import (
    BUNDLE_FILE,
    CliError,
    load_settings,
    read_bundle,
    read_config,
    state_dir,
)
from telemetry.logs import configure


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station_agent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"station_agent {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        help="settings file (TOML; default /etc/warm-station/agent.toml or $WS_AGENT_CONFIG)",
    )
    # --config after the command too (``station_agent enrol --config FILE BUNDLE``).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", dest="sub_config", type=Path, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[common], help="run the agent until SIGTERM or SIGINT")
    run.add_argument("--log-level", default="info")
    enrol_cmd = commands.add_parser(
        "enrol", parents=[common], help="store a provisioning bundle (owner-only)"
    )
    enrol_cmd.add_argument("bundle", type=Path)
    enrol_cmd.add_argument(
        "--replace", action="store_true", help="re-purpose a box enrolled for another station"
    )
    check = commands.add_parser(
        "check", parents=[common], help="self-test: each part OK or FAIL with what to do"
    )
    depth = check.add_mutually_exclusive_group()
    depth.add_argument(
        "--quick", action="store_true", help="settings and store only (the update's health check)"
    )
    depth.add_argument("--link", action="store_true", help="no hardware: add broker and clock")
    check.add_argument("--wait-s", type=float, default=15.0, help="for each part you operate")
    decode = commands.add_parser(
        "decode", parents=[common], help="decode still images; one JSON line each"
    )
    decode.add_argument("files", type=Path, nargs="+")
    return parser


def _run(config: Path | None, log_level: str) -> int:
    from station_agent.adapters.hardware import build_hardware  # the box's real parts
    from station_agent.adapters.systemd import SystemdNotifier
    from station_agent.runtime import build_agent

    settings = load_settings(config)
    configure(
        component="agent",
        level=log_level,
        text_format=f"%(asctime)s {settings.station_id} %(levelname)s %(message)s",
        station_id=settings.station_id,
    )
    agent, _ = build_agent(
        settings, build_hardware(settings), time.time, supervisor=SystemdNotifier()
    )

    def request_stop(signum: int, frame: FrameType | None) -> None:
        agent.stopping.set()  # a flag, not an exception: the loop relocks and flushes first

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    agent.run()
    summary = {"station_id": settings.station_id, "stopped": True}
    print(json.dumps(summary | {"outbox_depth": agent.final_outbox_depth}), flush=True)
    return 0


def _check(config: Path | None, *, quick: bool, link: bool, wait_s: float) -> int:
    settings = load_settings(config)
    bundle = read_bundle(state_dir(read_config(config)) / BUNDLE_FILE)
    print(f"station {settings.station_id} (agent {__version__})", flush=True)
    lines = quick_checks(settings)
    if not quick:
        lines += link_checks(settings, bundle.server_url)
    if not quick and not link:
        from station_agent.adapters.hardware import build_hardware

        hardware = build_hardware(settings)
        try:
            lines += hardware_checks(settings, hardware, wait_s=wait_s, say=print)
        finally:
            hardware.lock.lock()
            hardware.camera.close()
    return report(lines, sys.stdout)


def _decode(files: list[Path]) -> int:
    from station_agent.adapters.hardware import default_decoder

    return decode_files(files, default_decoder())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = getattr(args, "sub_config", None) or args.config
    try:
        if args.command == "run":
            return _run(config, args.log_level)
        if args.command == "enrol":
            print(enrol(args.bundle, config_path=config, replace=args.replace), flush=True)
            return 0
        if args.command == "check":
            return _check(config, quick=args.quick, link=args.link, wait_s=args.wait_s)
        return _decode(args.files)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
