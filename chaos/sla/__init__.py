"""SLA claims: promises judged certified, violated or inconclusive on a run's evidence."""
