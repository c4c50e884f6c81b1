"""The AsyncAPI document: generated from protocol/, covering every topic, and valid under the
official parser (@asyncapi/parser, pinned in scripts/asyncapi/package-lock.json)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from protocol import asyncapi, topics
from protocol.topics import Family

ROOT = Path(__file__).parents[3]
VALIDATOR = ROOT / "scripts" / "asyncapi" / "validate.mjs"
COMMITTED = ROOT / "protocol" / "asyncapi.json"


def _parse(doc: dict[str, Any], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    """Exit status and report of the official parser on this document."""
    node = shutil.which("node")
    assert node is not None, "Node.js missing: run ./scripts/setup dev"
    assert (VALIDATOR.parent / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is not installed: run ./scripts/setup dev"
    )
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    done = subprocess.run(
        [node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return done.returncode, report


def test_the_committed_document_is_valid_for_the_official_parser(tmp_path: Path) -> None:
    status, report = _parse(json.loads(COMMITTED.read_text(encoding="utf-8")), tmp_path)
    assert status == 0, report["errors"]
    assert report == {"errors": [], "warnings": [], "parsed": True}


def test_qos_on_a_message_is_an_error_for_the_parser(tmp_path: Path) -> None:
    """The mistake of the old document: qos/retain are operation bindings, not message ones."""
    broken = copy.deepcopy(asyncapi.document())
    broken["components"]["messages"]["Heartbeat"]["bindings"] = {
        "mqtt": {"qos": 0, "retain": False}
    }
    status, report = _parse(broken, tmp_path)
    assert status == 1
    assert any("qos" in error["path"] for error in report["errors"]), report


def test_an_operation_on_a_missing_channel_is_an_error_for_the_parser(tmp_path: Path) -> None:
    broken = copy.deepcopy(asyncapi.document())
    del broken["channels"]["heartbeat"]
    status, report = _parse(broken, tmp_path)
    assert status == 1
    assert report["errors"], report


def test_every_topic_family_and_trust_page_has_a_channel() -> None:
    doc = asyncapi.document()
    addresses = {channel["address"] for channel in doc["channels"].values()}
    for family in Family:
        assert f"{topics.ROOT}/{{station_id}}/{family.value}" in addresses, family
    assert topics.TRUST_KEYS in addresses
    assert topics.denylist_topic(0).replace("/00", "/{bucket}") in addresses


def test_qos_and_retain_are_on_the_operations_as_published() -> None:
    operations = asyncapi.document()["operations"]
    mqtt = {name: op["bindings"]["mqtt"] for name, op in operations.items()}
    assert mqtt["receive_heartbeat"]["qos"] == 0  # heartbeats are fire and forget
    assert mqtt["receive_state"]["retain"] is True  # the birth message and the last will
    assert mqtt["send_config"]["retain"] is True
    assert mqtt["send_commands"]["retain"] is False  # a command is never retained
    assert mqtt["send_access_decision"]["retain"] is False
    assert mqtt["send_trust_denylist"] == {"qos": 1, "retain": True, "bindingVersion": "0.2.0"}
    for message in asyncapi.document()["components"]["messages"].values():
        assert "bindings" not in message


def test_the_access_request_is_answered_on_the_decision_channel() -> None:
    request = asyncapi.document()["operations"]["receive_access_request"]
    assert request["reply"] == {"channel": {"$ref": "#/channels/access_decision"}}


@pytest.mark.parametrize("family", list(Family))
def test_each_family_has_one_operation(family: Family) -> None:
    name = family.value.replace("/", "_")
    operations = asyncapi.document()["operations"]
    assert [op for op in operations.values() if op["channel"]["$ref"] == f"#/channels/{name}"]


def test_both_listeners_are_tls_with_accounts() -> None:
    doc = asyncapi.document()
    servers = doc["servers"]
    assert {name: s["host"] for name, s in servers.items()} == {
        "stations": "{broker}:8883",
        "internal": "{broker}:8884",
    }
    for server in servers.values():
        assert server["protocol"] == "secure-mqtt"
        assert server["protocolVersion"] == "5"
        (scheme,) = server["security"]
        name = scheme["$ref"].rsplit("/", 1)[1]
        assert doc["components"]["securitySchemes"][name]["type"] == "userPassword"
