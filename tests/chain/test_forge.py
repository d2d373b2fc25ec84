"""The Solidity test suites (fuzz + invariants) pass under forge, offline."""

from __future__ import annotations

import re

import pytest

from ledger.chain.forge import run_forge
from ledger.chain.paths import forge_binary

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.mark.skipif(not forge_binary().exists(), reason="forge not installed (npm install)")
def test_forge_suites_pass_offline() -> None:
    proc = run_forge(["test", "--offline"], timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    summary = re.search(r"(\d+) tests passed, (\d+) failed", out)
    assert summary is not None, out[-2000:]
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert failed == 0 and passed >= 17
    for name in ("invariant_totalSupplyConserved", "invariant_escrowSolvent",
                 "invariant_noRoundSettlesTwice", "invariant_onlyRolesMoveFunds"):  # fmt: skip
        assert f"[PASS] {name}" in out
    assert "testFuzz_" in out
