/* Prediction replay: a prediction made after the event at trace index t
 * requests the first `degree` distinct first-level lines among its predicted
 * blocks, in prediction order, arriving pred_delay[j] accesses after t. */
#include "internal.h"

static void replay_one(sim_t *sim, int64_t j, int64_t time)
{
    int32_t shift = sim->levels[0].line_shift;
    int32_t picked = 0;
    for (int64_t i = sim->pred_offsets[j]; i < sim->pred_offsets[j + 1] && picked < sim->degree; i++) {
        if (sim->pred_blocks[i] < 0)
            continue;
        int64_t line = sim->pred_blocks[i] >> shift;
        int32_t seen = 0;
        for (int32_t p = 0; p < picked && !seen; p++)
            seen = sim->pick[p] == line;
        if (seen)
            continue;
        sim->pick[picked++] = line;
        sim_issue_prefetch(sim, line, time + sim->pred_delay[j]);
    }
}

static void replay_access(sim_t *sim, int64_t time, int64_t block, int64_t line, int outcome)
{
    (void)block;
    (void)line;
    (void)outcome;

    /* Predictions made during a warm-up (prefetcher off) are skipped. */
    while (sim->pred_cursor < sim->pred_count && sim->pred_index[sim->pred_cursor] < time)
        sim->pred_cursor++;
    while (sim->pred_cursor < sim->pred_count && sim->pred_index[sim->pred_cursor] == time)
        replay_one(sim, sim->pred_cursor++, time);
}

const prefetcher_ops prefetch_replay = {replay_access};
