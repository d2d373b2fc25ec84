"""Load the compiled kernels a round uses before the first round, once per process.

numba loads a kernel's cached machine code on the kernel's first call in a process (about
0.5 s for the kernels of a round, plus about 0.3 s to import numba itself). Without a
warm-up that one-off cost lands in the first round: a slow first round in the app and the
CLI's progress, and a per-process constant inside any benchmark that times rounds.

:func:`warm_up` steps a small copy of the scenario once (the same blocks, a few devices
and nodes, its own model and random stream, nothing shared with the caller's model but
the FL table cache, which is keyed by the ``fl`` block and the seed), so each kernel is
loaded with exactly the array types a round of that scenario passes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.scenario import Scenario

#: Devices and nodes of the warm-up copy: enough for brokers, relays and several venues.
WARM_DEVICES, WARM_NODES = 300, 4

_warm = False


def warm_up(scenario: Scenario, seed: int | None) -> None:
    """Step a small copy of ``scenario`` once, the first time this is called in a process."""
    global _warm
    if _warm:
        return
    _warm = True  # before stepping: the copy's own construction must not warm up again
    from agents.model import EdgeMarketModel
    from agents.scenario import Scenario

    data = scenario.model_dump()
    data["devices"]["count"] = min(data["devices"]["count"], WARM_DEVICES)
    data["nodes"]["count"] = min(data["nodes"]["count"], WARM_NODES)
    small = EdgeMarketModel(Scenario.model_validate(data), seed=seed)
    try:
        small.step()
    finally:
        small.release()
