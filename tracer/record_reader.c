/* Bulk reader of the record stream defined in plugin/common/records.h. */
#include "record_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "records.h"

#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 8)
#define CLR_HAVE_AVX512 1
#include <immintrin.h>
#endif

/* Whether this CPU runs the AVX-512 packing loop. COMPLEARN_NO_AVX512=1
   turns it off, so that tests can run the plain loop. */
static int vector_packing(void)
{
#ifdef CLR_HAVE_AVX512
    const char *off = getenv("COMPLEARN_NO_AVX512");
    if (off != NULL && off[0] != '\0' && off[0] != '0')
        return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi2");
#else
    return 0;
#endif
}

/* spanning[(word >> 2) & 511] is 1 when the access of a memory record spans
   two blocks. The index has the offset in the block in bits 3-8 and the size
   code in bits 0-2. Code 7 is not used and reads as 64 bytes. */
static uint8_t spanning[512];

static void fill_spanning(void)
{
    for (unsigned index = 0; index < 512; index++) {
        unsigned code = index & 7u, offset = index >> 3;
        unsigned size = 1u << (code == 7 ? 6 : code);
        spanning[index] = offset + size > 64;
    }
}

static inline int spans_blocks(uint64_t word)
{
    return spanning[(word >> 2) & 511u];
}

clr_reader *clr_open(int fd, size_t buffer_size)
{
    clr_reader *reader = calloc(1, sizeof *reader);

    fill_spanning();
    if (reader == NULL)
        return NULL;
    reader->vector = vector_packing();
    /* A mapping and its path must fit in the buffer at once. */
    if (buffer_size < 2 * (CLR_PATH_MAX + 64))
        buffer_size = 2 * (CLR_PATH_MAX + 64);
    reader->buffer = malloc(buffer_size);
    if (reader->buffer == NULL) {
        clr_close(reader);
        return NULL;
    }
    reader->fd = fd;
    reader->tid = 1;
    reader->buffer_size = buffer_size;
    return reader;
}

clr_reader *clr_open_ring(int fd, unsigned char *ring, size_t chunk_bytes, size_t chunks,
                          int free_fd)
{
    clr_reader *reader = calloc(1, sizeof *reader);

    fill_spanning();
    if (reader == NULL)
        return NULL;
    reader->vector = vector_packing();
    reader->fd = fd;
    reader->tid = 1;
    reader->ring = ring;
    reader->chunk_bytes = chunk_bytes;
    reader->ring_chunks = chunks;
    reader->free_fd = free_fd;
    reader->buffer = ring;
    reader->buffer_size = chunk_bytes;
    return reader;
}

void clr_close(clr_reader *reader)
{
    if (reader != NULL && reader->ring == NULL)
        free(reader->buffer);
    if (reader != NULL)
        free(reader->bases);
    free(reader);
}

/* Ring mode: give the chunk back and wait for the next CHUNK record. */
static int next_chunk(clr_reader *reader)
{
    uint64_t note;
    size_t bytes;

    if (reader->start < reader->stop) {
        /* A record crosses the end of a chunk: the tool never does that. */
        reader->bad_kind = CL_TAG_CHUNK;
        return CLR_BAD_RECORD;
    }
    if (reader->holding) {
        static const unsigned char token = 1;
        ssize_t done;
        do
            done = write(reader->free_fd, &token, 1);
        while (done < 0 && errno == EINTR);
        /* A failed write means that the tool is gone, and the next read
           of the pipe returns its end. */
        reader->holding = 0;
        reader->start = reader->stop = 0;
    }
    while (reader->note_have < sizeof note) {
        ssize_t got = read(reader->fd, reader->note + reader->note_have,
                           sizeof note - reader->note_have);
        if (got < 0) {
            if (errno == EINTR)
                return CLR_INTERRUPTED;
            reader->error_number = errno;
            return CLR_IO_ERROR;
        }
        if (got == 0) {
            reader->trailing_bytes = reader->note_have;
            return CLR_EOF;
        }
        reader->note_have += (size_t)got;
    }
    memcpy(&note, reader->note, sizeof note);
    bytes = CL_CONTROL_ARGUMENT(note);
    if (CL_CONTROL_TAG(note) != CL_TAG_CHUNK || bytes > reader->chunk_bytes
        || bytes % CL_RECORD_SIZE != 0) {
        /* Something that is not a tool of this version writes the pipe. The
           word stays read, so that a call that returned events first gets
           the same error on the next call. */
        reader->bad_kind = CL_CONTROL_TAG(note);
        return reader->header_seen ? CLR_BAD_RECORD : CLR_BAD_HEADER;
    }
    reader->note_have = 0;
    reader->buffer = reader->ring + reader->next_chunk * reader->chunk_bytes;
    reader->next_chunk = (reader->next_chunk + 1) % reader->ring_chunks;
    reader->holding = 1;
    reader->start = 0;
    reader->stop = bytes;
    reader->bytes_read += bytes;
    return -1;
}

/* Read more bytes after the buffered ones; returns a CLR_* code or -1 on success. */
static int fill(clr_reader *reader)
{
    ssize_t got;

    if (reader->ring != NULL)
        return next_chunk(reader);
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

/* Decode the MAP or END record whose header word is at reader->start; any
   other control tag makes the stream malformed. */
static int read_mapping_or_end(clr_reader *reader, uint64_t word)
{
    if (CL_CONTROL_TAG(word) == CL_TAG_MAP)
        return read_map(reader, word);
    if (CL_CONTROL_TAG(word) == CL_TAG_END)
        return read_end(reader, word);
    reader->bad_kind = CL_CONTROL_TAG(word);
    return CLR_BAD_RECORD;
}

int clr_read(clr_reader *reader, int64_t *values, uint8_t *kinds, uint8_t *flags,
             uint32_t *tids, size_t capacity, size_t *count)
{
    size_t stored = 0;
    int full = 0, status;

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

        /* Expand the run of event records in the buffer without other checks.
           A spanning access that does not fit waits for the next call. */
        next = reader->buffer + reader->start;
        available = (reader->stop - reader->start) / CL_RECORD_SIZE;
        for (; available > 0 && stored < capacity; available--, next += CL_RECORD_SIZE) {
            memcpy(&word, next, sizeof word);
            if ((word & 1u) == 0) {
                uint64_t block = CL_MEM_WORD_ADDRESS(word) >> CL_BLOCK_SHIFT;
                uint8_t store = (uint8_t)((word >> 1) & 1u);
                int spans = spans_blocks(word);
                if (spans && stored + 2 > capacity) {
                    full = 1;
                    break;
                }
                values[stored] = (int64_t)block;
                kinds[stored] = CL_KIND_MEM;
                flags[stored] = store;
                tids[stored++] = tid;
                if (spans) {
                    values[stored] = (int64_t)(block + 1);
                    kinds[stored] = CL_KIND_MEM;
                    flags[stored] = store;
                    tids[stored++] = tid;
                }
            } else if ((word & 0xffu) == CL_TAG_CALL) {
                values[stored] = (int64_t)(word >> 8);
                kinds[stored] = CL_KIND_CALL;
                flags[stored] = 0;
                tids[stored++] = tid;
            } else {
                break;
            }
        }
        reader->start = (size_t)(next - reader->buffer);
        if (full)
            break;
        if (available == 0 || stored == capacity)
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
        return read_mapping_or_end(reader, word);
    }
    *count = stored;
    reader->events_read += stored;
    return CLR_EVENTS;
}

/* The delta base of thread `tid` for packed events, or NULL out of memory. */
static uint64_t *delta_base(clr_reader *reader, uint32_t tid)
{
    if (tid >= reader->bases_size) {
        size_t size = (size_t)tid + 64;
        uint64_t *bases = realloc(reader->bases, size * sizeof bases[0]);
        if (bases == NULL)
            return NULL;
        memset(bases + reader->bases_size, 0, (size - reader->bases_size) * sizeof bases[0]);
        reader->bases = bases;
        reader->bases_size = size;
    }
    return reader->bases + tid;
}

/* The bytes of the prefix varint of a value of 1 to 64 significant bits. */
static const uint8_t varint_bytes[65] = {
    1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3,
    4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
    7, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9,
};

/* Append `value` as the prefix varint of the zigzag of its difference to
   *base (see record_reader.h). Writes up to CLR_VARINT_ROOM bytes and
   advances by the varint's length, without a branch on that length: a
   byte-by-byte varint mispredicts about once per event here. */
static inline uint8_t *put_delta(uint8_t *out, uint64_t value, uint64_t *base)
{
    uint64_t delta = value - *base;
    uint64_t zigzag = (delta << 1) ^ (uint64_t)((int64_t)delta >> 63);
    unsigned length = varint_bytes[64 - __builtin_clzll(zigzag | 1u)];

    *base = value;
    if (length <= 8) {
        uint64_t coded = (zigzag << length) | ((uint64_t)1 << (length - 1));
        memcpy(out, &coded, sizeof coded);
    } else {
        out[0] = 0;
        memcpy(out + 1, &zigzag, sizeof zigzag);
    }
    return out + length;
}

/* Pack the event records from `next` up to `stop` one by one; return
   where it stopped: `stop`, or the first control record. */
static const unsigned char *pack_records(const unsigned char *next, const unsigned char *stop,
                                         uint8_t **cursor, uint64_t *base, size_t *count)
{
    uint8_t *out = *cursor;
    size_t events = 0;
    uint64_t word;

    for (; next < stop; next += CL_RECORD_SIZE) {
        memcpy(&word, next, sizeof word);
        if ((word & 1u) == 0) {
            /* CLR_BLOCK_WORD of the record's block, from the record itself. */
            uint64_t value = ((word >> (CL_MEM_ADDRESS_SHIFT + CL_BLOCK_SHIFT)) << 2)
                           | (word & CL_MEM_STORE);
            out = put_delta(out, value, base);
            events += 1;
            if (spans_blocks(word)) {
                out = put_delta(out, value + 4, base); /* the next block */
                events += 1;
            }
        } else if ((word & 0xffu) == CL_TAG_CALL) {
            out = put_delta(out, CLR_CALL_WORD(word >> 8), base);
            events += 1;
        } else {
            break;
        }
    }
    *cursor = out;
    *count += events;
    return next;
}

#ifdef CLR_HAVE_AVX512
/* The same for groups of 8 memory records with AVX-512, about three times
   faster: a group whose accesses all stay in one block and whose varints
   are at most 8 bytes is packed at once, with the varint bytes gathered by
   a byte compress. Returns at the first group that is not such a group. */
__attribute__((target("avx512f,avx512cd,avx512bw,avx512vbmi2,popcnt")))
static const unsigned char *pack_groups(const unsigned char *next, const unsigned char *stop,
                                        uint8_t **cursor, uint64_t *base, size_t *count)
{
    const __m512i ones = _mm512_set1_epi64(1), store_bit = _mm512_set1_epi64(2);
    const __m512i code_mask = _mm512_set1_epi64(7), largest_code = _mm512_set1_epi64(6);
    const __m512i offset_mask = _mm512_set1_epi64(63), block_bytes = _mm512_set1_epi64(64);
    const __m512i longest_zigzag = _mm512_set1_epi64(56), six = _mm512_set1_epi64(6);
    const __m512i by_seven = _mm512_set1_epi64(37); /* (bits + 6) * 37 >> 8 = ceil(bits / 7) */
    uint8_t *out = *cursor;
    uint64_t previous = *base;
    size_t groups = 0;

    for (; stop - next >= 8 * CL_RECORD_SIZE; next += 8 * CL_RECORD_SIZE, groups++) {
        __m512i words = _mm512_loadu_si512((const void *)next);
        __m512i offset = _mm512_and_si512(_mm512_srli_epi64(words, CL_MEM_ADDRESS_SHIFT),
                                          offset_mask);
        __m512i code = _mm512_min_epu64(_mm512_and_si512(_mm512_srli_epi64(words, 2), code_mask),
                                        largest_code);
        __m512i end = _mm512_add_epi64(offset, _mm512_sllv_epi64(ones, code));
        __m512i values, deltas, zigzags, bits, lengths, coded, byte_masks;
        uint64_t keep, last;

        if (_mm512_test_epi64_mask(words, ones) != 0
            || _mm512_cmpgt_epu64_mask(end, block_bytes) != 0)
            break; /* a call, a control record or a spanning access */
        values = _mm512_or_si512(
            _mm512_slli_epi64(_mm512_srli_epi64(words, CL_MEM_ADDRESS_SHIFT + CL_BLOCK_SHIFT), 2),
            _mm512_and_si512(words, store_bit));
        /* Each value minus the one before it: the previous group's last for the first. */
        deltas = _mm512_sub_epi64(
            values, _mm512_alignr_epi64(values, _mm512_set1_epi64((long long)previous), 7));
        zigzags = _mm512_xor_si512(_mm512_slli_epi64(deltas, 1), _mm512_srai_epi64(deltas, 63));
        bits = _mm512_sub_epi64(block_bytes, _mm512_lzcnt_epi64(_mm512_or_si512(zigzags, ones)));
        if (_mm512_cmpgt_epu64_mask(bits, longest_zigzag) != 0)
            break; /* a 9-byte varint */
        lengths = _mm512_srli_epi64(_mm512_mullo_epi32(_mm512_add_epi64(bits, six), by_seven), 8);
        coded = _mm512_or_si512(_mm512_sllv_epi64(zigzags, lengths),
                                _mm512_sllv_epi64(ones, _mm512_sub_epi64(lengths, ones)));
        byte_masks = _mm512_sub_epi64(_mm512_sllv_epi64(ones, lengths), ones);
        keep = (uint64_t)_mm_cvtsi128_si64(_mm512_cvtepi64_epi8(byte_masks));
        _mm512_storeu_si512((void *)out, _mm512_maskz_compress_epi8(keep, coded));
        out += __builtin_popcountll(keep);
        memcpy(&last, next + 7 * CL_RECORD_SIZE, sizeof last);
        previous = ((last >> (CL_MEM_ADDRESS_SHIFT + CL_BLOCK_SHIFT)) << 2) | (last & CL_MEM_STORE);
    }
    *cursor = out;
    *base = previous;
    *count += 8 * groups;
    return next;
}
#endif

/* The maximum bytes one record adds to packed events: two 9-byte varints. */
#define PACKED_RECORD_MAX 18

int clr_read_packed(clr_reader *reader, uint8_t *out, size_t capacity, size_t *length,
                    size_t *events, uint32_t *tid)
{
    uint8_t *cursor = out, *room_end;
    size_t count = 0;
    uint64_t *slot, base;
    size_t room;
    int status;

    *length = *events = 0;
    *tid = reader->tid;
    if (capacity < 4 * CLR_VARINT_ROOM)
        return CLR_BAD_CALL;
    room_end = out + capacity - 2 * CLR_VARINT_ROOM; /* two events per record at most */
    if (!reader->header_seen && (status = read_header(reader)) >= 0)
        return status;

    for (;;) {
        const unsigned char *next, *stop;
        uint64_t word;

        if (reader->stop - reader->start < CL_RECORD_SIZE) {
            /* Wait for more records with the packed ones held: the fewer the
               returns, the less Python runs per event. The end of the
               stream, a signal or an error hands them back first. */
            status = require(reader, CL_RECORD_SIZE);
            if (status >= 0 && count > 0)
                break;
            if (status >= 0)
                return status;
        }
        slot = delta_base(reader, reader->tid);
        if (slot == NULL)
            return CLR_NO_MEMORY;
        base = *slot;

        /* Only as many records as surely fit: the loop checks no room. */
        next = reader->buffer + reader->start;
        stop = next + (reader->stop - reader->start) / CL_RECORD_SIZE * CL_RECORD_SIZE;
        room = (size_t)(room_end - cursor) / PACKED_RECORD_MAX; /* records */
        if ((size_t)(stop - next) / CL_RECORD_SIZE > room)
            stop = next + room * CL_RECORD_SIZE;
        while (next < stop) {
            const unsigned char *group_stop;
#ifdef CLR_HAVE_AVX512
            if (reader->vector)
                next = pack_groups(next, stop, &cursor, &base, &count);
#endif
            /* What the vector loop left: up to 8 records one by one. */
            group_stop = stop;
            if ((size_t)(stop - next) > 8 * CL_RECORD_SIZE)
                group_stop = next + 8 * CL_RECORD_SIZE;
            next = pack_records(next, group_stop, &cursor, &base, &count);
            if (next < group_stop)
                break; /* a control record */
        }
        *slot = base;
        reader->start = (size_t)(next - reader->buffer);
        if ((size_t)(room_end - cursor) < PACKED_RECORD_MAX)
            break;
        if (next == stop)
            continue;

        /* A control record: the packed events all belong to one thread, and
           a mapping or the end comes after the events before it. */
        memcpy(&word, next, sizeof word);
        if (CL_CONTROL_TAG(word) == CL_TAG_THREAD) {
            if (count > 0 && CL_CONTROL_ARGUMENT(word) != reader->tid)
                break;
            reader->tid = CL_CONTROL_ARGUMENT(word);
            *tid = reader->tid;
            reader->start += CL_RECORD_SIZE;
            continue;
        }
        if (count > 0)
            break;
        return read_mapping_or_end(reader, word);
    }
    *length = (size_t)(cursor - out);
    *events = count;
    reader->events_read += count;
    return CLR_EVENTS;
}

int clr_unpack(const uint8_t *data, size_t length, uint64_t *base, int64_t *values,
               uint8_t *kinds, uint8_t *flags, size_t capacity, size_t *count,
               size_t *consumed)
{
    size_t at = 0, stored = 0;
    uint64_t value = *base;

    while (stored < capacity && at < length) {
        uint64_t zigzag = 0;
        unsigned bytes = data[at] != 0 ? (unsigned)__builtin_ctz(data[at]) + 1 : 9;

        if (at + bytes > length)
            break; /* the varint continues in the next piece */
        if (bytes == 9) {
            memcpy(&zigzag, data + at + 1, sizeof zigzag);
        } else {
            memcpy(&zigzag, data + at, bytes); /* little-endian, the high bytes stay 0 */
            zigzag >>= bytes;
        }
        at += bytes;
        value += (zigzag >> 1) ^ (0 - (zigzag & 1u));
        values[stored] = (int64_t)(value >> 2);
        if (value & 1u) {
            kinds[stored] = CL_KIND_CALL;
            flags[stored] = 0;
        } else {
            kinds[stored] = CL_KIND_MEM;
            flags[stored] = (uint8_t)((value >> 1) & 1u);
        }
        stored += 1;
    }
    *base = value;
    *count = stored;
    *consumed = at;
    return CLR_EVENTS;
}
