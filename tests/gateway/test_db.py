"""The migrations create exactly the schema the models describe, on SQLite and,
where a PostgreSQL server can be started here, on PostgreSQL."""

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gateway import db
from gateway.models import Base


def assert_schema_matches_models(url: str) -> None:
    db.migrate(url)
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            assert diff == []
            assert set(inspect(connection).get_table_names()) >= {"hubs", "residents", "messages", "handoffs"}
        command.downgrade(db.alembic_config(url), "base")
        assert "residents" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_migrations_match_the_models_on_sqlite(tmp_path):
    assert_schema_matches_models(f"sqlite:///{tmp_path / 'fresh' / 'hubguide.db'}")


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


@pytest.mark.skipif(_pg_bin() is None, reason="no PostgreSQL server installed (apt-get install postgresql)")
def test_migrations_match_the_models_on_postgresql():
    from stack.processes import free_port

    tmp_path = Path(tempfile.mkdtemp(prefix="hubguide-pg-"))  # PostgreSQL's user must reach it
    bin_dir, data, port = _pg_bin(), tmp_path / "pg", free_port()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(tmp_path, "postgres")
    subprocess.run(
        [*as_user, f"{bin_dir}/initdb", "-D", str(data), "-U", "hub", "--auth=trust"], check=True, capture_output=True
    )
    subprocess.run(
        [
            *as_user,
            f"{bin_dir}/pg_ctl",
            "-D",
            str(data),
            "-w",
            "-l",
            str(tmp_path / "pg.log"),
            "-o",
            f"-p {port} -k {tmp_path} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*as_user, f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "hub", "hubguide"],
            check=True,
            capture_output=True,
        )
        assert_schema_matches_models(f"postgresql+psycopg://hub@127.0.0.1:{port}/hubguide")
    finally:
        subprocess.run([*as_user, f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp_path, ignore_errors=True)
