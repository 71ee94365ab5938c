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
a file made with O_EXCL that names the holder's process id: the test itself
(the shell that sources procs.sh, or the Python test). A reservation whose
holder no longer runs is stale and taken over, so nothing needs releasing and
a killed test leaks nothing.

As a script: free_port.py HOLDER_PID [N] prints N ports (default 1), one per
line. As a module: free_ports(n) reserves for the calling process.
"""
import errno
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
    """True when port is now reserved for holder (fresh, or taken over from a dead holder)."""
    path = os.path.join(PORT_DIR, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise
            old = _holder(path)
            if old and _alive(old):
                return False
            try:  # stale (or half written: a holder of 0): take it over once
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(holder))
        return True
    return False


def free_ports(n, holder=None):
    holder = holder or os.getpid()
    os.makedirs(PORT_DIR, exist_ok=True)
    ports = []
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


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: free_port.py HOLDER_PID [N]")
    for p in free_ports(int(sys.argv[2]) if len(sys.argv) == 3 else 1, int(sys.argv[1])):
        print(p)
