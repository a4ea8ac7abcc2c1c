/* attention_factorized.c — picks the kernel of a factorized attention call (decode and causal prefill over the
 * factor cache) by its plan (attention_plan.h): tensor cores (attention_mma.c) and, for decode, the stages kernel
 * (attention_decode.c) on GPUs; and launches the FMA kernels kernels_cl/attention.cl and attention_vector.cl,
 * then the log-sum-exp merge (decode_merge.c) when the cached positions are split across groups. */
#include "ops/attention_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_CHANNEL 2
#define SCRATCH_CHANNEL 2

#define TUNABLE(params, prefill, name) t6i_param(params, T6I_ATTENTION_PARAM(prefill, name))

/* What of the call the planners depend on. */
static t6i_attention_shape plan_shape(const t6i_attention_call *call)
{
    const t6_cache_config *c = &call->cache->config;
    return (t6i_attention_shape){.heads = c->heads,
                                 .head_dim = c->head_dim,
                                 .rank_q = call->rank_q,
                                 .rank_k = c->rank_k,
                                 .rank_v = c->rank_v,
                                 .dtype = c->dtype,
                                 .precision = call->precision,
                                 .prefill = call->prefill,
                                 .batch = call->batch,
                                 .counts = call->counts,
                                 .rows = call->rows,
                                 .max_end = call->max_end};
}

/* The resolved tunables in the planners' terms: the plan as asked, before any fitting. */
static t6i_attention_plan asked_plan(const t6i_attention_call *call, const t6i_params *params)
{
    const bool prefill = call->prefill;
    t6i_attention_plan p;
    memset(&p, 0, sizeof p);
    p.kernel = TUNABLE(params, prefill, KERNEL);
    p.fma = (t6i_fma_attention_plan){
        .kernel = p.kernel,
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
    if (!prefill)
        p.stages = (t6i_stages_plan){
            .mma = t6i_param(params, T6I_DEC_MMA),
            .wg_size = t6i_param(params, T6I_DEC_WG_SIZE),
            .tile = t6i_param(params, T6I_DEC_TILE),
            .vector = t6i_param(params, T6I_DEC_VECTOR),
            .acc_heads = t6i_param(params, T6I_DEC_ACC_HEADS),
            .registers = t6i_param(params, T6I_DEC_REGISTERS),
            .cu_groups = t6i_param(params, T6I_DEC_CU_GROUPS),
            .min_split = t6i_param(params, T6I_DEC_MIN_SPLIT),
        };
    p.mma = (t6i_mma_plan){
        .mma = TUNABLE(params, prefill, MMA),
        .stage = TUNABLE(params, prefill, STAGE),
        .stages = TUNABLE(params, prefill, STAGES),
        .queries = prefill ? t6i_param(params, T6I_PRE_QUERIES) : 1,
        .groups_per_cu = t6i_param(params, prefill ? T6I_PRE_GROUPS_PER_CU : T6I_DEC_CU_GROUPS),
        .min_split = TUNABLE(params, prefill, MIN_SPLIT),
        .merge = prefill ? 1 : t6i_param(params, T6I_DEC_MERGE),
        .fanin = prefill ? 0 : t6i_param(params, T6I_DEC_FANIN),
    };
    return p;
}

static t6_status upload_tiles(t6_context *ctx, const t6i_attention_call *call, const t6i_fma_attention_plan *p,
                              cl_mem *out)
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

/* Kernels 1 and 2 with their fitted plan. */
static t6_status launch_fma(t6_context *ctx, const t6i_attention_call *call, const t6i_params *resolved,
                            const t6i_fma_attention_plan *fitted)
{
    t6_status status = T6_SUCCESS;
    const t6_cache_config *c = &call->cache->config;
    const char *what = call->prefill ? "t6_attention(prefill)" : "t6_attention(decode)";
    const t6i_fma_attention_plan p = *fitted;
    t6i_params params = *resolved;
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

/* The call with one resolution of the tunables: the kernel the plan names (attention_plan.h: on GPUs tensor cores,
 * then for decode the stages kernel, then the work-group tiles), and the next one when the runtime finds that a
 * kernel whose plan fits cannot run here after all (its probe failed, the driver refused the build). */
static t6_status attention_with(t6_context *ctx, const t6i_attention_call *call, const t6i_params *resolved)
{
    const char *what = call->prefill ? "t6_attention(prefill)" : "t6_attention(decode)";
    const t6i_attention_shape shape = plan_shape(call);
    const t6i_attention_plan asked = asked_plan(call, resolved);
    /* Kernel 4 asked for (a profile may pin it) still falls back, but says so where the log shows it. */
    const t6_log_level level = asked.kernel == T6_KERNEL_TENSOR_CORES ? T6_LOG_INFO : T6_LOG_DEBUG;
    unsigned refused = 0;
    for (;;) {
        t6i_attention_plan plan = asked;
        char why[256];
        const t6_status planned = t6i_attention_plan_make(&ctx->info, &shape, refused, &plan, why, sizeof why);
        if (planned != T6_SUCCESS) return t6i_fail(ctx, planned, "%s: %s", what, why);
        if (plan.passed_over[0]) t6i_log(level, "%s: %.400s; kernel %d serves", what, plan.passed_over, plan.kernel);
        t6_status status = T6_SUCCESS;
        if (plan.kernel == T6_KERNEL_TENSOR_CORES) status = t6i_attention_mma(ctx, call, &shape, &asked.mma, &plan.mma);
        else if (plan.kernel == T6_KERNEL_STAGES)
            status = t6i_attention_decode_tiles(ctx, call, &shape, &asked.stages, &plan.stages);
        else return launch_fma(ctx, call, resolved, &plan.fma);
        if (status != T6_ERROR_UNSUPPORTED || asked.kernel == T6_KERNEL_STAGES) return status;
        t6i_log(level, "%s: kernel %d cannot run here (%.300s); falling back", what, plan.kernel,
                t6_context_last_error(ctx));
        refused |= plan.kernel == T6_KERNEL_TENSOR_CORES ? T6I_REFUSED_TENSOR_CORES : T6I_REFUSED_STAGES;
    }
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
