/* SRRIP-HP with 2-bit re-reference prediction values (Jaleel et al., ISCA 2010):
 * a fill predicts a long re-reference interval (RRPV 2), a hit a near one (0).
 * The victim is the lowest way with RRPV 3; when there is none, every RRPV in
 * the set is incremented and the search repeats. */
#include "internal.h"

#define RRPV_MAX 3
#define RRPV_LONG 2

static void srrip_hit(level_t *lv, int64_t base, int32_t way)
{
    lv->state[base + way] = 0;
}

static void srrip_fill(level_t *lv, int64_t base, int32_t way)
{
    lv->state[base + way] = RRPV_LONG;
}

static int32_t srrip_victim(level_t *lv, int64_t base)
{
    uint64_t *rrpv = lv->state + base;
    for (;;) {
        for (int32_t way = 0; way < lv->ways; way++)
            if (rrpv[way] >= RRPV_MAX)
                return way;
        for (int32_t way = 0; way < lv->ways; way++)
            rrpv[way]++;
    }
}

const policy_ops policy_srrip = {srrip_hit, srrip_fill, srrip_victim};
