"""A scripted OpenAI-protocol server for tests: a real ``http.server`` on 127.0.0.1.

It speaks ``POST /v1/chat/completions``, both plain JSON and SSE streaming (``stream: true``, with the
final usage chunk when ``stream_options.include_usage`` is set), so the real ``openai`` SDK and
LangChain's ``ChatOpenAI`` talk to it exactly as they would to OpenAI. Each test scripts what the next
requests get:

    server.script(status(429, retry_after="1"), status(429, retry_after="1"), reply("Hello [1]."))

Steps are used in order; the last one repeats (so ``script(status(429))`` is an endless 429).
Every request is recorded (``server.requests``) with its arrival time, headers and JSON body, so tests
can count retries and measure the waits between them.

Kinds of step: ``reply`` (a normal answer; its text may be a function of the request), ``status``
(an error status with optional ``retry-after``), ``hang`` (accept the request and never answer until
the server stops), ``cut`` (stream part of an answer, then drop the connection without finishing).
It deliberately implements nothing else of the API (no embeddings, no tools).
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = dict[str, Any]


@dataclass(frozen=True)
class Step:
    kind: str  # "reply" | "status" | "hang" | "cut"
    text: str | Callable[[Body], str] = ""
    code: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    chunk_words: int = 3  # words per SSE chunk
    clean_close: bool = False  # "cut": end the body cleanly (no [DONE], no finish_reason) instead of dropping it


def reply(text: str | Callable[[Body], str]) -> Step:
    return Step("reply", text=text)


def status(code: int, retry_after: str | None = None, message: str = "scripted error") -> Step:
    headers = (("retry-after", retry_after),) if retry_after is not None else ()
    return Step("status", text=message, code=code, headers=headers)


def hang() -> Step:
    return Step("hang")


def cut(text: str, clean_close: bool = False) -> Step:
    """Stream ``text`` (a few words per chunk), then stop without a finish reason or ``[DONE]``."""
    return Step("cut", text=text, clean_close=clean_close)


@dataclass
class Request:
    at: float
    path: str
    headers: dict[str, str]
    body: Body = field(default_factory=dict)

    @property
    def user_text(self) -> str:
        return "\n".join(m.get("content", "") for m in self.body.get("messages", []) if m.get("role") == "user")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up (timeout, cancelled stream) resets its connection: expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._steps: list[Step] = [reply("OK.")]
        self._used = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                fake._handle(self, body)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)

    # -- control -----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *steps: Step) -> None:
        with self._lock:
            self._steps = list(steps) or [reply("OK.")]
            self._used = 0
            self.requests.clear()

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases hanging handlers
        self._server.shutdown()
        self._server.server_close()

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests (what the client waited before retrying, plus latency)."""
        times = [r.at for r in self.requests]
        return [b - a for a, b in itertools.pairwise(times)]

    # -- serving -----------------------------------------------------------------------------------
    def _next(self, request: Request) -> Step:
        with self._lock:
            self.requests.append(request)
            step = self._steps[min(self._used, len(self._steps) - 1)]
            self._used += 1
            return step

    def _handle(self, h: BaseHTTPRequestHandler, body: Body) -> None:
        request = Request(time.monotonic(), h.path, {k.lower(): v for k, v in h.headers.items()}, body)
        step = self._next(request)
        if not h.path.rstrip("/").endswith("/chat/completions"):
            self._json(h, 404, {"error": {"message": f"no route {h.path}", "type": "not_found"}})
            return
        if step.kind == "hang":
            self._stop.wait(120)  # until the test ends; the client must give up on its own
            h.close_connection = True
            return
        if step.kind == "status":
            kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(step.code, "server_error")
            self._json(h, step.code, {"error": {"message": step.text, "type": kind, "code": kind}}, step.headers)
            return
        text = step.text(body) if callable(step.text) else step.text
        if not body.get("stream"):
            self._json(h, 200, self._completion(body, text))
            return
        self._stream(h, body, text, step)

    @staticmethod
    def _usage(body: Body, text: str) -> dict[str, int]:
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion = len(text.split())
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, body: Body, text: str) -> Body:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": self._usage(body, text),
        }

    @staticmethod
    def _json(h: BaseHTTPRequestHandler, code: int, payload: Body, headers: tuple[tuple[str, str], ...] = ()) -> None:
        data = json.dumps(payload).encode()
        h.send_response(code)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        for name, value in headers:
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _pieces(text: str, words: int) -> Iterator[str]:
        tokens = text.split(" ")
        for start in range(0, len(tokens), words):
            piece = " ".join(tokens[start : start + words])
            yield piece if start + words >= len(tokens) else piece + " "

    def _stream(self, h: BaseHTTPRequestHandler, body: Body, text: str, step: Step) -> None:
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        if step.kind == "cut" and step.clean_close:
            h.send_header("connection", "close")  # body ends when the socket closes: a "clean" early end
            h.close_connection = True
        else:
            h.send_header("transfer-encoding", "chunked")
        h.end_headers()
        chunked = not (step.kind == "cut" and step.clean_close)
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time())}
        base["model"] = body.get("model", "fake")

        def send(payload: Body | str) -> None:
            line = payload if isinstance(payload, str) else json.dumps({**base, **payload})
            data = f"data: {line}\n\n".encode()
            h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
            h.wfile.flush()

        send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
        for piece in self._pieces(text, step.chunk_words):
            send({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        if step.kind == "cut":
            if chunked:
                h.wfile.write(b'40\r\ndata: {"trunc')  # half a chunk, then the connection drops
                h.wfile.flush()
            h.close_connection = True
            return
        send({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            send({"choices": [], "usage": self._usage(body, text)})
        send("[DONE]")
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()


@contextmanager
def serve() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()
