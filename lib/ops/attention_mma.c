/* attention_mma.c — plans and launches kernels_cl/attention_mma.cl (decode and causal prefill on tensor cores,
 * T6_DEC_KERNEL / T6_PRE_KERNEL 4): behind the probe of lib/runtime/mma_probe.c, fits the stages
 * and the queries per group to the device, splits the positions over it, picks the precision parts and the
 * merge. */
#include "ops/attention_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_CHANNEL 2
#define SCRATCH_CHANNEL 2

typedef struct plan {
    int mma;               /* the kernel's T6_MMA: 1 PTX, 2 emulated */
    int stage, stages;     /* positions per stage, stages in flight */
    int queries;           /* consecutive queries per group (decode: 1) */
    int qterms, pterms;    /* fp16/bf16 parts of q̃ and of the softmax weights */
    int wg_size;
    size_t local_bytes;
    int query_tiles, splits, split_length, merge, fanin, blocks_max;
} plan;

/* The call's tunable NAME: T6_DEC_NAME for decode, T6_PRE_NAME for prefill. */
#define TUNABLE(call, params, name) t6i_param(params, T6I_ATTENTION_PARAM((call)->prefill, name))

static int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }

/* Local memory of one stage, as attention_mma.cl lays it out. */
static size_t stage_bytes(const t6_cache_config *c, int stage)
{
    const size_t row = (size_t)c->head_dim * 2 + (c->head_dim == 80 || c->head_dim == 96 ? 16 : 0);
    const size_t keys = (size_t)stage * (size_t)c->rank_k * row, values = (size_t)stage * (size_t)c->rank_v * row;
    const size_t a_k = ((size_t)stage * (size_t)c->heads * (size_t)c->rank_k * 2 / 16 + 1) * 16;
    const size_t a_v = ((size_t)stage * (size_t)c->heads * (size_t)c->rank_v * 2 / 16 + 1) * 16;
    return keys + values + a_k + a_v;
}

/* ---- planning ---- */

static t6_status make_plan(t6_context *ctx, const t6i_attention_call *call, const t6i_params *params, int mma,
                           plan *p)
{
    const t6_cache_config *c = &call->cache->config;
    const char *fn = call->prefill ? "t6_attention_prefill (tensor cores)" : "t6_attention_decode (tensor cores)";
    const int head_warps = ceil_div(c->heads, 16);
    p->mma = mma;
    p->qterms = c->dtype == T6_BF16 && call->precision == T6_PRECISION_STRICT ? 3 : 2;
    p->pterms = call->precision == T6_PRECISION_FAST ? 1 : 2;
    p->stage = TUNABLE(call, params, STAGE);
    p->stages = TUNABLE(call, params, STAGES);
    if (p->stage != 16 && p->stage != 32)
        return t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "%s: STAGE=%d must be 16 or 32", fn, p->stage);
    /* Queries per group: as asked, within the group limit and the longest entry. */
    p->queries = call->prefill ? t6i_param(params, T6I_PRE_QUERIES) : 1;
    int longest = 1;
    for (int i = 0; i < call->batch; i++)
        if (call->counts[i] > longest) longest = call->counts[i];
    if (p->queries > longest) p->queries = longest;
    while (p->queries > 1 && (size_t)(32 * head_warps * p->queries) > ctx->info.max_work_group_size) p->queries--;
    p->wg_size = 32 * head_warps * p->queries;
    if ((size_t)p->wg_size > ctx->info.max_work_group_size)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: H=%d needs %d work-items per group, over the device's %zu",
                        fn, c->heads, p->wg_size, ctx->info.max_work_group_size);
    /* Fewer positions per stage first (registers and bytes), then fewer stages, down to two of 16. */
    /* Besides the stages: the merge's totals and flag, and the emulation's exchange (12 floats per lane). */
    const size_t fixed = (size_t)(2 * c->heads + 1) * sizeof(float) + (mma == 2 ? (size_t)p->wg_size * 12 * 4 : 4);
    for (;;) {
        p->local_bytes = (size_t)p->stages * stage_bytes(c, p->stage) + fixed;
        if (p->local_bytes <= ctx->info.local_mem_bytes) return T6_SUCCESS;
        if (p->stage > 16) p->stage = 16;
        else if (p->stages > 2) p->stages--;
        else
            return t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                            "%s: two stages of 16 positions need %zu bytes of local memory (H=%d D=%d ranks %d,%d), "
                            "over the device's %llu", fn, p->local_bytes, c->heads, c->head_dim, c->rank_k, c->rank_v,
                            ctx->info.local_mem_bytes);
    }
}

/* Splits the positions until the device has about CU_GROUPS groups per compute unit, none shorter than
 * MIN_SPLIT, each a whole number of stages; then the merge: by the last groups (one launch), or the pass. */
static void plan_splits(t6_context *ctx, const t6i_attention_call *call, const t6i_params *params, plan *p)
{
    const t6_cache_config *c = &call->cache->config;
    p->query_tiles = 0;
    for (int i = 0; i < call->batch; i++) p->query_tiles += ceil_div(call->counts[i], p->queries);
    const long long wanted =
        (long long)ctx->info.compute_units *
        t6i_param(params, call->prefill ? T6I_PRE_GROUPS_PER_CU : T6I_DEC_CU_GROUPS);
    int splits = p->query_tiles >= wanted ? 1 : ceil_div(wanted, p->query_tiles);
    const int most = ceil_div(call->max_end, TUNABLE(call, params, MIN_SPLIT));
    if (splits > most) splits = most;
    if (splits < 1) splits = 1;
    p->split_length = ceil_div(ceil_div(call->max_end, splits), p->stage) * p->stage;
    p->splits = ceil_div(call->max_end, p->split_length);
    while (p->splits > 1 && t6i_split_partials_floats(call->rows, p->splits, c->heads, c->head_dim) > 2147483647ull) {
        p->split_length *= 2;
        p->splits = ceil_div(call->max_end, p->split_length);
    }
    /* By device (2) means the last groups merge: the point of this kernel is one launch per call. Prefill has
     * no such tunables: the groups merge, in blocks of about √splits. */
    p->merge = call->prefill || t6i_param(params, T6I_DEC_MERGE) != 0;
    p->fanin = call->prefill ? 0 : t6i_param(params, T6I_DEC_FANIN);
    if (p->fanin == 0) p->fanin = (int)ceil(sqrt((double)p->splits));
    if (p->fanin < 2) p->fanin = 2;
    p->blocks_max = ceil_div(p->splits, p->fanin);
    /* The merger keeps a weight per merged partial and head in the freed stages. */
    const int most_merged = p->fanin > p->blocks_max ? p->fanin : p->blocks_max;
    const size_t stage_floats = (size_t)p->stages * stage_bytes(c, p->stage) / sizeof(float);
    if ((size_t)most_merged * (size_t)c->heads > stage_floats) p->merge = 0;
}

static t6_status get_kernel(t6_context *ctx, const t6i_attention_call *call, const plan *p, cl_kernel *kernel)
{
    const t6_cache_config *c = &call->cache->config;
    char options[1024] = "";
    if (call->prefill) t6i_define(options, sizeof options, "T6_PREFILL", 1);
    t6i_define(options, sizeof options, "T6_HEADS", c->heads);
    t6i_define(options, sizeof options, "T6_HEAD_DIM", c->head_dim);
    t6i_define(options, sizeof options, "T6_RANK_Q", call->rank_q);
    t6i_define(options, sizeof options, "T6_RANK_K", c->rank_k);
    t6i_define(options, sizeof options, "T6_RANK_V", c->rank_v);
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", c->dtype);
    t6i_define(options, sizeof options, "T6_MMA", p->mma);
    t6i_define(options, sizeof options, "T6_QTERMS", p->qterms);
    t6i_define(options, sizeof options, "T6_PTERMS", p->pterms);
    if (call->prefill) {
        t6i_define(options, sizeof options, "T6_PRE_STAGE", p->stage);
        t6i_define(options, sizeof options, "T6_PRE_STAGES", p->stages);
        t6i_define(options, sizeof options, "T6_PRE_QUERIES", p->queries);
    } else {
        t6i_define(options, sizeof options, "T6_DEC_STAGE", p->stage);
        t6i_define(options, sizeof options, "T6_DEC_STAGES", p->stages);
    }
    t6i_large_register_file(ctx, options, sizeof options);
    return t6i_get_kernel(ctx, "attention_mma", options, "t6_attention_mma", kernel);
}

t6_status t6i_attention_mma(t6_context *ctx, const t6i_attention_call *call, const t6i_params *params)
{
    t6_status status = T6_SUCCESS;
    const t6_cache *cache = call->cache;
    const t6_cache_config *c = &cache->config;
    const char *what = call->prefill ? "t6_attention(prefill, tensor cores)" : "t6_attention(decode, tensor cores)";
    cl_int *tiles = NULL;
    plan p = {0};
    const int asked_mma = TUNABLE(call, params, MMA);
    if (c->dtype != T6_F16 && c->dtype != T6_BF16)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: the cache holds %s; tensor cores take fp16 and bf16 caches",
                        what, t6_dtype_name(c->dtype));
    if (asked_mma == 0 || (asked_mma == 1 && !t6i_tensor_cores_work(ctx, c->dtype)))
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: no tensor cores passed their probe on this device", what);
    t6i_params fitted = *params; /* prefill's QUERIES may be lowered to what the compiled kernel runs */
    cl_kernel kernel = NULL;
    for (;;) {
        T6I_TRY(make_plan(ctx, call, &fitted, asked_mma, &p));
        plan_splits(ctx, call, &fitted, &p);
        status = get_kernel(ctx, call, &p, &kernel);
        if (status == T6_ERROR_BUILD_FAILED && p.mma == 1) {
            /* The probe's program built; a shape's may still not (resources): the caller falls back. */
            t6i_log(T6_LOG_WARN, "%s: the build failed (%.300s); falling back", what, t6_context_last_error(ctx));
            return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: the driver refused this shape's build", what);
        }
        T6I_TRY(status);
        size_t kernel_limit = 0;
        T6I_CHECK_CL(ctx, clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_limit,
                                                   &kernel_limit, NULL),
                     "clGetKernelWorkGroupInfo(t6_attention_mma)");
        if ((size_t)p.wg_size <= kernel_limit) break;
        /* A driver that gives the kernel many registers runs fewer work-items of it per group than the device's
         * limit (NVIDIA: 65536 registers per group): a prefill group takes fewer queries, each a warp per 16
         * heads, rather than leaving the tensor cores for the FMA kernels. */
        const int head_warps = ceil_div(c->heads, 16), fit = (int)(kernel_limit / (32 * (size_t)head_warps));
        if (!call->prefill || p.queries <= 1 || fit < 1)
            return t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                            "%s: %d work-items per group are over the %zu this kernel can run (registers)", what,
                            p.wg_size, kernel_limit);
        t6i_log(T6_LOG_INFO, "%s: %d work-items per group are over the %zu this kernel can run; QUERIES %d -> %d",
                what, p.wg_size, kernel_limit, p.queries, fit < p.queries ? fit : p.queries - 1);
        t6i_param_set(&fitted, T6I_PRE_QUERIES, fit < p.queries ? fit : p.queries - 1);
    }
    /* t6i_get_kernel has refused a build over the device's local memory (UNSUPPORTED: the caller falls back). */

    /* Query tiles: up to `queries` consecutive queries of one entry (slot, first row, count, first position). */
    T6I_ALLOC(ctx, tiles, (size_t)p.query_tiles * 4);
    int row = 0, index = 0;
    for (int i = 0; i < call->batch; i++) {
        for (int q = 0; q < call->counts[i]; q += p.queries, index++) {
            tiles[4 * index + 0] = call->slots[i];
            tiles[4 * index + 1] = row + q;
            tiles[4 * index + 2] = call->counts[i] - q < p.queries ? call->counts[i] - q : p.queries;
            tiles[4 * index + 3] = call->starts[i] + q;
        }
        row += call->counts[i];
    }
    cl_mem tile_buffer = NULL;
    T6I_TRY(t6i_upload_meta(ctx, META_CHANNEL, tiles, (size_t)p.query_tiles * 4 * sizeof *tiles, &tile_buffer));

    /* Partials, then (merge by the last groups over several blocks) the blocks' partials, 16-byte aligned. */
    cl_mem partials = call->out, counters = call->out;
    size_t level2 = 0;
    if (p.splits > 1) {
        const size_t first_level = t6i_split_partials_floats(call->rows, p.splits, c->heads, c->head_dim);
        level2 = t6i_round_up(first_level, 4);
        const size_t second_level = p.merge && p.blocks_max > 1
                                        ? t6i_split_partials_floats(call->rows, p.blocks_max, c->heads, c->head_dim)
                                        : 0;
        T6I_TRY(t6i_scratch(ctx, SCRATCH_CHANNEL, (level2 + second_level) * sizeof(float), &partials));
        if (p.merge)
            T6I_TRY(t6i_zeroed(ctx, (size_t)p.query_tiles * (size_t)(p.blocks_max + 1) * sizeof(cl_uint), &counters));
    }
    const float score_scale = t6i_score_scale(call);
    t6i_arg args[] = {T6I_ARG_MEM(call->query),
                      T6I_ARG_UINT(call->query_offset),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_A_K]),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_A_V]),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_B_K]),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_B_V]),
                      T6I_ARG_UINT(c->capacity),
                      T6I_ARG_MEM(tile_buffer),
                      T6I_ARG_UINT(call->rows),
                      T6I_ARG_UINT(p.split_length),
                      T6I_ARG_FLOAT(score_scale),
                      T6I_ARG_FLOAT(call->scales.v),
                      T6I_ARG_MEM(call->out),
                      T6I_ARG_UINT(call->out_offset),
                      T6I_ARG_UINT(p.splits == 1 ? 0 : p.merge ? 2 : 1), /* the kernel's MODE_* */
                      T6I_ARG_MEM(partials),
                      T6I_ARG_UINT(level2),
                      T6I_ARG_MEM(counters),
                      T6I_ARG_UINT(p.fanin)};
    T6I_TRY(t6i_set_args(ctx, kernel, what, args, (int)(sizeof args / sizeof args[0])));
    const size_t local[3] = {(size_t)p.wg_size, 1, 1};
    const size_t global[3] = {(size_t)p.wg_size * (size_t)p.splits, 1, (size_t)p.query_tiles};
    T6I_TRY(t6i_launch(ctx, kernel, what, 3, global, local));
    if (p.splits > 1 && !p.merge)
        T6I_TRY(t6i_merge_splits(ctx, call->rows, c->heads, c->head_dim, p.splits, partials, call->out,
                                 call->out_offset));
cleanup:
    free(tiles);
    return status;
}
