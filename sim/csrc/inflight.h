/* Prefetches in flight: a min-heap on arrival time plus a hash set of their lines.
 *
 * A line is in flight at most once. Removing a line (a late demand took it over)
 * deletes it from the hash set only; its heap entry becomes stale and is skipped
 * when popped, recognized by its sequence number. */
#ifndef SIM_INFLIGHT_H
#define SIM_INFLIGHT_H

#include <stdint.h>

typedef struct {
    int64_t arrival;  /* time (in accesses) from which the line is usable */
    int64_t line;
    uint64_t seq;
} inflight_entry;

typedef struct {
    inflight_entry *heap;
    int64_t heap_size, heap_cap;
    int64_t *keys;       /* hash set: line, or -1 when the slot is empty */
    uint64_t *seqs;      /* sequence number of the live heap entry of keys[i] */
    int64_t hash_cap;    /* power of two */
    int64_t count;       /* lines in flight */
    uint64_t next_seq;
} inflight_t;

int inflight_init(inflight_t *q);
void inflight_free(inflight_t *q);
int inflight_contains(const inflight_t *q, int64_t line);
int inflight_push(inflight_t *q, int64_t line, int64_t arrival);
int inflight_remove(inflight_t *q, int64_t line);
/* Pop the next live entry with arrival <= time into *line; returns 0 when there is none. */
int inflight_pop_ready(inflight_t *q, int64_t time, int64_t *line);

static inline int inflight_any_ready(const inflight_t *q, int64_t time)
{
    return q->heap_size > 0 && q->heap[0].arrival <= time;
}

#endif
