"""``python -m station_agent`` as a technician runs it, as a process: enrol (once, in time,
for this server only), decode still images, check the link."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from demo.broker import PrivateBroker
from protocol.payloads import EventKind, ProvisioningBundle, StationEvent
from protocol.signing import SigningKey
from server.riders.tokens import render_qr_png
from station_agent.adapters.store_sqlite import AgentStore
from tests.support.qr import qr_png
from tests.support.stack import ServerHarness, unique_station_id


def _agent(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "station_agent"]
    if config is not None:
        argv += ["--config", str(config)]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60, check=False)


def _box(tmp_path: Path, **settings: object) -> Path:
    """A station box's settings file, its state in tmp_path."""
    config = tmp_path / "agent.toml"
    lines = [f'data_dir = "{tmp_path / "state"}"']
    lines += [f"{name} = {json.dumps(value)}" for name, value in settings.items()]
    config.write_text("\n".join(lines) + "\n")
    return config


def _write(bundle: ProvisioningBundle, path: Path) -> Path:
    path.write_text(bundle.model_dump_json())
    return path


@pytest.fixture
def bundle(server: ServerHarness) -> ProvisioningBundle:
    return server.add_station(unique_station_id())


def test_enrol_stores_the_bundle_owner_only_and_once(
    bundle: ProvisioningBundle, tmp_path: Path
) -> None:
    config = _box(tmp_path)
    given = _write(bundle, tmp_path / "bundle-from-staff.json")

    first = _agent("enrol", str(given), config=config)
    assert first.returncode == 0, first.stderr
    assert f"enrolled as station {bundle.station_id}" in first.stdout
    stored = tmp_path / "state" / "bundle.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert ProvisioningBundle.model_validate_json(stored.read_text()) == bundle

    again = _agent("enrol", str(given), config=config)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        "error: this bundle was enrolled before: each works once; ask staff for a new one"
    )


def test_enrol_refuses_expired_or_foreign_bundles_and_bad_files(
    bundle: ProvisioningBundle, tmp_path: Path
) -> None:
    config = _box(tmp_path)
    expired = bundle.model_copy(
        update={"bundle_id": "a" * 32, "expires_at": datetime.now(UTC) - timedelta(minutes=1)}
    )
    refused = _agent("enrol", str(_write(expired, tmp_path / "old.json")), config=config)
    assert refused.returncode == 2
    assert "this bundle expired at" in refused.stderr

    assert _agent("enrol", str(_write(bundle, tmp_path / "b.json")), config=config).returncode == 0
    stranger = SigningKey.generate()
    foreign = bundle.model_copy(
        update={
            "bundle_id": "b" * 32,
            "control_keys": {stranger.kid: stranger.public_key_text},
        }
    )
    refused = _agent("enrol", str(_write(foreign, tmp_path / "f.json")), config=config)
    assert refused.returncode == 2
    assert "from another server" in refused.stderr
    replaced = _agent("enrol", "--replace", str(tmp_path / "f.json"), config=config)
    assert replaced.returncode == 0, replaced.stderr

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    bad = _agent("enrol", str(garbage), config=config)
    assert bad.returncode == 2
    assert bad.stderr.startswith(f"error: {garbage} is not a station bundle")
    assert len(bad.stderr.strip().splitlines()) == 1
    missing = _agent("enrol", str(tmp_path / "nowhere.json"), config=config)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_a_bad_settings_file_is_one_line(bundle: ProvisioningBundle, tmp_path: Path) -> None:
    config = _box(tmp_path, unlock_s=-3)
    assert _agent("enrol", str(_write(bundle, tmp_path / "b.json")), config=config).returncode == 0
    bad = _agent("check", "--link", config=config)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: setting unlock_s:")
    assert len(bad.stderr.strip().splitlines()) == 1
    not_toml = tmp_path / "broken.toml"
    not_toml.write_text("unlock_s = = 3")
    broken = _agent("check", "--quick", config=not_toml)
    assert broken.returncode == 2
    assert "is not valid TOML" in broken.stderr
    identity = _box(tmp_path, station_key="mine")
    assert "come from the enrolled bundle" in _agent("check", config=identity).stderr


def test_decode_prints_one_json_line_per_image(tmp_path: Path) -> None:
    code = tmp_path / "code.png"
    code.write_bytes(qr_png("WS1:TEST"))
    nothing = tmp_path / "nothing.txt"
    nothing.write_text("not an image")

    result = _agent("decode", str(code), str(nothing))
    assert result.returncode == 1  # one file could not be read
    [line] = [json.loads(text) for text in result.stdout.splitlines()]
    assert (line["file"], line["codes"], line["ours"]) == (str(code), ["WS1:TEST"], [True])
    assert line["ms"] >= 0
    assert result.stderr.strip() == f"error: {nothing}: not a readable image"


def test_check_link_is_all_ok_then_names_the_broker(
    bundle: ProvisioningBundle, broker: PrivateBroker, tmp_path: Path
) -> None:
    config = _box(tmp_path)
    assert _agent("enrol", str(_write(bundle, tmp_path / "b.json")), config=config).returncode == 0

    good = _agent("check", "--link", config=config)
    assert good.returncode == 0, good.stdout + good.stderr
    assert [line.split()[0] for line in good.stdout.splitlines()[1:]] == ["OK"] * 4
    assert "mqtts://" in good.stdout

    broker.stop()
    down = _agent("check", "--link", config=config)
    assert down.returncode == 1
    broker_line, ready_line = [line for line in down.stdout.splitlines() if "FAIL" in line]
    assert broker_line.split()[1] == "broker"
    assert "no connection to mqtts://" in broker_line
    assert ready_line.split()[1:4] == ["ready", "not", "ready:"]
    assert "broker_down" in ready_line


def test_check_names_an_outbox_the_server_has_not_emptied(
    bundle: ProvisioningBundle, tmp_path: Path
) -> None:
    """An event ten minutes old still in the store: the verdict the heartbeat would carry.
    ``--quick`` (the update's health check) stays OK: a backlog is the network's, not the
    release's."""
    config = _box(tmp_path)
    assert _agent("enrol", str(_write(bundle, tmp_path / "b.json")), config=config).returncode == 0
    store = AgentStore(tmp_path / "state" / "agent.db")
    occurred_at = datetime.now(UTC) - timedelta(minutes=10)
    store.append_event(
        lambda epoch, seq: StationEvent(
            event_id=uuid.uuid4().hex,
            station_id=bundle.station_id,
            epoch=epoch,
            seq=seq,
            kind=EventKind.EXIT_PRESSED,
            occurred_at=occurred_at,
        )
    )
    store.close()

    quick = _agent("check", "--quick", config=config)
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert "1 events waiting to be sent, the oldest from 6" in quick.stdout  # 600 s and a bit
    full = _agent("check", "--link", config=config)
    assert full.returncode == 1
    [failed] = [line for line in full.stdout.splitlines() if "FAIL" in line]
    assert failed.split()[1:4] == ["ready", "not", "ready:"]
    assert "outbox_backlog" in failed


def test_enrol_reads_a_bundle_shown_as_a_qr_code(
    bundle: ProvisioningBundle, tmp_path: Path
) -> None:
    """What ``server.cli provision --qr`` draws, saved or photographed off a screen."""
    compact = json.dumps(bundle.model_dump(mode="json"), separators=(",", ":"))
    shown = tmp_path / "bundle.png"
    shown.write_bytes(render_qr_png(compact, error_correction="L"))
    enrolled = _agent("enrol", str(shown), config=_box(tmp_path))
    assert enrolled.returncode == 0, enrolled.stderr
    assert f"enrolled as station {bundle.station_id}" in enrolled.stdout
    not_a_bundle = tmp_path / "other.png"
    not_a_bundle.write_bytes(qr_png("https://example.com"))
    other_box = tmp_path / "other-box"
    other_box.mkdir()
    refused = _agent("enrol", str(not_a_bundle), config=_box(other_box))
    assert refused.returncode == 2
    assert "is not a station bundle" in refused.stderr
