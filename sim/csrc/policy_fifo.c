/* FIFO: lines are stamped on fill only, so hits do not change the order; the
 * victim is the line filled longest ago. */
#include "internal.h"

static void fifo_hit(level_t *lv, int64_t base, int32_t way)
{
    (void)lv;
    (void)base;
    (void)way;
}

static void fifo_fill(level_t *lv, int64_t base, int32_t way)
{
    lv->state[base + way] = ++lv->clock;
}

static int32_t fifo_victim(level_t *lv, int64_t base)
{
    const uint64_t *stamp = lv->state + base;
    int32_t victim = 0;
    for (int32_t way = 1; way < lv->ways; way++)
        if (stamp[way] < stamp[victim])
            victim = way;
    return victim;
}

const policy_ops policy_fifo = {fifo_hit, fifo_fill, fifo_victim};
