/* PC-less delta prefetcher on the block stream. Accesses to the same block as
 * the previous access are ignored. Otherwise, with delta = block - previous
 * block: when delta equals the previous non-zero delta, the lines of blocks
 * block + k * delta for k = 1..degree are requested (negative blocks and lines
 * already requested by this access are skipped). Then delta is remembered. */
#include "internal.h"

static void stride_access(sim_t *sim, int64_t time, int64_t block, int64_t line, int outcome)
{
    (void)outcome;
    int64_t previous = sim->last_block;
    sim->last_block = block;
    if (previous < 0 || block == previous)
        return;

    int64_t delta = block - previous;
    if (delta == sim->last_delta) {
        int32_t shift = sim->levels[0].line_shift;
        int64_t last_line = line;
        for (int32_t k = 1; k <= sim->degree; k++) {
            int64_t target = block + k * delta;
            if (target < 0)
                break;
            int64_t target_line = target >> shift;
            if (target_line == last_line)
                continue;
            sim_issue_prefetch(sim, target_line, time + sim->delay);
            last_line = target_line;
        }
    }
    sim->last_delta = delta;
}

const prefetcher_ops prefetch_stride = {stride_access};
