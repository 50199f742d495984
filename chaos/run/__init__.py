"""One test from spec to history: the runner's lifecycle, the interpreter, the recorder, suites, the results store."""
