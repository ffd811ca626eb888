/* Cache levels, the demand path, prefetch fills and the per-batch loop.
 *
 * Inclusion (when sim->inclusive): a line filled into level i is filled into
 * every level below it first, and a line evicted from level i > 0 is removed
 * from every level above it (a back-invalidation), so each upper level contains a
 * subset of the lines below it. Without inclusion, fills are the same but
 * evictions touch only their own level. Loads and stores are treated alike
 * (write-allocate, no dirty state). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int is_power_of_two(int64_t x)
{
    return x > 0 && (x & (x - 1)) == 0;
}

static int32_t log2_of(int64_t x)
{
    int32_t n = 0;
    while (x > 1) {
        x >>= 1;
        n++;
    }
    return n;
}

/* ---- construction ---------------------------------------------------------- */

static int level_init(level_t *lv, const sim_level_config *cfg, uint64_t seed)
{
    memset(lv, 0, sizeof(*lv));
    if (!is_power_of_two(cfg->sets) || cfg->ways < 1 || cfg->line_bytes < 64
        || !is_power_of_two(cfg->line_bytes) || !policy_by_id(cfg->policy))
        return SIM_EINVAL;

    size_t n = (size_t)cfg->sets * (size_t)cfg->ways;
    lv->sets = cfg->sets;
    lv->set_mask = cfg->sets - 1;
    lv->ways = cfg->ways;
    lv->line_shift = log2_of(cfg->line_bytes / 64);
    lv->policy = policy_by_id(cfg->policy);
    lv->rng = seed;
    lv->lines = malloc(n * sizeof(int64_t));
    lv->state = calloc(n, sizeof(uint64_t));
    lv->flags = calloc(n, sizeof(uint8_t));
    if (!lv->lines || !lv->state || !lv->flags)
        return SIM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        lv->lines[i] = SIM_INVALID_LINE;
    return SIM_OK;
}

int sim_new(const sim_level_config *levels, int32_t num_levels, int32_t inclusive,
            uint64_t seed, sim_t **out)
{
    *out = NULL;
    if (num_levels < 1)
        return SIM_EINVAL;
    for (int32_t i = 1; i < num_levels; i++)
        if (levels[i].line_bytes < levels[i - 1].line_bytes)
            return SIM_EINVAL;

    sim_t *sim = calloc(1, sizeof(sim_t));
    if (!sim)
        return SIM_ENOMEM;
    sim->levels = calloc((size_t)num_levels, sizeof(level_t));
    sim->num_levels = num_levels;
    sim->inclusive = inclusive != 0;
    sim->delay = 1;
    sim->last_block = -1;
    int rc = sim->levels ? inflight_init(&sim->inflight) : SIM_ENOMEM;
    /* Level i's PRNG starts from seed + i, so level 0 uses the seed itself. */
    for (int32_t i = 0; i < num_levels && rc == SIM_OK; i++)
        rc = level_init(&sim->levels[i], &levels[i], seed + (uint64_t)i);
    if (rc != SIM_OK) {
        sim_free(sim);
        return rc;
    }
    *out = sim;
    return SIM_OK;
}

void sim_free(sim_t *sim)
{
    if (!sim)
        return;
    for (int32_t i = 0; sim->levels && i < sim->num_levels; i++) {
        free(sim->levels[i].lines);
        free(sim->levels[i].state);
        free(sim->levels[i].flags);
    }
    free(sim->levels);
    free(sim->pick);
    inflight_free(&sim->inflight);
    free(sim);
}

int sim_set_prefetcher(sim_t *sim, int32_t kind, int32_t degree, int64_t delay)
{
    if (kind < 0 || kind > SIM_PREFETCH_REPLAY || degree < 1 || delay < 1)
        return SIM_EINVAL;
    int64_t *pick = realloc(sim->pick, sizeof(int64_t) * (size_t)degree);
    if (!pick)
        return SIM_ENOMEM;
    sim->pick = pick;
    sim->prefetcher = prefetcher_by_id(kind);
    sim->degree = degree;
    sim->delay = delay;
    return SIM_OK;
}

int sim_set_predictions(sim_t *sim, const int64_t *event_index, const int64_t *offsets,
                        const int64_t *predicted, const int64_t *delay, int64_t count)
{
    if (count < 0)
        return SIM_EINVAL;
    for (int64_t j = 0; j < count; j++)
        if (delay[j] < 1 || (j > 0 && event_index[j] < event_index[j - 1]))
            return SIM_EINVAL;
    sim->pred_index = event_index;
    sim->pred_offsets = offsets;
    sim->pred_blocks = predicted;
    sim->pred_delay = delay;
    sim->pred_count = count;
    sim->pred_cursor = 0;
    return SIM_OK;
}

/* ---- one level ------------------------------------------------------------- */

/* Way holding `line` in its set, or -1. */
static inline int32_t level_find(const level_t *lv, int64_t base, int64_t line)
{
    const int64_t *lines = lv->lines + base;
    for (int32_t way = 0; way < lv->ways; way++)
        if (lines[way] == line)
            return way;
    return -1;
}

static void back_invalidate(sim_t *sim, int32_t from_level, int64_t line);

/* Remove `line` from level `index` if present; a first-level prefetched line
 * that was never used counts as useless. */
static void level_invalidate(sim_t *sim, int32_t index, int64_t line)
{
    level_t *lv = &sim->levels[index];
    int64_t base = (line & lv->set_mask) * lv->ways;
    int32_t way = level_find(lv, base, line);
    if (way < 0)
        return;
    if (index == 0 && (lv->flags[base + way] & (SIM_LINE_PREFETCHED | SIM_LINE_USED)) == SIM_LINE_PREFETCHED
        && sim->counting)
        sim->pf.useless++;
    lv->lines[base + way] = SIM_INVALID_LINE;
    lv->flags[base + way] = 0;
    if (sim->counting)
        lv->stats.back_invalidations++;
}

/* Remove every upper-level line that overlaps `line` of level `from_level`. */
static void back_invalidate(sim_t *sim, int32_t from_level, int64_t line)
{
    int32_t shift = sim->levels[from_level].line_shift;
    for (int32_t j = 0; j < from_level; j++) {
        int32_t ratio_shift = shift - sim->levels[j].line_shift;
        int64_t first = line << ratio_shift;
        for (int64_t k = 0; k < ((int64_t)1 << ratio_shift); k++)
            level_invalidate(sim, j, first + k);
    }
}

/* Install `line` (known to be absent) into level `index` with `flags`. */
static void level_fill(sim_t *sim, int32_t index, int64_t line, uint8_t flags)
{
    level_t *lv = &sim->levels[index];
    int64_t base = (line & lv->set_mask) * lv->ways;

    /* 1. The lowest empty way, else the policy's victim. */
    int32_t way = level_find(lv, base, SIM_INVALID_LINE);
    if (way < 0) {
        way = lv->policy->victim(lv, base);
        int64_t victim = lv->lines[base + way];
        uint8_t victim_flags = lv->flags[base + way];
        if (sim->counting) {
            lv->stats.evictions++;
            if (index == 0 && (victim_flags & (SIM_LINE_PREFETCHED | SIM_LINE_USED)) == SIM_LINE_PREFETCHED)
                sim->pf.useless++;
        }

        /* 2. Inclusion: the victim leaves the upper levels too. */
        lv->lines[base + way] = SIM_INVALID_LINE;
        if (sim->inclusive && index > 0)
            back_invalidate(sim, index, victim);
    }

    /* 3. Install. */
    lv->lines[base + way] = line;
    lv->flags[base + way] = flags;
    lv->policy->on_fill(lv, base, way);
}

/* ---- demand and prefetch paths ------------------------------------------- */

/* Look up `block` level by level and fill the levels that missed, lowest first.
 * Returns 0 for a first-level miss, 1 for a hit, 2 for the first hit on a
 * prefetched line. */
static int demand_access(sim_t *sim, int64_t block)
{
    int counting = sim->counting;
    int32_t hit_level = sim->num_levels;  /* num_levels: memory */
    int outcome = 0;

    for (int32_t i = 0; i < sim->num_levels; i++) {
        level_t *lv = &sim->levels[i];
        int64_t line = block >> lv->line_shift;
        int64_t base = (line & lv->set_mask) * lv->ways;
        int32_t way = level_find(lv, base, line);
        if (counting)
            lv->stats.accesses++;
        if (way >= 0) {
            if (counting)
                lv->stats.hits++;
            lv->policy->on_hit(lv, base, way);
            uint8_t *flags = &lv->flags[base + way];
            if (i == 0) {
                outcome = 1;
                if ((*flags & (SIM_LINE_PREFETCHED | SIM_LINE_USED)) == SIM_LINE_PREFETCHED) {
                    outcome = 2;
                    if (counting)
                        sim->pf.useful++;
                }
            }
            *flags |= SIM_LINE_USED;
            hit_level = i;
            break;
        }
        if (counting)
            lv->stats.misses++;
        if (i == 0 && inflight_remove(&sim->inflight, line) && counting)
            sim->pf.late++;
    }

    for (int32_t i = hit_level - 1; i >= 0; i--)
        level_fill(sim, i, block >> sim->levels[i].line_shift, SIM_LINE_USED);
    return outcome;
}

/* A prefetch has arrived: fill its first-level line, after filling each lower
 * level that lacks the line. A lower level that contains it updates its
 * replacement state as on a hit, but not its counters. */
static void prefetch_arrive(sim_t *sim, int64_t line0)
{
    int64_t block = line0 << sim->levels[0].line_shift;
    for (int32_t i = sim->num_levels - 1; i >= 0; i--) {
        level_t *lv = &sim->levels[i];
        int64_t line = block >> lv->line_shift;
        int64_t base = (line & lv->set_mask) * lv->ways;
        int32_t way = level_find(lv, base, line);
        if (way >= 0)
            lv->policy->on_hit(lv, base, way);
        else
            level_fill(sim, i, line, SIM_LINE_PREFETCHED);
    }
}

void sim_issue_prefetch(sim_t *sim, int64_t line, int64_t arrival)
{
    level_t *lv = &sim->levels[0];
    int64_t base = (line & lv->set_mask) * lv->ways;
    if (level_find(lv, base, line) >= 0 || inflight_contains(&sim->inflight, line)) {
        sim->pf.redundant++;
        return;
    }
    if (inflight_push(&sim->inflight, line, arrival) != SIM_OK) {
        sim->error = SIM_ENOMEM;
        return;
    }
    sim->pf.issued++;
}

/* ---- the batch loop -------------------------------------------------------- */

int sim_run(sim_t *sim, const int64_t *blocks, int64_t n, int64_t first_time, int32_t counting)
{
    sim->counting = counting != 0;
    const prefetcher_ops *prefetcher = counting ? sim->prefetcher : NULL;
    int32_t shift0 = sim->levels[0].line_shift;

    for (int64_t i = 0; i < n && sim->error == SIM_OK; i++) {
        int64_t time = first_time + i;
        int64_t ready;
        while (inflight_any_ready(&sim->inflight, time) && inflight_pop_ready(&sim->inflight, time, &ready))
            prefetch_arrive(sim, ready);

        int64_t block = blocks[i];
        int outcome = demand_access(sim, block);
        if (prefetcher)
            prefetcher->on_access(sim, time, block, block >> shift0, outcome);
    }
    return sim->error;
}

/* ---- read-out -------------------------------------------------------------- */

void sim_get_level_stats(const sim_t *sim, int32_t level, sim_level_stats *out)
{
    *out = sim->levels[level].stats;
}

void sim_get_prefetch_stats(const sim_t *sim, sim_prefetch_stats *out)
{
    const level_t *lv = &sim->levels[0];
    int64_t unused = 0;
    for (int64_t i = 0; i < lv->sets * lv->ways; i++)
        if (lv->lines[i] != SIM_INVALID_LINE
            && (lv->flags[i] & (SIM_LINE_PREFETCHED | SIM_LINE_USED)) == SIM_LINE_PREFETCHED)
            unused++;
    *out = sim->pf;
    out->in_flight_at_end = sim->inflight.count;
    out->resident_at_end = unused + sim->inflight.count;
}

void sim_get_contents(const sim_t *sim, int32_t level, int64_t *lines, uint8_t *flags)
{
    const level_t *lv = &sim->levels[level];
    size_t n = (size_t)lv->sets * (size_t)lv->ways;
    memcpy(lines, lv->lines, n * sizeof(int64_t));
    memcpy(flags, lv->flags, n * sizeof(uint8_t));
}
