/* Replacement policy registry: ids are the SIM_POLICY_* values in cache.h. */
#include <stddef.h>

#include "internal.h"

static const policy_ops *const POLICIES[] = {
    [SIM_POLICY_LRU] = &policy_lru,
    [SIM_POLICY_FIFO] = &policy_fifo,
    [SIM_POLICY_RANDOM] = &policy_random,
    [SIM_POLICY_SRRIP] = &policy_srrip,
};

const policy_ops *policy_by_id(int32_t id)
{
    if (id < 0 || id >= (int32_t)(sizeof(POLICIES) / sizeof(POLICIES[0])))
        return NULL;
    return POLICIES[id];
}

/* SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): one 64-bit output per call. */
uint64_t sim_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
