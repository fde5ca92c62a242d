"""The MiniLM tokenizer is vendored: its bytes are the ones the stored vectors were made with, and it is used."""

from __future__ import annotations

import hashlib

from advisor.providers.embeddings import TOKENIZER_FILE, local_model_files

SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"  # PROVENANCE.md beside the file


def test_the_vendored_tokenizer_has_the_recorded_bytes_licence_and_provenance() -> None:
    assert hashlib.sha256(TOKENIZER_FILE.read_bytes()).hexdigest() == SHA256
    assert "Apache License" in (TOKENIZER_FILE.parent / "LICENSE").read_text(encoding="utf-8")
    assert SHA256 in (TOKENIZER_FILE.parent / "PROVENANCE.md").read_text(encoding="utf-8")


def test_the_local_embedder_reads_the_vendored_tokenizer_and_it_is_bert_uncased_wordpiece() -> None:
    from tokenizers import Tokenizer

    _, tokenizer_file = local_model_files()
    assert tokenizer_file == TOKENIZER_FILE
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()  # as the embedder runs it: the file itself pads to a fixed length
    ids = tokenizer.encode("Hello World").ids
    assert ids == [101, 7592, 2088, 102]  # [CLS] hello world [SEP]
