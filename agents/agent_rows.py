"""Mesa agents created by the thousand: what ``Agent.create_agents`` builds, in bulk.

Every env reset builds a model of 128 worlds: 512 edge nodes and 5,120 devices, each a
Mesa agent that only holds its row ``index`` of the model's state tables. Mesa creates
them one by one (``Agent.__init__`` -> ``Model.register_agent``: a debug-log f-string and
three registrations per agent), a fifth of a reset. :func:`create_rows` leaves the model
in the same state -- the same agents with the same attributes and unique ids, registered
in the same order in ``model._agents``, its per-type AgentSet and its AgentSet of all
agents -- and returns the same AgentSet, with the registrations done as bulk dict updates
and the garbage collector paused (nothing made here is garbage). It relies on Mesa 3's
registration structures (checked: any other layout, or a Mesa debug log that is on, goes
through ``create_agents`` itself); ``tests/agents/test_agent_rows.py`` compares both.
"""

from __future__ import annotations

import gc
import logging
from typing import Any, TypeVar

import mesa
from mesa.agent import AgentSet

A = TypeVar("A", bound=mesa.Agent)


class RowAgent(mesa.Agent):
    """A Mesa agent that is a view on row ``index`` of its model's state tables (devices,
    edge nodes); ``create_agents(model, n, index=np.arange(n))`` builds the model's rows
    in bulk (:func:`create_rows`), anything else through Mesa."""

    def __init__(self, model: Any, index: int) -> None:
        super().__init__(model)
        self.index = int(index)

    @classmethod
    def create_agents(cls, model: Any, n: int, *args: Any, **kwargs: Any) -> Any:
        """Mesa's ``create_agents``; the model's rows, ``(model, n, index=np.arange(n))``
        for a class keeping this ``__init__``, are built in bulk."""
        import numpy as np

        index = kwargs.get("index")
        if (not args and set(kwargs) == {"index"} and cls.__init__ is RowAgent.__init__
                and isinstance(index, np.ndarray) and index.shape == (n,)
                and np.array_equal(index, np.arange(n))):
            return create_rows(cls, model, n)
        return super().create_agents(model, n, *args, **kwargs)


def _bulk_ok(model: Any) -> bool:
    from mesa import model as mesa_model

    return (isinstance(getattr(model, "_agents", None), dict)
            and isinstance(getattr(model, "_agents_by_type", None), dict)
            and isinstance(getattr(model, "_all_agents", None), AgentSet)
            and not mesa_model._mesa_logger.isEnabledFor(logging.DEBUG))


def create_rows(cls: type[A], model: Any, n: int) -> AgentSet[A]:
    """``cls.create_agents(model, n, index=np.arange(n))`` for an agent class whose
    ``__init__(model, index)`` only calls ``mesa.Agent.__init__(model)`` and sets
    ``self.index = int(index)``."""
    if n <= 0 or not _bulk_ok(model):
        import numpy as np

        return mesa.Agent.create_agents.__func__(cls, model, n, index=np.arange(n))
    # Every object made here survives (the model holds them): the ~40 young-generation
    # collections that 5,632 agents with their dicts and weak references would trigger
    # find nothing to free, and each one moved the next full collection closer (a 128-world
    # env: 822 -> 580 collections, 7 -> 4 full ones, per 150 env calls). Collection
    # resumes, as it was, once they are built.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _create(cls, model, n)
    finally:
        if enabled:
            gc.enable()


def _create(cls: type[A], model: Any, n: int) -> AgentSet[A]:
    ids = mesa.Agent._ids[model]
    new = object.__new__
    agents: list[A] = []
    append = agents.append
    for i in range(n):
        a = new(cls)
        # Agent.__init__'s attributes, then the subclass's row, in that order.
        a.__dict__.update(model=model, unique_id=next(ids), pos=None, index=i)
        append(a)
    # Model.register_agent, agent after agent: the hard reference, its type's AgentSet
    # (created with the first agent of the type), the AgentSet of all agents.
    model._agents.update(dict.fromkeys(agents))
    by_type = model._agents_by_type
    if cls in by_type:
        by_type[cls]._agents.update(dict.fromkeys(agents))
    else:
        by_type[cls] = AgentSet(agents, random=model.random)
    model._all_agents._agents.update(dict.fromkeys(agents))
    return AgentSet(agents, random=model.random)
