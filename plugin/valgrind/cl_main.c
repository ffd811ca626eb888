/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * complearn: a Valgrind tool that records call targets and 64-byte memory
 * blocks as the fixed-size records of plugin/common/records.h.
 *
 * Copyright (C) 2026 the complearn authors.
 *
 * This program is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License as published by the Free
 * Software Foundation; either version 2 of the License, or (at your option)
 * any later version. See COPYING in this folder.
 *
 * How it works. Guest chasing is turned off, so VEX ends a superblock at
 * every call instruction with jump kind Ijk_Call. The tool adds one helper
 * call before that exit, passing the call target. Loads and stores write
 * their records with inline IR, in program order. Records go into a buffer
 * that is written to --out-fd when full and at exit. File mappings are written as
 * MAP records whether or not recording has started, because the reader needs
 * them to symbolize call targets.
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
#include "libvex_guest_offsets.h"

#include "../common/records.h"

/* NOTE: a core function that the tool headers of Valgrind 3.19 do not
   declare. It moves a file descriptor above the client's limit, where the
   client cannot close it, and sets close-on-exec. */
extern Int VG_(safe_fd)(Int oldfd);

#define BUFFER_RECORDS 65536
/* Records past the limit that one superblock may write, see cl_instrument. */
#define SPARE_RECORDS 1024

/* Command-line options. */
static Bool clo_calls = True;
static Bool clo_mem = False;
static Int clo_out_fd = -1;
static const HChar *clo_start_at = "main";
static Long clo_skip = 0;
static Long clo_max = 0; /* 0 = no limit */

/* Recording state. Valgrind runs one guest thread at a time, so the
   helpers need no locks.

   Event records go into `buffer` at `cursor`. Memory accesses write their
   records with inline IR, without a helper call, and call buffer_full() only
   when `cursor` reaches `limit`. buffer_full() applies the skip/max window
   and writes the buffer out. `limit` marks where the window ends, and
   flush_events() drops the records written past it. While not recording,
   `limit` equals `buffer`, so every access reaches buffer_full(), which
   drops it.
   The spare records take what one superblock writes past the limit: the
   second record of a spanning access, or a batch (see cl_instrument). */
static Int out_fd = -1;
static Bool output_closed = False; /* True once writing failed or ended */
static Bool recording = False;
static Bool started = False;
static Bool limit_reached = False;
static Addr fallback_start = 0; /* main's address taken from __libc_start_main */
static ULong events_seen = 0;    /* events since the start, skipped ones too */
static ULong events_written = 0;
static struct cl_record buffer[BUFFER_RECORDS + SPARE_RECORDS];
static struct cl_record *cursor = buffer;
static struct cl_record *limit = buffer;
static ULong tid_word = 1ULL << 32; /* running thread id << 32, as in a record */

/* Control records (mappings) that arrive before the output is open. */
static UChar early[CL_RECORD_SIZE * 1024];
static SizeT early_used = 0;

static void write_all(const void *data, SizeT length)
{
    const UChar *bytes = data;

    while (length > 0 && out_fd >= 0) {
        Int done = VG_(write)(out_fd, bytes, length);
        if (done <= 0) {
            /* The reader is gone: stop writing, keep the program running. */
            VG_(umsg)("complearn: writing records failed; recording stops\n");
            out_fd = -1;
            output_closed = True;
            recording = False;
            return;
        }
        bytes += done;
        length -= done;
    }
}

static void set_limit(void)
{
    ULong room = BUFFER_RECORDS;

    if (!recording) {
        limit = buffer;
        return;
    }
    if (events_seen < (ULong)clo_skip) {
        if ((ULong)clo_skip - events_seen < room)
            room = (ULong)clo_skip - events_seen;
    } else if (clo_max > 0 && (ULong)clo_max - events_written < room) {
        room = (ULong)clo_max - events_written;
    }
    limit = buffer + (room > 0 ? room : 1);
}

/* Write out the buffered events that fall inside the skip/max window. */
static void flush_events(void)
{
    ULong pending = (ULong)(cursor - buffer);
    ULong dropped = 0, kept;

    cursor = buffer;
    if (!recording || pending == 0) {
        set_limit();
        return;
    }
    if (events_seen < (ULong)clo_skip) {
        dropped = (ULong)clo_skip - events_seen;
        if (dropped > pending)
            dropped = pending;
    }
    events_seen += pending;
    kept = pending - dropped;
    if (clo_max > 0 && events_written + kept >= (ULong)clo_max) {
        kept = (ULong)clo_max - events_written;
        recording = False;
        limit_reached = True;
    }
    write_all(buffer + dropped, (SizeT)kept * sizeof(struct cl_record));
    events_written += kept;
    set_limit();
}

static void buffer_full(void)
{
    flush_events();
}

/* Write a control record and its payload; events before it go out first. */
static void put_control(const struct cl_record *record, const void *payload, SizeT length)
{
    static const UChar zeros[CL_RECORD_SIZE];
    SizeT padding = (CL_RECORD_SIZE - length % CL_RECORD_SIZE) % CL_RECORD_SIZE;

    flush_events();
    if (out_fd < 0 && !output_closed) {
        SizeT total = sizeof *record + length + padding;
        if (early_used + total <= sizeof early) {
            VG_(memcpy)(early + early_used, record, sizeof *record);
            VG_(memcpy)(early + early_used + sizeof *record, payload, length);
            VG_(memset)(early + early_used + sizeof *record + length, 0, padding);
            early_used += total;
        }
        return;
    }
    write_all(record, sizeof *record);
    write_all(payload, length);
    write_all(zeros, padding);
}

static inline void put_event(UChar kind, UChar flags, ULong value)
{
    cursor->kind = kind;
    cursor->flags = flags;
    cursor->reserved = 0;
    cursor->tid = (UInt)(tid_word >> 32);
    cursor->value = value;
    cursor++;
    if (cursor >= limit)
        flush_events();
}

/* ---- helpers called from instrumented code ---- */

static VG_REGPARM(1) void on_call(Addr target)
{
    if (recording)
        put_event(CL_KIND_CALL, 0, target);
}

/* Guarded accesses (rare on amd64) go through this helper, not inline IR.
   size_store = access size in bytes << 1 | 1 for a store. */
static VG_REGPARM(2) void on_access(Addr address, UWord size_store)
{
    Addr last = address + (size_store >> 1) - 1;
    UChar flags = (UChar)(size_store & 1);

    if (!recording)
        return;
    put_event(CL_KIND_MEM, flags, address >> CL_BLOCK_SHIFT);
    if (recording && (last >> CL_BLOCK_SHIFT) != (address >> CL_BLOCK_SHIFT))
        put_event(CL_KIND_MEM, flags, last >> CL_BLOCK_SHIFT);
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
        put_event(CL_KIND_CALL, 0, entry);
}

static VG_REGPARM(1) void on_libc_start(Addr main_address)
{
    if (!started && fallback_start == 0)
        fallback_start = main_address;
}

static void on_thread_run(ThreadId tid, ULong blocks_done)
{
    tid_word = (ULong)tid << 32;
}

/* ---- file mappings ---- */

static void put_mapping(Addr start, SizeT length, Bool rr, Bool ww, Bool xx)
{
    NSegment const *segment = VG_(am_find_nsegment)(start);
    const HChar *path;
    struct {
        struct cl_map_payload payload;
        HChar path[CL_RECORD_SIZE * 256];
    } body;
    struct cl_record record;
    SizeT path_length;

    if (segment == NULL || segment->kind != SkFileC)
        return;
    path = VG_(am_get_filename)(segment);
    if (path == NULL)
        return;
    path_length = VG_(strlen)(path);
    if (path_length > sizeof body.path)
        path_length = sizeof body.path;

    flush_events(); /* so that events_written counts every event before it */
    body.payload.end = start + length;
    body.payload.file_offset = segment->offset + (start - segment->start);
    body.payload.record_index = events_written;
    body.payload.path_length = path_length;
    VG_(memcpy)(body.path, path, path_length);

    record.kind = CL_KIND_MAP;
    record.flags = (rr ? CL_PROT_READ : 0) | (ww ? CL_PROT_WRITE : 0) | (xx ? CL_PROT_EXEC : 0);
    record.reserved = 0;
    record.tid = (UInt)(2 + (path_length + CL_RECORD_SIZE - 1) / CL_RECORD_SIZE);
    record.value = start;
    put_control(&record, &body, sizeof body.payload + path_length);
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
    /* The child runs untraced. Closing its copy of the pipe lets the
       reader see the end of the stream when the parent exits. */
    cursor = buffer;
    recording = False;
    started = True;
    set_limit();
    if (out_fd >= 0)
        VG_(close)(out_fd);
    out_fd = -1;
    output_closed = True;
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

/* Write the records of one access with inline IR: the record of the first
   block at cursor, the one of the last block after it, and advance cursor by
   one record, or by two when the access spans two blocks. */
static void add_inline_access(IRSB *out, IRExpr *address, Int size, Bool store)
{
    ULong header = CL_KIND_MEM | ((ULong)(store ? CL_FLAG_STORE : 0) << 8);
    IRExpr *shift = IRExpr_Const(IRConst_U8(CL_BLOCK_SHIFT));
    IRTemp at, tid, first_word, first, last_address, last, spans, spans64, step, next, end, full;
    IRDirty *flush;

    at = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&cursor)));
    tid = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&tid_word)));
    first_word = assign(out, Ity_I64, IRExpr_Binop(Iop_Or64, IRExpr_RdTmp(tid), word(header)));
    first = assign(out, Ity_I64, IRExpr_Binop(Iop_Shr64, address, shift));
    last_address = assign(out, Ity_I64, IRExpr_Binop(Iop_Add64, address, word(size - 1)));
    last = assign(out, Ity_I64, IRExpr_Binop(Iop_Shr64, IRExpr_RdTmp(last_address), shift));

    store64(out, IRExpr_RdTmp(at), first_word);
    store64(out, IRExpr_RdTmp(add64(out, at, 8)), first);
    store64(out, IRExpr_RdTmp(add64(out, at, 16)), first_word);
    store64(out, IRExpr_RdTmp(add64(out, at, 24)), last);

    spans = assign(out, Ity_I1, IRExpr_Binop(Iop_CmpNE64, IRExpr_RdTmp(first), IRExpr_RdTmp(last)));
    spans64 = assign(out, Ity_I64, IRExpr_Unop(Iop_1Uto64, IRExpr_RdTmp(spans)));
    step = assign(out, Ity_I64, IRExpr_Binop(Iop_Shl64, IRExpr_RdTmp(spans64),
                                             IRExpr_Const(IRConst_U8(4))));
    next = assign(out, Ity_I64, IRExpr_Binop(Iop_Add64, IRExpr_RdTmp(add64(out, at, 16)),
                                             IRExpr_RdTmp(step)));
    store64(out, word((ULong)(HWord)&cursor), next);

    /* Past the limit: let buffer_full() write or drop the buffer. */
    end = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&limit)));
    full = assign(out, Ity_I1, IRExpr_Binop(Iop_CmpLE64U, IRExpr_RdTmp(end), IRExpr_RdTmp(next)));
    flush = unsafeIRDirty_0_N(0, "buffer_full", VG_(fnptr_to_fnentry)(buffer_full), mkIRExprVec_0());
    flush->guard = IRExpr_RdTmp(full);
    flush->mFx = Ifx_Modify; /* it resets cursor, which the next access loads */
    flush->mAddr = word((ULong)(HWord)&cursor);
    flush->mSize = 8;
    addStmtToIRSB(out, IRStmt_Dirty(flush));
}

/* Superblock batches. A superblock with at most SPARE_RECORDS / 2 inline
   accesses checks once, at its start, that the buffer has room for two
   records per access, and calls buffer_full() when it has not. It keeps the
   cursor in an IR temporary and stores it back before each side exit, each
   helper call and its end. This saves a load, a store and a limit check per
   access.
   NOTE: the records of a superblock that faults before its end are lost. */
static IRTemp batch_cursor = IRTemp_INVALID;
static IRTemp batch_tid = IRTemp_INVALID;

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

    batch_cursor = batch_tid = IRTemp_INVALID;
    if (accesses == 0 || 2 * accesses > SPARE_RECORDS)
        return;
    at = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&cursor)));
    end = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&limit)));
    need = add64(out, at, (ULong)accesses * 2 * sizeof(struct cl_record));
    full = assign(out, Ity_I1, IRExpr_Binop(Iop_CmpLT64U, IRExpr_RdTmp(end), IRExpr_RdTmp(need)));
    flush = unsafeIRDirty_0_N(0, "buffer_full", VG_(fnptr_to_fnentry)(buffer_full), mkIRExprVec_0());
    flush->guard = IRExpr_RdTmp(full);
    flush->mFx = Ifx_Modify;
    flush->mAddr = word((ULong)(HWord)&cursor);
    flush->mSize = 8;
    addStmtToIRSB(out, IRStmt_Dirty(flush));

    batch_cursor = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&cursor)));
    batch_tid = assign(out, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64, word((ULong)(HWord)&tid_word)));
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

static void add_batched_access(IRSB *out, IRExpr *address, Int size, Bool store)
{
    ULong header = CL_KIND_MEM | ((ULong)(store ? CL_FLAG_STORE : 0) << 8);
    IRExpr *shift = IRExpr_Const(IRConst_U8(CL_BLOCK_SHIFT));
    IRTemp at = batch_cursor, first_word, first, last_address, last, spans, spans64, step;

    first_word = assign(out, Ity_I64, IRExpr_Binop(Iop_Or64, IRExpr_RdTmp(batch_tid), word(header)));
    first = assign(out, Ity_I64, IRExpr_Binop(Iop_Shr64, address, shift));
    last_address = assign(out, Ity_I64, IRExpr_Binop(Iop_Add64, address, word(size - 1)));
    last = assign(out, Ity_I64, IRExpr_Binop(Iop_Shr64, IRExpr_RdTmp(last_address), shift));

    store64(out, IRExpr_RdTmp(at), first_word);
    store64(out, IRExpr_RdTmp(add64(out, at, 8)), first);
    store64(out, IRExpr_RdTmp(add64(out, at, 16)), first_word);
    store64(out, IRExpr_RdTmp(add64(out, at, 24)), last);

    spans = assign(out, Ity_I1, IRExpr_Binop(Iop_CmpNE64, IRExpr_RdTmp(first), IRExpr_RdTmp(last)));
    spans64 = assign(out, Ity_I64, IRExpr_Unop(Iop_1Uto64, IRExpr_RdTmp(spans)));
    step = assign(out, Ity_I64, IRExpr_Binop(Iop_Shl64, IRExpr_RdTmp(spans64),
                                             IRExpr_Const(IRConst_U8(4))));
    batch_cursor = assign(out, Ity_I64, IRExpr_Binop(Iop_Add64, IRExpr_RdTmp(add64(out, at, 16)),
                                                     IRExpr_RdTmp(step)));
}

static void add_access(IRSB *out, IRExpr *address, Int size, Bool store, IRExpr *guard)
{
    IRExpr **args;

    if (guard == NULL && batch_cursor != IRTemp_INVALID) {
        add_batched_access(out, address, size, store);
        return;
    }
    if (guard == NULL) {
        add_inline_access(out, address, size, store);
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
    Int i = 0;

    /* Statements before the first instruction mark stay first. */
    while (i < in->stmts_used && in->stmts[i]->tag != Ist_IMark)
        addStmtToIRSB(out, in->stmts[i++]);

    if (!started)
        add_start_hooks(out, (Addr)closure->nraddr);
    batch_cursor = IRTemp_INVALID;
    if (clo_mem)
        begin_batch(out, count_inline_accesses(in, i));

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
    save_batch_cursor(out);

    /* With chasing off, a call instruction always ends the superblock. */
    if (clo_calls && in->jumpkind == Ijk_Call)
        add_helper(out, "on_call", on_call, 1, mkIRExprVec_1(in->next), NULL);
    return out;
}

/* ---- options and life cycle ---- */

static Bool cl_process_option(const HChar *arg)
{
    if VG_BOOL_CLO(arg, "--calls", clo_calls) {}
    else if VG_BOOL_CLO(arg, "--mem", clo_mem) {}
    else if VG_INT_CLO(arg, "--out-fd", clo_out_fd) {}
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

static void cl_post_clo_init(void)
{
    struct cl_stream_header header;

    if (clo_out_fd < 0)
        VG_(fmsg_bad_option)("--out-fd", "the tool needs a file descriptor to write to\n");
    if (clo_skip < 0 || clo_max < 0)
        VG_(fmsg_bad_option)("--skip/--max", "counts must be 0 or more\n");
    out_fd = VG_(safe_fd)(clo_out_fd);

    /* Every call must end a superblock, see the file comment. */
    VG_(clo_vex_control).guest_chase = False;

    if (clo_start_at[0] == '\0')
        started = recording = True;

    VG_(memset)(&header, 0, sizeof header);
    VG_(memcpy)(header.magic, CL_STREAM_MAGIC, sizeof header.magic);
    header.version = CL_STREAM_VERSION;
    header.record_size = CL_RECORD_SIZE;
    write_all(&header, sizeof header);
    write_all(early, early_used); /* mappings recorded before the output was open */
    early_used = 0;
    set_limit();
}

static void cl_fini(Int exit_code)
{
    UChar flags = CL_END_EXIT;
    struct cl_record end;

    flush_events();
    end.kind = CL_KIND_END;
    end.flags = flags | (started ? CL_END_STARTED : 0) | (limit_reached ? CL_END_MAX : 0);
    end.reserved = 0;
    end.tid = (UInt)exit_code;
    end.value = events_written;
    write_all(&end, sizeof end);
    if (out_fd >= 0)
        VG_(close)(out_fd);
    out_fd = -1;
    output_closed = True;
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
