/* projection.cl — the fused factor projection (TPA.md "Factor projection"): out[n][j] = Σ_c x[n][c]·W[j][c]
 * over the layer's packed weight columns j, then RoPE on B_Q and B_K and the scatter of every factor to the
 * query output (A_Q, B_Q) and the cache (A_K, A_V, B_K, B_V) at the row's slot and position. One pass over
 * the weights; the host picks one of two kernels per call:
 *   t6_project_rows   few rows (decode): bound by reading the weights. A work-group streams T6_PRJ_RW_COLS
 *                     weight rows with wide loads for up to T6_PRJ_RW_BLOCK rows, its work-items splitting
 *                     C, and reduces in local memory. With one work-item per group and 8-wide vectors it is
 *                     also the GEMM that suits CPU drivers, which vectorize only explicit vector code.
 *   t6_project_tiles  many rows (prefill): bound by arithmetic. A register-tiled GEMM in the style of
 *                     CLBlast's xgemm (MWG × NWG tile per group, K chunks of KWG staged in local memory).
 *                     When a call has too few tiles to fill the device, the host splits C into ranges
 *                     (split-K, a third NDRange dimension): each group then writes raw partial sums, and
 *                     rope_scatter.cl adds the ranges up and applies the epilogue.
 *
 * Packed weights (lib/ops/layer.c's header has the full layout): row j of `weights` is output column j, T6_WEIGHT_LD
 * elements (C rounded up to 32, zero-padded), rows padded with zeros to a multiple of 128. Columns:
 *   [A_Q H·Rq][A_K H·Rk][A_V H·Rv][one zero column if that count is odd][B_Q Rq·D][B_K Rk·D][B_V Rv·D]
 * where each D-block of B_Q and B_K is reordered so that RoPE partners are adjacent: packed offsets 2i and 2i+1
 * hold the pair of angle i (for `half`, dimensions i and i+D/2; for `interleaved`, 2i and 2i+1). Every
 * work-item therefore owns whole pairs and rotates in registers.
 *
 * meta[n] = (slot·capacity + position, position) per row; angles are (float)position · inv_freq[i] in fp32
 * (exact positions up to 2^24), inv_freq computed on the host in double (t6_ref_rope's rule).
 */

/* ---- shape: set by the host, not tuned (and projection_common.cl's) ---- */
#ifndef T6_MODEL_DIM
#define T6_MODEL_DIM 64 /* C */
#endif
#ifndef T6_WEIGHT_LD
#define T6_WEIGHT_LD 64 /* elements per packed weight row: C rounded up to 32 */
#endif
#ifndef T6_WEIGHT_DTYPE
#define T6_WEIGHT_DTYPE 0 /* storage type of the weights (t6_dtype) */
#endif
#ifndef T6_PRJ_ROWS
#define T6_PRJ_ROWS 1 /* rows kernel: rows per group (the call's rows rounded up to a power of two, at most
                         T6_PRJ_RW_BLOCK) */
#endif
#ifndef T6_PRJ_NORM
#define T6_PRJ_NORM 0 /* rows kernel: 1 RMSNorms each hidden row first (the whole model's rmsnorm(x) before
                         attention): x / sqrt(mean(x²) + norm_eps), folded in as a scale of the row's sums */
#endif

/* ---- tunables (lib/tuning/params_table.h has the same defaults and ranges) ---- */
#ifndef T6_PRJ_ROWS_MAX
#define T6_PRJ_ROWS_MAX 16 /* calls of at most this many rows use t6_project_rows (read by the host) */
#endif
#ifndef T6_PRJ_RW_BLOCK
#define T6_PRJ_RW_BLOCK 16 /* rows kernel: most rows per group; larger calls take several (read by the host) */
#endif
#ifndef T6_PRJ_RW_LANES
#define T6_PRJ_RW_LANES 128 /* rows kernel: work-items per group, splitting C */
#endif
#ifndef T6_PRJ_RW_COLS
#define T6_PRJ_RW_COLS 4 /* rows kernel: packed columns per group (2, 4, 8 or 16) */
#endif
#ifndef T6_PRJ_RW_VW
#define T6_PRJ_RW_VW 4 /* rows kernel: elements per weight load (2, 4 or 8) */
#endif
#ifndef T6_PRJ_RW_VACC
#define T6_PRJ_RW_VACC 1 /* rows kernel: 1 keeps VW-wide partial sums (independent FMAs), 0 scalar ones */
#endif
#ifndef T6_PRJ_MWG
#define T6_PRJ_MWG 64 /* tiles kernel: rows per work-group tile */
#endif
#ifndef T6_PRJ_NWG
#define T6_PRJ_NWG 128 /* tiles kernel: packed columns per work-group tile */
#endif
#ifndef T6_PRJ_KWG
#define T6_PRJ_KWG 32 /* tiles kernel: K chunk staged per step (8, 16 or 32) */
#endif
#ifndef T6_PRJ_MDIMC
#define T6_PRJ_MDIMC 16 /* tiles kernel: work-items along rows */
#endif
#ifndef T6_PRJ_NDIMC
#define T6_PRJ_NDIMC 16 /* tiles kernel: work-items along columns */
#endif
#ifndef T6_PRJ_VWM
#define T6_PRJ_VWM 4 /* tiles kernel: contiguous rows per work-item chunk, one vector read (1, 2, 4 or 8) */
#endif
#ifndef T6_PRJ_VWN
#define T6_PRJ_VWN 8 /* tiles kernel: contiguous columns per work-item chunk (2, 4 or 8: RoPE pairs) */
#endif
#ifndef T6_PRJ_SA
#define T6_PRJ_SA 1 /* tiles kernel: 1 stages the hidden-state tile in local memory, 0 reads it from global */
#endif
#ifndef T6_PRJ_SB
#define T6_PRJ_SB 1 /* tiles kernel: 1 stages the weight tile in local memory, 0 reads it from global */
#endif
#ifndef T6_PRJ_PREFETCH
#define T6_PRJ_PREFETCH 1 /* tiles kernel: 1 loads the next K chunk into registers while multiplying this one */
#endif
#ifndef T6_PRJ_SPLIT_GROUPS
#define T6_PRJ_SPLIT_GROUPS 4 /* tiles kernel: split C while a call has fewer groups per compute unit; 0 never
                                 (read by the host) */
#endif
#ifndef T6_PRJ_SPLIT_K_MIN
#define T6_PRJ_SPLIT_K_MIN 128 /* tiles kernel: fewest elements of C per split (read by the host) */
#endif

/* ---- derived shape ---- */
#define PRJ_C T6_MODEL_DIM
#define PRJ_D T6_HEAD_DIM
#define PRJ_HRQ (T6_HEADS * T6_RANK_Q)
#define PRJ_HRK (T6_HEADS * T6_RANK_K)
#define PRJ_HRV (T6_HEADS * T6_RANK_V)
#define PRJ_NA (PRJ_HRQ + PRJ_HRK + PRJ_HRV)
#define PRJ_B_BEGIN (PRJ_NA + (PRJ_NA & 1))
#define PRJ_BK_BEGIN (PRJ_B_BEGIN + T6_RANK_Q * PRJ_D)
#define PRJ_BV_BEGIN (PRJ_BK_BEGIN + T6_RANK_K * PRJ_D)
#define PRJ_COLS (PRJ_BV_BEGIN + T6_RANK_V * PRJ_D)
#define PRJ_QUERY_ROW (PRJ_HRQ + T6_RANK_Q * PRJ_D)
/* half: y_a = a cos + b sin, y_b = −a sin + b cos; interleaved: the same with sin negated. */
#define PRJ_SIN_SIGN (T6_ROPE_STYLE == 0 ? 1.0f : -1.0f)

#define WSTORE T6_STORAGE(T6_WEIGHT_DTYPE)
#define CSTORE T6_STORAGE(T6_CACHE_DTYPE)

/* ---- vectors of 1, 2, 4 or 8 floats ---- */
#define PRJ_FLOAT_1 float
#define PRJ_FLOAT_2 float2
#define PRJ_FLOAT_4 float4
#define PRJ_FLOAT_8 float8
#define PRJ_FLOATN(n) T6_CAT(PRJ_FLOAT_, n)
#define PRJ_USHORT_2 ushort2
#define PRJ_USHORT_4 ushort4
#define PRJ_USHORT_8 ushort8
#define PRJ_UINT_2 uint2
#define PRJ_UINT_4 uint4
#define PRJ_UINT_8 uint8

#define PRJ_UNPACK_1(d, v) (d)[0] = (v)
#define PRJ_UNPACK_2(d, v) (d)[0] = (v).s0, (d)[1] = (v).s1
#define PRJ_UNPACK_4(d, v) (d)[0] = (v).s0, (d)[1] = (v).s1, (d)[2] = (v).s2, (d)[3] = (v).s3
#define PRJ_UNPACK_8(d, v)                                                                                         \
    (d)[0] = (v).s0, (d)[1] = (v).s1, (d)[2] = (v).s2, (d)[3] = (v).s3, (d)[4] = (v).s4, (d)[5] = (v).s5,       \
    (d)[6] = (v).s6, (d)[7] = (v).s7
/* PRJ_UNPACK(n, array, vector): the components of a vector into a private array (unrolled loops index it). */
#define PRJ_UNPACK(n, d, v) T6_CAT(PRJ_UNPACK_, n)(d, v)

/* acc + Σ w_e·x_e over the components of two n-vectors. */
#define PRJ_DOT_2(w, x, acc) fma((w).s1, (x).s1, fma((w).s0, (x).s0, acc))
#define PRJ_DOT_4(w, x, acc) fma((w).s3, (x).s3, fma((w).s2, (x).s2, PRJ_DOT_2(w, x, acc)))
#define PRJ_DOT_8(w, x, acc) PRJ_DOT_4((w).hi, (x).hi, PRJ_DOT_4((w).lo, (x).lo, acc))
#define PRJ_DOT(n, w, x, acc) T6_CAT(PRJ_DOT_, n)(w, x, acc)

/* Aligned n-element weight loads (n = 2, 4, 8) as floats at element `index` (a multiple of n). Typed vector
 * pointers and vloada_half make the compiler issue one wide load: rows start 32-element aligned. */
#if T6_WEIGHT_DTYPE == 0
#define PRJ_LOAD_W(n, p, index) (((const __global PRJ_FLOATN(n) *)(p))[(index) / (n)])
#elif T6_WEIGHT_DTYPE == 1
#define PRJ_LOAD_W(n, p, index) T6_CAT(vloada_half, n)((index) / (n), p)
#else
#define PRJ_LOAD_W(n, p, index)                                                                                    \
    T6_CAT(as_float, n)(T6_CAT(convert_uint, n)(((const __global T6_CAT(PRJ_USHORT_, n) *)(p))[(index) / (n)]) << 16)
#endif

/* n hidden-state values of one row from element c on (any alignment), zero from C on: the row may be the
 * buffer's last. */
#define PRJ_VLOAD(n, p) T6_CAT(vload, n)(0, p)
#define PRJ_LOAD_X(n, row, c, out)                                                                                 \
    do {                                                                                                           \
        if ((c) + (n) <= PRJ_C) {                                                                                  \
            out = PRJ_VLOAD(n, (row) + (c));                                                                       \
        } else if (T6_MODEL_DIM % (n) != 0 && (c) < PRJ_C) {                                                       \
            float part_[n];                                                                                        \
            for (uint e_ = 0; e_ < (n); e_++) part_[e_] = (c) + e_ < PRJ_C ? (row)[(c) + e_] : 0.0f;              \
            out = PRJ_VLOAD(n, part_);                                                                             \
        } else {                                                                                                   \
            out = 0.0f;                                                                                            \
        }                                                                                                          \
    } while (0)

/* ---- epilogue: RoPE and scatter (rope_scatter.cl mirrors it for the CLBlast path) ---- */

typedef struct prj_outputs {
    __global float *query;
    uint query_base;   /* element of the row's A_Q[0] */
    uint cache_row;    /* slot·capacity + position */
    float position;
} prj_outputs;

/* Packed offset q (< D) inside a B_Q/B_K block → the dimension d it holds. */
inline uint prj_rope_dim(uint q)
{
    return T6_ROPE_STYLE == 0 ? (q >> 1) + (q & 1u) * (PRJ_D / 2) : q;
}

inline void prj_store(uint j, float value, const prj_outputs *out, __global CSTORE *a_k, __global CSTORE *a_v,
                      __global CSTORE *b_k, __global CSTORE *b_v)
{
    if (j < PRJ_HRQ) {
        out->query[out->query_base + j] = value;
    } else if (j < PRJ_HRQ + PRJ_HRK) {
        T6_STORE(T6_CACHE_DTYPE, a_k, out->cache_row * PRJ_HRK + (j - PRJ_HRQ), value);
    } else if (j < PRJ_NA) {
        T6_STORE(T6_CACHE_DTYPE, a_v, out->cache_row * PRJ_HRV + (j - PRJ_HRQ - PRJ_HRK), value);
    } else if (j < PRJ_B_BEGIN) {
        /* the padding column */
    } else if (j < PRJ_BK_BEGIN) {
        const uint p = j - PRJ_B_BEGIN;
        out->query[out->query_base + PRJ_HRQ + p - p % PRJ_D + prj_rope_dim(p % PRJ_D)] = value;
    } else if (j < PRJ_BV_BEGIN) {
        const uint p = j - PRJ_BK_BEGIN;
        T6_STORE(T6_CACHE_DTYPE, b_k, out->cache_row * (T6_RANK_K * PRJ_D) + p - p % PRJ_D + prj_rope_dim(p % PRJ_D),
                 value);
    } else if (j < PRJ_COLS) {
        T6_STORE(T6_CACHE_DTYPE, b_v, out->cache_row * (T6_RANK_V * PRJ_D) + (j - PRJ_BV_BEGIN), value);
    }
}

/* Columns j (even) and j+1 of one row: rotated when they are a RoPE pair, then stored. */
inline void prj_store_pair(uint j, float x0, float x1, const prj_outputs *out, const __global float *inv_freq,
                           __global CSTORE *a_k, __global CSTORE *a_v, __global CSTORE *b_k, __global CSTORE *b_v)
{
    if (j >= PRJ_COLS) return;
    if (j >= PRJ_B_BEGIN && j < PRJ_BV_BEGIN) {
        const float angle = out->position * inv_freq[((j - PRJ_B_BEGIN) % PRJ_D) >> 1];
        float cos_a;
        const float sin_a = PRJ_SIN_SIGN * sincos(angle, &cos_a);
        const float y0 = x0 * cos_a + x1 * sin_a;
        x1 = x1 * cos_a - x0 * sin_a;
        x0 = y0;
    }
    prj_store(j, x0, out, a_k, a_v, b_k, b_v);
    prj_store(j + 1, x1, out, a_k, a_v, b_k, b_v);
}

inline prj_outputs prj_row_outputs(__global float *query, uint query_offset, uint n, const __global uint2 *meta)
{
    const uint2 m = meta[n];
    prj_outputs out = {query, query_offset + n * PRJ_QUERY_ROW, m.x, (float)(int)m.y};
    return out;
}

/* ---- t6_project_rows: few rows, one read of each weight ---- */

#define RW_OUTPUTS (T6_PRJ_RW_COLS * T6_PRJ_ROWS)
/* With the norm, each row's sum of squares rides along as one more value per row. */
#define RW_VALUES (RW_OUTPUTS + (T6_PRJ_NORM ? T6_PRJ_ROWS : 0))
#define RW_PITCH (RW_VALUES + 1) /* odd: lanes writing the same output hit distinct banks */
#define RW_PARTS (T6_PRJ_RW_LANES >= RW_VALUES ? T6_PRJ_RW_LANES / RW_VALUES : 1)
#define RW_STEP (T6_PRJ_RW_LANES * T6_PRJ_RW_VW)
#define RW_PASSES ((PRJ_C + RW_STEP - 1) / RW_STEP)
#define RW_UNROLL (RW_PASSES < 8 ? RW_PASSES : 8)
#define RW_VEC PRJ_FLOATN(T6_PRJ_RW_VW)
/* Vector partial sums give every FMA its own chain (CPUs need that; GPUs hide the latency with threads), but
 * cost COLS·ROWS·VW registers: above 128 the kernel falls back to scalar sums. */
#if T6_PRJ_RW_VACC && T6_PRJ_RW_COLS * T6_PRJ_ROWS * T6_PRJ_RW_VW <= 128
#define RW_ACC RW_VEC
#define RW_FMA(w, x, acc) fma(w, x, acc)
#define RW_SUM(acc) PRJ_DOT(T6_PRJ_RW_VW, acc, (RW_VEC)(1.0f), 0.0f)
#else
#define RW_ACC float
#define RW_FMA(w, x, acc) PRJ_DOT(T6_PRJ_RW_VW, w, x, acc)
#define RW_SUM(acc) (acc)
#endif

/* Group (g, b) computes packed columns g·COLS .. g·COLS+COLS−1 for rows b·ROWS .. b·ROWS+ROWS−1: its lanes
 * split C, each reading VW consecutive weights per column and pass (a group's loads of one weight row are
 * contiguous), then the lanes' partial sums are reduced in local memory. The lanes read each hidden value of
 * the block once between them, so with T6_PRJ_NORM they also sum its square: the row's RMSNorm costs no
 * extra pass (RoPE and the projection are linear, so scaling the sums is scaling x). */
__kernel __attribute__((reqd_work_group_size(T6_PRJ_RW_LANES, 1, 1)))
void t6_project_rows(const __global float *restrict hidden, uint hidden_offset, uint rows,
                     const __global WSTORE *restrict weights, const __global float *restrict inv_freq,
                     const __global uint2 *restrict meta, __global float *restrict query, uint query_offset,
                     __global CSTORE *restrict a_k, __global CSTORE *restrict a_v, __global CSTORE *restrict b_k,
                     __global CSTORE *restrict b_v, float norm_eps)
{
    __local float partial[T6_PRJ_RW_LANES * RW_PITCH];
    __local float sums[RW_PARTS * RW_VALUES];
    const uint lane = get_local_id(0);
    const uint col0 = get_group_id(0) * T6_PRJ_RW_COLS;
    const uint row0 = get_group_id(1) * T6_PRJ_ROWS;
    const uint block_rows = min(rows - row0, (uint)T6_PRJ_ROWS);
    const __global WSTORE *w = weights + (size_t)col0 * T6_WEIGHT_LD;
    const __global float *x_rows = hidden + hidden_offset + row0 * PRJ_C;

    RW_ACC acc[T6_PRJ_RW_COLS][T6_PRJ_ROWS];
    #pragma unroll
    for (uint col = 0; col < T6_PRJ_RW_COLS; col++) {
        #pragma unroll
        for (uint n = 0; n < T6_PRJ_ROWS; n++) acc[col][n] = (RW_ACC)(0.0f);
    }
#if T6_PRJ_NORM
    RW_ACC squares[T6_PRJ_ROWS];
    #pragma unroll
    for (uint n = 0; n < T6_PRJ_ROWS; n++) squares[n] = (RW_ACC)(0.0f);
#endif

    /* Fixed pass counts let the compiler unroll and issue a lane's weight loads up front (decode needs most of
     * the weights in flight at once to reach DRAM bandwidth); at most RW_UNROLL passes at a time, so that a
     * lane walking all of C (CPUs) does not unroll into more code than the instruction cache holds. */
    for (uint first = 0; first < RW_PASSES; first += RW_UNROLL) {
        #pragma unroll
        for (uint pass = first; pass < first + RW_UNROLL; pass++) {
            const uint c = pass * RW_STEP + lane * T6_PRJ_RW_VW;
            if (c >= PRJ_C) break;
            RW_VEC x[T6_PRJ_ROWS];
            #pragma unroll
            for (uint n = 0; n < T6_PRJ_ROWS; n++) {
                x[n] = (RW_VEC)(0.0f);
                if (n < block_rows) PRJ_LOAD_X(T6_PRJ_RW_VW, x_rows + n * PRJ_C, c, x[n]);
#if T6_PRJ_NORM
                squares[n] = RW_FMA(x[n], x[n], squares[n]);
#endif
            }
            #pragma unroll
            for (uint col = 0; col < T6_PRJ_RW_COLS; col++) {
                const RW_VEC wv = PRJ_LOAD_W(T6_PRJ_RW_VW, w, col * T6_WEIGHT_LD + c);
                #pragma unroll
                for (uint n = 0; n < T6_PRJ_ROWS; n++) acc[col][n] = RW_FMA(wv, x[n], acc[col][n]);
            }
        }
    }

    /* Reduce over lanes: RW_PARTS lanes per output each sum a strided share, then one sum per output. */
    #pragma unroll
    for (uint col = 0; col < T6_PRJ_RW_COLS; col++) {
        #pragma unroll
        for (uint n = 0; n < T6_PRJ_ROWS; n++) partial[lane * RW_PITCH + col * T6_PRJ_ROWS + n] = RW_SUM(acc[col][n]);
    }
#if T6_PRJ_NORM
    #pragma unroll
    for (uint n = 0; n < T6_PRJ_ROWS; n++) partial[lane * RW_PITCH + RW_OUTPUTS + n] = RW_SUM(squares[n]);
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint task = lane; task < RW_PARTS * RW_VALUES; task += T6_PRJ_RW_LANES) {
        const uint o = task % RW_VALUES, part = task / RW_VALUES;
        float s = 0.0f;
        for (uint k = part; k < T6_PRJ_RW_LANES; k += RW_PARTS) s += partial[k * RW_PITCH + o];
        sums[part * RW_VALUES + o] = s;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    for (uint task = lane; task < (T6_PRJ_RW_COLS / 2) * T6_PRJ_ROWS; task += T6_PRJ_RW_LANES) {
        const uint pair = task % (T6_PRJ_RW_COLS / 2), n = task / (T6_PRJ_RW_COLS / 2);
        if (n >= block_rows) continue;
        float x0 = 0.0f, x1 = 0.0f;
        for (uint part = 0; part < RW_PARTS; part++) {
            x0 += sums[part * RW_VALUES + (2 * pair) * T6_PRJ_ROWS + n];
            x1 += sums[part * RW_VALUES + (2 * pair + 1) * T6_PRJ_ROWS + n];
        }
#if T6_PRJ_NORM
        float row_squares = 0.0f;
        for (uint part = 0; part < RW_PARTS; part++) row_squares += sums[part * RW_VALUES + RW_OUTPUTS + n];
        const float scale = 1.0f / sqrt(row_squares / (float)PRJ_C + norm_eps);
        x0 *= scale;
        x1 *= scale;
#endif
        const prj_outputs out = prj_row_outputs(query, query_offset, row0 + n, meta);
        prj_store_pair(col0 + 2 * pair, x0, x1, &out, inv_freq, a_k, a_v, b_k, b_v);
    }
}

/* ---- t6_project_tiles: many rows, a register-tiled GEMM ---- */

#define TL_MWI (T6_PRJ_MWG / T6_PRJ_MDIMC)
#define TL_NWI (T6_PRJ_NWG / T6_PRJ_NDIMC)
#define TL_GROUP (T6_PRJ_MDIMC * T6_PRJ_NDIMC)
#define TL_K_END ((PRJ_C + T6_PRJ_KWG - 1) / T6_PRJ_KWG * T6_PRJ_KWG)
/* Tiles are stored k-major ([k][m], [k][j]) so the compute loop reads VWM/VWN-vectors; the pitch keeps those
 * reads aligned and spreads the transposing stores over banks. */
#define TL_A_PITCH (T6_PRJ_MWG + T6_PRJ_VWM)
#define TL_B_PITCH (T6_PRJ_NWG + T6_PRJ_VWN)
#define TL_AVEC PRJ_FLOATN(T6_PRJ_VWM)
#define TL_BVEC PRJ_FLOATN(T6_PRJ_VWN)
/* A chunk is staged as float4s of four consecutive k: TL_*_ITEMS per tile, TL_*_LOADS per work-item. */
#define TL_A_ITEMS (T6_PRJ_MWG * T6_PRJ_KWG / 4)
#define TL_B_ITEMS (T6_PRJ_NWG * T6_PRJ_KWG / 4)
#define TL_A_LOADS ((TL_A_ITEMS + TL_GROUP - 1) / TL_GROUP)
#define TL_B_LOADS ((TL_B_ITEMS + TL_GROUP - 1) / TL_GROUP)

/* Element (m, k) of the tile's rows / (j, k) of its columns, straight from global memory (SA/SB off). */
#define TL_X(m, k) ((m) < tile_rows && (k) < PRJ_C ? x_tile[(m) * PRJ_C + (k)] : 0.0f)
#define TL_W(j, k) T6_LOAD(T6_WEIGHT_DTYPE, w_tile, (j) * T6_WEIGHT_LD + (k))

/* Staging goes through registers: the global loads of a chunk are one step, their transposing stores to local
 * memory another, so that with T6_PRJ_PREFETCH the loads of chunk k+1 are in flight while chunk k is
 * multiplied (a group alone on its compute unit then waits on memory once, not once per chunk). Consecutive
 * work-items read along a row (coalesced). */
/* The transposing store of a staged chunk, for either tile: this work-item's float4 l holds k = kq..kq+3 of tile
 * row (or column) i / (KWG/4), stored k-major at PITCH. A macro, not a function: the counts must be constants
 * where the loop is unrolled, or the registers the loads filled go through the stack. */
#define TL_STORE_TRANSPOSED(regs, tile, flat, LOADS, ITEMS, PITCH)                                                \
    _Pragma("unroll") for (uint l = 0; l < (LOADS); l++) {                                                       \
        const uint i = (flat) + l * TL_GROUP, r = i / (T6_PRJ_KWG / 4), kq = (i % (T6_PRJ_KWG / 4)) * 4;          \
        if (i >= (ITEMS)) break;                                                                                  \
        (tile)[(kq + 0) * (PITCH) + r] = (regs)[l].s0;                                                            \
        (tile)[(kq + 1) * (PITCH) + r] = (regs)[l].s1;                                                            \
        (tile)[(kq + 2) * (PITCH) + r] = (regs)[l].s2;                                                            \
        (tile)[(kq + 3) * (PITCH) + r] = (regs)[l].s3;                                                            \
    }

#if T6_PRJ_SA
inline void tl_load_x(float4 *regs, const __global float *x_tile, uint tile_rows, uint k0, uint flat)
{
    #pragma unroll
    for (uint l = 0; l < TL_A_LOADS; l++) {
        const uint i = flat + l * TL_GROUP, m = i / (T6_PRJ_KWG / 4), kq = (i % (T6_PRJ_KWG / 4)) * 4;
        float4 v = (float4)(0.0f);
        if (i < TL_A_ITEMS && m < tile_rows) PRJ_LOAD_X(4, x_tile + m * PRJ_C, k0 + kq, v);
        regs[l] = v;
    }
}

inline void tl_store_x(const float4 *regs, __local float *a_local, uint flat)
{
    TL_STORE_TRANSPOSED(regs, a_local, flat, TL_A_LOADS, TL_A_ITEMS, TL_A_PITCH)
}
#endif

#if T6_PRJ_SB
/* Weight rows are padded to whole tiles and C to whole chunks (lib/ops/layer.c): no bounds checks. */
inline void tl_load_w(float4 *regs, const __global WSTORE *w_tile, uint k0, uint flat)
{
    #pragma unroll
    for (uint l = 0; l < TL_B_LOADS; l++) {
        const uint i = flat + l * TL_GROUP, jj = i / (T6_PRJ_KWG / 4), kq = (i % (T6_PRJ_KWG / 4)) * 4;
        regs[l] = i < TL_B_ITEMS ? PRJ_LOAD_W(4, w_tile, jj * T6_WEIGHT_LD + k0 + kq) : (float4)(0.0f);
    }
}

inline void tl_store_w(const float4 *regs, __local float *b_local, uint flat)
{
    TL_STORE_TRANSPOSED(regs, b_local, flat, TL_B_LOADS, TL_B_ITEMS, TL_B_PITCH)
}
#endif

/* Group (a, b, s) computes rows a·MWG.., columns b·NWG.. over C elements [s·k_split, (s+1)·k_split) (k_split a
 * multiple of KWG; the whole of C unless the host split it). A whole tile goes through RoPE and the scatter; a
 * split one writes its raw sums to partials[s][row][column] (rows × PRJ_COLS per range). Split or not is a
 * branch, not a build option: both run the same program. */
__kernel __attribute__((reqd_work_group_size(T6_PRJ_MDIMC, T6_PRJ_NDIMC, 1)))
void t6_project_tiles(const __global float *restrict hidden, uint hidden_offset, uint rows,
                      const __global WSTORE *restrict weights, const __global float *restrict inv_freq,
                      const __global uint2 *restrict meta, __global float *restrict query, uint query_offset,
                      __global CSTORE *restrict a_k, __global CSTORE *restrict a_v, __global CSTORE *restrict b_k,
                      __global CSTORE *restrict b_v, __global float *restrict partials, uint k_split)
{
    const uint tm = get_local_id(0), tn = get_local_id(1);
    const uint m0 = get_group_id(0) * T6_PRJ_MWG, j0 = get_group_id(1) * T6_PRJ_NWG;
    const uint k_begin = get_group_id(2) * k_split, k_end = min(k_begin + k_split, (uint)TL_K_END);
    const __global float *x_tile = hidden + hidden_offset + m0 * PRJ_C;
    const __global WSTORE *w_tile = weights + (size_t)j0 * T6_WEIGHT_LD;
    const uint tile_rows = rows - m0; /* rows of this tile that exist: m < tile_rows */
#if T6_PRJ_SA || T6_PRJ_SB
    const uint flat = tn * T6_PRJ_MDIMC + tm;
#endif
#if T6_PRJ_SA
    __local TL_AVEC a_vec[T6_PRJ_KWG * TL_A_PITCH / T6_PRJ_VWM];
    __local float *a_local = (__local float *)a_vec;
    float4 x_regs[TL_A_LOADS];
    tl_load_x(x_regs, x_tile, tile_rows, k_begin, flat);
#endif
#if T6_PRJ_SB
    __local TL_BVEC b_vec[T6_PRJ_KWG * TL_B_PITCH / T6_PRJ_VWN];
    __local float *b_local = (__local float *)b_vec;
    float4 w_regs[TL_B_LOADS];
    tl_load_w(w_regs, w_tile, k_begin, flat);
#endif

    /* Accumulators are VWN-vectors along the columns: one vector FMA per (row, chunk) and k. GPUs run them as
     * scalars; CPU drivers (PoCL) need explicit vectors to use their SIMD units. */
    TL_BVEC acc[TL_MWI][TL_NWI / T6_PRJ_VWN];
    #pragma unroll
    for (uint mi = 0; mi < TL_MWI; mi++) {
        #pragma unroll
        for (uint vn = 0; vn < TL_NWI / T6_PRJ_VWN; vn++) acc[mi][vn] = (TL_BVEC)(0.0f);
    }

    for (uint k0 = k_begin; k0 < k_end; k0 += T6_PRJ_KWG) {
#if T6_PRJ_SA || T6_PRJ_SB
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous chunk's reads are done */
#endif
#if T6_PRJ_SA
        tl_store_x(x_regs, a_local, flat);
#endif
#if T6_PRJ_SB
        tl_store_w(w_regs, b_local, flat);
#endif
#if T6_PRJ_SA || T6_PRJ_SB
        barrier(CLK_LOCAL_MEM_FENCE);
#endif
#if T6_PRJ_SA || T6_PRJ_SB
        const bool more = k0 + T6_PRJ_KWG < k_end;
#endif
#if T6_PRJ_PREFETCH && T6_PRJ_SA
        if (more) tl_load_x(x_regs, x_tile, tile_rows, k0 + T6_PRJ_KWG, flat);
#endif
#if T6_PRJ_PREFETCH && T6_PRJ_SB
        if (more) tl_load_w(w_regs, w_tile, k0 + T6_PRJ_KWG, flat);
#endif
        #pragma unroll
        for (uint k = 0; k < T6_PRJ_KWG; k++) {
            float a[TL_MWI];
            TL_BVEC b[TL_NWI / T6_PRJ_VWN];
            #pragma unroll
            for (uint vm = 0; vm < TL_MWI / T6_PRJ_VWM; vm++) {
#if T6_PRJ_SA
                const TL_AVEC v = a_vec[k * (TL_A_PITCH / T6_PRJ_VWM) + vm * T6_PRJ_MDIMC + tm];
                PRJ_UNPACK(T6_PRJ_VWM, a + vm * T6_PRJ_VWM, v);
#else
                #pragma unroll
                for (uint e = 0; e < T6_PRJ_VWM; e++)
                    a[vm * T6_PRJ_VWM + e] = TL_X((vm * T6_PRJ_MDIMC + tm) * T6_PRJ_VWM + e, k0 + k);
#endif
            }
            #pragma unroll
            for (uint vn = 0; vn < TL_NWI / T6_PRJ_VWN; vn++) {
#if T6_PRJ_SB
                b[vn] = b_vec[k * (TL_B_PITCH / T6_PRJ_VWN) + vn * T6_PRJ_NDIMC + tn];
#else
                float column[T6_PRJ_VWN];
                #pragma unroll
                for (uint e = 0; e < T6_PRJ_VWN; e++)
                    column[e] = TL_W((vn * T6_PRJ_NDIMC + tn) * T6_PRJ_VWN + e, k0 + k);
                b[vn] = PRJ_VLOAD(T6_PRJ_VWN, column);
#endif
            }
            #pragma unroll
            for (uint mi = 0; mi < TL_MWI; mi++) {
                #pragma unroll
                for (uint vn = 0; vn < TL_NWI / T6_PRJ_VWN; vn++) acc[mi][vn] = fma((TL_BVEC)(a[mi]), b[vn], acc[mi][vn]);
            }
        }
#if !T6_PRJ_PREFETCH && T6_PRJ_SA
        if (more) tl_load_x(x_regs, x_tile, tile_rows, k0 + T6_PRJ_KWG, flat);
#endif
#if !T6_PRJ_PREFETCH && T6_PRJ_SB
        if (more) tl_load_w(w_regs, w_tile, k0 + T6_PRJ_KWG, flat);
#endif
    }

    #pragma unroll
    for (uint mi = 0; mi < TL_MWI; mi++) {
        const uint m = ((mi / T6_PRJ_VWM) * T6_PRJ_MDIMC + tm) * T6_PRJ_VWM + mi % T6_PRJ_VWM;
        if (m >= tile_rows) continue;
        if (get_num_groups(2) > 1) {
            /* The host keeps ranges × rows × PRJ_COLS below 2^32. */
            __global float *partial_row = partials + (get_group_id(2) * rows + m0 + m) * PRJ_COLS;
            #pragma unroll
            for (uint vn = 0; vn < TL_NWI / T6_PRJ_VWN; vn++) {
                const uint j = j0 + (vn * T6_PRJ_NDIMC + tn) * T6_PRJ_VWN;
                if (j + T6_PRJ_VWN <= PRJ_COLS) {
                    T6_CAT(vstore, T6_PRJ_VWN)(acc[mi][vn], 0, partial_row + j);
                } else if (j < PRJ_COLS) {
                    float sums[T6_PRJ_VWN];
                    PRJ_UNPACK(T6_PRJ_VWN, sums, acc[mi][vn]);
                    for (uint e = 0; j + e < PRJ_COLS; e++) partial_row[j + e] = sums[e];
                }
            }
            continue;
        }
        const prj_outputs out = prj_row_outputs(query, query_offset, m0 + m, meta);
        #pragma unroll
        for (uint vn = 0; vn < TL_NWI / T6_PRJ_VWN; vn++) {
            float sums[T6_PRJ_VWN];
            PRJ_UNPACK(T6_PRJ_VWN, sums, acc[mi][vn]);
            const uint j = j0 + (vn * T6_PRJ_NDIMC + tn) * T6_PRJ_VWN;
            #pragma unroll
            for (uint e = 0; e < T6_PRJ_VWN; e += 2)
                prj_store_pair(j + e, sums[e], sums[e + 1], &out, inv_freq, a_k, a_v, b_k, b_v);
        }
    }
}
