"""Fault injection for crash tests: kill this very process at a named point of a run.

``EDGEMARKET_FAULT=PHASE[:ROUND[:SIGNAL]]`` arms one point; when the run reaches it (for
that round, or the first time when no round is given) the process sends SIGNAL (``KILL``,
the default, or ``INT``) to itself. Sending it from inside the process is what makes the
kill land exactly in the window under test, which a timer in the test could never do.

Phases: ``after_deploy`` (contracts deployed, funded and recorded), ``before_send`` (the
round's outbox row and round rows committed, nothing sent), ``after_send`` (the round's
transaction sent, its receipt not yet stored), ``flush`` (inside the store's write
transaction, before its commit) and ``claims`` (between the final reward claims).
Unset (always, outside tests) the check is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

ENV = "EDGEMARKET_FAULT"
PHASES = ("after_deploy", "before_send", "after_send", "flush", "claims")
_SIGNALS = {"KILL": signal.SIGKILL, "INT": signal.SIGINT}


def armed(phase: str, rnd: int | None = None) -> bool:
    """Whether the fault named by the environment is at `phase` (and `rnd`, if it names one)."""
    spec = os.environ.get(ENV)
    if not spec:
        return False
    parts = spec.split(":")
    if parts[0] != phase:
        return False
    if len(parts) > 1 and parts[1] not in ("", "*") and rnd is not None and int(parts[1]) != int(rnd):
        return False
    return True


def point(phase: str, rnd: int | None = None, before: Callable[[], None] | None = None) -> None:
    """Kill this process here when the fault is armed for `phase`/`rnd`.

    `before` runs first (e.g. a store flush, so the window really holds a committed round).
    The fault fires once per process: the variable is cleared before the signal.
    """
    if not armed(phase, rnd):
        return
    spec = os.environ.pop(ENV)
    parts = spec.split(":")
    sig = _SIGNALS[parts[2].upper()] if len(parts) > 2 and parts[2] else signal.SIGKILL
    if before is not None:
        before()
    os.kill(os.getpid(), sig)
