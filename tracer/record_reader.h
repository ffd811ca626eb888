/* Bulk reader of the record stream defined in plugin/common/records.h. */
#ifndef COMPLEARN_RECORD_READER_H
#define COMPLEARN_RECORD_READER_H

#include <stddef.h>
#include <stdint.h>

/* Return codes of clr_read */
#define CLR_EVENTS 0     /* events stored; call again for more */
#define CLR_MAP 1        /* a mapping record: see clr_reader.map */
#define CLR_END 2        /* the END record: see clr_reader.end_* */
#define CLR_EOF 3        /* the stream ended */
#define CLR_INTERRUPTED 4 /* read() was interrupted by a signal */
#define CLR_IO_ERROR 5   /* read() failed: see clr_reader.error_number */
#define CLR_BAD_HEADER 6 /* the stream does not start with a valid header */
#define CLR_BAD_RECORD 7 /* an unknown record tag or a malformed control record */
#define CLR_NO_MEMORY 8  /* malloc failed */
#define CLR_BAD_CALL 9   /* an output buffer too small for the call */

#define CLR_PATH_MAX 4096
/* Packed events (clr_read_packed): each event is a 64-bit value, stored as
   the prefix varint of the zigzag of its difference to the previous value
   of the same thread (0 before the first). A prefix varint of n bytes (1 to
   8) is the little-endian n-byte number zigzag << n | 1 << (n - 1), so the
   trailing zeros of its first byte give its length; n = 9 is a 0 byte and
   then the 8 bytes of the zigzag. A memory event's value is the 64-byte
   block number << 2, bit 1 set for a store (`store` is 0 or CL_MEM_STORE);
   a call's is the callee address << 2 | 1. */
#define CLR_BLOCK_WORD(block, store) (((uint64_t)(block) << 2) | (uint64_t)(store))
#define CLR_CALL_WORD(target) (((uint64_t)(target) << 2) | 1u)
#define CLR_VARINT_ROOM 16 /* bytes that writing one varint may touch */

struct clr_map {
    uint64_t start;
    uint64_t end;
    uint64_t file_offset;
    uint64_t record_index;
    uint32_t prot;        /* CL_PROT_* bits */
    uint32_t path_length;
    char path[CLR_PATH_MAX + 1];
};

typedef struct clr_reader {
    int fd;
    int header_seen;
    int error_number;       /* errno of the failed read() */
    uint64_t bytes_read;
    uint64_t events_read;
    uint64_t end_events;    /* END record: events the tool wrote */
    uint32_t end_flags;     /* END record: CL_END_* bits */
    uint32_t end_exit_code; /* END record: exit code seen by the tool */
    uint32_t bad_kind;      /* tag of the record behind CLR_BAD_RECORD */
    uint32_t tid;           /* thread id of the next events (THREAD records) */
    size_t trailing_bytes;  /* bytes of an incomplete record at EOF */
    struct clr_map map;
    unsigned char *buffer;
    size_t buffer_size;
    size_t start;           /* first unread byte in buffer */
    size_t stop;            /* one past the last valid byte */
    /* Ring mode: buffer points into the shared chunks. */
    unsigned char *ring;    /* NULL in pipe mode */
    size_t chunk_bytes;
    size_t ring_chunks;
    size_t next_chunk;      /* index of the chunk the next CHUNK record announces */
    int free_fd;            /* one byte written here gives a chunk back */
    int holding;            /* buffer is a chunk not given back yet */
    size_t note_have;       /* bytes of a CHUNK record read so far */
    unsigned char note[8];
    int vector;             /* pack with AVX-512 */
    uint64_t *bases;        /* packed events: the last value of each thread id */
    size_t bases_size;
} clr_reader;

/* Open a reader on a file descriptor (not closed by clr_close). NULL when out of memory. */
clr_reader *clr_open(int fd, size_t buffer_size);
void clr_close(clr_reader *reader);

/* Open a reader in ring mode: `fd` carries CHUNK records, the records
 * themselves are in the `chunks` chunks of `chunk_bytes` at `ring`, and each
 * chunk read is given back with one byte on `free_fd` (closed by neither). */
clr_reader *clr_open_ring(int fd, unsigned char *ring, size_t chunk_bytes, size_t chunks,
                          int free_fd);

/* Store up to `capacity` event records in the four arrays and set *count:
 * value (block number or callee address), kind (CL_KIND_*), flags
 * (CL_FLAG_STORE for a store) and thread id (from the THREAD records).
 * A memory record gives one event per 64-byte block it touches; `capacity`
 * must be at least 2, room for both events of a spanning access.
 * Returns before the capacity is reached when the buffered bytes run out
 * after at least one event, or at a MAP or END record (the events before
 * it are stored first). Blocks in read() only when nothing is buffered. */
int clr_read(clr_reader *reader, int64_t *values, uint8_t *kinds, uint8_t *flags,
             uint32_t *tids, size_t capacity, size_t *count);

/* Like clr_read, into packed events (see CLR_BLOCK_WORD): append the events
 * of one thread to `out` (at most `capacity` bytes, at least 64), set
 * *length (bytes), *events and *tid. Waits for more records until `out` is
 * full. Returns earlier at a switch to another thread, a MAP or END record,
 * the end of the stream, a signal or a read error. In those cases the events
 * packed so far come first, and the next call reports the rest. This is the
 * fast path of memory traces: it writes about 2 bytes per event instead of 14. */
int clr_read_packed(clr_reader *reader, uint8_t *out, size_t capacity, size_t *length,
                    size_t *events, uint32_t *tid);

/* Decode up to `capacity` packed events from `data` into values (block
 * number or callee address), kinds and flags, starting from the value in
 * *base and leaving the last value there. Sets *count and *consumed (the
 * bytes of whole events decoded; a varint cut at the end of `data` stays
 * for the next call). Returns CLR_EVENTS. */
int clr_unpack(const uint8_t *data, size_t length, uint64_t *base, int64_t *values,
               uint8_t *kinds, uint8_t *flags, size_t capacity, size_t *count,
               size_t *consumed);

#endif
