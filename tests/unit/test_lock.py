"""requirements/*.lock agree with pyproject.toml: every dependency a part's extras name is
pinned to one version that satisfies pyproject's range (per platform marker), with hashes.
./scripts/lock rewrites them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
LOCKS = {"agent": ["agent"], "server": ["server"], "demo": ["server", "agent"], "dev": ["dev"]}
_PIN = re.compile(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)(?: ; (.+?))? \\$", re.M)


def _direct(extras: list[str]) -> list[Requirement]:
    """What pyproject names for these extras, self-references (dev -> server, agent) followed."""
    found = [Requirement(r) for r in PROJECT["dependencies"]]
    todo = list(extras)
    while todo:
        for text in PROJECT["optional-dependencies"][todo.pop()]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == canonicalize_name(PROJECT["name"]):
                todo += sorted(requirement.extras)
            else:
                found.append(requirement)
    return found


def _pins(lock: str) -> dict[str, list[tuple[Version, str | None]]]:
    text = (ROOT / "requirements" / f"{lock}.lock").read_text(encoding="utf-8")
    pins: dict[str, list[tuple[Version, str | None]]] = {}
    for name, _, version, marker in _PIN.findall(text):
        pins.setdefault(canonicalize_name(name), []).append((Version(version), marker or None))
    return pins


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_dependency_is_pinned_within_its_range(lock: str) -> None:
    pins = _pins(lock)
    for requirement in _direct(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/{lock}.lock: ./scripts/lock"
        for version, _ in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements/{lock}.lock pins {name}=={version}, pyproject wants "
                f"{requirement}: run ./scripts/lock"
            )


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_carries_hashes(lock: str) -> None:
    text = (ROOT / "requirements" / f"{lock}.lock").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    assert len(entries) == sum(len(v) for v in _pins(lock).values())
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_a_lock_missing_a_dependency_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: pyproject naming a package the lock lacks."""
    monkeypatch.setitem(PROJECT, "dependencies", [*PROJECT["dependencies"], "left-pad>=1"])
    with pytest.raises(AssertionError, match="left-pad"):
        test_every_dependency_is_pinned_within_its_range("server")


def test_the_server_lock_has_no_camera_or_qr_decoder() -> None:
    pins = _pins("server")
    assert not {"opencv-python-headless", "pyzbar", "zxing-cpp", "gpiozero"} & set(pins)
    assert {"opencv-python-headless", "pyzbar", "zxing-cpp", "gpiozero"} <= set(_pins("agent"))
    assert not {"fastapi", "sqlmodel", "uvicorn"} & set(_pins("agent"))
