"""``complearn evaluate``: run default-1, default-k and compressed prediction online."""
import json
import os

from predictor.refine import add_refine_arguments

NAME = "evaluate"
HELP = ("predict a trace's test stream online with fitted models and report accuracy, "
        "prediction length, latency and speedup")


def add_arguments(parser):
    parser.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR",
                        help="model directories from complearn fit (one per --method)")
    parser.add_argument("trace", metavar="TRACE", help="trace whose test stream to predict")
    parser.add_argument("--methods", default="default-1,default-k,compressed",
                        help="comma-separated methods; default-1 and default-k use the model "
                        "fitted with --method default, compressed the one fitted with "
                        "--method compressed (default: %(default)s)")
    parser.add_argument("--k", type=int, metavar="K",
                        help="events per default-k prediction (default: the compressed run's "
                        "average prediction length, rounded)")
    parser.add_argument("--json", metavar="OUT", help="write every figure as JSON to OUT")
    parser.add_argument("--predictions", metavar="DIR",
                        help="write prediction files DIR/<method>.npz for complearn simulate")
    parser.add_argument("--device", metavar="D",
                        help="torch device, e.g. cpu or cuda (default: cuda when present)")
    add_refine_arguments(parser)


def _write_json(path, data):
    from tracer.atomic import atomic_writer

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_writer(path, "w") as handle:
        json.dump(data, handle, indent=1)


def _trace_info(trace) -> dict:
    return {"path": str(trace.path), "checksum": trace.checksum, "kind": trace.kind,
            "events": trace.num_events}


def run(args) -> int:
    from complearn.commands.fit import set_threads
    from predictor.errors import PredictorError
    from predictor.evaluation import evaluate, format_table, parse_methods, summary_rows
    from tracer.tracefile import read_trace

    if args.k is not None and args.k < 1:
        raise PredictorError(f"--k {args.k} is invalid: predict at least 1 event at a time")
    methods = parse_methods(args.methods)
    set_threads()
    model_dirs = args.model_dirs
    trace = read_trace(args.trace)
    if args.refine_interval is not None:
        from predictor.refine import run_refinement

        data = run_refinement(args, model_dirs, trace, methods)
        if args.json:
            _write_json(args.json, dict(data, trace=_trace_info(trace), model_dirs=list(model_dirs),
                                        methods=methods))
        return 0
    results = evaluate(model_dirs, trace, methods, k=args.k, device=args.device,
                       predictions_dir=args.predictions, progress=True)
    rows = summary_rows(results)
    print(format_table(rows))
    if args.json:
        _write_json(args.json, {"trace": _trace_info(trace), "model_dirs": list(model_dirs),
                                "methods": methods, "runs": rows})
    return 0
