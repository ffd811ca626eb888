"""Symbol names from pyelftools against GNU nm and objdump, PLT stubs and load bias."""
import re
import subprocess

import pytest

from tracer.records import Mapping
from tracer.symbols import ImageSymbols, Symbolizer
from tracer_support import CALLS_C, THREADS_C, compile_c, nm_functions

needs_gcc = pytest.mark.skipif(subprocess.run(["which", "gcc"], capture_output=True).returncode,
                               reason="gcc not installed")
pytestmark = needs_gcc


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    folder = tmp_path_factory.mktemp("symbols")
    return {
        "pie": compile_c(folder, "calls", CALLS_C),
        "nopie": compile_c(folder, "calls_nopie", CALLS_C, "-no-pie"),
        "ibt": compile_c(folder, "threads_ibt", THREADS_C, "-pthread", "-fcf-protection=full",
                         "-Wl,-z,ibtplt"),
        "now": compile_c(folder, "threads_now", THREADS_C, "-pthread", "-Wl,-z,now"),
    }


def objdump_plt(binary):
    """Return {address: "name@plt"} of PLT stubs as GNU objdump labels them."""
    output = subprocess.run(["objdump", "-d", str(binary)], check=True, capture_output=True,
                            text=True).stdout
    stubs = {}
    for address, name in re.findall(r"^([0-9a-f]+) <([^>]+@plt)>:", output, re.MULTILINE):
        stubs[int(address, 16)] = name
    return stubs


@pytest.mark.parametrize("variant", ["pie", "nopie", "ibt", "now"])
def test_function_names_match_nm(binaries, variant):
    symbols = ImageSymbols(str(binaries[variant]))
    functions = nm_functions(binaries[variant])
    for address, names in functions.items():
        assert symbols.name_at(address) in names


@pytest.mark.parametrize("variant", ["pie", "nopie", "ibt", "now"])
def test_plt_stubs_match_objdump(binaries, variant):
    symbols = ImageSymbols(str(binaries[variant]))
    ours = {address: name for address, name in symbols.names.items() if name.endswith("@plt")}
    assert ours == objdump_plt(binaries[variant])
    assert ours


def test_libc_irelative_plt_named_after_ifunc():
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    symbols = ImageSymbols(libc)
    ifuncs = {name for name in symbols.names.values() if name.endswith("@plt")}
    if not ifuncs:
        pytest.skip("this libc has no PLT stubs")
    assert "realloc@plt" in ifuncs or any(name.startswith("str") for name in ifuncs)


def test_non_elf_file_names_nothing(tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"not an elf file at all")
    symbols = ImageSymbols(str(data))
    assert symbols.names == {}
    assert symbols.link_address(0, 0x1000, 0x1000) is None


def test_symbolizer_load_bias_and_address_ids(binaries):
    binary = str(binaries["pie"])
    functions = nm_functions(binaries["pie"])
    f_address = next(address for address, names in functions.items() if "f" in names)
    symbolizer = Symbolizer()
    bias = 0x555555554000
    symbolizer.add_mapping(Mapping(bias, bias + 0x1000, 0, 0, 1, binary))
    symbolizer.add_mapping(Mapping(bias + 0x1000, bias + 0x2000, 0x1000, 0, 5, binary))

    callee = symbolizer.resolve(bias + f_address)
    assert (callee.name, callee.address, callee.named) == ("f", f_address, True)
    inside = symbolizer.resolve(bias + f_address + 1)
    assert (inside.name, inside.named) == (f"0x{f_address + 1:x}@calls", False)
    outside = symbolizer.resolve(0x7000)
    assert outside.name == "0x7000@[anonymous]"


def test_symbolizer_latest_mapping_wins(binaries):
    symbolizer = Symbolizer()
    symbolizer.add_mapping(Mapping(0x10000, 0x20000, 0, 0, 5, "/old.so"))
    symbolizer.add_mapping(Mapping(0x10000, 0x20000, 0, 5, 5, "/new.so"))
    assert symbolizer.mapping_at(0x10010).path == "/new.so"


def test_symbolizer_link_address_mapping(binaries):
    # Pin-style mapping: the record gives the link-time start, not a file offset.
    binary = str(binaries["nopie"])
    functions = nm_functions(binaries["nopie"])
    g_address = next(address for address, names in functions.items() if "g" in names)
    symbolizer = Symbolizer()
    symbolizer.add_mapping(Mapping(0x400000, 0x500000, 0x400000, 0, 0x85, binary))
    assert symbolizer.resolve(g_address).name == "g"


def test_pin_sources_and_makefile_exist():
    import pathlib

    pin = pathlib.Path(__file__).resolve().parent.parent / "plugin" / "pin"
    source = (pin / "complearn_pin.cpp").read_text()
    assert '#include "../common/records.h"' in source
    assert "makefile.config" in (pin / "makefile").read_text()
    assert "TEST_TOOL_ROOTS := complearn_pin" in (pin / "makefile.rules").read_text()


@pytest.mark.parametrize("variant", ["pie", "ibt", "now"])
def test_numpy_tables_match_pyelftools(binaries, variant, monkeypatch):
    import tracer.symbols

    fast = ImageSymbols(str(binaries[variant])).names
    monkeypatch.setattr(tracer.symbols, "_fast_layout", lambda elf: False)
    assert ImageSymbols(str(binaries[variant])).names == fast
