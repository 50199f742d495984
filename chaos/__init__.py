"""The control side of chaoscert: CLI, runner, nemeses, SLA claims, reports, results store."""
