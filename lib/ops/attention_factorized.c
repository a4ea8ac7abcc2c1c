/* attention_factorized.c — plans and launches kernels_cl/attention.cl and attention_vector.cl (decode and causal
 * prefill over the factor cache), then the log-sum-exp merge (decode_merge.c) when the cached positions are split
 * across groups. Decode on GPUs tries attention_decode.c (kernel 3) first. */
#include "ops/attention_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_CHANNEL 2
#define SCRATCH_CHANNEL 2

/* The resolved tunables of one call, after the host has fitted them to the shape and the device
 * (attention_plan.c, which t6-tune's spaces ask too). */
typedef t6i_fma_attention_plan plan;

#define TUNABLE(params, prefill, name) t6i_param(params, T6I_ATTENTION_PARAM(prefill, name))

static t6_status make_plan(t6_context *ctx, const t6i_attention_call *call, const t6i_params *params, plan *p)
{
    const t6_cache_config *c = &call->cache->config;
    const bool prefill = call->prefill;
    *p = (plan){
        .kernel = TUNABLE(params, prefill, KERNEL),
        .wg_size = TUNABLE(params, prefill, WG_SIZE),
        .tile = TUNABLE(params, prefill, TILE),
        .group_heads = TUNABLE(params, prefill, HEADS),
        .queries = prefill ? t6i_param(params, T6I_PRE_QUERIES) : 1,
        .tokens = TUNABLE(params, prefill, TOKENS),
        .value_heads = TUNABLE(params, prefill, VALUE_HEADS),
        .vector = TUNABLE(params, prefill, VECTOR),
        .stage_s1 = TUNABLE(params, prefill, STAGE_S1),
        .groups_per_cu = TUNABLE(params, prefill, GROUPS_PER_CU),
        .min_split = TUNABLE(params, prefill, MIN_SPLIT),
    };
    const t6i_fma_attention_shape shape = {c->heads,  c->head_dim,   call->rank_q, c->rank_k, c->rank_v, prefill,
                                           call->batch, call->counts, call->rows,   call->max_end};
    char why[256];
    if (!t6i_fma_attention_plan_make(&ctx->info, &shape, p, why, sizeof why))
        return t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "%s: %s", prefill ? "prefill" : "decode", why);
    return T6_SUCCESS;
}

static t6_status upload_tiles(t6_context *ctx, const t6i_attention_call *call, const plan *p, cl_mem *out)
{
    t6_status status = T6_SUCCESS;
    cl_int *tiles = NULL;
    T6I_ALLOC(ctx, tiles, (size_t)p->query_tiles * 4);
    int row = 0, index = 0;
    for (int i = 0; i < call->batch; i++)
        for (int q = 0; q < call->counts[i]; q += p->queries, index++) {
            tiles[4 * index + 0] = call->slots[i];
            tiles[4 * index + 1] = row + q;
            tiles[4 * index + 2] = call->counts[i] - q < p->queries ? call->counts[i] - q : p->queries;
            tiles[4 * index + 3] = call->starts[i] + q;
            if (q + p->queries >= call->counts[i]) row += call->counts[i];
        }
    T6I_TRY(t6i_upload_meta(ctx, META_CHANNEL, tiles, (size_t)p->query_tiles * 4 * sizeof *tiles, out));
cleanup:
    free(tiles);
    return status;
}

/* The call with one resolution of the tunables. */
static t6_status attention_with(t6_context *ctx, const t6i_attention_call *call, const t6i_params *resolved)
{
    t6_status status = T6_SUCCESS;
    const t6_cache *cache = call->cache;
    const t6_cache_config *c = &cache->config;
    const char *what = call->prefill ? "t6_attention(prefill)" : "t6_attention(decode)";
    t6i_params params = *resolved; /* the plan's fitted values replace some below */
    /* On GPUs: tensor cores (kernel 4) where their probe passes and the shape fits; then, for decode, kernel 3
     * where the shape fits it; else the work-group tiles. */
    const int asked = TUNABLE(&params, call->prefill, KERNEL);
    if (asked == T6_KERNEL_TENSOR_CORES || (asked == T6_KERNEL_BY_DEVICE && ctx->info.is_gpu)) {
        /* Even when asked for (a profile may pin it), an fp32 cache or a failed probe falls back. */
        status = t6i_attention_mma(ctx, call, &params);
        if (status != T6_ERROR_UNSUPPORTED) goto cleanup;
        t6i_log(asked == T6_KERNEL_TENSOR_CORES ? T6_LOG_INFO : T6_LOG_DEBUG,
                "%s: the tensor-core kernel does not serve this call (%s); falling back", what,
                t6_context_last_error(ctx));
        status = T6_SUCCESS;
    }
    if (!call->prefill && (asked >= T6_KERNEL_STAGES || (asked == T6_KERNEL_BY_DEVICE && ctx->info.is_gpu))) {
        status = t6i_attention_decode_tiles(ctx, call, &params);
        if (status != T6_ERROR_UNSUPPORTED || asked == T6_KERNEL_STAGES) goto cleanup;
        t6i_log(T6_LOG_DEBUG, "%s: the register-tiled stages kernel does not fit (%s); using the work-group tiles",
                what, t6_context_last_error(ctx));
        status = T6_SUCCESS;
    }
    plan p = {0}; /* set by the planner; zeroed so no path reads garbage */
    T6I_TRY(make_plan(ctx, call, &params, &p));

    /* The fitted values replace the tunables they came from, so that the options name the kernel exactly. */
    const bool prefill = call->prefill;
    t6i_param_set(&params, T6I_ATTENTION_PARAM(prefill, KERNEL), p.kernel);
    t6i_param_set(&params, T6I_ATTENTION_PARAM(prefill, TILE), p.tile);
    t6i_param_set(&params, T6I_ATTENTION_PARAM(prefill, HEADS), p.group_heads);
    if (prefill) t6i_param_set(&params, T6I_PRE_QUERIES, p.queries);
    t6i_param_set(&params, T6I_ATTENTION_PARAM(prefill, TOKENS), p.tokens);
    t6i_param_set(&params, T6I_ATTENTION_PARAM(prefill, STAGE_S1), p.stage_s1);
    char options[2048] = "";
    if (call->prefill) t6i_define(options, sizeof options, "T6_PREFILL", 1);
    t6i_define(options, sizeof options, "T6_HEADS", c->heads);
    t6i_define(options, sizeof options, "T6_HEAD_DIM", c->head_dim);
    t6i_define(options, sizeof options, "T6_RANK_Q", call->rank_q);
    t6i_define(options, sizeof options, "T6_RANK_K", c->rank_k);
    t6i_define(options, sizeof options, "T6_RANK_V", c->rank_v);
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", c->dtype);
    t6i_define(options, sizeof options, "T6_GROUP_HEADS", p.group_heads);
    t6i_define(options, sizeof options, "T6_DIRECT", p.splits == 1);
    const char *source = p.kernel == T6_KERNEL_TILES ? "attention" : "attention_vector";
    t6i_params_append_options(&params, source, options, sizeof options);
    if (p.kernel == T6_KERNEL_TILES && call->prefill) t6i_large_register_file(ctx, options, sizeof options);

    cl_kernel kernel = NULL;
    if (p.kernel == T6_KERNEL_TILES) T6I_TRY(t6i_get_kernel(ctx, "attention", options, "t6_attention", &kernel));
    else T6I_TRY(t6i_get_kernel(ctx, "attention_vector", options, "t6_attention_vector", &kernel));
    size_t kernel_limit = 0;
    T6I_CHECK_CL(ctx, clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_limit,
                                               &kernel_limit, NULL),
                 "clGetKernelWorkGroupInfo(t6_attention)");
    if ((size_t)p.wg_size > kernel_limit) {
        status = t6i_fail(ctx, T6_ERROR_INVALID_PARAMS,
                          "%s: WG_SIZE=%d is over the %zu work-items this kernel can run per group (registers)",
                          what, p.wg_size, kernel_limit);
        goto cleanup;
    }

    cl_mem tiles = NULL, target = call->out;
    T6I_TRY(upload_tiles(ctx, call, &p, &tiles));
    size_t partial_rows = (size_t)call->rows * (size_t)p.splits * (size_t)c->heads;
    if (p.splits > 1)
        T6I_TRY(t6i_scratch(ctx, SCRATCH_CHANNEL,
                            t6i_split_partials_floats(call->rows, p.splits, c->heads, c->head_dim) * sizeof(float),
                            &target));
    t6i_arg args[] = {T6I_FACTORIZED_KERNEL_ARGS(call, tiles, p.split_length),
                      T6I_ARG_MEM(target),
                      T6I_ARG_UINT(p.splits > 1 ? 0 : call->out_offset),
                      T6I_ARG_UINT(partial_rows)};
    T6I_TRY(t6i_set_args(ctx, kernel, what, args, (int)(sizeof args / sizeof args[0])));
    const size_t local[3] = {(size_t)p.wg_size, 1, 1};
    const size_t global[3] = {(size_t)p.wg_size * (size_t)p.splits, (size_t)p.head_groups, (size_t)p.query_tiles};
    T6I_TRY(t6i_launch(ctx, kernel, what, 3, global, local));
    if (p.splits > 1)
        T6I_TRY(t6i_merge_splits(ctx, call->rows, c->heads, c->head_dim, p.splits, target, call->out,
                                 call->out_offset));
cleanup:
    return status;
}

t6_status t6i_attention_factorized(t6_context *ctx, const t6i_attention_call *call)
{
    t6_status status = T6_SUCCESS;
    const t6_cache_config *c = &call->cache->config;
    t6i_shape shape;
    memset(&shape, 0, sizeof shape);
    shape.f[T6I_F_HEADS] = c->heads;
    shape.f[T6I_F_HEAD_DIM] = c->head_dim;
    shape.f[T6I_F_RANK_Q] = call->rank_q;
    shape.f[T6I_F_RANK_K] = c->rank_k;
    shape.f[T6I_F_RANK_V] = c->rank_v;
    shape.f[T6I_F_DTYPE] = c->dtype;
    shape.f[T6I_F_BATCH] = call->batch;
    shape.f[T6I_F_ROWS] = call->rows;
    shape.f[T6I_F_LENGTH] = call->max_end;
    t6i_params params;
    T6I_TRY(t6i_params_resolve(ctx, call->prefill ? T6_OP_PREFILL : T6_OP_DECODE, &shape, &params));
    /* A profile's values that fail here (a plan that does not fit, a build the driver refuses) give way to the
     * level below. */
    do {
        status = attention_with(ctx, call, &params);
    } while (t6i_params_fall_back(ctx, &status, &shape, &params));
cleanup:
    return status;
}
