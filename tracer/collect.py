"""Collectors: turn chunks of event records into per-thread trace events.

``CallCollector`` names each new callee address once (``tracer.symbols``),
gives it a dense id, drops calls outside the selected images, and applies the
``skip``/``max`` window to the calls that pass the filter. ``MemCollector``
keeps the tool's memory records (block number and store bit) as they are. Both spool per thread and never hold
one Python object per record: names are looked up per distinct address.
"""
import os

import numpy as np

from tracer.records import KIND_CALL, KIND_MEM
from tracer.spool import ThreadSpools
from tracer.symbols import Symbolizer

DROPPED = -1


class ImageFilter:
    """Selection of the images whose functions a call trace keeps: "all", "main", file names."""

    def __init__(self, images, program):
        self.images = tuple(images)
        self.keep_all = "all" in self.images
        self.program = program
        self.names = {name for name in self.images if name not in ("all", "main")}

    def keeps(self, image_path):
        if self.keep_all:
            return True
        if "main" in self.images and _same_file(image_path, self.program):
            return True
        base = os.path.basename(image_path)
        # "libc" selects libc.so.6 but not libcrypt.so.1.
        return any(base == name or base.startswith(name + ".") or image_path == name
                   for name in self.names)


def _same_file(first, second):
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


class _Window:
    """The skip/max window over a stream of kept events."""

    def __init__(self, skip, max_events):
        self.skip = skip
        self.max_events = max_events  # None = no limit
        self.seen = 0
        self.kept = 0

    def cut(self, count):
        """Return the ``slice`` of the next ``count`` events that falls inside the window."""
        begin = min(max(self.skip - self.seen, 0), count)
        end = count
        if self.max_events is not None:
            end = min(count, begin + max(self.max_events - self.kept, 0))
        self.seen += count
        self.kept += end - begin
        return slice(begin, end)

    @property
    def full(self):
        return self.max_events is not None and self.kept >= self.max_events


class CallCollector:
    """Collect call events as dense function ids, sessions by thread."""

    kind = "calls"

    def __init__(self, folder, program, images, skip, max_events, compress=False):
        self.symbolizer = Symbolizer()
        self.filter = ImageFilter(images, program)
        self.window = _Window(skip, max_events)
        self.spools = ThreadSpools(folder, has_flags=False, compress=compress)
        self.ids = {}  # run-time address -> id or DROPPED
        self.callees = []  # id -> tracer.symbols.Callee
        self.names = []  # id -> unique name
        self._used_names = set()
        self._table_addresses = np.zeros(0, dtype=np.int64)  # sorted keys of self.ids
        self._table_ids = np.zeros(0, dtype=np.int64)

    def add_mapping(self, mapping):
        self.symbolizer.add_mapping(mapping)

    def add(self, events):
        """Add a chunk of ``tracer.records.Events``."""
        values, tids = events.values, events.tids
        if not np.all(events.kinds == KIND_CALL):
            mask = events.kinds == KIND_CALL
            values, tids = values[mask], tids[mask]
        if len(values) == 0:
            return

        # 1. Look the addresses up in the sorted table of known ones; name the
        #    new ones (rare after the first chunks) and look up again.
        ids = self._lookup(values)
        if ids is None:
            for address in np.unique(values):
                self._id_of(int(address))
            self._rebuild_table()
            ids = self._lookup(values)

        # 2. Drop calls outside the selected images, then apply the window.
        selected = ids != DROPPED
        ids, tids = ids[selected], tids[selected]
        window = self.window.cut(len(ids))
        self.spools.append(ids[window], None, tids[window])

    @property
    def num_events(self):
        return self.spools.num_events

    def meta(self):
        """Return the call-trace part of the metadata: names and symbol table."""
        symbols = [{"name": name, "image": callee.image, "address": f"0x{callee.address:x}",
                    "named": callee.named}
                   for name, callee in zip(self.names, self.callees)]
        return {"names": list(self.names), "symbols": symbols}

    def _lookup(self, values):
        """Return the ids of ``values``, or None when one of them is not in the table."""
        if len(self._table_addresses) == 0:
            return None
        positions = np.searchsorted(self._table_addresses, values)
        np.minimum(positions, len(self._table_addresses) - 1, out=positions)
        if not np.array_equal(self._table_addresses[positions], values):
            return None
        return self._table_ids[positions]

    def _rebuild_table(self):
        addresses = np.fromiter(self.ids.keys(), dtype=np.int64, count=len(self.ids))
        order = np.argsort(addresses)
        self._table_addresses = addresses[order]
        self._table_ids = np.fromiter(self.ids.values(), dtype=np.int64, count=len(self.ids))[order]

    def _id_of(self, address):
        if address in self.ids:
            return self.ids[address]
        callee = self.symbolizer.resolve(address)
        if not self.filter.keeps(callee.image):
            self.ids[address] = DROPPED
            return DROPPED
        # NOTE: an address keeps its first name for the whole run, so code that
        # dlclose() unmaps and another library reuses is named after the first.
        identifier = len(self.callees)
        self.ids[address] = identifier
        self.callees.append(callee)
        self.names.append(self._unique_name(callee))
        return identifier

    def _unique_name(self, callee):
        # Two functions may share a name (f in two libraries, static functions).
        base = os.path.basename(callee.image)
        candidates = [callee.name, f"{callee.name}@{base}",
                      f"{callee.name}@0x{callee.address:x}@{base}"]
        name = next((name for name in candidates if name not in self._used_names), None)
        counter = 2
        while name is None or name in self._used_names:
            # The same image mapped twice gives the same address twice.
            name = f"{candidates[-1]}#{counter}"
            counter += 1
        self._used_names.add(name)
        return name


class MemCollector:
    """Collect memory events as block numbers with the store bit, sessions by thread."""

    kind = "mem"

    def __init__(self, folder, skip, max_events, compress=True):
        # The tool applies the window; this one only guards the limit.
        self.window = _Window(0, max_events)
        self.spools = ThreadSpools(folder, has_flags=True, compress=compress, packed=True)
        self.mappings = []

    def add_mapping(self, mapping):
        self.mappings.append(mapping)

    def add_packed(self, events):
        """Add ``tracer.records.PackedEvents`` packed into a buffer of ``spools.take_buffer``.

        Memory traces run the tool without calls, so every event is a memory event.
        """
        count = events.num_events
        if self.window.max_events is not None:
            window = self.window.cut(count)
            count = window.stop - window.start  # the tool applied the skip, so start is 0
        self.spools.append_packed(events.buffer, events.length, count, events.tid)

    @property
    def num_events(self):
        return self.spools.num_events

    def meta(self):
        return {}
