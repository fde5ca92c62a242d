"""OpenAI-shaped bodies: chat completions, stream chunks, models and errors.

The advisor's extras ride along in fields OpenAI clients ignore: ``sources`` (the cited chunks) on the
completion and on the last stream chunk, and ``refusal`` on the message when the knowledge base doesn't
cover the question (the field OpenAI uses for refusals).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from advisor.answering.answer import Answer

MODEL_ID = "advisor"


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.usage.prompt_tokens,
        "completion_tokens": answer.usage.completion_tokens,
        "total_tokens": answer.usage.total_tokens,
    }


def sources(answer: Answer) -> list[dict[str, Any]]:
    return [s.public() for s in answer.sources]


def completion(answer: Answer, cid: str, created: int) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text,
                    "refusal": answer.text if answer.refused else None,
                },
                "finish_reason": "stop",
            }
        ],
        "usage": usage(answer),
        "sources": sources(answer),
        "refused": answer.refused,
    }


def chunk(cid: str, created: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def last_chunk(answer: Answer, cid: str, created: int) -> dict[str, Any]:
    """The closing chunk: finish reason, usage, sources, and the refusal mark."""
    body = chunk(cid, created, {"refusal": answer.text} if answer.refused else {}, "stop")
    return body | {"usage": usage(answer), "sources": sources(answer), "refused": answer.refused}


def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": int(time.time()), "owned_by": "advisor"}],
    }


def error(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
