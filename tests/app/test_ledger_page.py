"""Ledger page: settlements (tx hash, block, gas, netted volume), escrow balances from the
payloads, incentives and slashes, reconciliation and trade inclusion; runs without a chain."""

from __future__ import annotations

from app_driver import chart, metrics, no_exception, texts


def test_settlements_balances_incentives(app_at, app_db):
    at = app_at(app_db.url, "ledger", app_db.synthetic)
    no_exception(at)
    m = metrics(at)
    assert m["Settled rounds"] == "11" and m["Pending"] == "1"
    assert int(m["Gas used"].replace(",", "")) > 0
    assert float(m["Slashed (credits)"]) == 2.0       # 4 violations x 0.5 credits
    assert float(m["Work units attested"].replace(",", "")) > 0
    assert float(m["Incentives pool funded (credits)"]) > 0
    table = at.dataframe[0].value
    assert {"tx_hash", "block", "gas_used", "netted_credits"} <= set(table.columns) and len(table) == 12
    chart(at, "Settlement gas and netted volume")
    chart(at, "Net flows per agent")
    balances = at.dataframe[1].value
    assert {"address", "initial_credits", "net_credits", "balance_credits"} <= set(balances.columns)


def test_reconcile_and_verify_say_when_the_chain_is_missing(app_at, app_db):
    """The synthetic run recorded no deployment: both checks explain, nothing raises."""
    at = app_at(app_db.url, "ledger", app_db.synthetic)
    at.button(key="reconcile").click().run()
    no_exception(at)
    assert "not available" in texts(at, "info") and "deployment" in texts(at, "info")
    at.number_input(key="proof_idx").set_value(3)
    at.button(key="verify").click().run()
    no_exception(at)
    assert "Trade 3 of round 10" in texts(at, "markdown")
    assert "inclusion check is not available" in texts(at, "info")


def test_a_run_without_chain_shows_trade_flows(app_at, app_db):
    at = app_at(app_db.url, "ledger", app_db.uniform)
    no_exception(at)
    assert "edgemarket run --chain anvil" in texts(at, "info")
    assert "trade flows" in texts(at, "caption")
    chart(at, "Net flows per agent")
