"""Sequitur speed and memory: the C core against scikit-sequitur in the same run.

Usage: python benchmarks/bench_sequitur.py [--events N]

Inputs: the DPC-2 libquantum block sequence as it is (210,486 events). It is
not tiled to 500,000 because a tiled copy repeats exactly and flatters both
programs. The second input is a synthetic nested-repeat sequence of N events
(default 500,000) with 10% of the events replaced by random symbols. Every build runs in a fresh child process,
which reports its time and its peak resident memory above the memory held
before the build (VmHWM after resetting it through /proc/self/clear_refs).
The C core's time is the best of 3 builds (input checks and the copy into
numpy included); scikit-sequitur's is one call of ``sksequitur.parse`` on a
list. The two grammars are compared rule by rule after the timing.
"""
import argparse
import hashlib
import json
import subprocess
import sys
import time

import numpy as np

from real_sequences import libquantum_blocks

NOISE = 0.10


def nested_repeats(num_events, noise=NOISE, seed=7):
    """Three levels of repeated structure (words, phrases, blocks over 256
    symbols) sampled until num_events, then a `noise` share replaced at random."""
    rng = np.random.default_rng(seed)
    alphabet = 256

    def compose(parts, count, low, high):
        return [np.concatenate([parts[i] for i in rng.integers(0, len(parts), rng.integers(low, high))])
                for _ in range(count)]

    words = [rng.integers(0, alphabet, rng.integers(3, 9)) for _ in range(64)]
    phrases = compose(words, 32, 3, 7)
    blocks = compose(phrases, 16, 2, 5)
    pieces, total = [], 0
    while total < num_events:
        piece = blocks[rng.integers(len(blocks))]
        pieces.append(piece)
        total += len(piece)
    events = np.concatenate(pieces)[:num_events].astype(np.int64)
    noisy = rng.random(num_events) < noise
    events[noisy] = rng.integers(0, alphabet, int(noisy.sum()))
    return events


def load_input(name, num_events):
    if name == "libquantum":
        return libquantum_blocks()[0]
    return nested_repeats(num_events)


def status_kib(field):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def digest(rules):
    """SHA-256 over the rules as lists of ints in the predictor's symbol encoding."""
    return hashlib.sha256(json.dumps(rules).encode()).hexdigest()[:16]


def build_c(events):
    from predictor.sequitur import build_grammar
    return build_grammar(events)


def build_oracle(events):
    from sksequitur import parse
    return parse(events.tolist())


def rules_of(implementation, grammar) -> list:
    """Rule bodies as int lists in the predictor's encoding (not timed)."""
    if implementation == "c":
        return [body.tolist() for body in grammar.rules]
    from sksequitur import Production
    return [[-(int(v) + 1) if type(v) is Production else v for v in grammar[r]]
            for r in range(len(grammar))]


def child(implementation, input_name, num_events):
    """Build one grammar and print time, peak memory and digest as JSON."""
    events = load_input(input_name, num_events)
    build, repeats = (build_c, 3) if implementation == "c" else (build_oracle, 1)
    if implementation == "c":
        import predictor.sequitur  # noqa: F401  (load the extension before measuring)
    else:
        import sksequitur  # noqa: F401

    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset VmHWM, the peak resident set size
    before_kib = status_kib("VmRSS")
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        grammar = build(events)
        best = min(best, time.perf_counter() - start)
    peak_kib = status_kib("VmHWM") - before_kib
    rules = rules_of(implementation, grammar)
    print(json.dumps({"events": len(events), "seconds": best, "peak_mib": peak_kib / 1024,
                      "rules": len(rules), "digest": digest(rules)}))


def measure(implementation, input_name, num_events):
    output = subprocess.run([sys.executable, __file__, "--child", implementation, input_name,
                             "--events", str(num_events)],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000,
                        help="length of the synthetic sequence (default 500000)")
    parser.add_argument("--child", nargs=2, metavar=("IMPL", "INPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.events)
        return

    print("| input | events | rules | C events/s | C peak MiB | scikit-sequitur events/s "
          "| scikit-sequitur peak MiB | speedup | same grammar |")
    print("|---|---|---|---|---|---|---|---|---|")
    for input_name, label in (("libquantum", "DPC-2 libquantum blocks (as is)"),
                              ("nested", f"nested repeats, {NOISE:.0%} noise")):
        c = measure("c", input_name, args.events)
        oracle = measure("oracle", input_name, args.events)
        events = c["events"]
        print(f"| {label} | {events:,} | {c['rules']:,} | {events / c['seconds']:,.0f} "
              f"| {c['peak_mib']:.1f} | {events / oracle['seconds']:,.0f} "
              f"| {oracle['peak_mib']:.1f} | {oracle['seconds'] / c['seconds']:.1f}x "
              f"| {'yes' if c['digest'] == oracle['digest'] else 'NO'} |")


if __name__ == "__main__":
    main()
