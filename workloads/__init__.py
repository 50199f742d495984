"""Clients and operation generators for the workloads: ``bank``, ``register``, ``list-append``,
``rw-register``, ``set`` (``workloads.catalog.WORKLOADS``), each a bundle (``workloads.workload``)
whose clients speak MySQL (seekdb, MariaDB, Galera), PostgreSQL or etcd's JSON gateway."""
