// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./Vm.sol";
import {EdgeCredit} from "../src/EdgeCredit.sol";
import {MarketSettlement} from "../src/MarketSettlement.sol";
import {ContributionIncentives} from "../src/ContributionIncentives.sol";
import {StakeRegistry} from "../src/StakeRegistry.sol";

/// @notice What every invariant handler holds: the four deployed contracts and the two role
/// holders it acts as. The handlers differ only in the actions they fuzz.
abstract contract HandlerBase is TestBase {
    EdgeCredit internal token;
    MarketSettlement internal settlement;
    ContributionIncentives internal incentives;
    StakeRegistry internal stakes;
    address internal treasury;
    address internal operator;

    constructor(
        EdgeCredit token_,
        MarketSettlement settlement_,
        ContributionIncentives incentives_,
        StakeRegistry stakes_,
        address treasury_,
        address operator_
    ) {
        (token, settlement, incentives, stakes) = (token_, settlement_, incentives_, stakes_);
        (treasury, operator) = (treasury_, operator_);
    }
}
