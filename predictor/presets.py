"""Named model and training settings (presets) for ``complearn fit``.

A preset fixes the GRU size and the training loop: embedding width ``n_embd``,
GRU state width ``n_hidden``, the training window ``input_length`` in tokens,
``batch_size`` windows per optimizer step, the Adam learning rate ``lr``, at most
``max_epochs`` epochs with early stopping after ``patience`` epochs without a lower
validation loss, and ``max_windows`` windows drawn per epoch (None: all of them).
"""
import dataclasses
from typing import Optional

from predictor.errors import PredictorError


@dataclasses.dataclass(frozen=True)
class Preset:
    """Model size and training settings; see the module docstring for the fields."""

    name: str
    n_embd: int
    n_hidden: int
    input_length: int  # tokens per training window
    batch_size: int  # windows per optimizer step
    lr: float  # Adam learning rate
    max_epochs: int
    patience: int  # epochs without a lower validation loss before stopping
    max_windows: Optional[int] = None  # windows drawn per epoch; None uses all
    grad_clip: Optional[float] = None  # maximum gradient norm; None disables clipping
    seed: int = 0

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Preset":
        fields = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in fields})


# The setting of Guan et al. (TKDD 2026, section 4.1): embedding 256, GRU 1,024,
# input length 100, Adam at 1e-3, at most 100 epochs, stop after 5 epochs without
# improvement, batch size 1, no regularization.
PAPER = Preset(name="paper", n_embd=256, n_hidden=1024, input_length=100, batch_size=1,
               lr=1e-3, max_epochs=100, patience=5)

# A batched preset for two CPU cores. A 250,000-event trace trains on its first
# 100,000 events; at most 1,024 windows of 64 tokens (65,536 tokens) per epoch
# keep an epoch short whatever the trace length. Measured on the 2-core x86-64
# sandbox (benchmarks/table4.py and a synthetic 100,000-token run, 2026-12-04):
# with a 50-token vocabulary one epoch of 80,000 tokens ran at 43,000 tokens/s
# (67,000 with a 256-wide GRU), about 2 s, so one model takes under a minute and a
# FREQ search of about five models a few minutes. A large vocabulary costs more in the output layer: libquantum's
# 2,063 blocks ran at 2,000 tokens/s (31 s per epoch) on one thread while other
# jobs kept the machine's load near 10, and the HDFS sessions took 418 s for the
# default fit and 731 s for the compressed search under that load.
DEFAULT = Preset(name="default", n_embd=64, n_hidden=128, input_length=64, batch_size=64,
                 lr=3e-3, max_epochs=15, patience=3, max_windows=1024, grad_clip=1.0)

# Small enough for tests: a few seconds per fit on short sequences.
TINY = Preset(name="tiny", n_embd=16, n_hidden=32, input_length=32, batch_size=16,
              lr=1e-2, max_epochs=3, patience=2, max_windows=256, grad_clip=1.0)

PRESETS = {preset.name: preset for preset in (PAPER, DEFAULT, TINY)}


def get_preset(name: str) -> Preset:
    """Return the preset called ``name``; raises PredictorError for an unknown name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise PredictorError(f"unknown preset {name!r}: choose one of "
                             f"{', '.join(sorted(PRESETS))}") from None
