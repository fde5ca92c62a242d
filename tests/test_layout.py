"""The folder shows the architecture: the engine never imports the app, the CLI or Streamlit; modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "advisor"
EDGES = ("advisor.app", "advisor.cli", "advisor.api")  # may import the engine; the engine may not import them
FORBIDDEN = ("streamlit", *EDGES)
MAX_LINES = 300  # a module over this says why in its docstring (the word "long:" starts the reason)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (lazy imports inside functions count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = _module_name(path).split(".")
                base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _engine_files() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if not _module_name(p).startswith(EDGES)]


def test_the_engine_imports_nothing_from_the_app_the_cli_or_streamlit() -> None:
    files = _engine_files()
    assert len(files) > 20 and any(p.parent.name == "answering" for p in files)  # the scan really covers the engine
    offenders = {_module_name(p): sorted(m for m in _imports(p) if m.startswith(FORBIDDEN)) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_scan_catches_a_forbidden_import(tmp_path: Path) -> None:
    # The rule's own check must be able to fail: a lazy import inside a function is found.
    sample = PACKAGE / "kb" / "_layout_probe.py"
    sample.write_text("def f():\n    import streamlit as st\n    from advisor.app import display\n", encoding="utf-8")
    try:
        assert {"streamlit", "advisor.app", "advisor.app.display"} <= _imports(sample)
    finally:
        sample.unlink()


def test_no_module_is_over_300_lines_without_a_reason_in_its_docstring() -> None:
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > MAX_LINES and "long:" not in doc.lower():
            too_long.append(f"{_module_name(path)} ({len(text.splitlines())} lines)")
    assert too_long == []
