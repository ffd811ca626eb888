// SPDX-License-Identifier: MIT
//
// complearn_pin: a Pin tool that writes the records of plugin/common/records.h
// (call targets, 64-byte memory blocks, image mappings) to an inherited file
// descriptor, like the Valgrind tool in plugin/valgrind.
//
// NOTE: no Pin kit was available when this tool was written, so it has never
// been compiled or run. It uses only the documented Pin 3.x API (INS, RTN, IMG,
// KNOB, PIN_LOCK); expect small fixes on first build with a kit.
//
// Build: make PIN_ROOT=/path/to/pin obj-intel64/complearn_pin.so
// Run:   $PIN_ROOT/pin -t obj-intel64/complearn_pin.so -out_fd 3 -- PROGRAM 3>records
#include "pin.H"

#include <string.h>
#include <unistd.h>

extern "C" {
#include "../common/records.h"
}

KNOB<INT32> knob_out_fd(KNOB_MODE_WRITEONCE, "pintool", "out_fd", "-1",
                        "file descriptor to write records to");
KNOB<BOOL> knob_calls(KNOB_MODE_WRITEONCE, "pintool", "calls", "1", "record call targets");
KNOB<BOOL> knob_mem(KNOB_MODE_WRITEONCE, "pintool", "mem", "0",
                    "record 64-byte blocks of loads and stores");
KNOB<std::string> knob_start_at(KNOB_MODE_WRITEONCE, "pintool", "start_at", "main",
                                "start recording at entry to this function; empty = at once");
KNOB<UINT64> knob_skip(KNOB_MODE_WRITEONCE, "pintool", "skip", "0",
                       "drop the first N events after the start");
KNOB<UINT64> knob_max(KNOB_MODE_WRITEONCE, "pintool", "max", "0",
                      "stop recording after N events, 0 = no limit");

static const UINT32 kBufferRecords = 65536;
static UINT64 buffer[kBufferRecords];
static UINT32 buffer_used = 0;
static PIN_LOCK lock;  // Pin runs application threads in parallel
static int out_fd = -1;
static bool recording = false;
static bool started = false;
static bool limit_reached = false;
static ADDRINT start_address = 0;  // main's entry from __libc_start_main, stripped binaries
static UINT64 events_seen = 0;
static UINT64 events_written = 0;
static UINT32 stream_tid = 1;  // thread of the events after the last THREAD record

static void WriteAll(const void *data, size_t length)
{
    const char *bytes = static_cast<const char *>(data);
    while (length > 0 && out_fd >= 0) {
        ssize_t done = write(out_fd, bytes, length);
        if (done <= 0) {
            out_fd = -1;  // the reader is gone; keep the program running
            recording = false;
            return;
        }
        bytes += done;
        length -= static_cast<size_t>(done);
    }
}

static void Flush()
{
    WriteAll(buffer, buffer_used * sizeof(buffer[0]));
    buffer_used = 0;
}

// Callers hold the lock.
static void PutWord(UINT64 word)
{
    if (buffer_used == kBufferRecords)
        Flush();
    buffer[buffer_used++] = word;
}

static void PutBytes(const void *data, size_t length)
{
    const char *bytes = static_cast<const char *>(data);
    while (length > 0) {
        size_t part = length < CL_RECORD_SIZE ? length : CL_RECORD_SIZE;
        if (buffer_used == kBufferRecords)
            Flush();
        buffer[buffer_used] = 0;
        memcpy(&buffer[buffer_used], bytes, part);
        buffer_used++;
        bytes += part;
        length -= part;
    }
}

// word is a memory or CALL record of records.h.
static void PutEvent(UINT64 word, THREADID tid)
{
    if (events_seen++ < knob_skip.Value())
        return;
    if (knob_max.Value() > 0 && events_written >= knob_max.Value()) {
        recording = false;
        limit_reached = true;
        Flush();
        return;
    }
    events_written++;
    if (tid + 1 != stream_tid) {  // records.h numbers threads from 1
        stream_tid = tid + 1;
        PutWord(CL_CONTROL_WORD(CL_TAG_THREAD, 0, 0, stream_tid));
    }
    PutWord(word);
}

static void Start(ADDRINT entry, THREADID tid)
{
    started = true;
    recording = true;
    if (knob_calls.Value())
        PutEvent(CL_CALL_WORD(entry), tid);
}

static VOID OnCall(ADDRINT target, THREADID tid)
{
    PIN_GetLock(&lock, tid + 1);
    if (!started && start_address != 0 && target == start_address)
        Start(target, tid);
    else if (recording && knob_calls.Value())
        PutEvent(CL_CALL_WORD(target), tid);
    PIN_ReleaseLock(&lock);
}

static VOID OnStartRoutine(ADDRINT entry, THREADID tid)
{
    PIN_GetLock(&lock, tid + 1);
    if (!started)
        Start(entry, tid);
    PIN_ReleaseLock(&lock);
}

static VOID OnLibcStart(ADDRINT main_address, THREADID tid)
{
    PIN_GetLock(&lock, tid + 1);
    if (!started && start_address == 0)
        start_address = main_address;
    PIN_ReleaseLock(&lock);
}

static VOID OnAccess(ADDRINT address, UINT32 size, UINT32 store, THREADID tid)
{
    if (!recording)
        return;
    PIN_GetLock(&lock, tid + 1);
    ADDRINT last = address + size - 1;
    PutEvent(CL_MEM_BLOCK_WORD(address >> CL_BLOCK_SHIFT, store), tid);
    if (recording && (last >> CL_BLOCK_SHIFT) != (address >> CL_BLOCK_SHIFT))
        PutEvent(CL_MEM_BLOCK_WORD(last >> CL_BLOCK_SHIFT, store), tid);
    PIN_ReleaseLock(&lock);
}

static VOID Instruction(INS ins, VOID *)
{
    // Calls are always watched: the stripped-binary start needs them.
    if (INS_IsCall(ins))
        INS_InsertCall(ins, IPOINT_BEFORE, (AFUNPTR)OnCall, IARG_BRANCH_TARGET_ADDR,
                       IARG_THREAD_ID, IARG_END);
    if (!knob_mem.Value())
        return;
    UINT32 operands = INS_MemoryOperandCount(ins);
    for (UINT32 i = 0; i < operands; i++) {
        UINT32 size = INS_MemoryOperandSize(ins, i);
        if (INS_MemoryOperandIsRead(ins, i))
            INS_InsertPredicatedCall(ins, IPOINT_BEFORE, (AFUNPTR)OnAccess, IARG_MEMORYOP_EA, i,
                                     IARG_UINT32, size, IARG_UINT32, 0, IARG_THREAD_ID, IARG_END);
        if (INS_MemoryOperandIsWritten(ins, i))
            INS_InsertPredicatedCall(ins, IPOINT_BEFORE, (AFUNPTR)OnAccess, IARG_MEMORYOP_EA, i,
                                     IARG_UINT32, size, IARG_UINT32, 1,
                                     IARG_THREAD_ID, IARG_END);
    }
}

// One MAP record per image. Pin gives the load bias, not file offsets, so the
// record carries the link-time address of its start (CL_MAP_LINK_ADDRESS).
static VOID ImageLoad(IMG img, VOID *)
{
    const std::string &path = IMG_Name(img);
    cl_map_payload payload;
    payload.start = IMG_LowAddress(img);
    payload.end = IMG_HighAddress(img) + 1;
    payload.file_offset = IMG_LowAddress(img) - IMG_LoadOffset(img);
    payload.record_index = events_written;
    size_t path_length = path.size() < CL_PATH_MAX ? path.size() : CL_PATH_MAX;
    payload.path_length = path_length;
    UINT32 path_words = (path_length + CL_RECORD_SIZE - 1) / CL_RECORD_SIZE;

    PIN_GetLock(&lock, 0);
    PutWord(CL_CONTROL_WORD(CL_TAG_MAP, CL_PROT_READ | CL_PROT_EXEC | CL_MAP_LINK_ADDRESS,
                            CL_MAP_PAYLOAD_WORDS + path_words, 0));
    PutBytes(&payload, sizeof payload);
    PutBytes(path.data(), path_length);
    PIN_ReleaseLock(&lock);

    const std::string &start_at = knob_start_at.Value();
    if (start_at.empty())
        return;
    RTN start = RTN_FindByName(img, start_at.c_str());
    if (RTN_Valid(start)) {
        RTN_Open(start);
        RTN_InsertCall(start, IPOINT_BEFORE, (AFUNPTR)OnStartRoutine, IARG_ADDRINT,
                       RTN_Address(start), IARG_THREAD_ID, IARG_END);
        RTN_Close(start);
    }
    RTN libc_start = RTN_FindByName(img, "__libc_start_main");
    if (start_at == "main" && RTN_Valid(libc_start)) {
        RTN_Open(libc_start);
        RTN_InsertCall(libc_start, IPOINT_BEFORE, (AFUNPTR)OnLibcStart,
                       IARG_FUNCARG_ENTRYPOINT_VALUE, 0, IARG_THREAD_ID, IARG_END);
        RTN_Close(libc_start);
    }
}

static VOID InForkChild(THREADID, const CONTEXT *, VOID *)
{
    // Only the parent is traced, as with the Valgrind tool.
    buffer_used = 0;
    recording = false;
    started = true;
    if (out_fd >= 0)
        close(out_fd);
    out_fd = -1;
}

static VOID Fini(INT32 code, VOID *)
{
    UINT8 flags = CL_END_EXIT | (started ? CL_END_STARTED : 0) | (limit_reached ? CL_END_MAX : 0);
    PutWord(CL_CONTROL_WORD(CL_TAG_END, flags, 1, static_cast<UINT32>(code)));
    PutWord(events_written);
    Flush();
    if (out_fd >= 0)
        close(out_fd);
    out_fd = -1;
}

int main(int argc, char *argv[])
{
    PIN_InitSymbols();
    if (PIN_Init(argc, argv) || knob_out_fd.Value() < 0) {
        PIN_ERROR("complearn_pin: pass -out_fd N, an open file descriptor for the records\n");
        return 1;
    }
    PIN_InitLock(&lock);
    out_fd = knob_out_fd.Value();
    if (knob_start_at.Value().empty())
        started = recording = true;

    cl_stream_header header;
    memcpy(header.magic, CL_STREAM_MAGIC, sizeof header.magic);
    header.version = CL_STREAM_VERSION;
    header.record_size = CL_RECORD_SIZE;
    WriteAll(&header, sizeof header);

    IMG_AddInstrumentFunction(ImageLoad, 0);
    INS_AddInstrumentFunction(Instruction, 0);
    PIN_AddForkFunction(FPOINT_AFTER_IN_CHILD, InForkChild, 0);
    PIN_AddFiniFunction(Fini, 0);
    PIN_StartProgram();
    return 0;
}
