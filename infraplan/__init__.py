"""infraplan: plan affordable, large-scale, ethical AI infrastructure for countries and partners.

Public entry points (stable):
    load_scenario(path)  -> Scenario         read and validate a scenario YAML
    plan(scenario)       -> Results          demand -> perf -> network -> optimise -> results
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
