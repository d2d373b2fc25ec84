// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Counter} from "../src/Counter.sol";

/// @dev The two forge cheatcodes this suite needs (no forge-std: the project runs offline).
interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
}

/// @notice Forge tests of the tutorial's Counter: unit, fuzz and a time-lock check.
contract CounterTest {
    Vm internal constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    Counter internal counter;

    function setUp() public {
        counter = new Counter(5);
    }

    function test_increment() public {
        counter.increment(3);
        require(counter.count() == 8, "count");
    }

    function testFuzz_increment(uint64 step) public {
        if (step == 0) return;
        counter.increment(step);
        require(counter.count() == 5 + uint256(step), "sum");
    }

    function testFuzz_strangerCannotIncrement(address stranger) public {
        if (stranger == address(this)) return;
        VM.prank(stranger);
        try counter.increment(1) {
            revert("a stranger incremented");
        } catch (bytes memory reason) {
            require(bytes4(reason) == Counter.NotOwner.selector, "wrong error");
        }
    }

    function test_lockOpensAfterItsDuration() public {
        counter.lock(100);
        try counter.increment(1) {
            revert("incremented while locked");
        } catch (bytes memory reason) {
            require(bytes4(reason) == Counter.Locked.selector, "wrong error");
        }
        VM.warp(block.timestamp + 100);
        counter.increment(1);
        require(counter.count() == 6, "count");
    }
}
