"""``complearn fit``: train a default or compressed-learning model on a trace."""
import os

from predictor import freqsearch
from predictor.presets import PRESETS

NAME = "fit"
HELP = "train a GRU predictor (default or compressed learning) on a trace"


def add_arguments(parser):
    parser.add_argument("trace", metavar="TRACE", help="trace file to learn")
    parser.add_argument("-o", "--output", required=True, metavar="MODEL_DIR",
                        help="model directory to write; rerunning with the same one resumes "
                        "an interrupted fit")
    parser.add_argument("--method", choices=("default", "compressed"), default="compressed",
                        help="default: learn single events (for default-1 and default-k); "
                        "compressed: learn Sequitur grammar tokens (default: %(default)s)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default",
                        help="model size and training settings; paper is the published "
                        "setting, default trains in minutes on 2 CPU cores (default: %(default)s)")

    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--freq", type=int, metavar="N",
                        help="lowering threshold FREQ: keep non-terminals occurring at least N "
                        "times; skips the FREQ search")
    choice.add_argument("--tolerance", type=float, metavar="PCT",
                        help="FREQ search: accept the most compressing FREQ whose validation "
                        "event accuracy is at most PCT percentage points below default-1's "
                        f"(default: {freqsearch.DEFAULT_TOLERANCE})")
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="maximum training epochs (default: the preset's)")
    parser.add_argument("--device", metavar="D",
                        help="torch device, e.g. cpu or cuda (default: cuda when present)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")

    parser.add_argument("--train-events", type=int, metavar="N",
                        help="events in the training part, from the trace start; its last "
                        "interval validates (default: half of the trace)")
    parser.add_argument("--test-events", type=int, metavar="N",
                        help="events in the test stream after the training part "
                        "(default: the rest of the trace)")
    parser.add_argument("--interval", type=int, metavar="N",
                        help="validation interval in events, at the end of the training part "
                        "(default: a fifth of the training part)")


def set_threads():
    """Use as many torch threads as this process may run on (containers limit it)."""
    import torch

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))


def run(args) -> int:
    from predictor.fitting import fit
    from predictor.splits import make_split
    from tracer.tracefile import read_trace

    set_threads()
    trace = read_trace(args.trace)
    split = make_split(trace.num_events, args.train_events, args.test_events, args.interval)
    result = fit(trace, args.output, method=args.method, preset=args.preset, freq=args.freq,
                 tolerance=args.tolerance, epochs=args.epochs, device=args.device,
                 seed=args.seed, split=split, progress=True)
    freq = "none (no non-terminals)" if result.freq is None else result.freq
    print(f"fitted {result.method} model: {result.model_dir}")
    print(f"  training events 0-{split.valid_start}, validation {split.valid_start}-"
          f"{split.train_stop}, test stream {split.test_start}-{split.test_stop}")
    print(f"  FREQ {freq}, vocabulary {result.vocab_size} tokens ({result.nonterminals} "
          f"non-terminals), {result.epochs} epochs, "
          f"best validation loss {result.best_valid_loss:.4f} nats/token, "
          f"{result.seconds:.1f} s")
    if result.freq_search:
        search = result.freq_search
        print(f"  FREQ search (tolerance {search['tolerance_pct']} percentage points, "
              f"default-1 validation accuracy {search['default1']['event_accuracy_pct']:.2f} %):")
        for trial in search["tried"]:
            print(f"    FREQ {trial['freq']}: accuracy {trial['event_accuracy_pct']:.2f} %, "
                  f"avg prediction length {trial['avg_prediction_length']:.1f}, "
                  f"speedup {trial['speedup']:.2f}x, "
                  f"{'passed' if trial['passed'] else 'failed'}")
    return 0
