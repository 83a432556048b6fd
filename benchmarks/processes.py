"""Processes the benchmarks run and measure (peak RSS from /proc)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the peak resident set size of a live process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU time of a live process (all its threads), from /proc; with
    ``with_children``, also its live children's and what its reaped children used (PostgreSQL's
    backends are children of the postmaster)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def own(p: int, reaped: bool) -> int:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        used = int(fields[11]) + int(fields[12])  # utime, stime
        return used + (int(fields[13]) + int(fields[14]) if reaped else 0)  # cutime, cstime

    total = own(pid, with_children)
    if with_children:
        try:
            children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                        for c in (task / "children").read_text().split()]
        except OSError:
            children = []
        total += sum(own(child, False) for child in children)
    return total / ticks


def postgres_cpu_by_database(postmaster: int) -> dict[str, float]:
    """CPU seconds used so far by each live PostgreSQL backend, summed per database (a
    backend's title is ``postgres: <user> <database> <client> <state>``)."""
    per_database: dict[str, float] = {}
    try:
        children = [int(c) for task in Path(f"/proc/{postmaster}/task").iterdir()
                    for c in (task / "children").read_text().split()]
    except OSError:
        return per_database
    for child in children:
        try:
            title = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue
        if len(title) >= 3 and title[0] == b"postgres:" and not title[1].startswith(b"background"):
            database = title[2].decode(errors="replace")
            per_database[database] = per_database.get(database, 0.0) + cpu_seconds(child)
    return per_database


def self_peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path,
                 module: str = "zugong.cli") -> None:
        self.name, self.args, self.env, self.module = name, args, env, module
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.peak_mb: float | None = None

    def start(self) -> Process:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", self.module, *self.args],
                                         cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def sample_rss(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            value = peak_rss_mb(self.proc.pid)
            if value is not None:
                self.peak_mb = max(self.peak_mb or 0, value)

    def wait_http(self, url: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not answering {url}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        self.sample_rss()
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
