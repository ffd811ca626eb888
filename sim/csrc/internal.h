/* Internal structures shared by the simulator's C modules (not part of the API). */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include "cache.h"
#include "inflight.h"

#define SIM_INVALID_LINE (-1)

typedef struct level level_t;

/* A replacement policy: one small module per policy fills in this table.
 * `base` is the index of way 0 of the set in the level's arrays. */
typedef struct {
    void (*on_hit)(level_t *lv, int64_t base, int32_t way);
    void (*on_fill)(level_t *lv, int64_t base, int32_t way);
    int32_t (*victim)(level_t *lv, int64_t base);  /* called only on a full set */
} policy_ops;

struct level {
    int64_t sets;
    int64_t set_mask;
    int32_t ways;
    int32_t line_shift;   /* log2(line_bytes / 64): line = block >> line_shift */
    int64_t *lines;       /* (sets * ways) line numbers, SIM_INVALID_LINE when empty */
    uint64_t *state;      /* (sets * ways) per-line policy state */
    uint8_t *flags;       /* (sets * ways) SIM_LINE_* bits */
    const policy_ops *policy;
    uint64_t clock;       /* policy-private counter (LRU and FIFO stamps) */
    uint64_t rng;         /* policy-private PRNG state (random) */
    sim_level_stats stats;
};

/* A prefetcher: called after every demand access while prefetching is on.
 * `outcome` is 0 for a miss, 1 for a hit, 2 for the first hit on a prefetched line. */
typedef struct {
    void (*on_access)(sim_t *sim, int64_t time, int64_t block, int64_t line, int outcome);
} prefetcher_ops;

struct sim {
    level_t *levels;
    int32_t num_levels;
    int32_t inclusive;
    int32_t counting;     /* nonzero while counters are updated */
    int32_t error;        /* SIM_ENOMEM once an allocation in the loop failed */

    /* prefetcher settings and state */
    const prefetcher_ops *prefetcher;
    int32_t degree;
    int64_t delay;        /* accesses from issue to arrival, at least 1 */
    int64_t last_block;   /* stride: previous block, -1 before the first */
    int64_t last_delta;   /* stride: previous non-zero delta, 0 before the first */

    /* prediction replay: arrays owned by the caller, kept alive while set */
    const int64_t *pred_index;
    const int64_t *pred_offsets;
    const int64_t *pred_blocks;
    const int64_t *pred_delay;
    int64_t pred_count;
    int64_t pred_cursor;
    int64_t *pick;        /* (degree) lines chosen from one prediction */

    inflight_t inflight;
    sim_prefetch_stats pf;
};

/* policy.c */
const policy_ops *policy_by_id(int32_t id);
extern const policy_ops policy_lru, policy_fifo, policy_random, policy_srrip;
uint64_t sim_splitmix64(uint64_t *state);

/* prefetch.c */
const prefetcher_ops *prefetcher_by_id(int32_t id);
extern const prefetcher_ops prefetch_next_line, prefetch_stride, prefetch_replay;
void sim_issue_prefetch(sim_t *sim, int64_t line, int64_t arrival);

#endif
