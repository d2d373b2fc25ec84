// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./Vm.sol";
import {EdgeCredit} from "../src/EdgeCredit.sol";
import {MarketSettlement} from "../src/MarketSettlement.sol";
import {ContributionIncentives} from "../src/ContributionIncentives.sol";
import {StakeRegistry} from "../src/StakeRegistry.sol";

/// @notice Deploys and wires the four contracts the way `ledger.chain.deploy` does.
abstract contract Fixture is TestBase {
    address internal constant TREASURY = address(0x7EA5);
    address internal constant OPERATOR = address(0x0E4A);
    address internal constant PAUSER = address(0xBA05E);
    uint256 internal constant EXIT_DELAY = 1 days;
    uint256 internal constant MIN_STAKE = 1e6;
    uint48 internal constant ADMIN_DELAY = 2 days;

    EdgeCredit internal token;
    MarketSettlement internal settlement;
    ContributionIncentives internal incentives;
    StakeRegistry internal stakes;

    function setUp() public virtual {
        token = new EdgeCredit(address(this), ADMIN_DELAY);
        incentives = new ContributionIncentives(token, address(this), ADMIN_DELAY);
        stakes = new StakeRegistry(token, address(this), EXIT_DELAY, MIN_STAKE, ADMIN_DELAY);
        settlement = new MarketSettlement(token, incentives, stakes, address(this), ADMIN_DELAY);

        incentives.grantRole(incentives.SETTLEMENT_ROLE(), address(settlement));
        stakes.grantRole(stakes.SLASHER_ROLE(), address(settlement));
        token.grantRole(token.TREASURY_ROLE(), TREASURY);
        settlement.grantRole(settlement.TREASURY_ROLE(), TREASURY);
        settlement.grantRole(settlement.OPERATOR_ROLE(), OPERATOR);
        incentives.grantRole(incentives.TREASURY_ROLE(), TREASURY);
        stakes.grantRole(stakes.REGISTRAR_ROLE(), TREASURY);
        token.grantRole(token.PAUSER_ROLE(), PAUSER);
        settlement.grantRole(settlement.PAUSER_ROLE(), PAUSER);
        incentives.grantRole(incentives.PAUSER_ROLE(), PAUSER);
        stakes.grantRole(stakes.PAUSER_ROLE(), PAUSER);
    }

    /// @dev Actor addresses increase with `i`, so batches built in index order are sorted.
    function actor(uint256 i) internal pure returns (address) {
        return address(uint160(0x100000 + i));
    }

    /// @dev A contribution entry: `account << 96 | units`.
    function pack(address account, int256 value) internal pure returns (uint256) {
        return (uint256(uint160(account)) << 96) | uint256(uint96(int96(value)));
    }

    /// @dev A delta entry for `account` (which must have an escrow account): sign-magnitude.
    function delta(address account, int256 value) internal view returns (uint256) {
        address[] memory one = new address[](1);
        one[0] = account;
        uint256 index = settlement.indicesOf(one)[0];
        require(index != 0, "no escrow account");
        return packDelta(index, value);
    }

    function packDelta(uint256 index, int256 value) internal pure returns (uint256) {
        uint256 magnitude = value < 0 ? uint256(-value) : uint256(value);
        return (index << 72) | (value < 0 ? 1 << 64 : 0) | magnitude;
    }

    /// @dev Mint `amount` to the treasury and fund `accounts` with `each` through depositFor.
    function fund(address[] memory accounts, uint256 each) internal {
        uint256[] memory amounts = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            amounts[i] = each;
        }
        vm.startPrank(TREASURY);
        token.mint(TREASURY, each * accounts.length);
        token.approve(address(settlement), each * accounts.length);
        settlement.depositFor(accounts, amounts);
        vm.stopPrank();
    }

    function actors(uint256 n) internal pure returns (address[] memory out) {
        out = new address[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = actor(i);
        }
    }

    function emptyBatch(uint64 runId, uint64 round) internal pure returns (MarketSettlement.RoundBatch memory b) {
        b.runId = runId;
        b.round = round;
        b.tradesRoot = keccak256("root");
        b.prices = [uint64(1), 2, 3, 4];
    }

    function registerNode(address node, uint256 stake) internal {
        address[] memory nodes = new address[](1);
        nodes[0] = node;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = stake;
        vm.startPrank(TREASURY);
        token.mint(TREASURY, stake);
        token.approve(address(stakes), stake);
        stakes.registerFor(nodes, amounts);
        vm.stopPrank();
    }
}
