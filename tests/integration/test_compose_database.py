"""deploy/postgres-init.sh, as the postgres image runs it on an empty data directory, against
a real PostgreSQL: the server's role can log in, is no superuser, and owns its database, so
the server can make its schema there and nothing more."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from server.core.db import init_db, make_engine

ROOT = Path(__file__).parents[2]
INIT = ROOT / "deploy" / "postgres-init.sh"


def test_the_init_script_makes_an_owner_role_that_is_not_a_superuser(
    postgres_url: str, tmp_path: Path
) -> None:
    if shutil.which("psql") is None:
        pytest.fail("psql missing (Debian: postgresql-client)")
    database = make_url(postgres_url).database
    assert database is not None
    role = f"ws_app_{uuid.uuid4().hex[:8]}"
    password_file = tmp_path / "db_app_password"
    password_file.write_text("app-pass-" + uuid.uuid4().hex)
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": database,
        "WS_DB_APP_USER": role,
        "WS_DB_APP_PASSWORD_FILE": str(password_file),
    }
    admin_url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    try:
        subprocess.run(["/bin/sh", str(INIT)], env=env, check=True, timeout=60)
        app_url = f"postgresql://{role}:{password_file.read_text()}@127.0.0.1:5432/{database}"
        with psycopg.connect(app_url, autocommit=True) as app:
            superuser = app.execute("SELECT rolsuper, rolcreatedb FROM pg_roles "
                                    "WHERE rolname = current_user").fetchone()  # fmt: skip
            assert superuser == (False, False)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute("CREATE DATABASE ws_not_allowed")
        engine = make_engine(app_url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            init_db(engine)  # the server makes its schema as this role
            with engine.connect() as connection:
                owners = connection.exec_driver_sql(
                    "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
                ).all()
            assert owners == [(role,)]
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'REASSIGN OWNED BY "{role}" TO postgres')
            admin.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
        ) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
