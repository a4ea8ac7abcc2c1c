/* attention_materialized.c — the materialized baseline (T6_ATTENTION_MATERIALIZED): what a user without
 * FlashTPA would run. Q, K and V are formed from the factors into fp32 scratch (kernels_cl/materialize.cl),
 * then MHA with kv_heads = H runs over the scratch (mha.c). fp32 keeps the baseline exact to the reference;
 * its memory traffic is what the comparison is about.
 *
 * Scratch: channel 0 K, 1 V, 2 Q (mha.c uses 3). Batch entries are taken in groups whose K fits one
 * allocation; each group is materialized and attended in turn. */
#include "ops/ops.h"

#include <stdint.h>
#include <stdlib.h>

#define T6I_ARG_ULONG(v) ((t6i_arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})

/* One factor pair: rows whose A ([h][r]) and B ([r][d]) lie a_stride and b_stride elements apart. */
typedef struct factor_rows {
    cl_mem a, b;
    size_t a_offset, a_stride, b_offset, b_stride;
    t6_dtype dtype;
    int rank;
    float scale;
} factor_rows;

static t6_status materialize_with(t6_context *ctx, const t6i_params *params, const factor_rows *f, int rows,
                                  int heads, int head_dim, cl_mem out, size_t out_offset)
{
    t6_status status = T6_SUCCESS;
    /* WG_SIZE is within the device's limit: t6i_params_check */
    const int group_size = t6i_param(params, T6I_MAT_WG_SIZE), chunk = t6i_param(params, T6I_MAT_HEAD_CHUNK);
    char options[256] = "";
    t6i_params_append_options(params, "materialize", options, sizeof options);
    t6i_define(options, sizeof options, "T6_HEAD_DIM", head_dim);
    t6i_define(options, sizeof options, "T6_RANK", f->rank);
    t6i_define(options, sizeof options, "T6_SRC_DTYPE", f->dtype);
    cl_kernel kernel = NULL;
    T6I_TRY(t6i_get_kernel(ctx, "materialize", options, "t6_materialize", &kernel));
    t6i_arg args[] = {T6I_ARG_MEM(f->a),          T6I_ARG_ULONG(f->a_offset), T6I_ARG_UINT(f->a_stride),
                      T6I_ARG_MEM(f->b),          T6I_ARG_ULONG(f->b_offset), T6I_ARG_UINT(f->b_stride),
                      T6I_ARG_UINT(rows),         T6I_ARG_UINT(heads),        T6I_ARG_FLOAT(f->scale),
                      T6I_ARG_MEM(out),           T6I_ARG_ULONG(out_offset)};
    T6I_TRY(t6i_set_args(ctx, kernel, "t6_materialize", args, 11));
    size_t items = (size_t)head_dim * (size_t)((heads + chunk - 1) / chunk);
    size_t local[2] = {(size_t)group_size, 1};
    size_t global[2] = {t6i_round_up(items, local[0]), (size_t)rows};
    T6I_TRY(t6i_launch(ctx, kernel, "t6_materialize", 2, global, local));
cleanup:
    return status;
}

/* K (factor pair A_K, B_K) or V (A_V, B_V) of `slot`, positions 0 .. length−1. */
static factor_rows cache_rows(const t6_cache *cache, int slot, bool values, const t6i_scales *scales)
{
    const t6_cache_config *c = &cache->config;
    const int rank = values ? c->rank_v : c->rank_k;
    const size_t first = (size_t)slot * (size_t)c->capacity;
    factor_rows f = {cache->factor[values ? T6_FACTOR_A_V : T6_FACTOR_A_K],
                     cache->factor[values ? T6_FACTOR_B_V : T6_FACTOR_B_K],
                     first * (size_t)c->heads * (size_t)rank, (size_t)c->heads * (size_t)rank,
                     first * (size_t)rank * (size_t)c->head_dim, (size_t)rank * (size_t)c->head_dim,
                     c->dtype, rank, values ? scales->v : scales->k};
    return f;
}

/* One factor pair into `out`. When a profile's values fail (a build the driver refuses), the level below serves
 * this and the call's later factors (t6i_params_fall_back updates `params`). */
static t6_status materialize(t6_context *ctx, t6i_params *params, const t6i_shape *shape, const factor_rows *f,
                             int rows, int heads, int head_dim, cl_mem out, size_t out_offset)
{
    t6_status status = T6_SUCCESS;
    do {
        status = materialize_with(ctx, params, f, rows, heads, head_dim, out, out_offset);
    } while (t6i_params_fall_back(ctx, &status, shape, params));
    return status;
}

typedef struct materialized_call {
    t6_cache *cache;
    int rank_q, batch;
    const int *slots;
    const int *ends;   /* per entry: positions of K and V needed */
    const int *starts; /* prefill: first query position; NULL for decode */
    const int *counts; /* query rows per entry (all 1 for decode) */
    cl_mem query, out;
    size_t query_offset, out_offset;
    const t6i_scales *scales;
} materialized_call;

static t6_status run(const materialized_call *call)
{
    t6_status status = T6_SUCCESS;
    t6_cache *cache = call->cache;
    t6_context *ctx = cache->ctx;
    const t6_cache_config *c = &cache->config;
    const size_t row = (size_t)c->heads * (size_t)c->head_dim;
    int *local_slots = NULL;
    t6i_op_begin(ctx);

    size_t rows = 0;
    int max_end = 0;
    for (int i = 0; i < call->batch; i++) {
        rows += (size_t)call->counts[i];
        max_end = call->ends[i] > max_end ? call->ends[i] : max_end;
    }
    if (call->out_offset + rows * row > UINT32_MAX || rows * row > UINT32_MAX ||
        (double)max_end * (double)row >= 4294967296.0) {
        status = t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                          "materialized attention: %zu query rows or %d positions of %zu values exceed the 2^32 "
                          "elements its kernels address", rows, max_end, row);
        goto cleanup;
    }
    const size_t budget = (size_t)ctx->info.max_alloc_bytes;
    if ((size_t)max_end * row * sizeof(float) > budget) {
        status = t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                          "materialized attention: K of %d positions needs %zu bytes, over the device's largest "
                          "allocation (%zu bytes)", max_end, (size_t)max_end * row * sizeof(float), budget);
        goto cleanup;
    }

    t6i_params params;
    t6i_shape shape = {{0}};
    shape.f[T6I_F_HEADS] = c->heads;
    shape.f[T6I_F_HEAD_DIM] = c->head_dim;
    shape.f[T6I_F_RANK_Q] = call->rank_q;
    shape.f[T6I_F_RANK_K] = c->rank_k;
    shape.f[T6I_F_RANK_V] = c->rank_v;
    shape.f[T6I_F_DTYPE] = c->dtype;
    shape.f[T6I_F_BATCH] = call->batch;
    shape.f[T6I_F_LENGTH] = max_end;
    T6I_TRY(t6i_params_resolve(ctx, T6_OP_MATERIALIZE, &shape, &params));

    /* Q for every query row: A_Q [h][r] then B_Q [r][d] per row of the query buffer. */
    cl_mem q = NULL, k = NULL, v = NULL;
    T6I_TRY(t6i_scratch(ctx, 2, rows * row * sizeof(float), &q));
    const size_t query_row = (size_t)c->heads * (size_t)call->rank_q + (size_t)call->rank_q * (size_t)c->head_dim;
    factor_rows qf = {call->query, call->query, call->query_offset, query_row,
                      call->query_offset + (size_t)c->heads * (size_t)call->rank_q, query_row, T6_F32,
                      call->rank_q, call->scales->q};
    T6I_TRY(materialize(ctx, &params, &shape, &qf, (int)rows, c->heads, c->head_dim, q, 0));

    T6I_ALLOC(ctx, local_slots, call->batch);
    for (int i = 0; i < call->batch; i++) local_slots[i] = i;
    size_t first_row = 0;
    for (int g0 = 0, g1 = 0; g0 < call->batch; g0 = g1) {
        /* The group's slot stride is its longest entry; take entries while K still fits one allocation. */
        int longest = call->ends[g0];
        for (g1 = g0 + 1; g1 < call->batch; g1++) {
            int next = call->ends[g1] > longest ? call->ends[g1] : longest;
            if ((size_t)(g1 - g0 + 1) * (size_t)next * row * sizeof(float) > budget) break;
            longest = next;
        }
        const size_t stride = (size_t)longest * row, group = (size_t)(g1 - g0);
        T6I_TRY(t6i_scratch(ctx, 0, group * stride * sizeof(float), &k));
        T6I_TRY(t6i_scratch(ctx, 1, group * stride * sizeof(float), &v));
        for (int e = g0; e < g1; e++) {
            factor_rows kf = cache_rows(cache, call->slots[e], false, call->scales);
            factor_rows vf = cache_rows(cache, call->slots[e], true, call->scales);
            T6I_TRY(materialize(ctx, &params, &shape, &kf, call->ends[e], c->heads, c->head_dim, k,
                                (size_t)(e - g0) * stride));
            T6I_TRY(materialize(ctx, &params, &shape, &vf, call->ends[e], c->heads, c->head_dim, v,
                                (size_t)(e - g0) * stride));
        }
        t6i_kv_view view = {k, v, T6_F32, c->heads, c->head_dim, stride};
        size_t offset = first_row * row;
        if (call->starts)
            T6I_TRY(t6i_mha_prefill_view(ctx, &view, c->heads, (int)group, local_slots, call->starts + g0,
                                         call->counts + g0, q, offset, call->out, call->out_offset + offset,
                                         call->scales->softmax));
        else
            T6I_TRY(t6i_mha_decode_view(ctx, &view, c->heads, (int)group, local_slots, call->ends + g0, q, offset,
                                        call->out, call->out_offset + offset, call->scales->softmax));
        for (int e = g0; e < g1; e++) first_row += (size_t)call->counts[e];
    }
cleanup:
    free(local_slots);
    return status;
}

t6_status t6i_attention_materialized_decode(t6_cache *cache, int rank_q, int batch, const int *slots,
                                            const int *lengths, cl_mem query, size_t query_offset, cl_mem out,
                                            size_t out_offset, const t6i_scales *scales)
{
    t6_status status = T6_SUCCESS;
    int *ones = NULL;
    T6I_ALLOC(cache->ctx, ones, batch);
    for (int i = 0; i < batch; i++) ones[i] = 1;
    materialized_call call = {cache, rank_q, batch, slots, lengths, NULL, ones, query, out, query_offset, out_offset,
                              scales};
    status = run(&call);
cleanup:
    free(ones);
    return status;
}

t6_status t6i_attention_materialized_prefill(t6_cache *cache, int rank_q, int batch, const int *slots,
                                             const int *starts, const int *counts, cl_mem query,
                                             size_t query_offset, cl_mem out, size_t out_offset,
                                             const t6i_scales *scales)
{
    t6_status status = T6_SUCCESS;
    int *ends = NULL;
    T6I_ALLOC(cache->ctx, ends, batch);
    for (int i = 0; i < batch; i++) ends[i] = starts[i] + counts[i];
    materialized_call call = {cache, rank_q, batch, slots, ends, starts, counts, query, out, query_offset, out_offset,
                              scales};
    status = run(&call);
cleanup:
    free(ends);
    return status;
}
