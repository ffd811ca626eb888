"""The study scripts in examples/: log template mining and the Table-4 study's plan."""
import csv
import importlib.util
import pathlib
import re

import pytest

from complearn.cli import main
from tracer.tracefile import read_trace

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


log_workflow = _load_script("log_workflow")
table4_study = _load_script("table4_study")


def _loghub(shared_data, name):
    folder = shared_data / "loghub" / name
    lines = (folder / f"{name}_2k.log").read_text(encoding="utf-8").splitlines()
    with open(folder / f"{name}_2k.log_structured.csv", newline="", encoding="utf-8") as handle:
        truth = [row["EventId"] for row in csv.DictReader(handle)]
    return lines, truth


# ---------------------------------------------------------------- log workflow

@pytest.mark.parametrize("name", ["Windows", "Thunderbird"])
def test_strip_headers_matches_every_line(shared_data, name):
    lines, _ = _loghub(shared_data, name)
    contents, unmatched = log_workflow.strip_headers(lines, log_workflow.FORMATS[name])
    assert unmatched == 0
    assert len(contents) == len(lines)
    assert not any(re.match(r"\d{4}-\d{2}-\d{2}|- \d{10}", content) for content in contents)


def test_strip_headers_keeps_unknown_line():
    contents, unmatched = log_workflow.strip_headers(["no header here  "], log_workflow.FORMATS["Windows"])
    assert contents == ["no header here"]
    assert unmatched == 1


def test_guess_format_from_file_name():
    assert log_workflow.guess_format("data/Windows_2k.log") == "Windows"
    assert log_workflow.guess_format("Thunderbird_2k.log") == "Thunderbird"
    assert log_workflow.guess_format("syslog") is None


def test_grouping_accuracy_by_hand():
    # Cluster 1 = lines {0, 1} = group A; cluster 2 = {2, 3} but group B = {2}, C = {3}.
    assert log_workflow.grouping_accuracy([1, 1, 2, 2], ["A", "A", "B", "C"]) == 0.5


def test_windows_templates_match_loghub(shared_data):
    pytest.importorskip("drain3", reason="drain3 not installed: pip install -e '.[examples]'")
    lines, truth = _loghub(shared_data, "Windows")
    log_format = log_workflow.FORMATS["Windows"]
    contents, _ = log_workflow.strip_headers(lines, log_format)
    cluster_ids, templates = log_workflow.mine_templates(contents, log_format)

    assert len(set(truth)) == 50
    assert 40 <= len(templates) <= 60
    assert len(cluster_ids) == len(lines)
    assert log_workflow.grouping_accuracy(cluster_ids, truth) >= 0.95
    assert any("<HEX>" in template for template in templates.values())


def test_windows_headers_hurt_mining(shared_data):
    pytest.importorskip("drain3", reason="drain3 not installed: pip install -e '.[examples]'")
    lines, truth = _loghub(shared_data, "Windows")
    log_format = log_workflow.FORMATS["Windows"]
    contents, _ = log_workflow.strip_headers(lines, log_format)
    stripped, _ = log_workflow.mine_templates(contents, log_format)
    kept, _ = log_workflow.mine_templates(lines, log_format)
    assert (log_workflow.grouping_accuracy(stripped, truth)
            > log_workflow.grouping_accuracy(kept, truth) + 0.1)


def test_log_workflow_mine_only_writes_keys(shared_data, tmp_path, capsys):
    pytest.importorskip("drain3", reason="drain3 not installed: pip install -e '.[examples]'")
    log = shared_data / "loghub" / "Thunderbird" / "Thunderbird_2k.log"
    assert log_workflow.main([str(log), "--out", str(tmp_path), "--mine-only"]) == 0

    keys = (tmp_path / "thunderbird.keys.txt").read_text().splitlines()
    table = (tmp_path / "thunderbird.templates.tsv").read_text().splitlines()
    assert len(keys) == 2000
    assert all(re.fullmatch(r"E\d+", key) for key in keys)
    assert table[0] == "id\ttemplate"
    assert {row.split("\t")[0] for row in table[1:]} == set(keys)
    assert f"-> {len(table) - 1} templates" in capsys.readouterr().out

    # The keys file imports as the log trace that the workflow's next step studies.
    trace_path = tmp_path / "thunderbird-log.trace"
    assert main(["import", str(tmp_path / "thunderbird.keys.txt"), "-o", str(trace_path),
                 "--format", "text", "--kind", "log"]) == 0
    trace = read_trace(trace_path)
    assert trace.num_events == 2000
    assert sorted(trace.names) == sorted(row.split("\t")[0] for row in table[1:])


def test_log_workflow_dry_run_plans_import_and_compare(shared_data, tmp_path, capsys):
    pytest.importorskip("drain3", reason="drain3 not installed: pip install -e '.[examples]'")
    log = shared_data / "loghub" / "Windows" / "Windows_2k.log"
    assert log_workflow.main([str(log), "--out", str(tmp_path), "--dry-run", "--tolerance", "0"]) == 0
    steps = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+ ")]
    assert steps == [
        f"+ complearn import {tmp_path}/windows.keys.txt -o {tmp_path}/windows-log.trace "
        "--format text --kind log",
        f"+ complearn compare {tmp_path}/windows-log.trace --out {tmp_path}/windows-compare "
        "--tolerance 0.0 --preset default",
    ]
    assert not (tmp_path / "windows-log.trace").exists()


def test_log_workflow_missing_log_one_line(tmp_path):
    # A wrong log path used to end in a FileNotFoundError traceback.
    missing = tmp_path / "Windows_2k.log"
    with pytest.raises(SystemExit, match=f"cannot read log {missing}: No such file or directory"):
        log_workflow.main([str(missing), "--out", str(tmp_path / "out"), "--mine-only"])


# ---------------------------------------------------------------- Table-4 study

def test_table4_dry_run_plans_every_trace(shared_data, tmp_path, capsys):
    assert table4_study.main(["--dry-run", "--data", str(shared_data), "--out", str(tmp_path)]) == 0
    steps = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+ ")]
    names = [spec.name for spec in table4_study.study_traces()]

    assert steps[0].startswith("+ make -C ")
    assert sum(" compare " in step for step in steps) == len(names) == 14
    assert sum(" trace --kind " in step for step in steps) == 10
    assert sum(" import " in step for step in steps) == 4
    assert " --column EventId" in next(step for step in steps if "Windows_2k" in step)
    assert steps[-1].count("results.json") == 14
    assert f"-o {tmp_path}/report.md" in steps[-1]
    assert list(tmp_path.iterdir()) == []


def test_table4_leaves_out_missing_data(tmp_path, capsys):
    table4_study.main(["--dry-run", "--data", str(tmp_path / "none"), "--out", str(tmp_path),
                       "--only", "windows-log,fluid-calls"])
    out = capsys.readouterr().out
    assert f"# windows-log: input {tmp_path}/none/loghub/Windows/Windows_2k.log_structured.csv " \
        "not found, trace left out" in out
    assert sum(" compare " in line for line in out.splitlines()) == 1


def test_table4_skips_finished_steps(tmp_path, capsys):
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "tree-calls.trace").write_bytes(b"")
    table4_study.main(["--dry-run", "--out", str(tmp_path), "--only", "tree-calls",
                       "--tolerances", "0,1"])
    out = capsys.readouterr().out
    assert f"# exists, skipped: {tmp_path}/traces/tree-calls.trace" in out
    assert sum(" compare " in line for line in out.splitlines()) == 2


def test_table4_rejects_unknown_trace(tmp_path):
    with pytest.raises(SystemExit, match="unknown trace go-calls"):
        table4_study.main(["--dry-run", "--out", str(tmp_path), "--only", "go-calls"])


def test_table4_import_steps_run(shared_data, tmp_path):
    """The study's import arguments are accepted by `complearn import` and give the expected traces."""
    expected = {"libquantum-mem": ("mem", 210_486), "windows-log": ("log", 2_000),
                "thunderbird-log": ("log", 2_000), "hdfs-log": ("log", 95_125)}
    for spec in table4_study.study_traces():
        if spec.program:
            continue
        trace_path = tmp_path / f"{spec.name}.trace"
        argv = [str(part) for part in spec.make_command(trace_path, shared_data, 1000)]
        assert main(argv) == 0, spec.name
        trace = read_trace(trace_path)
        assert (trace.kind, trace.num_events) == expected[spec.name]
