/* Random: the victim of a full set is way splitmix64(rng) % ways, from the
 * level's own PRNG seeded by sim_new, so runs repeat exactly. The modulo bias
 * is below 2^-56 for any realistic number of ways. */
#include "internal.h"

static void random_touch(level_t *lv, int64_t base, int32_t way)
{
    (void)lv;
    (void)base;
    (void)way;
}

static int32_t random_victim(level_t *lv, int64_t base)
{
    (void)base;
    return (int32_t)(sim_splitmix64(&lv->rng) % (uint64_t)lv->ways);
}

const policy_ops policy_random = {random_touch, random_touch, random_victim};
