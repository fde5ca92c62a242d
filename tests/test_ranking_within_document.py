"""The passage that answers ranks first, not a summary that names everything the question names.

A comparison document names the things it compares in nearly every chunk; its summary sections ("where they
overlap", "bottom line") name all of them, many times. A question about one thing's one attribute shares those names
with the summary, which repeats them, and only a word or two with the table row or sentence that answers. The
retriever re-scores a document's chunks among its first candidates by their best unit (sentence, row) and by a BM25
in which the words the document repeats count for being there, not for how often. Real embedded model, real Chroma;
a made-up document the code was never tuned on.
"""

from __future__ import annotations

from pathlib import Path

from advisor.kb import ingest
from advisor.kb.store import KnowledgeBase
from advisor.retrieval.retriever import Retriever
from tests.conftest import make_settings

GUIDE = """# Harrowfell Rangers vs Quillmoor Wardens vs Tessaly Scouts

## At a glance

| | Harrowfell Ranger | Quillmoor Warden | Tessaly Scout |
|---|---|---|---|
| Main duty | Mapping the northern ridges | Guarding the river locks | Carrying messages between villages |
| Usual kit | Compass, rope and chalk | Lantern, keys and a ledger | Satchel, boots and a whistle |
| Busiest season | High summer | Spring floods | Harvest weeks |

## A day with a Harrowfell Ranger

Leaves camp before dawn and climbs to the last cairn on the ridge. Checks the chalk marks left last week, redraws
two paths washed out by rain, and sketches a new pass for the council's map. Comes down at dusk with a full notebook.

## A day with a Quillmoor Warden

Opens the upper lock at first light for the grain barges. Logs every boat, its cargo and its toll in the ledger.
Spends the afternoon greasing the gates and clearing reeds from the sluice before the evening barges arrive.

## A day with a Tessaly Scout

Picks up the morning letters at the mill and runs the valley road to three villages. Waits for replies, trades
news at each well, and is back at the mill by sundown with the answers and a list of who needs what.

## Where the three overlap

In small valleys one person is often a Harrowfell Ranger, a Quillmoor Warden and a Tessaly Scout at once. Some
Harrowfell Rangers carry messages on their way down, some Quillmoor Wardens walk the ridges in winter, and some
Tessaly Scouts keep a lock when its warden is ill. The main duty of a Ranger, a Warden or a Scout is what the
council pays for, not all that each one does.

## Bottom line

Whether you become a Harrowfell Ranger, a Quillmoor Warden or a Tessaly Scout, pick the days you would enjoy:
ridges and maps, locks and ledgers, or roads and letters. Rangers, Wardens and Scouts all change duty later.
"""

QUESTIONS = {  # question -> words of the passage that answers it
    "What is the main duty of a Quillmoor Warden?": "Guarding the river locks",
    "What is a Harrowfell Ranger's main duty?": "Mapping the northern ridges",
    "What kit does a Tessaly Scout usually carry?": "Satchel, boots and a whistle",
    "When is a Quillmoor Warden busiest?": "Spring floods",
}


def test_a_summary_naming_every_entity_does_not_outrank_the_row_that_answers(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "wardens.md").write_text(GUIDE, encoding="utf-8")
    settings = make_settings(tmp_path, knowledge_dir=folder)
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    ingest.sync_folder(kb, embedder, folder)
    retriever = Retriever(kb, embedder, settings)

    firsts = {question: retriever.search(question, k=3).hits[0] for question in QUESTIONS}

    assert {q: answer in firsts[q].text for q, answer in QUESTIONS.items()} == dict.fromkeys(QUESTIONS, True), {
        q: hit.section for q, hit in firsts.items()
    }
