"""The edgemarket simulation model (Mesa 3.3): devices, edge nodes and the cloud.

Public entry points::

    from agents.scenario import load_scenario, Scenario, ScenarioError
    from agents.model import EdgeMarketModel
    model = EdgeMarketModel(load_scenario("smart_city"), seed=7)
    rr = model.step()            # agents.results.RoundResult

Modules: scenario (YAML schema), service_classes (004 §5.1 defaults), mobility, channel,
workloads (requests), bundles (compute-communication co-design), strategies (registry),
marketplace (venues over market.mechanisms), execution (latency, accuracy), qoais
(004 §5.2 indicators), state (numpy tables), device/edge_node/cloud (Mesa agents),
results (RoundResult), model (EdgeMarketModel).
"""
