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

The same cases also run in benchmarks/engine_driver.c, which links the engine
without Python, so the table separates the C loop from the Python round trip.
The plain-Python reference engine runs the oracle case on a prefix of the stream
for the ratio. Each case runs --repeats times and the fastest run is reported,
because other processes on a shared machine only ever add time.

    .venv/bin/python benchmarks/bench_engine.py [--freq 4] [--repeats 5]
"""
import argparse
import gzip
import pathlib
import platform
import subprocess
import tempfile
import time

import numpy as np

from predictor.engine import vocabulary_arrays
from predictor.lowering import compress
from predictor.online import run_compressed
from predictor.reference_engine import run_reference

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "dpc2" / "dpc2_libquantum_blocks64.txt.gz"


class OracleStepper:
    """A free stand-in model that predicts the longest token matching the true future.

    It tracks the stream position from the lengths of the tokens it was fed (after
    rollbacks), and looks the predicted token up in a table computed beforehand.
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


def c_only_ns_per_event(vocab, events, predicted, repeats):
    """Run benchmarks/engine_driver.c; return its fastest ns/event and its model calls."""
    offsets, expansion_events = vocabulary_arrays(vocab)
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        paths = []
        for name, array in (("offsets", offsets), ("events", expansion_events),
                            ("stream", events), ("predicted", predicted)):
            np.ascontiguousarray(array, dtype="<i8").tofile(folder / name)
            paths.append(str(folder / name))
        driver = folder / "engine_driver"
        subprocess.run(["cc", "-O2", "-std=c99", f"-I{HERE.parent / 'predictor'}",
                        str(HERE / "engine_driver.c"), str(HERE.parent / "predictor" / "engine.c"),
                        "-o", str(driver)], check=True)
        output = subprocess.run([str(driver)] + paths + [str(repeats)], check=True,
                                capture_output=True, text=True).stdout
    rows = [line.split() for line in output.splitlines()]
    return min(float(row[2]) for row in rows), int(rows[0][1])


def fastest_run(events, vocab, make_stepper, repeats):
    runs = [run_compressed(events, vocab, make_stepper()) for _ in range(repeats)]
    return min(runs, key=lambda result: result.engine_time_ns)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA), help="libquantum block trace (gz text)")
    parser.add_argument("--freq", type=int, default=4, help="lowering threshold FREQ")
    parser.add_argument("--repeats", type=int, default=5, help="runs per case; the fastest counts")
    parser.add_argument("--reference-events", type=int, default=5000,
                        help="stream prefix (events) for the Python reference engine")
    args = parser.parse_args()

    blocks = load_blocks(args.data)
    half = len(blocks) // 2
    train, stream = blocks[:half], blocks[half:]
    started = time.perf_counter()
    vocab = compress(train, None, args.freq).vocab
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}")
    print(f"trace: {len(blocks)} accesses; train {half}, test stream {len(stream)}")
    print(f"vocabulary at FREQ {args.freq}: {vocab.size} tokens "
          f"({vocab.size - 1 - vocab.num_terminals} non-terminals), longest token "
          f"{vocab.max_token_length()} events; compress took {time.perf_counter() - started:.2f} s")

    print()
    print("| stream | stand-in model | predictions | avg prediction length | rollbacks "
          "| C only, ns/event | from Python, ns/event | from Python, ns/model call |")
    print("|---|---|---|---|---|---|---|---|")
    cases = (("test half", "oracle", stream), ("test half", "fixed", stream),
             ("training half", "oracle", train))
    for stream_name, name, events in cases:
        if name == "oracle":
            predicted = np.append(np.array(best_tokens(vocab, events), dtype=np.int64)[1:], 1)
            make_stepper = lambda events=events: OracleStepper(vocab, events)  # noqa: E731
        else:
            predicted = np.ones(len(events), dtype=np.int64)
            make_stepper = lambda: FixedStepper(1)  # noqa: E731
        c_ns, c_calls = c_only_ns_per_event(vocab, events, predicted, args.repeats)
        result = fastest_run(events, vocab, make_stepper, args.repeats)
        if c_calls != result.predictions:
            print(f"WARNING: the C driver made {c_calls} model calls, Python {result.predictions}")
        print(f"| {stream_name} | {name} | {result.predictions} | "
              f"{result.avg_prediction_length:.1f} | {result.rollbacks} | {c_ns:.0f} | "
              f"{result.engine_time_ns / result.events:.0f} | "
              f"{result.engine_time_ns / result.predictions:.0f} |")

    reference_stream = stream[:args.reference_events]
    started = time.perf_counter_ns()
    reference = run_reference(reference_stream, vocab, OracleStepper(vocab, reference_stream))
    reference_ns = (time.perf_counter_ns() - started) / reference.events
    ours = fastest_run(reference_stream, vocab, lambda: OracleStepper(vocab, reference_stream),
                       args.repeats)
    ours_ns = ours.total_time_ns / ours.events
    print()
    print(f"reference Python engine, oracle model, first {len(reference_stream)} test events: "
          f"{reference_ns:.0f} ns/event against {ours_ns:.0f} ns/event for the C engine driven "
          f"from Python (both whole loops, stand-in model included): {reference_ns / ours_ns:.0f}x")
    if (reference.predictions, reference.correct) != (ours.predictions, ours.correct):
        print("WARNING: the reference and C engines disagree on this stream")


if __name__ == "__main__":
    main()
