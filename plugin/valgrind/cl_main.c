/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * complearn: a Valgrind tool that records call targets and 64-byte memory
 * blocks as the 8-byte records of plugin/common/records.h.
 *
 * Copyright (C) 2026 the complearn authors.
 *
 * This program is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License as published by the Free
 * Software Foundation; either version 2 of the License, or (at your option)
 * any later version. See COPYING in this folder.
 *
 * How it works. Guest chasing is turned off, so VEX ends a superblock at
 * every call instruction with jump kind Ijk_Call, and the tool writes the
 * CALL record of the target before that exit. Loads and stores write their
 * records too, in program order, all with inline IR (no helper calls). Records go into a chunk
 * of memory that is written to --out-fd, or shared with the reader (ring
 * mode, see the recording state below), when full and at exit. File
 * mappings are written as MAP records whether or not recording has
 * started, because the reader needs them to symbolize call targets.
 *
 * Recording starts when the superblock at the entry of the --start-at
 * function first runs. For --start-at=main in a binary without a "main"
 * symbol, the first argument of __libc_start_main (register rdi at its
 * entry) gives main's address instead.
 */
#include <stdint.h>

#include "pub_tool_basics.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_aspacemgr.h"
#include "pub_tool_debuginfo.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcfile.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_libcproc.h"
#include "pub_tool_machine.h"
#include "pub_tool_options.h"
#include "pub_tool_threadstate.h"
#include "pub_tool_vki.h"
#include "libvex_guest_offsets.h"

#include "../common/records.h"

/* NOTE: a core function that the tool headers of Valgrind 3.19 do not
   declare. It moves a file descriptor above the client's limit, where the
   client cannot close it, and sets close-on-exec. */
extern Int VG_(safe_fd)(Int oldfd);
/* NOTE: also not in the tool headers: maps a file shared, away from the
   client's address space. */
extern SysRes VG_(am_shared_mmap_file_float_valgrind)(SizeT length, UInt prot, Int fd,
                                                      Off64T offset);

/* The buffer of pipe mode, in records. */
#define PIPE_CHUNK_RECORDS (65536 + SPARE_RECORDS)
/* Records past the limit that one superblock may write, see cl_instrument. */
#define SPARE_RECORDS 1024
/* A chunk with less room than this for events is sent. */
#define SEND_THRESHOLD 8192
/* The smallest ring chunk: room for the largest control record as well. */
#define MIN_CHUNK_BYTES (64 * 1024)
/* The largest chunk: a CHUNK record's 32-bit argument, rounded down to whole records. */
#define CHUNK_BYTES_MAX (0xffffffffu / CL_RECORD_SIZE * CL_RECORD_SIZE)

/* Command-line options. */
static Bool clo_calls = True;
static Bool clo_mem = False;
static Int clo_out_fd = -1;
static Int clo_ring_fd = -1;
static Int clo_free_fd = -1;
static Long clo_ring_chunks = 0;
static Long clo_chunk_bytes = 0;
static const HChar *clo_start_at = "main";
static Long clo_skip = 0;
static Long clo_max = 0; /* 0 = no limit */

/* Recording state. Valgrind runs one guest thread at a time, so the
   helpers need no locks.

   Records go into a chunk of memory. Memory accesses write their records
   at `cursor` with inline IR, without a helper call, and call
   buffer_full() only when `cursor` reaches `limit`. buffer_full() applies
   the skip/max window: the records from `committed` to `cursor` that fall
   inside it are kept (committed moves past them), the others dropped.
   `limit` marks where the window or the chunk's room for events ends.
   While not recording, `limit` equals `cursor`, so every access reaches
   buffer_full(), which drops it.
   The SPARE_RECORDS after the limit take what one superblock writes past
   it: the second record of a spanning access, or a batch (see
   cl_instrument). So `chunk_end - committed` stays above SPARE_RECORDS.

   Two ways out of the tool:
   - pipe mode (--out-fd only): the chunk is a static buffer whose records
     are written to --out-fd when it fills;
   - ring mode (--ring-fd): the chunks are --ring-chunks slices of a shared
     memory file that the reader maps as well. A full chunk is handed over
     by writing one CHUNK record with its size to --out-fd, and the tool
     moves on to the next slice. The reader gives each slice back by writing
     one byte to --free-fd after it has read it. This saves the two copies
     of every record through the pipe. */
static Int out_fd = -1;
static Int free_fd = -1;
static Bool output_closed = False; /* True once writing failed or ended */
static Bool recording = False;
static Bool started = False;
static Bool limit_reached = False;
static Addr fallback_start = 0; /* main's address taken from __libc_start_main */
static ULong events_seen = 0;    /* events skipped so far, up to --skip */
static ULong events_written = 0; /* event records written */

static ULong pipe_buffer[PIPE_CHUNK_RECORDS];
/* Where a forked child or a tool whose reader is gone writes its records. */
static ULong scratch[4 * SPARE_RECORDS];

static ULong *chunk = pipe_buffer;
static ULong *chunk_end = pipe_buffer + PIPE_CHUNK_RECORDS;
static ULong *committed = pipe_buffer;
static ULong *cursor = pipe_buffer;
static ULong *limit = pipe_buffer;
static UInt stream_tid = 1; /* thread of the events after the last THREAD record */

static ULong *ring = NULL;     /* ring mode: the shared chunks */
static ULong ring_records = 0; /* records per chunk */
static Long ring_index = 0;    /* the chunk being filled */
static Long free_chunks = 0;   /* chunks given back by the reader, not yet reused */

/* Control records (mappings) that arrive before the output is open. */
static UChar early[16384];
static SizeT early_used = 0;

static void set_limit(void)
{
    ULong room = (ULong)(chunk_end - committed) - SPARE_RECORDS;

    cursor = committed;
    if (!recording) {
        limit = cursor;
        return;
    }
    if (events_seen < (ULong)clo_skip) {
        if ((ULong)clo_skip - events_seen < room)
            room = (ULong)clo_skip - events_seen;
    } else if (clo_max > 0 && (ULong)clo_max - events_written < room) {
        room = (ULong)clo_max - events_written;
    }
    limit = committed + (room > 0 ? room : 1);
}

/* Stop recording for good and write what is left into the scratch area. */
static void use_scratch(void)
{
    chunk = committed = scratch;
    chunk_end = scratch + sizeof scratch / sizeof scratch[0];
    ring = NULL;
    recording = False;
    set_limit();
}

static void close_output(void)
{
    if (out_fd >= 0)
        VG_(close)(out_fd);
    if (free_fd >= 0)
        VG_(close)(free_fd);
    out_fd = free_fd = -1;
    output_closed = True;
}

static void write_all(const void *data, SizeT length)
{
    const UChar *bytes = data;

    while (length > 0 && out_fd >= 0) {
        Int done = VG_(write)(out_fd, bytes, length);
        if (done <= 0) {
            /* The reader is gone: stop writing, keep the program running. */
            VG_(umsg)("complearn: writing records failed; recording stops\n");
            close_output();
            use_scratch();
            return;
        }
        bytes += done;
        length -= done;
    }
}

/* Block until the reader gives at least one chunk back. */
static void wait_for_free_chunk(void)
{
    UChar tokens[64];
    Int got = free_fd >= 0 ? VG_(read)(free_fd, tokens, sizeof tokens) : -1;

    if (got <= 0) {
        VG_(umsg)("complearn: the record reader stopped; recording stops\n");
        close_output();
        use_scratch();
        return;
    }
    free_chunks += got;
}

/* Hand the committed records of the chunk to the reader and start an empty one.
   Call with no records pending (cursor == committed). */
static void send_chunk(void)
{
    SizeT bytes = (SizeT)(committed - chunk) * sizeof chunk[0];

    if (bytes > 0 && out_fd >= 0) {
        if (ring == NULL) {
            write_all(chunk, bytes);
        } else {
            ULong note = CL_CONTROL_WORD(CL_TAG_CHUNK, 0, 0, bytes);
            write_all(&note, sizeof note);
            if (ring != NULL && free_chunks == 0)
                wait_for_free_chunk();
            if (ring != NULL) {
                free_chunks -= 1;
                ring_index = (ring_index + 1) % clo_ring_chunks;
                chunk = ring + (ULong)ring_index * ring_records;
                chunk_end = chunk + ring_records;
            }
        }
    }
    committed = chunk;
    set_limit();
}

/* The number of events that a record stands for: two for an access that
   spans a block boundary, else one. */
static ULong record_events(ULong record)
{
    Addr first, last;

    if ((record & 1u) != 0)
        return 1; /* a call */
    first = CL_MEM_WORD_ADDRESS(record);
    last = first + CL_MEM_WORD_SIZE(record) - 1;
    return (first >> CL_BLOCK_SHIFT) == (last >> CL_BLOCK_SHIFT) ? 1 : 2;
}

/* Keep the buffered records that fall inside the skip/max window. The skip
   counts events (blocks) but the limit counts records, and a record that
   spans two blocks is two events. So the tool may write up to twice --max
   events, and the reader cuts them to --max. */
static void flush_events(void)
{
    ULong pending = (ULong)(cursor - committed);
    ULong dropped = 0, kept;

    if (!recording || pending == 0) {
        set_limit();
        return;
    }
    /* Skip whole records; an access that spans the end of the skip keeps
       the block after it. */
    while (dropped < pending && events_seen < (ULong)clo_skip) {
        ULong *record = committed + dropped;
        ULong events = record_events(*record);
        if (events_seen + events > (ULong)clo_skip) {
            Addr last = CL_MEM_WORD_ADDRESS(*record) + CL_MEM_WORD_SIZE(*record) - 1;
            *record = CL_MEM_BLOCK_WORD(last >> CL_BLOCK_SHIFT, (*record & CL_MEM_STORE) != 0);
            events_seen = (ULong)clo_skip;
            break;
        }
        events_seen += events;
        dropped += 1;
    }
    kept = pending - dropped;
    if (clo_max > 0 && events_written + kept >= (ULong)clo_max) {
        kept = (ULong)clo_max - events_written;
        recording = False;
        limit_reached = True;
    }
    if (dropped > 0 && kept > 0)
        VG_(memmove)(committed, committed + dropped, (SizeT)kept * sizeof committed[0]);
    committed += kept;
    events_written += kept;
    if ((ULong)(chunk_end - committed) < SPARE_RECORDS + SEND_THRESHOLD)
        send_chunk();
    else
        set_limit();
}

static void buffer_full(void)
{
    flush_events();
}

/* Append `length` bytes as whole records, the last one padded with NUL
   bytes; events before them are kept first. */
static void put_words(const void *data, SizeT length)
{
    SizeT words = (length + CL_RECORD_SIZE - 1) / CL_RECORD_SIZE;

    flush_events();
    if ((ULong)(chunk_end - committed) < words + SPARE_RECORDS + 1)
        send_chunk();
    if (output_closed)
        return;
    if (words > 0)
        committed[words - 1] = 0;
    VG_(memcpy)(committed, data, length);
    committed += words;
    set_limit();
}

/* Write a control record: its header word, then `length` bytes of payload
   padded to whole words. */
static void put_control(ULong header, const void *payload, SizeT length)
{
    static UChar record[CL_RECORD_SIZE * (1 + CL_MAP_PAYLOAD_WORDS) + CL_PATH_MAX];
    SizeT total = sizeof header + length;
    SizeT padded = (total + CL_RECORD_SIZE - 1) / CL_RECORD_SIZE * CL_RECORD_SIZE;

    if (output_closed || total > sizeof record)
        return;
    VG_(memcpy)(record, &header, sizeof header);
    VG_(memcpy)(record + sizeof header, payload, length);
    if (out_fd < 0) {
        /* Before the output is open: keep it for cl_post_clo_init. */
        if (early_used + padded <= sizeof early) {
            VG_(memset)(early + early_used, 0, padded);
            VG_(memcpy)(early + early_used, record, total);
            early_used += padded;
        }
        return;
    }
    put_words(record, total);
}

static inline void put_event(ULong word)
{
    *cursor++ = word;
    if (cursor >= limit)
        flush_events();
}

/* ---- helpers called from instrumented code ---- */

/* The size code of records.h for an access of `size` bytes, or -1 when
   the size is not a power of two from 1 to 64. */
static Int size_code(Int size)
{
    for (Int code = 0; code <= CL_MEM_MAX_SIZE_CODE; code++)
        if (size == 1 << code)
            return code;
    return -1;
}

/* Guarded accesses (rare on amd64) and accesses of other sizes go through
   this helper, not inline IR. size_store = size in bytes << 1 | 1 for a store. */
static VG_REGPARM(2) void on_access(Addr address, UWord size_store)
{
    SizeT size = size_store >> 1;
    Bool store = (size_store & 1) != 0;
    Int code = size <= 64 ? size_code((Int)size) : -1;

    if (!recording || size == 0)
        return;
    if (code >= 0) {
        put_event(CL_MEM_WORD(address, code, store));
        return;
    }
    for (Addr block = address >> CL_BLOCK_SHIFT; recording && block <= (address + size - 1) >> CL_BLOCK_SHIFT;
         block++)
        put_event(CL_MEM_BLOCK_WORD(block, store));
}

static VG_REGPARM(1) void on_start(Addr entry)
{
    if (started)
        return;
    started = True;
    recording = True;
    set_limit();

    /* The call into the start function ran before recording began; the
       trace still opens with it. */
    if (clo_calls)
        put_event(CL_CALL_WORD(entry));
}

static VG_REGPARM(1) void on_libc_start(Addr main_address)
{
    if (!started && fallback_start == 0)
        fallback_start = main_address;
}

/* Valgrind calls this each time a thread gets the CPU, after most system
   calls too; only a change of thread goes into the stream. */
static void on_thread_run(ThreadId tid, ULong blocks_done)
{
    if ((UInt)tid == stream_tid || output_closed)
        return;
    stream_tid = (UInt)tid;
    put_control(CL_CONTROL_WORD(CL_TAG_THREAD, 0, 0, stream_tid), NULL, 0);
}

/* ---- file mappings ---- */

static void put_mapping(Addr start, SizeT length, Bool rr, Bool ww, Bool xx)
{
    NSegment const *segment = VG_(am_find_nsegment)(start);
    const HChar *path;
    struct {
        struct cl_map_payload payload;
        HChar path[CL_PATH_MAX];
    } body;
    UInt prot = (rr ? CL_PROT_READ : 0) | (ww ? CL_PROT_WRITE : 0) | (xx ? CL_PROT_EXEC : 0);
    SizeT path_length, path_words;

    if (segment == NULL || segment->kind != SkFileC)
        return;
    path = VG_(am_get_filename)(segment);
    if (path == NULL)
        return;
    path_length = VG_(strlen)(path);
    if (path_length > sizeof body.path)
        path_length = sizeof body.path;

    flush_events(); /* so that events_written counts every event before it */
    body.payload.start = start;
    body.payload.end = start + length;
    body.payload.file_offset = segment->offset + (start - segment->start);
    body.payload.record_index = events_written;
    body.payload.path_length = path_length;
    VG_(memcpy)(body.path, path, path_length);

    path_words = (path_length + CL_RECORD_SIZE - 1) / CL_RECORD_SIZE;
    put_control(CL_CONTROL_WORD(CL_TAG_MAP, prot, CL_MAP_PAYLOAD_WORDS + path_words, 0),
                &body, sizeof body.payload + path_length);
}

static void on_mmap(Addr a, SizeT len, Bool rr, Bool ww, Bool xx, ULong di_handle)
{
    put_mapping(a, len, rr, ww, xx);
}

/* ---- fork: only the parent is traced ---- */

static void before_fork(ThreadId tid)
{
    flush_events();
}

static void in_fork_child(ThreadId tid)
{
    /* The child runs untraced. Closing its copies of the pipes lets the
       reader see the end of the stream when the parent exits, and the
       scratch area keeps it out of the chunks it shares with the parent. */
    started = True;
    if (out_fd >= 0)
        VG_(close)(out_fd);
    if (free_fd >= 0)
        VG_(close)(free_fd);
    out_fd = free_fd = -1;
    output_closed = True;
    use_scratch();
}

/* ---- instrumentation ---- */

static Bool name_matches(const HChar *name, const HChar *expected)
{
    /* Valgrind keeps symbol versions: "__libc_start_main@@GLIBC_2.34". */
    SizeT length = VG_(strlen)(expected);

    return VG_(strncmp)(name, expected, length) == 0
        && (name[length] == '\0' || name[length] == '@');
}

static void add_helper(IRSB *out, const HChar *name, void *function, Int regparms,
                       IRExpr **args, IRExpr *guard)
{
    IRDirty *dirty = unsafeIRDirty_0_N(regparms, name, VG_(fnptr_to_fnentry)(function), args);

    if (guard != NULL)
        dirty->guard = guard;
    addStmtToIRSB(out, IRStmt_Dirty(dirty));
}

static IRTemp assign(IRSB *out, IRType type, IRExpr *value)
{
    IRTemp temp = newIRTemp(out->tyenv, type);

    addStmtToIRSB(out, IRStmt_WrTmp(temp, value));
    return temp;
}

static IRExpr *word(ULong value)
{
    return IRExpr_Const(IRConst_U64(value));
}

static IRTemp add64(IRSB *out, IRTemp base, ULong offset)
{
    return assign(out, Ity_I64, IRExpr_Binop(Iop_Add64, IRExpr_RdTmp(base), word(offset)));
}

static void store64(IRSB *out, IRExpr *address, IRTemp value)
{
    addStmtToIRSB(out, IRStmt_Store(Iend_LE, address, IRExpr_RdTmp(value)));
}

/* Store the record `value` at `at` and return the cursor after it. */
static IRTemp add_record(IRSB *out, IRTemp at, IRTemp value)
{
    store64(out, IRExpr_RdTmp(at), value);
    return add64(out, at, CL_RECORD_SIZE);
}

/* The record of one access (CL_MEM_WORD) in IR. The reader works out the
   blocks, so the tool spends two operations and a store per access. */
static IRTemp access_record(IRSB *out, IRExpr *address, Int code, Bool store)
{
    IRTemp shifted = assign(out, Ity_I64, IRExpr_Binop(Iop_Shl64, address,
                                                       IRExpr_Const(IRConst_U8(CL_MEM_ADDRESS_SHIFT))));

    return assign(out, Ity_I64, IRExpr_Binop(Iop_Or64, IRExpr_RdTmp(shifted),
                                             word(CL_MEM_WORD(0, code, store))));
}

/* The CALL record of a call to `target` (CL_CALL_WORD) in IR. */
static IRTemp call_record(IRSB *out, IRExpr *target)
{
    IRTemp shifted = assign(out, Ity_I64, IRExpr_Binop(Iop_Shl64, target, IRExpr_Const(IRConst_U8(8))));

    return assign(out, Ity_I64, IRExpr_Binop(Iop_Or64, IRExpr_RdTmp(shifted), word(CL_TAG_CALL)));
}

/* Write one record with inline IR and advance cursor. */
static void add_inline_record(IRSB *out, IRTemp value)
{
    IRTemp at, next, end, full;
    IRDirty *flush;

    at = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&cursor)));
    next = add_record(out, at, value);
    store64(out, word((ULong)(HWord)&cursor), next);

    /* Past the limit: let buffer_full() keep or drop the records. */
    end = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&limit)));
    full = assign(out, Ity_I1, IRExpr_Binop(Iop_CmpLE64U, IRExpr_RdTmp(end), IRExpr_RdTmp(next)));
    flush = unsafeIRDirty_0_N(0, "buffer_full", VG_(fnptr_to_fnentry)(buffer_full), mkIRExprVec_0());
    flush->guard = IRExpr_RdTmp(full);
    flush->mFx = Ifx_Modify; /* it resets cursor, which the next access loads */
    flush->mAddr = word((ULong)(HWord)&cursor);
    flush->mSize = 8;
    addStmtToIRSB(out, IRStmt_Dirty(flush));
}

/* Superblock batches. A superblock with at most SPARE_RECORDS inline
   accesses checks once, at its start, that the buffer has room for one
   record per access, and calls buffer_full() when it has not. It keeps the
   cursor in an IR temporary and stores it back before each side exit, each
   helper call and its end. This saves a load, a store and a limit check per
   access.
   NOTE: the records of a superblock that faults before its end are lost. */
static IRTemp batch_cursor = IRTemp_INVALID;

static Int count_inline_accesses(IRSB *in, Int first)
{
    Int count = 0;

    for (Int i = first; i < in->stmts_used; i++) {
        IRStmt *statement = in->stmts[i];
        if (statement == NULL)
            continue;
        if (statement->tag == Ist_WrTmp && statement->Ist.WrTmp.data->tag == Iex_Load)
            count += 1;
        else if (statement->tag == Ist_Store || statement->tag == Ist_LLSC)
            count += 1;
        else if (statement->tag == Ist_CAS)
            count += 2;
    }
    return count;
}

static void begin_batch(IRSB *out, Int accesses)
{
    IRTemp at, end, need, full;
    IRDirty *flush;

    batch_cursor = IRTemp_INVALID;
    if (accesses == 0 || accesses > SPARE_RECORDS)
        return;
    at = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&cursor)));
    end = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&limit)));
    need = add64(out, at, (ULong)accesses * sizeof(ULong));
    full = assign(out, Ity_I1, IRExpr_Binop(Iop_CmpLT64U, IRExpr_RdTmp(end), IRExpr_RdTmp(need)));
    flush = unsafeIRDirty_0_N(0, "buffer_full", VG_(fnptr_to_fnentry)(buffer_full), mkIRExprVec_0());
    flush->guard = IRExpr_RdTmp(full);
    flush->mFx = Ifx_Modify;
    flush->mAddr = word((ULong)(HWord)&cursor);
    flush->mSize = 8;
    addStmtToIRSB(out, IRStmt_Dirty(flush));

    batch_cursor = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&cursor)));
}

static void save_batch_cursor(IRSB *out)
{
    if (batch_cursor != IRTemp_INVALID)
        store64(out, word((ULong)(HWord)&cursor), batch_cursor);
}

static void reload_batch_cursor(IRSB *out)
{
    if (batch_cursor != IRTemp_INVALID)
        batch_cursor = assign(out, Ity_I64,
                              IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&cursor)));
}

/* Write one record in the batch of the superblock, or inline without one. */
static void put_record(IRSB *out, IRTemp value)
{
    if (batch_cursor != IRTemp_INVALID)
        batch_cursor = add_record(out, batch_cursor, value);
    else
        add_inline_record(out, value);
}

static void add_access(IRSB *out, IRExpr *address, Int size, Bool store, IRExpr *guard)
{
    IRExpr **args;
    Int code = size_code(size);

    if (guard == NULL && code >= 0) {
        put_record(out, access_record(out, address, code, store));
        return;
    }
    save_batch_cursor(out);
    args = mkIRExprVec_2(address, mkIRExpr_HWord(((HWord)size << 1) | (store ? 1 : 0)));
    add_helper(out, "on_access", on_access, 2, args, guard);
    reload_batch_cursor(out);
}

/* Add the start hooks to a superblock that begins at guest address base. */
static void add_start_hooks(IRSB *out, Addr base)
{
    const HChar *name;
    IRTemp rdi;

    if (fallback_start != 0 && base == fallback_start) {
        add_helper(out, "on_start", on_start, 1, mkIRExprVec_1(mkIRExpr_HWord(base)), NULL);
        return;
    }
    if (!VG_(get_fnname_if_entry)(VG_(current_DiEpoch)(), base, &name))
        return;
    if (name_matches(name, clo_start_at)) {
        add_helper(out, "on_start", on_start, 1, mkIRExprVec_1(mkIRExpr_HWord(base)), NULL);
    } else if (VG_(strcmp)(clo_start_at, "main") == 0
               && name_matches(name, "__libc_start_main")) {
        rdi = newIRTemp(out->tyenv, Ity_I64);
        addStmtToIRSB(out, IRStmt_WrTmp(rdi, IRExpr_Get(OFFSET_amd64_RDI, Ity_I64)));
        add_helper(out, "on_libc_start", on_libc_start, 1,
                   mkIRExprVec_1(IRExpr_RdTmp(rdi)), NULL);
    }
}

static void add_memory_hooks(IRSB *out, IRTypeEnv *types, IRStmt *statement)
{
    switch (statement->tag) {
    case Ist_WrTmp:
        if (statement->Ist.WrTmp.data->tag == Iex_Load) {
            IRExpr *load = statement->Ist.WrTmp.data;
            add_access(out, load->Iex.Load.addr, sizeofIRType(load->Iex.Load.ty), False, NULL);
        }
        break;
    case Ist_Store:
        add_access(out, statement->Ist.Store.addr,
                   sizeofIRType(typeOfIRExpr(types, statement->Ist.Store.data)), True, NULL);
        break;
    case Ist_LoadG: {
        IRLoadG *load = statement->Ist.LoadG.details;
        IRType loaded, widened;
        typeOfIRLoadGOp(load->cvt, &widened, &loaded);
        add_access(out, load->addr, sizeofIRType(loaded), False, load->guard);
        break;
    }
    case Ist_StoreG: {
        IRStoreG *store = statement->Ist.StoreG.details;
        add_access(out, store->addr, sizeofIRType(typeOfIRExpr(types, store->data)), True,
                   store->guard);
        break;
    }
    case Ist_CAS: {
        IRCAS *cas = statement->Ist.CAS.details;
        Int size = sizeofIRType(typeOfIRExpr(types, cas->dataLo)) * (cas->dataHi ? 2 : 1);
        add_access(out, cas->addr, size, False, NULL);
        add_access(out, cas->addr, size, True, NULL);
        break;
    }
    case Ist_LLSC: {
        IRExpr *stored = statement->Ist.LLSC.storedata;
        IRExpr *address = statement->Ist.LLSC.addr;
        if (stored == NULL)
            add_access(out, address,
                       sizeofIRType(typeOfIRTemp(types, statement->Ist.LLSC.result)), False, NULL);
        else
            add_access(out, address, sizeofIRType(typeOfIRExpr(types, stored)), True, NULL);
        break;
    }
    case Ist_Dirty: {
        IRDirty *dirty = statement->Ist.Dirty.details;
        if (dirty->mFx == Ifx_Read || dirty->mFx == Ifx_Modify)
            add_access(out, dirty->mAddr, dirty->mSize, False, dirty->guard);
        if (dirty->mFx == Ifx_Write || dirty->mFx == Ifx_Modify)
            add_access(out, dirty->mAddr, dirty->mSize, True, dirty->guard);
        break;
    }
    default:
        break;
    }
}

static IRSB *cl_instrument(VgCallbackClosure *closure, IRSB *in, const VexGuestLayout *layout,
                           const VexGuestExtents *extents, const VexArchInfo *arch,
                           IRType guest_word, IRType host_word)
{
    IRSB *out = deepCopyIRSBExceptStmts(in);
    Bool is_call = clo_calls && in->jumpkind == Ijk_Call;
    Int i = 0;

    /* Statements before the first instruction mark stay first. */
    while (i < in->stmts_used && in->stmts[i]->tag != Ist_IMark)
        addStmtToIRSB(out, in->stmts[i++]);

    if (!started)
        add_start_hooks(out, (Addr)closure->nraddr);
    batch_cursor = IRTemp_INVALID;
    if (clo_mem || is_call)
        begin_batch(out, (clo_mem ? count_inline_accesses(in, i) : 0) + (is_call ? 1 : 0));

    for (; i < in->stmts_used; i++) {
        IRStmt *statement = in->stmts[i];
        if (statement == NULL || statement->tag == Ist_NoOp)
            continue;
        if (statement->tag == Ist_Exit)
            save_batch_cursor(out);
        if (clo_mem)
            add_memory_hooks(out, in->tyenv, statement);
        addStmtToIRSB(out, statement);
    }

    /* With chasing off, a call instruction always ends the superblock. */
    if (is_call)
        put_record(out, call_record(out, in->next));
    save_batch_cursor(out);
    return out;
}

/* ---- options and life cycle ---- */

static Bool cl_process_option(const HChar *arg)
{
    if VG_BOOL_CLO(arg, "--calls", clo_calls) {}
    else if VG_BOOL_CLO(arg, "--mem", clo_mem) {}
    else if VG_INT_CLO(arg, "--out-fd", clo_out_fd) {}
    else if VG_INT_CLO(arg, "--ring-fd", clo_ring_fd) {}
    else if VG_INT_CLO(arg, "--free-fd", clo_free_fd) {}
    else if VG_INT_CLO(arg, "--ring-chunks", clo_ring_chunks) {}
    else if VG_INT_CLO(arg, "--chunk-bytes", clo_chunk_bytes) {}
    else if VG_STR_CLO(arg, "--start-at", clo_start_at) {}
    else if VG_INT_CLO(arg, "--skip", clo_skip) {}
    else if VG_INT_CLO(arg, "--max", clo_max) {}
    else
        return False;
    return True;
}

static void cl_print_usage(void)
{
    VG_(printf)(
        "    --out-fd=N             write records to file descriptor N [required]\n"
        "    --ring-fd=N            put records in the shared memory file N, in chunks,\n"
        "                           and only announce each chunk on --out-fd [no]\n"
        "    --free-fd=N            read one byte per chunk the reader gives back\n"
        "    --ring-chunks=N        number of chunks in the --ring-fd file\n"
        "    --chunk-bytes=N        bytes per chunk, a multiple of 8 [ring mode]\n"
        "    --calls=yes|no         record call targets [yes]\n"
        "    --mem=yes|no           record 64-byte blocks of loads and stores [no]\n"
        "    --start-at=SYMBOL      start recording at entry to SYMBOL; '' = at once [main]\n"
        "    --skip=N               drop the first N events after the start [0]\n"
        "    --max=N                stop recording after N events, 0 = no limit [0]\n");
}

static void cl_print_debug_usage(void)
{
    VG_(printf)("    (none)\n");
}

/* Map the shared chunks of ring mode; exits with a message when it cannot. */
static void open_ring(void)
{
    SizeT length;
    SysRes mapped;

    if (clo_free_fd < 0 || clo_ring_chunks < 2 || clo_chunk_bytes < MIN_CHUNK_BYTES
        || clo_chunk_bytes % CL_RECORD_SIZE != 0)
        VG_(fmsg_bad_option)("--ring-fd",
                             "ring mode needs --free-fd, --ring-chunks of 2 or more and "
                             "--chunk-bytes of at least 65536, a multiple of 8\n");
    if (clo_chunk_bytes > (Long)CHUNK_BYTES_MAX)
        VG_(fmsg_bad_option)("--chunk-bytes",
                             "a chunk holds at most 4294967288 bytes, the largest byte count "
                             "that a CHUNK record carries\n");
    if ((ULong)clo_ring_chunks > (ULong)((SizeT)-1) / (ULong)clo_chunk_bytes)
        VG_(fmsg_bad_option)("--ring-chunks",
                             "--ring-chunks times --chunk-bytes is larger than any mapping\n");
    length = (SizeT)clo_ring_chunks * (SizeT)clo_chunk_bytes;
    mapped = VG_(am_shared_mmap_file_float_valgrind)(length, VKI_PROT_READ | VKI_PROT_WRITE,
                                                      clo_ring_fd, 0);
    if (sr_isError(mapped))
        VG_(fmsg_bad_option)("--ring-fd", "mapping the shared record file failed\n");
    VG_(close)(clo_ring_fd); /* the mapping stays */
    free_fd = VG_(safe_fd)(clo_free_fd);
    ring = (ULong *)sr_Res(mapped);
    ring_records = (ULong)clo_chunk_bytes / CL_RECORD_SIZE;
    ring_index = 0;
    free_chunks = clo_ring_chunks - 1;
    chunk = committed = ring;
    chunk_end = ring + ring_records;
    /* cursor and limit still point into the pipe buffer: move them too, or
       the first flush takes the distance between the buffers for records. */
    set_limit();
}

static void cl_post_clo_init(void)
{
    struct cl_stream_header header;

    if (clo_out_fd < 0)
        VG_(fmsg_bad_option)("--out-fd", "the tool needs a file descriptor to write to\n");
    if (clo_skip < 0 || clo_max < 0)
        VG_(fmsg_bad_option)("--skip/--max", "counts must be 0 or more\n");
    out_fd = VG_(safe_fd)(clo_out_fd);
    if (clo_ring_fd >= 0)
        open_ring();

    /* Every call must end a superblock, see the file comment. */
    VG_(clo_vex_control).guest_chase = False;

    if (clo_start_at[0] == '\0')
        started = recording = True;

    VG_(memset)(&header, 0, sizeof header);
    VG_(memcpy)(header.magic, CL_STREAM_MAGIC, sizeof header.magic);
    header.version = CL_STREAM_VERSION;
    header.record_size = CL_RECORD_SIZE;
    put_words(&header, sizeof header);
    put_words(early, early_used); /* mappings recorded before the output was open */
    early_used = 0;
    set_limit();
}

static void cl_fini(Int exit_code)
{
    UInt flags = CL_END_EXIT | (started ? CL_END_STARTED : 0) | (limit_reached ? CL_END_MAX : 0);
    ULong events;

    flush_events();
    events = events_written;
    put_control(CL_CONTROL_WORD(CL_TAG_END, flags, 1, (UInt)exit_code), &events, sizeof events);
    send_chunk();
    close_output();
}

static void cl_pre_clo_init(void)
{
    VG_(details_name)("complearn");
    VG_(details_version)("0.1");
    VG_(details_description)("call and memory-block recorder for complearn");
    VG_(details_copyright_author)("Copyright (C) 2026 the complearn authors.");
    VG_(details_bug_reports_to)("the complearn issue tracker");
    VG_(details_avg_translation_sizeB)(275);

    VG_(basic_tool_funcs)(cl_post_clo_init, cl_instrument, cl_fini);
    VG_(needs_command_line_options)(cl_process_option, cl_print_usage, cl_print_debug_usage);
    VG_(track_new_mem_startup)(on_mmap);
    VG_(track_new_mem_mmap)(on_mmap);
    VG_(atfork)(before_fork, NULL, in_fork_child);
    VG_(track_start_client_code)(on_thread_run);
}

VG_DETERMINE_INTERFACE_VERSION(cl_pre_clo_init)
