"""The servers a cluster runs beside its own processes, from Debian's packages on this
machine: PostgreSQL (initdb into a folder of the project's data), Redis and HAProxy.

Each is a ``stack.processes.Service``, started, waited for and stopped like the Rasa
server and the gateway, in its own process group, so stopping leaves nothing behind.
``python -m stack.cluster`` starts them unless settings point at managed ones; the
tests start them on free ports (``tests/stack``, ``tests/gateway/test_replicas.py``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import psycopg
import redis

from stack.processes import READY_SECONDS, ROOT, Service, StackError

HAPROXY_TEMPLATE = Path(__file__).with_name("haproxy.cfg")
PG_USER = "hub"  # the cluster's own PostgreSQL: one role, trusted on 127.0.0.1 only
PG_DATABASES = ("hubguide", "rasa")  # the gateway's, and the Rasa server's tracker store
# PostgreSQL refuses to run as root: as root, its folder and process belong to this system user
# (Debian's postgresql package makes it).
PG_SYSTEM_USER = "postgres"


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server's binaries installed from Debian's packages, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def missing_binaries() -> list[str]:
    """The Debian packages the cluster needs that are not installed."""
    needed = {"postgresql": postgres_bin(), "redis-server": shutil.which("redis-server")}
    needed["haproxy"] = shutil.which("haproxy")
    return [package for package, found in needed.items() if not found]


@dataclass
class Daemon(Service):
    """A service whose readiness is not an HTTP answer (``ready``), run as ``user`` if given."""

    ready: Callable[[], bool] = field(default=lambda: False)
    user: str | None = None

    def start(self, env: dict[str, str], to_terminal: bool = False) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **_as_user(self.user),
            )

    def is_ready(self) -> bool:
        return self.ready()


@contextmanager
def serving(service: Service, env: dict[str, str] | None = None) -> Iterator[Service]:
    """``service`` started and answering inside, stopped after (the tests' servers)."""
    try:
        service.start(env if env is not None else dict(os.environ), to_terminal=False)
        service.wait_ready(progress=False)
        yield service
    finally:
        service.stop()


def _as_user(user: str | None) -> dict:
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


# --- PostgreSQL ------------------------------------------------------------------------------------


def _pg() -> tuple[Path, str | None]:
    """PostgreSQL's binaries, and the user it runs as."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise StackError("PostgreSQL is not installed: apt-get install postgresql (or set DATABASE_URL)")
    return bin_dir, PG_SYSTEM_USER if os.geteuid() == 0 else None


def postgres(folder: Path, port: int, logs: Path) -> Daemon:
    """A PostgreSQL server with its data in ``folder`` (``initdb_once`` first), listening on
    127.0.0.1:``port``; ``create_databases`` once it is ready."""
    bin_dir, user = _pg()
    data = folder / "data"
    command = [
        str(bin_dir / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"unix_socket_directories={data}",  # not /var/run/postgresql, which may not exist or be ours
    ]
    url = f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}"
    return Daemon(
        "PostgreSQL server",
        command,
        url,
        READY_SECONDS,
        logs,
        ready=lambda: _answers(url),
        user=user,
        stop_signal=signal.SIGINT,
    )


def initdb_once(folder: Path, logs: Path) -> None:
    """A new PostgreSQL data folder in ``folder``, unless there is one: role ``hub``, trusted."""
    bin_dir, user = _pg()
    data = folder / "data"
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    if user is not None:
        for path in (data.parent, data):
            shutil.chown(path, user, user)
    command = [str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-locale"]
    done = subprocess.run(command, capture_output=True, text=True, **_as_user(user))
    if done.returncode:
        logs.parent.mkdir(parents=True, exist_ok=True)
        logs.write_text(done.stdout + done.stderr, encoding="utf-8")
        shutil.rmtree(data, ignore_errors=True)
        reach = f" (can the {user} user reach {data}?)" if user else ""
        raise StackError(f"initdb failed{reach}; see {logs}")


def _connect(url: str, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg", "postgresql") + f"/{database}", connect_timeout=2)


def _answers(url: str) -> bool:
    try:
        _connect(url).close()
    except psycopg.OperationalError:
        return False
    return True


def create_databases(server_url: str) -> None:
    """The gateway's database and the tracker store's, unless they exist."""
    with _connect(server_url) as conn:
        conn.autocommit = True
        have = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in PG_DATABASES:
            if name not in have:
                conn.execute(f'CREATE DATABASE "{name}"')


# --- Redis -----------------------------------------------------------------------------------------


def redis_server(folder: Path, port: int, logs: Path) -> Daemon:
    """A Redis on 127.0.0.1:``port`` that keeps nothing on disk: what the gateways keep there
    (rate limits, locks, pub/sub) is meant to last minutes."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError("Redis is not installed: apt-get install redis-server (or set REDIS_URL)")
    folder.mkdir(parents=True, exist_ok=True)
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)]
    command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"]
    url = f"redis://127.0.0.1:{port}/0"
    return Daemon("Redis server", command, url, READY_SECONDS, logs, ready=lambda: _pongs(url))


def _pongs(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


# --- HAProxy ---------------------------------------------------------------------------------------


def haproxy_config(host: str, port: int, replicas: list[int], health_path: str) -> str:
    """stack/haproxy.cfg for a load balancer on ``host``:``port`` in front of the replicas' ports."""
    # Each replica twice: checked, and as an unchecked backup used only when every check fails (a
    # machine under load answering /readyz slowly), so the balancer still tries them rather than
    # answering 503, which Twilio does not retry.
    servers = "\n".join(
        [f"    server gateway-{n} 127.0.0.1:{p}" for n, p in enumerate(replicas, 1)]
        + [f"    server fallback-{n} 127.0.0.1:{p} backup no-check" for n, p in enumerate(replicas, 1)]
    )
    return Template(HAPROXY_TEMPLATE.read_text(encoding="utf-8")).substitute(
        host=host, port=port, servers=servers, health_path=health_path
    )


def haproxy(config: Path, url: str, logs: Path, health_path: str) -> Daemon:
    """HAProxy in the foreground with ``config``, serving ``url``; ready when a replica answers through it."""
    binary = shutil.which("haproxy")
    if binary is None:
        raise StackError("HAProxy is not installed: apt-get install haproxy")
    check = subprocess.run([binary, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
    if check.returncode:
        raise StackError(f"HAProxy refuses {config}: {check.stderr.strip() or check.stdout.strip()}")
    return Daemon(
        "load balancer", [binary, "-db", "-f", str(config)], url, READY_SECONDS, logs, ready=_http_ok(url + health_path)
    )


def _http_ok(url: str) -> Callable[[], bool]:
    import httpx

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return ready
