/* SPDX-License-Identifier: MIT OR GPL-2.0-or-later */
/*
 * The record stream that complearn's instrumentation tools write and
 * tracer/_build_records.py reads. Both the Valgrind tool and the Pin tools
 * include this header, and the cffi reader mirrors it, so a change here
 * changes all three.
 *
 * Framing. The stream starts with one cl_stream_header (16 bytes), then a
 * sequence of 8-byte records, each one little-endian 64-bit word (the tools
 * run on x86-64 only, so the native layout is the wire layout). Bit 0 of a
 * word distinguishes a memory record (0) from the others (1), whose low byte is a
 * tag:
 *
 *   memory    one load or store: word = address << 5 | size code << 2 |
 *             CL_MEM_STORE for a store (CL_MEM_WORD), where the access
 *             covers 1 << size code bytes (1 to 64, codes 0 to 6; code 7
 *             is not used, readers take it as 64 bytes) from the address.
 *             The reader turns it into the 64-byte blocks it touches: one,
 *             or two for an access that spans a block boundary. A tool that
 *             instruments an access of another size writes one record per
 *             block it touches, each with code 0 (CL_MEM_BLOCK_WORD).
 *   CALL      one executed call instruction: word = callee address << 8 |
 *             CL_TAG_CALL (CL_CALL_WORD; x86-64 user addresses fit 56 bits).
 *
 * Control records start with a header word (CL_CONTROL_WORD): bits 0-7 the
 * tag, bits 8-15 flags, bits 16-31 the number of payload words that follow,
 * bits 32-63 a 32-bit argument.
 *
 *   THREAD    the events after it come from thread `argument` (1 = main
 *             thread, the thread before the first THREAD record); no payload.
 *   MAP       a file was mapped: flags = the CL_PROT_* bits; payload = one
 *             cl_map_payload (5 words) and then the file path, padded with
 *             NUL bytes to a multiple of 8.
 *   END       the tool's last record: flags = CL_END_* bits, argument = the
 *             exit code that the tool saw (0 when it did not see one); payload
 *             = one word, the number of event records written.
 *
 *
 * Ring mode. When the reader shares chunks of memory with the tool, the
 * stream above is cut into chunks that the tool fills in place (no record
 * crosses the end of a chunk), and the pipe carries only one word per full
 * chunk: CHUNK, with argument = the number of bytes of stream in it. Chunks
 * are used in turn, 0, 1, ..., K-1, 0, ...; the reader gives one back by
 * writing one byte to the tool's free-chunk pipe.
 *
 * "Event records" are memory and CALL records; the record index of a mapping
 * is the number of event records written before its MAP record. A stream
 * that ends without an END record comes from a tool that was killed.
 * Version 1 of the stream had 16-byte records with a thread id in each;
 * version 2 had block numbers (block << 2 | store) in memory records.
 */
#ifndef COMPLEARN_RECORDS_H
#define COMPLEARN_RECORDS_H

#include <stdint.h>

#define CL_STREAM_MAGIC "CLRECS\0\0"
#define CL_STREAM_VERSION 3
#define CL_RECORD_SIZE 8
#define CL_BLOCK_SHIFT 6 /* 64-byte blocks */

/* Tags in the low byte of records other than memory records (bit 0 set). */
#define CL_TAG_CALL 0x01u
#define CL_TAG_THREAD 0x03u
#define CL_TAG_MAP 0x05u
#define CL_TAG_END 0x07u
#define CL_TAG_CHUNK 0x09u

/* Bit 1 of a memory record: the access is a store. */
#define CL_MEM_STORE 0x02u

#define CL_MEM_ADDRESS_SHIFT 5
#define CL_MEM_MAX_SIZE_CODE 6 /* 64 bytes */
#define CL_MEM_WORD(address, size_code, store)                                        \
    (((uint64_t)(address) << CL_MEM_ADDRESS_SHIFT) | ((uint64_t)(size_code) << 2)      \
     | ((store) ? CL_MEM_STORE : 0u))
#define CL_MEM_BLOCK_WORD(block, store) CL_MEM_WORD((uint64_t)(block) << CL_BLOCK_SHIFT, 0, store)
#define CL_MEM_WORD_ADDRESS(word) ((uint64_t)(word) >> CL_MEM_ADDRESS_SHIFT)
#define CL_MEM_WORD_SIZE(word)                                                      \
    ((uint64_t)1 << ((((word) >> 2) & 7u) == 7u ? 6u : (((word) >> 2) & 7u)))
#define CL_CALL_WORD(target) (((uint64_t)(target) << 8) | CL_TAG_CALL)
#define CL_CONTROL_WORD(tag, flags, payload_words, argument)                         \
    ((uint64_t)(tag) | ((uint64_t)((flags) & 0xffu) << 8)                             \
     | ((uint64_t)((payload_words) & 0xffffu) << 16) | ((uint64_t)(uint32_t)(argument) << 32))
#define CL_CONTROL_TAG(word) ((unsigned)((word) & 0xffu))
#define CL_CONTROL_FLAGS(word) ((unsigned)(((word) >> 8) & 0xffu))
#define CL_CONTROL_PAYLOAD(word) ((unsigned)(((word) >> 16) & 0xffffu))
#define CL_CONTROL_ARGUMENT(word) ((uint32_t)((word) >> 32))
#define CL_MAP_PAYLOAD_WORDS 5

/* The kinds of event records, as the reader reports them. */
enum cl_event_kind {
    CL_KIND_CALL = 1,
    CL_KIND_MEM = 2,
};

/* The flag that the reader reports for a store. */
#define CL_FLAG_STORE 0x01u

/* MAP flags: the mapping's permissions */
#define CL_PROT_READ 0x01u
#define CL_PROT_WRITE 0x02u
#define CL_PROT_EXEC 0x04u
/* MAP flag: file_offset contains the link-time address of the start,
   not a file offset. Pin sets it because it only reports the load bias. */
#define CL_MAP_LINK_ADDRESS 0x80u

/* END flags */
#define CL_END_STARTED 0x01u  /* the start symbol was reached */
#define CL_END_MAX 0x02u      /* recording stopped at the event limit */
#define CL_END_EXIT 0x04u     /* the argument is the program's exit code */

struct cl_stream_header {
    char magic[8];        /* CL_STREAM_MAGIC */
    uint32_t version;     /* CL_STREAM_VERSION */
    uint32_t record_size; /* CL_RECORD_SIZE */
};

struct cl_map_payload {
    uint64_t start;        /* first address of the mapping */
    uint64_t end;          /* first address after the mapping */
    uint64_t file_offset;  /* file offset mapped at the start address */
    uint64_t record_index; /* event records written before this mapping */
    uint64_t path_length;  /* bytes of path that follow, without padding */
};

/* The largest path a MAP record carries; tools truncate longer ones. */
#define CL_PATH_MAX 4096

#endif /* COMPLEARN_RECORDS_H */
