"""The registry of workloads by name (``chaoscert run --workload``)."""

from __future__ import annotations

from workloads import bank, elle, register, sets
from workloads.workload import Workload

__all__ = ["WORKLOADS"]

WORKLOADS: dict[str, Workload] = {w.name: w for w in (bank.WORKLOAD, register.WORKLOAD, elle.LIST_APPEND,
                                                       elle.RW_REGISTER, sets.WORKLOAD)}
