"""The FastAPI application: OpenAI's chat-completions protocol over one :class:`~advisor.core.Advisor`.

- ``POST /v1/chat/completions``: the conversation comes from ``messages`` (the last user message is the
  question, earlier user/assistant turns are the history, so follow-ups work); ``stream: true`` sends
  server-sent events ending in ``data: [DONE]``. Sources ride in ``sources``; a refusal is marked.
- ``GET /v1/models``, ``GET /healthz``, ``GET /v1/sources/{chunk_id}`` (live chunks only).
- ``/v1/kb/...``: list, add (raw upload), remove, verify, rebuild: behind the admin key.
- Errors use OpenAI's JSON shape: 400 bad request, 401 bad key, 403 admin only, 404, 413 too large,
  429 more requests in flight than ``ADVISOR_MAX_CONCURRENCY``, 503 while the knowledge base is empty
  or being rebuilt.

The advisor is synchronous: answers run in the thread pool, and the concurrency limit keeps that pool
from queueing more answers than the machine can make. Handlers' annotations are resolved by FastAPI from
this module's globals, hence the module-level imports (``advisor serve`` imports this module only when
the ``serve`` extra is installed).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from advisor import access
from advisor.api import shapes
from advisor.api.errors import ApiError, from_advisor_error
from advisor.core import Advisor
from advisor.errors import AdvisorError


class Gate:
    """At most ``limit`` answers in flight; the next one is refused at once (429), not queued."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            if self.in_flight >= self.limit:
                raise ApiError(
                    429,
                    f"the advisor is answering {self.in_flight} requests already (ADVISOR_MAX_CONCURRENCY); retry shortly",
                    "rate_limit_error",
                    "too_many_requests",
                )
            self.in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)


def _text(content: Any) -> str:
    """A message's text: a string, or OpenAI's list of parts (only text parts are read)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise ApiError(400, "each message's content must be a string or a list of text parts", "invalid_request_error")


def conversation(body: Any) -> tuple[str, list[dict[str, str]]]:
    """(question, history) from an OpenAI ``messages`` list; system messages are ignored (the advisor has its own)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list", "invalid_request_error")
    turns: list[dict[str, str]] = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant"):
            raise ApiError(400, "each message needs a role of system, user or assistant", "invalid_request_error")
        if message["role"] in ("user", "assistant"):
            turns.append({"role": message["role"], "content": _text(message.get("content", ""))})
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's question", "invalid_request_error")
    return turns[-1]["content"], turns[:-1]


def create_app(advisor: Advisor, host: str = "127.0.0.1") -> FastAPI:
    """The API over ``advisor``. ``host`` is where it listens: beyond loopback, admin calls need the admin key."""
    settings = advisor.settings
    chat_keys = settings.chat_keys
    admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
    open_admin = admin_key is None and access.is_loopback(host)
    gate = Gate(settings.max_concurrency)
    state = {"rebuilding": False}
    app = FastAPI(title="advisor", version="1", docs_url=None, redoc_url=None)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 429 else None
        return JSONResponse(shapes.error(exc.message, exc.kind, exc.code), status_code=exc.status, headers=headers)

    @app.exception_handler(AdvisorError)
    async def _advisor_error(request: Request, exc: AdvisorError) -> JSONResponse:
        return await _api_error(request, from_advisor_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await _api_error(request, ApiError(400, "malformed request", "invalid_request_error"))

    @app.middleware("http")
    async def _limit_size(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        limit = settings.max_document_bytes if request.url.path.startswith("/v1/kb/") else settings.max_request_bytes
        if length and length.isdigit() and int(length) > limit:
            return await _api_error(request, too_large("request", limit))
        return await call_next(request)

    def require_chat_key(request: Request) -> None:
        if chat_keys and not access.key_matches(access.bearer(request.headers.get("authorization")), chat_keys):
            raise ApiError(
                401, "missing or wrong API key (Authorization: Bearer ...)", "authentication_error", "invalid_api_key"
            )

    def require_admin(request: Request) -> None:
        if open_admin:
            return
        if admin_key is None:
            raise ApiError(
                403, "knowledge-base writes need ADVISOR_ADMIN_KEY on a non-loopback bind", "permission_error"
            )
        if not access.key_matches(access.bearer(request.headers.get("authorization")), [admin_key]):
            raise ApiError(
                401,
                "this call needs the admin key (Authorization: Bearer ...)",
                "authentication_error",
                "invalid_api_key",
            )

    def require_ready() -> None:
        if state["rebuilding"]:
            raise ApiError(503, "the knowledge base is being rebuilt; retry shortly", "service_unavailable")
        if not advisor.documents():
            raise ApiError(503, "the knowledge base is empty; add documents first", "service_unavailable")

    async def json_body(request: Request) -> Any:
        raw = await request.body()
        if len(raw) > settings.max_request_bytes:
            raise too_large("request", settings.max_request_bytes)
        try:
            return json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "the body is not valid JSON", "invalid_request_error") from None

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "documents": len(advisor.documents()), "rebuilding": state["rebuilding"]}

    @app.get("/v1/models")
    def models(request: Request) -> dict[str, Any]:
        require_chat_key(request)
        return shapes.models()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        require_chat_key(request)
        body = await json_body(request)
        question, history = conversation(body)
        if len(question) > settings.max_question_chars:
            raise ApiError(
                413,
                f"the question is {len(question)} characters; at most {settings.max_question_chars}",
                "invalid_request_error",
                "too_large",
            )
        require_ready()
        gate.enter()
        cid, created = shapes.completion_id(), int(time.time())
        if not body.get("stream"):
            try:
                answer = await run_in_threadpool(advisor.ask, question, history)
            finally:
                gate.leave()
            return shapes.completion(answer, cid, created)
        try:
            stream = advisor.stream(question, history)
        except BaseException:
            gate.leave()
            raise

        def events() -> Iterator[str]:
            try:
                yield _sse(shapes.chunk(cid, created, {"role": "assistant", "content": ""}))
                for delta in stream:
                    yield _sse(shapes.chunk(cid, created, {"content": delta}))
                assert stream.answer is not None
                yield _sse(shapes.last_chunk(stream.answer, cid, created))
            except AdvisorError as exc:  # mid-stream: the status is sent already, so the error is an event
                err = from_advisor_error(exc)
                yield _sse(shapes.error(err.message, err.kind))
            finally:
                gate.leave()
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/v1/sources/{chunk_id:path}")
    def source(chunk_id: str, request: Request) -> dict[str, Any]:
        require_chat_key(request)
        advisor.kb.reload_manifest()
        if chunk_id not in advisor.kb.live_ids():
            raise ApiError(404, f"no live chunk {chunk_id!r}", "not_found_error")
        found = advisor.kb.collection.fetch([chunk_id]).get(chunk_id)
        if found is None:
            raise ApiError(404, f"no live chunk {chunk_id!r}", "not_found_error")
        text, meta = found
        return {
            "id": chunk_id,
            "doc_id": meta.get("doc_id"),
            "title": meta.get("title"),
            "section": meta.get("section"),
            "text": text,
        }

    # -- the knowledge base (admin) ----------------------------------------------------------------------
    @app.get("/v1/kb/documents")
    def documents(request: Request) -> dict[str, Any]:
        require_admin(request)
        return {"object": "list", "data": [_document(d) for d in advisor.documents()]}

    @app.post("/v1/kb/documents")
    async def add_document(request: Request, name: str) -> dict[str, Any]:
        require_admin(request)
        data = await request.body()
        if len(data) > settings.max_document_bytes:
            raise too_large("document", settings.max_document_bytes)
        change = await run_in_threadpool(advisor.add_upload, data, name)
        return _change(change)

    @app.delete("/v1/kb/documents/{doc_id}")
    def remove_document(doc_id: str, request: Request) -> dict[str, Any]:
        require_admin(request)
        return _change(advisor.remove(doc_id))

    @app.post("/v1/kb/verify")
    def verify(request: Request) -> dict[str, Any]:
        require_admin(request)
        report = advisor.verify()
        return dict(report.to_dict())

    @app.post("/v1/kb/rebuild")
    def rebuild(request: Request) -> dict[str, Any]:
        require_admin(request)
        state["rebuilding"] = True
        try:
            result = advisor.rebuild()
        finally:
            state["rebuilding"] = False
        return {"documents": result.documents, "chunks": result.chunks, "collection": result.new_collection}

    return app


def too_large(what: str, limit: int) -> ApiError:
    return ApiError(413, f"the {what} is larger than {limit} bytes", "invalid_request_error", "too_large")


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _document(d: Any) -> dict[str, Any]:
    return {"id": d.doc_id, "title": d.title, "chunks": d.chunks, "added": d.added, "hash": d.content_hash}


def _change(c: Any) -> dict[str, Any]:
    return {"id": c.doc_id, "status": c.status, "chunks": c.chunks, "old_hash": c.old_hash, "new_hash": c.new_hash}
