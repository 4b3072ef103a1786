"""The workload protocol: the only place where the planner meets a unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pandas as pd

from infraplan.perf.efficiency import Efficiency
from infraplan.scenario import Economics, Scenario

CAPACITY_COLUMNS = [
    "workload",
    "accelerator",
    "feasible",
    "reason",
    "requests_per_s_per_server",
    "power_w_per_server",
    "idle_power_w_per_server",
    "servers_per_instance",
    "config",
]
"""Columns every workload's ``capacity`` returns (it may add its own, e.g. tokens/s)."""


class Workload(Protocol):
    """What the planner needs from a kind of work (see ``infraplan.workloads``)."""

    @property
    def kind(self) -> str:
        """Workload type id (``llm``)."""
        ...

    @property
    def work_unit(self) -> str:
        """Unit of the work in a request, plural (``tokens``)."""
        ...

    def service_rows(self, scn: Scenario) -> pd.DataFrame:
        """Services of this type as a table indexed by service id, with ``kind`` (interactive
        or batch), ``data_class``, ``network_budget_ms`` and the workload's own fields."""
        ...

    def merge_keys(self, mode: str) -> list[str]:
        """Service columns whose equality lets services share one workload (``mode``: exact or
        model-slo)."""
        ...

    def workload_table(self, services: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
        """One row per workload (index ``workload``) with the fields capacity needs, and
        ``work_per_request`` and ``output_per_request`` (in ``work_unit``)."""
        ...

    def capacity(
        self, workloads: pd.DataFrame, accelerators: Sequence[str], efficiency: Efficiency
    ) -> pd.DataFrame:
        """Per-server capacity of each workload on each accelerator (``CAPACITY_COLUMNS``)."""
        ...

    def lost_value_usd_per_request(self, workloads: pd.DataFrame, econ: Economics) -> pd.Series:
        """Value of one request left unserved, USD (the objective's penalty)."""
        ...

    def lost_value_text(self, econ: Economics) -> str:
        """The value of lost service in the workload's unit, for explanations."""
        ...

    def demand_work(self, demand: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
        """Add the workload's work rates (e.g. ``input_tokens_per_s``) to a demand table."""
        ...
