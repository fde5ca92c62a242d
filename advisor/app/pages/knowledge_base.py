"""Knowledge base: list, upload, replace and remove documents through the same core calls as the CLI
(``Advisor.documents``, ``Advisor.add_upload``, ``Advisor.remove``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from advisor import access
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


def may_write() -> bool:
    """Writes are open when the app listens on loopback only; beyond it they need ADVISOR_ADMIN_KEY.

    Streamlit's default address (unset) means every interface, so only an explicit loopback bind
    (``advisor ui`` binds 127.0.0.1 unless told otherwise) counts as loopback.
    """
    if access.is_loopback(st.get_option("server.address")):
        return True
    admin_key = get_advisor().settings.admin_key
    if admin_key is None:
        st.warning(
            "This app is reachable from other machines and ADVISOR_ADMIN_KEY is not set, "
            "so uploads and removals are turned off. The list below is read-only."
        )
        return False
    given = st.text_input("Admin key (needed to change the knowledge base)", type="password", key="admin_key")
    if access.key_matches(given, [admin_key.get_secret_value()]):
        return True
    if given:
        st.error("That is not the admin key.")
    return False


st.set_page_config(layout="wide")  # the document table needs the room
st.title("Knowledge base")
st.caption("The documents answers come from. Changes apply at once to the chat (same core calls as `advisor kb`).")
st.session_state.setdefault("kb_messages", [])
writable = may_write()

# Files can also be handed over in session state (how the AppTest tests drive this page; AppTest
# can't fill a file uploader). They go through exactly the same path as an upload, and the same check.
pending = st.session_state.pop("pending_uploads", None)
if pending:
    replace_id = st.session_state.pop("pending_replace", None)
    if writable:
        apply_uploads(pending, replace_id)
    else:
        st.session_state.kb_messages.append(("error", "not changed: this needs the admin key"))

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

if not writable:
    st.stop()

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
