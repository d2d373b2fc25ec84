"""Money units: float **credits** off chain, integer **base units** on chain.

1 credit = 10**6 base units (the credit token has 6 decimals). Conversions are exact and
deterministic: a float is taken at its shortest decimal representation (``repr``), scaled by
10**6 and rounded half to even. :func:`balance_batch` converts a round's net credits and
platform fee so that the batch sums to exactly zero in base units, as the settlement
contract requires, assigning the rounding residue deterministically.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from numbers import Integral, Real
from typing import TypeVar

DECIMALS = 6
"""Decimals of the credit token."""
BASE_UNITS_PER_CREDIT = 10**DECIMALS
"""Base units in one credit."""

_SCALE = Decimal(BASE_UNITS_PER_CREDIT)
_ONE = Decimal(1)

K = TypeVar("K", bound=Hashable)


def _to_decimal(credits: object) -> Decimal:
    if isinstance(credits, Decimal):
        value = credits
    elif isinstance(credits, bool):
        raise TypeError("credits must be a number, not bool")
    elif isinstance(credits, Integral):
        value = Decimal(int(credits))
    elif isinstance(credits, Real):
        # repr gives the shortest decimal string that round-trips: 0.1 -> "0.1"
        value = Decimal(repr(float(credits)))
    elif isinstance(credits, str):
        try:
            value = Decimal(credits)
        except InvalidOperation as exc:
            raise ValueError(f"not a number of credits: {credits!r}") from exc
    else:
        raise TypeError(f"credits must be a number, got {type(credits).__name__}")
    if not value.is_finite():
        raise ValueError(f"credits must be finite, got {credits!r}")
    return value


def to_base(credits: float | int | str | Decimal) -> int:
    """Credits -> integer base units, rounding half to even at 10**-6 credits.

    >>> to_base(1.5), to_base(0.1), to_base("0.0000005"), to_base("0.0000015")
    (1500000, 100000, 0, 2)
    """
    return int((_to_decimal(credits) * _SCALE).quantize(_ONE, rounding=ROUND_HALF_EVEN))


def from_base(base_units: int) -> float:
    """Integer base units -> float credits (exact for |amount| < 2**53 base units).

    >>> from_base(1_500_000)
    1.5
    """
    if isinstance(base_units, bool) or not isinstance(base_units, Integral):
        raise TypeError(f"base units must be an integer, got {type(base_units).__name__}")
    return int(base_units) / BASE_UNITS_PER_CREDIT


def from_base_decimal(base_units: int) -> Decimal:
    """Integer base units -> exact :class:`~decimal.Decimal` credits."""
    return Decimal(int(base_units)) / _SCALE


def balance_batch(
    net_credits: Mapping[K, float], fee_credits: float = 0.0
) -> tuple[dict[K, int], int]:
    """Convert a round's net credits and fee to base units that sum to exactly zero.

    The settlement contract accepts a batch only when ``sum(deltas) + fee == 0``. Each value
    is first rounded half to even (:func:`to_base`); the residue ``r = -(sum + fee)`` (a few
    base units at most) is then assigned by the largest-remainder rule: one base unit at a
    time to the entries whose rounding moved them furthest in the opposite direction, ties
    broken by key order (``sorted`` of the keys, the fee last). Entries are never moved more
    than one base unit, so the result is the closest zero-sum integer vector and it is
    deterministic for the same input.

    Args:
        net_credits: account -> credits received (+) or paid (-) this round.
        fee_credits: platform fee in credits (what the deltas sum to, negated).

    Returns:
        ``(deltas, fee)`` in base units with ``sum(deltas.values()) + fee == 0``.

    Raises:
        ValueError: when the residue is larger than the number of entries (the inputs do not
            sum to zero within rounding: a bookkeeping error, not a rounding one), or when the
            fee ends up negative.
    """
    keys = sorted(net_credits)
    exact = [_to_decimal(net_credits[k]) * _SCALE for k in keys]
    exact.append(_to_decimal(fee_credits) * _SCALE)
    rounded = [int(x.quantize(_ONE, rounding=ROUND_HALF_EVEN)) for x in exact]
    residue = -sum(rounded)
    if abs(residue) > len(rounded):
        total = sum(exact) / _SCALE
        raise ValueError(
            f"net credits plus fee sum to {total} credits, not zero: the batch is not balanced"
        )
    if residue:
        step = 1 if residue > 0 else -1
        # error = exact - rounded: positive when rounding went down. To add units (step=+1),
        # prefer the entries that were rounded down the most; to remove, rounded up the most.
        order = sorted(
            range(len(rounded)),
            key=lambda i: (-(exact[i] - rounded[i]) * step, i),
        )
        for i in order[: abs(residue)]:
            rounded[i] += step
    fee = rounded.pop()
    if fee < 0:
        raise ValueError(f"platform fee must not be negative, got {fee} base units")
    return dict(zip(keys, rounded, strict=True)), fee


def to_base_array(values: object, scale: int = BASE_UNITS_PER_CREDIT) -> list[int]:
    """Vectorized :func:`to_base` over an array of floats: the same integers, faster.

    ``np.rint(x * scale)`` (round half to even) is used where the float product is safely
    away from a half; entries within float error of a tie are redone exactly with
    :func:`to_base`'s decimal rule, so the result equals ``[to_base(x) for x in values]``.
    ``scale`` lets the same rule quantize other units (e.g. quantities to 1e-6 units).
    """
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return []
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite")
    scaled = arr * scale
    rounded = np.rint(scaled)
    frac = np.abs(scaled - np.trunc(scaled))
    near_tie = np.abs(frac - 0.5) <= 1e-12 * np.maximum(1.0, np.abs(scaled))
    too_big = np.abs(scaled) >= 2.0**53
    slow = np.nonzero(near_tie | too_big)[0]
    out: list[int] = np.where(too_big, 0.0, rounded).astype(np.int64).tolist()
    factor = Decimal(scale)
    for i in slow:
        out[i] = int((_to_decimal(float(arr[i])) * factor).quantize(_ONE, rounding=ROUND_HALF_EVEN))
    return out
