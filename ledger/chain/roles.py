"""Which key signs for which role: admin, treasury and operator are separate.

A chain the program starts itself (a local Anvil) uses three of Anvil's development accounts,
one per role: admin = #0, treasury = #1, operator = #2. On any other chain the caller names
the keys; a role without its own key falls back to the operator's key (one key for all, as
earlier versions did). See docs/contracts.md, "Trust model", for what each role may do.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.chain.accounts import ANVIL_KEYS


@dataclass(frozen=True)
class RoleKeys:
    """Private keys (hex) per role; ``None`` means "the operator's key"."""

    operator: str
    treasury: str | None = None
    admin: str | None = None


LOCAL_DEV_ROLES = RoleKeys(operator=ANVIL_KEYS[2], treasury=ANVIL_KEYS[1], admin=ANVIL_KEYS[0])
"""Role keys on a chain this program started: Anvil development accounts #2, #1 and #0."""


def role_keys(
    private_key: str | None,
    *,
    local: bool,
    treasury_key: str | None = None,
    admin_key: str | None = None,
) -> RoleKeys:
    """The keys a session signs with.

    Args:
        private_key: the operator's key, if the caller gave one.
        local: the chain is a local Anvil this program runs (its dev accounts are funded).
        treasury_key, admin_key: keys for those roles, if the caller gave them.
    """
    if private_key is None and local and treasury_key is None and admin_key is None:
        return LOCAL_DEV_ROLES
    return RoleKeys(private_key or ANVIL_KEYS[0], treasury_key, admin_key)
