"""Exceptions raised by the predictor package."""


class PredictorError(Exception):
    """Base class for errors in grammars, models, training and online evaluation."""


class GrammarError(PredictorError):
    """Sequitur or lowering got input it cannot process."""


class CheckpointError(PredictorError):
    """A model checkpoint is missing, corrupt or does not fit the data."""
