// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title EventCostProbe
 * @notice Measures the two ways a round's per-account deltas can be logged (used by
 * bench/bench_settlement.py): one event carrying the packed array, or one event per account.
 */
contract EventCostProbe {
    /// @notice All packed deltas of a round in one event.
    event Packed(bytes32 indexed key, uint256[] deltas);
    /// @notice One account's delta.
    event AccountDelta(bytes32 indexed key, address indexed account, int256 delta);

    /**
     * @notice Emit one event with the packed array.
     * @param key Round key.
     * @param deltas Packed entries `account << 96 | uint96(int96 delta)`.
     */
    function emitPacked(bytes32 key, uint256[] calldata deltas) external {
        _ballast();
        emit Packed(key, deltas);
    }

    /**
     * @notice Emit one event per account.
     * @param key Round key.
     * @param deltas Packed entries `account << 96 | uint96(int96 delta)`.
     */
    function emitPerAccount(bytes32 key, uint256[] calldata deltas) external {
        _ballast();
        for (uint256 i; i < deltas.length; ++i) {
            emit AccountDelta(key, address(uint160(deltas[i] >> 96)), int256(int96(uint96(deltas[i]))));
        }
    }

    /**
     * @notice Emit nothing (the baseline of the two measurements above).
     * @param key Round key.
     * @param deltas Packed entries.
     */
    function emitNothing(bytes32 key, uint256[] calldata deltas) external pure returns (uint256) {
        return _ballast() ^ uint256(key) ^ deltas.length;
    }

    /// @dev Fixed execution work, so that all three calls are priced by execution gas and not
    /// by the EIP-7623 calldata floor (a real settlement executes far more than its floor).
    function _ballast() private pure returns (uint256 acc) {
        for (uint256 i; i < 3000; ++i) {
            acc = uint256(keccak256(abi.encode(acc, i)));
        }
    }
}
