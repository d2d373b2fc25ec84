// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";

/**
 * @title StakeRegistry
 * @notice Edge nodes register with a stake of credits. A QoAIS SLA violation attested in a
 * round's settlement slashes part of the stake to the harmed buyer (via the settlement
 * contract, the `SLASHER_ROLE`). Leaving takes two steps: {requestExit}, then after
 * `exitDelay` seconds {withdrawStake}; the stake stays slashable during the delay.
 *
 * Every stake has a controller: the node itself when it calls {register}, or the registrar
 * that funded it with {registerFor} (simulated nodes hold no key). Only the controller can
 * request the exit, and the withdrawn stake goes back to the controller.
 */
contract StakeRegistry is IStakeRegistry, AccessControlDefaultAdminRules, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role of the settlement contract, the only caller of {slash}.
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice Role allowed to register (and fund) many simulated nodes at once.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Role allowed to pause and unpause registration and withdrawal.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice A registered node's stake.
    struct NodeStake {
        address controller;
        uint96 stake;
        uint64 unlockAt; // 0 until an exit is requested
    }

    /// @notice The staked credit token.
    IERC20 public immutable token;
    /// @notice Seconds between {requestExit} and the earliest {withdrawStake}.
    uint256 public immutable exitDelay;
    /// @notice Smallest stake accepted at registration (base units).
    uint256 public immutable minStake;
    /// @notice Sum of all stakes (base units).
    uint256 public totalStaked;

    mapping(address node => NodeStake) private _nodes;

    /// @notice `node` registered with `stake` base units, controlled by `controller`.
    event Registered(address indexed node, address indexed controller, uint256 stake);
    /// @notice `amount` base units of `node`'s stake were slashed to `to`.
    event Slashed(address indexed node, address indexed to, uint256 amount);
    /// @notice `node`'s exit was requested; the stake unlocks at `unlockAt`.
    event ExitRequested(address indexed node, uint256 unlockAt);
    /// @notice `node` left; `amount` base units went back to `controller`.
    event StakeWithdrawn(address indexed node, address indexed controller, uint256 amount);

    /// @dev A zero address was given where an account is required.
    error ZeroAddress();
    /// @dev Two arrays that must have the same length do not.
    error LengthMismatch(uint256 expected, uint256 actual);
    /// @dev The node is already registered.
    error AlreadyRegistered(address node);
    /// @dev The node is not registered.
    error NotRegistered(address node);
    /// @dev The stake is below `minStake`.
    error StakeTooLow(uint256 stake, uint256 minStake);
    /// @dev The caller does not control the node's stake.
    error NotController(address node, address caller);
    /// @dev An exit was already requested for the node.
    error ExitAlreadyRequested(address node);
    /// @dev No exit was requested for the node.
    error ExitNotRequested(address node);
    /// @dev The stake is still locked until `unlockAt`.
    error StakeLocked(address node, uint256 unlockAt);
    /// @dev The slash exceeds the node's stake.
    error SlashExceedsStake(address node, uint256 amount, uint256 stake);

    /**
     * @param token_ Staked credit token.
     * @param admin Account that receives `DEFAULT_ADMIN_ROLE`.
     * @param exitDelay_ Seconds from the exit request to the withdrawal.
     * @param minStake_ Minimum stake in base units.
     * @param adminDelay Seconds a `DEFAULT_ADMIN_ROLE` hand-over waits between
     * `beginDefaultAdminTransfer` and `acceptDefaultAdminTransfer` (two steps).
     */
    constructor(IERC20 token_, address admin, uint256 exitDelay_, uint256 minStake_, uint48 adminDelay)
        AccessControlDefaultAdminRules(adminDelay, admin)
    {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        exitDelay = exitDelay_;
        minStake = minStake_;
    }

    /**
     * @notice Register the caller as an edge node with `amount` base units of stake.
     * @dev Needs a prior `approve`; the caller becomes the stake's controller.
     * @param amount Stake in base units (at least `minStake`).
     */
    function register(uint256 amount) external whenNotPaused nonReentrant {
        _register(msg.sender, amount); // emits Registered(node, controller, amount)
        // slither-disable-next-line events-maths
        totalStaked += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Register many simulated nodes, funded by (and controlled by) the caller.
     * @dev Only `REGISTRAR_ROLE`; one token transfer for the whole batch.
     * @param nodes Node addresses (no zero address, none registered yet).
     * @param amounts Stakes in base units.
     */
    function registerFor(address[] calldata nodes, uint256[] calldata amounts)
        external
        onlyRole(REGISTRAR_ROLE)
        whenNotPaused
        nonReentrant
    {
        if (amounts.length != nodes.length) revert LengthMismatch(nodes.length, amounts.length);
        uint256 total = 0;
        for (uint256 i = 0; i < nodes.length; ++i) {
            _register(nodes[i], amounts[i]);
            total += amounts[i];
        }
        totalStaked += total;
        token.safeTransferFrom(msg.sender, address(this), total);
    }

    function _register(address node, uint256 amount) private {
        if (node == address(0)) revert ZeroAddress();
        if (_nodes[node].controller != address(0)) revert AlreadyRegistered(node);
        if (amount < minStake || amount == 0) revert StakeTooLow(amount, minStake);
        _nodes[node] = NodeStake({controller: msg.sender, stake: SafeCast.toUint96(amount), unlockAt: 0});
        emit Registered(node, msg.sender, amount);
    }

    /**
     * @notice Start the exit of `node`; the stake unlocks after `exitDelay` seconds.
     * @dev Only the stake's controller.
     * @param node Registered node.
     */
    function requestExit(address node) external {
        NodeStake storage s = _controlled(node);
        if (s.unlockAt != 0) revert ExitAlreadyRequested(node);
        uint256 unlockAt = block.timestamp + exitDelay;
        s.unlockAt = SafeCast.toUint64(unlockAt);
        emit ExitRequested(node, unlockAt);
    }

    /**
     * @notice Withdraw `node`'s remaining stake to its controller after the exit delay.
     * @dev Only the stake's controller; the node is deregistered.
     * @param node Node whose exit was requested.
     */
    function withdrawStake(address node) external whenNotPaused nonReentrant {
        NodeStake storage s = _controlled(node);
        uint256 unlockAt = s.unlockAt;
        if (unlockAt == 0) revert ExitNotRequested(node);
        // Exit delays are hours to days: a validator's few seconds of timestamp drift do not matter.
        // slither-disable-next-line timestamp
        if (block.timestamp < unlockAt) revert StakeLocked(node, unlockAt);
        uint256 amount = s.stake;
        address controller = s.controller;
        delete _nodes[node];
        totalStaked -= amount;
        emit StakeWithdrawn(node, controller, amount);
        if (amount != 0) token.safeTransfer(controller, amount);
    }

    /**
     * @notice Slash `amount` base units of `node`'s stake to `to`.
     * @dev Only `SLASHER_ROLE` (the settlement contract). Works during the exit delay and
     * while paused, so attested violations are always honoured.
     * @param node Registered node.
     * @param amount Base units (at most the stake).
     * @param to Receiver of the slashed credits.
     */
    function slash(address node, uint256 amount, address to) external override onlyRole(SLASHER_ROLE) nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        NodeStake storage s = _nodes[node];
        if (s.controller == address(0)) revert NotRegistered(node);
        uint256 stake = s.stake;
        if (amount > stake) revert SlashExceedsStake(node, amount, stake);
        unchecked {
            s.stake = uint96(stake - amount);
        }
        totalStaked -= amount;
        emit Slashed(node, to, amount);
        if (amount != 0) token.safeTransfer(to, amount);
    }

    /**
     * @notice Current stake of `node` in base units (0 if not registered).
     * @param node Edge node.
     * @return Stake in base units.
     */
    function stakeOf(address node) external view override returns (uint256) {
        return _nodes[node].stake;
    }

    /**
     * @notice The full stake record of `node` (controller is zero if not registered).
     * @param node Edge node.
     * @return The record.
     */
    function nodeInfo(address node) external view returns (NodeStake memory) {
        return _nodes[node];
    }

    /**
     * @notice Pause registration and withdrawal (slashing continues).
     * @dev Only `PAUSER_ROLE`.
     */
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /**
     * @notice Resume registration and withdrawal.
     * @dev Only `PAUSER_ROLE`.
     */
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    function _controlled(address node) private view returns (NodeStake storage s) {
        s = _nodes[node];
        if (s.controller == address(0)) revert NotRegistered(node);
        if (s.controller != msg.sender) revert NotController(node, msg.sender);
    }
}
