"""The example workloads in examples/programs: build, determinism, size argument."""
import pathlib
import re
import shutil
import subprocess

import pytest

PROGRAM_DIR = pathlib.Path(__file__).resolve().parent.parent / "examples" / "programs"
PROGRAMS = sorted(path.stem for path in PROGRAM_DIR.glob("*.c"))
# A small size for each program other than its default, so outputs must differ.
OTHER_SIZE = {"fluid": "12", "wave": "10", "tree": "300", "molecule": "64"}


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    """Build every program with the Makefile into a fresh folder; returns that folder."""
    if shutil.which("make") is None or shutil.which("gcc") is None:
        pytest.skip("make or gcc not installed: the example programs cannot be built")
    out = tmp_path_factory.mktemp("programs")
    build = subprocess.run(["make", "-C", str(PROGRAM_DIR), f"BUILD={out}"],
                           capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    assert "warning" not in build.stderr, build.stderr
    return out


def _run(binary, *args):
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_program_list_is_complete():
    assert PROGRAMS == sorted(OTHER_SIZE)


def test_makefile_keeps_calls_visible():
    makefile = (PROGRAM_DIR / "Makefile").read_text()
    for flag in ("-fno-inline", "-fno-optimize-sibling-calls", "-g"):
        assert flag in makefile


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_is_deterministic(build_dir, name):
    first = _run(build_dir / name)
    second = _run(build_dir / name)
    assert first == second
    assert re.search(r"checksum=\S+", first), first


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_size_changes_output(build_dir, name):
    default = _run(build_dir / name)
    small = _run(build_dir / name, OTHER_SIZE[name])
    assert f"n={OTHER_SIZE[name]} " in small
    assert small != default
    assert small.split("checksum=")[1] != default.split("checksum=")[1]
    assert _run(build_dir / name, OTHER_SIZE[name]) == small


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_rejects_bad_size(build_dir, name):
    result = subprocess.run([str(build_dir / name), "12x"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{name}: invalid size '12x', expected an integer in ")


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_header_describes_model(name):
    source = (PROGRAM_DIR / f"{name}.c").read_text()
    header = source.split("*/", 1)[0]
    assert header.startswith(f"/*\n * {name}: ")
    assert "argv[1]" in header


def test_helpers_are_real_symbols(build_dir):
    """-fno-inline keeps the per-cell and per-pair helpers as functions a tracer can see."""
    if shutil.which("nm") is None:
        pytest.skip("nm not installed")
    expected = {"fluid": {"collide_cell", "stream_cell", "equilibrium", "cell_moments"},
                "wave": {"update_point", "laplacian_at"},
                "tree": {"insert", "find", "delete_key", "next_random"},
                "molecule": {"pair_force", "separation", "cell_pair_forces", "kick_particle"}}
    for name, functions in expected.items():
        symbols = subprocess.run(["nm", str(build_dir / name)], capture_output=True, text=True,
                                 check=True).stdout
        defined = {line.split()[-1] for line in symbols.splitlines() if " t " in line or " T " in line}
        assert functions <= defined, (name, functions - defined)
