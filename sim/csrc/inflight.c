/* Prefetches in flight: min-heap on (arrival, seq) and a linear-probing hash set
 * of lines with backward-shift deletion (no tombstones). */
#include <stdlib.h>

#include "cache.h"
#include "inflight.h"

#define EMPTY (-1)
#define INITIAL_CAP 1024

static int64_t slot_of(const inflight_t *q, int64_t line)
{
    /* Fibonacci hashing: multiply by 2^64 / golden ratio, keep the top bits. */
    uint64_t h = (uint64_t)line * UINT64_C(0x9E3779B97F4A7C15);
    return (int64_t)(h >> 20) & (q->hash_cap - 1);
}

static int64_t find_slot(const inflight_t *q, int64_t line)
{
    int64_t i = slot_of(q, line);
    while (q->keys[i] != EMPTY && q->keys[i] != line)
        i = (i + 1) & (q->hash_cap - 1);
    return i;
}

int inflight_init(inflight_t *q)
{
    q->heap_size = 0;
    q->heap_cap = INITIAL_CAP;
    q->heap = malloc(sizeof(inflight_entry) * (size_t)q->heap_cap);
    q->hash_cap = INITIAL_CAP * 2;
    q->keys = malloc(sizeof(int64_t) * (size_t)q->hash_cap);
    q->seqs = malloc(sizeof(uint64_t) * (size_t)q->hash_cap);
    q->count = 0;
    q->next_seq = 0;
    if (!q->heap || !q->keys || !q->seqs)
        return SIM_ENOMEM;
    for (int64_t i = 0; i < q->hash_cap; i++)
        q->keys[i] = EMPTY;
    return SIM_OK;
}

void inflight_free(inflight_t *q)
{
    free(q->heap);
    free(q->keys);
    free(q->seqs);
    q->heap = NULL;
    q->keys = NULL;
    q->seqs = NULL;
}

int inflight_contains(const inflight_t *q, int64_t line)
{
    return q->count > 0 && q->keys[find_slot(q, line)] == line;
}

static int grow_hash(inflight_t *q)
{
    int64_t old_cap = q->hash_cap;
    int64_t *old_keys = q->keys;
    uint64_t *old_seqs = q->seqs;

    q->hash_cap = old_cap * 2;
    q->keys = malloc(sizeof(int64_t) * (size_t)q->hash_cap);
    q->seqs = malloc(sizeof(uint64_t) * (size_t)q->hash_cap);
    if (!q->keys || !q->seqs) {
        free(q->keys);
        free(q->seqs);
        q->keys = old_keys;
        q->seqs = old_seqs;
        q->hash_cap = old_cap;
        return SIM_ENOMEM;
    }
    for (int64_t i = 0; i < q->hash_cap; i++)
        q->keys[i] = EMPTY;
    for (int64_t i = 0; i < old_cap; i++) {
        if (old_keys[i] == EMPTY)
            continue;
        int64_t slot = find_slot(q, old_keys[i]);
        q->keys[slot] = old_keys[i];
        q->seqs[slot] = old_seqs[i];
    }
    free(old_keys);
    free(old_seqs);
    return SIM_OK;
}

static int heap_less(const inflight_entry *a, const inflight_entry *b)
{
    return a->arrival < b->arrival || (a->arrival == b->arrival && a->seq < b->seq);
}

int inflight_push(inflight_t *q, int64_t line, int64_t arrival)
{
    /* 1. Room in both structures (hash load factor at most 1/2). */
    if (q->heap_size == q->heap_cap) {
        inflight_entry *bigger = realloc(q->heap, sizeof(inflight_entry) * (size_t)q->heap_cap * 2);
        if (!bigger)
            return SIM_ENOMEM;
        q->heap = bigger;
        q->heap_cap *= 2;
    }
    if ((q->count + 1) * 2 > q->hash_cap && grow_hash(q) != SIM_OK)
        return SIM_ENOMEM;

    /* 2. Record the line in the hash set. */
    uint64_t seq = q->next_seq++;
    int64_t slot = find_slot(q, line);
    q->keys[slot] = line;
    q->seqs[slot] = seq;
    q->count++;

    /* 3. Sift the new heap entry up. */
    inflight_entry entry = {arrival, line, seq};
    int64_t i = q->heap_size++;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (!heap_less(&entry, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = entry;
    return SIM_OK;
}

static void delete_slot(inflight_t *q, int64_t hole)
{
    /* Backward-shift deletion keeps every probe chain unbroken. */
    int64_t mask = q->hash_cap - 1;
    int64_t i = hole;
    for (;;) {
        i = (i + 1) & mask;
        if (q->keys[i] == EMPTY)
            break;
        int64_t home = slot_of(q, q->keys[i]);
        /* Move keys[i] into the hole unless its home lies cyclically in (hole, i]. */
        int stays = (hole <= i) ? (hole < home && home <= i) : (hole < home || home <= i);
        if (stays)
            continue;
        q->keys[hole] = q->keys[i];
        q->seqs[hole] = q->seqs[i];
        hole = i;
    }
    q->keys[hole] = EMPTY;
    q->count--;
}

int inflight_remove(inflight_t *q, int64_t line)
{
    if (q->count == 0)
        return 0;
    int64_t slot = find_slot(q, line);
    if (q->keys[slot] != line)
        return 0;
    delete_slot(q, slot);
    return 1;
}

static inflight_entry heap_pop(inflight_t *q)
{
    inflight_entry top = q->heap[0];
    inflight_entry last = q->heap[--q->heap_size];
    int64_t i = 0;
    for (;;) {
        int64_t child = 2 * i + 1;
        if (child >= q->heap_size)
            break;
        if (child + 1 < q->heap_size && heap_less(&q->heap[child + 1], &q->heap[child]))
            child++;
        if (!heap_less(&q->heap[child], &last))
            break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    if (q->heap_size > 0)
        q->heap[i] = last;
    return top;
}

int inflight_pop_ready(inflight_t *q, int64_t time, int64_t *line)
{
    while (inflight_any_ready(q, time)) {
        inflight_entry top = heap_pop(q);
        int64_t slot = find_slot(q, top.line);
        if (q->keys[slot] != top.line || q->seqs[slot] != top.seq)
            continue;  /* stale: a late demand removed this prefetch */
        delete_slot(q, slot);
        *line = top.line;
        return 1;
    }
    return 0;
}
