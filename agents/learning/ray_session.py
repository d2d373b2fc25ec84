"""One place that starts and stops Ray, with its scratch kept inside the repository.

Ray and torch write outside the project by default (``~/ray_results``, ``/tmp/ray``,
``/tmp/torchinductor_*``). :func:`configure_scratch` points all of that into the git-ignored
``data/`` folder (``data/ray`` is kept short: Ray's Unix socket paths have a length limit),
and :func:`ray_session` is a context manager that starts a local Ray (``num_cpus`` CPUs, no
dashboard) or connects to a cluster (``address``), and always shuts down what it started.

    with ray_session(num_cpus=2) as info:
        ...  # ray.remote tasks, RLlib algorithms
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Repository root (agents/learning/ray_session.py -> ../../).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Git-ignored scratch folder of Ray, torch and RLlib outputs.
DATA_DIR = Path(os.environ.get("EDGEMARKET_DATA", REPO_ROOT / "data"))  # --data-dir sets it
RAY_TMP = DATA_DIR / "ray"
#: Ray's Unix socket paths (RAY_TMPDIR + ~65 characters of session/socket names) must fit
#: in 107 bytes; a checkout deeper than this falls back to a short per-user folder in /tmp.
RAY_TMP_MAX_CHARS = 40
if len(str(RAY_TMP)) > RAY_TMP_MAX_CHARS:
    RAY_TMP = Path("/tmp") / f"edgemarket-ray-{os.getuid()}"
TORCH_CACHE = DATA_DIR / "torch"
RESULTS_DIR = DATA_DIR / "ray_results"


def configure_scratch() -> dict[str, str]:
    """Set the environment so Ray/torch scratch lands under ``data/`` (idempotent).

    Existing values win (a user may point them elsewhere). Returns the variables set.
    """
    wanted = {
        "RAY_TMPDIR": str(RAY_TMP),
        "TORCHINDUCTOR_CACHE_DIR": str(TORCH_CACHE),
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_DEDUP_LOGS": "1",
        # Ray's default storage for Tune/RLlib results (we always pass storage_path too).
        "RAY_AIR_LOCAL_CACHE_DIR": str(RESULTS_DIR),
        "TUNE_RESULT_DIR": str(RESULTS_DIR),
    }
    for key, value in wanted.items():
        os.environ.setdefault(key, value)
    for p in (RAY_TMP, TORCH_CACHE, RESULTS_DIR):
        p.mkdir(parents=True, exist_ok=True)
    return {k: os.environ[k] for k in wanted}


@dataclass(frozen=True)
class RaySessionInfo:
    """What :func:`ray_session` connected to."""

    address: str | None
    started: bool
    num_cpus: float


@contextmanager
def ray_session(address: str | None = None, num_cpus: int = 2, *,
                quiet: bool = True) -> Iterator[RaySessionInfo]:
    """Start local Ray (or join ``address``) for the block; shut down only what we started.

    If Ray is already initialized (a test fixture's session), it is reused and left running.
    """
    configure_scratch()
    import ray

    if ray.is_initialized():
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
        yield RaySessionInfo(address=address, started=False, num_cpus=cpus)
        return
    kwargs: dict[str, object] = {
        "include_dashboard": False,
        "ignore_reinit_error": True,
        "logging_level": logging.WARNING if quiet else logging.INFO,
        "log_to_driver": not quiet,
        "configure_logging": True,
    }
    if address:
        kwargs["address"] = address
    else:
        # "local": always a fresh instance of our own, never a head that `ray start` left
        # on this machine (Ray would otherwise join it and refuse num_cpus).
        kwargs["address"] = "local"
        kwargs["num_cpus"] = num_cpus
        # Local workers inherit this process's environment (the scratch variables above).
        kwargs["_temp_dir"] = str(RAY_TMP)
    ray.init(**kwargs)  # type: ignore[arg-type]
    try:
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
        yield RaySessionInfo(address=address, started=True, num_cpus=cpus)
    finally:
        ray.shutdown()
