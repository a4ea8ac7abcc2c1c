/* projection.h — what layer.c, projection.c, projection_clblast.c and rope_scatter.c share (never installed). */
#ifndef T6_PROJECTION_H
#define T6_PROJECTION_H

#include "ops/ops.h"

/** Appends the shape macros of the projection kernels (T6_MODEL_DIM, T6_WEIGHT_LD, T6_HEADS, T6_HEAD_DIM,
 *  T6_RANK_Q/K/V, T6_WEIGHT_DTYPE, T6_CACHE_DTYPE, T6_ROPE_STYLE) to `buf`. */
void t6i_layer_shape_options(const t6_layer *layer, t6_dtype cache_dtype, char *buf, size_t cap);

/** The layer's packed weights as fp32: the weights themselves, or a copy made on first use (the caller holds
 *  the context's lock). CLBlast's SGEMM reads these. */
t6_status t6i_layer_weights_f32(t6_layer *layer, cl_mem *out);

/** The arguments of one validated projection call, shared by both methods. `meta` holds a cl_uint2 per row:
 *  (slot·capacity + position, position). */
typedef struct t6i_projection_call {
    t6_layer *layer;
    t6_cache *cache;
    int rows;
    cl_mem hidden, meta, query;
    cl_uint hidden_offset, query_offset;
    float norm_eps; /* > 0: each hidden row is RMSNorm'd first (the rows kernel only: t6i_project_model) */
} t6i_projection_call;

/** The CLBlast method: SGEMM of the hidden states by the packed fp32 weights into scratch, then
 *  t6i_rope_scatter (projection_clblast.c). The operation has been begun; the context is locked. */
t6_status t6i_project_clblast(t6_context *ctx, const t6i_projection_call *call);

/** The epilogue of a GEMM that ran as its own kernel (rope_scatter.c): `product` holds `ranges` blocks of
 *  rows × layer->columns fp32 sums (one per range of C the GEMM was split into; 1 for CLBlast), which are
 *  added, rotated and scattered to the query output and the cache. ranges × rows × columns < 2^32. */
t6_status t6i_rope_scatter(t6_context *ctx, const t6i_projection_call *call, cl_mem product, int ranges);

#endif /* T6_PROJECTION_H */
