"""Starts the app's real processes (Celery worker, ASGI server) for tests,
pointed at the test database, and stops them afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.db import connection

from .helpers.polling import eventually

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The database pytest-django created, as a DATABASE_URL for children."""
    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or ""
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{conf.get('HOST') or '127.0.0.1'}:{conf.get('PORT') or 5432}/{conf['NAME']}"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path, ready=None):
        self.name = name
        self.args, self.env, self.ready = args, env, ready
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self._launch()

    def _launch(self) -> None:
        self.proc = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def restart(self) -> None:
        """A fresh process with the same command, after a fault test killed
        this one; its output goes on in the same log."""
        self.kill()
        if self.log.closed:  # stopped, not only killed
            self.log = open(self.log_path, "ab")
        mark = len(self.output())
        self._launch()
        if self.ready is not None:
            self.wait_for(lambda: self.ready(self.output()[mark:]))

    def pause(self) -> None:
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for(self, ready, timeout: float = 120.0) -> None:
        """Until `ready()`; a process that exits first, or one not ready in
        time, fails with the end of its log."""

        def running_and_ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            return ready()

        try:
            eventually(running_and_ready, timeout=timeout, interval=0.2, what=f"{self.name} ready")
        except AssertionError as not_ready:
            raise AssertionError(f"{not_ready}:\n{self.output()[-4000:]}") from None

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def start_celery_worker(
    env: dict, log_dir: Path, queues: str = "moderation,generation,training", name: str = "worker", concurrency: int = 4
) -> Process:
    process = Process(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "chatsite",
            "worker",
            "-Q",
            queues,
            "-P",
            "threads",
            "-c",
            str(concurrency),
            "-n",
            f"{name}-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ],
        env,
        log_dir,
        ready=lambda output: "ready." in output,
    )
    process.wait_for(lambda: "ready." in process.output())
    return process


def start_asgi_server(env: dict, log_dir: Path, name: str = "web", port: int | None = None) -> tuple[Process, str]:
    """The web role as deployments run it (scripts/serve.sh web)."""
    port = port or free_port()
    process = Process(
        name,
        ["bash", str(ROOT / "scripts" / "serve.sh"), "web"],
        dict(env, WEB_PORT=str(port), PYTHON=sys.executable),
        log_dir,
        ready=lambda output: port_open(port),
    )
    process.wait_for(lambda: port_open(port))
    return process, f"http://127.0.0.1:{port}"


def start_balancer(web_ports: list[int], env: dict, log_dir: Path, name: str = "haproxy") -> tuple[Process, str]:
    """HAProxy in front of web processes on this machine, as `make cluster`
    runs it: deploy/haproxy/site.cfg, then the backend scripts/haproxy.sh
    prints."""
    port = free_port()
    backend = log_dir / f"{name}-backend.cfg"
    backend.write_text(
        subprocess.run(
            [str(ROOT / "scripts" / "haproxy.sh"), *map(str, web_ports)], check=True, capture_output=True, text=True
        ).stdout
    )
    process = Process(
        name,
        ["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy" / "site.cfg"), "-f", str(backend)],
        dict(env, LB_BIND=f"127.0.0.1:{port}"),
        log_dir,
        ready=lambda output: port_open(port),
    )
    process.wait_for(lambda: port_open(port))
    return process, f"http://127.0.0.1:{port}"


def start_celery_beat(env: dict, log_dir: Path, name: str = "beat") -> Process:
    return Process(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "chatsite",
            "beat",
            "-l",
            "info",
            "-s",
            str(log_dir / f"{name}-schedule"),
        ],
        env,
        log_dir,
    )


def start_openai_server(model_dir: str, env: dict, log_dir: Path) -> tuple[Process, str]:
    """`transformers serve`: a real OpenAI-compatible server, on loopback."""
    port = free_port()
    server_env = dict(env, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(log_dir / "hf-cache"))
    (log_dir / "hf-cache").mkdir(exist_ok=True)
    process = Process(
        "transformers-serve",
        [
            str(Path(sys.executable).parent / "transformers"),
            "serve",
            model_dir,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        server_env,
        log_dir,
    )

    process.wait_for(lambda: port_open(port))
    return process, f"http://127.0.0.1:{port}/v1"
