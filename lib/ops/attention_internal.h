/* attention_internal.h — what attention.c (validation, dispatch) shares with attention_factorized.c and
 * attention_decode.c (the kernels' planning and launch). */
#ifndef T6_ATTENTION_INTERNAL_H
#define T6_ATTENTION_INTERNAL_H

#include "ops/ops.h"

/**
 * One validated factorized attention call: batch entry i holds counts[i] queries at positions
 * starts[i] .. starts[i]+counts[i]−1 of slot slots[i] (decode: one query at length−1). Query and output rows
 * are concatenated in batch order: `rows` = Σ counts, the last position any query sees is max_end − 1.
 */
typedef struct t6i_attention_call {
    t6_cache *cache;
    int rank_q, batch;
    const int *slots, *starts, *counts;
    int rows, max_end;
    cl_mem query, out;
    size_t query_offset, out_offset;
    t6i_scales scales;
    t6_precision precision; /* strict or fast, resolved from the options and the context */
    bool prefill;
} t6i_attention_call;

/** The scale of q·k in the kernels' exp2 softmax: the factor scales, the softmax scale and log2(e). */
static inline float t6i_score_scale(const t6i_attention_call *call)
{
    return call->scales.q * call->scales.k * call->scales.softmax * 1.44269504088896340736f;
}

/** The arguments the FMA attention kernels (attention.cl, attention_decode.cl) begin with, in their order: the
 *  query, the cache's four factors and capacity, the (row, query tile) table `tiles`, the split length and the
 *  two scales. A macro, so that the argument values live in the caller's block until t6i_set_args reads them. */
#define T6I_FACTORIZED_KERNEL_ARGS(call, tiles, split_length) \
    T6I_ARG_MEM((call)->query), T6I_ARG_UINT((call)->query_offset), \
        T6I_ARG_MEM((call)->cache->factor[T6_FACTOR_A_K]), T6I_ARG_MEM((call)->cache->factor[T6_FACTOR_A_V]), \
        T6I_ARG_MEM((call)->cache->factor[T6_FACTOR_B_K]), T6I_ARG_MEM((call)->cache->factor[T6_FACTOR_B_V]), \
        T6I_ARG_UINT((call)->cache->config.capacity), T6I_ARG_MEM(tiles), T6I_ARG_UINT(split_length), \
        T6I_ARG_FLOAT(t6i_score_scale(call)), T6I_ARG_FLOAT((call)->scales.v)

/** Enqueues the factorized kernel (and the merge pass when the positions are split). The context is locked
 *  and every argument checked. T6_ERROR_INVALID_PARAMS when the tunables do not fit the device. */
t6_status t6i_attention_factorized(t6_context *ctx, const t6i_attention_call *call);

/** Decode through kernels_cl/attention_decode.cl (T6_DEC_KERNEL 3) as `fitted` (t6i_stages_plan_make of `asked`,
 *  the resolved decode tunables, for `shape`, the call's) says; planned again from `asked` where its probe or the
 *  build disagree. T6_ERROR_UNSUPPORTED when the shape does not fit the kernel on this device as built (the
 *  caller may fall back). */
t6_status t6i_attention_decode_tiles(t6_context *ctx, const t6i_attention_call *call, const t6i_attention_shape *shape,
                                     const t6i_stages_plan *asked, const t6i_stages_plan *fitted);

/** Decode or prefill through kernels_cl/attention_mma.cl (T6_DEC_KERNEL / T6_PRE_KERNEL 4, tensor cores or, with
 *  T6_DEC_MMA / T6_PRE_MMA 2, their emulation) as `fitted` (t6i_mma_plan_make of `asked` for `shape`) says;
 *  planned again from `asked` with fewer queries where the compiled kernel runs fewer work-items.
 *  T6_ERROR_UNSUPPORTED when the device, the cache type or the shape does not suit it, or its probe fails (the
 *  caller falls back); T6_ERROR_INVALID_PARAMS for tunables it cannot run. */
t6_status t6i_attention_mma(t6_context *ctx, const t6i_attention_call *call, const t6i_attention_shape *shape,
                            const t6i_mma_plan *asked, const t6i_mma_plan *fitted);

#endif /* T6_ATTENTION_INTERNAL_H */
