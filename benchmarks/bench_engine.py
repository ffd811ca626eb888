"""Measure the online engine's overhead per event with the model call taken out.

The vocabulary comes from Sequitur plus lowering of the first half of the
libquantum block trace; the second half is the test stream. The model is
replaced by steppers that cost almost nothing, so what remains is the engine:
tokenizer, prediction matching, rollbacks and the Python round trip per model
call. Two stand-in models bound the cost:

- oracle: predicts the longest token that matches the true future, like a
  perfect model, so the engine returns to Python only when a prediction is used
  up (the case compressed learning is built for);
- fixed: always predicts the same token, so almost every event is a miss and a
  model call (the worst case for the Python round trip).

The oracle also runs on the training half itself, where the vocabulary's long
tokens occur and predictions are long.

The plain-Python reference engine runs the oracle case on a prefix of the stream
for the ratio.

    .venv/bin/python benchmarks/bench_engine.py [--freq 10] [--reference-events 5000]
"""
import argparse
import gzip
import pathlib
import platform
import time

import numpy as np

from predictor.lowering import compress
from predictor.online import run_compressed
from predictor.reference_engine import run_reference

DATA = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dpc2" / \
    "dpc2_libquantum_blocks64.txt.gz"


class OracleStepper:
    """A free stand-in model that predicts the longest token matching the true future.

    It tracks the stream position from the lengths of the tokens it was fed (after
    rollbacks), and looks the answer up in a table computed beforehand.
    """

    def __init__(self, vocab, events, begin=0):
        self.lengths = [max(1, len(x)) for x in vocab.expansions]
        self.best = best_tokens(vocab, events)
        self.begin = begin
        self.fed = []
        self.position = begin

    def reserve(self, ring_size):
        pass

    def reset(self):
        self.fed = []
        self.position = self.begin

    def rollback(self, n):
        for _ in range(n):
            self.position -= self.lengths[self.fed.pop()]

    def feed(self, tokens):
        for token in tokens.tolist():
            self.fed.append(token)
            self.position += self.lengths[token]
        return self.best[self.position] if self.position < len(self.best) else 1


class FixedStepper:
    """A free stand-in model that always predicts ``token``."""

    def __init__(self, token):
        self.token = token

    def reserve(self, ring_size):
        pass

    def reset(self):
        pass

    def rollback(self, n):
        pass

    def feed(self, tokens):
        return self.token


def best_tokens(vocab, events):
    """Per stream position, the longest token whose expansion starts there (0 if none)."""
    by_first = {}
    for token, expansion in enumerate(vocab.expansions):
        if expansion:
            by_first.setdefault(expansion[0], []).append((len(expansion), token, expansion))
    for candidates in by_first.values():
        candidates.sort(reverse=True)

    values = events.tolist()
    best = np.zeros(len(values), dtype=np.int64)
    for position, event in enumerate(values):
        for length, token, expansion in by_first.get(event, ()):
            if tuple(values[position:position + length]) == expansion:
                best[position] = token
                break
    return best.tolist()


def load_blocks(path):
    with gzip.open(path, "rt") as handle:
        return np.array([int(line) for line in handle if line.strip()], dtype=np.int64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA), help="libquantum block trace (gz text)")
    parser.add_argument("--freq", type=int, default=10, help="lowering threshold FREQ")
    parser.add_argument("--reference-events", type=int, default=5000,
                        help="stream prefix (events) for the Python reference engine")
    args = parser.parse_args()

    blocks = load_blocks(args.data)
    half = len(blocks) // 2
    train, stream = blocks[:half], blocks[half:]
    started = time.perf_counter()
    compressed = compress(train, None, args.freq)
    vocab = compressed.vocab
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}")
    print(f"trace: {len(blocks)} accesses; train {half}, test stream {len(stream)}")
    print(f"vocabulary at FREQ {args.freq}: {vocab.size} tokens "
          f"({vocab.size - 1 - vocab.num_terminals} non-terminals), longest token "
          f"{vocab.max_token_length()} events; compress took {time.perf_counter() - started:.2f} s")

    rows = []
    cases = (("test half", "oracle", stream, OracleStepper(vocab, stream)),
             ("test half", "fixed", stream, FixedStepper(1)),
             ("training half", "oracle", train, OracleStepper(vocab, train)))
    for stream_name, name, events, stepper in cases:
        run_compressed(events[:2000], vocab, stepper)  # warm up
        result = run_compressed(events, vocab, stepper)
        rows.append((stream_name, name, result))

    reference_stream = stream[:args.reference_events]
    stepper = OracleStepper(vocab, reference_stream)
    started = time.perf_counter_ns()
    reference = run_reference(reference_stream, vocab, stepper)
    reference_ns = time.perf_counter_ns() - started
    c_small = run_compressed(reference_stream, vocab, OracleStepper(vocab, reference_stream))

    print()
    print("| stream | stand-in model | events | predictions | avg prediction length | rollbacks "
          "| engine ns/event | engine ns/prediction |")
    print("|---|---|---|---|---|---|---|---|")
    for stream_name, name, result in rows:
        print(f"| {stream_name} | {name} | {result.events} | {result.predictions} | "
              f"{result.avg_prediction_length:.1f} | {result.rollbacks} | "
              f"{result.engine_time_ns / result.events:.0f} | "
              f"{result.engine_time_ns / result.predictions:.0f} |")
    c_ns = c_small.engine_time_ns / c_small.events
    ref_ns = reference_ns / reference.events
    print()
    print(f"reference Python engine, oracle, first {len(reference_stream)} events: "
          f"{ref_ns:.0f} ns/event (whole loop) against {c_ns:.0f} ns/event for the C engine "
          f"on the same events: {ref_ns / c_ns:.0f}x")
    if (reference.predictions, reference.correct) != (c_small.predictions, c_small.correct):
        print("WARNING: the reference and C engines disagree on this stream")


if __name__ == "__main__":
    main()
