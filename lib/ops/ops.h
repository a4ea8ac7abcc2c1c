/*
 * ops.h — the ops layer (lib/ops/): the objects and internal calls shared between the op files (the factor
 * cache, the layer, the projection, factorized attention, split decoding, the materialized and MHA
 * baselines) and their self-tests. It uses the tuning layer and the runtime. projection.h and
 * attention_internal.h hold what smaller groups of op files share. Never installed; tests may include it.
 */
#ifndef T6_OPS_H
#define T6_OPS_H

#include "ops/attention_plan.h"
#include "tuning/tuning.h"

/* ---- objects shared between op files ---- */

struct t6_cache {
    t6_context *ctx;
    t6_cache_config config;
    cl_mem factor[4];   /* by t6_cache_factor: [slot][position][factor size] */
    int *length;        /* per slot: one past the highest position written */
    int *rank_q;        /* per slot: rank_q of the layer whose t6_project wrote it last; 0 when none did, or
                           t6_cache_write or t6_cache_reset came since (then attention cannot check it) */
};

/** Marks positions as written after a device-side write, for t6_cache_length. */
void t6i_cache_note_written(t6_cache *cache, int slot, int end_position);
/** Records that t6_project with a layer of `rank_q` wrote `slot` (0: written otherwise, nothing to check). */
void t6i_cache_note_rank_q(t6_cache *cache, int slot, int rank_q);

/** Validates the shape fields shared by layers and caches (heads, head_dim, ranks). */
t6_status t6i_check_attention_shape(const t6_context *ctx, int heads, int head_dim, int rank_q, int rank_k,
                                    int rank_v);

/** Validates what every cache config has (slots ≥ 1, capacity ≥ 1, a known dtype); `what` begins the messages
 *  ("t6_cache_create"). */
t6_status t6i_check_cache_geometry(const t6_context *ctx, const char *what, int slots, int capacity, t6_dtype dtype);

/* The layer (layer.c; its header describes the packed weight layout the projection kernels read). */
struct t6_layer {
    t6_context *ctx;
    t6_layer_config config;
    int columns;        /* packed output columns: H(Rq+Rk+Rv) rounded up to even, then (Rq+Rk+Rv)·D */
    int rows_allocated; /* packed rows held: columns rounded up to 128, the extra rows zero */
    int ld;             /* elements per packed row: C rounded up to 32, the extra elements zero */
    cl_mem weights;     /* rows_allocated × ld in config.weight_dtype */
    cl_mem inv_freq;    /* D/2 floats, (float)(1 / base^(2i/D)) computed in double */
    cl_mem weights_f32; /* fp32 copy of `weights` for CLBlast, made on first use when weight_dtype ≠ f32 */
};

/**
 * t6_project as the whole model calls it (model.c; the context locked): rows of `hidden` and `query` from
 * element 0, slots and positions the model has checked against the cache, the rows' metadata already on the
 * device (`meta`: a cl_uint2 (slot·capacity + position, position) per row from element 0, written once per
 * step for every layer), the fused method, and with norm_eps > 0 each hidden row RMSNorm'd inside the product
 * (the model's rmsnorm(x) before attention, one command fewer). T6_ERROR_UNSUPPORTED, with nothing enqueued,
 * when the call takes the tiles kernel (many rows on GPUs), which has no norm: normalize first then.
 */
t6_status t6i_project_model(t6_layer *layer, t6_cache *cache, int rows, cl_mem hidden, cl_mem meta,
                            const int *slots, const int *positions, cl_mem query, float norm_eps);

/** The projection's self-test: a small odd layer through both methods against t6_ref_project (projection.c). */
t6_status t6i_self_test_projection(t6_context *ctx);

/* ---- split decoding and attention baselines (decode_merge.c, attention_materialized.c) ---- */

/*
 * Split decoding writes partial results for (batch, split, head) rows into one float buffer: acc (rows × D,
 * unnormalized Σ e^(s − max)·value with value scales applied), then max (rows; −INFINITY for a split with no
 * positions), then sum (rows: Σ e^(s − max)), rows ordered [batch][split][head]. t6i_split_partials_floats
 * (attention_plan.h) is its size in floats.
 */
/** Merges such partials by log-sum-exp into out (batch × heads × D fp32 at out_offset). */
t6_status t6i_merge_splits(t6_context *ctx, int batch, int heads, int head_dim, int splits, cl_mem partials,
                           cl_mem out, size_t out_offset);

/**
 * The materialized baseline (T6_ATTENTION_MATERIALIZED): forms K and V from the cache's factors in scratch, Q
 * from the query factors, then runs standard attention. Called by t6_attention_decode/prefill after they have
 * validated every argument, with the context locked; same argument meanings as those calls.
 */
typedef struct t6i_scales t6i_scales;
t6_status t6i_attention_materialized_decode(t6_cache *cache, int rank_q, int batch, const int *slots,
                                            const int *lengths, cl_mem query, size_t query_offset, cl_mem out,
                                            size_t out_offset, const t6i_scales *scales);
t6_status t6i_attention_materialized_prefill(t6_cache *cache, int rank_q, int batch, const int *slots,
                                             const int *starts, const int *counts, cl_mem query,
                                             size_t query_offset, cl_mem out, size_t out_offset,
                                             const t6i_scales *scales);

/** Resolved attention scales (defaults filled in). */
struct t6i_scales {
    float q, k, v, softmax;
};
t6i_scales t6i_resolve_scales(const t6_attention_options *options, int rank_q, int rank_k, int rank_v,
                              int head_dim);

/** Self-test checks of factorized attention (attention_self_test.c): decode and prefill against
 *  t6_ref_decode/t6_ref_prefill on a small odd shape. */
t6_status t6i_self_test_decode(t6_context *ctx);
t6_status t6i_self_test_prefill(t6_context *ctx);

/* ---- conventional K/V cache and MHA/GQA/MQA attention (kv_cache.c, mha.c) ---- */

struct t6_kv_cache {
    t6_context *ctx;
    t6_kv_cache_config config;
    cl_mem k, v;  /* [slot][position][kv_head][d] in config.dtype */
    int *length;  /* per slot: one past the highest position written */
};

/** K and V as MHA reads them: any pair of buffers laid out [slot][position][kv_head][d], slot_stride elements
 *  apart, starting at element 0. The K/V cache is one; the materialized baseline's scratch is another. Within
 *  a slot, element indices must stay below 2^32. */
typedef struct t6i_kv_view {
    cl_mem k, v;
    t6_dtype dtype;
    int kv_heads, head_dim;
    size_t slot_stride;
} t6i_kv_view;

/** MHA decode and causal prefill over a view, for arguments the caller has validated (context locked; the
 *  caller starts the operation with t6i_op_begin). Same meanings as t6_mha_decode/t6_mha_prefill; scale is
 *  the softmax scale itself (not 0). q/out offsets plus extents must fit in 32 bits. Uses scratch channel 3
 *  and metadata channels 0 and 1. */
t6_status t6i_mha_decode_view(t6_context *ctx, const t6i_kv_view *kv, int heads, int batch, const int *slots,
                              const int *lengths, cl_mem q, size_t q_offset, cl_mem out, size_t out_offset,
                              float scale);
t6_status t6i_mha_prefill_view(t6_context *ctx, const t6i_kv_view *kv, int heads, int batch, const int *slots,
                               const int *starts, const int *counts, cl_mem q, size_t q_offset, cl_mem out,
                               size_t out_offset, float scale);
/** The prefill on tensor cores (kernels_cl/mha_mma.cl; T6_MHP_KERNEL 3, or automatic on GPUs) with the entries
 *  (slot, start, count, first row per batch entry) already on the device. T6_ERROR_UNSUPPORTED when the device,
 *  the K/V type or the shape does not suit it: the caller falls back to its FMA kernels. */
t6_status t6i_mha_prefill_mma(t6_context *ctx, const t6i_params *params, const t6i_kv_view *kv, int heads, int batch,
                              cl_mem entries, int max_count, cl_mem q, size_t q_offset, cl_mem out, size_t out_offset,
                              float scale);

/** Self-test checks (self_test.c's table): MHA decode/prefill against t6_ref_attention, and the materialized
 *  baseline against t6_ref_decode. */
t6_status t6i_self_test_mha(t6_context *ctx);
t6_status t6i_self_test_materialized(t6_context *ctx);

#endif /* T6_OPS_H */
