"""Traces: the answer log, one record per answer, to see why an answer came out the way it did.

Filters: refused only, slower than a threshold, voted down: a thumbs-down in the chat store
(:mod:`advisor.chats` keeps each answer's ``log_id`` in its details, the join key) or a negative ``voted``
in the log itself (:meth:`advisor.answer_log.AnswerLog.vote`). A chart shows each answer's latency by
step, and each record opens to its chunks (dense, BM25 and fused scores), quotes and cited sources.
Everything shown from a record goes through ``safe_markdown``; no HTML. The page reads the log only: it
loads no model.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from advisor.answer_log import STEPS, AnswerLog, AnswerRecord
from advisor.app.display import safe_markdown
from advisor.chats import ChatStore
from advisor.errors import AdvisorError
from advisor.settings import Settings, load_settings

MAX_RECORDS = 200  # read at once; `advisor log --json --last N` reaches further back
MAX_OPENED = 50  # records with a details expander; the chart and the table cover all that were read
DEFAULT_SLOW_S = 5.0


def voted_down_ids(settings: Settings) -> set[int]:
    """The answer-log ids of the answers voted down in the chat store (none if there is no chat store)."""
    if not settings.chats_path.is_file():  # reading must not create one
        return set()
    store = ChatStore(settings.chats_path)
    try:
        ids = {
            m.details.get("log_id") for info in store.chats() for m in store.get(info.id).messages if m.vote == "down"
        }
    finally:
        store.close()
    return {i for i in ids if isinstance(i, int)}


def _when(record: AnswerRecord) -> str:
    return datetime.fromtimestamp(record.created).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _cell(text: str) -> str:
    """Text for a Markdown table cell: safe, on one line, its pipes escaped."""
    return safe_markdown(" ".join(str(text).split())).replace("|", "\\|")


def _details(record: AnswerRecord) -> None:
    lines = [f"**Question:** {safe_markdown(record.question)}"]
    if record.standalone_question and record.standalone_question != record.question:
        lines.append(f"**Standalone:** {safe_markdown(record.standalone_question)}")
    refused = f"yes ({record.reason})" if record.refused else "no"
    lines.append(
        f"**Refused:** {refused} · **status** {record.status} · **mode** {safe_markdown(record.mode or '-')} · "
        f"**model** {safe_markdown(record.model or '-')} · **tokens** {record.total_tokens} "
        f"({record.prompt_tokens} + {record.completion_tokens})"
    )
    if record.error:
        lines.append(f"**Error:** {safe_markdown(record.error)}")
    timings = " · ".join(f"{name} {seconds:.3f} s" for name, seconds in record.steps.items())
    lines.append(f"**Steps:** {timings or '-'} · **total** {record.total_s:.3f} s")
    st.markdown("  \n".join(lines))
    if record.hits:
        rows = [
            f"| {h['rank']} | {h['dense']:.3f} | {h['bm25']:.2f} | {h['fused']:.4f} | "
            f"{_cell(h['title'])} — {_cell(h['section'] or '(intro)')} | {_cell(h['preview'])} |"
            for h in record.hits
        ]
        st.markdown("\n".join(["| # | dense | BM25 | fused | chunk | text |", "|---|---|---|---|---|---|", *rows]))
    if record.quotes:
        st.markdown(
            "**Quotes chosen**\n\n" + "\n>\n".join(f"> {safe_markdown(q['text'])} [{q['n']}]" for q in record.quotes)
        )
    if record.sources:
        cited = ", ".join(
            f"[{s['n']}] {safe_markdown(s['title'])} — {safe_markdown(s['section'] or '(intro)')}"
            for s in record.sources
        )
        st.markdown(f"**Cited:** {cited}")
    st.markdown("**Answer**")
    st.markdown(safe_markdown(record.answer) or "(empty)")


st.title("Traces")
st.caption(
    "One record per answer: the chunks retrieved with their scores, the quotes chosen, the sources cited "
    "and how long each step took (`advisor log` shows the same in a terminal)."
)
try:
    settings = load_settings()
    answer_log = AnswerLog(settings)
except AdvisorError as exc:
    st.error(f"The answer log can't be opened: {exc}")
    st.stop()

refused_col, down_col, slow_col, threshold_col = st.columns(4)
refused_only = refused_col.checkbox("Refused only")
voted_down = down_col.checkbox("Voted down only", help="answers given a thumbs-down in the chat")
slow_only = slow_col.checkbox("Slow only")
threshold = threshold_col.number_input(
    "Slow: over (s)", min_value=0.0, value=DEFAULT_SLOW_S, step=0.5, disabled=not slow_only
)
try:
    down = voted_down_ids(settings)
except AdvisorError as exc:  # the log is still worth showing without the chat votes
    st.warning(f"The chat votes can't be read: {exc}")
    down = set()
try:
    records = answer_log.recent(
        MAX_RECORDS,
        refused=True if refused_only else None,
        slower_than_s=threshold if slow_only else None,
        voted_down=voted_down,
        down_ids=down,
    )
except AdvisorError as exc:
    st.error(str(exc))
    st.stop()
if not answer_log.enabled:
    st.warning("The answer log is off (`ADVISOR_LOG=off`): new answers are not recorded.")
if not records:
    st.info("No recorded answer matches." if refused_only or voted_down or slow_only else "No answers recorded yet.")
    st.stop()

st.markdown(f"**Latency by step** ({len(records)} answers, oldest first)")
chart = pd.DataFrame(
    [
        {
            "answer": r.id,
            **{step: r.steps.get(step, 0.0) for step in STEPS},
            "other": max(0.0, r.total_s - sum(r.steps.values())),  # guard checks, prompt building, ...
        }
        for r in reversed(records)
    ]
).set_index("answer")
st.bar_chart(chart, x_label="answer (record id)", y_label="seconds", stack=True)

st.dataframe(
    pd.DataFrame(
        [
            {
                "id": r.id,
                "time": _when(r),
                "question": safe_markdown(r.question),
                "refused": r.refused,
                "status": r.status,
                "model": r.model,
                "tokens": r.total_tokens,
                "total s": round(r.total_s, 3),
                "voted": -1 if r.id in down else r.voted,
            }
            for r in records
        ]
    ),
    hide_index=True,
    width="stretch",
)

for record in records[:MAX_OPENED]:
    flags = " · ".join(
        flag
        for flag, on in (
            ("refused", record.refused),
            (record.status, record.status != "ok"),
            ("voted down", record.id in down or (record.voted or 0) < 0),
        )
        if on
    )
    label = f"#{record.id} · {_when(record)} · {record.total_s:.2f} s{' · ' + flags if flags else ''} · {record.question[:80]}"
    with st.expander(safe_markdown(label)):
        _details(record)
