"""Traffic models for what-if runs: scenarios, arrivals, the simulated day, Erlang C.

scenario, _ = load_scenario("scenarios/hotline-morning.yaml")   # ConfigErrors with positions
``callcenter simulate`` (`callcenter.simulate`) plays one through the routing core.
"""

from callcenter.traffic.scenario import Scenario, check_against, config_path, load_scenario

__all__ = ["Scenario", "check_against", "config_path", "load_scenario"]
