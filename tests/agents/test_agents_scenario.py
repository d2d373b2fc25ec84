"""Scenario loading: every shipped file validates; overrides; defaults; error messages."""

from __future__ import annotations

import pytest

from agents.scenario import (
    SMALL_OVERRIDES,
    Scenario,
    ScenarioError,
    apply_overrides,
    available_scenarios,
    load_scenario,
    scenario_from_dict,
    small,
)


def test_shipped_scenarios_load() -> None:
    names = available_scenarios()
    assert {"smart_city", "factory", "highway"} <= set(names)
    for name in names:
        sc = load_scenario(name)
        assert isinstance(sc, Scenario)
        assert sc.name == name
        assert abs(sum(sc.class_shares()) - 1) < 1e-12


def test_smart_city_is_the_rich_default() -> None:
    sc = load_scenario("smart_city")
    assert sc.devices.count >= 100 and sc.nodes.count >= 10
    assert set(sc.class_names) == {"xr", "robot", "driving", "medicine"}
    assert load_scenario().name == "smart_city"


def test_builtin_class_defaults_are_merged() -> None:
    sc = scenario_from_dict({"service_classes": {"xr": {"latency_budget_ms": 15}}})
    xr = sc.service_classes["xr"]
    assert xr.latency_budget_ms == 15
    assert xr.task_rate_hz == 30.0  # from the built-in xr defaults, not the generic ones


def test_overrides_dotted_keys() -> None:
    sc = load_scenario("smart_city", {"devices.count": 50, "market.mechanism": "mcafee"})
    assert sc.devices.count == 50
    assert sc.market.mechanism == "mcafee"
    assert sc.market.params == {}  # the uniform k does not carry over to mcafee
    out = apply_overrides({"a": {"b": 1}}, {"a.c.d": 2})
    assert out == {"a": {"b": 1, "c": {"d": 2}}}


def test_small_helper() -> None:
    sc = small("factory", devices__count=7)
    assert sc.devices.count == 7
    assert sc.nodes.count == SMALL_OVERRIDES["nodes.count"]


@pytest.mark.parametrize(("overrides", "path", "reason"), [
    ({"devices.count": -1}, "devices.count", "greater than or equal to 0"),
    ({"devices.cuont": 3}, "devices.cuont", "unknown key"),
    ({"devices.count": "many"}, "devices.count", "valid integer"),
    ({"nodes.capacity.caching_gb": -2}, "nodes.capacity.caching_gb", "greater than or equal to 0"),
    ({"market.mechanism": "vickrey"}, "market.mechanism", "unknown mechanism 'vickrey'"),
    ({"nodes.strategy.name": "oracle"}, "nodes.strategy.name", "unknown node strategy"),
    ({"devices.strategy.name": "zip"}, "devices.strategy.name", "unknown device strategy"),
    ({"nodes.strategy.params.markup": -1}, "nodes.strategy", "markup must be >= 0"),
    ({"devices.mix.gaming": 1.0}, "", "unknown service class 'gaming'"),
])
def test_bad_values_name_the_field(overrides: dict, path: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("smart_city", overrides)
    msg = str(info.value)
    assert msg.startswith("scenario smart_city.yaml: ")
    assert f": {path}:" in msg or not path
    assert reason in msg
    assert "\n" not in msg


def test_bad_yaml_and_missing_file(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices:\n  count: [1\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml: line 3: invalid YAML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="unknown scenario"):
        load_scenario("atlantis")
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="top level must be a mapping"):
        load_scenario(top)


def test_scenario_is_immutable_and_json_round_trips() -> None:
    sc = load_scenario("highway")
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type
        sc.devices.count = 3  # type: ignore[misc]
    again = scenario_from_dict(sc.to_json_dict())
    assert again == sc
