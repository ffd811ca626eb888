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
    reader->tid = 1;
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

/* Decode a MAP record whose header word is at reader->start. */
static int read_map(clr_reader *reader, uint64_t word)
{
    struct cl_map_payload payload;
    size_t words = CL_CONTROL_PAYLOAD(word);
    size_t total = (words + 1) * CL_RECORD_SIZE;
    size_t path_room = (words - CL_MAP_PAYLOAD_WORDS) * CL_RECORD_SIZE;
    int status;

    if (words < CL_MAP_PAYLOAD_WORDS || path_room > CL_PATH_MAX + CL_RECORD_SIZE) {
        reader->bad_kind = CL_TAG_MAP;
        return CLR_BAD_RECORD;
    }
    status = require(reader, total);
    if (status >= 0)
        return status;
    memcpy(&payload, reader->buffer + reader->start + CL_RECORD_SIZE, sizeof payload);
    if (payload.path_length > CLR_PATH_MAX || payload.path_length > path_room) {
        reader->bad_kind = CL_TAG_MAP;
        return CLR_BAD_RECORD;
    }
    reader->map.start = payload.start;
    reader->map.end = payload.end;
    reader->map.file_offset = payload.file_offset;
    reader->map.record_index = payload.record_index;
    reader->map.prot = CL_CONTROL_FLAGS(word);
    reader->map.path_length = (uint32_t)payload.path_length;
    memcpy(reader->map.path, reader->buffer + reader->start + sizeof payload + CL_RECORD_SIZE,
           payload.path_length);
    reader->map.path[payload.path_length] = '\0';
    reader->start += total;
    return CLR_MAP;
}

/* Decode an END record whose header word is at reader->start. */
static int read_end(clr_reader *reader, uint64_t word)
{
    uint64_t events;
    int status;

    if (CL_CONTROL_PAYLOAD(word) != 1) {
        reader->bad_kind = CL_TAG_END;
        return CLR_BAD_RECORD;
    }
    status = require(reader, 2 * CL_RECORD_SIZE);
    if (status >= 0)
        return status;
    memcpy(&events, reader->buffer + reader->start + CL_RECORD_SIZE, sizeof events);
    reader->end_events = events;
    reader->end_flags = CL_CONTROL_FLAGS(word);
    reader->end_exit_code = CL_CONTROL_ARGUMENT(word);
    reader->start += 2 * CL_RECORD_SIZE;
    return CLR_END;
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
        uint32_t tid = reader->tid;
        uint64_t word;

        if (reader->stop - reader->start < CL_RECORD_SIZE) {
            /* Hand back what is stored before blocking for more. */
            if (stored > 0)
                break;
            status = require(reader, CL_RECORD_SIZE);
            if (status >= 0)
                return status;
        }

        /* Expand the run of event records in the buffer without other checks. */
        next = reader->buffer + reader->start;
        available = (reader->stop - reader->start) / CL_RECORD_SIZE;
        if (available > capacity - stored)
            available = capacity - stored;
        for (; available > 0; available--, next += CL_RECORD_SIZE, stored++) {
            memcpy(&word, next, sizeof word);
            if ((word & 1u) == 0) {
                values[stored] = (int64_t)(word >> 2);
                kinds[stored] = CL_KIND_MEM;
                flags[stored] = (uint8_t)((word >> 1) & 1u);
            } else if ((word & 0xffu) == CL_TAG_CALL) {
                values[stored] = (int64_t)(word >> 8);
                kinds[stored] = CL_KIND_CALL;
                flags[stored] = 0;
            } else {
                break;
            }
            tids[stored] = tid;
        }
        reader->start = (size_t)(next - reader->buffer);
        if (available == 0)
            continue;

        /* A control record. A thread switch only changes the thread id of the
           events after it; others report the events before them first. */
        memcpy(&word, next, sizeof word);
        if (CL_CONTROL_TAG(word) == CL_TAG_THREAD) {
            reader->tid = CL_CONTROL_ARGUMENT(word);
            reader->start += CL_RECORD_SIZE;
            continue;
        }
        if (stored > 0)
            break;
        if (CL_CONTROL_TAG(word) == CL_TAG_MAP)
            return read_map(reader, word);
        if (CL_CONTROL_TAG(word) == CL_TAG_END)
            return read_end(reader, word);
        reader->bad_kind = CL_CONTROL_TAG(word);
        return CLR_BAD_RECORD;
    }
    *count = stored;
    reader->events_read += stored;
    return CLR_EVENTS;
}
