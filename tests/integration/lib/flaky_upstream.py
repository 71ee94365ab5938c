#!/usr/bin/python3
"""flaky_upstream.py PORT - an OpenAI-compatible chat upstream that fails on demand.

The routing tests start two of these on loopback. POST /mode with a body of
"ok", "500", "429" or "die" sets how the next chat calls are answered ("die":
a streamed answer that sends two chunks, then closes the connection in the
middle of the chunked body). GET /count gives the number of chat calls
received, so a test asserts on what the upstream itself saw.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

state = {"mode": "ok", "count": 0}
lock = threading.Lock()


def chunk(obj):
    return ("data: " + json.dumps(obj) + "\n\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/count":
            with lock:
                self.answer(200, str(state["count"]), "text/plain")
        else:
            self.answer(404, "{}")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/mode":
            with lock:
                state["mode"] = body.decode().strip()
            self.answer(200, "ok", "text/plain")
            return
        if not self.path.endswith("/chat/completions"):
            self.answer(404, "{}")
            return
        req = json.loads(body)
        with lock:
            state["count"] += 1
            mode = state["mode"]
        if mode == "500":
            self.answer(500, '{"error": {"message": "down on purpose"}}')
            return
        if mode == "429":
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        base = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": req["model"]}
        if not req.get("stream"):
            self.answer(200, json.dumps({
                "id": "x", "object": "chat.completion", "created": 1, "model": req["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "hi"}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [chunk(dict(base, choices=[{"index": 0, "delta": {"content": w}}])) for w in ("a", "b")]
        if mode != "die":
            events += [chunk(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])),
                       b"data: [DONE]\n\n"]
        for e in events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(e), e))
            self.wfile.flush()
        if mode == "die":  # mid-body: no last chunk, the connection just closes
            self.close_connection = True
            self.connection.shutdown(1)
            return
        self.wfile.write(b"0\r\n\r\n")


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
