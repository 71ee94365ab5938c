#!/usr/bin/env python3
"""free_port.py - loopback TCP ports for the integration tests, never the same
one twice while its holder lives.

A port nothing listens on is what the kernel hands out for a bind to port 0.
Closed again so a server can take it, the same port can be handed out again:
to the next free_port() call of the same test, or to a test running beside it
(ctest -j). Two servers told the same port then meet, and whichever binds
second dies while the test talks to the other one (a gateway "upstream"
answered by an unrelated test server). So each port handed out is reserved
under a shared directory (SONDE_PORT_DIR, default $TMPDIR/sonde-test-ports) as
a file that names the holder's process id: the test itself (the shell that
sources procs.sh, or the Python test). A reservation whose holder no longer
runs is stale and taken over, so nothing needs releasing and a killed test
leaks nothing. Callers take the directory's lock (flock) for the whole
check-and-reserve, so two of them never take over the same stale port.

As a script: free_port.py HOLDER_PID [N] prints N ports (default 1), one per
line. As a module: free_ports(n) and free_port() reserve for the calling process.
"""
import fcntl
import os
import socket
import sys
import tempfile

PORT_DIR = os.environ.get("SONDE_PORT_DIR") or os.path.join(tempfile.gettempdir(), "sonde-test-ports")
ATTEMPTS = 200  # per port


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or "0")
    except (OSError, ValueError):
        return 0


def _reserve(port, holder):
    """True when port is now reserved for holder (free, or taken over from a dead holder);
    the directory's lock held."""
    path = os.path.join(PORT_DIR, str(port))
    old = _holder(path)
    if old and _alive(old):
        return False
    with open(path, "w") as f:
        f.write(str(holder))
    return True


def free_ports(n, holder=None):
    holder = holder or os.getpid()
    os.makedirs(PORT_DIR, exist_ok=True)
    ports = []
    with open(os.path.join(PORT_DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        while len(ports) < n:
            for _ in range(ATTEMPTS):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
                s.close()
                if port not in ports and _reserve(port, holder):
                    ports.append(port)
                    break
            else:
                raise RuntimeError("free_port: no unreserved loopback port in %d attempts" % ATTEMPTS)
    return ports


def free_port(holder=None):
    return free_ports(1, holder)[0]


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: free_port.py HOLDER_PID [N]")
    for p in free_ports(int(sys.argv[2]) if len(sys.argv) == 3 else 1, int(sys.argv[1])):
        print(p)
