/* params_table.h — every tunable of every op, one list per op: X(NAME, default, min, max, meaning), NAME without
 * its "T6_" prefix. params.c builds the tables (names, ranges, descriptions) from these lists and tuning.h the
 * typed ids (T6I_NAME: t6i_param(params, T6I_DEC_TILE)), so an id and its row cannot drift apart and a misspelt
 * name is a compile error. Strings appear only at the edges: profiles, command lines, t6_context_set_param. The
 * .cl files repeat the defaults in their #ifndef blocks (a test compares them). */
#ifndef T6_PARAMS_TABLE_H
#define T6_PARAMS_TABLE_H

/* Fused projection (kernels_cl/projection.cl): RW_* shape the rows kernel (decode), the CLBlast-style names
 * the tiles kernel (prefill); ROWS_MAX picks between them. Combinations the host rejects (divisibility, local
 * memory) fail with T6_ERROR_INVALID_PARAMS. These defaults suit GPUs; params.c's cpu_defaults replaces some on
 * other devices unless a profile or the application sets them. */
#define T6I_PROJECTION_PARAMS(X) \
    X(PRJ_ROWS_MAX, 16, 0, 1 << 24, "calls of at most this many rows use the rows kernel, more the tiles kernel") \
    X(PRJ_RW_BLOCK, 16, 1, 64, "rows kernel: most rows per group; larger calls take several groups") \
    X(PRJ_RW_LANES, 128, 1, 1024, "rows kernel: work-items per group, splitting C") \
    X(PRJ_RW_COLS, 4, 2, 16, "rows kernel: packed columns per group (a power of two)") \
    X(PRJ_RW_VW, 4, 2, 8, "rows kernel: elements per weight load (2, 4 or 8)") \
    X(PRJ_RW_VACC, 1, 0, 1, "rows kernel: VW-wide partial sums (1) or scalar ones (0)") \
    X(PRJ_MWG, 64, 8, 256, "tiles kernel: rows per group tile") \
    X(PRJ_NWG, 128, 8, 128, "tiles kernel: packed columns per group tile") \
    X(PRJ_KWG, 32, 8, 32, "tiles kernel: K chunk per step (8, 16 or 32)") \
    X(PRJ_MDIMC, 16, 1, 64, "tiles kernel: work-items along rows") \
    X(PRJ_NDIMC, 16, 1, 64, "tiles kernel: work-items along columns") \
    X(PRJ_VWM, 4, 1, 8, "tiles kernel: contiguous rows per work-item chunk (1, 2, 4 or 8)") \
    X(PRJ_VWN, 8, 2, 8, "tiles kernel: contiguous columns per work-item chunk (2, 4 or 8)") \
    X(PRJ_SA, 1, 0, 1, "tiles kernel: stage the hidden-state tile in local memory") \
    X(PRJ_SB, 1, 0, 1, "tiles kernel: stage the weight tile in local memory") \
    X(PRJ_PREFETCH, 1, 0, 1, "tiles kernel: load the next K chunk while multiplying this one") \
    X(PRJ_SPLIT_GROUPS, 4, 0, 64, "tiles kernel: split C below this many groups per compute unit; 0 never") \
    X(PRJ_SPLIT_K_MIN, 128, 1, 1 << 20, "tiles kernel: fewest elements of C per split")

/* RoPE and scatter after the CLBlast GEMM (kernels_cl/rope_scatter.cl). */
#define T6I_ROPE_SCATTER_PARAMS(X) \
    X(RS_WG_SIZE, 256, 32, 1024, "work-items per group, one per (row, column pair)")

/* Factorized attention (kernels_cl/attention.cl): decode and prefill share the kernel, each with its own
 * tunables, named T6_DEC_* and T6_PRE_*. The host lowers TILE, then QUERIES and HEADS, until the group's local
 * memory fits. What both have, with P the prefix and their own defaults of TILE and MIN_SPLIT: */
#define T6I_ATTENTION_SHARED_PARAMS(X, P, tile, min_split) \
    X(P##_WG_SIZE, 256, 32, 1024, "work-items per group") \
    X(P##_TILE, tile, 1, 128, "cached positions staged in local memory per step") \
    X(P##_HEADS, 64, 1, 256, "heads per work-group (more share each B_K/B_V tile and S1)") \
    X(P##_TOKENS, 2, 1, 16, "cached positions per work-item in the B_Q·B_K product") \
    X(P##_VALUE_HEADS, 4, 1, 16, "heads (rows) per work-item in the value product (× 4 dims)") \
    X(P##_VECTOR, 8, 1, 8, "elements per cache load: 1, 2, 4 or 8") \
    X(P##_STAGE_S1, 1, 0, 1, "stage S1 = B_Q·B_K in local memory when cheaper than per-head queries") \
    X(P##_GROUPS_PER_CU, 2, 1, 64, "split positions until about this many groups per compute unit") \
    X(P##_MIN_SPLIT, min_split, 1, 1 << 20, "fewest cached positions per split")
/* ... and the tensor-core kernel's (kernels_cl/attention_mma.cl, lib/ops/attention_mma.c): */
#define T6I_ATTENTION_MMA_PARAMS(X, P) \
    X(P##_MMA, 1, 0, 2, "tensor cores (decode kernels 3, 4; prefill 4): 1 where a probe passes, 0 never, 2 emulated") \
    X(P##_STAGE, 32, 16, 32, "kernel 4: cached positions per pipeline stage (16 or 32)") \
    X(P##_STAGES, 3, 2, 4, "kernel 4: stages in flight in local memory")

#define T6I_DECODE_PARAMS(X) \
    X(DEC_KERNEL, 0, 0, 4, \
      "1: work-group tiles, 2: vectors per work-item (CPUs), 3: register-tiled stages (GPUs), 4: tensor cores " \
      "(NVIDIA), 0: by device type") \
    T6I_ATTENTION_SHARED_PARAMS(X, DEC, 32, 64) \
    /* kernel 3 (kernels_cl/attention_decode.cl, lib/ops/attention_decode.c) and kernel 4's merge */ \
    X(DEC_MERGE, 2, 0, 2, "kernel 4: 0 merge pass after the splits, 1 or 2 (by device) the last groups merge") \
    X(DEC_FANIN, 0, 0, 4096, "kernel 4: splits merged per block by the last group; 0: about the square root") \
    X(DEC_CU_GROUPS, 2, 1, 64, "kernels 3, 4: split positions until about this many groups per compute unit") \
    X(DEC_ACC_HEADS, 0, 0, 16, "kernel 3: heads per work-item in the value product (4, 8, 12, 16); 0 picks") \
    X(DEC_REGISTERS, 0, 0, 255, "kernel 3 on NVIDIA: registers per work-item; 0 fits CU_GROUPS groups per unit") \
    T6I_ATTENTION_MMA_PARAMS(X, DEC)

/* Prefill's QUERIES, GROUPS_PER_CU and MIN_SPLIT serve kernel 4 too; its MMA means kernel 4 only. */
#define T6I_PREFILL_PARAMS(X) \
    X(PRE_KERNEL, 0, 0, 4, \
      "1: work-group tiles (GPUs), 2: vectors per work-item (CPUs), 4: tensor cores (NVIDIA, as decode's kernel" \
      " 4), 0: by device type") \
    X(PRE_QUERIES, 4, 1, 64, "consecutive queries per work-group, sharing each key tile") \
    T6I_ATTENTION_SHARED_PARAMS(X, PRE, 16, 256) \
    T6I_ATTENTION_MMA_PARAMS(X, PRE)

#define T6I_MATERIALIZE_PARAMS(X) \
    X(MAT_WG_SIZE, 64, 1, 1024, "work-items per group (each one position and element d)") \
    X(MAT_HEAD_CHUNK, 8, 1, 64, "heads each work-item forms, reusing its B values")

#define T6I_MHA_DECODE_PARAMS(X) \
    X(MHD_KERNEL, 0, 0, 2, "0 automatic (GPU 1, otherwise 2), 1 lanes share positions, 2 rows per work-item") \
    X(MHD_VEC, 8, 2, 16, "elements per vector load: 2, 4, 8 or 16") \
    X(MHD_WG_SIZE, 128, 1, 1024, "work-items per group aimed at (whole positions, at least one)") \
    X(MHD_UNROLL, 4, 1, 16, "positions each work-item loads per tile, all in flight") \
    X(MHD_KV_BLOCK, 0, 0, 64, "most kv heads per work-group; 0 automatic: GPU 1, otherwise all") \
    X(MHD_HEAD_BLOCK, 8, 1, 64, "most query heads per kv head in a work-group; larger groups are split") \
    X(MHD_GROUPS_PER_CU, 4, 1, 256, "work-groups per compute unit the split count aims at") \
    X(MHD_SPLIT_MIN, 256, 16, 1 << 20, "fewest positions per split") \
    X(MHD_SPLIT_MAX, 64, 1, 4096, "most splits (the merge walks them all)") \
    X(MHD_HALF_MATH, 0, 0, 1, "fp16 to fp32: 0 vload_half, 1 integer bit arithmetic")

#define T6I_MHA_PREFILL_PARAMS(X) \
    X(MHP_KERNEL, 0, 0, 3, \
      "0 automatic (GPUs 3, CPUs 2), 1 work-group tiles, 2 rows per work-item, 3 tensor cores where the probe " \
      "passes and K/V are fp16 or bf16 (else 1)") \
    X(MHP_MMA, 1, 0, 2, "kernel 3: 1 tensor cores where the probe passes, 0 never, 2 emulated (tests)") \
    X(MHP_STAGE, 32, 16, 64, "kernel 3: positions per pipeline stage: 16, 32 or 64") \
    X(MHP_STAGES, 3, 2, 4, "kernel 3: stages in flight in local memory") \
    X(MHP_WARPS, 4, 1, 8, "kernel 3: warps per work-group, 16 query vectors each: 1, 2, 4 or 8") \
    X(MHP_VEC, 8, 2, 16, "kernel 2: elements per vector load: 2, 4, 8 or 16") \
    X(MHP_QUERIES, 32, 1, 256, "query vectors ((position, head) pairs) per work-group") \
    X(MHP_KEYS, 32, 1, 256, "keys per tile") \
    X(MHP_THREAD_QUERIES, 2, 1, 16, "kernel 1: query vectors per work-item; must divide QUERIES") \
    X(MHP_COLUMNS, 16, 1, 64, "kernel 1: work-items across keys and head_dim; must divide KEYS and head_dim")

/* Every op's list, in t6_op order (the ids are global, each op's a contiguous run). */
#define T6I_ALL_PARAMS(X)                                                                                               \
    T6I_PROJECTION_PARAMS(X) T6I_ROPE_SCATTER_PARAMS(X) T6I_DECODE_PARAMS(X) T6I_PREFILL_PARAMS(X)                      \
    T6I_MATERIALIZE_PARAMS(X) T6I_MHA_DECODE_PARAMS(X) T6I_MHA_PREFILL_PARAMS(X)

#endif /* T6_PARAMS_TABLE_H */
