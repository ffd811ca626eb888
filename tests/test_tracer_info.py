"""``complearn info`` on call traces: top functions and how the program ended."""
import numpy as np

from complearn.cli import main
from tracer.stats import count_distinct, top_events
from tracer.tracefile import write_trace


def test_top_events_order_and_ties():
    events = np.array([3, 1, 3, 2, 1, 3, 2], dtype=np.int64)
    assert top_events(events, 2) == [(3, 3), (1, 2)]
    assert top_events(events, 10) == [(3, 3), (1, 2), (2, 2)]
    assert top_events(np.zeros(0, dtype=np.int64), 5) == []


def test_top_events_large_values():
    events = np.array([1 << 40, 5, 1 << 40], dtype=np.int64)
    assert top_events(events, 1) == [(1 << 40, 2)]


def test_info_lists_top_functions(tmp_path, capsys):
    path = tmp_path / "calls.trace"
    events = [0, 1, 1, 2, 2, 2, 1, 2]
    meta = {"names": ["main", "f", "g"], "source": "complearn trace", "backend": "valgrind",
            "program": "/bin/prog", "exit_status": None, "signal": "SIGSEGV",
            "complete": False, "stopped": None, "threads": [1]}
    write_trace(path, "calls", events, meta=meta)
    assert main(["info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "program:      /bin/prog (killed by SIGSEGV, incomplete)" in lines
    start = lines.index("top functions (3 most called):")
    top = [line.split() for line in lines[start + 1:start + 4]]
    assert top == [["4", "50.0%", "g"], ["3", "37.5%", "f"], ["1", "12.5%", "main"]]


def test_large_values_counted_in_pieces():
    # Block numbers above the bincount table are counted piece by piece, because
    # one sort of a 2.4-billion-event trace ran out of memory. Any piece size
    # must give the counts of one sort.
    rng = np.random.default_rng(3)
    events = (rng.integers(0, 50, size=1000) * 7919 + (1 << 40)).astype(np.int64)
    values, occurrences = np.unique(events, return_counts=True)
    expected = sorted(zip(values.tolist(), occurrences.tolist()), key=lambda pair: (-pair[1], pair[0]))
    for chunk in (1, 7, 999, 1 << 25):
        assert count_distinct(events, chunk=chunk) == len(values)
        assert top_events(events, 5, chunk=chunk) == expected[:5]
