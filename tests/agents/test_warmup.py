"""agents.warmup: a model's construction leaves nothing for the first round to compile or load.

Run in a fresh interpreter (the warm-up happens once per process, and this test process
has long since loaded every kernel): after ``EdgeMarketModel(...)`` every compiled kernel
of the project already holds the signatures the first rounds call it with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from numba.core.registry import CPUDispatcher
from agents.model import EdgeMarketModel
import agents.broker_kernels, agents.channel_kernels, agents.kernels, agents.queue_kernels
import agents.fl.fedavg_kernels, agents.fl.table_kernels
import market.batch_kernels, market.kernels

def signatures():
    mods = (agents.broker_kernels, agents.channel_kernels, agents.kernels,
            agents.queue_kernels, agents.fl.fedavg_kernels, agents.fl.table_kernels,
            market.batch_kernels, market.kernels)
    return {f"{m.__name__}.{k}": len(v.signatures) for m in mods for k, v in vars(m).items()
            if isinstance(v, CPUDispatcher)}

model = EdgeMarketModel(sys.argv[1], seed=3)
before = signatures()
for _ in range(3):
    model.step()
print(json.dumps({"before": before, "after": signatures()}))
"""


@pytest.mark.parametrize("scenario", ["smart_city", "highway"])
def test_first_rounds_compile_nothing(scenario: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("EDGEMARKET_KERNELS", None)
    out = subprocess.run([sys.executable, "-c", PROBE, scenario], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    added = {k: (got["before"][k], v) for k, v in got["after"].items() if v != got["before"][k]}
    assert not added, f"kernels first loaded inside a round: {added}"
    assert sum(got["before"].values()) >= 5  # the warm-up did load the round's kernels
