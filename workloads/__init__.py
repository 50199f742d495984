"""Clients and operation generators for the workloads (bank, register, list-append, set)."""
