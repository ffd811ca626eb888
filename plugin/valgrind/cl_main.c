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
 * every call instruction with jump kind Ijk_Call; the tool adds one helper
 * call before that exit, passing the call target. Loads and stores get a
 * helper call each, in program order. Records go into a buffer that is
 * written to --out-fd when full and at exit. File mappings are written as
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

/* Command-line options. */
static Bool clo_calls = True;
static Bool clo_mem = False;
static Int clo_out_fd = -1;
static const HChar *clo_start_at = "main";
static Long clo_skip = 0;
static Long clo_max = 0; /* 0 = no limit */

/* Recording state. Valgrind runs one guest thread at a time, so the
   helpers need no locks. */
static Int out_fd = -1;
static Bool output_closed = False; /* True once writing failed or ended */
static Bool recording = False;
static Bool started = False;
static Bool limit_reached = False;
static Addr fallback_start = 0; /* main's address taken from __libc_start_main */
static ULong events_seen = 0;    /* events since the start, skipped ones too */
static ULong events_written = 0;
static struct cl_record buffer[BUFFER_RECORDS];
static UInt buffer_used = 0;

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

static void flush_buffer(void)
{
    /* Before the output is open (mappings at start-up), keep the records. */
    if (out_fd < 0 && !output_closed)
        return;
    write_all(buffer, (SizeT)buffer_used * sizeof(struct cl_record));
    buffer_used = 0;
}

static inline void put_record(UChar kind, UChar flags, UInt tid, ULong value)
{
    struct cl_record *record;

    if (buffer_used == BUFFER_RECORDS) {
        flush_buffer();
        if (buffer_used == BUFFER_RECORDS)
            return; /* output not open yet and the buffer is full */
    }
    record = &buffer[buffer_used++];
    record->kind = kind;
    record->flags = flags;
    record->reserved = 0;
    record->tid = tid;
    record->value = value;
}

/* Append raw bytes as whole records, NUL-padded to the record size. */
static void put_bytes(const void *data, SizeT length)
{
    const UChar *bytes = data;

    while (length > 0) {
        SizeT part = length < CL_RECORD_SIZE ? length : CL_RECORD_SIZE;
        if (buffer_used == BUFFER_RECORDS) {
            flush_buffer();
            if (buffer_used == BUFFER_RECORDS)
                return;
        }
        VG_(memset)(&buffer[buffer_used], 0, CL_RECORD_SIZE);
        VG_(memcpy)(&buffer[buffer_used], bytes, part);
        buffer_used++;
        bytes += part;
        length -= part;
    }
}

/* Count one event against the --skip / --max window; True = write it. */
static inline Bool admit_event(void)
{
    if (events_seen++ < (ULong)clo_skip)
        return False;
    if (clo_max > 0 && events_written >= (ULong)clo_max) {
        recording = False;
        limit_reached = True;
        flush_buffer();
        return False;
    }
    events_written++;
    return True;
}

static void put_event(UChar kind, UChar flags, ULong value)
{
    if (admit_event())
        put_record(kind, flags, VG_(get_running_tid)(), value);
}

/* ---- helpers called from instrumented code ---- */

static VG_REGPARM(1) void on_call(Addr target)
{
    if (recording)
        put_event(CL_KIND_CALL, 0, target);
}

/* size_store = access size in bytes << 1 | 1 for a store */
static VG_REGPARM(2) void on_access(Addr address, UWord size_store)
{
    Addr last;
    UChar flags = (UChar)(size_store & 1);

    if (!recording)
        return;
    last = address + (size_store >> 1) - 1;
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

/* ---- file mappings ---- */

static void put_mapping(Addr start, SizeT length, Bool rr, Bool ww, Bool xx)
{
    NSegment const *segment = VG_(am_find_nsegment)(start);
    const HChar *path;
    struct cl_map_payload payload;
    SizeT path_length, padded;
    UChar flags = 0;

    if (segment == NULL || segment->kind != SkFileC)
        return;
    path = VG_(am_get_filename)(segment);
    if (path == NULL)
        return;

    path_length = VG_(strlen)(path);
    padded = (path_length + CL_RECORD_SIZE - 1) / CL_RECORD_SIZE * CL_RECORD_SIZE;
    flags |= rr ? CL_PROT_READ : 0;
    flags |= ww ? CL_PROT_WRITE : 0;
    flags |= xx ? CL_PROT_EXEC : 0;
    payload.end = start + length;
    payload.file_offset = segment->offset + (start - segment->start);
    payload.record_index = events_written;
    payload.path_length = path_length;

    put_record(CL_KIND_MAP, flags, (UInt)(2 + padded / CL_RECORD_SIZE), start);
    put_bytes(&payload, sizeof payload);
    put_bytes(path, path_length);
}

static void on_mmap(Addr a, SizeT len, Bool rr, Bool ww, Bool xx, ULong di_handle)
{
    put_mapping(a, len, rr, ww, xx);
}

/* ---- fork: only the parent is traced ---- */

static void before_fork(ThreadId tid)
{
    flush_buffer();
}

static void in_fork_child(ThreadId tid)
{
    /* The child runs untraced. Closing its copy of the pipe lets the
       reader see the end of the stream when the parent exits. */
    buffer_used = 0;
    recording = False;
    started = True;
    if (out_fd >= 0)
        VG_(close)(out_fd);
    out_fd = -1;
    output_closed = True;
}

/* ---- instrumentation ---- */

static Bool name_matches(const HChar *name, const HChar *wanted)
{
    /* Valgrind keeps symbol versions: "__libc_start_main@@GLIBC_2.34". */
    SizeT length = VG_(strlen)(wanted);

    return VG_(strncmp)(name, wanted, length) == 0
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

static void add_access(IRSB *out, IRExpr *address, Int size, Bool store, IRExpr *guard)
{
    IRExpr **args = mkIRExprVec_2(address, mkIRExpr_HWord(((HWord)size << 1) | (store ? 1 : 0)));

    add_helper(out, "on_access", on_access, 2, args, guard);
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

    for (; i < in->stmts_used; i++) {
        IRStmt *statement = in->stmts[i];
        if (statement == NULL || statement->tag == Ist_NoOp)
            continue;
        if (clo_mem)
            add_memory_hooks(out, in->tyenv, statement);
        addStmtToIRSB(out, statement);
    }

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
    flush_buffer(); /* mappings recorded before the output was open */
}

static void cl_fini(Int exit_code)
{
    UChar flags = CL_END_EXIT;

    flags |= started ? CL_END_STARTED : 0;
    flags |= limit_reached ? CL_END_MAX : 0;
    put_record(CL_KIND_END, flags, (UInt)exit_code, events_written);
    flush_buffer();
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
}

VG_DETERMINE_INTERFACE_VERSION(cl_pre_clo_init)
