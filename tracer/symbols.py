"""Offline symbolization of call targets with pyelftools.

A callee address recorded at run time becomes a link-time address through the
load bias of the mapping that contains it, taken from the tool's mapping log.
The name comes from the image's ``.symtab`` and ``.dynsym`` function symbols
(``STT_FUNC`` and ``STT_GNU_IFUNC``). A PLT stub is named after the relocation
that fills the GOT slot its ``jmp *slot(%rip)`` reads.

Only exact function entries get a name. A call target that is no symbol's
entry (stripped code, a local function without a symbol) becomes an address id
``0x<link-time address>@<image file name>``: in stripped code the nearest
preceding symbol is usually another function, so guessing would be wrong.
"""
import dataclasses
import logging
import os
import struct

import numpy as np

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

log = logging.getLogger(__name__)

# x86-64 relocation types that fill a GOT slot a PLT stub jumps through
# (System V AMD64 ABI, table "Relocation Types").
R_X86_64_GLOB_DAT = 6
R_X86_64_JUMP_SLOT = 7
R_X86_64_IRELATIVE = 37
_SLOT_RELOCATIONS = (R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT, R_X86_64_IRELATIVE)
_PLT_SECTIONS = (".plt", ".plt.sec", ".plt.got")
_JMP_RIP = b"\xff\x25"  # jmp *disp32(%rip)
# pyelftools names type 10 (STT_GNU_IFUNC in the GNU ABI) after its range, STT_LOOS.
_FUNCTION_TYPES = ("STT_FUNC", "STT_GNU_IFUNC", "STT_LOOS")
_BINDING_RANK = {"STB_GLOBAL": 0, "STB_WEAK": 1, "STB_LOCAL": 2}


@dataclasses.dataclass(frozen=True)
class Callee:
    """A resolved call target."""

    name: str  # symbol name, "name@plt", or an address id "0x...@image"
    image: str  # path of the mapped file, "[anonymous]" outside any file
    address: int  # link-time address in the image (run-time address when anonymous)
    named: bool  # False for an address id


class ImageSymbols:
    """Function entry names and load segments of one ELF file."""

    def __init__(self, path):
        self.path = path
        self.names = {}  # link-time entry address -> name
        self.segments = []  # (p_offset, p_vaddr, p_filesz) of each PT_LOAD
        try:
            with open(path, "rb") as handle:
                elf = ELFFile(handle)
                self._read_segments(elf)
                self._read_functions(elf)
                self._read_plt(elf)
        except (OSError, ELFError, struct.error) as error:
            # Data files (locale archives, caches) are mapped too; they name nothing.
            log.debug("no symbols from %s: %s", path, error)

    def link_address(self, file_offset, run_address, mapping_start):
        """Return the link-time address of ``run_address`` in a mapping of this file.

        The mapping starts at ``mapping_start`` and maps ``file_offset``; the
        PT_LOAD segment that covers that offset gives the link-time address.
        Returns None when no segment covers the offset.
        """
        for p_offset, p_vaddr, p_filesz in self.segments:
            page_start = p_offset & ~0xFFF
            if page_start <= file_offset < max(p_offset + p_filesz, page_start + 1):
                link_start = p_vaddr - p_offset + file_offset
                return run_address - mapping_start + link_start
        return None

    def name_at(self, link_address):
        """Return the function or PLT stub name at an entry address, or None."""
        return self.names.get(link_address)

    def _read_segments(self, elf):
        for segment in elf.iter_segments():
            if segment["p_type"] == "PT_LOAD":
                self.segments.append((segment["p_offset"], segment["p_vaddr"], segment["p_filesz"]))

    def _read_functions(self, elf):
        # Several names may share an entry (aliases such as malloc and
        # __libc_malloc): keep the global, then the one with fewer leading "_".
        best = {}
        for section_name in (".symtab", ".dynsym"):
            section = elf.get_section_by_name(section_name)
            if section is None:
                continue
            for address, binding, name in _iter_functions(elf, section):
                name = name.split("@")[0]
                rank = (_BINDING_RANK.get(binding, 3), len(name) - len(name.lstrip("_")), name)
                if address not in best or rank < best[address][0]:
                    best[address] = (rank, name)
        self.names = {address: name for address, (_, name) in best.items()}

    def _read_plt(self, elf):
        slots = self._read_slots(elf)
        if not slots:
            return
        for section_name in _PLT_SECTIONS:
            section = elf.get_section_by_name(section_name)
            if section is None or section["sh_type"] == "SHT_NOBITS":
                continue
            base = section["sh_addr"]
            entry_size = section["sh_entsize"] or 16
            data = section.data()
            position = data.find(_JMP_RIP)
            while 0 <= position <= len(data) - 6:
                displacement = struct.unpack_from("<i", data, position + 2)[0]
                slot = base + position + 6 + displacement
                if slot in slots:
                    entry = base + position // entry_size * entry_size
                    self.names.setdefault(entry, f"{slots[slot]}@plt")
                position = data.find(_JMP_RIP, position + 1)

    def _read_slots(self, elf):
        """Return GOT slot address -> name of the function its relocation binds."""
        slots = {}
        for section in elf.iter_sections():
            if not isinstance(section, RelocationSection):
                continue
            for offset, kind, addend, name in _iter_relocations(elf, section):
                if kind not in _SLOT_RELOCATIONS:
                    continue
                if kind == R_X86_64_IRELATIVE:
                    # The addend is the IFUNC resolver, whose symbol names the function.
                    name = self.names.get(addend)
                if name:
                    slots[offset] = name.split("@")[0]
        return slots


# ELF64 little-endian layouts (System V gABI, "Symbol Table" and "Relocation").
# Reading whole tables with numpy is far faster than pyelftools' per-entry
# parsing, which matters because images load while the program is recording.
_SYMBOL_DTYPE = np.dtype([("st_name", "<u4"), ("st_info", "u1"), ("st_other", "u1"),
                          ("st_shndx", "<u2"), ("st_value", "<u8"), ("st_size", "<u8")])
_RELA_DTYPE = np.dtype([("r_offset", "<u8"), ("r_info", "<u8"), ("r_addend", "<i8")])
_STT_FUNC, _STT_GNU_IFUNC = 2, 10
_BINDINGS = {0: "STB_LOCAL", 1: "STB_GLOBAL", 2: "STB_WEAK"}


def _fast_layout(elf):
    return elf.elfclass == 64 and elf.little_endian


def _string_at(table, offset):
    end = table.find(b"\0", offset)
    return table[offset:end if end >= 0 else len(table)].decode("utf-8", "replace")


def _iter_functions(elf, section):
    """Yield ``(st_value, binding, name)`` of defined function symbols of a symbol table."""
    if not _fast_layout(elf):
        for symbol in section.iter_symbols():
            info = symbol["st_info"]
            if (info["type"] in _FUNCTION_TYPES and symbol["st_shndx"] != "SHN_UNDEF"
                    and symbol["st_value"] and symbol.name):
                yield symbol["st_value"], info["bind"], symbol.name
        return

    symbols = np.frombuffer(section.data(), dtype=_SYMBOL_DTYPE)
    strings = elf.get_section(section["sh_link"]).data()
    types = symbols["st_info"] & 0xF
    selected = (((types == _STT_FUNC) | (types == _STT_GNU_IFUNC))
                & (symbols["st_shndx"] != 0) & (symbols["st_value"] != 0) & (symbols["st_name"] != 0))
    for symbol in symbols[selected]:
        name = _string_at(strings, int(symbol["st_name"]))
        if name:
            yield int(symbol["st_value"]), _BINDINGS.get(int(symbol["st_info"]) >> 4), name


def _iter_relocations(elf, section):
    """Yield ``(r_offset, type, r_addend, symbol name or None)`` of a relocation section."""
    symbols = elf.get_section(section["sh_link"]) if section["sh_link"] else None
    if not (_fast_layout(elf) and section["sh_type"] == "SHT_RELA"):
        for relocation in section.iter_relocations():
            index = relocation["r_info_sym"]
            name = symbols.get_symbol(index).name if symbols is not None and index else None
            yield (relocation["r_offset"], relocation["r_info_type"],
                   relocation.entry.get("r_addend", 0), name)
        return

    relocations = np.frombuffer(section.data(), dtype=_RELA_DTYPE)
    types = (relocations["r_info"] & 0xFFFFFFFF).astype(np.int64)
    wanted = np.isin(types, _SLOT_RELOCATIONS)
    table, strings = None, None
    if symbols is not None and symbols["sh_type"] in ("SHT_DYNSYM", "SHT_SYMTAB"):
        table = np.frombuffer(symbols.data(), dtype=_SYMBOL_DTYPE)
        strings = elf.get_section(symbols["sh_link"]).data()
    for relocation, kind in zip(relocations[wanted], types[wanted]):
        index = int(relocation["r_info"]) >> 32
        name = None
        if table is not None and 0 < index < len(table):
            name = _string_at(strings, int(table[index]["st_name"]))
        yield int(relocation["r_offset"]), int(kind), int(relocation["r_addend"]), name


class Symbolizer:
    """Resolve run-time call targets with the mapping log, loading images lazily."""

    def __init__(self):
        self._mappings = []  # in order of appearance: later ones cover earlier ones
        self._images = {}

    def add_mapping(self, mapping):
        """Record a file mapping (a ``tracer.records.Mapping``)."""
        self._mappings.append(mapping)

    def mapping_at(self, address):
        """Return the latest mapping that contains ``address``, or None."""
        for mapping in reversed(self._mappings):
            if mapping.start <= address < mapping.end:
                return mapping
        return None

    def image(self, path) -> ImageSymbols:
        if path not in self._images:
            self._images[path] = ImageSymbols(path)
        return self._images[path]

    def resolve(self, address) -> Callee:
        """Name a call target with the mappings recorded so far."""
        mapping = self.mapping_at(address)
        if mapping is None:
            return Callee(f"0x{address:x}@[anonymous]", "[anonymous]", address, False)
        symbols = self.image(mapping.path)
        if mapping.link_address_given:
            link_address = address - mapping.start + mapping.file_offset
        else:
            link_address = symbols.link_address(mapping.file_offset, address, mapping.start)
        if link_address is None:
            link_address = address - mapping.start + mapping.file_offset
        name = symbols.name_at(link_address)
        if name is None:
            return Callee(address_id(link_address, mapping.path), mapping.path, link_address, False)
        return Callee(name, mapping.path, link_address, True)

    @property
    def mappings(self):
        return list(self._mappings)


def address_id(link_address, path):
    """Return the name used for an unnamed function: ``0x401136@prog``."""
    return f"0x{link_address:x}@{os.path.basename(path)}"

