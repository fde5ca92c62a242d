"""Settings come from ADVISOR_* variables (and a .env file), pick the provider automatically, and reject bad
values by name."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.errors import ConfigError
from advisor.settings import LOCAL_CHAT_MODEL, PROJECT_DIR, Settings, load_settings, variables

README = PROJECT_DIR / "README.md"


@pytest.fixture(autouse=True)
def in_an_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer's ./.env can leak into these tests: each runs in its own empty directory."""
    monkeypatch.chdir(tmp_path)


def test_with_no_environment_the_embedded_local_provider_is_used() -> None:
    s = load_settings({})
    assert s.provider == "local" and s.embed_provider == "local"
    assert s.chat_model == LOCAL_CHAT_MODEL
    assert s.effective_answer_mode == "grounded"
    assert s.data_dir == PROJECT_DIR / "data"


def test_with_no_environment_every_field_has_its_declared_default() -> None:
    s = load_settings({})
    assert {name: getattr(s, name) for name in Settings.model_fields} == {
        name: info.default for name, info in Settings.model_fields.items()
    }
    assert (s.top_k, s.chunk_tokens, s.chunk_overlap, s.timeout, s.max_retries) == (5, 220, 30, 30.0, 2)
    assert (s.relevance_threshold, s.lexical_threshold, s.temperature, s.leftover_grace) == (0.30, 4.0, 0.1, 900.0)
    assert (s.max_answer_tokens, s.max_question_chars, s.max_history_turns) == (220, 4000, 6)
    assert s.max_document_bytes == 5_000_000 and s.collection_prefix == "advisor"
    assert s.openai_api_key is None and s.n_threads is None and s.judge_model is None and s.chroma_url is None


def test_an_openai_key_selects_the_openai_provider() -> None:
    s = load_settings({"OPENAI_API_KEY": "sk-abc"})
    assert s.provider == "openai"
    assert s.chat_model == "gpt-4o-mini"
    assert s.effective_answer_mode == "generative"
    assert "sk-abc" not in repr(s) and "sk-abc" not in str(s.describe())


def test_a_base_url_alone_selects_the_openai_provider_and_advisor_provider_wins() -> None:
    assert load_settings({"ADVISOR_OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}).provider == "openai"
    assert load_settings({"OPENAI_API_KEY": "sk", "ADVISOR_PROVIDER": "local"}).provider == "local"


def test_values_are_parsed_and_typed(tmp_path: Path) -> None:
    s = load_settings(
        {
            "ADVISOR_TOP_K": "7",
            "ADVISOR_TIMEOUT": "2.5",
            "ADVISOR_DATA_DIR": str(tmp_path),
            "ADVISOR_CHROMA_HOST": "127.0.0.1",
            "ADVISOR_CHROMA_PORT": "9000",
        }
    )
    assert s.top_k == 7 and s.timeout == 2.5 and s.data_dir == tmp_path
    assert s.chroma_url == "http://127.0.0.1:9000"
    assert s.manifest_path == tmp_path / "manifest.json"


def test_the_short_variable_names_feed_their_fields() -> None:
    s = load_settings({"ADVISOR_COLLECTION": "team-a", "ADVISOR_THREADS": "3", "ADVISOR_CHROMA_HOST": "db"})
    assert s.collection_prefix == "team-a" and s.n_threads == 3
    assert s.chroma_url == "http://db:8000"


def test_choices_ignore_case_and_blank_values_count_as_unset() -> None:
    s = load_settings({"ADVISOR_PROVIDER": " OpenAI ", "ADVISOR_ANSWER_MODE": "GROUNDED", "ADVISOR_EMBED_PROVIDER": ""})
    assert (s.provider, s.answer_mode, s.embed_provider) == ("openai", "grounded", "local")
    blank = load_settings({"ADVISOR_TOP_K": "  ", "OPENAI_API_KEY": "", "ADVISOR_THREADS": ""})
    assert blank.top_k == 5 and blank.provider == "local" and blank.n_threads is None


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"ADVISOR_TOP_K": "many"}, "ADVISOR_TOP_K"),
        ({"ADVISOR_TOP_K": "0"}, "ADVISOR_TOP_K"),
        ({"ADVISOR_TOP_K": "51"}, "ADVISOR_TOP_K"),
        ({"ADVISOR_THREADS": "abc"}, "ADVISOR_THREADS"),
        ({"ADVISOR_THREADS": "0"}, "ADVISOR_THREADS"),
        ({"ADVISOR_THREADS": "-2"}, "ADVISOR_THREADS"),
        ({"ADVISOR_TIMEOUT": "0"}, "ADVISOR_TIMEOUT"),
        ({"ADVISOR_TEMPERATURE": "hot"}, "ADVISOR_TEMPERATURE"),
        ({"ADVISOR_RELEVANCE_THRESHOLD": "1.5"}, "ADVISOR_RELEVANCE_THRESHOLD"),
        ({"ADVISOR_MAX_HISTORY_TURNS": "101"}, "ADVISOR_MAX_HISTORY_TURNS"),
        ({"ADVISOR_PROVIDER": "anthropic"}, "ADVISOR_PROVIDER"),
        ({"ADVISOR_EMBED_PROVIDER": "cohere"}, "ADVISOR_EMBED_PROVIDER"),
        ({"ADVISOR_ANSWER_MODE": "creative"}, "ADVISOR_ANSWER_MODE"),
        ({"ADVISOR_OPENAI_BASE_URL": "localhost:8080"}, "ADVISOR_OPENAI_BASE_URL"),
        ({"ADVISOR_CHROMA_URL": "ftp://x"}, "ADVISOR_CHROMA_URL"),
        ({"ADVISOR_CHROMA_HOST": "db", "ADVISOR_CHROMA_PORT": "http"}, "ADVISOR_CHROMA_PORT"),
        ({"ADVISOR_CHROMA_HOST": "db", "ADVISOR_CHROMA_PORT": "70000"}, "ADVISOR_CHROMA_PORT"),
        ({"ADVISOR_COLLECTION": "my kb"}, "ADVISOR_COLLECTION"),
        ({"ADVISOR_COLLECTION": "kb"}, "ADVISOR_COLLECTION"),
        ({"ADVISOR_LOCAL_MODEL": "/nonexistent/model.gguf"}, "ADVISOR_LOCAL_MODEL"),
        ({"ADVISOR_CHUNK_TOKENS": "64", "ADVISOR_CHUNK_OVERLAP": "64"}, "ADVISOR_CHUNK_OVERLAP"),
        ({"ADVISOR_EMBED_MODEL": "bge-large"}, "ADVISOR_EMBED_MODEL"),
        ({"ADVISOR_ENV_FILE": "/nonexistent/advisor.env"}, "ADVISOR_ENV_FILE"),
    ],
)
def test_bad_values_are_refused_with_one_line_naming_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name) as refused:
        load_settings(env)
    assert "\n" not in str(refused.value)
    assert "validation error" not in str(refused.value).lower()  # pydantic's own wording stays inside


def test_a_range_error_says_the_range_and_the_value_given() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"ADVISOR_TOP_K": "0"})
    assert str(refused.value) == "ADVISOR_TOP_K must be between 1 and 50, got '0'"


def test_overrides_win_over_the_environment_and_are_validated_too() -> None:
    assert load_settings({"ADVISOR_TOP_K": "7"}, top_k=3).top_k == 3
    with pytest.raises(ConfigError, match="ADVISOR_TOP_K"):
        load_settings({}, top_k=0)
    with pytest.raises(ConfigError, match="unknown setting 'top_kk'"):
        load_settings({}, top_kk=3)


def test_with_returns_a_validated_copy_without_reading_the_environment_again(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings({})
    monkeypatch.setenv("ADVISOR_TOP_K", "9")
    changed = s.with_(temperature=0.5)
    assert (changed.temperature, changed.top_k) == (0.5, 5)
    assert s.temperature == 0.1  # the original is untouched (and frozen)
    with pytest.raises(ConfigError, match="ADVISOR_TEMPERATURE must be between"):
        s.with_(temperature=3)


def test_the_api_key_is_secret_in_repr_describe_and_dumps() -> None:
    s = load_settings({"ADVISOR_OPENAI_API_KEY": "sk-canary-123", "OPENAI_API_KEY": "sk-other"})
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-canary-123"
    shown = [repr(s), str(s), str(s.describe()), s.model_dump_json(), str(s.model_dump())]
    assert [text for text in shown if "sk-canary" in text] == []
    assert s.with_(top_k=3).openai_api_key == s.openai_api_key  # a copy keeps the key
    with pytest.raises(ConfigError) as refused:
        load_settings({"OPENAI_API_KEY": "sk-canary-123"}, openai_api_key=123)
    assert "123" not in str(refused.value)  # a bad key is named, never echoed


def test_a_dot_env_file_in_the_current_directory_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADVISOR_TOP_K=7\nADVISOR_TEMPERATURE=0.5\nOPENAI_API_KEY=sk-from-file\n")
    s = load_settings({"ADVISOR_TOP_K": "9", "ADVISOR_TEMPERATURE": " "})
    assert s.top_k == 9  # the environment wins
    assert s.temperature == 0.5  # a blank variable does not hide the file's value
    assert s.provider == "openai" and s.openai_api_key is not None
    assert s.openai_api_key.get_secret_value() == "sk-from-file"


def test_advisor_env_file_names_another_file_and_the_current_directory_one_is_then_ignored(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADVISOR_TOP_K=7\n")
    other = tmp_path / "conf" / "advisor.env"
    other.parent.mkdir()
    other.write_text("# team settings\nADVISOR_COLLECTION=team-kb\n")
    s = load_settings({"ADVISOR_ENV_FILE": str(other)})
    assert s.collection_prefix == "team-kb" and s.top_k == 5


def test_os_environ_and_the_dot_env_file_are_read_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("ADVISOR_MAX_HISTORY_TURNS=2\nADVISOR_TOP_K=4\n")
    monkeypatch.delenv("ADVISOR_ENV_FILE", raising=False)
    monkeypatch.delenv("ADVISOR_MAX_HISTORY_TURNS", raising=False)
    monkeypatch.setenv("ADVISOR_TOP_K", "8")
    assert (load_settings().top_k, load_settings().max_history_turns) == (8, 2)
    assert (Settings().top_k, Settings().max_history_turns) == (8, 2)  # the model alone reads the same sources
    monkeypatch.setenv("ADVISOR_THREADS", "abc")
    with pytest.raises(ConfigError, match="ADVISOR_THREADS must be a int, got 'abc'"):
        Settings()


def test_importing_settings_reads_no_file_and_loads_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADVISOR_TOP_K=0\n")  # would fail if anything read it at import
    code = (
        "import sys, advisor.settings; "
        "print(sorted(m for m in ('chromadb', 'llama_cpp', 'onnxruntime', 'openai', 'streamlit') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_user_gguf_makes_the_answer_mode_generative(tmp_path: Path) -> None:
    model = tmp_path / "bigger-model.gguf"
    model.write_bytes(b"GGUF")
    s = load_settings({"ADVISOR_LOCAL_MODEL": str(model)})
    assert s.local_model == model and s.chat_model == "bigger-model"
    assert s.effective_answer_mode == "generative"


def readme_table() -> dict[str, str]:
    """Variable -> default cell of the README's Configuration table (a row may name several variables)."""
    section = README.read_text(encoding="utf-8").split("## Configuration\n", 1)[1].split("\n#", 1)[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            names, default, _meaning = line.strip().strip("|").split("|")
            table.update(dict.fromkeys(re.findall(r"`([A-Z][A-Z0-9_]*)`", names), default.strip()))
    return table


def documented(cell: str, like: object) -> object:
    """The README's default, typed like the real one: its first word; '–' means unset, ./ the project."""
    first = re.split(r"[\s,;]", cell.replace("`", ""), maxsplit=1)[0]
    if first == "–":
        return None
    if isinstance(like, Path):
        return PROJECT_DIR / first
    if isinstance(like, bool):  # before int: a bool is an int
        return first.lower() in ("true", "on", "1", "yes")
    if isinstance(like, int | float):
        return type(like)(first)
    return first


def test_the_readme_configuration_table_lists_every_variable_with_its_default() -> None:
    table, real = readme_table(), variables()
    assert sorted(set(real) - set(table)) == []  # read by the code but not documented
    assert sorted(set(table) - set(real)) == []  # documented but never read
    wrong = {name: table[name] for name, default in real.items() if documented(table[name], default) != default}
    assert wrong == {}
