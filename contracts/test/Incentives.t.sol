// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {MarketSettlement} from "../src/MarketSettlement.sol";
import {ContributionIncentives} from "../src/ContributionIncentives.sol";
import {StakeRegistry} from "../src/StakeRegistry.sol";

/// @notice Fuzz tests of pro-rata rewards, claims and stake exits.
contract IncentivesTest is Fixture {
    function setUp() public override {
        super.setUp();
        fund(actors(2), 1_000_000e6);
    }

    function _settleWithFee(uint64 round, uint256 fee, uint256[] memory contributions) internal {
        MarketSettlement.RoundBatch memory b = emptyBatch(1, round);
        b.fee = fee;
        b.deltas = new uint256[](1);
        b.deltas[0] = delta(actor(0), -int256(fee));
        b.contributions = contributions;
        vm.prank(OPERATOR);
        settlement.settleRound(b);
    }

    function testFuzz_proRataNeverOverpays(uint64[5] memory units, uint256 fee, uint256 fee2) public {
        fee = bound(fee, 0, 100_000e6);
        fee2 = bound(fee2, 0, 100_000e6);
        uint256[] memory c = new uint256[](5);
        uint256 total;
        for (uint256 i; i < 5; ++i) {
            c[i] = pack(actor(10 + i), int256(uint256(units[i] % 2 ** 40)));
            total += units[i] % 2 ** 40;
        }
        _settleWithFee(1, fee, c);
        uint256 sumOwed;
        for (uint256 i; i < 5; ++i) {
            uint256 expected = total == 0 ? 0 : (fee * (units[i] % 2 ** 40)) / total;
            assertEq(incentives.owed(actor(10 + i)), expected, "floor share");
            sumOwed += expected;
        }
        assertEq(sumOwed + incentives.carry(), fee, "dust carried, nothing created");
        uint256 carried = incentives.carry();
        _settleWithFee(2, fee2, c);
        assertLe(incentives.totalOwed(), fee + fee2, "never more than the pools");
        assertEq(incentives.totalOwed() + incentives.carry(), fee + fee2, "conserved");
        assertGe(fee2 + carried, incentives.totalOwed() - sumOwed, "round 2 pays at most its pool");
        assertGe(token.balanceOf(address(incentives)), incentives.totalOwed() + incentives.carry(), "solvent");
    }

    function testFuzz_claimOnceOnly(uint64 fee) public {
        fee = uint64(bound(fee, 1, 1e12));
        uint256[] memory c = new uint256[](1);
        c[0] = pack(actor(20), 3);
        _settleWithFee(1, fee, c);
        vm.startPrank(actor(20));
        incentives.claim();
        vm.expectRevert(abi.encodeWithSelector(ContributionIncentives.NothingToClaim.selector, actor(20)));
        incentives.claim();
        vm.stopPrank();
        assertEq(token.balanceOf(actor(20)), fee, "paid once");
    }

    function testFuzz_rewardEmissionBoundedByReserve(uint64 reserve, uint64 perRound) public {
        reserve = uint64(bound(reserve, 1, 1e15));
        vm.startPrank(TREASURY);
        token.mint(TREASURY, reserve);
        token.approve(address(incentives), reserve);
        incentives.fund(reserve);
        incentives.setRewardPerRound(perRound);
        vm.stopPrank();
        uint256[] memory c = new uint256[](2);
        c[0] = pack(actor(30), 1);
        c[1] = pack(actor(31), 2);
        for (uint64 r = 1; r <= 3; ++r) {
            _settleWithFee(r, 0, c);
        }
        assertEq(incentives.reserve() + incentives.carry() + incentives.totalOwed(), reserve, "emission conserved");
        assertGe(token.balanceOf(address(incentives)), incentives.totalOwed(), "solvent");
    }

    function testFuzz_exitOnlyAfterDelay(uint32 wait) public {
        address node = actor(40);
        registerNode(node, 5e6);
        vm.startPrank(TREASURY);
        stakes.requestExit(node);
        uint256 unlockAt = block.timestamp + EXIT_DELAY;
        if (wait < EXIT_DELAY) {
            vm.warp(block.timestamp + wait);
            vm.expectRevert(abi.encodeWithSelector(StakeRegistry.StakeLocked.selector, node, unlockAt));
            stakes.withdrawStake(node);
        } else {
            vm.warp(block.timestamp + wait);
            uint256 before = token.balanceOf(TREASURY);
            stakes.withdrawStake(node);
            assertEq(token.balanceOf(TREASURY), before + 5e6, "stake back to controller");
            assertEq(stakes.stakeOf(node), 0, "deregistered");
        }
        vm.stopPrank();
    }
}
