"""fault_server.py - a tiny HTTP(S) receiver for test_push_faults.sh.

Usage: fault_server.py PORT LOG ANSWERS [CERT KEY]
ANSWERS is a comma list used in turn, the last one repeated: a status ("503"), a status
with a Retry-After in seconds ("429:1"), or "slow:S" (wait S seconds, then 200). Each
request is logged to LOG as one JSON line: method, path, headers, body length. With CERT
and KEY it serves HTTPS. Writes LOG.ready once listening.
"""
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log, answers = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with lock:
            i = count[0]
            count[0] += 1
            with open(log, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path,
                                    "headers": dict(self.headers), "len": len(body)}) + "\n")
        a = answers[min(i, len(answers) - 1)]
        status, extra = 200, None
        if a.startswith("slow:"):
            time.sleep(float(a[5:]))
        elif ":" in a:
            status, extra = int(a.split(":")[0]), a.split(":")[1]
        else:
            status = int(a)
        text = b"" if status < 300 else b"refused: bad \x01 sample\n"
        self.send_response(status)
        if extra:
            self.send_header("Retry-After", extra)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_POST = do_PUT = do_DELETE = handle_any

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
if len(sys.argv) > 5 and sys.argv[4]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(log + ".ready", "w").close()
srv.serve_forever()
