"""Small real-shaped run data for the app tests, written through `RunStore`'s API.

`fake_round` builds an object with the fields of `agents.results.RoundResult` that the
store reads (clearing result with trades, QoAIS per class, snapshot), so the pages can be
tested against a filled store without the simulation layers.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ledger.store import RunStore

CLASSES = ("ar_navigation", "video_analytics", "federated_training")
BASE = 10**6


def fake_round(rnd: int, rng: np.random.Generator, *, n_devices: int, n_nodes: int, n_trades: int,
               snapshot: bool, uniform: bool = True) -> SimpleNamespace:
    """One round: `n_trades` trades between devices (buyers) and nodes (sellers)."""
    base_price = np.array([0.02, 0.5, 0.001, 2.0]) * (1 + 0.2 * np.sin(rnd / 5))
    resource = rng.integers(0, 4, n_trades).astype(np.int8)
    quantity = rng.uniform(0.5, 20, n_trades)
    price = base_price[resource] if uniform else base_price[resource] * rng.uniform(0.8, 1.2, n_trades)
    trades = SimpleNamespace(buyer=rng.integers(0, n_devices, n_trades), seller=n_devices + rng.integers(0, n_nodes, n_trades),
                             resource=resource, quantity=quantity, price=price, seller_price=0.98 * price,
                             bid_index=np.arange(n_trades))
    volume = np.bincount(resource, weights=quantity, minlength=4)
    pay = float((price * quantity).sum())
    welfare = pay * 1.6
    clearing = SimpleNamespace(prices=base_price, volume=volume, unmet_demand=volume * 0.1, welfare=welfare,
                               buyer_payments=pay, seller_revenue=pay * 0.98, platform_surplus=pay * 0.02,
                               trades=trades)
    qoais = []
    for i, cls in enumerate(CLASSES):
        n = int(rng.integers(20, 60))
        dims = np.clip(rng.normal(0.6 + 0.1 * i, 0.08, 7), 0, 1)
        qoais.append(SimpleNamespace(
            service_class=cls, n_requests=n, n_served=int(n * 0.9), sla_rate=float(np.clip(rng.normal(0.8, 0.05), 0, 1)),
            performance=dims[0], connection=dims[1], data=dims[2], computation=dims[3], security=dims[4],
            orchestration=dims[5], overall=dims[6], latency_ms_mean=float(rng.uniform(10, 40) * (i + 1)),
            latency_ms_p95=float(rng.uniform(50, 90) * (i + 1)), reliability=float(rng.uniform(0.9, 1)),
            accuracy=float(rng.uniform(0.7, 0.95))))
    snap = None
    if snapshot:
        ids = np.arange(n_devices + n_nodes)
        kind = np.array(["device"] * n_devices + ["edge_node"] * n_nodes)
        xy = rng.uniform(0, 1000, (len(ids), 2))
        attached = np.concatenate([n_devices + rng.integers(0, n_nodes, n_devices), np.full(n_nodes, -1)])
        snap = SimpleNamespace(agent_id=ids, kind=kind, x_m=xy[:, 0], y_m=xy[:, 1], attached=attached,
                               utilization=rng.uniform(0, 1, len(ids)))
    eff = float(rng.uniform(0.85, 0.99))
    return SimpleNamespace(round=rnd, clearing=clearing, optimal_welfare=welfare / eff, efficiency=eff, qoais=qoais,
                           snapshot=snap, handovers=int(rng.integers(0, 5)))


def fill_run(store: RunStore, *, mechanism: str = "uniform", seed: int = 1, rounds: int = 12, n_devices: int = 40,
             n_nodes: int = 4, n_trades: int = 30, snapshot_every: int = 4, settle: bool = True,
             eq_prices: bool = True) -> int:
    """A finished run with rounds, trades, QoAIS, snapshots and (optionally) settlements."""
    rng = np.random.default_rng(seed)
    run_id = store.create_run("smart_city", {"devices": {"count": n_devices}}, seed, mechanism=mechanism,
                              rounds_planned=rounds, chain="anvil" if settle else "none")
    history = []
    for r in range(rounds):
        rr = fake_round(r, rng, n_devices=n_devices, n_nodes=n_nodes, n_trades=n_trades,
                        snapshot=snapshot_every > 0 and r % snapshot_every == 0, uniform=mechanism == "uniform")
        eq = rr.clearing.prices * 1.05 if eq_prices else None
        store.record_round(run_id, rr, eq_prices=eq)
        history.append(rr)
    store.flush()
    if settle:
        settle_rounds(store, run_id, history, n_devices=n_devices, n_nodes=n_nodes)
    store.finish_run(run_id, status="done", summary={"rounds": rounds}, wall_s=1.5)
    return run_id


def round_payload(run_id: int, rr: SimpleNamespace, n_devices: int, n_nodes: int) -> dict:
    """A settlement payload with the fields the app reads, in the shape of
    `ledger.settle.batch_to_payload`: deltas_by_agent (base units, summing to -fee), fee,
    contributions (packed `address << 96 | 1e-6 work units`), violations (node, buyer, base)."""
    from ledger.chain.accounts import agent_address
    from ledger.chain.encoding import net_trades, pack_entry
    from ledger.units import balance_batch

    r = int(rr.round)
    net, fee_credits = net_trades(rr.clearing.trades)
    deltas, fee = balance_batch(net, fee_credits)
    contributions = sorted(pack_entry(agent_address(n_devices + k), int((1.5 + k) * 10**6)) for k in range(n_nodes))
    violations = [[agent_address(n_devices), agent_address(0), BASE // 2]] if r % 3 == 0 else []
    return {"run_id": run_id, "round": r, "trades_root": "ab" * 32, "trade_count": len(rr.clearing.trades.buyer),
            "fee": fee, "prices": [], "deltas": [], "contributions": contributions, "violations": violations,
            "deltas_by_agent": {str(k): v for k, v in deltas.items() if v}}


def settle_rounds(store: RunStore, run_id: int, history: list[SimpleNamespace], *, n_devices: int,
                  n_nodes: int) -> None:
    """Settlement outbox rows with real-shaped payloads, all confirmed but the last, and the
    accounts with their real addresses. Nothing is sent to a chain."""
    from ledger.chain.accounts import agent_address

    store.record_accounts(run_id, [(i, "device" if i < n_devices else "node", agent_address(i), 100 * BASE)
                                   for i in range(n_devices + n_nodes)])
    for rr in history:
        r = int(rr.round)
        payload = round_payload(run_id, rr, n_devices, n_nodes)
        store.add_pending_settlement(run_id, r, payload, n_trades=payload["trade_count"],
                                     netted_base=sum(v for v in payload["deltas_by_agent"].values() if v > 0))
        if r < len(history) - 1:   # the last one stays pending
            store.confirm_settlement(run_id, r, tx_hash="0x" + f"{r:064x}", block=10 + r, gas_used=90_000 + r)


def fill_learning(store: RunStore) -> None:
    """Two policies' training curves and an evaluation of four pricing strategies on 2 seeds."""
    store.record_training("ppo-demo", "smart_city",
                          [(i, pol, float(i * k), 1000 * (i + 1), 2.0 * i)
                           for pol, k in (("node_pricer", 1.0), ("device_bidder", 0.5)) for i in range(10)])
    rows = []
    for seed in (1, 2):
        for pricing, share in (("learned", 0.93), ("cost_plus", 0.81), ("tatonnement", 0.88), ("equilibrium", 1.0)):
            rows.append({"scenario": "smart_city", "seed": seed, "pricing": pricing, "welfare": 100 * share,
                         "welfare_share": share - 0.01 * seed, "provider_profit": 20 * share,
                         "mean_price": {"communication": 0.02, "computation": 0.001}, "qoais": 0.7 + 0.1 * share,
                         "sla_rate": 0.8})
    store.record_evaluation("eval-demo", rows)
