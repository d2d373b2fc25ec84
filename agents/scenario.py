"""Scenario files: YAML validated into typed, immutable pydantic v2 objects.

``load_scenario("smart_city")`` reads ``scenarios/smart_city.yaml`` (or any path), applies
dotted-key overrides (``{"devices.count": 50, "market.mechanism": "uniform"}``), fills the
built-in service-class defaults and validates everything. Every model forbids unknown keys,
every number has a default and a unit in its name or description, and mechanism and strategy
names are checked against their registries. Any problem raises :class:`ScenarioError`, one
line naming the file, the field path and the reason.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents.fl.config import FLConfig
from agents.learning.config import LearningConfig
from agents.market_dynamics import DynamicsConfig
from agents.qoais_inputs import SellerQoAISConfig
from agents.request_records import StoreConfig
from agents.service_classes import BUILTIN_SERVICE_CLASSES

#: Folder of the ready scenario files shipped with the repository.
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
DEFAULT_SCENARIO = "smart_city"

#: Overrides that shrink any scenario to a few seconds' worth of simulation (tests, demos).
SMALL_OVERRIDES: dict[str, Any] = {
    "devices.count": 40,
    "nodes.count": 4,
    "rounds": 5,
    "snapshot_every": 2,
    "snapshot_devices": 10,
}


class ScenarioError(ValueError):
    """A scenario that cannot be loaded: bad YAML, unknown keys, wrong types or values."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- building blocks -------------------------------------------------------------------


class Capacity(_Strict):
    """3C-L quantities a provider offers per round (each >= 0)."""

    communication_mbps: float = Field(0.0, ge=0, description="Mbps (nominal) per round")
    caching_gb: float = Field(0.0, ge=0, description="GB held per round")
    computation_gflop: float = Field(0.0, ge=0, description="GFLOP per round")
    learning_lu: float = Field(0.0, ge=0, description="learning units per round")

    def as_list(self) -> list[float]:
        """[communication, caching, computation, learning] in market.resources order."""
        return [self.communication_mbps, self.caching_gb, self.computation_gflop, self.learning_lu]


class UnitCosts(_Strict):
    """Marginal cost of each resource, credits per unit (each >= 0)."""

    communication_credits_per_mbps: float = Field(0.002, ge=0)
    caching_credits_per_gb: float = Field(0.01, ge=0)
    computation_credits_per_gflop: float = Field(0.0004, ge=0)
    learning_credits_per_lu: float = Field(0.1, ge=0)

    def as_list(self) -> list[float]:
        """Costs in market.resources order."""
        return [self.communication_credits_per_mbps, self.caching_credits_per_gb,
                self.computation_credits_per_gflop, self.learning_credits_per_lu]


class StrategySpec(_Strict):
    """A strategy from the registry (agents.strategies) by name, with its parameters."""

    #: Which registry the name is looked up in ("node" or "device").
    kind: ClassVar[str] = ""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    #: Whom a node strategy prices for, when not nodes (see NodeStrategy.for_role).
    role: ClassVar[str] = ""

    @field_validator("name")
    @classmethod
    def _known_name(cls, v: str) -> str:
        from agents.strategies import available_strategies

        names = available_strategies(cls.kind)
        if v not in names:
            raise ValueError(f"unknown {cls.kind} strategy {v!r} (available: {', '.join(names)})")
        return v

    @model_validator(mode="after")
    def _valid_params(self) -> StrategySpec:
        from agents.strategies import get_strategy

        try:
            strategy = get_strategy(self.name, kind=self.kind, **self.params)
            if self.role:
                strategy.for_role(self.role)  # type: ignore[attr-defined]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"params: {exc}") from None
        return self


class NodeStrategySpec(StrategySpec):
    """A node pricing strategy: fixed_markup, tatonnement, zip, or a registered one."""

    kind: ClassVar[str] = "node"


class DeviceStrategySpec(StrategySpec):
    """A device bidding strategy: truthful, shading, or a registered one."""

    kind: ClassVar[str] = "device"


class BrokerStrategySpec(NodeStrategySpec):
    """The brokers' pricing strategy: a node strategy told it prices for brokers."""

    role: ClassVar[str] = "broker"


class Area(_Strict):
    """The 2-D simulation area."""

    width_m: float = Field(2000.0, gt=0, description="m")
    height_m: float = Field(2000.0, gt=0, description="m")


class NodeEnergy(_Strict):
    """Energy model of an edge node; energy cost is added to the marginal cost of asks."""

    idle_w: float = Field(500.0, ge=0, description="W drawn whatever the load")
    j_per_gflop: float = Field(0.05, ge=0, description="J per GFLOP computed")
    j_per_mbit: float = Field(0.01, ge=0, description="J per Mbit carried")
    price_credits_per_kwh: float = Field(0.2, ge=0, description="credits per kWh")


# --- agents --------------------------------------------------------------------------------


class NodesConfig(_Strict):
    """Edge nodes: base stations with co-located MEC servers at fixed sites."""

    count: int = Field(25, ge=0)
    placement: Literal["grid", "random", "line"] = Field(
        "grid", description="grid over the area, uniform random, or a line along the x axis"
    )
    coverage_radius_m: float = Field(500.0, gt=0, description="m; beyond it a node serves no device")
    tx_power_dbm: float = Field(43.0, description="dBm")
    antenna_gain_db: float = Field(10.0, description="dB")
    bandwidth_mhz: float = Field(200.0, gt=0, description="MHz of radio spectrum")
    capacity: Capacity = Field(default_factory=lambda: Capacity(
        communication_mbps=1200.0, caching_gb=400.0, computation_gflop=20000.0, learning_lu=60.0))
    capacity_spread: float = Field(0.2, ge=0, lt=1, description="± fraction, uniform per node")
    marginal_cost: UnitCosts = Field(default_factory=UnitCosts)
    energy: NodeEnergy = Field(default_factory=NodeEnergy)
    security_level: int = Field(3, ge=0, le=3, description="highest privacy level it may serve")
    autonomy_level: int = Field(2, ge=0, le=2, description="highest orchestration autonomy offered")
    backhaul_ms: float = Field(2.0, ge=0, description="ms per hop between nodes")
    backhaul_ms_per_km: float = Field(0.05, ge=0, description="ms per km between nodes")
    strategy: NodeStrategySpec = Field(
        default_factory=lambda: NodeStrategySpec(name="fixed_markup", params={"markup": 0.3}))


class RelayConfig(_Strict):
    """D2D relaying by brokers (agents.relay_market): who counts as badly served, and the
    sidelink a broker relays over."""

    enabled: bool = Field(True, description="brokers sell D2D relay radio to devices in need")
    range_m: float = Field(100.0, gt=0, description="m; farthest broker a device pairs with "
                           "(NR sidelink, a few hundred m at most)")
    min_se: float = Field(0.6, ge=0, description="bit/s/Hz; below it a device's own link "
                          "counts as badly served (about CQI 4, QPSK at rate 0.3)")
    bandwidth_mhz: float = Field(20.0, gt=0, description="MHz of the D2D sidelink")


class DevicesConfig(_Strict):
    """Mobile devices: buyers of AI services and, some of them, brokers of idle resources."""

    count: int = Field(400, ge=0)
    mix: dict[str, float] = Field(
        default_factory=dict,
        description="service class -> share of devices (normalized); empty = equal shares",
    )
    capacity: Capacity = Field(default_factory=lambda: Capacity(
        communication_mbps=0.0, caching_gb=8.0, computation_gflop=1500.0, learning_lu=0.5))
    marginal_cost: UnitCosts = Field(default_factory=lambda: UnitCosts(
        communication_credits_per_mbps=0.004, caching_credits_per_gb=0.02,
        computation_credits_per_gflop=0.0008, learning_credits_per_lu=0.2))
    broker_fraction: float = Field(0.1, ge=0, le=1, description="share of devices that also sell")
    broker_min_battery_fraction: float = Field(0.3, ge=0, le=1,
                                               description="below it a broker stops selling")
    security_level: int = Field(1, ge=0, le=3, description="privacy level a broker may serve")
    d2d_ms: float = Field(2.0, ge=0, description="ms extra for work run on a broker device")
    battery_j: float = Field(40000.0, ge=0, description="J at start")
    tx_power_w: float = Field(0.2, ge=0, description="W while transmitting")
    j_per_gflop: float = Field(0.002, ge=0, description="J per GFLOP computed as a broker")
    budget_credits: float = Field(50.0, ge=0, description="credits at start")
    budget_refill_credits_per_round: float = Field(5.0, ge=0, description="credits per round")
    strategy: DeviceStrategySpec = Field(
        default_factory=lambda: DeviceStrategySpec(name="truthful"))
    broker_strategy: BrokerStrategySpec = Field(
        default_factory=lambda: BrokerStrategySpec(name="zip"),
        description="node pricing strategy the brokers price their idle resources with")
    relay: RelayConfig = Field(default_factory=RelayConfig)


class CloudConfig(_Strict):
    """The distant cloud: ample capacity, high latency; the reference alternative."""

    enabled: bool = True
    rtt_ms: float = Field(40.0, ge=0, description="ms round trip to the cloud data centre")
    access_rate_mbps: float = Field(200.0, gt=0,
                                    description="Mbps best-effort rate a device gets to the cloud")
    capacity: Capacity = Field(default_factory=lambda: Capacity(
        communication_mbps=0.0, caching_gb=1e6, computation_gflop=1e7, learning_lu=1e4))
    marginal_cost: UnitCosts = Field(default_factory=lambda: UnitCosts(
        communication_credits_per_mbps=0.0, caching_credits_per_gb=0.005,
        computation_credits_per_gflop=0.0002, learning_credits_per_lu=0.05))
    markup: float = Field(0.2, ge=0, description="fraction over marginal cost")
    security_level: int = Field(3, ge=0, le=3)
    autonomy_level: int = Field(2, ge=0, le=2)


class ChannelConfig(_Strict):
    """Radio channel: log-distance path loss with log-normal shadowing (Gudmundson-correlated)."""

    frequency_ghz: float = Field(3.5, gt=0, description="GHz carrier")
    path_loss_exponent: float = Field(3.2, gt=0)
    shadowing_sigma_db: float = Field(6.0, ge=0, description="dB")
    shadowing_decorrelation_m: float = Field(50.0, gt=0, description="m")
    noise_figure_db: float = Field(7.0, description="dB")
    snr_gap_db: float = Field(3.0, ge=0, description="legacy: dB gap to Shannon of the "
                              "per-agent benchmark baseline only (the model uses the CQI table)")
    max_spectral_efficiency_bps_hz: float = Field(10.0, gt=0, description="legacy: bit/s/Hz "
                                                  "cap of the benchmark baseline only")
    min_snr_db: float = Field(-5.0, description="dB; below it the link is out of service")
    fast_fading_sigma_db: float = Field(1.0, ge=0, description="dB, per-round residual fading "
                                        "of the SINR around the one the MCS was chosen for")
    target_ber: float = Field(1e-7, gt=0, lt=0.5, description="legacy: BER of the per-agent "
                              "benchmark baseline only (the model derives BER from the SINR)")
    packet_bits: int = Field(12000, gt=0, description="bits per packet")
    max_retransmissions: int = Field(4, ge=0, description="HARQ retransmissions")
    air_interface_ms: float = Field(0.5, ge=0, description="ms scheduling + TTI")
    harq_rtt_ms: float = Field(1.0, ge=0, description="ms per retransmission")
    base_jitter_ms: float = Field(0.1, ge=0, description="ms")
    handover_hysteresis_db: float = Field(3.0, ge=0, description="dB")
    candidates: int = Field(8, ge=1, description="nearest nodes examined per device")
    # Interference, uplink budget and link adaptation (agents.channel, agents.link_adaptation).
    interference: Literal["load", "none"] = Field(
        "load", description="co-channel interference from neighbour nodes weighted by their "
                            "load (share of bandwidth transmitting last round), or none")
    neighbour_load_floor: float = Field(
        0.1, ge=0, le=1, description="least activity of a neighbour node (reference and "
                                     "control signals); also its load before the first round")
    ue_tx_power_dbm: float = Field(23.0, description="dBm device transmit power (power class 3)")
    ue_antenna_gain_db: float = Field(0.0, description="dB device antenna gain")
    uplink_bandwidth_mhz: float = Field(
        10.0, gt=0, description="MHz a device transmits over (its uplink allocation)")
    node_noise_figure_db: float = Field(5.0, description="dB receiver noise figure of a node")
    handover_ttt_ms: float = Field(
        160.0, ge=0, description="ms time-to-trigger: a better node must stay better this long "
                                 "(counted in whole rounds, at least one) before a handover")
    handover_interruption_ms: float = Field(
        50.0, ge=0, description="ms without user-plane service at a handover (break-before-make; "
                                "0 models a DAPS/make-before-break handover)")
    handover_backhaul_gbps: float = Field(
        10.0, gt=0, description="Gbps of backhaul for migrating a session's cached state to "
                                "the new node (GB × 8 / rate); meanwhile tasks detour to the old node")
    ul_interferer_offset: float = Field(
        0.3, ge=0, lt=1, description="where an active uplink device of a neighbour cell sits "
                                     "on the line from its node to the victim node (share "
                                     "of the inter-site distance; 0.5 = cell edge)")


class MobilitySpec(_Strict):
    """How devices of a service class move."""

    model: Literal["static", "random_waypoint", "manhattan", "highway"] = "random_waypoint"
    speed_min_mps: float = Field(0.5, ge=0, description="m/s")
    speed_max_mps: float = Field(1.5, ge=0, description="m/s")
    pause_s: float = Field(0.0, ge=0, description="s paused at a waypoint (random_waypoint)")
    block_m: float = Field(200.0, gt=0, description="m between roads (manhattan)")
    turn_prob: float = Field(0.5, ge=0, le=1, description="turn at an intersection (manhattan)")
    lanes: int = Field(3, ge=1, description="lanes per direction (highway)")
    lane_width_m: float = Field(4.0, gt=0, description="m (highway)")

    @model_validator(mode="after")
    def _speeds(self) -> MobilitySpec:
        if self.speed_max_mps < self.speed_min_mps:
            raise ValueError("speed_max_mps must be >= speed_min_mps")
        return self


class QoAISWeights(_Strict):
    """Weights of the six QoAIS dimensions in the overall score (normalized to sum 1)."""

    performance: float = Field(1.0, ge=0)
    connection: float = Field(1.0, ge=0)
    data: float = Field(1.0, ge=0)
    computation: float = Field(1.0, ge=0)
    security: float = Field(1.0, ge=0)
    orchestration: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _positive(self) -> QoAISWeights:
        if sum(self.as_list()) <= 0:
            raise ValueError("at least one weight must be > 0")
        return self

    def as_list(self) -> list[float]:
        """Weights in agents.qoais.DIMENSIONS order."""
        return [self.performance, self.connection, self.data, self.computation,
                self.security, self.orchestration]


class ServiceClass(_Strict):
    """An AI service a device runs as a session for one round (units in field names)."""

    description: str = ""
    activity_prob: float = Field(0.5, ge=0, le=1, description="chance a device runs a session")
    task_rate_hz: float = Field(10.0, gt=0, description="tasks per second in the session")
    data_mbit: float = Field(1.0, ge=0, description="Mbit sent per task")
    work_gflop: float = Field(5.0, ge=0, description="GFLOP per task")
    size_spread: float = Field(0.2, ge=0, lt=1, description="± fraction on data and work")
    cache_gb: float = Field(1.0, ge=0, description="GB of model/content cached for the round")
    learning_lu: float = Field(1.0, ge=0, description="learning units for the round")
    value_credits: float = Field(3.0, ge=0, description="credits the session is worth")
    value_spread: float = Field(0.3, ge=0, lt=1, description="± fraction, uniform per request")
    latency_budget_ms: float = Field(50.0, gt=0, description="ms end-to-end per task")
    min_reliability: float = Field(0.999, ge=0, le=1, description="P(task within budget)")
    min_accuracy: float = Field(0.9, ge=0, le=1)
    privacy_level: int = Field(1, ge=0, le=3)
    autonomy_level: int = Field(2, ge=0, le=2)
    accuracy_max: float = Field(0.97, ge=0, le=1, description="accuracy with ample learning")
    learning_gain: float = Field(4.0, gt=0, description="accuracy = max·(1-exp(-gain·L/L_req))")
    cache_hit_ratio: float = Field(0.9, ge=0, le=1, description="hit ratio with full cache bought")
    cache_miss_penalty_ms: float = Field(5.0, ge=0, description="ms added by a cache miss")
    result_mbit: float = Field(0.1, ge=0, description="Mbit of results sent back per task "
                                                      "(downlink; data_mbit is the uplink)")
    target_bler: float = Field(0.1, gt=0, lt=1, description="block error rate link adaptation "
                                                             "aims at (0.1 broadband, 1e-5 URLLC)")
    weights: QoAISWeights = Field(default_factory=QoAISWeights)
    mobility: MobilitySpec = Field(default_factory=MobilitySpec)


class MarketConfig(_Strict):
    """How orders are formed and cleared each round."""

    mechanism: str = Field("uniform", description="market.mechanisms registry name")
    params: dict[str, Any] = Field(default_factory=dict, description="mechanism parameters")
    scope: Literal["cell", "zone", "pool"] = Field(
        "cell", description="one market per edge node's cell, per square zone of nodes, "
                            "or one virtual resource pool of all edge nodes")
    zone_size_m: float = Field(1000.0, gt=0, description="m, side of a zone (scope: zone)")
    bundling: Literal["joint", "comm_only"] = Field(
        "joint", description="3C-L bundle bids, or bandwidth-only bids with naive compute")
    cloud_fallback: bool = Field(True, description="requests unserved at the edge bid at the cloud")
    price_smoothing: float = Field(
        0.3, gt=0, le=1, description="weight of the last clearing price in the price a device "
                                     "expects (exponential smoothing; 1 = last price only)")
    optimum_every: int = Field(
        1, ge=0, description="rounds between solves of the welfare optimum (an LP); 0 = never")
    deadline_margin: float = Field(0.1, ge=0, lt=1,
                                   description="fraction of the latency budget held in reserve")
    work_unit: Capacity = Field(
        default_factory=lambda: Capacity(communication_mbps=100.0, caching_gb=10.0,
                                         computation_gflop=1000.0, learning_lu=1.0),
        description="quantity counted as one work unit in incentives (contributions)")

    @field_validator("mechanism")
    @classmethod
    def _known_mechanism(cls, v: str) -> str:
        from market.mechanisms import available_mechanisms

        names = sorted(available_mechanisms())
        if v not in names:
            raise ValueError(f"unknown mechanism {v!r} (available: {', '.join(names)})")
        return v

    @model_validator(mode="after")
    def _valid_params(self) -> MarketConfig:
        from market.mechanisms import get_mechanism

        try:
            get_mechanism(self.mechanism, **self.params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"params for mechanism {self.mechanism!r}: {exc}") from None
        if min(self.work_unit.as_list()) <= 0:
            raise ValueError("work_unit: quantities must all be > 0")
        return self


class SettlementConfig(_Strict):
    """How a run settles on chain (used with `edgemarket run --chain ...`)."""

    incentive_fee_rate: float = Field(
        0.02, ge=0, lt=1,
        description="share of each seller's net receipts paid into the contribution-incentive "
                    "pool, shared by providers in proportion to work units delivered")
    node_stake_credits: float = Field(1000.0, ge=0, description="credits each edge node stakes")
    claim_rewards: bool = Field(True, description="pay out accrued rewards at the end of a run")


class Scenario(_Strict):
    """A whole simulation setup. Load with :func:`load_scenario`."""

    name: str = "scenario"
    description: str = ""
    rounds: int = Field(100, ge=1, description="rounds run by default")
    round_duration_s: float = Field(1.0, gt=0, description="s of simulated time per round")
    area: Area = Field(default_factory=Area)
    nodes: NodesConfig = Field(default_factory=NodesConfig)
    devices: DevicesConfig = Field(default_factory=DevicesConfig)
    cloud: CloudConfig = Field(default_factory=CloudConfig)
    channel: ChannelConfig = Field(default_factory=ChannelConfig)
    service_classes: dict[str, ServiceClass] = Field(
        default_factory=lambda: {k: ServiceClass(**v) for k, v in BUILTIN_SERVICE_CLASSES.items()})
    market: MarketConfig = Field(default_factory=MarketConfig)
    settlement: SettlementConfig = Field(default_factory=SettlementConfig)
    learning: LearningConfig = Field(
        default_factory=LearningConfig,
        description="RL envs and training: who learns, action ranges, rewards (docs/learning.md)")
    fl: FLConfig = Field(
        default_factory=FLConfig,
        description="federated training of the learning classes (docs/qoais.md)")
    seller_qoais: SellerQoAISConfig = Field(
        default_factory=SellerQoAISConfig,
        description="per-seller security and automation attributes (docs/qoais.md)")
    dynamics: DynamicsConfig = Field(
        default_factory=DynamicsConfig,
        description="node cost spread, moving hotspots, buyers who leave (agents/market_dynamics.py)")
    snapshot_every: int = Field(10, ge=0, description="rounds between snapshots; 0 = never")
    snapshot_devices: int = Field(200, ge=0, description="devices sampled in a snapshot")
    curves_every: int = Field(
        1, ge=0, description="rounds between order-book curves (supply and demand per "
                             "resource, for the app); 0 = never")
    curve_steps: int = Field(100, ge=2, le=10_000, description="points per curve side at most")
    store: StoreConfig = Field(
        default_factory=StoreConfig,
        description="per-request records the run store keeps (docs/export.md)")

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.service_classes:
            raise ValueError("service_classes: at least one class is needed")
        unknown = sorted(set(self.devices.mix) - set(self.service_classes))
        if unknown:
            raise ValueError(
                f"devices.mix: unknown service class {unknown[0]!r} "
                f"(defined: {', '.join(self.service_classes)})")
        if any(v < 0 for v in self.devices.mix.values()):
            raise ValueError("devices.mix: shares must be >= 0")
        if self.devices.mix and sum(self.devices.mix.values()) <= 0:
            raise ValueError("devices.mix: at least one share must be > 0")
        return self

    # -- derived helpers --------------------------------------------------------------

    @property
    def class_names(self) -> list[str]:
        """Service class names, in a fixed order (their index in arrays)."""
        return list(self.service_classes)

    def class_shares(self) -> list[float]:
        """Share of devices in each class (class_names order), summing to 1."""
        names = self.class_names
        raw = [self.devices.mix.get(n, 0.0) for n in names] if self.devices.mix else [1.0] * len(names)
        total = sum(raw)
        return [r / total for r in raw]

    def to_json_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain JSON-able data."""
        return self.model_dump(mode="json")


# --- loading ------------------------------------------------------------------------------


def available_scenarios() -> list[str]:
    """Names of the scenario files in scenarios/."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def resolve_path(name_or_path: str | Path) -> Path:
    """The file for a scenario name (``smart_city``) or a path; ScenarioError if none."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.parent != Path("."):
        if p.is_file():
            return p
        raise ScenarioError(f"scenario {name_or_path}: no such file")
    candidate = SCENARIO_DIR / f"{p.name}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(available_scenarios())
    raise ScenarioError(f"scenario {name_or_path}: unknown scenario (available: {known})")


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """A deep copy of ``data`` with dotted keys set (``{"devices.count": 50}``).

    Setting ``...mechanism`` or ``...strategy.name`` without its ``params`` resets them.
    """
    out = copy.deepcopy(data)
    overrides_keys = {str(k) for k in (overrides or {})}
    # A mechanism/strategy name is applied before everything else, so that its `params.*`
    # keys (given in any order, e.g. --set before --mechanism) are set on the new one.
    ordered = sorted((overrides or {}).items(),
                     key=lambda kv: str(kv[0]).rsplit(".", 1)[-1] not in ("mechanism", "name"))
    for key, value in ordered:
        parts = str(key).split(".")
        if not all(parts):
            raise ScenarioError(f"override {key!r}: empty path component")
        node: Any = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part) if isinstance(node, dict) else None
            if nxt is None:
                nxt = {}
                node[part] = nxt
            elif not isinstance(nxt, dict):
                raise ScenarioError(f"override {key!r}: {'.'.join(parts[: i + 1])} is not a mapping")
            node = nxt
        # Parameters belong to the mechanism/strategy they were written for: changing the
        # name without giving new parameters starts from that one's defaults.
        if parts[-1] in ("mechanism", "name") and isinstance(node.get("params"), dict) \
                and ".".join([*parts[:-1], "params"]) not in overrides_keys:
            node["params"] = {}
        node[parts[-1]] = copy.deepcopy(value)
    return out


def _fill_service_class_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Built-in classes named in the file start from their defaults (deep-merged)."""
    classes = data.get("service_classes")
    if not isinstance(classes, dict):
        return data
    merged: dict[str, Any] = {}
    for name, fields in classes.items():
        base = copy.deepcopy(BUILTIN_SERVICE_CLASSES.get(str(name), {}))
        merged[name] = _deep_merge(base, fields) if isinstance(fields, dict) else (
            base if fields is None else fields)
    return {**data, "service_classes": merged}


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line: ``scenario SOURCE: field.path: reason`` (plus a count of further errors)."""
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    line = f"scenario {source}: {loc}: {msg}" if loc else f"scenario {source}: {msg}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return line


def scenario_from_dict(data: dict[str, Any], source: str = "<dict>",
                       overrides: dict[str, Any] | None = None) -> Scenario:
    """Validate a mapping (plus overrides) into a Scenario, or raise ScenarioError."""
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario {source}: top level must be a mapping, got {type(data).__name__}")
    resolved = _fill_service_class_defaults(apply_overrides(data, overrides))
    try:
        return Scenario.model_validate(resolved)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(source, exc)) from None


def load_scenario(name_or_path: str | Path = DEFAULT_SCENARIO,
                  overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, override and validate a scenario by name (scenarios/NAME.yaml) or path."""
    path = resolve_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"scenario {path.name}: {where}invalid YAML: {problem}") from None
    except OSError as exc:
        raise ScenarioError(f"scenario {path.name}: cannot read: {exc.strerror}") from None
    if data is None:
        data = {}
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    return scenario_from_dict(data, source=path.name, overrides=overrides)


def small(name_or_path: str | Path = DEFAULT_SCENARIO, **extra: Any) -> Scenario:
    """A scenario shrunk by SMALL_OVERRIDES (plus ``extra`` dotted keys with ``__`` for ``.``)."""
    overrides = dict(SMALL_OVERRIDES)
    overrides.update({k.replace("__", "."): v for k, v in extra.items()})
    return load_scenario(name_or_path, overrides)
