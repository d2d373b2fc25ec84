"""`edgemarket ledger test --root DIR`: forge on a user's own project, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cli import main
from ledger.chain.paths import REPO_ROOT, forge_binary

EXAMPLE = REPO_ROOT / "examples" / "contracts"


@pytest.mark.chain
@pytest.mark.slow
@pytest.mark.skipif(not forge_binary().exists(), reason="forge not installed (npm install)")
def test_forge_runs_the_tutorial_project(capfd: pytest.CaptureFixture[str]) -> None:
    main(
        ["ledger", "test", "--root", str(EXAMPLE), "--match-contract", "CounterTest"]
    )  # exit 0: returns
    out = capfd.readouterr().out
    assert re.search(r"4 tests passed, 0 failed", out), out[-2000:]
    assert "[PASS] testFuzz_strangerCannotIncrement(address) (runs: 128" in out
    assert "[PASS] test_lockOpensAfterItsDuration()" in out


@pytest.mark.parametrize(
    ("root", "reason"),
    [("no/such/folder", "is not a folder"), ("docs", "neither foundry.toml nor src/")],
)
def test_bad_root_is_one_line_exit_2(root: str, reason: str, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(REPO_ROOT)
    with pytest.raises(SystemExit) as exc:
        main(["ledger", "test", "--root", root])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: --root: {Path(root)} {reason}" or (
        err.startswith("error: --root:") and reason in err
    )
    assert "\n" not in err
