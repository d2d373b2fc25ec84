// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {MarketSettlement} from "../src/MarketSettlement.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @notice Unit and fuzz tests of the escrow and round settlement.
contract MarketSettlementTest is Fixture {
    uint256 internal constant N = 8;
    uint256 internal constant BUDGET = 1_000e6;

    function setUp() public override {
        super.setUp();
        fund(actors(N), BUDGET);
    }

    /// @dev A zero-sum batch: even actors pay, odd actors receive, the fee is taken off.
    function randomBatch(uint256 seed, uint64 round) internal view returns (MarketSettlement.RoundBatch memory b, int256[] memory d) {
        b = emptyBatch(1, round);
        d = new int256[](N);
        uint256 paid;
        for (uint256 i; i < N; i += 2) {
            uint256 pay = uint256(keccak256(abi.encode(seed, i))) % (settlement.balanceOf(actor(i)) + 1);
            d[i] = -int256(pay);
            paid += pay;
        }
        uint256 fee = paid == 0 ? 0 : uint256(keccak256(abi.encode(seed, "fee"))) % (paid / 10 + 1);
        uint256 left = paid - fee;
        for (uint256 i = 1; i < N; i += 2) {
            uint256 get = i == N - 1 ? left : uint256(keccak256(abi.encode(seed, i))) % (left + 1);
            d[i] = int256(get);
            left -= get;
        }
        b.fee = fee;
        b.deltas = new uint256[](N);
        for (uint256 i; i < N; ++i) {
            b.deltas[i] = delta(actor(i), d[i]);
        }
    }

    function testFuzz_settleAppliesDeltasAndConservesEscrow(uint256 seed) public {
        (MarketSettlement.RoundBatch memory b, int256[] memory d) = randomBatch(seed, 1);
        uint256 escrowBefore = token.balanceOf(address(settlement));
        vm.prank(OPERATOR);
        settlement.settleRound(b);
        for (uint256 i; i < N; ++i) {
            assertEq(settlement.balanceOf(actor(i)), uint256(int256(BUDGET) + d[i]), "balance");
        }
        assertEq(token.balanceOf(address(settlement)), escrowBefore - b.fee, "escrow pays fee only");
        assertEq(settlement.totalBalances(), N * BUDGET - b.fee, "total");
        assertEq(token.balanceOf(address(incentives)), b.fee, "fee to pool");
        assertTrue(settlement.isSettled(1, 1), "settled");
    }

    function testFuzz_replayReverts(uint256 seed) public {
        (MarketSettlement.RoundBatch memory b,) = randomBatch(seed, 7);
        vm.startPrank(OPERATOR);
        settlement.settleRound(b);
        vm.expectRevert(abi.encodeWithSelector(MarketSettlement.RoundAlreadySettled.selector, uint64(1), uint64(7)));
        settlement.settleRound(b);
        vm.stopPrank();
    }

    function testFuzz_unbalancedReverts(uint256 seed, uint64 skew) public {
        skew = uint64(bound(skew, 1, 1e15));
        (MarketSettlement.RoundBatch memory b, int256[] memory d) = randomBatch(seed, 2);
        // Move the last (receiving) account by `skew` base units: the batch no longer sums to zero.
        int256 changed = d[N - 1] + int256(uint256(skew));
        b.deltas[N - 1] = delta(actor(N - 1), changed);
        int256 sum;
        for (uint256 i; i < N - 1; ++i) {
            sum += d[i];
        }
        sum += changed;
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(MarketSettlement.UnbalancedBatch.selector, sum, b.fee));
        settlement.settleRound(b);
    }

    function testFuzz_overdraftReverts(uint256 extra) public {
        extra = bound(extra, 1, 1e18);
        MarketSettlement.RoundBatch memory b = emptyBatch(1, 3);
        b.deltas = new uint256[](2);
        b.deltas[0] = delta(actor(0), -int256(BUDGET + extra));
        b.deltas[1] = delta(actor(1), int256(BUDGET + extra));
        vm.prank(OPERATOR);
        vm.expectRevert(
            abi.encodeWithSelector(MarketSettlement.InsufficientBalance.selector, actor(0), BUDGET, BUDGET + extra)
        );
        settlement.settleRound(b);
    }

    function testFuzz_onlyOperatorSettles(address caller) public {
        vm.assume(caller != OPERATOR);
        MarketSettlement.RoundBatch memory b = emptyBatch(1, 4);
        bytes32 role = settlement.OPERATOR_ROLE();
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role));
        settlement.settleRound(b);
    }

    function test_unsortedAndUnknownAccountsRevert() public {
        MarketSettlement.RoundBatch memory b = emptyBatch(1, 5);
        b.deltas = new uint256[](2);
        b.deltas[0] = delta(actor(1), 1);
        b.deltas[1] = delta(actor(0), -1);
        vm.startPrank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(MarketSettlement.UnsortedAccounts.selector, uint256(1)));
        settlement.settleRound(b);
        b.deltas[0] = packDelta(0, 1);
        vm.expectRevert(abi.encodeWithSelector(MarketSettlement.UnknownAccount.selector, uint256(0)));
        settlement.settleRound(b);
        b.deltas[0] = delta(actor(0), -1);
        b.deltas[1] = packDelta(N + 1, 1);
        vm.expectRevert(abi.encodeWithSelector(MarketSettlement.UnknownAccount.selector, N + 1));
        settlement.settleRound(b);
        vm.stopPrank();
    }

    function testFuzz_verifyTrade(address buyer, address seller, uint8 resource, uint128 quantity, uint64 price) public {
        bytes32 leaf = settlement.tradeLeaf(buyer, seller, resource, quantity, price);
        bytes32 other = settlement.tradeLeaf(seller, buyer, resource, quantity, price);
        bytes32 third = keccak256("third leaf");
        // Sorted-pair tree over three leaves: root = H(H(leaf, other), third).
        bytes32 node = _hashPair(leaf, other);
        MarketSettlement.RoundBatch memory b = emptyBatch(9, 1);
        b.tradesRoot = _hashPair(node, third);
        vm.prank(OPERATOR);
        settlement.settleRound(b);
        bytes32[] memory proof = new bytes32[](2);
        proof[0] = other;
        proof[1] = third;
        assertTrue(settlement.verifyTrade(9, 1, buyer, seller, resource, quantity, price, proof), "proof ok");
        if (quantity != type(uint128).max) {
            assertTrue(!settlement.verifyTrade(9, 1, buyer, seller, resource, uint256(quantity) + 1, price, proof), "tampered");
        }
        vm.expectRevert(abi.encodeWithSelector(MarketSettlement.RoundNotSettled.selector, uint64(9), uint64(2)));
        settlement.verifyTrade(9, 2, buyer, seller, resource, quantity, price, proof);
    }

    function testFuzz_violationCompensatesBuyerFromStake(uint96 stake, uint96 claimed) public {
        stake = uint96(bound(stake, MIN_STAKE, 1e15));
        address node = actor(100);
        registerNode(node, stake);
        MarketSettlement.RoundBatch memory b = emptyBatch(1, 6);
        b.violations = new MarketSettlement.Violation[](1);
        b.violations[0] = MarketSettlement.Violation({node: node, buyer: actor(0), amount: claimed});
        vm.prank(OPERATOR);
        settlement.settleRound(b);
        uint256 paid = claimed < stake ? claimed : stake;
        assertEq(settlement.balanceOf(actor(0)), BUDGET + paid, "buyer compensated");
        assertEq(stakes.stakeOf(node), stake - paid, "stake slashed");
        assertGe(token.balanceOf(address(settlement)), settlement.totalBalances(), "solvent");
    }

    function test_depositWithdrawRoundTrip() public {
        address user = address(0xD00D);
        vm.prank(TREASURY);
        token.mint(user, 5e6);
        vm.startPrank(user);
        token.approve(address(settlement), 5e6);
        settlement.deposit(5e6);
        assertEq(settlement.balanceOf(user), 5e6, "deposited");
        vm.expectRevert(abi.encodeWithSelector(MarketSettlement.InsufficientBalance.selector, user, 5e6, 6e6));
        settlement.withdraw(6e6);
        settlement.withdraw(5e6);
        vm.stopPrank();
        assertEq(token.balanceOf(user), 5e6, "withdrawn");
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }
}
