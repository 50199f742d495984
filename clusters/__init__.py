"""Where database nodes live (local processes, network namespaces, Docker, SSH) and the database adapters."""
