"""complearn: the command line that ties tracer, predictor and sim together."""

__version__ = "0.1.0"
