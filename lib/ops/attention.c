/* attention.c — t6_attention_decode and t6_attention_prefill: argument checks, scales and the choice between
 * the factorized kernels (attention_factorized.c) and the materialized baseline (attention_materialized.c). */
#include "ops/attention_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Kernels index buffers with 32-bit element offsets. */
#define ELEMENT_LIMIT 4294967295ull

static t6_status check_options(t6_context *ctx, const char *fn, const t6_attention_options *options)
{
    t6_status status = T6_SUCCESS;
    if (!options) return T6_SUCCESS;
    T6I_REQUIRE(ctx, isfinite(options->scale_q) && isfinite(options->scale_k) && isfinite(options->scale_v) &&
                         isfinite(options->scale_softmax),
                "%s: every scale in options must be finite (0 takes the default)", fn);
    T6I_REQUIRE(ctx, options->method == T6_ATTENTION_FACTORIZED || options->method == T6_ATTENTION_MATERIALIZED,
                "%s: options->method %d is unknown", fn, (int)options->method);
    T6I_REQUIRE(ctx, t6_precision_name(options->precision) != NULL,
                "%s: options->precision %d is unknown (T6_PRECISION_DEFAULT, _STRICT or _FAST)", fn,
                (int)options->precision);
cleanup:
    return status;
}

/* Checks everything but the per-entry positions, which decode and prefill state differently; fills the call's
 * shape-independent fields. */
static t6_status check_call(t6_context *ctx, const char *fn, t6i_attention_call *call, const int *slots,
                            const t6_attention_options *options)
{
    t6_status status = T6_SUCCESS;
    const t6_cache_config *c = &call->cache->config;
    T6I_REQUIRE(ctx, call->rank_q >= 1 && call->rank_q <= 16, "%s: rank_q=%d must be 1..16", fn, call->rank_q);
    T6I_TRY(t6i_check_attention_shape(ctx, c->heads, c->head_dim, call->rank_q, c->rank_k, c->rank_v));
    T6I_REQUIRE(ctx, call->batch >= 1, "%s: batch=%d must be ≥ 1", fn, call->batch);
    T6I_REQUIRE(ctx, slots, "%s: slots is NULL", fn);
    for (int i = 0; i < call->batch; i++) {
        T6I_REQUIRE(ctx, slots[i] >= 0 && slots[i] < c->slots, "%s: slots[%d]=%d is outside 0..%d", fn, i, slots[i],
                    c->slots - 1);
        /* The query's layout (H·Rq A factors, then Rq·D B factors per row) follows rank_q: a rank_q other than
         * the layer's that projected into the slot reads it wrong. Slots written otherwise cannot be checked. */
        const int projected = call->cache->rank_q[slots[i]];
        T6I_REQUIRE(ctx, projected == 0 || projected == call->rank_q,
                    "%s: rank_q=%d, but slot %d was last written by t6_project with a layer of rank_q=%d", fn,
                    call->rank_q, slots[i], projected);
    }
    T6I_TRY(check_options(ctx, fn, options));
    call->slots = slots;
    call->scales = t6i_resolve_scales(options, call->rank_q, c->rank_k, c->rank_v, c->head_dim);
    call->precision = options && options->precision != T6_PRECISION_DEFAULT ? options->precision : ctx->precision;
cleanup:
    return status;
}

/* Checks the query and output buffers for `rows` rows, once the positions are known. */
static t6_status check_buffers(t6_context *ctx, const char *fn, const t6i_attention_call *call)
{
    t6_status status = T6_SUCCESS;
    const t6_cache_config *c = &call->cache->config;
    const size_t query_row = (size_t)c->heads * (size_t)call->rank_q + (size_t)call->rank_q * (size_t)c->head_dim;
    const size_t out_row = (size_t)c->heads * (size_t)c->head_dim;
    const size_t rows = (size_t)call->rows;
    T6I_TRY(t6i_check_buffer(ctx, call->query, T6_F32, call->query_offset, rows * query_row, "query"));
    T6I_TRY(t6i_check_buffer(ctx, call->out, T6_F32, call->out_offset, rows * out_row, "out"));
    T6I_REQUIRE(ctx, call->query_offset + rows * query_row <= ELEMENT_LIMIT,
                "%s: query_offset %zu + %zu rows of %zu floats passes 2^32 elements", fn, call->query_offset, rows,
                query_row);
    T6I_REQUIRE(ctx, call->out_offset + rows * out_row <= ELEMENT_LIMIT,
                "%s: out_offset %zu + %zu rows of %zu floats passes 2^32 elements", fn, call->out_offset, rows,
                out_row);
cleanup:
    return status;
}

const char *t6_precision_name(t6_precision precision)
{
    switch (precision) {
    case T6_PRECISION_DEFAULT: return "default";
    case T6_PRECISION_STRICT: return "strict";
    case T6_PRECISION_FAST: return "fast";
    }
    return NULL;
}

t6_status t6_context_set_precision(t6_context *ctx, t6_precision precision)
{
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_set_precision: ctx is NULL");
    if (!t6_precision_name(precision))
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6_context_set_precision: precision %d is unknown",
                        (int)precision);
    t6i_lock(ctx);
    ctx->precision = precision == T6_PRECISION_FAST ? T6_PRECISION_FAST : T6_PRECISION_STRICT;
    t6i_unlock(ctx);
    return T6_SUCCESS;
}

t6_status t6_context_get_precision(t6_context *ctx, t6_precision *precision)
{
    if (!ctx || !precision)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6_context_get_precision: ctx or precision is NULL");
    t6i_lock(ctx);
    *precision = ctx->precision;
    t6i_unlock(ctx);
    return T6_SUCCESS;
}

static bool materialized(const t6_attention_options *options)
{
    return options && options->method == T6_ATTENTION_MATERIALIZED;
}

t6_status t6_attention_decode(t6_cache *cache, int rank_q, int batch, const int *slots, const int *lengths,
                              cl_mem query, size_t query_offset, cl_mem out, size_t out_offset,
                              const t6_attention_options *options)
{
    static const char fn[] = "t6_attention_decode";
    t6_status status = T6_SUCCESS;
    int *starts = NULL, *counts = NULL;
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: cache is NULL", fn);
    t6_context *ctx = cache->ctx;
    t6i_lock(ctx);
    t6i_attention_call call = {.cache = cache, .rank_q = rank_q, .batch = batch, .query = query, .out = out,
                               .query_offset = query_offset, .out_offset = out_offset, .rows = batch};
    t6_attention_options given = T6_ATTENTION_OPTIONS_INIT;
    if (options) T6I_TRY(T6I_STRUCT_IN(ctx, t6_attention_options, options, &given));
    options = &given;
    T6I_TRY(check_call(ctx, fn, &call, slots, options));
    T6I_REQUIRE(ctx, lengths, "%s: lengths is NULL", fn);
    T6I_ALLOC(ctx, starts, batch);
    T6I_ALLOC(ctx, counts, batch);
    for (int i = 0; i < batch; i++) {
        const int written = cache->length[slots[i]];
        T6I_REQUIRE(ctx, lengths[i] >= 1, "%s: lengths[%d]=%d must be ≥ 1", fn, i, lengths[i]);
        T6I_REQUIRE(ctx, lengths[i] <= written,
                    "%s: lengths[%d]=%d is past the %d positions written to slot %d (capacity %d)", fn, i,
                    lengths[i], written, slots[i], cache->config.capacity);
        starts[i] = lengths[i] - 1;
        counts[i] = 1;
        if (lengths[i] > call.max_end) call.max_end = lengths[i];
    }
    call.starts = starts;
    call.counts = counts;
    T6I_TRY(check_buffers(ctx, fn, &call));
    t6i_op_begin(ctx);
    if (materialized(options))
        T6I_TRY(t6i_attention_materialized_decode(cache, rank_q, batch, slots, lengths, query, query_offset, out,
                                                  out_offset, &call.scales));
    else
        T6I_TRY(t6i_attention_factorized(ctx, &call));
cleanup:
    free(starts);
    free(counts);
    t6i_unlock(ctx);
    return status;
}

t6_status t6_attention_prefill(t6_cache *cache, int rank_q, int batch, const int *slots, const int *starts,
                               const int *counts, cl_mem query, size_t query_offset, cl_mem out,
                               size_t out_offset, const t6_attention_options *options)
{
    static const char fn[] = "t6_attention_prefill";
    t6_status status = T6_SUCCESS;
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: cache is NULL", fn);
    t6_context *ctx = cache->ctx;
    t6i_lock(ctx);
    t6i_attention_call call = {.cache = cache, .rank_q = rank_q, .batch = batch, .query = query, .out = out,
                               .query_offset = query_offset, .out_offset = out_offset, .prefill = true};
    t6_attention_options given = T6_ATTENTION_OPTIONS_INIT;
    if (options) T6I_TRY(T6I_STRUCT_IN(ctx, t6_attention_options, options, &given));
    options = &given;
    T6I_TRY(check_call(ctx, fn, &call, slots, options));
    T6I_REQUIRE(ctx, starts && counts, "%s: starts and counts must not be NULL", fn);
    long long rows = 0;
    for (int i = 0; i < batch; i++) {
        const int written = cache->length[slots[i]];
        T6I_REQUIRE(ctx, starts[i] >= 0, "%s: starts[%d]=%d must be ≥ 0", fn, i, starts[i]);
        T6I_REQUIRE(ctx, counts[i] >= 1, "%s: counts[%d]=%d must be ≥ 1", fn, i, counts[i]);
        T6I_REQUIRE(ctx, counts[i] <= written - starts[i],
                    "%s: positions %d..%lld of entry %d are past the %d positions written to slot %d (capacity %d)",
                    fn, starts[i], (long long)starts[i] + counts[i] - 1, i, written, slots[i],
                    cache->config.capacity);
        rows += counts[i];
        if (starts[i] + counts[i] > call.max_end) call.max_end = starts[i] + counts[i];
    }
    T6I_REQUIRE(ctx, rows <= INT32_MAX, "%s: %lld query rows are too many for one call", fn, rows);
    call.rows = (int)rows;
    call.starts = starts;
    call.counts = counts;
    T6I_TRY(check_buffers(ctx, fn, &call));
    t6i_op_begin(ctx);
    if (materialized(options))
        T6I_TRY(t6i_attention_materialized_prefill(cache, rank_q, batch, slots, starts, counts, query, query_offset,
                                                   out, out_offset, &call.scales));
    else
        T6I_TRY(t6i_attention_factorized(ctx, &call));
cleanup:
    t6i_unlock(ctx);
    return status;
}
