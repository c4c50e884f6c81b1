"""A station box installs `.[agent]` only: the agent must import nothing of the server, and
every library it imports must come with the core dependencies or the `agent` extra."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
FIND = PYPROJECT["tool"]["setuptools"]["packages"]["find"]
OWN_PACKAGES = {p.rstrip("*") for p in FIND["include"]}
SERVER_ONLY = (
    "fastapi", "starlette", "sqlmodel", "sqlalchemy", "psycopg", "pwdlib", "argon2",
    "uvicorn", "jinja2", "httpx", "multipart", "qrcode", "PIL", "server", "alembic",
)  # fmt: skip

# Imports every station_agent module but __main__ (importing that may run it) in a fresh
# interpreter, and prints the top-level modules that importing added, with their files.
_IMPORT_ALL = """
import importlib, json, pkgutil, sys
before = set(sys.modules)
import station_agent
for info in pkgutil.walk_packages(station_agent.__path__, "station_agent."):
    if not info.name.endswith(".__main__"):
        importlib.import_module(info.name)
added = {name.split(".")[0] for name in set(sys.modules) - before}
print(json.dumps({n: getattr(sys.modules.get(n), "__file__", None) for n in sorted(added)}))
"""


def _agent_imports() -> dict[str, str | None]:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL], cwd=ROOT, capture_output=True, text=True, check=True
    )
    imported: dict[str, str | None] = json.loads(out.stdout)
    return imported


def _requirement_closure(requirements: list[str]) -> set[str]:
    """Canonical names of the distributions these requirements pull in, transitively, as
    installed here (extras followed)."""
    seen: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        for dep in metadata.requires(req.name) or []:
            todo += [(Requirement(dep), e) for e in ["", *sorted(req.extras)]]
    return {key.split("[")[0] for key in seen}


def test_importing_the_agent_pulls_in_nothing_of_the_server() -> None:
    imported = set(_agent_imports())
    assert "station_agent" in imported
    assert imported.isdisjoint(SERVER_ONLY), sorted(imported & set(SERVER_ONLY))


def test_the_agents_entry_point_pulls_in_nothing_of_the_server() -> None:
    """`python -X importtime -m station_agent --help` lists every module it imported."""
    if not (ROOT / "station_agent" / "__main__.py").exists():
        return  # not written yet: the test above covers every module there is
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "station_agent", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in out.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "station_agent" in modules
    assert modules.isdisjoint(SERVER_ONLY), sorted(modules & set(SERVER_ONLY))


def test_every_library_the_agent_imports_comes_with_the_agent_extra() -> None:
    """A library is a module loaded from site-packages (not the standard library, not a
    module that a compiled extension registers without a file of its own)."""
    site = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    third_party = {
        module
        for module, file in _agent_imports().items()
        if file and module not in OWN_PACKAGES and any(file.startswith(s) for s in site)
    }
    assert {"pydantic", "paho", "cv2"} <= third_party
    provided = _requirement_closure(
        PROJECT["dependencies"] + PROJECT["optional-dependencies"]["agent"]
    )
    owners = metadata.packages_distributions()
    missing = {
        module: owners.get(module, ["?"])
        for module in third_party
        if not any(canonicalize_name(d) in provided for d in owners.get(module, []))
    }
    assert not missing, f"the agent imports these, which .[agent] does not install: {missing}"


def test_extras_split_server_from_agent() -> None:
    core = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    extras = PROJECT["optional-dependencies"]
    server = {canonicalize_name(Requirement(r).name) for r in extras["server"]}
    assert core.isdisjoint(server)
    assert {"fastapi", "sqlmodel", "uvicorn", "psycopg", "pwdlib"} <= server
    agent = {canonicalize_name(Requirement(r).name) for r in extras["agent"]}
    assert "gpiozero" in agent
    # The server image installs core + server: no camera, no QR decoder (Dockerfile).
    camera = {"opencv-python-headless", "pyzbar", "zxing-cpp"}
    assert camera <= agent
    assert camera.isdisjoint(_requirement_closure(PROJECT["dependencies"] + extras["server"]))
    # ./scripts/setup dev installs everything: dev pulls in both.
    self_refs = [Requirement(r) for r in extras["dev"] if Requirement(r).name == PROJECT["name"]]
    assert [sorted(r.extras) for r in self_refs] == [["agent", "server"]]
