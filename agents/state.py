"""The model's numpy state table: one row per agent, columns per quantity.

Mesa agents (agents.device, agents.edge_node, agents.cloud) hold only their row index and
read/write these arrays; the round's maths reads whole columns, so nothing is rebuilt from
agents each step. Units are in the column names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass
class NodeTable:
    """Edge nodes (m rows). Per-resource columns are (m, 4) in market.resources order."""

    uid: IntArray
    xy_m: FloatArray
    capacity: FloatArray  # units per round
    cost: FloatArray  # credits/unit: marginal cost + energy
    se_ref: FloatArray  # bit/s/Hz: nominal Mbps per MHz of the node's spectrum
    security_level: FloatArray
    autonomy_level: FloatArray
    ask: FloatArray = field(init=False)  # credits/unit posted this round
    sold: FloatArray = field(init=False)  # units sold this round
    demand: FloatArray = field(init=False)  # units wanted from it this round (pro rata)
    market_price: FloatArray = field(init=False)  # clearing price in its market (nan: none)
    expected_price: FloatArray = field(init=False)  # smoothed market price devices plan with
    revenue_credits: FloatArray = field(init=False)  # this round
    profit_credits: FloatArray = field(init=False)  # this round: revenue - cost of units sold
    energy_j: FloatArray = field(init=False)  # cumulative
    attached_devices: IntArray = field(init=False)  # this round
    sla_rate: FloatArray = field(init=False)  # this round: share of its served requests meeting every SLA

    def __post_init__(self) -> None:
        m = self.uid.size
        self.sla_rate = np.ones(m)
        self.ask = self.cost.copy()
        self.sold = np.zeros((m, 4))
        self.demand = np.zeros((m, 4))
        self.market_price = np.full((m, 4), np.nan)
        self.expected_price = np.full((m, 4), np.nan)
        self.revenue_credits = np.zeros(m)
        self.profit_credits = np.zeros(m)
        self.energy_j = np.zeros(m)
        self.attached_devices = np.zeros(m, dtype=np.int64)


@dataclass
class DeviceTable:
    """Mobile devices (n rows). ``xy_m`` is the mobility model's own position array."""

    uid: IntArray
    cls: IntArray  # service class index
    xy_m: FloatArray
    capacity: FloatArray  # (n, 4) idle resources a broker may sell per round
    cost: FloatArray  # (n, 4) credits/unit for a broker
    is_broker: BoolArray
    battery_j: FloatArray
    battery_capacity_j: FloatArray
    budget_credits: FloatArray
    attached: IntArray = field(init=False)  # node index, -1 if none
    handovers: IntArray = field(init=False)  # cumulative
    sold: FloatArray = field(init=False)  # (n, 4) units sold as a broker this round
    broker_income_credits: FloatArray = field(init=False)  # earned as a broker this round
    spent_credits: FloatArray = field(init=False)  # this round

    def __post_init__(self) -> None:
        n = self.uid.size
        self.attached = np.full(n, -1, dtype=np.int64)
        self.handovers = np.zeros(n, dtype=np.int64)
        self.sold = np.zeros((n, 4))
        self.broker_income_credits = np.zeros(n)
        self.spent_credits = np.zeros(n)
