"""The prediction timeline: event names and block ranks on its event axis."""
import numpy as np
import pytest

from complearn import pipeline, plots, results
from complearn.results import ResultsError
from predictor.predfile import write_predictions
from predictor.splits import make_split
from tracer.tracefile import read_trace, write_trace


def timeline_results(kind, events, names=None, start=100):
    """Return the part of a results dict that the timeline plot reads.

    One default-1 prediction follows each event of the stretch.
    """
    every_event = np.arange(start - 1, start - 1 + len(events), dtype=np.int64)
    predictions = {"default-1": {"event_index": every_event,
                                 "offsets": np.arange(len(every_event) + 1, dtype=np.int64)}}
    whole_trace = np.concatenate([np.zeros(start, dtype=np.int64), events])
    section = results.timeline_section(whole_trace, predictions, start, len(events),
                                       names=names or [])
    return {"trace": {"name": "test", "kind": kind}, "timeline": section}


def event_axis(figure):
    axis = figure.axes[0]
    tick_labels = [label.get_text() for label in axis.get_yticklabels()]
    values = axis.collections[0].get_offsets()[:, 1]
    return axis.get_ylabel(), tick_labels, values


def test_timeline_section_keeps_stretch_names():
    events = np.array([0, 0, 3, 1, 3, 2, 2], dtype=np.int64)
    section = results.timeline_section(events, {}, start=2, length=3,
                                       names=["main", "f", "g", "h"])
    assert section["events"] == [3, 1, 3]
    assert section["names"] == {"1": "f", "3": "h"}


def test_timeline_section_without_names():
    section = results.timeline_section(np.array([5, 6, 5]), {}, start=0, length=3)
    assert section["names"] == {}


def test_call_timeline_labels_function_names():
    events = np.array([2, 0, 1, 2, 2, 0], dtype=np.int64)
    figure = plots.timeline_figure(timeline_results("calls", events, ["main", "step", "cell_at"]))
    label, tick_labels, values = event_axis(figure)

    assert label == "function"
    assert tick_labels == ["main", "step", "cell_at"]
    assert list(values) == [2, 0, 1, 2, 2, 0]


def test_call_timeline_ranks_sparse_ids():
    # Only ids 3 and 40 occur, so the two named rows sit next to each other.
    names = [f"f{i}" for i in range(41)]
    events = np.array([40, 3, 40, 3], dtype=np.int64)
    figure = plots.timeline_figure(timeline_results("calls", events, names))
    label, tick_labels, values = event_axis(figure)

    assert label == "function"
    assert tick_labels == ["f3", "f40"]
    assert list(values) == [1, 0, 1, 0]


def test_log_timeline_names_events():
    events = np.array([1, 0, 1], dtype=np.int64)
    figure = plots.timeline_figure(timeline_results("log", events, ["E1", "E2"]))
    label, tick_labels, _ = event_axis(figure)

    assert label == "event"
    assert tick_labels == ["E1", "E2"]


def test_timeline_with_many_events_keeps_ids():
    count = plots.MAX_NAMED_EVENTS + 1
    events = np.arange(count, dtype=np.int64) * 2
    names = [f"function_{i}" for i in range(2 * count)]
    figure = plots.timeline_figure(timeline_results("calls", events, names))
    label, tick_labels, values = event_axis(figure)

    assert label == "event id"
    assert "function_0" not in tick_labels
    assert list(values) == list(events)


def test_timeline_without_names_keeps_ids():
    # Results files written before the names were kept have no timeline.names.
    data = timeline_results("calls", np.array([7, 9, 7], dtype=np.int64), ["a"] * 10)
    del data["timeline"]["names"]
    label, _, values = event_axis(plots.timeline_figure(data))

    assert label == "event id"
    assert list(values) == [7, 9, 7]


def test_timeline_shortens_long_names():
    long_name = "std::vector<int>::_M_realloc_insert<int const&>"
    figure = plots.timeline_figure(timeline_results("calls", np.array([0, 1]), ["main", long_name]))
    _, tick_labels, _ = event_axis(figure)

    assert tick_labels[0] == "main"
    assert len(tick_labels[1]) == plots.NAME_LABEL_CHARS
    assert tick_labels[1] == long_name[:plots.NAME_LABEL_CHARS - 1] + "…"


def test_memory_timeline_plots_block_ranks():
    # A stack band near 0x7ffd... and a heap band near 0x5555... block numbers.
    stack = 0x7FFD_0000_0000 >> 6
    heap = 0x5555_0000_0000 >> 6
    events = np.array([stack + 1, heap, stack, heap + 2, stack + 1, heap], dtype=np.int64)
    figure = plots.timeline_figure(timeline_results("mem", events))
    label, _, values = event_axis(figure)

    assert label == "block (rank among distinct blocks)"
    assert list(values) == [3, 0, 2, 1, 3, 0]


def test_named_timeline_writes_png(tmp_path):
    events = np.array([0, 1, 2, 1], dtype=np.int64)
    data = timeline_results("calls", events, ["main", "f", "g"])
    out = plots.plot_timeline(data, tmp_path / "timeline.png")
    assert out.read_bytes().startswith(b"\x89PNG")


def test_timeline_names_must_be_an_object():
    data = timeline_results("calls", np.array([0, 1]), ["main", "f"])
    data["timeline"]["names"] = ["main", "f"]
    with pytest.raises(ResultsError, match="timeline.names is list, expected an object"):
        results._validate_timeline(data, "results.json")


def test_study_timeline_keeps_trace_names(tmp_path):
    names = ["main", "step", "cell_at"]
    path = tmp_path / "calls.trace"
    write_trace(path, "calls", np.array([0, 1, 2, 2] * 10), meta={"names": names})
    trace = read_trace(path)
    split = make_split(trace.num_events)
    meta = {"trace_checksum": trace.checksum, "trace_events": trace.num_events,
            "stream_start": split.test_start, "stream_stop": split.test_stop}
    for method in results.METHODS:
        write_predictions(tmp_path / f"{method}.npz", [split.test_start], [0, 1], [2], [100],
                          dict(meta, method=method))

    section = pipeline.timeline(trace, split, tmp_path, pipeline.StudySettings())

    assert section["names"] == {"0": "main", "1": "step", "2": "cell_at"}
