/* attention_mma_plan.c — kernel 4's plan (attention_plan.h): the stages, the queries per group and the splits of
 * kernels_cl/attention_mma.cl, as pure arithmetic. */
#include "ops/attention_plan.h"

#include <math.h>
#include <stdio.h>

static int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }

/* Local memory of one stage, as attention_mma.cl lays it out. */
static size_t stage_bytes(const t6i_attention_shape *s, int stage)
{
    const size_t row = (size_t)s->head_dim * 2 + (s->head_dim == 80 || s->head_dim == 96 ? 16 : 0);
    const size_t keys = (size_t)stage * (size_t)s->rank_k * row, values = (size_t)stage * (size_t)s->rank_v * row;
    const size_t a_k = ((size_t)stage * (size_t)s->heads * (size_t)s->rank_k * 2 / 16 + 1) * 16;
    const size_t a_v = ((size_t)stage * (size_t)s->heads * (size_t)s->rank_v * 2 / 16 + 1) * 16;
    return keys + values + a_k + a_v;
}

/* Splits the positions until the device has about GROUPS_PER_CU groups per compute unit, none shorter than
 * MIN_SPLIT, each a whole number of stages; then the merge: by the last groups (one launch), or the pass. */
static void plan_splits(const t6_device_info *info, const t6i_attention_shape *s, t6i_mma_plan *p)
{
    p->query_tiles = t6i_query_tiles(s, p->queries);
    /* A split is a whole number of stages; the kernel indexes partial rows with signed 32 bits. */
    t6i_split_positions(info, s, p->query_tiles, p->groups_per_cu, p->min_split, p->stage, 2147483647ull, &p->splits,
                        &p->split_length);
    /* By device (2) means the last groups merge: the point of this kernel is one launch per call. Prefill has
     * no such tunables: the groups merge, in blocks of about √splits. */
    if (s->prefill) {
        p->merge = 1;
        p->fanin = 0;
    }
    p->merge = p->merge != 0;
    if (p->fanin == 0) p->fanin = (int)ceil(sqrt((double)p->splits));
    if (p->fanin < 2) p->fanin = 2;
    p->blocks_max = ceil_div(p->splits, p->fanin);
    /* The merger keeps a weight per merged partial and head in the freed stages. */
    const int most_merged = p->fanin > p->blocks_max ? p->fanin : p->blocks_max;
    const size_t stage_floats = (size_t)p->stages * stage_bytes(s, p->stage) / sizeof(float);
    if ((size_t)most_merged * (size_t)s->heads > stage_floats) p->merge = 0;
}

t6_status t6i_mma_plan_make(const t6_device_info *info, const t6i_attention_shape *s, t6i_mma_plan *p, char *why,
                            size_t cap)
{
    const int head_warps = ceil_div(s->heads, 16);
    if (s->dtype != T6_F16 && s->dtype != T6_BF16) {
        snprintf(why, cap, "tensor cores take fp16 and bf16 caches only");
        return T6_ERROR_UNSUPPORTED;
    }
    if (p->mma == 0 || (p->mma == 1 && !t6i_is_nvidia_gpu(info))) {
        snprintf(why, cap, "no tensor cores on this device (MMA=%d)", p->mma);
        return T6_ERROR_UNSUPPORTED;
    }
    if (p->stage != 16 && p->stage != 32) {
        snprintf(why, cap, "STAGE=%d must be 16 or 32", p->stage);
        return T6_ERROR_INVALID_PARAMS;
    }
    p->qterms = s->dtype == T6_BF16 && s->precision == T6_PRECISION_STRICT ? 3 : 2;
    p->pterms = s->precision == T6_PRECISION_FAST ? 1 : 2;
    /* Queries per group: as asked, within the group limit and the longest entry. */
    if (!s->prefill) p->queries = 1;
    int longest = 1;
    for (int i = 0; s->counts && i < s->batch; i++)
        if (s->counts[i] > longest) longest = s->counts[i];
    if (p->queries > longest) p->queries = longest;
    while (p->queries > 1 && (size_t)(32 * head_warps * p->queries) > info->max_work_group_size) p->queries--;
    p->wg_size = 32 * head_warps * p->queries;
    if ((size_t)p->wg_size > info->max_work_group_size) {
        snprintf(why, cap, "H=%d needs %d work-items per group, over the device's %zu", s->heads, p->wg_size,
                 info->max_work_group_size);
        return T6_ERROR_UNSUPPORTED;
    }
    /* Fewer positions per stage first (registers and bytes), then fewer stages, down to two of 16. Besides the
     * stages: the merge's totals and flag, and the emulation's exchange (12 floats per lane). */
    const size_t fixed = (size_t)(2 * s->heads + 1) * sizeof(float) + (p->mma == 2 ? (size_t)p->wg_size * 12 * 4 : 4);
    for (;;) {
        p->local_bytes = (size_t)p->stages * stage_bytes(s, p->stage) + fixed;
        if (p->local_bytes <= info->local_mem_bytes) break;
        if (p->stage > 16) p->stage = 16;
        else if (p->stages > 2) p->stages--;
        else {
            snprintf(why, cap, "two stages of 16 positions need %zu bytes of local memory (H=%d D=%d ranks %d,%d), "
                     "over the device's %llu", p->local_bytes, s->heads, s->head_dim, s->rank_k, s->rank_v,
                     (unsigned long long)info->local_mem_bytes);
            return T6_ERROR_UNSUPPORTED;
        }
    }
    plan_splits(info, s, p);
    return T6_SUCCESS;
}
