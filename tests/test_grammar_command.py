"""``complearn grammar`` on small trace files."""
import json

import pytest

from complearn.cli import main
from grammar_helpers import RUNNING_EXAMPLE, RUNNING_EXAMPLE_RULES
from tracer.tracefile import write_trace


def write_text_trace(path, text, session_starts=None):
    """Write one event per character; event names are the characters."""
    names = sorted(set(text))
    events = [names.index(c) for c in text]
    write_trace(path, "events", events, session_starts=session_starts, meta={"names": names})
    return str(path)


@pytest.fixture
def running_example_trace(tmp_path):
    return write_text_trace(tmp_path / "running.trace", RUNNING_EXAMPLE)


def run_command(capsys, argv):
    status = main(["grammar"] + argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_grammar_print_rules(capsys, running_example_trace):
    status, out, _ = run_command(capsys, [running_example_trace, "--print", "rules"])
    assert status == 0
    assert out.splitlines() == RUNNING_EXAMPLE_RULES


def test_grammar_print_lowered_freq3(capsys, running_example_trace):
    status, out, _ = run_command(capsys, [running_example_trace, "--freq", "3",
                                          "--print", "lowered"])
    assert status == 0
    assert out == "x 5 5 5 5 6 6 6 6 f 3 g 3 3\n"


def test_grammar_statistics_json(capsys, running_example_trace):
    status, out, _ = run_command(capsys, [running_example_trace, "--freq", "3", "--json"])
    stats = json.loads(out)
    assert status == 0
    assert stats["events"] == len(RUNNING_EXAMPLE)
    assert stats["sessions"] == 1
    assert stats["rules"] == 7
    assert stats["rule0_length"] == 9
    assert stats["grammar_size"] == 9 + 2 + 2 + 3 + 2 + 3 + 2
    assert stats["kept_nonterminals"] == 3
    assert stats["lowered_length"] == 14
    assert stats["compression_ratio"] == pytest.approx(72 / 14)
    assert stats["token_length_min"] == 2
    assert stats["token_length_mean"] == pytest.approx((3 + 13 + 2) / 3)
    assert stats["token_length_max"] == 13


def test_grammar_statistics_table(capsys, running_example_trace):
    status, out, _ = run_command(capsys, [running_example_trace, "--freq", "3"])
    rows = {line.rsplit(None, 1)[0]: line.rsplit(None, 1)[1] for line in out.splitlines()}
    assert status == 0
    assert rows["events"] == "72"
    assert rows["lowered length"] == "14"
    assert rows["compression ratio (events / lowered length)"] == "5.14"
    assert len({len(line) for line in out.splitlines()}) == 1


def test_grammar_without_kept_nonterminals(capsys, tmp_path):
    trace = write_text_trace(tmp_path / "abc.trace", "abcd")
    status, out, _ = run_command(capsys, [trace, "--json"])
    stats = json.loads(out)
    assert status == 0
    assert stats["kept_nonterminals"] == 0
    assert stats["token_length_mean"] is None
    assert stats["compression_ratio"] == 1.0


def test_grammar_sessions_print_separators(capsys, tmp_path):
    trace = write_text_trace(tmp_path / "sessions.trace", "abab", session_starts=[0, 2])
    status, out, _ = run_command(capsys, [trace, "--print", "rules"])
    assert status == 0
    assert out.splitlines() == ["0 -> 1 | 1", "1 -> a b"]


def test_grammar_memory_trace_prints_hex_blocks(capsys, tmp_path):
    path = str(tmp_path / "mem.trace")
    write_trace(path, "mem", [0x40, 0x41, 0x40, 0x41], flags=[0, 0, 1, 0])
    status, out, _ = run_command(capsys, [path, "--print", "rules"])
    assert status == 0
    assert out.splitlines() == ["0 -> 1 1", "1 -> 0x40 0x41"]


def test_grammar_rejects_freq_zero(capsys, running_example_trace):
    status, _, err = run_command(capsys, [running_example_trace, "--freq", "0"])
    assert status == 1
    assert "FREQ must be an integer >= 1, got 0" in err


def test_grammar_reports_missing_trace(capsys, tmp_path):
    status, _, err = run_command(capsys, [str(tmp_path / "absent.trace")])
    assert status == 1
    assert "trace file not found" in err


def test_grammar_after_import_of_text_file(capsys, tmp_path):
    # One character per line, imported with `complearn import --format text`.
    text_file = tmp_path / "running.txt"
    text_file.write_text("".join(c + "\n" for c in RUNNING_EXAMPLE))
    trace = str(tmp_path / "running.trace")
    assert main(["import", str(text_file), "--format", "text", "-o", trace]) == 0
    capsys.readouterr()

    status, out, _ = run_command(capsys, [trace, "--print", "rules"])
    assert status == 0
    assert out.splitlines() == RUNNING_EXAMPLE_RULES

    status, out, _ = run_command(capsys, [trace, "--freq", "3", "--print", "lowered"])
    assert status == 0
    assert out == "x 5 5 5 5 6 6 6 6 f 3 g 3 3\n"


def test_grammar_after_import_of_sessions(capsys, tmp_path):
    sessions_file = tmp_path / "sessions.txt"
    sessions_file.write_text("5 6 5 6\n5 6\n")
    trace = str(tmp_path / "sessions.trace")
    assert main(["import", str(sessions_file), "--format", "sessions", "-o", trace]) == 0
    capsys.readouterr()

    status, out, _ = run_command(capsys, [trace, "--json"])
    stats = json.loads(out)
    assert status == 0
    assert stats["sessions"] == 2
    assert stats["events"] == 6
    assert stats["kept_nonterminals"] == 1
    assert stats["lowered_length"] == 3


def test_grammar_rule_prefix_marks_rules(capsys, tmp_path):
    path = str(tmp_path / "numbers.trace")
    write_trace(path, "log", [0, 1, 0, 1], meta={"names": ["1", "2"]})
    status, out, _ = run_command(capsys, [path, "--print", "rules", "--rule-prefix", "R"])
    assert status == 0
    assert out.splitlines() == ["R0 -> R1 R1", "R1 -> 1 2"]


def test_grammar_letters_need_no_rule_prefix(capsys, running_example_trace):
    status, out, err = run_command(capsys, [running_example_trace, "--freq", "3",
                                            "--print", "lowered"])
    assert status == 0
    assert out == "x 5 5 5 5 6 6 6 6 f 3 g 3 3\n"
    assert err == ""


def test_grammar_numeric_names_get_rule_prefix(capsys, tmp_path):
    # Event names 1 2 3 and bare rule numbers made "1 1" mean rule 1 twice or event 1 twice.
    text_file = tmp_path / "numbers.txt"
    text_file.write_text("1\n2\n3\n1\n2\n3\n")
    trace = str(tmp_path / "numbers.trace")
    assert main(["import", str(text_file), "--format", "text", "-o", trace]) == 0
    capsys.readouterr()

    status, out, err = run_command(capsys, [trace, "--print", "lowered"])
    assert status == 0
    assert out == "R1 R1\n"
    assert err == ("complearn grammar: event name '1' reads as a rule number, so rules print "
                   "as R0, R1, ...; set --rule-prefix to choose the prefix\n")

    status, out, err = run_command(capsys, [trace, "--print", "rules"])
    assert status == 0
    assert out.splitlines() == ["R0 -> R1 R1", "R1 -> 1 2 3"]
    assert "reads as a rule number" in err


def test_grammar_empty_rule_prefix_keeps_bare_numbers(capsys, tmp_path):
    path = str(tmp_path / "numbers.trace")
    write_trace(path, "log", [0, 1, 0, 1], meta={"names": ["1", "2"]})
    status, out, err = run_command(capsys, [path, "--print", "rules", "--rule-prefix", ""])
    assert status == 0
    assert out.splitlines() == ["0 -> 1 1", "1 -> 1 2"]
    assert err == ""


def test_grammar_numeric_names_without_kept_rules(capsys, tmp_path):
    # No rule is kept, but the prefix note still marks every bare number as an event.
    path = str(tmp_path / "numbers.trace")
    write_trace(path, "log", [0, 1, 0, 1], meta={"names": ["1", "2"]})
    status, out, err = run_command(capsys, [path, "--freq", "3", "--print", "lowered"])
    assert status == 0
    assert out == "1 2 1 2\n"
    assert "event name '1' reads as a rule number" in err


def test_grammar_statistics_print_no_prefix_note(capsys, tmp_path):
    path = str(tmp_path / "numbers.trace")
    write_trace(path, "log", [0, 1, 0, 1], meta={"names": ["1", "2"]})
    status, _, err = run_command(capsys, [path, "--json"])
    assert status == 0
    assert err == ""


def test_grammar_memory_trace_needs_no_rule_prefix(capsys, tmp_path):
    path = str(tmp_path / "mem.trace")
    write_trace(path, "mem", [0x40, 0x41, 0x40, 0x41], flags=[0, 0, 1, 0])
    status, out, err = run_command(capsys, [path, "--print", "lowered"])
    assert status == 0
    assert out == "1 1\n"
    assert err == ""


def test_grammar_auto_prefix_avoids_name_clash(capsys, tmp_path):
    path = str(tmp_path / "mixed.trace")
    write_trace(path, "log", [0, 1, 0, 1], meta={"names": ["7", "R1"]})
    status, out, err = run_command(capsys, [path, "--print", "rules"])
    assert status == 0
    assert out.splitlines() == ["RR0 -> RR1 RR1", "RR1 -> 7 R1"]
    assert "rules print as RR0, RR1" in err


def test_grammar_unnamed_events_get_rule_prefix(capsys, tmp_path):
    path = str(tmp_path / "unnamed.trace")
    write_trace(path, "events", [4, 5, 4, 5])
    status, out, err = run_command(capsys, [path, "--print", "lowered", "--json"])
    assert status == 0
    assert json.loads(out) == {"lowered": "R1 R1"}
    assert "event name '4' reads as a rule number" in err
