// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface ICounter {
    function increment(uint256 step) external;
}

/// @notice Test helper: calls a Counter (so one receipt carries two contracts' events).
contract Relay {
    /// @notice A poke went through.
    event Relayed(address indexed counter, uint256 step);

    /// @notice Increment `counter` by `step` (this contract must own it).
    function poke(ICounter counter, uint256 step) external {
        counter.increment(step);
        emit Relayed(address(counter), step);
    }
}
