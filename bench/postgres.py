"""A throw-away PostgreSQL server for a benchmark or a test: the server binaries installed here
(/usr/lib/postgresql/*/bin), a data directory in a new temporary directory, a free port, trust
authentication for the user ``hub``, stopped and removed afterwards.

    with postgres("hubguide", "tracker") as urls:  # one database each, and their SQLAlchemy URLs
        ...  # urls["postgres"]: the server's own database, to create more in
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stack.processes import free_port


def pg_bin() -> str | None:
    """The newest installed server's bin directory, or None (apt-get install postgresql)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


@contextmanager
def postgres(*databases: str) -> Iterator[dict[str, str]]:
    """A running server with ``databases`` created; yields each one's URL (psycopg 3), and the
    ``postgres`` database's."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server installed (apt-get install postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="hubguide-pg-"))  # PostgreSQL's own user must reach it
    data, port = tmp / "pg", free_port()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb refuses root
    if as_user:
        shutil.chown(tmp, "postgres")
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        subprocess.run(
            [*as_user, f"{bin_dir}/initdb", "-D", str(data), "-U", "hub", "--auth=trust"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*as_user, f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-l", str(tmp / "pg.log"), "-o", options, "start"],
            check=True,
            capture_output=True,
        )
        for name in databases:
            subprocess.run(
                [*as_user, f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "hub", name],
                check=True,
                capture_output=True,
            )
        yield {name: f"postgresql+psycopg://hub@127.0.0.1:{port}/{name}" for name in ("postgres", *databases)}
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True
            )
        shutil.rmtree(tmp, ignore_errors=True)
