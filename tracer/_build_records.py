"""cffi build script of ``tracer._records``, the bulk reader of tool record streams.

The C source is ``tracer/record_reader.c``; the record layout comes from
``plugin/common/records.h``, which both instrumentation tools include.
"""
import pathlib

from cffi import FFI

HERE = pathlib.Path(__file__).resolve().parent
COMMON = HERE.parent / "plugin" / "common"

ffibuilder = FFI()
ffibuilder.cdef("""
#define CLR_EVENTS 0
#define CLR_MAP 1
#define CLR_END 2
#define CLR_EOF 3
#define CLR_INTERRUPTED 4
#define CLR_IO_ERROR 5
#define CLR_BAD_HEADER 6
#define CLR_BAD_RECORD 7
#define CLR_NO_MEMORY 8
#define CLR_BAD_CALL 9
#define CL_KIND_CALL 1
#define CL_KIND_MEM 2
#define CL_FLAG_STORE 1
#define CL_PROT_EXEC 4
#define CL_MAP_LINK_ADDRESS 128
#define CL_END_STARTED 1
#define CL_END_MAX 2
#define CL_END_EXIT 4

struct clr_map {
    uint64_t start;
    uint64_t end;
    uint64_t file_offset;
    uint64_t record_index;
    uint32_t prot;
    uint32_t path_length;
    char path[4097];
};

typedef struct clr_reader {
    int fd;
    int header_seen;
    int error_number;
    uint64_t bytes_read;
    uint64_t events_read;
    uint64_t end_events;
    uint32_t end_flags;
    uint32_t end_exit_code;
    uint32_t bad_kind;
    uint32_t tid;
    size_t trailing_bytes;
    struct clr_map map;
    int vector;
    ...;
} clr_reader;

clr_reader *clr_open(int fd, size_t buffer_size);
void clr_close(clr_reader *reader);
clr_reader *clr_open_ring(int fd, unsigned char *ring, size_t chunk_bytes, size_t chunks,
                          int free_fd);
int clr_read_packed(clr_reader *reader, uint8_t *out, size_t capacity, size_t *length,
                    size_t *events, uint32_t *tid);
int clr_unpack(const uint8_t *data, size_t length, uint64_t *base, int64_t *values,
               uint8_t *kinds, uint8_t *flags, size_t capacity, size_t *count,
               size_t *consumed);
int clr_read(clr_reader *reader, int64_t *values, uint8_t *kinds, uint8_t *flags,
             uint32_t *tids, size_t capacity, size_t *count);
""")
ffibuilder.set_source(
    "tracer._records",
    '#include "record_reader.h"\n#include "records.h"\n',
    sources=[str((HERE / "record_reader.c").relative_to(HERE.parent))],
    include_dirs=[str(HERE), str(COMMON)],
    extra_compile_args=["-O2", "-std=c99", "-D_POSIX_C_SOURCE=200809L"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
