""""Clone this run" on the Run page: the form takes the run's values, and submitting it
unchanged reproduces the run (same stored scenario, same seed, same welfare)."""

from __future__ import annotations

from app_driver import no_exception, texts

from app.runner import run_simulation
from app.ui.store import RUN_KEY
from ledger.store import RunStore


def test_clone_fills_the_form_and_reproduces_the_run(app_at, tmp_path):
    url = f"sqlite:///{tmp_path / 'clone.db'}"
    overrides = {"devices.count": 15, "nodes.count": 2, "snapshot_every": 0, "market.mechanism": "mcafee",
                 "devices.budget_credits": 77.0}
    first = run_simulation("factory", overrides=overrides, seed=3, rounds=2, db_url=url)
    at = app_at(url, run_id=first.run_id)
    no_exception(at)
    # the app's default seed is the CLI's
    assert {n.label: n.value for n in at.number_input}["Seed"] == 0
    at.button(key="clone_run").click().run()
    no_exception(at)
    assert at.selectbox(key="form_scenario").value == "factory"
    values = {n.label: n.value for n in at.number_input}
    assert (values["Devices"], values["Edge nodes"], values["Rounds"], values["Seed"]) == (15, 2, 2, 3)
    assert at.selectbox[1].value == "mcafee"
    advanced = at.text_area(key="form_advanced").value
    assert "devices.budget_credits = 77.0" in advanced
    assert values["Snapshot every (rounds)"] == 0
    assert f"run #{first.run_id}" in texts(at, "info")
    run_button = next(b for b in at.button if b.label == "Run")
    run_button.click().run()
    no_exception(at)
    assert not at.error, texts(at, "error")
    store = RunStore(url)
    a, b = store.get_run(first.run_id), store.get_run(at.session_state[RUN_KEY])
    assert b.id != a.id
    assert b.scenario_json == a.scenario_json and b.seed == a.seed == 3
    assert b.summary["welfare_total"] == a.summary["welfare_total"]
    assert b.summary["trades"] == a.summary["trades"]
