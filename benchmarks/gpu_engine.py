"""Time single-step GRU inference for default-1 and compressed learning in one run.

Both runs use GRUStepper on the chosen device (CUDA when present: the single
step is a captured CUDA graph) with the paper's model size, embedding 256 and
GRU 1,024, untrained. An untrained model predicts arbitrary tokens, so each
stepper runs the real GRU step and then returns the token a perfect model would
predict (the longest token matching the true future). The timings are those of
the real model; only the call pattern is that of an accurate model.

The vocabulary comes from Sequitur plus lowering of the first half of the
libquantum block trace. --stream test uses the second half (new blocks, short
predictions); --stream train replays the first half (long predictions).

    .venv/bin/python benchmarks/gpu_engine.py                         # CUDA machine
    .venv/bin/python benchmarks/gpu_engine.py --device cpu --events 2000
"""
import argparse
import time

import torch

from predictor.lowering import compress
from predictor.model import GRUPredictor
from predictor.online import run_compressed, run_default1, speedup
from predictor.stepper import GRUStepper
from predictor.vocabulary import Vocabulary

from bench_engine import DATA, best_tokens, load_blocks


class PerfectChoiceStepper:
    """Runs a GRUStepper for its cost and returns the token a perfect model predicts."""

    def __init__(self, stepper, vocab, events):
        self.stepper = stepper
        self.lengths = [max(1, len(x)) for x in vocab.expansions]
        self.best = best_tokens(vocab, events)
        self.fed = []
        self.position = 0

    def reserve(self, ring_size):
        self.stepper.reserve(ring_size)

    def reset(self):
        self.stepper.reset()
        self.fed = []
        self.position = 0

    def rollback(self, n):
        self.stepper.rollback(n)
        for _ in range(n):
            self.position -= self.lengths[self.fed.pop()]

    def feed(self, tokens):
        self.stepper.feed(tokens)  # the real model step, synchronized by its .item()
        for token in tokens.tolist():
            self.fed.append(token)
            self.position += self.lengths[token]
        return self.best[self.position] if self.position < len(self.best) else 1


def make_stepper(vocab, events, args):
    torch.manual_seed(0)
    model = GRUPredictor(vocab.size, args.embd, args.hidden).eval()
    return PerfectChoiceStepper(GRUStepper(model, args.device, threads=args.threads), vocab, events)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--events", type=int, default=None,
                        help="test stream length in events (default: the whole half)")
    parser.add_argument("--stream", choices=("test", "train"), default="test")
    parser.add_argument("--freq", type=int, default=4, help="lowering threshold FREQ")
    parser.add_argument("--embd", type=int, default=256, help="embedding width (paper: 256)")
    parser.add_argument("--hidden", type=int, default=1024, help="GRU state width (paper: 1024)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()

    blocks = load_blocks(DATA)
    half = len(blocks) // 2
    train = blocks[:half]
    events = train if args.stream == "train" else blocks[half:]
    events = events[:args.events] if args.events else events

    compressed_vocab = compress(train, None, args.freq).vocab
    default_vocab = Vocabulary.from_events(train)
    default_stepper = make_stepper(default_vocab, events, args)
    compressed_stepper = make_stepper(compressed_vocab, events, args)
    device = default_stepper.stepper.device
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}, "
          f"torch {torch.__version__}, CUDA graphs: {default_stepper.stepper._graphs is not None}")
    print(f"model: embedding {args.embd}, GRU {args.hidden}; vocabularies: default "
          f"{default_vocab.size}, compressed {compressed_vocab.size} tokens (FREQ {args.freq})")
    print(f"stream: {args.stream} half, {len(events)} events")

    # warm up both steppers (CUDA graph replays, CPU caches)
    run_default1(events[:200], default_vocab, default_stepper)
    run_compressed(events[:200], compressed_vocab, compressed_stepper)

    started = time.perf_counter()
    default1 = run_default1(events, default_vocab, default_stepper)
    compressed = run_compressed(events, compressed_vocab, compressed_stepper)
    elapsed = time.perf_counter() - started

    print()
    print("| method | predictions | model inputs | avg prediction length | latency ns/event "
          "| model ns/call | tokenization overhead |")
    print("|---|---|---|---|---|---|---|")
    for result in (default1, compressed):
        print(f"| {result.method} | {result.predictions} | {result.model_inputs} | "
              f"{result.avg_prediction_length:.1f} | {result.avg_latency_ns:.0f} | "
              f"{result.model_time_ns / result.predictions:.0f} | "
              f"{100 * result.tokenization_overhead:.2f}% |")
    print()
    print(f"speedup of compressed over default-1: {speedup(default1, compressed):.2f}x "
          f"({elapsed:.1f} s for both runs)")


if __name__ == "__main__":
    main()
