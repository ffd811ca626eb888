"""``complearn simulate``: replay a memory trace through caches with a prefetcher."""
import json
import os

from sim.config import POLICIES
from sim.core import PREFETCHER_IDS
from sim.errors import SimError
from sim.run import simulate
from sim.stats import format_table
from tracer.atomic import atomic_writer

NAME = "simulate"
HELP = "simulate a memory trace through set-associative caches with a prefetcher"


def add_arguments(parser):
    parser.add_argument("trace", metavar="TRACE", help="memory trace file (kind mem)")
    parser.add_argument("--predictions", metavar="FILE",
                        help="prediction file made for TRACE; implies --prefetcher predictions")
    parser.add_argument("--cache", metavar="SIZE,WAYS[,LINE]", action="append",
                        help="one cache level, size and line in bytes with K/M suffixes "
                        "(default 32K,8,64); repeat for more levels, first level first")
    parser.add_argument("--policy", choices=POLICIES, default="lru",
                        help="replacement policy of every level (default lru)")
    parser.add_argument("--prefetcher", choices=tuple(PREFETCHER_IDS),
                        help="prefetcher (default: predictions with --predictions, else none)")
    parser.add_argument("--degree", type=int, metavar="D",
                        help="lines requested per trigger or prediction (default 1; 16 for predictions)")
    parser.add_argument("--access-interval-ns", type=float, default=1.0, metavar="X",
                        help="ns between two accesses, to turn latencies into accesses (default 1)")
    parser.add_argument("--latency-ns", type=float, metavar="X",
                        help="prefetch latency in ns (default: each prediction's measured "
                        "latency with --predictions, else 0, the ideal case where a request "
                        "is ready for the next access)")
    parser.add_argument("--start", type=int, metavar="I",
                        help="first counted trace index; earlier accesses only warm the caches "
                        "(default: the prediction stream start, else 0)")
    parser.add_argument("--stop", type=int, metavar="I",
                        help="trace index after the last simulated access (default: stream stop, else end)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random policy (default 0)")
    parser.add_argument("--non-inclusive", action="store_true",
                        help="do not back-invalidate upper levels when a lower level evicts")
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON to OUT")


def run(args) -> int:
    prefetcher = args.prefetcher or ("predictions" if args.predictions else "none")
    result = simulate(args.trace, caches=args.cache, policy=args.policy, prefetcher=prefetcher,
                      degree=args.degree, predictions=args.predictions,
                      access_interval_ns=args.access_interval_ns, latency_ns=args.latency_ns,
                      seed=args.seed, inclusive=not args.non_inclusive, start=args.start,
                      stop=args.stop)
    print(format_table(result))
    if args.json:
        _write_json(args.json, result.to_dict())
    return 0


def _write_json(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise SimError(f"{path}: is a folder; give a file name for --json, such as "
                       f"{os.path.join(path, 'sim.json')}")
    if not os.path.isdir(folder):
        raise SimError(f"{path}: cannot write the JSON result, folder {folder} does not exist")
    try:
        with atomic_writer(path, "w") as handle:
            json.dump(data, handle, indent=2)
    except OSError as error:
        raise SimError(f"{path}: cannot write the JSON result ({error.strerror})") from None
