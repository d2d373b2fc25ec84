// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {EdgeCredit} from "../src/EdgeCredit.sol";
import {MarketSettlement} from "../src/MarketSettlement.sol";
import {ContributionIncentives} from "../src/ContributionIncentives.sol";
import {StakeRegistry} from "../src/StakeRegistry.sol";

/// @notice Random sequences of deposits, withdrawals, settlements, replays, claims, slashes and
/// unauthorized attempts, driven by forge's invariant fuzzer.
contract SettlementHandler is HandlerBase {
    uint256 internal constant N = 6;

    uint256 public ghostMinted;
    uint256 public ghostSettled;
    uint256 public ghostReplaySucceeded;
    uint256 public ghostUnauthorizedSucceeded;
    uint64 internal nextRound = 1;

    constructor(
        EdgeCredit token_,
        MarketSettlement settlement_,
        ContributionIncentives incentives_,
        StakeRegistry stakes_,
        address treasury_,
        address operator_
    ) HandlerBase(token_, settlement_, incentives_, stakes_, treasury_, operator_) {}

    function actor(uint256 i) public pure returns (address) {
        return address(uint160(0x100000 + (i % N)));
    }

    function node(uint256 i) public pure returns (address) {
        return address(uint160(0x200000 + (i % 3)));
    }

    /// @dev Open every actor's escrow account (1 base unit each), so batches can pay them.
    function bootstrap() external {
        for (uint256 i; i < N; ++i) {
            _mintAndDeposit(actor(i), 1);
        }
    }

    function mintAndDeposit(uint256 who, uint256 amount) external {
        _mintAndDeposit(actor(who), bound(amount, 1, 1e12));
    }

    function _mintAndDeposit(address a, uint256 amount) private {
        vm.prank(treasury);
        token.mint(a, amount);
        ghostMinted += amount;
        vm.startPrank(a);
        token.approve(address(settlement), amount);
        settlement.deposit(amount);
        vm.stopPrank();
    }

    function withdraw(uint256 who, uint256 amount) external {
        address a = actor(who);
        uint256 bal = settlement.balanceOf(a);
        if (bal == 0) return;
        vm.prank(a);
        settlement.withdraw(bound(amount, 1, bal));
    }

    function registerNode(uint256 which, uint256 stake) external {
        address n = node(which);
        if (stakes.nodeInfo(n).controller != address(0)) return;
        stake = bound(stake, 1e6, 1e12);
        address[] memory nodes = new address[](1);
        nodes[0] = n;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = stake;
        vm.startPrank(treasury);
        token.mint(treasury, stake);
        ghostMinted += stake;
        token.approve(address(stakes), stake);
        stakes.registerFor(nodes, amounts);
        vm.stopPrank();
    }

    function settle(uint256 seed) external {
        MarketSettlement.RoundBatch memory b;
        b.runId = 1;
        b.round = nextRound;
        b.tradesRoot = keccak256(abi.encode(seed));
        b.deltas = new uint256[](N);
        int256[] memory d = new int256[](N);
        uint256 paid;
        for (uint256 i; i < N; i += 2) {
            uint256 pay = uint256(keccak256(abi.encode(seed, i))) % (settlement.balanceOf(actor(i)) + 1);
            d[i] = -int256(pay);
            paid += pay;
        }
        b.fee = paid / 20;
        uint256 left = paid - b.fee;
        for (uint256 i = 1; i < N; i += 2) {
            uint256 get = i == N - 1 ? left : left / 2;
            d[i] = int256(get);
            left -= get;
        }
        uint256 k;
        for (uint256 i; i < N; ++i) {
            uint256 index = _indexOf(actor(i));
            require(index != 0, "bootstrap opened every account");
            uint256 magnitude = d[i] < 0 ? uint256(-d[i]) : uint256(d[i]);
            b.deltas[k++] = (index << 72) | (d[i] < 0 ? 1 << 64 : 0) | magnitude;
        }
        // accounts open in deposit order, so sort the entries by index (insertion sort, n <= 6)
        uint256[] memory sorted = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            uint256 e = b.deltas[i];
            uint256 j = i;
            while (j > 0 && sorted[j - 1] > e) {
                sorted[j] = sorted[j - 1];
                --j;
            }
            sorted[j] = e;
        }
        b.deltas = sorted;
        b.contributions = new uint256[](2);
        b.contributions[0] = (uint256(uint160(actor(1))) << 96) | (seed % 1000);
        b.contributions[1] = (uint256(uint160(actor(3))) << 96) | ((seed >> 10) % 1000);
        if (stakes.stakeOf(node(seed)) != 0) {
            b.violations = new MarketSettlement.Violation[](1);
            b.violations[0] = MarketSettlement.Violation({node: node(seed), buyer: actor(seed >> 20), amount: seed % 1e9});
        }
        vm.prank(operator);
        settlement.settleRound(b);
        ghostSettled += 1;
        nextRound += 1;
    }

    function _indexOf(address a) private view returns (uint256) {
        address[] memory one = new address[](1);
        one[0] = a;
        return settlement.indicesOf(one)[0];
    }

    function replay(uint256 roundSeed) external {
        if (nextRound == 1) return;
        MarketSettlement.RoundBatch memory b;
        b.runId = 1;
        b.round = uint64(bound(roundSeed, 1, nextRound - 1));
        vm.prank(operator);
        try settlement.settleRound(b) {
            ghostReplaySucceeded += 1;
        } catch {}
    }

    function claim(uint256 who) external {
        address a = actor(who);
        if (incentives.owed(a) == 0) return;
        vm.prank(a);
        incentives.claim();
    }

    function attack(uint256 seed, address who) external {
        if (who == treasury || who == operator || who == address(settlement) || who == address(this)) return;
        MarketSettlement.RoundBatch memory b;
        b.runId = 2;
        b.round = uint64(seed);
        bytes memory call;
        address target;
        uint256 kind = seed % 5;
        if (kind == 0) (target, call) = (address(token), abi.encodeCall(EdgeCredit.mint, (who, 1e6)));
        else if (kind == 1) (target, call) = (address(settlement), abi.encodeCall(MarketSettlement.settleRound, (b)));
        else if (kind == 2) (target, call) = (address(stakes), abi.encodeCall(StakeRegistry.slash, (node(seed), 1, who)));
        else if (kind == 3) (target, call) = (address(incentives), abi.encodeCall(ContributionIncentives.notifyRound, (bytes32(seed), 0, new uint256[](0))));
        else {
            address[] memory accounts = new address[](1);
            accounts[0] = who;
            uint256[] memory amounts = new uint256[](1);
            amounts[0] = 1;
            (target, call) = (address(settlement), abi.encodeCall(MarketSettlement.depositFor, (accounts, amounts)));
        }
        vm.prank(who);
        (bool ok,) = target.call(call);
        if (ok) ghostUnauthorizedSucceeded += 1;
    }

    /// @dev Sum of the internal balances of every account that can ever hold one.
    function sumInternalBalances() external view returns (uint256 sum) {
        for (uint256 i; i < N; ++i) {
            sum += settlement.balanceOf(actor(i));
        }
    }
}

contract InvariantsTest is Fixture {
    SettlementHandler internal handler;
    address[] internal targets;

    function setUp() public override {
        super.setUp();
        handler = new SettlementHandler(token, settlement, incentives, stakes, TREASURY, OPERATOR);
        handler.bootstrap();
        targets.push(address(handler));
    }

    /// @dev Forge reads the fuzzing targets from this function (what forge-std's StdInvariant provides).
    function targetContracts() public view returns (address[] memory) {
        return targets;
    }

    function invariant_totalSupplyConserved() public view {
        assertEq(token.totalSupply(), handler.ghostMinted(), "supply changes only by treasury mints");
        uint256 held = token.balanceOf(address(settlement)) + token.balanceOf(address(incentives))
            + token.balanceOf(address(stakes)) + token.balanceOf(TREASURY);
        for (uint256 i; i < 6; ++i) {
            held += token.balanceOf(handler.actor(i));
        }
        assertEq(held, token.totalSupply(), "every credit is accounted for");
    }

    function invariant_escrowSolvent() public view {
        assertEq(settlement.totalBalances(), handler.sumInternalBalances(), "totalBalances tracks balances");
        assertGe(token.balanceOf(address(settlement)), settlement.totalBalances(), "escrow solvent");
        assertGe(
            token.balanceOf(address(incentives)),
            incentives.reserve() + incentives.carry() + incentives.totalOwed(),
            "pool solvent"
        );
        assertGe(token.balanceOf(address(stakes)), stakes.totalStaked(), "stakes solvent");
    }

    function invariant_noRoundSettlesTwice() public view {
        assertEq(handler.ghostReplaySucceeded(), 0, "replayed round settled");
    }

    function invariant_onlyRolesMoveFunds() public view {
        assertEq(handler.ghostUnauthorizedSucceeded(), 0, "unauthorized call succeeded");
    }
}
