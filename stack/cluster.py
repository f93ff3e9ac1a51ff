"""Several gateway replicas on one machine, as a city runs the service: ``python -m stack.cluster``
(``make cluster``; ``--replicas N``, default 2).

It starts PostgreSQL and Redis (from Debian's packages, in ``DATA_DIR/cluster``) unless
DATABASE_URL names a PostgreSQL database or REDIS_URL a Redis, migrates the database once,
then starts the Rasa server (tracker store on PostgreSQL, lock store on Redis), the action
server and N gateway replicas (uvicorn on free ports, all with the same settings), and HAProxy
in front of them on GATEWAY_PORT. It prints where each part listens, and Ctrl-C or SIGTERM
stops everything, the load balancer first and the databases last. A replica that dies is
started again; any other part that dies stops the cluster.

The processes are the ones ``python -m stack`` runs (``stack.processes``), with the settings
pointed at the shared stores; the servers beside them are in ``stack.services_local``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from gateway import store
from gateway.db import make_engine, migrate
from gateway.settings import Settings, get_settings
from stack import model, services_local
from stack.model import shown
from stack.processes import Service, Stack, StackError, free_port, port_taken

REPLICAS = 2
HEALTH_PATH = "/readyz"  # what the load balancer asks each replica (gateway/health.py)
LOCK_STORE_PASSWORD = "LOCK_STORE_PASSWORD"  # the Rasa server reads Redis' password from here, not from a file


@dataclasses.dataclass
class Cluster:
    settings: Settings
    replicas: int = REPLICAS
    model_path: Path = model.MODEL
    stack: type[Stack] = Stack  # one gateway, Rasa and action server (bench.cluster_load swaps the bot)
    services: list[Service] = dataclasses.field(default_factory=list)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    lines: list[str] = dataclasses.field(default_factory=list)  # where each part listens

    @property
    def folder(self) -> Path:
        return self.settings.data_dir / "cluster"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @property
    def url(self) -> str:
        return f"http://{self.settings.gateway_host}:{self.settings.gateway_port}"

    def start(self, progress: bool = False) -> None:
        try:
            self._start(progress)
        except BaseException:
            self.stop()
            raise

    def _start(self, progress: bool) -> None:
        s = self.settings
        self._check(s)
        database_url, tracker_url = s.database_url, s.tracker_store_url
        if not database_url.startswith("postgresql"):
            logs = self.logs / "postgres.log"
            self._step(
                "preparing PostgreSQL's folder",
                progress,
                lambda: services_local.initdb_once(self.folder / "postgres", logs),
            )
            server = self._run(services_local.postgres(self.folder / "postgres", free_port(), logs), progress)
            services_local.create_databases(server.health_url)
            database_url, tracker_url = f"{server.health_url}/hubguide", f"{server.health_url}/rasa"
            self.lines.append(f"PostgreSQL      {_where(database_url)} (data in {shown(self.folder / 'postgres')})")
        else:
            self.lines.append(f"PostgreSQL      {_where(database_url)} (managed)")
        tracker_url = (tracker_url or database_url).replace("postgresql+psycopg:", "postgresql:")  # Rasa's driver
        redis_url = s.redis_url
        if not redis_url:
            redis_url = self._run(
                services_local.redis_server(self.folder / "redis", free_port(), self.logs / "redis.log"), progress
            ).health_url
            self.lines.append(f"Redis           {_where(redis_url)}")
        else:
            self.lines.append(f"Redis           {_where(redis_url)} (managed)")
        shared = s.model_copy(
            update={"database_url": database_url, "tracker_store_url": tracker_url, "redis_url": redis_url}
        )
        self._step("migrating the database", progress, lambda: prepare_database(database_url))
        self._start_processes(shared, progress)

    def _check(self, s: Settings) -> None:
        needed = {"haproxy"}
        if not s.database_url.startswith("postgresql"):
            needed.add("postgresql")
        if not s.redis_url:
            needed.add("redis-server")
        missing = sorted(needed & set(services_local.missing_binaries()))
        if missing:
            raise StackError(f"missing Debian packages: apt-get install {' '.join(missing)}")
        if not self.model_path.exists():
            raise StackError(f"no trained model at {self.model_path}; run `make train`")
        for port in (s.gateway_port, s.rasa_port, s.action_port):
            if port_taken(port):
                raise StackError(
                    f"port {port} is already taken; stop what uses it or set another port (see .env.example)"
                )

    def _start_processes(self, shared: Settings, progress: bool) -> None:
        s = shared
        stack = self.stack(s, s.rasa_port, s.action_port, s.gateway_port, self.model_path, self.logs)
        self.env = stack.environment()
        rasa, actions, gateway = stack.build()
        lock_store = lock_store_yaml(shared.redis_url)
        # Rasa holds a conversation's lock 60 s by default after its holder died; the gateway already
        # keeps each resident's turns in order (gateway.ordering), so a shorter one recovers sooner.
        self.env.setdefault("TICKET_LOCK_LIFETIME", "20")
        if urlsplit(shared.redis_url).password:
            self.env[LOCK_STORE_PASSWORD] = urlsplit(shared.redis_url).password or ""
        endpoints = self.folder / "endpoints.yml"
        endpoints.write_text((model.ROOT / "endpoints.yml").read_text(encoding="utf-8") + lock_store, encoding="utf-8")
        rasa.command = with_option(rasa.command, "--endpoints", str(endpoints))
        replicas = [replica(gateway, n, free_port()) for n in range(1, self.replicas + 1)]
        started = [actions, *replicas, rasa]  # the Rasa server is slowest: waited for last
        self.services += started
        for service in started:
            service.start(self.env, to_terminal=False)
        for service in started:
            self._wait(service, progress)
        for service in replicas:
            self.lines.append(f"{service.name:<16}{service.health_url.removesuffix('/health')}")
        self.lines.append(f"Rasa server     {stack.rasa_url} (tracker store on PostgreSQL, lock store on Redis)")
        self.lines.append(f"action server   http://127.0.0.1:{shared.action_port}")
        config = self.folder / "haproxy.cfg"
        ports = [int(urlsplit(r.health_url).port or 0) for r in replicas]
        config.write_text(services_local.haproxy_config(shared.gateway_host, shared.gateway_port, ports, HEALTH_PATH))
        self._run(services_local.haproxy(config, self.url, self.logs / "haproxy.log", HEALTH_PATH), progress)
        self.lines.append(f"load balancer   {self.url}  (web chat /, inbox /inbox, SMS webhook /sms/webhook)")
        self.lines.append(f"logs            {shown(self.logs)}/")

    def _run(self, service: Service, progress: bool) -> Service:
        self.services.append(service)
        service.start(self.env or dict(os.environ), to_terminal=False)
        self._wait(service, progress)
        return service

    def _wait(self, service: Service, progress: bool) -> None:
        if progress:
            print(f"waiting for the {service.name}", end="", flush=True)
        seconds = service.wait_ready(progress)
        if progress:
            print(f" ready in {seconds:.0f} s", flush=True)

    def _step(self, what: str, progress: bool, work) -> None:
        if progress:
            print(what, end="", flush=True)
        started = time.monotonic()
        work()
        if progress:
            print(f" done in {time.monotonic() - started:.0f} s", flush=True)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def restart(self, name: str) -> None:
        """Start one service again and wait until it answers (a replica that died; fault tests)."""
        service = self.service(name)
        service.stop()
        service.start(self.env, to_terminal=False)
        service.wait_ready(progress=False)

    def stop(self) -> None:
        """Everything, the load balancer first and the databases last."""
        for service in reversed(self.services):
            service.stop()

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def prepare_database(url: str) -> None:
    """Migrations and the hubs, once, before any replica starts (two replicas inserting the
    same hub at once would collide)."""
    migrate(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            store.sync_hubs(session)
    finally:
        engine.dispose()


def replica(gateway: Service, number: int, port: int) -> Service:
    """The gateway service as replica ``number``: on 127.0.0.1:``port``, behind the load balancer."""
    command = with_option(with_option(gateway.command, "--port", str(port)), "--host", "127.0.0.1")
    return dataclasses.replace(
        gateway,
        name=f"gateway {number}",
        command=command,
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=gateway.log_path.with_name(f"gateway-{number}.log"),
        process=None,
    )


def with_option(command: list[str], option: str, value: str) -> list[str]:
    """``command`` with the value after ``option`` replaced."""
    at = command.index(option)
    return [*command[: at + 1], value, *command[at + 2 :]]


def lock_store_yaml(redis_url: str) -> str:
    """Rasa's Redis lock store on ``redis_url``, as endpoints.yml spells it."""
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss"):
        raise StackError(f"the Rasa server's lock store needs a redis:// or rediss:// REDIS_URL, not {parts.scheme}://")
    lines = [
        "",
        "# Added by stack/cluster.py: one conversation's messages at a time, across the gateway replicas.",
        "lock_store:",
        "  type: redis",
        f"  url: {parts.hostname or 'localhost'}",
        f"  port: {parts.port or 6379}",
        f"  db: {(parts.path or '/0').strip('/') or 0}",
        f"  use_ssl: {'true' if parts.scheme == 'rediss' else 'false'}",
        "  key_prefix: hubguide",
    ]
    if parts.username:
        lines.append(f"  username: {parts.username}")
    if parts.password:
        lines.append(f"  password: ${{{LOCK_STORE_PASSWORD}}}")
    return "\n".join(lines) + "\n"


def _where(url: str) -> str:
    """host:port/database of a URL, without its user or password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}{parts.path}"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=REPLICAS, help=f"gateway replicas (default {REPLICAS})")
    args = parser.parse_args(argv)
    # Ctrl-C, or SIGTERM from a supervisor, stops everything, also when started in the background.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    cluster = Cluster(get_settings(), max(1, args.replicas))
    started = time.monotonic()
    try:
        cluster.start(progress=True)
        print(f"\nThe hub guide runs as a cluster ({time.monotonic() - started:.0f} s to start).")
        print("\n".join(f"  {line}" for line in cluster.lines))
        print("Press Ctrl-C to stop.", flush=True)
        return watch(cluster)
    except StackError as exc:
        print(f"\ncannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        cluster.stop()


def watch(cluster: Cluster) -> int:
    """Until Ctrl-C: a replica that dies is started again; any other part that dies ends the cluster."""
    while True:
        time.sleep(1)
        for service in cluster.services:
            if service.process is None or service.process.poll() is None:
                continue
            print(f"the {service.name} stopped (exit {service.process.returncode})", file=sys.stderr, flush=True)
            if not service.name.startswith("gateway "):
                return 1
            cluster.restart(service.name)
            print(f"the {service.name} is back", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
