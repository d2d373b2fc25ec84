"""The learning resource inside the model: learning-class requests get a really trained
model, what they buy sets epochs, participants and round time, runs are reproducible, and
no QoAIS indicator is constant over a default-scenario run (issue 13, items 1 and 4)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.fl.config import FLConfig
from agents.fl.table import fl_table, level_configs, level_of, outcome
from agents.model import EdgeMarketModel
from agents.qoais import INDICATOR_NAMES, INDICATORS, NOT_MEASURED
from agents.scenario import load_scenario, small

#: A small default scenario (smart_city shrunk) that still has learning requests each round.
SMALL = {"devices.count": 60, "nodes.count": 4, "snapshot_every": 0, "curves_every": 0}
ROUNDS = 8


def _run(seed: int, **extra):
    sc = load_scenario("smart_city", {**SMALL, **extra})
    model = EdgeMarketModel(sc, seed=seed)
    rows, cls = [], []
    for _ in range(ROUNDS):
        rr = model.step()
        rows.append(model.last_indicators)
        cls.append(rr)
    return model, np.vstack(rows), cls


@pytest.fixture(scope="module")
def run():
    return _run(3)


def test_levels_map_learning_units_to_epochs_and_participants():
    cfg = FLConfig(max_epochs=4, participants=6, levels=3)
    e, p = level_configs(cfg)
    assert e.tolist() == [2, 3, 4] and p.tolist() == [2, 4, 6]
    assert level_of(np.array([0.0, 0.2, 1 / 3, 0.34, 0.99, 1.0, 2.0]), 3).tolist() == [0, 0, 0, 1, 2, 2, 2]


def test_round_time_is_the_slowest_participant():
    """Each participant k needs comp_s x E n_k / (mean n speed_k max_epochs) + tx_s / link_k; the round
    waits for the slowest one. Recomputed here from the federation's raw attributes."""
    cfg = FLConfig()
    t = fl_table(cfg, 0)
    fed, tr = t.fed, t.traj
    e, _ = level_configs(cfg)
    rho, r = np.array([1.0, 0.3]), np.array([4, 11])
    comp, tx = np.array([0.2, 0.05]), np.array([0.01, 0.3])
    got = outcome(t, rho, r, comp, tx)
    for i in range(2):
        f = level_of(rho[i:i + 1], cfg.levels)[0]
        sel = tr.selected[f, r[i]]
        need = comp[i] * e[f] * fed.n / (fed.n.mean() * fed.speed * cfg.max_epochs) + tx[i] / fed.link
        assert got["fl_train_ms"][i] == pytest.approx(1000 * need[sel].max())
    slower = outcome(t, rho, r, 2 * comp, tx)
    assert np.all(slower["fl_train_ms"] > got["fl_train_ms"])
    assert np.array_equal(slower["fl_accuracy"], got["fl_accuracy"])


def test_more_learning_units_train_a_better_model():
    """At the end of a job, the top level (most epochs and participants) beats the lowest."""
    t = fl_table(FLConfig(), 0)
    last = t.traj.rounds - 1
    assert t.traj.test_acc[-1, last] > t.traj.test_acc[0, last]
    assert t.traj.test_acc[-1, last] > 0.8  # softmax regression on digits, 20 FedAvg rounds


def test_learning_requests_carry_trained_accuracy(run):
    model, ind, results = run
    fl_classes = {"medicine", "robot"}
    assert any(q.n_served for rr in results for q in rr.qoais if q.service_class in fl_classes)
    t = fl_table(model.scenario.fl, 3)
    table_acc = set(np.round(t.traj.test_acc.ravel(), 12))
    col = INDICATOR_NAMES.index("training time")
    assert np.isfinite(ind[:, col]).any()  # learning requests were measured
    # per class accuracy of the learning classes is a mean of trained held-out accuracies
    for rr in results:
        for q in rr.qoais:
            if q.service_class in fl_classes and q.n_served:
                assert 0.0 < q.accuracy <= max(table_acc)


def test_runs_are_reproducible_by_seed(run):
    _, ind, _ = run
    _, again, _ = _run(3)
    assert np.array_equal(np.nan_to_num(ind, nan=-1), np.nan_to_num(again, nan=-1))


def test_no_measured_indicator_is_constant(run):
    """Over a few rounds of the default scenario every indicator but the N/A ones is measured
    for some request and takes more than one value across requests and rounds."""
    _, ind, _ = run
    assert ind.shape[1] == len(INDICATORS) == 29
    assert len(NOT_MEASURED) <= 4
    for j, name in enumerate(INDICATOR_NAMES):
        col = ind[:, j]
        if name in NOT_MEASURED:
            assert np.isnan(col).all()
            continue
        vals = col[~np.isnan(col)]
        assert vals.size > 0, f"{name} never measured"
        assert np.all((vals >= 0) & (vals <= 1)), name
        assert np.ptp(vals) > 1e-6, f"{name} is constant at {vals[0]:.4f}"


def test_fl_indicators_vary_within_the_learning_classes(run):
    """The FL-derived indicators vary among learning requests themselves (not only between
    learning and inference classes)."""
    _, ind, _ = run
    fl = ~np.isnan(ind[:, INDICATOR_NAMES.index("training time")])
    for name in ("accuracy bound", "training time", "generalization", "reusability", "robustness",
                 "loss/objective consistency", "fairness", "feature redundancy", "data accuracy",
                 "sample space balance", "sample distribution dynamics", "computing accuracy"):
        vals = ind[fl, INDICATOR_NAMES.index(name)]
        assert np.ptp(vals) > 1e-6, name


def test_seller_attributes_differ_across_scenarios():
    a = EdgeMarketModel(small("smart_city"), seed=0).seller_attrs
    sc = small("smart_city", seller_qoais={"nodes": {"traceability": 0.3}})
    b = EdgeMarketModel(sc, seed=0).seller_attrs
    nodes = EdgeMarketModel(sc, seed=0).nodes.uid
    assert b[nodes, 3].mean() < a[nodes, 3].mean() - 0.4
    assert np.ptp(a[nodes, 0]) > 0  # sellers of one kind differ


def test_bad_fl_settings_name_the_field():
    from agents.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="fl"):
        load_scenario("smart_city", {"fl.selection": "best"})
    with pytest.raises(ScenarioError, match="fl"):
        load_scenario("smart_city", {"fl.alpha": -1})


def test_docs_list_all_29_indicators_in_order():
    """docs/qoais.md has one numbered row per indicator, in INDICATORS order, at most 4 N/A."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "qoais.md").read_text()
    rows = [r.split("|") for r in text.splitlines() if r.startswith("| ") and r.split("|")[1].strip().isdigit()]
    assert [int(r[1]) for r in rows] == list(range(1, 30))
    assert [r[2].strip() for r in rows] == [i[0] for i in INDICATORS]
    na = [r[3].strip() for r in rows if "**N/A**" in r[4]]
    assert len(na) <= 4 and na == list(NOT_MEASURED)


@pytest.mark.parametrize("name", ["factory", "metro"])
def test_scenarios_set_their_own_fl_and_seller_blocks(name):
    sc = load_scenario(name)
    assert sc.fl.alpha != load_scenario("smart_city").fl.alpha
    assert sc.seller_qoais != load_scenario("smart_city").seller_qoais


def test_violations_name_every_kind_of_provider(run):
    """Every served SLA miss is attested, whoever provided it: a violation by the cloud or a
    broker (no stake) is compensated from nothing on chain instead of reverting the batch
    (tests/chain/test_unstaked_violations.py). Learning requests missing their accuracy at
    the cloud are such violations."""
    model, _, results = run
    viol = [v for rr in results for v in rr.violations]
    assert viol
    providers = np.array([p for p, _, _ in viol])
    assert ((providers >= 0) & (providers < model.sellers.kind.size)).all()
    assert all(c >= 0 for _, _, c in viol)


@pytest.mark.parametrize(("p", "n"), [(0.9, 360), (0.5, 10), (1.0, 30), (0.0, 5)])
def test_accuracy_bound_is_the_wilson_lower_root(p, n):
    """The Wilson bound is the smaller root q of (p - q)^2 = z^2 q (1 - q) / n (solved here
    with np.roots, independently of the closed form in agents.qoais)."""
    from agents.qoais import wilson_lower

    z2 = 1.96 ** 2
    roots = np.roots([1 + z2 / n, -(2 * p + z2 / n), p * p]).real
    assert wilson_lower(np.array([p]), np.array([float(n)]))[0] == pytest.approx(roots.min(), abs=1e-12)
