// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IContributionIncentives} from "./interfaces/IContributionIncentives.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";

/**
 * @title MarketSettlement
 * @notice Escrow and per-round batch settlement of an edgemarket simulation.
 *
 * Participants keep internal credit balances here (deposit / withdraw, or funded in bulk by
 * the treasury with {depositFor}). Once per market round the `OPERATOR_ROLE` settles one
 * netted batch: a signed balance change per participating account, the platform fee, the
 * round's four clearing prices and the Merkle root of the round's trades. Gas therefore grows
 * with the number of participants of a round, not with its trades; any trade can later be
 * proven to belong to a round with {verifyTrade}.
 *
 * Accounts: the first credit to an address opens its escrow account and gives it a dense
 * index (1, 2, 3, ...; event `AccountOpened`). Balances live in 64-bit lanes, four accounts
 * per storage word, so a round touching many consecutive accounts pays one storage write per
 * four accounts. A balance is therefore at most 2**64-1 base units (1.8e13 credits).
 *
 * Packed entries (calldata and events):
 *   delta entry        = index << 72 | negative << 64 | magnitude    (uint64 base units)
 *   contribution entry = uint256(uint160(account)) << 96 | workUnits   (1e-6 work units)
 * Delta entries must be sorted by strictly increasing account index; bits 65..71 are zero.
 *
 * Trade leaves follow OpenZeppelin's StandardMerkleTree convention (sorted-pair hashing,
 * double-hashed leaves): leaf = keccak256(bytes.concat(keccak256(abi.encode(buyer, seller,
 * resource, quantity, price)))) with `resource` a uint8 (0..3), `quantity` in 1e-6 resource
 * units and `price` in base units (1e-6 credits) per resource unit.
 *
 * The full off-chain ledger of internal balances can be rebuilt from this contract's events:
 * `AccountOpened` (index -> address), `Deposited` (+), `Withdrawn` (-), `RoundSettled`
 * (packed deltas by index) and `Compensated` (+ buyer).
 */
contract MarketSettlement is AccessControlDefaultAdminRules, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to settle rounds.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Role allowed to fund many accounts at once with {depositFor}.
    bytes32 public constant TREASURY_ROLE = keccak256("TREASURY_ROLE");
    /// @notice Role allowed to pause and unpause deposits, withdrawals and settlement.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Number of resources priced per round (communication, caching, computation, learning).
    uint256 public constant N_RESOURCES = 4;
    /// @notice Price value recorded for a resource that did not trade in a round.
    uint64 public constant NO_PRICE = type(uint64).max;

    /// @notice An SLA (QoAIS) violation attested by the operator: `node` compensates `buyer`.
    struct Violation {
        address node;
        address buyer;
        uint256 amount;
    }

    /// @notice Everything settled for one market round.
    struct RoundBatch {
        uint64 runId;
        uint64 round;
        bytes32 tradesRoot;
        uint32 tradeCount;
        uint256 fee;
        uint64[4] prices;
        uint256[] deltas;
        uint256[] contributions;
        Violation[] violations;
    }

    /// @notice What is stored per settled round.
    struct RoundRecord {
        bytes32 tradesRoot;
        uint64[4] prices;
        uint64 settledBlock;
        uint32 tradeCount;
        uint32 accounts;
        uint128 fee;
    }

    /// @notice The credit token held in escrow.
    IERC20 public immutable token;
    /// @notice Pool receiving the platform fee and paying contributors.
    IContributionIncentives public immutable incentives;
    /// @notice Registry of edge-node stakes, slashed on SLA violations.
    IStakeRegistry public immutable stakes;

    /// @notice Sum of all internal balances (base units); never more than the escrow's token balance.
    uint256 public totalBalances;
    /// @notice Number of escrow accounts opened (the highest account index).
    uint256 public accountCount;

    uint256 private constant LANE_MASK = type(uint64).max;
    uint256 private constant NEGATIVE = 1 << 64;
    uint256 private constant RESERVED_BITS = ((1 << 72) - 1) ^ ((1 << 65) - 1);

    mapping(address account => uint256) private _indexOf;
    mapping(uint256 index => address) private _accountAt;
    /// @dev Word `w` holds the balances of indices 4w..4w+3, 64 bits each (index 0 unused).
    mapping(uint256 word => uint256) private _lanes;
    mapping(bytes32 key => RoundRecord) private _rounds;

    /// @notice `account` opened its escrow account; deltas refer to it by `index`.
    event AccountOpened(address indexed account, uint256 indexed index);
    /// @notice `amount` base units were credited to `account`, paid by `funder`.
    event Deposited(address indexed account, address indexed funder, uint256 amount);
    /// @notice `amount` base units were withdrawn by `account`.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Round `round` of run `runId` was settled; `deltas` are the packed balance changes
    /// (`index << 72 | negative << 64 | magnitude`).
    event RoundSettled(
        bytes32 indexed key,
        uint64 indexed runId,
        uint64 indexed round,
        bytes32 tradesRoot,
        uint32 tradeCount,
        uint256 fee,
        uint64[4] prices,
        uint256[] deltas
    );
    /// @notice `buyer` was credited `amount` base units slashed from `node`'s stake.
    event Compensated(bytes32 indexed key, address indexed node, address indexed buyer, uint256 amount);
    /// @notice A violation attested `attested` base units but `node`'s stake covered only `paid`
    /// (zero for a participant without stake: a broker, an unregistered or exited node).
    event CompensationShortfall(
        bytes32 indexed key, address indexed node, address indexed buyer, uint256 attested, uint256 paid
    );

    /// @dev A zero address was given where an account is required.
    error ZeroAddress();
    /// @dev A zero amount was given where a positive one is required.
    error ZeroAmount();
    /// @dev Two arrays that must have the same length do not.
    error LengthMismatch(uint256 expected, uint256 actual);
    /// @dev The round was already settled (replay).
    error RoundAlreadySettled(uint64 runId, uint64 round);
    /// @dev The round has not been settled.
    error RoundNotSettled(uint64 runId, uint64 round);
    /// @dev The batch's deltas plus the fee do not sum to zero.
    error UnbalancedBatch(int256 deltaSum, uint256 fee);
    /// @dev The account's balance is smaller than what it must pay.
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    /// @dev Delta entries are not sorted by strictly increasing account index at position `position`.
    error UnsortedAccounts(uint256 position);
    /// @dev A delta entry refers to an account index that was never opened.
    error UnknownAccount(uint256 index);
    /// @dev A delta entry has reserved bits set.
    error MalformedEntry(uint256 position);
    /// @dev The account's balance would exceed 2**64-1 base units.
    error BalanceOverflow(address account);

    /**
     * @param token_ Credit token held in escrow.
     * @param incentives_ Incentives pool (receives fees, is notified of contributions).
     * @param stakes_ Stake registry (slashed on violations).
     * @param admin Account that receives `DEFAULT_ADMIN_ROLE`.
     * @param adminDelay Seconds a `DEFAULT_ADMIN_ROLE` hand-over waits between
     * `beginDefaultAdminTransfer` and `acceptDefaultAdminTransfer` (two steps).
     */
    constructor(
        IERC20 token_,
        IContributionIncentives incentives_,
        IStakeRegistry stakes_,
        address admin,
        uint48 adminDelay
    ) AccessControlDefaultAdminRules(adminDelay, admin) {
        if (
            address(token_) == address(0) || address(incentives_) == address(0)
                || address(stakes_) == address(0)
        ) revert ZeroAddress();
        token = token_;
        incentives = incentives_;
        stakes = stakes_;
    }

    // ----------------------------------------------------------------------------- escrow

    /**
     * @notice Deposit `amount` base units of the caller's credits into its internal balance.
     * @dev Needs a prior `approve` of this contract on the token.
     * @param amount Base units to deposit.
     */
    function deposit(uint256 amount) external whenNotPaused nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _credit(msg.sender, amount);
        totalBalances += amount;
        emit Deposited(msg.sender, msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Fund many internal balances at once from the caller's credits.
     * @dev Only `TREASURY_ROLE`; one token transfer for the whole batch.
     * @param accounts Accounts to credit (no zero address).
     * @param amounts Base units per account.
     */
    function depositFor(address[] calldata accounts, uint256[] calldata amounts)
        external
        onlyRole(TREASURY_ROLE)
        whenNotPaused
        nonReentrant
    {
        uint256 n = accounts.length;
        if (amounts.length != n) revert LengthMismatch(n, amounts.length);
        uint256 total = 0;
        for (uint256 i = 0; i < n; ++i) {
            address account = accounts[i];
            if (account == address(0)) revert ZeroAddress();
            uint256 amount = amounts[i];
            _credit(account, amount);
            total += amount;
            emit Deposited(account, msg.sender, amount);
        }
        if (total == 0) revert ZeroAmount();
        totalBalances += total;
        token.safeTransferFrom(msg.sender, address(this), total);
    }

    /**
     * @notice Withdraw `amount` base units from the caller's internal balance to its wallet.
     * @param amount Base units to withdraw.
     */
    function withdraw(uint256 amount) external whenNotPaused nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _debit(msg.sender, amount);
        unchecked {
            totalBalances -= amount;
        }
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------------- settlement

    /**
     * @notice Settle one market round: apply the netted balance changes, take the platform
     * fee to the incentives pool, attest contributions and SLA violations, and record the
     * clearing prices and the Merkle root of the round's trades.
     * @dev Only `OPERATOR_ROLE`. A round settles at most once. Reverts if the deltas plus the
     * fee do not sum to zero, if any balance would go negative, or if accounts are unsorted.
     * @param batch The round's batch (see {RoundBatch} and the packing in the contract docs).
     * @return key The round key, `keccak256(abi.encode(runId, round))`.
     */
    function settleRound(RoundBatch calldata batch)
        external
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
        nonReentrant
        returns (bytes32 key)
    {
        key = roundKey(batch.runId, batch.round);
        RoundRecord storage rec = _rounds[key];
        if (rec.settledBlock != 0) revert RoundAlreadySettled(batch.runId, batch.round);

        // Effects (checks interleaved; any failure reverts the whole batch).
        uint256 fee = batch.fee;
        int256 sum = _applyDeltas(batch.deltas);
        // |sum| <= n * 2**64, far below 2**255, so the casts below cannot wrap.
        if (fee > uint256(type(int256).max) || sum + int256(fee) != 0) revert UnbalancedBatch(sum, fee);
        _record(rec, batch);
        emit RoundSettled(
            key, batch.runId, batch.round, batch.tradesRoot, batch.tradeCount, fee, batch.prices, batch.deltas
        );
        uint256[] memory slashes = _compensate(key, batch.violations);
        uint256 compensation = 0;
        for (uint256 j = 0; j < slashes.length; ++j) {
            compensation += slashes[j];
        }
        totalBalances = totalBalances + compensation - fee;

        // Interactions, last, with the trusted immutable modules (and nonReentrant anyway).
        if (fee != 0) token.safeTransfer(address(incentives), fee);
        // Every round is notified, even one with neither fee nor contributions: the pool's
        // per-round reward emission is counted in rounds, and a skipped round would emit less.
        incentives.notifyRound(key, fee, batch.contributions);
        for (uint256 j = 0; j < slashes.length; ++j) {
            // Nothing is slashed from a participant without stake (a broker, a node that never
            // registered or already left): calling the registry would revert `NotRegistered`
            // and block the whole round over a compensation of zero.
            if (slashes[j] == 0) continue;
            // slither-disable-next-line calls-loop
            stakes.slash(batch.violations[j].node, slashes[j], address(this));
        }
    }

    /// @dev Apply packed deltas to the lanes; return their sum. Consecutive indices that share
    /// a storage word are read and written once.
    function _applyDeltas(uint256[] calldata deltas) private returns (int256 sum) {
        uint256 n = deltas.length;
        uint256 count = accountCount;
        uint256 prev = 0;
        uint256 wordIndex = type(uint256).max;
        uint256 word = 0;
        for (uint256 i = 0; i < n;) {
            uint256 entry = deltas[i];
            uint256 index = entry >> 72;
            if (index <= prev) {
                if (index == 0) revert UnknownAccount(0);
                revert UnsortedAccounts(i);
            }
            if (index > count) revert UnknownAccount(index);
            if (entry & RESERVED_BITS != 0) revert MalformedEntry(i);
            prev = index;
            uint256 w = index >> 2;
            if (w != wordIndex) {
                if (wordIndex != type(uint256).max) _lanes[wordIndex] = word;
                wordIndex = w;
                word = _lanes[w];
            }
            uint256 shift = (index & 3) << 6;
            uint256 balance = (word >> shift) & LANE_MASK;
            uint256 amount = entry & LANE_MASK;
            if (entry & NEGATIVE != 0) {
                if (balance < amount) revert InsufficientBalance(_accountAt[index], balance, amount);
                unchecked {
                    balance -= amount;
                    sum -= int256(amount);
                }
            } else {
                unchecked {
                    balance += amount; // < 2**65: no wrap in 256 bits
                    sum += int256(amount);
                }
                if (balance > LANE_MASK) revert BalanceOverflow(_accountAt[index]);
            }
            word = (word & ~(LANE_MASK << shift)) | (balance << shift);
            unchecked {
                ++i;
            }
        }
        if (wordIndex != type(uint256).max) _lanes[wordIndex] = word;
    }

    /// @dev Add `amount` to `account`'s lane, opening the account on its first credit.
    function _credit(address account, uint256 amount) private {
        uint256 index = _indexOf[account];
        if (index == 0) {
            index = ++accountCount;
            _indexOf[account] = index;
            _accountAt[index] = account;
            emit AccountOpened(account, index);
        }
        uint256 w = index >> 2;
        uint256 shift = (index & 3) << 6;
        uint256 word = _lanes[w];
        uint256 balance = ((word >> shift) & LANE_MASK) + amount;
        if (balance > LANE_MASK) revert BalanceOverflow(account);
        _lanes[w] = (word & ~(LANE_MASK << shift)) | (balance << shift);
    }

    /// @dev Subtract `amount` from `account`'s lane; reverts on overdraft.
    function _debit(address account, uint256 amount) private {
        uint256 index = _indexOf[account];
        uint256 w = index >> 2;
        uint256 shift = (index & 3) << 6;
        uint256 word = index == 0 ? 0 : _lanes[w];
        uint256 balance = (word >> shift) & LANE_MASK;
        if (balance < amount) revert InsufficientBalance(account, balance, amount);
        _lanes[w] = (word & ~(LANE_MASK << shift)) | ((balance - amount) << shift);
    }

    function _balanceOf(address account) private view returns (uint256) {
        uint256 index = _indexOf[account];
        if (index == 0) return 0;
        return (_lanes[index >> 2] >> ((index & 3) << 6)) & LANE_MASK;
    }

    /// @dev Store the round's record (root, prices, block, counts, fee).
    function _record(RoundRecord storage rec, RoundBatch calldata batch) private {
        rec.tradesRoot = batch.tradesRoot;
        rec.prices = batch.prices;
        rec.settledBlock = uint64(block.number);
        rec.tradeCount = batch.tradeCount;
        rec.accounts = uint32(batch.deltas.length);
        rec.fee = uint128(batch.fee); // fee == -sum(uint64 magnitudes) < 2**128
    }

    /**
     * @dev Effects of the attested violations: credit each harmed buyer with up to `amount` of
     * the node's stake (what earlier violations of this batch left of it). A violation is
     * compensated from what exists: zero when the node has no stake, never a revert; the
     * uncovered part is recorded by `CompensationShortfall`. Only view calls here; the slashes
     * themselves are made by {settleRound} after every effect.
     * @return slashes Base units to slash per violation.
     */
    function _compensate(bytes32 key, Violation[] calldata violations) private returns (uint256[] memory slashes) {
        slashes = new uint256[](violations.length);
        for (uint256 j = 0; j < violations.length; ++j) {
            Violation calldata v = violations[j];
            if (v.node == address(0) || v.buyer == address(0)) revert ZeroAddress();
            // slither-disable-next-line calls-loop
            uint256 available = stakes.stakeOf(v.node);
            for (uint256 k = 0; k < j; ++k) {
                if (violations[k].node == v.node) available -= slashes[k];
            }
            uint256 amount = v.amount < available ? v.amount : available;
            slashes[j] = amount;
            _credit(v.buyer, amount);
            emit Compensated(key, v.node, v.buyer, amount);
            if (amount < v.amount) emit CompensationShortfall(key, v.node, v.buyer, v.amount, amount);
        }
    }

    // ---------------------------------------------------------------------------- views

    /**
     * @notice The key under which a round is stored.
     * @param runId Simulation run id.
     * @param round Round number within the run.
     * @return `keccak256(abi.encode(runId, round))`.
     */
    function roundKey(uint64 runId, uint64 round) public pure returns (bytes32) {
        return keccak256(abi.encode(runId, round));
    }

    /**
     * @notice Internal balance of `account` in base units.
     * @param account Participant address.
     * @return Balance in base units.
     */
    function balanceOf(address account) external view returns (uint256) {
        return _balanceOf(account);
    }

    /**
     * @notice Internal balances of many accounts (base units), in the order given.
     * @param accounts Participant addresses.
     * @return out Balances in base units.
     */
    function balancesOf(address[] calldata accounts) external view returns (uint256[] memory out) {
        out = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            out[i] = _balanceOf(accounts[i]);
        }
    }

    /**
     * @notice Escrow account indices of many addresses (0 where no account is open).
     * @param accounts Participant addresses.
     * @return out Indices, in the order given.
     */
    function indicesOf(address[] calldata accounts) external view returns (uint256[] memory out) {
        out = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            out[i] = _indexOf[accounts[i]];
        }
    }

    /**
     * @notice The address of escrow account `index` (zero if not opened).
     * @param index Account index (1-based).
     * @return The account's address.
     */
    function accountAt(uint256 index) external view returns (address) {
        return _accountAt[index];
    }

    /**
     * @notice Whether round `round` of run `runId` has been settled.
     * @param runId Simulation run id.
     * @param round Round number.
     * @return True once settled.
     */
    function isSettled(uint64 runId, uint64 round) external view returns (bool) {
        return _rounds[roundKey(runId, round)].settledBlock != 0;
    }

    /**
     * @notice The stored record of a settled round.
     * @dev Reverts with `RoundNotSettled` for an unknown round.
     * @param runId Simulation run id.
     * @param round Round number.
     * @return The round record (root, prices, block, trade count, accounts, fee).
     */
    function getRound(uint64 runId, uint64 round) external view returns (RoundRecord memory) {
        RoundRecord memory rec = _rounds[roundKey(runId, round)];
        if (rec.settledBlock == 0) revert RoundNotSettled(runId, round);
        return rec;
    }

    /**
     * @notice The Merkle leaf of a trade (OpenZeppelin StandardMerkleTree convention).
     * @param buyer Buyer address.
     * @param seller Seller address.
     * @param resource Resource index 0..3.
     * @param quantity Quantity in 1e-6 resource units.
     * @param price Price in base units per resource unit.
     * @return The double-hashed leaf.
     */
    function tradeLeaf(address buyer, address seller, uint8 resource, uint256 quantity, uint256 price)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(buyer, seller, resource, quantity, price))));
    }

    /**
     * @notice Check that a trade belongs to a settled round, given its Merkle proof.
     * @dev Reverts with `RoundNotSettled` for an unknown round.
     * @param runId Simulation run id.
     * @param round Round number.
     * @param buyer Buyer address.
     * @param seller Seller address.
     * @param resource Resource index 0..3.
     * @param quantity Quantity in 1e-6 resource units.
     * @param price Price in base units per resource unit.
     * @param proof Sibling hashes from the leaf to the root.
     * @return True when the proof is valid for the round's root.
     */
    function verifyTrade(
        uint64 runId,
        uint64 round,
        address buyer,
        address seller,
        uint8 resource,
        uint256 quantity,
        uint256 price,
        bytes32[] calldata proof
    ) external view returns (bool) {
        RoundRecord storage rec = _rounds[roundKey(runId, round)];
        if (rec.settledBlock == 0) revert RoundNotSettled(runId, round);
        return MerkleProof.verifyCalldata(proof, rec.tradesRoot, tradeLeaf(buyer, seller, resource, quantity, price));
    }

    // ---------------------------------------------------------------------------- admin

    /**
     * @notice Pause deposits, withdrawals and settlement.
     * @dev Only `PAUSER_ROLE`.
     */
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /**
     * @notice Resume deposits, withdrawals and settlement.
     * @dev Only `PAUSER_ROLE`.
     */
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }
}
