// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IStakeRegistry
 * @notice What the settlement contract needs from the edge-node stake registry.
 */
interface IStakeRegistry {
    /**
     * @notice Current stake of `node` in base units (0 if not registered).
     * @param node Edge node address.
     * @return Stake in base units.
     */
    function stakeOf(address node) external view returns (uint256);

    /**
     * @notice Slash `amount` base units of `node`'s stake and transfer them to `to`.
     * @param node Edge node address (must be registered).
     * @param amount Base units to slash (at most the current stake).
     * @param to Receiver of the slashed credits.
     */
    function slash(address node, uint256 amount, address to) external;
}
