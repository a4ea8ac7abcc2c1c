/* attention_plan.h — the plans of the factorized attention kernels: which kernel serves a call, and its tunables
 * as the host fits them to the call's shape and the device, with how the call is divided. Pure arithmetic over
 * t6.h's types and this header, in three files, one per family of kernels:
 *
 *   attention_plan.c         the choice (t6i_attention_plan_make) and the FMA kernels 1 and 2 (attention.cl,
 *                            attention_vector.cl)
 *   attention_stages_plan.c  kernel 3, register-tiled stages (attention_decode.cl)
 *   attention_mma_plan.c     kernel 4, tensor cores (attention_mma.cl)
 *
 * The library plans every call with them (attention_factorized.c, attention_decode.c, attention_mma.c), and
 * t6-tune's spaces (tuner/tune/tune_spaces.c, through the t6_plans target) ask t6i_attention_plan_make what would
 * really run instead of copying the arithmetic. What no arithmetic can know (a probe that fails, a driver that
 * takes more registers or local memory than planned) the library finds when it builds, and plans again. */
#ifndef T6_ATTENTION_PLAN_H
#define T6_ATTENTION_PLAN_H

#include "t6.h"

#include <stdbool.h>
#include <stddef.h>

/** What of a call the plans depend on. */
typedef struct t6i_attention_shape {
    int heads, head_dim, rank_q, rank_k, rank_v;
    t6_dtype dtype;         /* the cache's */
    t6_precision precision; /* strict or fast (T6_PRECISION_DEFAULT is not one) */
    bool prefill;
    int batch;         /* sequences in the call */
    const int *counts; /* queries of each sequence; NULL: one each (decode) */
    int rows;          /* queries in all: Σ counts */
    int max_end;       /* one past the last position any query sees */
} t6i_attention_shape;

/* ---- kernels 1 and 2 ---- */

/** The tunables of one call of the FMA kernels. In: the resolved values (KERNEL as asked: 0, 3 and 4 mean "by
 *  device" here). Out: what runs, after the planner's adjustments, and the division of the work. */
typedef struct t6i_fma_attention_plan {
    int kernel; /* out: 1 work-group tiles (attention.cl), 2 vectors per work-item (attention_vector.cl) */
    int wg_size, tile, group_heads, queries, tokens, value_heads, vector, stage_s1, groups_per_cu, min_split;
    int head_groups, query_tiles, splits, split_length; /* out only */
} t6i_fma_attention_plan;

/** Fits `plan` to `shape` on the device `info`: heads and queries to the shape's, then TILE, QUERIES and HEADS
 *  lowered in that order until the group's local memory fits (kernel 1), TILE until a work-item's arrays fit a
 *  CPU runtime's stack (kernel 2), STAGE_S1 on where it pays; then the splits. False, with the reason in `why`,
 *  when even one position and one head do not fit. */
bool t6i_fma_attention_plan_make(const t6_device_info *info, const t6i_attention_shape *shape,
                                 t6i_fma_attention_plan *plan, char *why, size_t cap);

/** Local memory of kernel 1 for `plan` (as fitted, or as asked), array by array as attention.cl declares them. */
size_t t6i_fma_attention_local_bytes(const t6i_fma_attention_plan *plan, const t6i_attention_shape *shape);

/** Floats of the partial results of split decoding or prefill (ops.h describes the layout: acc, max, sum). */
size_t t6i_split_partials_floats(int batch, int splits, int heads, int head_dim);

/** Query tiles of `queries` consecutive queries of one sequence in `shape` (decode: one per sequence). */
int t6i_query_tiles(const t6i_attention_shape *shape, int queries);

/** How every kernel splits the positions over the device: until it has about `per_cu` groups per compute unit
 *  (the call has `groups` without splitting), none shorter than `min_split`, each a whole number of `unit`
 *  positions, lengthened while the partial results would exceed `most_floats`. */
void t6i_split_positions(const t6_device_info *info, const t6i_attention_shape *shape, long long groups, int per_cu,
                         int min_split, int unit, unsigned long long most_floats, int *splits, int *split_length);

/** Whether `info` is an NVIDIA GPU: the one kind whose tensor cores (mma.sync) kernels 3 and 4 use, its probe
 *  aside. */
bool t6i_is_nvidia_gpu(const t6_device_info *info);

/* ---- kernel 3: register-tiled stages, decode on GPUs ---- */

/** In: the resolved T6_DEC_* values. Out: what the kernel is built with (the work division follows from the tile
 *  and the group), and the splits. */
typedef struct t6i_stages_plan {
    int mma; /* in: T6_DEC_MMA; out: 0 fp32 FMAs, 1 tensor cores (tf32 mma.sync), 2 their tiling emulated */
    int wg_size, tile, vector, acc_heads, registers, cu_groups, min_split;
    int s1_ranks, score_t, score_h, splits, split_length; /* out only */
} t6i_stages_plan;

/** Fits `plan` to a decode `shape` on `info`: tensor cores where asked, the cache is fp16 or bf16, the group a
 *  whole number of warps and (MMA 1) the device an NVIDIA GPU, whose probe the caller runs; the tile rounded to
 *  their 16 positions (else 4) and at most `max_tile` when that is positive, then lowered until the work-items'
 *  score registers, the value product's teams and the local memory fit, falling back from tensor cores to FMAs
 *  when no tile fits them; the registers per work-item on NVIDIA; then the splits. T6_ERROR_UNSUPPORTED, with the
 *  reason in `why`, when no tile fits. */
t6_status t6i_stages_plan_make(const t6_device_info *info, const t6i_attention_shape *shape, int max_tile,
                               t6i_stages_plan *plan, char *why, size_t cap);

/* ---- kernel 4: tensor cores, decode and prefill on NVIDIA GPUs ---- */

/** In: the resolved values (T6_DEC_* in decode, T6_PRE_* in prefill; `queries` is 1 in decode, `merge` and
 *  `fanin` are decode's: prefill's groups always merge). Out: what the kernel is built with, and the division. */
typedef struct t6i_mma_plan {
    int mma;           /* 1 PTX mma.sync (the caller runs the probe), 2 their tiling emulated with FMAs */
    int stage, stages; /* positions per stage, stages in flight */
    int queries;       /* consecutive queries per group */
    int groups_per_cu, min_split, merge, fanin;
    int qterms, pterms; /* out: fp16/bf16 parts of q̃ and of the softmax weights */
    int wg_size;        /* out: a warp per 16 heads and query */
    size_t local_bytes; /* out */
    int query_tiles, splits, split_length, blocks_max; /* out */
} t6i_mma_plan;

/** Fits `plan` to `shape` on `info`: queries to the longest sequence and the device's group limit, then fewer
 *  positions per stage and fewer stages until local memory fits; the splits and how they merge.
 *  T6_ERROR_INVALID_PARAMS for a STAGE the kernel does not take; T6_ERROR_UNSUPPORTED, with the reason in `why`,
 *  when the kernel cannot serve the call (an fp32 cache, MMA 0, MMA 1 off NVIDIA GPUs, a group or stages that do
 *  not fit). */
t6_status t6i_mma_plan_make(const t6_device_info *info, const t6i_attention_shape *shape, t6i_mma_plan *plan,
                            char *why, size_t cap);

/* ---- the choice ---- */

/** Kernels that the runtime found it cannot use for a call, though their plans fit: their probe failed or the
 *  driver refused the build. */
enum { T6I_REFUSED_STAGES = 1u << 3, T6I_REFUSED_TENSOR_CORES = 1u << 4 };

/** One call's plan: `kernel` as asked (T6_KERNEL_*) in, the kernel that serves out, with its plan. */
typedef struct t6i_attention_plan {
    int kernel;
    t6i_fma_attention_plan fma; /* kernels 1, 2 */
    t6i_stages_plan stages;     /* kernel 3 */
    t6i_mma_plan mma;           /* kernel 4 */
    char passed_over[512];      /* out: the kernels the order reached before this one, and why they do not serve */
} t6i_attention_plan;

/** The plan that runs, after every planner's adjustment, the probes and builds aside (`refused` names those that
 *  failed): in the order of T6_KERNEL_BY_DEVICE on GPUs (and from KERNEL 4 asked), tensor cores where their plan
 *  fits, then for decode the stages kernel where its plan fits, else the FMA kernels (the vectors on CPUs).
 *  KERNEL 3 asked is kernel 3 or T6_ERROR_UNSUPPORTED; 1 and 2 are themselves. T6_ERROR_INVALID_PARAMS when the
 *  FMA kernels do not fit either, or for values no kernel takes; the reason in `why`. */
t6_status t6i_attention_plan_make(const t6_device_info *info, const t6i_attention_shape *shape, unsigned refused,
                                  t6i_attention_plan *plan, char *why, size_t cap);

#endif
