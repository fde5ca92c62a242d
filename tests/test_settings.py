"""Settings come from ADVISOR_* variables, pick the provider automatically, and reject bad values by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import ConfigError
from advisor.settings import LOCAL_CHAT_MODEL, PROJECT_DIR, load_settings


def test_with_no_environment_the_embedded_local_provider_is_used() -> None:
    s = load_settings({})
    assert s.provider == "local" and s.embed_provider == "local"
    assert s.chat_model == LOCAL_CHAT_MODEL
    assert s.effective_answer_mode == "grounded"
    assert s.data_dir == PROJECT_DIR / "data"


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


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"ADVISOR_TOP_K": "many"}, "ADVISOR_TOP_K"),
        ({"ADVISOR_TOP_K": "0"}, "ADVISOR_TOP_K"),
        ({"ADVISOR_PROVIDER": "anthropic"}, "ADVISOR_PROVIDER"),
        ({"ADVISOR_OPENAI_BASE_URL": "localhost:8080"}, "ADVISOR_OPENAI_BASE_URL"),
        ({"ADVISOR_CHROMA_URL": "ftp://x"}, "ADVISOR_CHROMA_URL"),
        ({"ADVISOR_LOCAL_MODEL": "/nonexistent/model.gguf"}, "ADVISOR_LOCAL_MODEL"),
        ({"ADVISOR_CHUNK_TOKENS": "64", "ADVISOR_CHUNK_OVERLAP": "64"}, "ADVISOR_CHUNK_OVERLAP"),
        ({"ADVISOR_EMBED_MODEL": "bge-large"}, "ADVISOR_EMBED_MODEL"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_a_user_gguf_makes_the_answer_mode_generative(tmp_path: Path) -> None:
    model = tmp_path / "bigger-model.gguf"
    model.write_bytes(b"GGUF")
    s = load_settings({"ADVISOR_LOCAL_MODEL": str(model)})
    assert s.local_model == model and s.chat_model == "bigger-model"
    assert s.effective_answer_mode == "generative"
