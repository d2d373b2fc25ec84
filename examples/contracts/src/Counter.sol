// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Counter: the contract of the testing tutorial (docs/contracts.md)
/// @notice An owner-only counter with custom errors, one event, a `require` string,
///         a panic path and a time lock, so that every testing helper has something to test.
contract Counter {
    /// @notice Who may increment (the deployer).
    address public immutable owner;
    /// @notice The current count.
    uint256 public count;
    /// @notice Increments are refused before this timestamp.
    uint256 public unlockAt;

    /// @notice Someone other than the owner tried to increment.
    error NotOwner(address caller);
    /// @notice An increment by zero (a likely bug in the caller).
    error ZeroStep();
    /// @notice The counter is locked until `until`.
    error Locked(uint256 until);

    /// @notice The count went up by `step` to `newCount`.
    event Incremented(address indexed by, uint256 step, uint256 newCount);

    constructor(uint256 start) {
        owner = msg.sender;
        count = start;
    }

    /// @notice Add `step` (owner only, not while locked).
    function increment(uint256 step) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (step == 0) revert ZeroStep();
        if (block.timestamp < unlockAt) revert Locked(unlockAt);
        count += step;
        emit Incremented(msg.sender, step, count);
    }

    /// @notice Subtract `step`; anyone may, but never below zero.
    function decrement(uint256 step) external {
        require(step <= count, "Counter: below zero");
        count -= step;
    }

    /// @notice Refuse increments for `duration` seconds from now (owner only).
    function lock(uint256 duration) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        unlockAt = block.timestamp + duration;
    }

    /// @notice The count split into `parts` (reverts with Panic(0x12) for zero parts).
    function share(uint256 parts) external view returns (uint256) {
        return count / parts;
    }
}
