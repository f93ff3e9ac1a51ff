"""``python -m stack.cluster``: what it writes for Rasa and HAProxy, and the real thing started,
used through its load balancer, a replica killed and brought back, and stopped by SIGTERM
with nothing left running."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from stack import cluster, model, services_local
from stack.processes import ROOT, free_port

START_SECONDS = 240  # the Rasa server loads its model in about 10 s on a quiet machine


def test_rasas_lock_store_is_on_redis_and_its_password_stays_out_of_the_file():
    block = yaml.safe_load(cluster.lock_store_yaml("rediss://hub:s3cret@cache.example:6380/2"))["lock_store"]
    assert block == {
        "type": "redis",
        "url": "cache.example",
        "port": 6380,
        "db": 2,
        "use_ssl": True,
        "key_prefix": "hubguide",
        "username": "hub",
        "password": "${LOCK_STORE_PASSWORD}",
    }
    assert yaml.safe_load(cluster.lock_store_yaml("redis://127.0.0.1:6379"))["lock_store"]["db"] == 0


def test_a_replica_is_the_gateway_on_its_own_loopback_port():
    gateway = [s for s in _stack_services() if s.name == "gateway"][0]
    second = cluster.replica(gateway, 2, 41002)
    assert second.command[second.command.index("--port") + 1] == "41002"
    assert second.command[second.command.index("--host") + 1] == "127.0.0.1"
    assert second.health_url == "http://127.0.0.1:41002/health" and second.log_path.name == "gateway-2.log"
    assert gateway.command[gateway.command.index("--port") + 1] != "41002"  # the original is left alone


@pytest.mark.skipif(services_local.missing_binaries().count("haproxy"), reason="no HAProxy (apt-get install haproxy)")
def test_the_load_balancer_config_is_valid_and_sticky_only_for_socket_io(tmp_path):
    text = services_local.haproxy_config("127.0.0.1", 18000, [41001, 41002], cluster.HEALTH_PATH)
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    assert subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], capture_output=True).returncode == 0
    backends = dict(re.findall(r"^backend (\w+)\n((?:    .*\n?)+)", text, re.MULTILINE))
    assert "balance roundrobin" in backends["gateways"] and "balance source" in backends["web_chat"]
    for body in backends.values():
        assert f"option httpchk GET {cluster.HEALTH_PATH}" in body
        assert "server gateway-1 127.0.0.1:41001" in body and "server gateway-2 127.0.0.1:41002" in body
    assert "use_backend web_chat if { path_beg /socket.io/ }" in text


def _stack_services():
    from gateway.settings import Settings
    from stack.processes import Stack

    return Stack(Settings(app_env="test")).build()


class Launcher:
    """``python -m stack.cluster`` in a process of its own, its output read line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stack.cluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seen: list[str] = []

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # it ended

    def until(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s; output:\n" + "\n".join(self.seen))


missing = services_local.missing_binaries()


@pytest.mark.skipif(bool(missing), reason=f"needs Debian's {', '.join(missing)} (apt-get install {' '.join(missing)})")
@pytest.mark.skipif(not model.MODEL.exists(), reason="no trained model (make train)")
def test_the_cluster_starts_serves_through_its_balancer_heals_a_replica_and_stops_leaving_nothing():
    data = Path(tempfile.mkdtemp(prefix="hubguide-cluster-"))  # under /tmp: PostgreSQL's own user must reach it
    data.chmod(0o755)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "APP_ENV": "test",
        "DATA_DIR": str(data),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "TRACKER_STORE_URL": "",
        "GATEWAY_PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "RASA_PORT": str(free_port()),
        "ACTION_PORT": str(free_port()),
    }
    launcher = Launcher(env)
    try:
        launcher.until(r"Press Ctrl-C to stop", START_SECONDS)
        listed = "\n".join(launcher.seen)
        assert re.search(r"PostgreSQL +127\.0\.0\.1:\d+/hubguide", listed) and re.search(r"Redis +127\.0\.0\.1", listed)
        assert f"load balancer   http://127.0.0.1:{port}" in listed
        processes = psutil.Process(launcher.process.pid).children(recursive=True)
        assert len(processes) >= 7  # PostgreSQL's, Redis, 2 gateways, Rasa, actions, HAProxy

        balancer = f"http://127.0.0.1:{port}"
        assert httpx.get(balancer + "/readyz").status_code == 200
        assert "WebChat.default" in httpx.get(balancer + "/").text  # the web chat page, from a replica

        replica_url = re.search(r"gateway 1 +(http://\S+)", listed).group(1)
        replica = next(p for p in processes if f"--port {replica_url.rsplit(':', 1)[1]}" in " ".join(p.cmdline()))
        replica.kill()
        launcher.until(r"the gateway 1 is back", 60)
        assert httpx.get(replica_url + "/health").status_code == 200
        processes = psutil.Process(launcher.process.pid).children(recursive=True)

        launcher.process.send_signal(signal.SIGTERM)
        assert launcher.process.wait(60) == 0
        gone, alive = psutil.wait_procs(processes, timeout=5)
        assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    finally:
        if launcher.process.poll() is None:  # a failed assertion: stop it all the same
            launcher.process.send_signal(signal.SIGTERM)
            launcher.process.wait(60)
        shutil.rmtree(data, ignore_errors=True)
