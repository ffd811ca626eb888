/* Tagged next-line prefetcher (Smith, 1982): a demand miss, or the first demand
 * hit on a prefetched line, requests the next `degree` lines of the first level. */
#include "internal.h"

static void next_line_access(sim_t *sim, int64_t time, int64_t block, int64_t line, int outcome)
{
    (void)block;
    if (outcome == 1)
        return;
    for (int32_t k = 1; k <= sim->degree; k++)
        sim_issue_prefetch(sim, line + k, time + sim->delay);
}

const prefetcher_ops prefetch_next_line = {next_line_access};
