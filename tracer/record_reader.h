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
#define CLR_BAD_RECORD 7 /* an unknown record kind or a malformed mapping */

#define CLR_PATH_MAX 4096

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
    uint32_t bad_kind;      /* kind of the record behind CLR_BAD_RECORD */
    size_t trailing_bytes;  /* bytes of an incomplete record at EOF */
    struct clr_map map;
    unsigned char *buffer;
    size_t buffer_size;
    size_t start;           /* first unread byte in buffer */
    size_t stop;            /* one past the last valid byte */
} clr_reader;

/* Open a reader on a file descriptor (not closed by clr_close). NULL when out of memory. */
clr_reader *clr_open(int fd, size_t buffer_size);
void clr_close(clr_reader *reader);

/* Store up to `capacity` event records in the four arrays and set *count.
 * Returns before the capacity is reached when the buffered bytes run out
 * after at least one event, or at a MAP or END record (the events before
 * it are stored first). Blocks in read() only when nothing is buffered. */
int clr_read(clr_reader *reader, int64_t *values, uint8_t *kinds, uint8_t *flags,
             uint32_t *tids, size_t capacity, size_t *count);

#endif
