"""Elle-compatible checking of transactional histories (list-append and rw-register).

Layers: ``txns`` (one preprocessing pass) and a workload module (``list_append``,
``rw_register``) give data edges and non-cycle anomalies; ``graph`` adds process/realtime edges
and finds SCCs; ``cycles`` searches each SCC with the anomaly catalogue; ``check`` explains the
cycles and derives Elle's result map from the lattice in ``models``.
"""

from checkers.elle.check import check, render_cycle, result_map
from checkers.elle.models import boundary, prohibited_anomaly_types

__all__ = ["boundary", "check", "prohibited_anomaly_types", "render_cycle", "result_map"]
