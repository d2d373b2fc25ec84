"""Compile errors say file:line:column and show the source line (no chain needed).

The expected positions are found in the source text independently (``str.index`` on the
offending token), not from the compiler's offsets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.chain.compiler import CompileError, load_artifacts
from ledger.chain.paths import REPO_ROOT

SCRATCH = REPO_ROOT / "data" / "tests" / "contractkit"

BROKEN = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
// ünïcödé before the error: offsets are bytes, columns are characters
contract Broken {
    uint256 public n;
    function f() external { n += 1 }
}
"""

TYPE_ERRORS = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract Typed {
    function f() external pure returns (uint256) {
        uint256 a = missing;
        return other + a;
    }
}
"""


def _write(name: str, text: str) -> Path:
    # Fixed path under data/: the artifact cache is keyed by path and content, so a rerun
    # with the same content hits the cache instead of spending seconds in solcjs.
    SCRATCH.mkdir(parents=True, exist_ok=True)
    path = SCRATCH / name
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _position(text: str, needle: str, occurrence_offset: int = 0) -> tuple[int, int, str]:
    """(line, column) of ``needle`` (+ offset chars) in ``text``, 1-based, and the line."""
    index = text.index(needle) + occurrence_offset
    before = text[:index]
    line = before.count("\n") + 1
    column = index - (before.rfind("\n") + 1) + 1
    return line, column, text.splitlines()[line - 1]


def test_parser_error_has_file_line_column_and_source_line() -> None:
    path = _write("Broken.sol", BROKEN)
    with pytest.raises(CompileError) as info:
        load_artifacts([path], include_project=False)
    line, column, source = _position(BROKEN, "1 }", 2)  # the '}' where ';' was expected
    rel = "data/tests/contractkit/Broken.sol"
    first = str(info.value).splitlines()[0]
    assert first == f"{rel}:{line}:{column}: ParserError: Expected ';' but got '}}'"
    assert str(info.value).splitlines()[1].endswith(f"| {source}")
    caret = str(info.value).splitlines()[2]
    assert caret.index("^") == str(info.value).splitlines()[1].index("|") + 2 + column - 1
    (issue,) = info.value.issues
    assert (issue.file, issue.line, issue.column, issue.source_line) == (rel, line, column, source)


@pytest.mark.slow  # a second solcjs run; the parser-error test above covers the format
def test_every_error_is_located() -> None:
    path = _write("Typed.sol", TYPE_ERRORS)
    with pytest.raises(CompileError) as info:
        load_artifacts([path], include_project=False)
    found = {(i.line, i.column) for i in info.value.issues}
    assert found == {_position(TYPE_ERRORS, "missing")[:2], _position(TYPE_ERRORS, "other")[:2]}
    assert {i.kind for i in info.value.issues} == {"DeclarationError"}
    assert str(info.value).count("Typed.sol:") == 2


def test_user_contract_compiles_without_the_project_sources() -> None:
    arts = load_artifacts(
        [REPO_ROOT / "examples" / "contracts" / "src" / "Counter.sol"], include_project=False
    )
    assert set(arts) == {"Counter"}
