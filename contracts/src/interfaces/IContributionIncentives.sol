// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IContributionIncentives
 * @notice What the settlement contract needs from the incentives pool.
 */
interface IContributionIncentives {
    /**
     * @notice Distribute a round's revenue (already transferred to the pool) plus the
     * round's reward emission to contributors, in proportion to their attested work units.
     * @param key Round key, `keccak256(abi.encode(runId, round))`.
     * @param revenue Base units transferred to the pool for this round (the platform fee).
     * @param contributions Packed entries `uint256(uint160(account)) << 96 | workUnits`.
     */
    function notifyRound(bytes32 key, uint256 revenue, uint256[] calldata contributions) external;
}
