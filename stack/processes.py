"""Start, watch and stop the three processes of the assistant.

``python -m stack.processes`` (``make run``) migrates the database, starts the Rasa
server, the action server and the gateway, waits until each answers its
health check, prints where to go, and stops all three on Ctrl-C. The
end-to-end tests and benchmarks start the same stack on free ports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gateway.db import migrate
from gateway.settings import ROOT, Settings, get_settings
from stack import model
from stack.model import shown

VENV = ROOT / ".venv"
RASA_READY_SECONDS = 240  # loading the model takes about 12 s on a quiet 2-core machine, minutes on a busy one
READY_SECONDS = 60


class StackError(Exception):
    """A clear, one-line reason the stack cannot start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    ready_seconds: float
    log_path: Path
    # An answer that means the process is up but will never be ready (the Rasa server
    # answers 409 when it started without the model it could not load).
    failed_status: int | None = None
    process: subprocess.Popen | None = None
    stop_signal: int = signal.SIGTERM  # what asks it to stop (PostgreSQL's fast shutdown is SIGINT)

    def start(self, env: dict[str, str], to_terminal: bool) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = None if to_terminal else open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # Ctrl-C reaches us, and we stop children in order
        )

    def is_ready(self) -> bool:
        try:
            response = httpx.get(self.health_url, timeout=2)
        except httpx.HTTPError:
            return False
        if response.status_code == self.failed_status:
            raise StackError(
                f"{self.name} started but is not usable (HTTP {response.status_code}); see {shown(self.log_path)}"
            )
        if response.status_code != 200:
            return False
        return "model_file" not in response.text or bool(response.json().get("model_file"))

    def wait_ready(self, progress: bool) -> float:
        started = time.monotonic()
        delay = 0.2
        while time.monotonic() - started < self.ready_seconds:
            if self.process.poll() is not None:
                raise StackError(f"{self.name} exited with code {self.process.returncode}; see {shown(self.log_path)}")
            if self.is_ready():
                return time.monotonic() - started
            if progress:
                print(".", end="", flush=True)
            time.sleep(delay)  # bounded retry against a process we just started
            delay = min(delay * 1.5, 2.0)
        raise StackError(
            f"{self.name} did not answer {self.health_url} within "
            f"{self.ready_seconds:.0f} s; see {shown(self.log_path)}"
        )

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, self.stop_signal)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass


@dataclass
class Stack:
    settings: Settings
    rasa_port: int = 5005
    action_port: int = 5055
    gateway_port: int = 8000
    model_path: Path = model.MODEL
    log_dir: Path | None = None
    gateway_to_terminal: bool = False
    services: list[Service] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def environment(self) -> dict[str, str]:
        s = self.settings
        tracker = s.tracker_store_sqlalchemy_url
        env = dict(os.environ)
        # Every setting, so the processes see exactly the settings this stack was given.
        for name, value in s.model_dump().items():
            env[name.upper()] = str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "APP_ENV": s.app_env,
                "DATA_DIR": str(s.data_dir),
                "DATABASE_URL": s.sqlalchemy_url,
                "RASA_URL": self.rasa_url,
                "RASA_TOKEN": s.rasa_token.get_secret_value(),
                "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_port}/webhook",
                "TRACKER_STORE_URL": tracker,
                "TRACKER_STORE_DIALECT": tracker.split(":", 1)[0].split("+", 1)[0],
                "SANIC_HOST": "127.0.0.1",
                "GATEWAY_PORT": str(self.gateway_port),
                "RASA_PORT": str(self.rasa_port),
                "ACTION_PORT": str(self.action_port),
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "RASA_TELEMETRY_ENABLED": "false",  # no usage data leaves the machine
            }
        )
        return env

    def build(self) -> list[Service]:
        logs = self.log_dir or self.settings.data_dir / "logs"
        token = self.settings.rasa_token.get_secret_value()
        return [
            Service(
                "Rasa server",
                [
                    *model.RASA_CLI,
                    "run",
                    "--enable-api",
                    "--auth-token-env",  # not the token itself: `ps` shows command lines to every user
                    "RASA_TOKEN",  # set in environment(); stack.rasa_cli hands it to Rasa
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(self.rasa_port),
                    "--model",
                    str(self.model_path),
                    "--endpoints",
                    "endpoints.yml",
                    "--credentials",
                    "credentials.yml",
                ],
                f"{self.rasa_url}/status?token={token}",
                RASA_READY_SECONDS,
                logs / "rasa.log",
                failed_status=409,
            ),
            Service(
                "action server",
                [
                    str(VENV / "app" / "bin" / "python"),
                    "-m",
                    "actions",
                    "--port",
                    str(self.action_port),
                ],
                f"http://127.0.0.1:{self.action_port}/health",
                READY_SECONDS,
                logs / "actions.log",
            ),
            Service(
                "gateway",
                [
                    str(VENV / "app" / "bin" / "uvicorn"),
                    "gateway.app:app",
                    "--host",
                    self.settings.gateway_host,
                    "--port",
                    str(self.gateway_port),
                    "--no-access-log",
                    # Only these proxies' X-Forwarded-For is believed (uvicorn would otherwise take
                    # FORWARDED_ALLOW_IPS from the environment).
                    "--forwarded-allow-ips",
                    self.settings.trusted_proxies,
                    # An open inbox keeps its event stream open; do not let it hold a stop.
                    "--timeout-graceful-shutdown",
                    "5",
                ],
                f"{self.gateway_url}/health",
                READY_SECONDS,
                logs / "gateway.log",
            ),
        ]

    def start(self, progress: bool = False) -> None:
        if not self.model_path.exists():
            raise StackError(f"no trained model at {self.model_path}; run `make train`")
        for port in (self.rasa_port, self.action_port, self.gateway_port):
            if port_taken(port):
                raise StackError(
                    f"port {port} is already taken; stop what uses it or set another port (see .env.example)"
                )
        migrate(self.settings.sqlalchemy_url)
        env = self.environment()
        self.services = self.build()
        try:
            # All three start at once; the Rasa server is slowest, so wait for it last.
            for service in self.services:
                service.start(env, to_terminal=self.logs_to_terminal(service))
            for service in (self.services[1], self.services[2], self.services[0]):
                # A service whose log comes to the terminal gets whole lines, not dots: its lines
                # would land in the middle of ours.
                logs_here = self.logs_to_terminal(service)
                if progress:
                    print(f"waiting for the {service.name}", end="\n" if logs_here else "", flush=True)
                seconds = service.wait_ready(progress and not logs_here)
                if progress:
                    print(f"{service.name} ready in {seconds:.0f} s" if logs_here else f" ready in {seconds:.0f} s")
        except BaseException:
            self.stop()
            raise

    def logs_to_terminal(self, service: Service) -> bool:
        return self.gateway_to_terminal and service.name == "gateway"

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def restart(self, name: str) -> None:
        """Start one stopped service again and wait until it answers (fault tests)."""
        service = self.service(name)
        service.stop()
        service.start(self.environment(), to_terminal=False)
        service.wait_ready(progress=False)

    def stop(self) -> None:
        # The gateway first, so nothing new reaches the bot while it stops.
        for service in reversed(self.services):
            service.stop()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def inbox_admins(url: str) -> list[str]:
    """The e-mail addresses of the inbox's active admin accounts."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from gateway.db import make_engine
    from gateway.models import Coordinator

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(
                session.scalars(
                    select(Coordinator.email)
                    .where(Coordinator.role == "admin", Coordinator.active)
                    .order_by(Coordinator.id)
                )
            )
    finally:
        engine.dispose()


def summary(stack: Stack, admins: list[str], seconds: float) -> str:
    """What `make run` prints once everything answers: where to go, and how to sign in to the inbox."""
    s = stack.settings
    logs = shown(s.data_dir / "logs")
    inbox_cli = ".venv/app/bin/python -m gateway.inbox"
    if admins:
        account = f"sign in as {', '.join(admins)}; a forgotten password: {inbox_cli} set-password --email {admins[0]}"
    else:
        account = (
            f"no admin account yet; make the first one (it asks for a password):\n"
            f'                      {inbox_cli} create-admin --email you@example.org --name "Your Name"'
        )
    delivery = "dry-run: outgoing SMS are stored and logged, not sent" if s.sms_dry_run else "live through Twilio"
    return f"""
The hub guide is running ({seconds:.0f} s to start).
  web chat:           {stack.gateway_url}/
  coordinator inbox:  {stack.gateway_url}/inbox
                      {account}
  SMS webhook:        {stack.gateway_url}/sms/webhook  (Twilio calls {s.public_base_url}/sms/webhook)
  API docs:           {stack.gateway_url}/docs
  SMS delivery:       {delivery}
  logs:               {logs}/ (Rasa server and action server); the gateway logs here
Press Ctrl-C to stop."""


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C, or `kill` from a supervisor, stops all three processes cleanly, also
    # when a shell started us in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = get_settings()
    stack = Stack(
        settings,
        rasa_port=settings.rasa_port,
        action_port=settings.action_port,
        gateway_port=settings.gateway_port,
        gateway_to_terminal=True,
    )
    started = time.monotonic()
    try:
        stack.start(progress=True)
    except StackError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped")
        return 130
    print(summary(stack, inbox_admins(settings.sqlalchemy_url), time.monotonic() - started), flush=True)
    try:
        while all(s.process.poll() is None for s in stack.services):
            time.sleep(1)
        dead = next(s for s in stack.services if s.process.poll() is not None)
        print(f"the {dead.name} stopped (exit {dead.process.returncode}); stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
