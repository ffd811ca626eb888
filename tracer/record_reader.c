/* Bulk reader of the record stream defined in plugin/common/records.h. */
#include "record_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "records.h"

clr_reader *clr_open(int fd, size_t buffer_size)
{
    clr_reader *reader = calloc(1, sizeof *reader);

    if (reader == NULL)
        return NULL;
    /* A mapping and its path must fit in the buffer at once. */
    if (buffer_size < 2 * (CLR_PATH_MAX + 64))
        buffer_size = 2 * (CLR_PATH_MAX + 64);
    reader->buffer = malloc(buffer_size);
    if (reader->buffer == NULL) {
        free(reader);
        return NULL;
    }
    reader->fd = fd;
    reader->buffer_size = buffer_size;
    return reader;
}

void clr_close(clr_reader *reader)
{
    if (reader != NULL)
        free(reader->buffer);
    free(reader);
}

/* Read more bytes after the buffered ones; returns a CLR_* code or -1 on success. */
static int fill(clr_reader *reader)
{
    ssize_t got;

    if (reader->start > 0) {
        memmove(reader->buffer, reader->buffer + reader->start, reader->stop - reader->start);
        reader->stop -= reader->start;
        reader->start = 0;
    }
    got = read(reader->fd, reader->buffer + reader->stop, reader->buffer_size - reader->stop);
    if (got < 0) {
        if (errno == EINTR)
            return CLR_INTERRUPTED;
        reader->error_number = errno;
        return CLR_IO_ERROR;
    }
    if (got == 0) {
        reader->trailing_bytes = reader->stop - reader->start;
        return CLR_EOF;
    }
    reader->stop += (size_t)got;
    reader->bytes_read += (uint64_t)got;
    return -1;
}

/* Make at least `need` bytes available from start; returns a CLR_* code or -1. */
static int require(clr_reader *reader, size_t need)
{
    while (reader->stop - reader->start < need) {
        int status = fill(reader);
        if (status >= 0)
            return status;
    }
    return -1;
}

static int read_header(clr_reader *reader)
{
    struct cl_stream_header header;
    int status = require(reader, sizeof header);

    if (status >= 0)
        return status;
    memcpy(&header, reader->buffer + reader->start, sizeof header);
    if (memcmp(header.magic, CL_STREAM_MAGIC, sizeof header.magic) != 0
        || header.version != CL_STREAM_VERSION || header.record_size != CL_RECORD_SIZE)
        return CLR_BAD_HEADER;
    reader->start += sizeof header;
    reader->header_seen = 1;
    return -1;
}

/* Decode a MAP record at reader->start; its payload is fetched as needed. */
static int read_map(clr_reader *reader, const struct cl_record *record)
{
    struct cl_map_payload payload;
    size_t total = (size_t)(record->tid + 1) * CL_RECORD_SIZE;
    int status;

    if (record->tid < 2 || total > 2 * CLR_PATH_MAX)
        return CLR_BAD_RECORD;
    status = require(reader, total);
    if (status >= 0)
        return status == CLR_EOF ? CLR_EOF : status;
    memcpy(&payload, reader->buffer + reader->start + CL_RECORD_SIZE, sizeof payload);
    if (payload.path_length > CLR_PATH_MAX
        || payload.path_length > (uint64_t)(record->tid - 2) * CL_RECORD_SIZE)
        return CLR_BAD_RECORD;
    reader->map.start = record->value;
    reader->map.end = payload.end;
    reader->map.file_offset = payload.file_offset;
    reader->map.record_index = payload.record_index;
    reader->map.prot = record->flags;
    reader->map.path_length = (uint32_t)payload.path_length;
    memcpy(reader->map.path, reader->buffer + reader->start + 3 * CL_RECORD_SIZE,
           payload.path_length);
    reader->map.path[payload.path_length] = '\0';
    reader->start += total;
    return CLR_MAP;
}

int clr_read(clr_reader *reader, int64_t *values, uint8_t *kinds, uint8_t *flags,
             uint32_t *tids, size_t capacity, size_t *count)
{
    size_t stored = 0;
    int status;

    *count = 0;
    if (!reader->header_seen && (status = read_header(reader)) >= 0)
        return status;

    while (stored < capacity) {
        const unsigned char *next;
        size_t available;
        struct cl_record record;

        if (reader->stop - reader->start < CL_RECORD_SIZE) {
            /* Hand back what is stored before blocking for more. */
            if (stored > 0)
                break;
            status = require(reader, CL_RECORD_SIZE);
            if (status >= 0)
                return status;
        }

        /* Copy the run of event records in the buffer without other checks. */
        next = reader->buffer + reader->start;
        available = (reader->stop - reader->start) / CL_RECORD_SIZE;
        if (available > capacity - stored)
            available = capacity - stored;
        while (available > 0 && (next[0] == CL_KIND_CALL || next[0] == CL_KIND_MEM)) {
            memcpy(&record, next, sizeof record);
            values[stored] = (int64_t)record.value;
            kinds[stored] = record.kind;
            flags[stored] = record.flags;
            tids[stored] = record.tid;
            stored++;
            next += CL_RECORD_SIZE;
            available--;
        }
        reader->start = (size_t)(next - reader->buffer);
        if (available == 0)
            continue;

        /* A control record: report the events before it first. */
        if (stored > 0)
            break;
        memcpy(&record, next, sizeof record);
        if (record.kind == CL_KIND_MAP)
            return read_map(reader, &record);
        if (record.kind == CL_KIND_END) {
            reader->end_events = record.value;
            reader->end_flags = record.flags;
            reader->end_exit_code = record.tid;
            reader->start += CL_RECORD_SIZE;
            return CLR_END;
        }
        reader->bad_kind = record.kind;
        return CLR_BAD_RECORD;
    }
    *count = stored;
    reader->events_read += stored;
    return CLR_EVENTS;
}
