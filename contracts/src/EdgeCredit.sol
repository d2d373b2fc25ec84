// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Pausable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Pausable.sol";

/**
 * @title EdgeCredit
 * @notice The credit token of edgemarket simulations: an ERC-20 with 6 decimals
 * (1 credit = 10**6 base units). Credits are minted by the `TREASURY_ROLE` to fund
 * simulated participants; transfers can be paused by the `PAUSER_ROLE`.
 */
contract EdgeCredit is ERC20, ERC20Pausable, AccessControlDefaultAdminRules {
    /// @notice Role allowed to mint credits.
    bytes32 public constant TREASURY_ROLE = keccak256("TREASURY_ROLE");
    /// @notice Role allowed to pause and unpause transfers.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /**
     * @param admin Account that receives `DEFAULT_ADMIN_ROLE` (grants the other roles).
     * @param adminDelay Seconds a `DEFAULT_ADMIN_ROLE` hand-over waits between
     * `beginDefaultAdminTransfer` and `acceptDefaultAdminTransfer` (two steps).
     */
    constructor(address admin, uint48 adminDelay)
        ERC20("Edge Credit", "EDGE")
        AccessControlDefaultAdminRules(adminDelay, admin)
    {}

    /**
     * @notice Number of decimals of the base unit: 1 credit = 10**6 base units.
     * @return Always 6.
     */
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /**
     * @notice Mint `amount` base units to `to`.
     * @dev Only `TREASURY_ROLE`. Reverts with `ERC20InvalidReceiver` for the zero address.
     * @param to Receiver of the new credits.
     * @param amount Amount in base units.
     */
    function mint(address to, uint256 amount) external onlyRole(TREASURY_ROLE) {
        _mint(to, amount);
    }

    /**
     * @notice Pause all transfers, mints and burns.
     * @dev Only `PAUSER_ROLE`.
     */
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /**
     * @notice Resume transfers after a pause.
     * @dev Only `PAUSER_ROLE`.
     */
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc ERC20
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Pausable) {
        super._update(from, to, value);
    }
}
