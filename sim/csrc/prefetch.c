/* Prefetcher registry: ids are the SIM_PREFETCH_* values in cache.h. */
#include <stddef.h>

#include "internal.h"

static const prefetcher_ops *const PREFETCHERS[] = {
    [SIM_PREFETCH_NONE] = NULL,
    [SIM_PREFETCH_NEXT_LINE] = &prefetch_next_line,
    [SIM_PREFETCH_STRIDE] = &prefetch_stride,
    [SIM_PREFETCH_REPLAY] = &prefetch_replay,
};

const prefetcher_ops *prefetcher_by_id(int32_t id)
{
    if (id < 0 || id >= (int32_t)(sizeof(PREFETCHERS) / sizeof(PREFETCHERS[0])))
        return NULL;
    return PREFETCHERS[id];
}
