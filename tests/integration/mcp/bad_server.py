#!/usr/bin/env python3
"""bad_server.py - a misbehaving MCP server for tests/integration/test_gateway_mcp.sh.

It speaks enough of the streamable HTTP transport to be listed (initialize,
notifications/initialized, tools/list offering "broken" and "hang"), then
misbehaves on tools/call: "broken" is answered with bytes that are not JSON,
"hang" is never answered (the connection is held open until the server stops).
Mode "garbage" answers garbage to everything, initialize included.
Usage: bad_server.py PORT [garbage]
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
ALL_GARBAGE = len(sys.argv) > 2 and sys.argv[2] == "garbage"
stop = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="application/json", extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        msg = json.loads(self.rfile.read(n) or b"{}")
        if ALL_GARBAGE:
            return self.answer(200, "<html>this is not JSON-RPC</html>")
        method = msg.get("method")
        if method == "initialize":
            res = {"protocolVersion": "2025-03-26", "capabilities": {"tools": {}},
                   "serverInfo": {"name": "bad", "version": "1"}}
            return self.answer(200, json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": res}),
                               extra={"Mcp-Session-Id": "bad-session"})
        if method == "notifications/initialized":
            return self.answer(202, "")
        if method == "tools/list":
            tools = [{"name": "broken", "inputSchema": {"type": "object"}},
                     {"name": "hang", "inputSchema": {"type": "object"}}]
            return self.answer(200, json.dumps({"jsonrpc": "2.0", "id": msg["id"],
                                                "result": {"tools": tools}}))
        if method == "tools/call" and msg["params"]["name"] == "hang":
            while not stop.is_set():
                time.sleep(0.1)
            return
        return self.answer(200, "{\"jsonrpc\": \"2.0\", \"id\": garbage", "text/event-stream")


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
try:
    server.serve_forever()
finally:
    stop.set()
