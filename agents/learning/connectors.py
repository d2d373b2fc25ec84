"""Connectors that move observations to the modules and actions to the env a module batch at
a time, instead of RLlib's default pieces that do it one agent at a time.

**Env to module.** RLlib's default env-to-module pipeline reads every agent's latest
observation back out of its episode (AddObservationsFromEpisodesToBatch), finds the agents to
act from each episode's last observation dict (AgentToModuleMapping, twice), groups the rows
by module and stacks them (BatchIndividualItems). :class:`BatchedObservationsToModule` does
the same from the observation dicts the runner passes it (the very objects it has just
stored in the episodes): one pass that groups the rows by module and one ``np.stack`` per
module, before RLlib's NumpyToTensor. It records the same ``memorized_map_structure`` of
(episode id, agent id) rows per module that the module-to-env side uses, in the env's agent
order (RLlib's comes from a set, whose order changes with the process's hash seed).

**Module to env.**
RLlib's default module-to-env pipeline for a multi-agent env is GetActions, TensorToNumpy,
then four per-item pieces: UnBatchToIndividualItems (splits every column into rows keyed by
(episode, agent, module)), ModuleToAgentUnmapping, RemoveSingleTsTimeRankFromBatch,
NormalizeAndClipActions (deep-copies the actions, then unsquashes each agent's row on its
own) and ListifyDataForVectorEnv (regroups the rows by episode). With the 512 node agents of
a 128-world env those four took ~25 ms of a ~85 ms sampling step, the normalization ~11 ms
of it.

:class:`BatchedModuleToEnv` replaces the four: it unsquashes (or clips) each module's
action array at once, with the formula of RLlib's ``unsquash_action`` / ``clip_action``
applied to the whole array (the same float32 operations, element by element, so the same
bits), then splits every column into the per-episode ``{agent_id: row}`` dicts the env
runner expects, in one pass over the ``memorized_map_structure`` that RLlib's
AgentToModuleMapping left in ``shared_data``. It is for feed-forward modules (no time rank
to remove): the project's policies are MLPs.

Both are installed by :func:`agents.learning.training.build_config` (``TrainSpec.
fast_sampling``); ``tests/learning/test_connectors.py`` checks them against RLlib's default
pipelines on the same episodes and module outputs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.connectors.common import AgentToModuleMapping, NumpyToTensor
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.connectors.module_to_env import GetActions, TensorToNumpy
from ray.rllib.core.columns import Columns
from ray.rllib.utils.spaces.space_utils import unbatch


def unsquash_or_clip(a: np.ndarray, low: np.ndarray, high: np.ndarray,
                     normalize: bool = True) -> np.ndarray:
    """RLlib's ``unsquash_action`` (``normalize``: [-1, 1] onto [low, high], then clipped)
    or ``clip_action`` of a Box action, applied to a row or a whole array of rows alike."""
    if normalize:
        a = low + (a + 1.0) * (high - low) / 2.0
    return np.clip(a, low, high)


class BatchedObservationsToModule(AgentToModuleMapping):  # type: ignore[misc]
    """The latest observation of every agent to act, stacked per module.

    An AgentToModuleMapping (same constructor, same module-keyed output spaces) whose call
    builds the whole module batch of a feed-forward module from the runner's observations.
    """

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 explore: bool | None = None, shared_data: dict[str, Any] | None = None,
                 **kwargs: Any) -> Any:
        if Columns.OBS in batch:  # filled already (as RLlib's piece, leave it)
            return batch
        latest = kwargs.get(Columns.OBS)
        if latest is None or len(latest) != len(episodes):
            latest = None
        structure: dict[Any, list[tuple[Any, Any]]] = defaultdict(list)
        rows: dict[Any, list[Any]] = defaultdict(list)
        for i, episode in enumerate(episodes):
            # An episode that is done, or new and not reset yet, has no agent to act.
            if episode.is_done or not episode.is_reset:
                continue
            obs = latest[i] if latest is not None else episode.get_observations(-1)
            agents = episode.agent_episodes
            for agent_id, value in obs.items():
                sa = agents.get(agent_id)
                if sa is None or sa.is_done:
                    continue
                module_id = sa.module_id
                structure[module_id].append((episode.id_, agent_id))
                rows[module_id].append(value)
        if shared_data is not None:
            shared_data["memorized_map_structure"] = dict(structure)
        return {m: {Columns.OBS: np.stack(r)} for m, r in rows.items()}


class BatchedModuleToEnv(ConnectorV2):  # type: ignore[misc]
    """Unsquash/clip actions per module array, then regroup rows by episode and agent."""

    def __init__(self, input_observation_space: Any = None, input_action_space: Any = None, *,
                 normalize_actions: bool = True, clip_actions: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.normalize_actions = normalize_actions
        self.clip_actions = clip_actions
        #: Box bounds by agent id (an agent's action space is fixed for the env's life),
        #: one tuple per space object, so agents sharing a space share the tuple.
        self._bounds_of: dict[Any, tuple[np.ndarray, np.ndarray] | None] = {}
        self._by_space: dict[int, tuple[Any, tuple[np.ndarray, np.ndarray] | None]] = {}

    def _bounds(self, episodes: list[Any], eps_index: int, agent_id: Any
                ) -> tuple[np.ndarray, np.ndarray] | None:
        """The agent's Box bounds (None: not a bounded float Box, left as it is)."""
        if agent_id not in self._bounds_of:
            space = episodes[eps_index].agent_episodes[agent_id].action_space
            if id(space) not in self._by_space:  # the space is kept alive with its bounds
                self._by_space[id(space)] = (space, self._space_bounds(space, agent_id))
            self._bounds_of[agent_id] = self._by_space[id(space)][1]
        return self._bounds_of[agent_id]

    def _space_bounds(self, space: Any, agent_id: Any) -> tuple[np.ndarray, np.ndarray] | None:
        if not isinstance(space, gym.spaces.Box):
            raise TypeError(f"BatchedModuleToEnv: agent {agent_id!r} has a non-Box action "
                            f"space {space}; use RLlib's default module-to-env pieces")
        if self.normalize_actions and not (np.all(space.bounded_below)
                                           and np.all(space.bounded_above)
                                           and space.dtype in (np.float32, np.float64)):
            return None
        return space.low, space.high

    def _for_env(self, actions: np.ndarray, bounds: list[tuple[np.ndarray, np.ndarray] | None]
                 ) -> np.ndarray:
        """The env's actions of one module's rows: RLlib's unsquash (or clip) of each row,
        done for every row with the same bounds at once."""
        first = bounds[0]
        # Agents of one role share one Box object: an identity test per row is enough.
        if first is not None and all(b is first for b in bounds):
            return unsquash_or_clip(actions, *first, normalize=self.normalize_actions)
        out = actions.copy()
        for i, b in enumerate(bounds):  # agents of one module with different spaces
            if b is not None:
                out[i] = unsquash_or_clip(out[i], *b, normalize=self.normalize_actions)
        return out

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 explore: bool | None = None, shared_data: dict[str, Any] | None = None,
                 **kwargs: Any) -> Any:
        shared = shared_data if shared_data is not None else {}
        structure = shared.get("memorized_map_structure")
        if not isinstance(structure, dict):
            raise TypeError("BatchedModuleToEnv needs the multi-agent memorized_map_structure "
                            "of RLlib's AgentToModuleMapping")
        # Episode ids of the batch may belong to episodes the runner replaced since
        # (a done episode's successor takes its vector index), as in RLlib's pieces.
        renamed = {**shared.get("vector_env_episodes_map", {}), **shared.get("old_episode_ids", {})}
        index = {eps.id_: i for i, eps in enumerate(episodes)}
        out: dict[str, list[dict[Any, Any]]] = {}
        transform = self.normalize_actions or self.clip_actions
        for module_id, columns in batch.items():
            rows = structure[module_id]
            where = [index.get(renamed.get(e, e), 0) for e, _ in rows]
            agents = [a for _, a in rows]
            if transform and Columns.ACTIONS in columns:
                bounds = [self._bounds(episodes, i, a) for i, a in zip(where, agents, strict=True)]
                columns = {**columns,
                           Columns.ACTIONS_FOR_ENV: self._for_env(columns[Columns.ACTIONS], bounds)}
            for column, data in columns.items():
                per_env = out.setdefault(column, [{} for _ in episodes])
                if not isinstance(data, np.ndarray):  # nested columns: RLlib's own split
                    data = unbatch(data)
                for i, a, row in zip(where, agents, data, strict=True):
                    per_env[i][a] = row
        return out


def env_to_module_pieces(modules: Any, mapping_fn: Any) -> Any:
    """``env_to_module_connector`` callable of the config: BatchedObservationsToModule and
    RLlib's NumpyToTensor (with ``add_default_connectors_to_env_to_module_pipeline`` off).
    ``modules``: the module ids; ``mapping_fn``: the policy mapping function."""

    def build(env: Any = None, spaces: Any = None, device: Any = None) -> list[ConnectorV2]:
        return [BatchedObservationsToModule(rl_module_specs=set(modules),
                                            agent_to_module_mapping_fn=mapping_fn),
                NumpyToTensor(device=device)]

    return build


def module_to_env_pieces(normalize_actions: bool = True, clip_actions: bool = False
                         ) -> Any:
    """``module_to_env_connector`` callable of the config: GetActions, TensorToNumpy and
    :class:`BatchedModuleToEnv` (with ``add_default_connectors_to_module_to_env_pipeline``
    off)."""

    def build(env: Any = None, spaces: Any = None) -> list[ConnectorV2]:
        return [GetActions(), TensorToNumpy(),
                BatchedModuleToEnv(normalize_actions=normalize_actions,
                                   clip_actions=clip_actions)]

    return build
