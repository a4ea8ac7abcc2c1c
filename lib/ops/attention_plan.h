/* attention_plan.h — the plan of the FMA attention kernels (kernels_cl/attention.cl, attention_vector.cl): the
 * tunables as the host fits them to a call's shape and a device, and how the call is divided. Pure arithmetic
 * over t6.h's types and this header: the library plans every call with it (attention_factorized.c), and t6-tune's
 * spaces (tuner/tune/tune_spaces.c, through the t6_plans target) ask it what would really run instead of
 * copying the arithmetic. */
#ifndef T6_ATTENTION_PLAN_H
#define T6_ATTENTION_PLAN_H

#include "t6.h"

#include <stdbool.h>
#include <stddef.h>

/** What of a call the plan depends on. */
typedef struct t6i_fma_attention_shape {
    int heads, head_dim, rank_q, rank_k, rank_v;
    bool prefill;
    int batch;         /* sequences in the call */
    const int *counts; /* queries of each sequence; NULL: one each (decode) */
    int rows;          /* queries in all: Σ counts */
    int max_end;       /* one past the last position any query sees */
} t6i_fma_attention_shape;

/** The tunables of one call. In: the resolved values (KERNEL as asked: 0, 3 and 4 mean "by device" here). Out:
 *  what runs, after the planner's adjustments, and the division of the work. */
typedef struct t6i_fma_attention_plan {
    int kernel; /* out: 1 work-group tiles (attention.cl), 2 vectors per work-item (attention_vector.cl) */
    int wg_size, tile, group_heads, queries, tokens, value_heads, vector, stage_s1, groups_per_cu, min_split;
    int head_groups, query_tiles, splits, split_length; /* out only */
} t6i_fma_attention_plan;

/** Fits `plan` to `shape` on the device `info`: heads and queries to the shape's, then TILE, QUERIES and HEADS
 *  lowered in that order until the group's local memory fits (kernel 1), TILE until a work-item's arrays fit a
 *  CPU runtime's stack (kernel 2), STAGE_S1 on where it pays; then the splits. False, with the reason in `why`,
 *  when even one position and one head do not fit. */
bool t6i_fma_attention_plan_make(const t6_device_info *info, const t6i_fma_attention_shape *shape,
                                 t6i_fma_attention_plan *plan, char *why, size_t cap);

/** Local memory of kernel 1 for `plan` (as fitted, or as asked), array by array as attention.cl declares them. */
size_t t6i_fma_attention_local_bytes(const t6i_fma_attention_plan *plan, const t6i_fma_attention_shape *shape);

/** Floats of the partial results of split decoding or prefill (ops.h describes the layout: acc, max, sum). */
size_t t6i_split_partials_floats(int batch, int splits, int heads, int head_dim);

#endif
