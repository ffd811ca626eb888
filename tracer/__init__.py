"""Recording and reading event traces: instrumentation backends, importers, trace files."""
