// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {RealBatches} from "./fixtures/RealBatches.sol";
import {EdgeCredit} from "../src/EdgeCredit.sol";
import {MarketSettlement} from "../src/MarketSettlement.sol";
import {ContributionIncentives} from "../src/ContributionIncentives.sol";
import {StakeRegistry} from "../src/StakeRegistry.sol";

/// @notice Replays the real settled batches of a simulation run (fixtures/RealBatches.sol) in
/// order, interleaved at random with extra deposits, node exits, stake withdrawals, claims and
/// re-sends of rounds already settled. With `fail_on_revert = true` a real batch that fails
/// to settle fails the run: whatever nodes left meanwhile, no attestation blocks a round.
contract ReplayHandler is HandlerBase {
    address[] internal accounts;
    address[] internal nodes;

    /// @notice Real batches settled so far (they settle in order: balances depend on it).
    uint256 public cursor;
    uint256 public ghostMinted;
    uint256 public ghostDeposited;
    uint256 public ghostFees;
    uint256 public ghostStaked;
    uint256 public ghostStakeWithdrawn;
    uint256 public ghostClaimed;
    uint256 public ghostReplaySucceeded;
    uint256 public ghostReplayWrongError;

    constructor(
        EdgeCredit token_,
        MarketSettlement settlement_,
        ContributionIncentives incentives_,
        StakeRegistry stakes_,
        address treasury_,
        address operator_
    ) HandlerBase(token_, settlement_, incentives_, stakes_, treasury_, operator_) {
        uint256[] memory amounts;
        (accounts, amounts) = RealBatches.funding();
        uint256 total;
        for (uint256 i; i < amounts.length; ++i) {
            total += amounts[i];
        }
        uint256 stake;
        (nodes, stake) = RealBatches.staking();
        uint256[] memory stakeAmounts = new uint256[](nodes.length);
        for (uint256 i; i < nodes.length; ++i) {
            stakeAmounts[i] = stake;
        }
        vm.startPrank(treasury);
        token.mint(treasury, total + stake * nodes.length);
        token.approve(address(settlement), total);
        settlement.depositFor(accounts, amounts);
        token.approve(address(stakes), stake * nodes.length);
        stakes.registerFor(nodes, stakeAmounts);
        vm.stopPrank();
        (ghostMinted, ghostDeposited, ghostStaked) = (total + stake * nodes.length, total, stake * nodes.length);
        // the batches' delta entries name escrow indices: they must be the real run's
        uint256[] memory idx = settlement.indicesOf(accounts);
        for (uint256 i; i < idx.length; ++i) {
            require(idx[i] == i + 1, "escrow index differs from the real run");
        }
    }

    /// @dev Settle the next one to three real batches (so most runs replay all of them).
    function settleNext(uint256 n) external {
        n = bound(n, 1, 3);
        for (uint256 k; k < n && cursor < RealBatches.COUNT; ++k) {
            MarketSettlement.RoundBatch memory b = RealBatches.batch(cursor);
            vm.prank(operator);
            settlement.settleRound(b);
            ghostFees += b.fee;
            cursor += 1;
        }
    }

    function resendSettled(uint256 seed) external {
        if (cursor == 0) return;
        MarketSettlement.RoundBatch memory b = RealBatches.batch(seed % cursor);
        vm.prank(operator);
        try settlement.settleRound(b) {
            ghostReplaySucceeded += 1;
        } catch (bytes memory err) {
            if (err.length < 4 || bytes4(err) != MarketSettlement.RoundAlreadySettled.selector) {
                ghostReplayWrongError += 1;
            }
        }
    }

    function deposit(uint256 who, uint256 amount) external {
        amount = bound(amount, 1, 1e12);
        address[] memory one = new address[](1);
        one[0] = accounts[who % accounts.length];
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = amount;
        vm.startPrank(treasury);
        token.mint(treasury, amount);
        token.approve(address(settlement), amount);
        settlement.depositFor(one, amounts);
        vm.stopPrank();
        ghostMinted += amount;
        ghostDeposited += amount;
    }

    function exitNode(uint256 which) external {
        address n = nodes[which % nodes.length];
        StakeRegistry.NodeStake memory info = stakes.nodeInfo(n);
        if (info.controller == address(0) || info.unlockAt != 0) return;
        vm.prank(treasury);
        stakes.requestExit(n);
    }

    function withdrawNode(uint256 which) external {
        address n = nodes[which % nodes.length];
        StakeRegistry.NodeStake memory info = stakes.nodeInfo(n);
        if (info.unlockAt == 0) return;
        if (block.timestamp < info.unlockAt) vm.warp(info.unlockAt);
        vm.prank(treasury);
        stakes.withdrawStake(n);
        ghostStakeWithdrawn += info.stake;
    }

    function claim(uint256 who) external {
        address a = accounts[who % accounts.length];
        uint256 owed = incentives.owed(a);
        if (owed == 0) return;
        incentives.claimFor(a);
        ghostClaimed += owed;
    }

    /// @dev Sum of the internal balances of every account of the run.
    function sumBalances() external view returns (uint256 sum) {
        uint256[] memory b = settlement.balancesOf(accounts);
        for (uint256 i; i < b.length; ++i) {
            sum += b[i];
        }
    }

    /// @dev Token balances of the run's own wallets (claimed rewards land there).
    function sumWallets() external view returns (uint256 sum) {
        for (uint256 i; i < accounts.length; ++i) {
            sum += token.balanceOf(accounts[i]);
        }
    }
}

contract ReplayInvariantsTest is Fixture {
    ReplayHandler internal handler;
    address[] internal targets;

    function setUp() public override {
        super.setUp();
        handler = new ReplayHandler(token, settlement, incentives, stakes, TREASURY, OPERATOR);
        targets.push(address(handler));
    }

    /// @dev Forge reads the fuzzing targets from this function.
    function targetContracts() public view returns (address[] memory) {
        return targets;
    }

    function invariant_realBatchesSettleInOrderExactlyOnce() public view {
        uint256 cursor = handler.cursor();
        for (uint256 i; i < RealBatches.COUNT; ++i) {
            MarketSettlement.RoundBatch memory b = RealBatches.batch(i);
            bool settled = settlement.isSettled(b.runId, b.round);
            assertTrue(settled == (i < cursor), "settled exactly the replayed prefix");
            if (settled) {
                MarketSettlement.RoundRecord memory rec = settlement.getRound(b.runId, b.round);
                assertEq(rec.tradesRoot, b.tradesRoot, "recorded root");
                assertEq(rec.tradeCount, b.tradeCount, "recorded trade count");
                assertEq(rec.fee, b.fee, "recorded fee");
            }
        }
        assertEq(handler.ghostReplaySucceeded(), 0, "a round settled twice");
        assertEq(handler.ghostReplayWrongError(), 0, "a re-send failed with another error than RoundAlreadySettled");
    }

    function invariant_escrowBooksBalance() public view {
        uint256 total = settlement.totalBalances();
        assertEq(total, handler.sumBalances(), "totalBalances is the sum of the balances");
        assertEq(token.balanceOf(address(settlement)), total, "escrow holds exactly its balances");
        // compensation paid = stake that left the registry other than by withdrawal
        uint256 compensated = handler.ghostStaked() - handler.ghostStakeWithdrawn() - stakes.totalStaked();
        assertEq(total, handler.ghostDeposited() + compensated - handler.ghostFees(), "deposits + slashes - fees");
        assertEq(token.balanceOf(address(stakes)), stakes.totalStaked(), "registry holds exactly the stakes");
    }

    function invariant_feesAndRewardsConserved() public view {
        assertEq(
            token.balanceOf(address(incentives)), handler.ghostFees() - handler.ghostClaimed(), "pool = fees - claims"
        );
        assertGe(
            token.balanceOf(address(incentives)), incentives.carry() + incentives.totalOwed(), "pool solvent"
        );
        assertEq(handler.sumWallets(), handler.ghostClaimed(), "claims land in the contributors' wallets");
        assertEq(token.totalSupply(), handler.ghostMinted(), "supply changes only by treasury mints");
    }
}
