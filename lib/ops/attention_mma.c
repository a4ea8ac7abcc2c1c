/* attention_mma.c — launches kernels_cl/attention_mma.cl (decode and causal prefill on tensor cores,
 * T6_DEC_KERNEL / T6_PRE_KERNEL 4) as its plan says (attention_mma_plan.c: the stages and the queries per group
 * fitted to the device, the splits over it, the precision parts and the merge), behind the probe of
 * lib/runtime/mma_probe.c; a group over what the compiled kernel runs takes fewer queries. */
#include "ops/attention_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_CHANNEL 2
#define SCRATCH_CHANNEL 2

typedef t6i_mma_plan plan;

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

t6_status t6i_attention_mma(t6_context *ctx, const t6i_attention_call *call, const t6i_attention_shape *shape,
                            const plan *asked, const plan *fitted)
{
    t6_status status = T6_SUCCESS;
    const t6_cache *cache = call->cache;
    const t6_cache_config *c = &cache->config;
    const char *what = call->prefill ? "t6_attention(prefill, tensor cores)" : "t6_attention(decode, tensor cores)";
    cl_int *tiles = NULL;
    plan p = *fitted;
    char why[256];
    plan fitting = *asked; /* prefill's queries may be lowered to what the compiled kernel runs */
    cl_kernel kernel = NULL;
    for (bool planned = true;; planned = false) {
        if (!planned) {
            p = fitting;
            status = t6i_mma_plan_make(&ctx->info, shape, &p, why, sizeof why);
            if (status != T6_SUCCESS) return t6i_fail(ctx, status, "%s: %s", what, why);
        }
        if (p.mma == 1 && !t6i_tensor_cores_work(ctx, c->dtype))
            return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: no tensor cores passed their probe on this device", what);
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
        const int head_warps = (c->heads + 15) / 16, fit = (int)(kernel_limit / (32 * (size_t)head_warps));
        if (!call->prefill || p.queries <= 1 || fit < 1)
            return t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                            "%s: %d work-items per group are over the %zu this kernel can run (registers)", what,
                            p.wg_size, kernel_limit);
        fitting.queries = fit < p.queries ? fit : p.queries - 1;
        t6i_log(T6_LOG_INFO, "%s: %d work-items per group are over the %zu this kernel can run; QUERIES %d -> %d",
                what, p.wg_size, kernel_limit, p.queries, fitting.queries);
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
