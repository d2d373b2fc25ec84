"""The tutorial in docs/contracts.md shows code that exists in examples/contracts/.

Every line of its ``python``/``solidity``/``ini`` blocks must occur in the example files,
so the page cannot drift from the code the test suite runs.
"""

from __future__ import annotations

import re

from ledger.chain.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "contracts.md"
EXAMPLE = REPO_ROOT / "examples" / "contracts"


def _tutorial() -> str:
    text = DOC.read_text()
    start = text.index("## Tutorial: testing your own contracts")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_tutorial_code_blocks_come_from_the_examples() -> None:
    sources = "\n".join(
        p.read_text()
        for p in EXAMPLE.rglob("*")
        if p.suffix in (".py", ".sol", ".ini") and p.is_file()
    )
    example_lines = {line.strip() for line in sources.splitlines()}
    blocks = re.findall(r"```(python|solidity|ini)\n(.*?)```", _tutorial(), flags=re.S)
    assert len(blocks) >= 10
    missing = [
        line.strip()
        for _, body in blocks
        for line in body.splitlines()
        if line.strip() and line.strip() not in example_lines
    ]
    assert missing == []


def test_tutorial_names_the_files_it_uses() -> None:
    text = _tutorial()
    for rel in ("src/Counter.sol", "tests/test_counter.py", "tests/test_counter_stateful.py",
                "test/Counter.t.sol", "pytest.ini"):  # fmt: skip
        assert (EXAMPLE / rel).is_file() and rel in text
