// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IContributionIncentives} from "./interfaces/IContributionIncentives.sol";

/**
 * @title ContributionIncentives
 * @notice Pays platform revenue and treasury-funded rewards to contributors in proportion
 * to their proven contribution (work units delivered, attested in each round's settlement).
 *
 * Each round distributes `pool = revenue + carry + min(rewardPerRound, reserve)`: every
 * contributor accrues `floor(pool * units / totalUnits)`; the rounding dust stays in the pool
 * and is carried into the next round, so payouts never exceed the pool. Accrued credits are
 * pulled with {claim} (or {claimFor}, which still pays the contributor), at most once per accrual.
 *
 * Accounting invariant: `token.balanceOf(this) >= reserve + carry + totalOwed`.
 */
contract ContributionIncentives is IContributionIncentives, AccessControlDefaultAdminRules, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role of the settlement contract, the only caller of {notifyRound}.
    bytes32 public constant SETTLEMENT_ROLE = keccak256("SETTLEMENT_ROLE");
    /// @notice Role allowed to fund the reward reserve and set the per-round emission.
    bytes32 public constant TREASURY_ROLE = keccak256("TREASURY_ROLE");
    /// @notice Role allowed to pause and unpause claims and funding.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice The credit token paid out.
    IERC20 public immutable token;
    /// @notice Treasury rewards not yet emitted (base units).
    uint256 public reserve;
    /// @notice Rewards emitted from the reserve into each round's pool (base units).
    uint256 public rewardPerRound;
    /// @notice Undistributed rounding dust (or a round without contributors), carried forward.
    uint256 public carry;
    /// @notice Sum of all accrued, unclaimed rewards (base units).
    uint256 public totalOwed;

    mapping(address account => uint256) private _owed;

    /// @notice The treasury added `amount` base units to the reward reserve.
    event Funded(address indexed funder, uint256 amount);
    /// @notice The per-round reward emission was set.
    event RewardPerRoundSet(uint256 amount);
    /// @notice A round's pool was distributed; `contributions` are packed (account, units).
    event RoundRewarded(
        bytes32 indexed key, uint256 revenue, uint256 pool, uint256 distributed, uint256 carried, uint256[] contributions
    );
    /// @notice `account` was paid `amount` accrued base units.
    event Claimed(address indexed account, address indexed caller, uint256 amount);

    /// @dev A zero address was given where an account is required.
    error ZeroAddress();
    /// @dev A zero amount was given where a positive one is required.
    error ZeroAmount();
    /// @dev The account has nothing to claim (never accrued, or already claimed).
    error NothingToClaim(address account);
    /// @dev The pool's token balance does not cover its obligations plus the new revenue.
    error Unfunded(uint256 required, uint256 available);
    /// @dev Contribution entries are not sorted by strictly increasing account at `index`.
    error UnsortedAccounts(uint256 index);

    /**
     * @param token_ Credit token.
     * @param admin Account that receives `DEFAULT_ADMIN_ROLE`.
     * @param adminDelay Seconds a `DEFAULT_ADMIN_ROLE` hand-over waits between
     * `beginDefaultAdminTransfer` and `acceptDefaultAdminTransfer` (two steps).
     */
    constructor(IERC20 token_, address admin, uint48 adminDelay) AccessControlDefaultAdminRules(adminDelay, admin) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
    }

    /**
     * @notice Distribute a round's pool to its contributors in proportion to work units.
     * @dev Only `SETTLEMENT_ROLE`; the revenue must already have been transferred here.
     * Floor division: the dust is carried to the next round.
     * @param key Round key.
     * @param revenue Base units of platform revenue for this round.
     * @param contributions Packed entries `account << 96 | workUnits`, strictly increasing account.
     */
    function notifyRound(bytes32 key, uint256 revenue, uint256[] calldata contributions)
        external
        override
        onlyRole(SETTLEMENT_ROLE)
    {
        uint256 obligations = reserve + carry + totalOwed;
        uint256 available = token.balanceOf(address(this));
        if (available < obligations + revenue) revert Unfunded(obligations + revenue, available);

        uint256 emission = rewardPerRound < reserve ? rewardPerRound : reserve;
        uint256 pool = revenue + carry + emission;
        uint256 distributed = _accrue(pool, contributions);
        if (emission != 0) reserve -= emission;
        carry = pool - distributed;
        totalOwed += distributed;
        emit RoundRewarded(key, revenue, pool, distributed, pool - distributed, contributions);
    }

    /// @dev Credit each contributor `floor(pool * units / totalUnits)`; return the sum credited.
    function _accrue(uint256 pool, uint256[] calldata contributions) private returns (uint256 distributed) {
        uint256 n = contributions.length;
        uint256 totalUnits = 0;
        uint256 prev = 0;
        for (uint256 i; i < n; ++i) {
            uint256 accountBits = contributions[i] >> 96;
            if (accountBits <= prev) {
                if (accountBits == 0) revert ZeroAddress();
                revert UnsortedAccounts(i);
            }
            prev = accountBits;
            totalUnits += uint96(contributions[i]);
        }
        if (totalUnits == 0) return 0;
        for (uint256 i; i < n; ++i) {
            uint256 entry = contributions[i];
            uint256 share = (pool * uint96(entry)) / totalUnits;
            if (share != 0) {
                _owed[address(uint160(entry >> 96))] += share;
                distributed += share;
            }
        }
    }

    /**
     * @notice Pay the caller everything it has accrued.
     * @dev Reverts with `NothingToClaim` when there is nothing (e.g. a second claim).
     * @return amount Base units paid.
     */
    function claim() external whenNotPaused nonReentrant returns (uint256 amount) {
        return _claim(msg.sender);
    }

    /**
     * @notice Pay `account` everything it has accrued; anyone may trigger it, the credits
     * always go to `account` (used for simulated contributors that hold no key).
     * @param account Contributor to pay.
     * @return amount Base units paid.
     */
    function claimFor(address account) external whenNotPaused nonReentrant returns (uint256 amount) {
        if (account == address(0)) revert ZeroAddress();
        return _claim(account);
    }

    function _claim(address account) private returns (uint256 amount) {
        amount = _owed[account];
        if (amount == 0) revert NothingToClaim(account);
        _owed[account] = 0;
        totalOwed -= amount;
        emit Claimed(account, msg.sender, amount);
        token.safeTransfer(account, amount);
    }

    /**
     * @notice Add `amount` base units of the caller's credits to the reward reserve.
     * @dev Only `TREASURY_ROLE`; needs a prior `approve`.
     * @param amount Base units.
     */
    function fund(uint256 amount) external onlyRole(TREASURY_ROLE) whenNotPaused nonReentrant {
        if (amount == 0) revert ZeroAmount();
        reserve += amount;
        emit Funded(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Set the reward emitted from the reserve into each round's pool.
     * @dev Only `TREASURY_ROLE`.
     * @param amount Base units per round.
     */
    function setRewardPerRound(uint256 amount) external onlyRole(TREASURY_ROLE) {
        rewardPerRound = amount;
        emit RewardPerRoundSet(amount);
    }

    /**
     * @notice Accrued, unclaimed rewards of `account` in base units.
     * @param account Contributor.
     * @return Base units claimable.
     */
    function owed(address account) external view returns (uint256) {
        return _owed[account];
    }

    /**
     * @notice Pause claims and funding.
     * @dev Only `PAUSER_ROLE`. Settlement notifications continue so rounds never block.
     */
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /**
     * @notice Resume claims and funding.
     * @dev Only `PAUSER_ROLE`.
     */
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }
}
