"""Run page: the form runs a scenario through app.runner (progress bar, new run selected),
invalid parameters show their validation message, stored runs can be picked."""

from __future__ import annotations

from app_driver import chart_titles, metrics, no_exception, texts

from app.ui.store import PICKER_KEY, RUN_KEY
from ledger.store import RunStore


def fill_form(at, *, devices=20, nodes=2, rounds=3, advanced="snapshot_every = 0"):
    at.number_input[0].set_value(devices)
    at.number_input[1].set_value(nodes)
    at.number_input[2].set_value(rounds)
    at.text_area(key="form_advanced").set_value(advanced)
    return at


def test_form_shows_the_scenario_defaults(app_at, empty_db):
    at = app_at(empty_db)
    no_exception(at)
    assert "smart_city" in at.selectbox(key="form_scenario").options
    values = {n.label: n.value for n in at.number_input}
    assert values["Devices"] == 400 and values["Edge nodes"] == 25 and values["Rounds"] == 100
    assert at.selectbox[1].value == "uniform"       # mechanism from the file
    assert "mcafee" in at.selectbox[1].options


def test_running_a_scenario_from_the_form(app_at, tmp_path):
    url = f"sqlite:///{tmp_path / 'run.db'}"
    at = fill_form(app_at(url))
    at.selectbox[1].set_value("mcafee")
    at.button[0].click().run()
    no_exception(at)
    assert not at.error, texts(at, "error")
    runs = RunStore(url).list_runs()
    assert len(runs) == 1 and runs[0].mechanism == "mcafee" and runs[0].rounds_done == 3
    assert runs[0].scenario_json["devices"]["count"] == 20
    assert at.session_state[RUN_KEY] == runs[0].id     # the new run is selected
    m = metrics(at)
    assert m["Rounds"] == "3" and m["Efficiency"].endswith("%")
    assert "Clearing price per resource" in chart_titles(at)
    assert "finished" in texts(at, "success")


def test_invalid_parameter_shows_the_field_not_a_traceback(app_at, tmp_path):
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    at = fill_form(app_at(url), advanced="devices.count = -5")
    at.button[0].click().run()
    no_exception(at)
    err = texts(at, "error")
    assert "devices.count" in err
    assert RunStore(url).list_runs() == []             # nothing half-applied


def test_unknown_mechanism_override_is_rejected(app_at, tmp_path):
    at = fill_form(app_at(f"sqlite:///{tmp_path / 'bad2.db'}"), advanced="market.mechanism = nope")
    at.button[0].click().run()
    no_exception(at)
    assert "nope" in texts(at, "error")


def test_unreadable_override_line_names_the_line(app_at, tmp_path):
    at = fill_form(app_at(f"sqlite:///{tmp_path / 'bad3.db'}"), advanced="devices.count 5")
    at.button[0].click().run()
    no_exception(at)
    assert "line 1" in texts(at, "error")


def test_picking_a_stored_run_in_the_sidebar(app_at, app_db):
    at = app_at(app_db.url)
    picker = at.sidebar.selectbox(key=PICKER_KEY)
    assert picker.value == app_db.uniform               # newest first
    picker.set_value(app_db.mcafee).run()
    no_exception(at)
    assert f"Run #{app_db.mcafee}" in [s.value for s in at.subheader]
    at.switch_page("views/market.py").run()             # the choice follows to other pages
    assert "mechanism `mcafee`" in texts(at, "caption")
