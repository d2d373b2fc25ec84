"""Clearing mechanisms, registered by name.

    mech = get_mechanism("uniform", k=0.5)   # "mcafee", "tatonnement", "posted", "equilibrium"
    result = mech.clear(market)

New mechanisms subclass :class:`Mechanism` and register with ``@register_mechanism(name)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from market.mechanisms.base import Mechanism

__all__ = ["Mechanism", "available_mechanisms", "get_mechanism", "register_mechanism"]

_REGISTRY: dict[str, type[Mechanism]] = {}

M = TypeVar("M", bound=type[Mechanism])


def register_mechanism(name: str) -> Callable[[M], M]:
    """Class decorator: make a Mechanism subclass available as ``get_mechanism(name)``."""

    def deco(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, Mechanism)):
            raise TypeError(f"{cls!r} is not a Mechanism subclass")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"mechanism {name!r} is already registered")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def available_mechanisms() -> list[str]:
    """Registered mechanism names, sorted."""
    return sorted(_REGISTRY)


def get_mechanism(name: str, **params: Any) -> Mechanism:
    """A new mechanism instance by name; ValueError listing the known names if unknown."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown mechanism {name!r}; known: {', '.join(available_mechanisms())}"
        ) from None
    return cls(**params)


# Importing the implementations registers them.
from market.mechanisms import equilibrium as _equilibrium  # noqa: E402, F401
from market.mechanisms import mcafee as _mcafee  # noqa: E402, F401
from market.mechanisms import posted as _posted  # noqa: E402, F401
from market.mechanisms import tatonnement as _tatonnement  # noqa: E402, F401
from market.mechanisms import uniform as _uniform  # noqa: E402, F401
