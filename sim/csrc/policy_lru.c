/* LRU: every hit or fill stamps the line with a rising counter; the victim has
 * the oldest stamp. */
#include "internal.h"

static void lru_touch(level_t *lv, int64_t base, int32_t way)
{
    lv->state[base + way] = ++lv->clock;
}

static int32_t lru_victim(level_t *lv, int64_t base)
{
    const uint64_t *stamp = lv->state + base;
    int32_t victim = 0;
    for (int32_t way = 1; way < lv->ways; way++)
        if (stamp[way] < stamp[victim])
            victim = way;
    return victim;
}

const policy_ops policy_lru = {lru_touch, lru_touch, lru_victim};
