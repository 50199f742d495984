"""What a run folder shows, rebuilt from disk: HTML report, plots, timeline, CI files, ``serve``."""
