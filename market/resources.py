"""The four 3C-L resource kinds traded on the market, with their units.

Quantities are always expressed in the unit of their resource:

============== ===== ===========================================================
resource       index unit
============== ===== ===========================================================
communication  0     Mbps·round (a 1 Mbps link held for one market round)
caching        1     GB·round (1 GB of edge storage held for one round)
computation    2     GFLOP (10**9 floating-point operations)
learning       3     LU, learning units of model training/inference service
                     ("knowledge" in the source material)
============== ===== ===========================================================

Prices are in credits per unit of the resource.
"""

from __future__ import annotations

from enum import IntEnum


class Resource(IntEnum):
    """A 3C-L resource kind; the value is its column in (n, 4) demand/capacity arrays."""

    COMMUNICATION = 0
    CACHING = 1
    COMPUTATION = 2
    LEARNING = 3

    @property
    def unit(self) -> str:
        """The unit quantities of this resource are measured in."""
        return RESOURCE_UNITS[self.value]

    @classmethod
    def parse(cls, value: str | int) -> Resource:
        """A resource from its index, canonical name or alias (case-insensitive).

        Raises ValueError naming the accepted spellings.
        """
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < N_RESOURCES:
                return cls(value)
        elif isinstance(value, str):
            key = value.strip().lower()
            if key in _ALIASES:
                return _ALIASES[key]
            if key.isdigit() and int(key) < N_RESOURCES:
                return cls(int(key))
        known = ", ".join(RESOURCE_NAMES)
        raise ValueError(f"unknown resource {value!r} (expected one of {known}, or 0-3)")


N_RESOURCES = 4
RESOURCE_NAMES: tuple[str, ...] = ("communication", "caching", "computation", "learning")
RESOURCE_UNITS: tuple[str, ...] = ("Mbps·round", "GB·round", "GFLOP", "LU")

_ALIASES: dict[str, Resource] = {name: Resource(i) for i, name in enumerate(RESOURCE_NAMES)}
_ALIASES.update(
    {
        "comm": Resource.COMMUNICATION,
        "bandwidth": Resource.COMMUNICATION,
        "cache": Resource.CACHING,
        "storage": Resource.CACHING,
        "compute": Resource.COMPUTATION,
        "computing": Resource.COMPUTATION,
        "knowledge": Resource.LEARNING,
    }
)
