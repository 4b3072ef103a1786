"""Workloads: what a service asks of an accelerator, in the planner's neutral unit.

The planning model counts requests per second and servers; everything that depends on what a
request *is* (LLM tokens today, video clips later) lives in one workload module:

- which service fields make two services interchangeable (so they can share one workload),
- per-server capacity, power and instance size from the performance model,
- the work in a request (tokens) for metrics, and the value of a request left unserved.

``WORKLOADS`` maps a workload type to its module object; ``for_services`` picks the type of
each service (every service is an LLM service until another type is added).
"""

from __future__ import annotations

from infraplan.workloads.base import Workload
from infraplan.workloads.llm import LLM

WORKLOADS: dict[str, Workload] = {"llm": LLM}

__all__ = ["LLM", "WORKLOADS", "Workload"]
