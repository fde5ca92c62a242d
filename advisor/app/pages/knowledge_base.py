"""Knowledge base: list, upload, replace and remove documents through the same core calls as the CLI
(``Advisor.documents``, ``Advisor.add_upload``, ``Advisor.remove``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from advisor.app.ui import get_advisor
from advisor.errors import AdvisorError
from advisor.kb.loaders import SUPPORTED

TYPES = sorted(ext.lstrip(".") for ext in SUPPORTED)


def apply_uploads(files: list[tuple[str, bytes]], replace_id: str | None = None) -> None:
    """Add (or replace) each file; report each outcome. A bad file changes nothing and says why."""
    advisor = get_advisor()
    for name, data in files:
        target = f"{replace_id}{Path(name).suffix.lower()}" if replace_id else name
        try:
            change = advisor.add_upload(data, target)
        except AdvisorError as exc:
            st.session_state.kb_messages.append(("error", f"{name}: {exc}"))
            continue
        if change.status == "unchanged":
            text = f"{name}: already in the knowledge base, unchanged ({change.doc_id})"
        else:
            text = f"{name}: {change.status} as {change.doc_id} ({change.chunks} chunks)"
        st.session_state.kb_messages.append(("success", text))


st.set_page_config(layout="wide")  # the document table needs the room
st.title("Knowledge base")
st.caption("The documents answers come from. Changes apply at once to the chat (same core calls as `advisor kb`).")
st.session_state.setdefault("kb_messages", [])

# Files can also be handed over in session state (how the AppTest tests drive this page; AppTest
# can't fill a file uploader). They go through exactly the same path as an upload.
pending = st.session_state.pop("pending_uploads", None)
if pending:
    apply_uploads(pending, st.session_state.pop("pending_replace", None))

advisor = get_advisor()
for kind, text in st.session_state.kb_messages:
    (st.error if kind == "error" else st.success)(text)
st.session_state.kb_messages = []

try:
    docs = advisor.documents()
except AdvisorError as exc:
    st.error(str(exc))
    st.stop()

if docs:
    table = pd.DataFrame(
        [
            {
                "title": d.title,
                "chunks": d.chunks,
                "added": d.added.replace("T", " ")[:16] + (" UTC" if d.added.endswith("+00:00") else ""),
                "hash": d.content_hash[:12],
                "id": d.doc_id,
                "from": d.origin,
            }
            for d in docs
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "title": st.column_config.TextColumn("title", width="large"),
            "chunks": st.column_config.NumberColumn("chunks", width="small"),
            "hash": st.column_config.TextColumn("hash", width="small", help="first 12 hex digits of the SHA-256"),
            "from": st.column_config.TextColumn("from", width="small", help="knowledge folder or upload"),
        },
    )
else:
    st.info("The knowledge base is empty: upload a document below.")

tab_add, tab_replace, tab_remove = st.tabs(["Upload", "Replace", "Remove"])
with tab_add, st.form("upload", clear_on_submit=True):
    uploads = st.file_uploader(
        f"Add documents ({', '.join('.' + t for t in TYPES)}; at most {advisor.settings.max_document_bytes:,} bytes)",
        type=TYPES,
        accept_multiple_files=True,
    )
    if st.form_submit_button("Add to the knowledge base", type="primary") and uploads:
        with st.spinner("Indexing ..."):
            apply_uploads([(f.name, f.getvalue()) for f in uploads])
        st.rerun()

ids = [d.doc_id for d in docs]
with tab_replace:
    if ids:
        with st.form("replace", clear_on_submit=True):
            target = st.selectbox("Document to replace", ids, key="replace_target")
            upload = st.file_uploader("New version", type=TYPES, key="replace_file")
            if st.form_submit_button("Replace") and upload is not None:
                with st.spinner("Re-indexing ..."):
                    apply_uploads([(upload.name, upload.getvalue())], replace_id=target)
                st.rerun()
    else:
        st.caption("Nothing to replace yet.")
with tab_remove:
    if ids:
        with st.form("remove"):
            target = st.selectbox("Document to remove", ids, key="remove_target")
            sure = st.checkbox("Yes, remove it (its chunks stop being used in answers at once)")
            if st.form_submit_button("Remove"):
                if not sure:
                    st.warning("Tick the box to confirm.")
                else:
                    try:
                        change = advisor.remove(target)
                        st.session_state.kb_messages.append(
                            ("success", f"removed {change.doc_id} ({change.chunks} chunks)")
                        )
                    except AdvisorError as exc:
                        st.session_state.kb_messages.append(("error", str(exc)))
                    st.rerun()
    else:
        st.caption("Nothing to remove.")
