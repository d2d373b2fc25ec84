"""Learning page: training curves per policy and the evaluation of learned pricing against
rule-based strategies and the equilibrium."""

from __future__ import annotations

from app_driver import chart, metrics, no_exception, trace_names


def test_training_curves_and_evaluation(app_at, app_db):
    at = app_at(app_db.url, "learning")
    no_exception(at)
    m = metrics(at)
    assert m["Policies"] == "2" and m["Iterations"] == "9"
    curves = chart(at, "Training curves per policy")
    assert set(trace_names(curves)) == {"node_pricer", "device_bidder"}
    assert "reward" in curves["layout"]["yaxis"]["title"]["text"]
    at.radio(key="train_x").set_value("env_steps").run()
    assert chart(at, "Training curves")["layout"]["xaxis"]["title"]["text"] == "environment steps"
    bars = chart(at, "Learned pricing vs rule-based strategies vs the equilibrium")
    assert list(bars["data"][0]["x"]) == ["equilibrium", "learned", "tatonnement", "cost_plus"]
    summary = at.dataframe[0].value
    assert list(summary["pricing"]) == ["equilibrium", "learned", "tatonnement", "cost_plus"]
    assert (summary["seeds"] == 2).all()
