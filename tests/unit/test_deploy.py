"""The production compose file, its demo overlay and the Dockerfile, checked without Docker:
valid under the Compose Specification's schema (vendored in tests/support/compose_spec/), and
every file, command, build target, secret and environment variable they name exists."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from server.core.settings import ServerSettings

ROOT = Path(__file__).parents[2]
PRODUCTION = ROOT / "docker-compose.yml"
DEMO = ROOT / "docker-compose.demo.yml"
SCHEMA = ROOT / "tests" / "support" / "compose_spec" / "compose-spec.json"
DOCKERFILE = ROOT / "Dockerfile"
# Variables the official postgres image reads (its documentation's list).
POSTGRES_IMAGE_VARS = {
    "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE",
    "POSTGRES_INITDB_ARGS", "POSTGRES_HOST_AUTH_METHOD", "PGDATA",
}  # fmt: skip
_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)")


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _merged() -> dict[str, Any]:
    """The production file with the demo overlay on top, service by service (enough here:
    the overlay only adds)."""
    merged = _load(PRODUCTION)
    for section, entries in _load(DEMO).items():
        merged.setdefault(section, {}).update(entries)
    return merged


def _env_names(service: dict[str, Any]) -> set[str]:
    env = service.get("environment", {})
    names = set(env) if isinstance(env, dict) else {item.split("=")[0] for item in env}
    for secret in service.get("secrets", []):
        if isinstance(secret, dict) and str(secret.get("target", "")).startswith("WS_"):
            names.add(secret["target"])  # exported by deploy/secrets-entrypoint.sh
    return names


def _repo_mounts(service: dict[str, Any]) -> list[Path]:
    sources = [str(v).split(":")[0] for v in service.get("volumes", [])]
    return [ROOT / s for s in sources if s.startswith("./")]


@pytest.mark.parametrize("path", [PRODUCTION, DEMO], ids=lambda p: p.name)
def test_valid_under_the_compose_specification(path: Path) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(_load(path))


def test_the_schema_rejects_a_broken_file() -> None:
    """The check can fail: a misspelt key is not a Compose file."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = _load(PRODUCTION)
    broken["services"]["server"]["restart_policy"] = "always"
    with pytest.raises(jsonschema.ValidationError, match="restart_policy"):
        jsonschema.Draft7Validator(schema).validate(broken)


def test_every_service_restarts_and_has_a_healthcheck() -> None:
    for name, service in _merged()["services"].items():
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name


def test_production_has_no_simulated_stations_and_the_server_scales() -> None:
    services = _load(PRODUCTION)["services"]
    commands = [" ".join(s.get("command", [])) for s in services.values()]
    assert not [c for c in commands if "-m demo" in c]
    assert "stations" in _load(DEMO)["services"]
    server = services["server"]
    assert "ports" not in server  # no fixed host port: --scale server=3 works
    assert "container_name" not in server
    assert server["healthcheck"]["test"][-1].count("/readyz") == 1
    # Published: the broker's TLS listener and the proxy's HTTP(S), nothing else.
    published = {n: s["ports"] for n, s in services.items() if "ports" in s}
    assert published == {"broker": ["8883:8883"], "proxy": ["80:80", "443:443"]}


def test_no_password_is_written_in_the_compose_files() -> None:
    for path in (PRODUCTION, DEMO):
        for name, service in _load(path)["services"].items():
            for variable in _env_names(service):
                value = service.get("environment", {}).get(variable, "")
                if re.search("PASSWORD|SECRET|TOKEN|KEY", variable):
                    assert variable.endswith("_FILE") or not value, (path.name, name, variable)
        assert not re.search(r"://[^/\s:]+:[^@\s]+@", path.read_text(encoding="utf-8"))


def test_the_database_role_of_the_server_is_not_the_superuser(tmp_path: Path) -> None:
    subprocess.run([ROOT / "scripts" / "compose-secrets", tmp_path / "s"], check=True)
    url = (tmp_path / "s" / "database_url").read_text()
    db = _load(PRODUCTION)["services"]["db"]
    assert url.startswith(f"postgresql+psycopg://{db['environment']['WS_DB_APP_USER']}:")
    assert db["environment"]["WS_DB_APP_USER"] != db["environment"]["POSTGRES_USER"]
    assert (tmp_path / "s" / "db_app_password").read_text() in url


def test_every_secret_file_is_made_by_the_secrets_script(tmp_path: Path) -> None:
    subprocess.run([ROOT / "scripts" / "compose-secrets", tmp_path / "s"], check=True)
    for name, secret in _merged()["secrets"].items():
        relative = Path(secret["file"]).relative_to("secrets")
        made = tmp_path / "s" / relative
        assert made.is_file(), name
        assert made.stat().st_size >= 20, name
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o700


def test_every_mounted_file_and_build_target_exists() -> None:
    stages = re.findall(r"^FROM \S+ AS (\S+)$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    for name, service in _merged()["services"].items():
        for path in _repo_mounts(service):
            assert path.is_file(), (name, path)
        if "build" in service:
            assert (ROOT / service["build"]["context"] / "Dockerfile").is_file()
            assert service["build"]["target"] in stages, name


def test_every_python_command_runs_a_module_that_takes_its_options() -> None:
    for name, service in _merged()["services"].items():
        command = service.get("command", [])
        if command[:2] != ["python", "-m"]:
            continue
        module = command[2]
        assert importlib.util.find_spec(f"{module}.__main__") is not None, name
        options = [word for word in command[3:] if word.startswith("--")]
        if options:
            usage = subprocess.run(
                [sys.executable, "-m", module, "--help"],
                cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
            ).stdout  # fmt: skip
            for option in options:
                assert option in usage, (name, option)


def test_every_environment_variable_is_read_by_what_the_service_runs() -> None:
    fields = {f"WS_SERVER_{name.upper()}" for name in ServerSettings.model_fields}
    for name, service in _merged()["services"].items():
        command = service.get("command", [])
        readers = [p.read_text(encoding="utf-8") for p in _repo_mounts(service)]
        if command[:2] == ["python", "-m"]:
            package = ROOT / command[2]
            readers += [p.read_text(encoding="utf-8") for p in package.rglob("*.py")]
        for variable in _env_names(service):
            if variable.startswith("WS_SERVER_"):
                assert variable in fields, (name, variable)
            elif str(service.get("image", "")).startswith("postgres:") and (
                variable in POSTGRES_IMAGE_VARS
            ):
                continue
            else:
                assert any(variable in text for text in readers), (name, variable)


def test_every_interpolated_variable_is_in_the_env_example() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    for path in (PRODUCTION, DEMO):
        used = set(_INTERPOLATION.findall(path.read_text(encoding="utf-8")))
        assert used <= documented, (path.name, used - documented)


def test_the_proxy_reaches_the_servers_port() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    server = _load(PRODUCTION)["services"]["server"]
    assert "name server" in caddyfile
    assert f"port {server['expose'][0]}" in caddyfile
    assert "{$WS_SITE_ADDRESS}" in caddyfile
    assert (
        server["environment"]["WS_SERVER_TRUSTED_PROXIES"]
        == (_load(PRODUCTION)["networks"]["web"]["ipam"]["config"][0]["subnet"])
    )


def _stage(name: str) -> str:
    text = DOCKERFILE.read_text(encoding="utf-8")
    start = re.search(rf"^FROM \S+ AS {name}$", text, re.M)
    assert start is not None, name
    rest = text[start.end() :]
    following = re.search(r"^FROM ", rest, re.M)
    return rest[: following.start()] if following else rest


def test_the_dockerfile_is_multi_stage_pinned_and_installs_from_locks() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base is not None
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1))
    assert set(re.findall(r"^FROM (\S+)", text, re.M)) == {"${PYTHON_IMAGE}"}
    for stage, lock in (("build-server", "server"), ("build-demo", "demo")):
        body = _stage(stage)
        assert f"--require-hashes \\\n      -r requirements/{lock}.lock" in body
        assert "--no-deps ." in body
    for source in re.findall(r"^COPY (?!--from)(\S+) ", text, re.M):
        assert (ROOT / source).exists(), source


def test_the_server_image_has_no_camera_libraries_and_checks_readiness() -> None:
    server = _stage("server")
    assert "--from=build-server" in server
    assert "zbar" not in server + _stage("build-server")
    assert "station_agent" not in _stage("build-server")
    lock = (ROOT / "requirements" / "server.lock").read_text(encoding="utf-8")
    for package in ("opencv", "pyzbar", "zxing"):
        assert package not in lock
    assert "HEALTHCHECK" in server
    assert "/readyz" in server
    user = re.search(r"^USER (\S+)$", server, re.M)
    assert user is not None
    assert user.group(1) not in {"root", "0"}
    assert 'CMD ["python", "-m", "server"]' in server
