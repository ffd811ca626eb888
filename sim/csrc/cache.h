/* Trace-driven set-associative cache simulator: the public C API.
 *
 * Plain C99 with no Python in it, so a C-only test driver can link these
 * sources too. sim/_build_cache.py passes this header, without its
 * preprocessor lines, to cffi's cdef: keep it to declarations cffi parses.
 *
 * Units: a block is 64 bytes (the trace stores address >> 6); a line is
 * line_bytes bytes, so block b lies in line b >> log2(line_bytes / 64).
 * Time is counted in accesses: the access at trace index t happens at time t.
 */
#ifndef SIM_CACHE_H
#define SIM_CACHE_H

#include <stdint.h>

/* return codes. */
enum {
    SIM_OK = 0,
    SIM_ENOMEM = 1,  /* an allocation failed */
    SIM_EINVAL = 2   /* a configuration value is out of range */
};

/* replacement policies (ids index the table in policy.c). */
enum {
    SIM_POLICY_LRU = 0,
    SIM_POLICY_FIFO = 1,
    SIM_POLICY_RANDOM = 2,
    SIM_POLICY_SRRIP = 3
};

/* prefetchers (ids index the table in prefetch.c). */
enum {
    SIM_PREFETCH_NONE = 0,
    SIM_PREFETCH_NEXT_LINE = 1,
    SIM_PREFETCH_STRIDE = 2,
    SIM_PREFETCH_REPLAY = 3
};

/* per-line flag bits. */
enum {
    SIM_LINE_PREFETCHED = 1,  /* the line was filled by a prefetch */
    SIM_LINE_USED = 2         /* a demand access has hit the line since its fill */
};

/* geometry of one cache level. */
typedef struct {
    int64_t sets;        /* power of two */
    int32_t ways;        /* at least 1 */
    int32_t line_bytes;  /* power of two, at least 64 */
    int32_t policy;      /* SIM_POLICY_* */
} sim_level_config;

/* demand counters of one level (only accesses made while counting). */
typedef struct {
    int64_t accesses;            /* demand lookups at this level */
    int64_t hits;
    int64_t misses;
    int64_t evictions;           /* valid lines replaced by a fill */
    int64_t back_invalidations;  /* lines removed because a lower level evicted them */
} sim_level_stats;

/* prefetch counters, measured at the first level.
 * issued = useful + late + useless + resident_at_end; redundant is not in issued. */
typedef struct {
    int64_t issued;           /* requests sent towards memory */
    int64_t redundant;        /* requests dropped: line already in level 0 or in flight */
    int64_t useful;           /* prefetched lines hit by a demand access (once per line) */
    int64_t late;             /* demand misses on a line still in flight */
    int64_t useless;          /* prefetched lines evicted or invalidated unused */
    int64_t resident_at_end;  /* unused prefetched lines cached or in flight at the end */
    int64_t in_flight_at_end; /* the in-flight part of resident_at_end */
} sim_prefetch_stats;

typedef struct sim sim_t;

/* API */
int sim_new(const sim_level_config *levels, int32_t num_levels, int32_t inclusive,
            uint64_t seed, sim_t **out);
void sim_free(sim_t *sim);
int sim_set_prefetcher(sim_t *sim, int32_t kind, int32_t degree, int64_t delay);
int sim_set_predictions(sim_t *sim, const int64_t *event_index, const int64_t *offsets,
                        const int64_t *predicted, const int64_t *delay, int64_t count);
int sim_run(sim_t *sim, const int64_t *blocks, int64_t n, int64_t first_time,
            int32_t counting);
void sim_get_level_stats(const sim_t *sim, int32_t level, sim_level_stats *out);
void sim_get_prefetch_stats(const sim_t *sim, sim_prefetch_stats *out);
void sim_get_contents(const sim_t *sim, int32_t level, int64_t *lines, uint8_t *flags);

#endif
