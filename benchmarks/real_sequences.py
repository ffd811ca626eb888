"""Loaders for the real event sequences the benchmarks read.

The files come from the data folder beside the repository (``shared/data``),
or from the folder COMPLEARN_SHARED_DATA names. Each loader returns
``(events, session_starts)`` with int64 events >= 0.
"""
import csv
import gzip
import os
import pathlib

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED_DATA = pathlib.Path(os.environ.get("COMPLEARN_SHARED_DATA", REPO.parent / "shared" / "data"))


def loghub_event_ids(system: str):
    """EventId column of LogHub's ``<system>_2k.log_structured.csv`` as dense ids."""
    path = SHARED_DATA / "loghub" / system / f"{system}_2k.log_structured.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        keys = [row["EventId"] for row in csv.DictReader(handle)]
    ids = {}
    events = np.array([ids.setdefault(key, len(ids)) for key in keys], dtype=np.int64)
    return events, np.zeros(1, dtype=np.int64)


def hdfs_sessions():
    """DeepLog's hdfs_train: one session per line of space-separated log keys."""
    path = SHARED_DATA / "deeplog_hdfs" / "hdfs_train"
    sessions = [[int(v) for v in line.split()] for line in open(path, encoding="utf-8")]
    sessions = [s for s in sessions if s]
    starts = np.cumsum([0] + [len(s) for s in sessions[:-1]]).astype(np.int64)
    return np.array([v for s in sessions for v in s], dtype=np.int64), starts


def libquantum_blocks():
    """64-byte block numbers of the DPC-2 libquantum trace, in program order."""
    path = SHARED_DATA / "dpc2" / "dpc2_libquantum_blocks64.txt.gz"
    with gzip.open(path, "rt") as handle:
        events = np.array([int(line) for line in handle], dtype=np.int64)
    return events, np.zeros(1, dtype=np.int64)
