#!/usr/bin/python3
"""test_upstream.py - a scriptable OpenAI-compatible upstream for the gateway's tests.

Usage: test_upstream.py PORT   (listens on 127.0.0.1:PORT, one thread per connection)

What it answers is chosen by the request's "model" (the gateway passes it on):
  ok           a whole answer, or with "stream": true an OpenAI chat stream of 3
               tokens with usage; its own model name is "upstream-real-model"
  status-N     HTTP N with an OpenAI error body (401, 403, 429, 500, ...);
  status-429-ra-S  the same with Retry-After: S
  stall-first  reads the request and sends nothing, ever
  stall-mid    a stream: headers, the role chunk and one token, then nothing
  tick-MS      a stream of 20 tokens, one every MS milliseconds, then [DONE]
  flood        a stream of 16 MiB of tokens as fast as the gateway takes them
  raw          a stream in unusual but valid SSE: CR and CRLF line ends, comments,
               an event name, a retry field, multi-line data, non-JSON data
A stalled transfer ends only when the gateway closes the connection; the
server notices that at once (it waits on the socket) and logs it.

GET /_log answers the log as JSON: one entry per request with its model,
"state" (started, complete, closed: the gateway hung up) and "ended" (the
time.monotonic() of the end, or null). Tests read it to observe when the
gateway ended a transfer.
"""
import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = []
LOG_MU = threading.Lock()
MODEL = "upstream-real-model"


def log_start(model, stream):
    with LOG_MU:
        LOG.append({"model": model, "stream": stream, "state": "started", "ended": None})
        return len(LOG) - 1


def log_end(i, state):
    with LOG_MU:
        LOG[i]["state"] = state
        LOG[i]["ended"] = time.monotonic()


def chunk(delta, finish=None, usage=None):
    c = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        c = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
             "choices": [], "usage": usage}
    return b"data: " + json.dumps(c).encode() + b"\n\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # a body ends when the connection closes

    def log_message(self, *a):
        pass

    def wait_closed(self, seconds):
        """Wait until the peer closes the connection (True) or seconds pass (False)."""
        end = time.monotonic() + seconds
        sock = self.connection
        while time.monotonic() < end:
            r, _, _ = select.select([sock], [], [], 0.02)
            if r:
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except OSError:
                    return True
                time.sleep(0.02)
        return False

    def send(self, b):
        self.wfile.write(b)
        self.wfile.flush()

    def headers_out(self, status, ctype, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()

    def do_GET(self):
        if self.path != "/_log":
            self.send_error(404)
            return
        with LOG_MU:
            body = json.dumps(LOG).encode()
        self.headers_out(200, "application/json")
        self.send(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(n) or b"{}")
        model = req.get("model", "")
        stream = bool(req.get("stream"))
        i = log_start(model, stream)
        try:
            state = self.answer(model, stream)
        except (BrokenPipeError, ConnectionResetError):
            state = "closed"
        log_end(i, state)

    def answer(self, model, stream):
        if model.startswith("status-"):
            parts = model.split("-")
            status = int(parts[1])
            extra = [("Retry-After", parts[3])] if len(parts) == 4 and parts[2] == "ra" else []
            body = {"error": {"message": f"upstream says {status}", "type": "upstream_test",
                              "code": f"c{status}", "param": None}}
            self.headers_out(status, "application/json", extra)
            self.send(json.dumps(body).encode())
            return "complete"
        if model == "stall-first":
            return "closed" if self.wait_closed(600) else "complete"
        if not stream:
            body = {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": MODEL,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "a b c"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
            self.headers_out(200, "application/json")
            self.send(json.dumps(body).encode())
            return "complete"
        self.headers_out(200, "text/event-stream")
        if model == "raw":
            self.send(b": hello\r\nretry: 3000\r\nevent: note\r\ndata: line one\r\ndata: line two\r\r")
            self.send(chunk({"role": "assistant"}).replace(b"\n", b"\r\n"))
            self.send(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},")
            self.send(b"\"finish_reason\":null}],\"model\":\"" + MODEL.encode() + b"\"}\r")
            self.send(b"\n\r\ndata: plain text, not JSON\n\n")
            self.send(chunk({}, "stop") + chunk(None, usage={"prompt_tokens": 5, "completion_tokens": 1,
                                                              "total_tokens": 6}))
            self.send(b"data: [DONE]\n\n")
            return "complete"
        self.send(chunk({"role": "assistant", "content": ""}))
        if model == "stall-mid":
            self.send(chunk({"content": "first"}))
            return "closed" if self.wait_closed(600) else "complete"
        tokens, pause = 3, 0.0
        if model.startswith("tick-"):
            tokens, pause = 20, int(model[5:]) / 1000.0
        if model == "flood":
            tokens = (16 << 20) // 200
        for k in range(tokens):
            self.send(chunk({"content": "t%d " % k + "." * 100}))
            if pause:
                time.sleep(pause)
        self.send(chunk({}, "stop"))
        self.send(chunk(None, usage={"prompt_tokens": 5, "completion_tokens": tokens,
                                     "total_tokens": 5 + tokens}))
        self.send(b"data: [DONE]\n\n")
        return "complete"


if __name__ == "__main__":
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.daemon_threads = True
    srv.serve_forever()
