/* SPDX-License-Identifier: MIT OR GPL-2.0-or-later */
/*
 * The record stream that complearn's instrumentation tools write and
 * tracer/_build_records.py reads. Both the Valgrind tool and the Pin tools
 * include this header, and the cffi reader mirrors it, so a change here
 * changes all three.
 *
 * Framing. The stream starts with one cl_stream_header (16 bytes), then a
 * sequence of fixed-size 16-byte records, all little-endian (the tools run
 * on x86-64 only, so the native layout is the wire layout):
 *
 *   CL_KIND_CALL  one executed call instruction: value = callee address,
 *                 tid = the tool's thread id.
 *   CL_KIND_MEM   one 64-byte block touched by a load or store: value =
 *                 address >> 6, flags bit CL_FLAG_STORE set for a store.
 *                 An access that spans two blocks gives two records.
 *   CL_KIND_MAP   a file was mapped: value = start address, flags = the
 *                 CL_PROT_* bits, tid = the number of payload records that
 *                 follow. The payload is one cl_map_payload (32 bytes, two
 *                 records) and then the file path, padded with NUL bytes to
 *                 a multiple of 16. Payload records are not events.
 *   CL_KIND_END   the tool's last record: value = the number of event
 *                 records written, flags = CL_END_* bits, tid = the exit
 *                 code that the tool saw (0 when it did not see one).
 *
 * "Event records" are CALL and MEM records; the record index of a mapping
 * is the number of event records written before its MAP record. A stream
 * that ends without an END record comes from a tool that was killed.
 */
#ifndef COMPLEARN_RECORDS_H
#define COMPLEARN_RECORDS_H

#include <stdint.h>

#define CL_STREAM_MAGIC "CLRECS\0\0"
#define CL_STREAM_VERSION 1
#define CL_RECORD_SIZE 16
#define CL_BLOCK_SHIFT 6 /* 64-byte blocks */

enum cl_record_kind {
    CL_KIND_CALL = 1,
    CL_KIND_MEM = 2,
    CL_KIND_MAP = 3,
    CL_KIND_END = 4,
};

/* CL_KIND_MEM flags */
#define CL_FLAG_STORE 0x01u

/* CL_KIND_MAP flags: the mapping's permissions */
#define CL_PROT_READ 0x01u
#define CL_PROT_WRITE 0x02u
#define CL_PROT_EXEC 0x04u
/* CL_KIND_MAP flag: file_offset contains the link-time address of the start,
   not a file offset. Pin sets it because it only reports the load bias. */
#define CL_MAP_LINK_ADDRESS 0x80u

/* CL_KIND_END flags */
#define CL_END_STARTED 0x01u  /* the start symbol was reached */
#define CL_END_MAX 0x02u      /* recording stopped at the event limit */
#define CL_END_EXIT 0x04u     /* tid contains the program's exit code */

struct cl_stream_header {
    char magic[8];        /* CL_STREAM_MAGIC */
    uint32_t version;     /* CL_STREAM_VERSION */
    uint32_t record_size; /* CL_RECORD_SIZE */
};

struct cl_record {
    uint8_t kind;    /* enum cl_record_kind */
    uint8_t flags;   /* kind-specific, see above */
    uint16_t reserved;
    uint32_t tid;    /* thread id (1 = main thread), or kind-specific */
    uint64_t value;  /* callee address, block number or map start */
};

struct cl_map_payload {
    uint64_t end;          /* first address after the mapping */
    uint64_t file_offset;  /* file offset mapped at the start address */
    uint64_t record_index; /* event records written before this mapping */
    uint64_t path_length;  /* bytes of path that follow, without padding */
};

#endif /* COMPLEARN_RECORDS_H */
