"""The domain vocabulary is data: a YAML file parsed with errors that name the entry, and the active one
decides how text is tokenised (synonyms, phrases) and which tokenizer signature a lexical index records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor import vocabulary
from advisor.errors import ConfigError
from advisor.retrieval.lexical import tokenize, tokenizer_signature


@pytest.fixture
def restore_active() -> Iterator[None]:
    """Put back the process's vocabulary after a test that swaps it (tokenising is process-wide)."""
    before = vocabulary.active()
    try:
        yield
    finally:
        vocabulary.use(before)


def test_the_bundled_file_parses_with_every_section() -> None:
    vocab = vocabulary.load(vocabulary.default_path())
    assert vocab.aliases and vocab.synonyms and vocab.phrases and vocab.entity_headings
    assert vocab.background_headings and vocab.background_parents and vocab.specifics
    assert vocab.source == str(vocabulary.default_path()) and vocab.digest != "empty"


def test_aliases_synonyms_and_specifics_are_read_from_the_mapping() -> None:
    vocab = vocabulary.parse(
        {
            "aliases": {"Site Reliability Engineer": ["SRE", "reliability engineer"]},
            "synonyms": {"Pay": ["Salary", "comp"]},
            "specifics": {"currency": ["Pounds", "£"]},
        },
        "test.yaml",
    )
    assert vocab.aliases == {"Site Reliability Engineer": ("SRE", "reliability engineer")}
    assert vocab.synonyms == {"salary": "pay", "comp": "pay"}  # folded to lower case, word -> canonical
    assert vocab.specific_kind("pounds") == "currency" and vocab.specific_kind("POUNDS") == "currency"
    assert vocab.specific_kind("£") == "currency" and vocab.specific_kind("London") is None


def test_headings_need_their_named_group() -> None:
    vocab = vocabulary.parse({"entity_headings": ["^a week as an? (?P<name>.+)$"]})
    assert vocab.entity_headings[0].search("A WEEK AS A Data Engineer")["name"] == "Data Engineer"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"test\.yaml: entity_headings\[1\]: the regex needs a named group"):
        vocabulary.parse({"entity_headings": ["^what an? (?P<name>.+) does", "^inside (.+)$"]}, "test.yaml")
    with pytest.raises(ConfigError, match=r"background_headings\[0\]: .*\(\?P<name>"):
        vocabulary.parse({"background_headings": ["^you're (.+)$"]}, "test.yaml")


@pytest.mark.parametrize(
    ("data", "names"),
    [
        pytest.param(
            {"synonyms": {"pay": ["salary", 3]}}, r"test\.yaml: synonyms\.pay: expected a list of words", id="a-number"
        ),
        pytest.param(
            {"synonyms": {"pay": ["salary", " "]}}, r"synonyms\.pay: expected a list of words", id="a-blank-word"
        ),
        pytest.param(
            {"aliases": {"SRE": {"x": 1}}}, r"test\.yaml: aliases\.SRE: expected a list of words", id="an-alias-map"
        ),
        pytest.param({"specifics": {"city": [None]}}, r"specifics\.city: expected a list of words", id="a-null"),
        pytest.param(
            {"phrases": {"daily": ["day[- to"]}},
            r"test\.yaml: phrases\.daily\[0\]: bad regex 'day\[- to'",
            id="a-bad-regex",
        ),
        pytest.param({"phrases": ["x"]}, r"test\.yaml: 'phrases' must be a mapping", id="a-list-for-a-mapping"),
        pytest.param(
            {"synonym": {"pay": ["salary"]}},
            r"test\.yaml: unknown key 'synonym' \(expected one of aliases,",
            id="a-misspelt-key",
        ),
        pytest.param(["aliases"], r"test\.yaml: expected a mapping", id="a-list-at-the-top"),
        pytest.param({"opposites": [["up", 3]]}, r"opposites\[0\]: expected a list of words", id="opposite-number"),
        pytest.param({"opposites": [[["up"]]]}, r"opposites\[0\]: expected two lists", id="one-side-only"),
        pytest.param({"opposites": [[["up"], ["up"]]]}, r"opposites\[0\]: two non-empty lists", id="same-word"),
    ],
)
def test_a_malformed_entry_is_a_config_error_that_names_it(data: object, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        vocabulary.parse(data, "test.yaml")


def test_a_missing_file_is_an_empty_vocabulary(tmp_path: Path) -> None:
    vocab = vocabulary.load(tmp_path / "nowhere.yaml")
    assert vocab == vocabulary.Vocabulary(source=str(tmp_path / "nowhere.yaml"))
    assert not vocab.aliases and not vocab.synonyms and not vocab.phrases and vocab.digest == "empty"
    empty_file = vocabulary.parse(None)
    assert not empty_file.aliases and not empty_file.synonyms and not empty_file.entity_headings


def test_a_file_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "vocabulary.yaml"
    path.write_text("synonyms: {pay: [salary\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path} is not valid YAML"):
        vocabulary.load(path)
    path.write_text("synonyms:\n  pay: salary\n  engineer: {a: b}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path}: synonyms\.engineer: expected a list of words"):
        vocabulary.load(path)


def test_tokenize_folds_the_active_vocabularys_synonyms_and_phrases() -> None:
    assert tokenize("What's the salary and total comp?") == ["pay", "pay"]
    assert tokenize("machine-learning interviews") == ["ml", "interview"]
    # "make" with nothing made is pay; making a decision or a switch is not
    assert tokenize("What does a platform engineer make?") == ["platform", "engineer", "pay"]
    assert tokenize("who makes more") == ["pay"]
    assert "pay" not in tokenize("decision-making, make the switch, make more sense")
    assert tokenize("Who makes the most?") == ["pay", "highest"]
    assert "pay" not in tokenize("make the most of it")


def test_a_days_narrative_and_a_question_about_a_day_share_the_daily_token() -> None:
    # a narrative says when things happen, rarely the word "day"; the question asks about "a typical day"
    assert tokenize("At 9:30 a nurse checks the charts. After lunch, rounds. On Friday, audits.") == [
        "daily",
        "nurse",
        "check",
        "chart",
        "after",
        "daily",
        "round",
        "daily",
        "audit",
    ]
    assert tokenize("whats a day in the life of a nurse like?") == ["daily", "nurse", "like"]
    assert tokenize("What does a nurse do on a normal working day?") == ["nurse", "daily"]
    assert "daily" not in tokenize("on call one week in four, at 50% of their time")


def test_word_forms_and_abbreviations_fold_into_one_word() -> None:
    assert tokenize("How much coding? Do I need to code?") == ["code", "require", "code"]
    assert tokenize("Is there a cert for it? Which certification?") == ["certification", "certification"]


def test_an_abbreviated_background_meets_its_full_name() -> None:
    assert tokenize("a sysadmin") == tokenize("system administration") == tokenize("systems administrators")


def test_where_someone_comes_from_asks_for_their_background() -> None:
    assert tokenize("Where do nurses usually come from?") == ["nurse", "background"]
    assert tokenize("If you come from nursing, retrain.") == ["come", "nursing", "retrain"]  # not a question of it


def test_opposites_pair_words_of_reverse_meaning_either_way() -> None:
    vocab = vocabulary.parse({"opposites": [[["grew", "rising"], ["shrinking", "fell"]]]})
    assert vocab.opposite("grew", "shrinking") and vocab.opposite("fell", "rising")
    assert not vocab.opposite("grew", "rising") and not vocab.opposite("grew", "stable")
    assert tokenize("the day-to-day of a backend developer") == ["daily", "software", "engineer"]
    bundled = vocabulary.active()  # "the company's own developers" are not its external customers
    assert bundled.opposite("external", "own") and bundled.opposite("internal", "outside")


def test_use_swaps_the_vocabulary_tokenize_reads(restore_active: None) -> None:
    assert tokenize("What is the salary of a biotope?") == ["pay", "biotope"]
    mine = vocabulary.use(vocabulary.parse({"synonyms": {"habitat": ["biotope", "biotopes"]}}, "mine.yaml"))
    assert vocabulary.active() is mine
    assert tokenize("What is the salary of a biotope?") == ["salary", "habitat"]  # the bundled synonyms are gone
    assert tokenize("two biotopes") == ["two", "habitat"]


def test_use_reads_a_file_by_path_and_the_same_path_again_is_a_no_op(tmp_path: Path, restore_active: None) -> None:
    path = tmp_path / "vocabulary.yaml"
    path.write_text("synonyms:\n  habitat: [biotope]\n", encoding="utf-8")
    first = vocabulary.use(path)
    assert first.source == str(path) and tokenize("biotope") == ["habitat"]
    path.write_text("synonyms:\n  niche: [biotope]\n", encoding="utf-8")
    assert vocabulary.use(path) is first  # cheap to call from every entry point: not re-read
    assert vocabulary.use(None).source == str(vocabulary.default_path())
    assert tokenize("salary") == ["pay"]


def test_the_tokenizer_signature_changes_with_the_vocabulary(restore_active: None) -> None:
    bundled = tokenizer_signature()
    assert tokenizer_signature() == bundled  # stable for one vocabulary
    vocabulary.use(vocabulary.parse({"synonyms": {"habitat": ["biotope"]}}))
    changed = tokenizer_signature()
    assert changed != bundled
    vocabulary.use(vocabulary.parse({"synonyms": {"habitat": ["biotope"]}}, "elsewhere.yaml"))
    assert tokenizer_signature() == changed  # the content decides, not where it was read from
    vocabulary.use(vocabulary.load(vocabulary.default_path()))
    assert tokenizer_signature() == bundled
    answers_only = {"specifics": {"city": ["paris"]}, "opposites": [[["up"], ["down"]]]}
    vocabulary.use(vocabulary.parse({"synonyms": {"habitat": ["biotope"]}, **answers_only}))
    assert tokenizer_signature() == changed  # what only answers read does not re-index the chunks
