"""The benchmark scripts still run against the current core: every benchmark at a tiny size, no timings asserted.

What is asserted is what would break if a benchmark rotted: it measured the thing it names (both sides
of each comparison ran, the same vectors came out of both embedding paths, the update steps embedded
what they should), and the report renders with every section in it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from advisor.core import Advisor

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_answer  # noqa: E402
import bench_api  # noqa: E402
import bench_embed  # noqa: E402
import bench_lexical  # noqa: E402
import bench_memory  # noqa: E402
import bench_quality  # noqa: E402
import bench_query  # noqa: E402
import bench_update  # noqa: E402
import common  # noqa: E402
import run_all  # noqa: E402


@pytest.fixture(scope="module")
def sections(advisor: Advisor, tmp_path_factory: pytest.TempPathFactory) -> dict[str, common.Section]:
    work = tmp_path_factory.mktemp("bench")
    cache, bench_query.CACHE = bench_query.CACHE, work / "cache"
    try:
        out = {
            "embed": bench_embed.run(copies=1, limit=2, rounds=1, shapes=[(2, 16)], min_tokens=32),
            "query": bench_query.run(sizes=(40,), repeats=1, n_questions=2, advisor=advisor),
            "answer": bench_answer.run(n_questions=1, advisor=advisor, warm_call=False),
            "quality": bench_quality.run(limit=4, advisor=advisor),
        }
    finally:
        bench_query.CACHE = cache
    bench_memory.write_folder(work / "knowledge", 40)
    ingested = bench_memory.worker_ingest(str(work / "knowledge"), str(work / "data"), widest_batch="0")
    out["update"] = bench_update.run(work, out["embed"].data["ours_chunks_per_s"], ingested["seconds"], new_doc=(1, 2))
    out["ingest"] = common.Section("ingest", "5. ingest", data=ingested)
    return out


def test_both_embedding_paths_ran_and_agree(sections: dict[str, common.Section]) -> None:
    data = sections["embed"].data
    assert data["texts"] == 2 and data["ours_chunks_per_s"] > 0 and data["anchor_chunks_per_s"] > 0
    assert data["min_cosine_ours_vs_anchor"] > 0.999
    assert data["ceiling"][0]["batch"] == 2


def test_query_latency_covers_the_article_and_the_synthetic_store(sections: dict[str, common.Section]) -> None:
    sizes = sections["query"].data["sizes"]
    assert [s["chunks"] for s in sizes] == [sizes[0]["chunks"], 40]
    assert all(s["retrieval"]["n"] == 2 and s["dense_only"]["n"] == 2 for s in sizes)


def test_answer_latency_streams_real_answers(sections: dict[str, common.Section]) -> None:
    data = sections["answer"].data
    assert data["questions"] == 1 and data["refused"] == 0
    assert 0 < data["first_token"]["p50"] <= data["full"]["p50"]


def test_retrieval_quality_scores_both_pipelines(sections: dict[str, common.Section]) -> None:
    data = sections["quality"].data
    assert data["questions"] == 4 and data["tutorial_chunks"] > 0
    assert data["reachable_ours"] == 4  # every gold quote lies whole in one of our chunks


def test_ingest_worker_builds_the_store_it_reports(sections: dict[str, common.Section]) -> None:
    data = sections["ingest"].data
    assert data["chunks"] >= 40 and data["real_embedded"] > 0 and not data["errors"]
    assert data["peak_rss_mb"] > 50


def test_update_steps_embed_only_what_changed(sections: dict[str, common.Section]) -> None:
    unchanged, edited, replaced = sections["update"].data["steps"]
    assert unchanged["embedded"] == 0 and not unchanged["changed"]
    assert 1 <= edited["embedded"] < replaced["embedded"]


def test_the_lexical_index_benchmark_times_both_open_paths_and_the_changes(advisor: Advisor, tmp_path: Path) -> None:
    cache, bench_query.CACHE = bench_query.CACHE, tmp_path / "cache"
    try:
        section = bench_lexical.run(sizes=(60,))
    finally:
        bench_query.CACHE = cache
    (size,) = section.data["sizes"]
    assert size["new"]["total_s"] > 0 and size["old"]["total_s"] > 0 and not size["answer"]["refused"]
    assert size["agreement"]["same"] == size["agreement"]["questions"] == bench_lexical.N_QUESTIONS
    assert [step["current"] for step in size["changes"]] == [True, True, True]
    assert size["index_mb"] > 0 and size["build"]["chunks"] > 0
    assert "| figure |" not in section.body and len(section.rows) == 3


def test_memory_baseline_worker_runs_in_its_own_process() -> None:
    assert bench_memory.in_subprocess("baseline")["peak_rss_mb"] > 20


def test_report_renders_every_section(sections: dict[str, common.Section]) -> None:
    ordered = [sections[k] for k in ("embed", "query", "answer", "quality", "update")]
    text = run_all.render(common.machine(), ordered, 1.0, quick=True)
    for section in ordered:
        assert f"## {section.title}" in text
    assert "| figure | ours | anchor / target | verdict |" in text


@pytest.mark.server
def test_the_api_benchmark_compares_the_same_answers_and_measures_throughput(advisor: Advisor) -> None:
    data = bench_api.run(n_questions=2, per_client=1, advisor=advisor).data
    assert data["questions"] == 2 and data["in_process"]["n"] == data["api"]["n"] == 2
    assert data["api"]["p50"] > 0 and data["in_process"]["p50"] > 0
    assert set(data["throughput_answers_per_s"]) == {1, 4, 8}
    assert all(rate > 0 for rate in data["throughput_answers_per_s"].values())


@pytest.fixture
def scale_cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The scale benchmarks' cache (folders, vectors, stores, the anchor's tree) in a temp dir."""
    import distractors

    cache, distractors.CACHE = distractors.CACHE, tmp_path / "cache"
    try:
        yield distractors.CACHE
    finally:
        distractors.CACHE = cache


def test_the_ingest_benchmark_runs_ours_today_s_path_and_chroma_alone(scale_cache: Path) -> None:
    import bench_ingest

    section = bench_ingest.run(sizes=(0,))
    (size,) = section.data["sizes"]
    ours, anchor = size["ours"], size["anchor"]
    assert ours["chunks"] == anchor["chunks"] == size["floor"]["chunks"] > 10 and not ours["errors"]
    assert ours["code"] == str(common.ROOT) != anchor["code"]  # today's path really ran from its own tree
    assert ours["parts"]["chroma_write"] > 0 and anchor["parts"]["chroma_write"] > 0
    assert ours["peak_rss_mb"] > 50 and len(section.rows) == 2


def test_the_recall_benchmark_measures_dense_recall_agreement_and_evidence(scale_cache: Path) -> None:
    import bench_recall

    section = bench_recall.run(sizes=(0,), evidence_size=0)
    (row,) = section.data["dense"]
    for side in ("ours", "anchor"):
        career = row[side]["first"]["sets"]["career questions"]
        assert career["n"] > 300 and 0 < career["mean"] <= 1  # the three career articles' questions
    for sides in section.data["evidence"].values():
        for side in ("ours", "anchor"):
            article = sides[side]["documents"][bench_recall.ARTICLE_ID]
            assert article["questions"] == 122 and 0 < article["shipped"]["hit@3"] <= 1
    assert len(section.data["evidence"]["3 career articles + the pydoc distractors"]["ours"]["documents"]) == 3
    assert len(section.rows) == 3
