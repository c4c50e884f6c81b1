"""Child processes that die with their parent, whatever way the parent ends."""

from __future__ import annotations

import ctypes
import os
import random
import signal
import socket
import subprocess
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child if the parent dies, even by SIGKILL.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    argv: Sequence[str],
    *,
    log: IO[bytes],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child in its own session, so Ctrl-C reaches only us and we stop it in order."""
    return subprocess.Popen(
        list(argv),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def stop(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it does not end in time; returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


# Ports handed out for listeners: below Linux's ephemeral range (32768-60999), so a port picked
# here is never the one the kernel just gave an outgoing connection, and split into shards so
# that parallel test workers (WS_PORT_SHARD="i/n") never pick the same one.
_LISTEN_PORTS = range(20_000, 32_768)


_RECENT_PORTS: deque[int] = deque(maxlen=1_000)  # handed out, maybe not listened on yet


def free_port() -> int:
    """A port nobody listens on now, for a listener started a moment later; never one this
    process handed out recently (two listeners of one broker ask one after the other)."""
    shard, shards = (int(n) for n in os.environ.get("WS_PORT_SHARD", "0/1").split("/"))
    ports = _LISTEN_PORTS[shard::shards]
    for port in random.sample(ports, 200):
        if port in _RECENT_PORTS:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _RECENT_PORTS.append(port)
        return port
    raise OSError("no free port found")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
