/* attention_decode.cl — factorized TPA decode for GPUs (T6_DEC_KERNEL 3): TPA.md's "Factorized decode" with
 * every stage written as a register-tiled product over local memory, and the merge of the splits done by the
 * last work-groups of each batch row instead of a second launch (docs/ATTENTION.md has the budget behind it).
 *
 * A work-group takes one query (batch row), every head, and one split of the cached positions, which it walks
 * in tiles of TILE positions. Per tile, between barriers:
 *  stage   B_K and B_V of the tile, loaded into registers during the previous tile, are stored as fp32 in local
 *          memory; key rows are padded by 4 floats so that column walks hit distinct banks;
 *  S1      S1[t,s][r] = B_K[t][s]·B_Q[r] (shared by all heads): a work-item takes one key row and S1_RANKS
 *          ranks, reading its key row once per rank group and B_Q rows that differ across lanes by one bank;
 *  scores  score[t][h] = Σ_s A_K[t][h][s] Σ_r S1[t,s][r]·Â_Q[h][r] with Â_Q = c·log2(e)·A_Q (softmax in base
 *          2): a work-item takes SCORE_T positions × SCORE_H heads (h, h+HEAD_SLOTS, …), with its A_K and A_V
 *          read straight from global memory one tile ahead; where a head's tile max passes its reference, the
 *          work-item raises a local max (atomic_max on order-preserving int bits) and flags the move;
 *  weights W[t,s][h] = 2^(score − ref_h)·A_V[t][h][s] against the references moved to the tile max; the running
 *          sums, and in flagged tiles the accumulators, are rescaled by 2^(old − new) (no barrier sits under a
 *          condition: PoCL's work-group compiler needs that);
 *  value   acc[h][:] += Σ_{t,s} W[t,s][h]·B_V[t][s][:]: TEAMS teams of work-items each hold the whole H × D
 *          output in registers for the whole split (ACC_HEADS heads × 4 dims per work-item: per value row,
 *          ACC_HEADS/4 broadcast reads of W and one read of B_V feed 4·ACC_HEADS FMAs) and take every TEAMS-th
 *          value row; the teams' sums are added once, at the end of the split.
 * With T6_MMA, S1 and the value product run on tensor cores instead (see the helpers below): warps own 16 × 8
 * tiles of S1 and of the output, value rows are padded by 8 floats, and there are no teams.
 *
 * Splits (`mode`): with one split the normalized output is written at once. With several, each group writes
 * its partial rows (the layout of lib/ops/ops.h and merge.cl: acc, then max in natural-log units, then sum,
 * rows [batch][split][head]), which the host merges with merge.cl. (Merging in the same launch, by the last
 * groups, measured 1.5–5 µs slower than the pass here on an H200; kernel 4 does it, attention_mma.cl.)
 *
 * Shape macros set by the host (not tuned): T6_HEADS, T6_HEAD_DIM, T6_RANK_Q, T6_RANK_K, T6_RANK_V,
 * T6_CACHE_DTYPE, T6_MMA, and the work division it fitted to the shape and the group: T6_S1_RANKS,
 * T6_SCORE_T, T6_SCORE_H, T6_ACC_HEADS (lib/ops/attention_decode.c mirrors the sizes below).
 */
#ifndef T6_DEC_WG_SIZE
#define T6_DEC_WG_SIZE 256 /* work-items per group */
#endif
#ifndef T6_DEC_TILE
#define T6_DEC_TILE 32 /* cached positions staged in local memory per step */
#endif
#ifndef T6_DEC_VECTOR
#define T6_DEC_VECTOR 8 /* elements per cache load: 1, 2, 4 or 8 */
#endif
#ifndef T6_DEC_CU_GROUPS
#define T6_DEC_CU_GROUPS 2 /* host: kernel 3 splits the positions until about this many groups per compute unit */
#endif
#ifndef T6_DEC_ACC_HEADS
#define T6_DEC_ACC_HEADS 0 /* host: heads per work-item in the value product (4, 8, 12 or 16); 0 picks */
#endif
#ifndef T6_DEC_MMA
#define T6_DEC_MMA 1 /* host: 1 tensor cores where a probe passes (fp16/bf16 cache), 0 never, 2 emulated (tests) */
#endif
#ifndef T6_DEC_REGISTERS
#define T6_DEC_REGISTERS 0 /* host, NVIDIA: registers per work-item; 0 as many as CU_GROUPS groups per unit allow */
#endif

#ifndef T6_S1_RANKS
#define T6_S1_RANKS 2
#endif
#ifndef T6_SCORE_T
#define T6_SCORE_T 2
#endif
#ifndef T6_SCORE_H
#define T6_SCORE_H 1
#endif
#ifndef T6_ACC_HEADS
#define T6_ACC_HEADS 8
#endif
#ifndef T6_MMA
#define T6_MMA 0 /* set by the host: S1 and the value product on tensor cores (1, PTX mma.sync: NVIDIA only) or
                  * with their tiling emulated by FMAs (2, any device: tests of the indexing) */
#endif

#define WG_SIZE T6_DEC_WG_SIZE
#define TILE T6_DEC_TILE
#define VECTOR T6_DEC_VECTOR
#define HEADS T6_HEADS
#define HEAD_DIM T6_HEAD_DIM
#define DIM4 (HEAD_DIM / 4)
#define RANK_Q T6_RANK_Q
#define RANK_K T6_RANK_K
#define RANK_V T6_RANK_V
#define QUERY_ROW (HEADS * RANK_Q + RANK_Q * HEAD_DIM) /* floats per query: A_Q then B_Q */
/* What a group does with its split (the kernel's `mode` argument, the same for every group of a launch). */
#define MODE_OUTPUT 0   /* the only split: write the normalized output */
#define MODE_PARTIALS 1 /* write partial rows for merge.cl */

/* Ranks padded to float4s (to whole 8-column tensor-core tiles with T6_MMA); padded B_Q rows and Â_Q columns
 * are zero, so padded S1 columns are zero too. */
#if T6_MMA
#define RQP ((RANK_Q + 7) / 8 * 8)
#else
#define RQP ((RANK_Q + 3) / 4 * 4)
#endif
#define RQ4 (RQP / 4)
#define KEY_ROWS (TILE * RANK_K)
#define VALUE_ROWS (TILE * RANK_V)

/* S1: units of one key row × S1_RANKS ranks g, g+S1_GROUPS, … (rank groups fastest: lanes share a key row). */
#define S1_RANKS T6_S1_RANKS
#define S1_GROUPS (RQP / S1_RANKS)
#define S1_UNITS (KEY_ROWS * S1_GROUPS)

/* Scores: units of SCORE_T positions × SCORE_H heads (head slots fastest: A_K/A_V reads are contiguous). */
#define SCORE_T T6_SCORE_T
#define SCORE_H T6_SCORE_H
#define HEAD_SLOTS ((HEADS + SCORE_H - 1) / SCORE_H)
#define SCORE_HEADS (HEAD_SLOTS * SCORE_H) /* Â_Q rows, the padded ones zero */
#define POSITION_BLOCKS (TILE / SCORE_T)
#define SCORE_UNITS (POSITION_BLOCKS * HEAD_SLOTS)

/* Values: a team covers ACC_HEADS heads × 4 dims per work-item, dims fastest (B_V reads contiguous, W reads
 * broadcast); VALUE_HEADS pads H to whole register tiles (the padded W columns stay zero). With T6_MMA each
 * warp owns TILES_PER_WARP tensor-core tiles of 16 heads × 8 dims of the output instead, and there are no teams. */
#if T6_MMA
#define WARPS (WG_SIZE / 32)
#define VALUE_HEADS ((HEADS + 15) / 16 * 16)
#define OUT_NTILES (HEAD_DIM / 8)
#define OUT_TILES (VALUE_HEADS / 16 * OUT_NTILES)
#define TILES_PER_WARP ((OUT_TILES + WARPS - 1) / WARPS)
#define S1_NTILES (RQP / 8)
#define S1_TILES (KEY_ROWS / 16 * S1_NTILES)
#define TEAMS 1
#define TEAM_SIZE 1
#define ACC_HEADS 4
#define VALUE_STRIDE4 (DIM4 + 2)
#else
#define ACC_HEADS T6_ACC_HEADS
#define VALUE_HEADS ((HEADS + ACC_HEADS - 1) / ACC_HEADS * ACC_HEADS)
#define TEAM_SIZE (VALUE_HEADS / ACC_HEADS * DIM4)
#define TEAMS (WG_SIZE / TEAM_SIZE)
#define VALUE_STRIDE4 DIM4
#endif
#define ACC4 (ACC_HEADS / 4)

/* Local memory, in float4s. Row strides: see the top. */
#define BQ_STRIDE4 (DIM4 + 1)
#define AQ_STRIDE4 (RQ4 + 1)
#define KEY_STRIDE4 (DIM4 + 1)
#define S1_STRIDE4 (RQ4 + 1)
#define W_STRIDE4 (VALUE_HEADS / 4 + 2)
#define BQ_SIZE4 (RQP * BQ_STRIDE4)
#define AQ_SIZE4 (SCORE_HEADS * AQ_STRIDE4)
/* The tile's arrays; after the walk the same memory holds the sums, the teams' partial sums and the merge's
 * weights. */
#define KEYS_AT4 0
#define VALUES_AT4 (KEYS_AT4 + KEY_ROWS * KEY_STRIDE4)
#define S1_AT4 (VALUES_AT4 + VALUE_ROWS * VALUE_STRIDE4)
#define W_AT4 (S1_AT4 + KEY_ROWS * S1_STRIDE4)
#define TILE_SIZE4 (W_AT4 + VALUE_ROWS * W_STRIDE4)
#if T6_MMA
#define REDUCE_SIZE4 0
#else
#define REDUCE_SIZE4 (TEAMS / 2 * TEAM_SIZE * ACC_HEADS)
#endif
#define SUMS_SIZE4 ((POSITION_BLOCKS * HEADS + 3) / 4)
#define UNION_SIZE4 (TILE_SIZE4 > REDUCE_SIZE4 ? (TILE_SIZE4 > SUMS_SIZE4 ? TILE_SIZE4 : SUMS_SIZE4) \
                                               : (REDUCE_SIZE4 > SUMS_SIZE4 ? REDUCE_SIZE4 : SUMS_SIZE4))


/* Loops over register arrays must be unrolled, or the arrays go to (slow, per-work-item) memory. */
#define UNROLL _Pragma("unroll")

inline float dot4_acc(float acc, float4 a, float4 b)
{
    return mad(a.w, b.w, mad(a.z, b.z, mad(a.y, b.y, mad(a.x, b.x, acc))));
}

#if T6_MMA == 2
/* The tensor-core path's tiling with each lane's share of D summed by FMAs from the same local arrays: lets any
 * device (PoCL in the tests) check the indexing around the mma.sync calls. The fragments themselves are checked
 * by t6_mma_probe on the GPU. */
inline void mma_split_a(float *d, const __local float *a, uint a_row, uint a_col, const __local float *b, uint b_row,
                        uint b_col)
{
    const uint lane = get_local_id(0) % 32, g = lane / 4, c = lane % 4;
    for (uint k = 0; k < 8; k++) {
        const float top = a[g * a_row + k * a_col], bottom = a[(g + 8) * a_row + k * a_col];
        const float left = b[k * b_row + 2 * c * b_col], right = b[k * b_row + (2 * c + 1) * b_col];
        d[0] = mad(top, left, d[0]);
        d[1] = mad(top, right, d[1]);
        d[2] = mad(bottom, left, d[2]);
        d[3] = mad(bottom, right, d[3]);
    }
}

inline void mma_split_b(float *d, const __local float *a, uint a_row, uint a_col, const __local float *b_hi,
                        const __local float *b_lo, uint b_row, uint b_col)
{
    const uint lane = get_local_id(0) % 32, g = lane / 4, c = lane % 4;
    for (uint k = 0; k < 8; k++) {
        const float top = a[g * a_row + k * a_col], bottom = a[(g + 8) * a_row + k * a_col];
        const float left = b_hi[k * b_row + 2 * c * b_col] + b_lo[k * b_row + 2 * c * b_col];
        const float right = b_hi[k * b_row + (2 * c + 1) * b_col] + b_lo[k * b_row + (2 * c + 1) * b_col];
        d[0] = mad(top, left, d[0]);
        d[1] = mad(top, right, d[1]);
        d[2] = mad(bottom, left, d[2]);
        d[3] = mad(bottom, right, d[3]);
    }
}

inline void split_tf32(float x, uint *hi, uint *lo)
{
    *hi = as_uint(x);
    *lo = 0u;
}
#elif T6_MMA
/* Tensor cores through PTX (NVIDIA only; the host builds this only after t6_mma_probe below gave the right
 * product): mma.sync m16n8k8 on tf32, fp32 accumulation. Fragments as in the PTX ISA ("Matrix fragments for
 * mma.m16n8k8", .tf32), with g = lane / 4 and c = lane % 4: A rows g and g+8, columns c and c+4; B rows c and c+4,
 * column g; D rows g and g+8, columns 2c and 2c+1. fp16 and bf16 cache values are exact in tf32; an fp32 operand
 * is split into a high and a low tf32 part (x − hi is exact in fp32), two products that keep ~2^-21 of x. */
inline uint tf32_bits(float x)
{
    uint bits;
    __asm__ __volatile__("cvt.rna.tf32.f32 %0, %1;" : "=r"(bits) : "f"(x));
    return bits & 0xFFFFE000u; /* the 13 bits tf32 lacks: zero, so that as_float() is what mma.sync reads */
}

inline void split_tf32(float x, uint *hi, uint *lo)
{
    *hi = tf32_bits(x);
    *lo = tf32_bits(x - as_float(*hi));
}

/* d += A·B on one 16 × 8 × 8 tile. */
inline void mma_tf32(float *d, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
{
    __asm__ __volatile__("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                         "{%8,%9}, {%0,%1,%2,%3};"
                         : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                         : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

/* d += A·B on the 16 × 8 × 8 tile with A[r][k] = a[r·a_row + k·a_col] split (an fp32 operand) and
 * B[k][n] = b[k·b_row + n·b_col] exact. */
inline void mma_split_a(float *d, const __local float *a, uint a_row, uint a_col, const __local float *b, uint b_row,
                        uint b_col)
{
    const uint lane = get_local_id(0) % 32, g = lane / 4, c = lane % 4;
    uint hi[4], lo[4];
    split_tf32(a[g * a_row + c * a_col], &hi[0], &lo[0]);
    split_tf32(a[(g + 8) * a_row + c * a_col], &hi[1], &lo[1]);
    split_tf32(a[g * a_row + (c + 4) * a_col], &hi[2], &lo[2]);
    split_tf32(a[(g + 8) * a_row + (c + 4) * a_col], &hi[3], &lo[3]);
    const uint b0 = as_uint(b[c * b_row + g * b_col]), b1 = as_uint(b[(c + 4) * b_row + g * b_col]);
    mma_tf32(d, hi[0], hi[1], hi[2], hi[3], b0, b1);
    mma_tf32(d, lo[0], lo[1], lo[2], lo[3], b0, b1);
}

/* d += A·B with A exact and B split into its high and low tf32 parts b_hi, b_lo (indexing as above). */
inline void mma_split_b(float *d, const __local float *a, uint a_row, uint a_col, const __local float *b_hi,
                        const __local float *b_lo, uint b_row, uint b_col)
{
    const uint lane = get_local_id(0) % 32, g = lane / 4, c = lane % 4;
    const uint a0 = as_uint(a[g * a_row + c * a_col]), a1 = as_uint(a[(g + 8) * a_row + c * a_col]);
    const uint a2 = as_uint(a[g * a_row + (c + 4) * a_col]), a3 = as_uint(a[(g + 8) * a_row + (c + 4) * a_col]);
    mma_tf32(d, a0, a1, a2, a3, as_uint(b_hi[c * b_row + g * b_col]), as_uint(b_hi[(c + 4) * b_row + g * b_col]));
    mma_tf32(d, a0, a1, a2, a3, as_uint(b_lo[c * b_row + g * b_col]), as_uint(b_lo[(c + 4) * b_row + g * b_col]));
}
#endif

/* Floats as ints that compare in the same order, for atomic_max on local memory (an involution). */
inline int ordered_bits(float x)
{
    const int bits = as_int(x);
    return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
}

inline float ordered_float(int bits) { return as_float(bits >= 0 ? bits : bits ^ 0x7FFFFFFF); }

#define LOAD_RAW(factor, index) (((const __global RAW_T *)(factor))[index])
#define LOAD_FACTOR(factor, index) T6_LOAD(T6_CACHE_DTYPE, factor, index)

/* Loads into registers the `valid_elements` of one factor's tile that start at element `first_element`; loads
 * past them read nothing and stage as zeros. */
#define LOAD_TILE(raw, loads, tile_elements, factor, first_element, valid_elements)                              \
    UNROLL                                                                                                       \
    for (uint i_ = 0; i_ < (loads); i_++) {                                                                      \
        const uint v_ = lid + i_ * WG_SIZE;                                                                      \
        raw[i_] = (RAW_T)(0);                                                                                    \
        if (v_ < (tile_elements) / VECTOR && v_ * VECTOR < (valid_elements))                                     \
            raw[i_] = LOAD_RAW(factor, (first_element) / VECTOR + v_);                                           \
    }

/* Stores a tile loaded by LOAD_TILE into local rows of `row_length` floats placed `stride` floats apart. */
#define STAGE_TILE(raw, loads, tile_elements, dst, row_length, stride)                                           \
    UNROLL                                                                                                       \
    for (uint i_ = 0; i_ < (loads); i_++) {                                                                      \
        const uint e_ = (lid + i_ * WG_SIZE) * VECTOR;                                                           \
        if (e_ < (tile_elements)) stage_raw((dst) + e_ / (row_length) * (stride) + e_ % (row_length), raw[i_]);   \
    }

/* A_K and A_V of a score unit's positions and heads for the tile at `tile_first` (zeros past `last`). */
#define LOAD_HEAD_FACTORS(ak, av, tile_first)                                                                    \
    UNROLL                                                                                                       \
    for (uint i_ = 0; i_ < SCORE_T; i_++) {                                                                      \
        UNROLL                                                                                                   \
        for (uint k_ = 0; k_ < SCORE_H; k_++) {                                                                  \
            const uint p_ = (tile_first) + block * SCORE_T + i_, h_ = head_slot + k_ * HEAD_SLOTS;               \
            const bool ok_ = score_unit && p_ < last && h_ < HEADS;                                              \
            const uint at_ = (slot_position0 + p_) * HEADS + h_;                                                 \
            UNROLL                                                                                                  \
            for (uint s_ = 0; s_ < RANK_K; s_++) ak[i_][k_][s_] = ok_ ? LOAD_FACTOR(a_k, at_ * RANK_K + s_) : 0.0f; \
            UNROLL                                                                                                  \
            for (uint s_ = 0; s_ < RANK_V; s_++) av[i_][k_][s_] = ok_ ? LOAD_FACTOR(a_v, at_ * RANK_V + s_) : 0.0f; \
        }                                                                                                        \
    }

__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void t6_attention_decode(const __global float *query, uint query_offset, const __global CACHE_T *a_k,
                         const __global CACHE_T *a_v, const __global CACHE_T *b_k, const __global CACHE_T *b_v,
                         uint capacity, const __global int4 *tiles, uint split_length, float score_scale,
                         float value_scale, __global float *out, uint out_offset, uint mode,
                         __global float *partials)
{
    __local float4 bq[BQ_SIZE4];
#if T6_MMA
    __local float4 bq_low[BQ_SIZE4]; /* bq holds B_Q's high tf32 parts, this the low ones */
#endif
    __local float4 aq[AQ_SIZE4];
    __local float4 arena[UNION_SIZE4];
    __local float reference[HEADS], row_sum[HEADS];
    __local int tile_max[HEADS];
    __local int moved; /* some reference moved in this tile */

    const uint lid = get_local_id(0);
    const uint split = get_group_id(0), splits = get_num_groups(0), batch = get_num_groups(2);
    const int4 tile = tiles[get_group_id(2)];
    const uint slot = (uint)tile.x, row = (uint)tile.y, end = (uint)tile.w + 1; /* decode: position = length − 1 */
    const uint first = split * split_length, last = min(first + split_length, end);
    const uint slot_position0 = slot * capacity;
    const uint partial_rows = batch * splits * HEADS;
    const __global float *q = query + query_offset + (size_t)row * QUERY_ROW;

    if (first >= end) {
        if (mode == MODE_PARTIALS) {
            /* merge.cl reads every split: this one is empty. */
            const uint partial0 = (row * splits + split) * HEADS;
            for (uint i = lid; i < HEADS * HEAD_DIM; i += WG_SIZE) partials[(size_t)partial0 * HEAD_DIM + i] = 0.0f;
            for (uint h = lid; h < HEADS; h += WG_SIZE) {
                partials[(size_t)partial_rows * HEAD_DIM + partial0 + h] = -INFINITY;
                partials[(size_t)partial_rows * (HEAD_DIM + 1) + partial0 + h] = 0.0f;
            }
        }
        return; /* before any barrier, and the same for the whole group */
    }

    __local float4 *keys = arena + KEYS_AT4;
    __local float4 *values = arena + VALUES_AT4;
    __local float4 *s1 = arena + S1_AT4;
    __local float4 *weights = arena + W_AT4;
    __local float *w_floats = (__local float *)weights;

    /* ---- the query in local memory: B_Q rows, and Â_Q = c·log2(e)·A_Q ---- */
    __local float *bq_floats = (__local float *)bq;
    for (uint i = lid; i < RQP * HEAD_DIM; i += WG_SIZE) {
        const uint r = i / HEAD_DIM, d = i % HEAD_DIM;
        const float x = r < RANK_Q ? q[HEADS * RANK_Q + r * HEAD_DIM + d] : 0.0f;
#if T6_MMA
        uint hi, lo;
        split_tf32(x, &hi, &lo);
        bq_floats[r * BQ_STRIDE4 * 4 + d] = as_float(hi);
        ((__local float *)bq_low)[r * BQ_STRIDE4 * 4 + d] = as_float(lo);
#else
        bq_floats[r * BQ_STRIDE4 * 4 + d] = x;
#endif
    }
    __local float *aq_floats = (__local float *)aq;
    for (uint i = lid; i < SCORE_HEADS * RQP; i += WG_SIZE) {
        const uint h = i / RQP, r = i % RQP;
        aq_floats[h * AQ_STRIDE4 * 4 + r] = h < HEADS && r < RANK_Q ? score_scale * q[h * RANK_Q + r] : 0.0f;
    }
    for (uint i = lid; i < VALUE_ROWS * W_STRIDE4; i += WG_SIZE) weights[i] = (float4)(0.0f); /* padded heads */
    for (uint h = lid; h < HEADS; h += WG_SIZE) {
        reference[h] = -INFINITY;
        tile_max[h] = ordered_bits(-INFINITY);
    }
    if (lid == 0) moved = 0;

    /* ---- this work-item's units ---- */
    const bool score_unit = lid < SCORE_UNITS;
    const uint block = lid / HEAD_SLOTS, head_slot = lid % HEAD_SLOTS;
#if T6_MMA
    const uint warp = lid / 32, lane = lid % 32;
    float out_tile[TILES_PER_WARP][4]; /* D fragments of this warp's output tiles */
    UNROLL
    for (uint j = 0; j < TILES_PER_WARP; j++) out_tile[j][0] = out_tile[j][1] = out_tile[j][2] = out_tile[j][3] = 0.0f;
#else
    const uint team = lid / TEAM_SIZE, member = lid % TEAM_SIZE;
    const uint head_block = member / DIM4, d4 = member % DIM4;
    const bool value_unit = team < TEAMS;
#endif
    float running_sum[SCORE_H];
    UNROLL
    for (uint k = 0; k < SCORE_H; k++) running_sum[k] = 0.0f;
    float4 acc[ACC_HEADS];
    UNROLL
    for (uint i = 0; i < ACC_HEADS; i++) acc[i] = (float4)(0.0f);

    RAW_T key_raw[LOADS_K], value_raw[LOADS_V];
    /* A_K and A_V of this work-item's score unit, for the tile being computed; reloaded for the next tile as soon
     * as the softmax weights are out, so that the loads fly during the value product and the next S1. */
    float ak[SCORE_T][SCORE_H][RANK_K], av[SCORE_T][SCORE_H][RANK_V];
    {
        const uint n = min((uint)TILE, last - first);
        LOAD_TILE(key_raw, LOADS_K, TILE_K, b_k, (slot_position0 + first) * (RANK_K * HEAD_DIM), n * RANK_K * HEAD_DIM)
        LOAD_TILE(value_raw, LOADS_V, TILE_V, b_v, (slot_position0 + first) * (RANK_V * HEAD_DIM),
                  n * RANK_V * HEAD_DIM)
        LOAD_HEAD_FACTORS(ak, av, first)
    }
    /* As in attention.cl: the loads above depend on the work-item and must not join at the entry of the tile
     * loop (docs/ATTENTION.md, "PoCL and code that depends on the work-item before a loop with barriers"). */
    barrier(CLK_LOCAL_MEM_FENCE);

    for (uint base = first; base < last; base += TILE) {
        const uint n = min((uint)TILE, last - base);
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile's readers are done */
        STAGE_TILE(key_raw, LOADS_K, TILE_K, (__local float *)keys, HEAD_DIM, KEY_STRIDE4 * 4)
        STAGE_TILE(value_raw, LOADS_V, TILE_V, (__local float *)values, HEAD_DIM, VALUE_STRIDE4 * 4)
        const uint next = base + TILE;
        if (next < last) {
            const uint n_next = min((uint)TILE, last - next);
            LOAD_TILE(key_raw, LOADS_K, TILE_K, b_k, (slot_position0 + next) * (RANK_K * HEAD_DIM),
                      n_next * RANK_K * HEAD_DIM)
            LOAD_TILE(value_raw, LOADS_V, TILE_V, b_v, (slot_position0 + next) * (RANK_V * HEAD_DIM),
                      n_next * RANK_V * HEAD_DIM)
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        /* ---- S1 = B_K·B_Q for the tile ---- */
#if T6_MMA
        for (uint tile_of = warp; tile_of < S1_TILES; tile_of += WARPS) {
            const uint m0 = tile_of / S1_NTILES * 16, n0 = tile_of % S1_NTILES * 8;
            const uint g = lane / 4, c = lane % 4;
            float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            /* A = the key rows m0.. (exact), B[k][n] = B_Q[n0 + n][k] (split). */
            for (uint k0 = 0; k0 < HEAD_DIM; k0 += 8)
                mma_split_b(d, (const __local float *)keys + m0 * KEY_STRIDE4 * 4 + k0, KEY_STRIDE4 * 4, 1,
                            bq_floats + n0 * BQ_STRIDE4 * 4 + k0,
                            (const __local float *)bq_low + n0 * BQ_STRIDE4 * 4 + k0, 1, BQ_STRIDE4 * 4);
            __local float *s1_floats = (__local float *)s1;
            s1_floats[(m0 + g) * S1_STRIDE4 * 4 + n0 + 2 * c] = d[0];
            s1_floats[(m0 + g) * S1_STRIDE4 * 4 + n0 + 2 * c + 1] = d[1];
            s1_floats[(m0 + g + 8) * S1_STRIDE4 * 4 + n0 + 2 * c] = d[2];
            s1_floats[(m0 + g + 8) * S1_STRIDE4 * 4 + n0 + 2 * c + 1] = d[3];
        }
#else
        for (uint u = lid; u < S1_UNITS; u += WG_SIZE) {
            const uint key_row = u / S1_GROUPS, group = u % S1_GROUPS;
            float dot[S1_RANKS];
            UNROLL
            for (uint i = 0; i < S1_RANKS; i++) dot[i] = 0.0f;
            for (uint e = 0; e < DIM4; e++) {
                const float4 key = keys[key_row * KEY_STRIDE4 + e];
                UNROLL
                for (uint i = 0; i < S1_RANKS; i++)
                    dot[i] = dot4_acc(dot[i], key, bq[(group + i * S1_GROUPS) * BQ_STRIDE4 + e]);
            }
            __local float *s1_row = (__local float *)(s1 + key_row * S1_STRIDE4);
            UNROLL
            for (uint i = 0; i < S1_RANKS; i++) s1_row[group + i * S1_GROUPS] = dot[i];
        }
#endif
        barrier(CLK_LOCAL_MEM_FENCE);

        /* ---- scores, and each head's tile max where it passes the head's reference ---- */
        float score[SCORE_T][SCORE_H];
        if (score_unit) {
            UNROLL
            for (uint i = 0; i < SCORE_T; i++) {
                UNROLL
                for (uint k = 0; k < SCORE_H; k++) score[i][k] = 0.0f;
            }
            UNROLL
            for (uint s = 0; s < RANK_K; s++) {
                float mixed[SCORE_T][SCORE_H];
                UNROLL
                for (uint i = 0; i < SCORE_T; i++) {
                    UNROLL
                    for (uint k = 0; k < SCORE_H; k++) mixed[i][k] = 0.0f;
                }
                for (uint r4 = 0; r4 < RQ4; r4++) {
                    float4 basis[SCORE_T], mix[SCORE_H];
                    UNROLL
                    for (uint i = 0; i < SCORE_T; i++)
                        basis[i] = s1[((block * SCORE_T + i) * RANK_K + s) * S1_STRIDE4 + r4];
                    UNROLL
                    for (uint k = 0; k < SCORE_H; k++) mix[k] = aq[(head_slot + k * HEAD_SLOTS) * AQ_STRIDE4 + r4];
                    UNROLL
                    for (uint i = 0; i < SCORE_T; i++) {
                        UNROLL
                        for (uint k = 0; k < SCORE_H; k++) mixed[i][k] = dot4_acc(mixed[i][k], basis[i], mix[k]);
                    }
                }
                UNROLL
                for (uint i = 0; i < SCORE_T; i++) {
                    UNROLL
                    for (uint k = 0; k < SCORE_H; k++) score[i][k] = mad(ak[i][k][s], mixed[i][k], score[i][k]);
                }
            }
            UNROLL
            for (uint k = 0; k < SCORE_H; k++) {
                const uint h = head_slot + k * HEAD_SLOTS;
                float top = -INFINITY;
                UNROLL
                for (uint i = 0; i < SCORE_T; i++)
                    if (block * SCORE_T + i < n) top = fmax(top, score[i][k]);
                if (h < HEADS && top > reference[h]) {
                    atomic_max(&tile_max[h], ordered_bits(top));
                    moved = 1;
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        /* ---- softmax weights against the new references; what was summed against the old ones is rescaled ---- */
        if (score_unit) {
            UNROLL
            for (uint k = 0; k < SCORE_H; k++) {
                const uint h = head_slot + k * HEAD_SLOTS;
                if (h >= HEADS) continue;
                const float old = reference[h], now = fmax(old, ordered_float(tile_max[h]));
                if (now != old) running_sum[k] *= exp2(old - now); /* 0 while nothing was summed (old = −∞) */
                UNROLL
                for (uint i = 0; i < SCORE_T; i++) {
                    const uint t = block * SCORE_T + i;
                    /* Positions past the split weigh 0 (their scores are not scores). */
                    const float p = t < n ? exp2(score[i][k] - now) : 0.0f;
                    running_sum[k] += p;
                    UNROLL
                    for (uint s = 0; s < RANK_V; s++) w_floats[(t * RANK_V + s) * W_STRIDE4 * 4 + h] = p * av[i][k][s];
                }
            }
        }
#if T6_MMA
        if (moved) {
            UNROLL
            for (uint j = 0; j < TILES_PER_WARP; j++) {
                const uint tile_of = warp * TILES_PER_WARP + j;
                UNROLL
                for (uint half_of = 0; half_of < 2; half_of++) {
                    /* D rows g and g+8 of the tile: heads m0 + g (elements 0, 1) and m0 + g + 8 (2, 3). */
                    const uint h = tile_of / OUT_NTILES * 16 + lane / 4 + 8 * half_of;
                    if (tile_of >= OUT_TILES || h >= HEADS) continue;
                    const float old = reference[h], now = fmax(old, ordered_float(tile_max[h]));
                    if (now == old) continue;
                    const float alpha = exp2(old - now);
                    out_tile[j][2 * half_of] *= alpha;
                    out_tile[j][2 * half_of + 1] *= alpha;
                }
            }
        }
#else
        if (value_unit && moved) {
            UNROLL
            for (uint i = 0; i < ACC_HEADS; i++) {
                const uint h = head_block * ACC_HEADS + i;
                if (h >= HEADS) continue;
                const float old = reference[h], now = fmax(old, ordered_float(tile_max[h]));
                if (now != old) acc[i] *= exp2(old - now);
            }
        }
#endif
        if (next < last) {
            LOAD_HEAD_FACTORS(ak, av, next)
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        /* Everyone has read the references: move them for the next tile (whose readers are barriers away). */
        for (uint h = lid; h < HEADS; h += WG_SIZE) {
            reference[h] = fmax(reference[h], ordered_float(tile_max[h]));
            tile_max[h] = ordered_bits(-INFINITY);
        }
        if (lid == 0) moved = 0;

        /* ---- acc += W·B_V over this team's value rows ---- */
#if T6_MMA
        /* D[h][e] += Σ_rows W[row][h]·B_V[row][e]: A = Wᵀ (split), B = the value rows (exact); k = 8 value rows. */
        for (uint k0 = 0; k0 < n * RANK_V; k0 += 8) {
            UNROLL
            for (uint j = 0; j < TILES_PER_WARP; j++) {
                const uint tile_of = warp * TILES_PER_WARP + j;
                if (tile_of >= OUT_TILES) continue;
                const uint m0 = tile_of / OUT_NTILES * 16, n0 = tile_of % OUT_NTILES * 8;
                mma_split_a(out_tile[j], w_floats + k0 * W_STRIDE4 * 4 + m0, 1, W_STRIDE4 * 4,
                            (const __local float *)values + k0 * VALUE_STRIDE4 * 4 + n0, VALUE_STRIDE4 * 4, 1);
            }
        }
#else
        if (value_unit)
            for (uint value_row = team; value_row < n * RANK_V; value_row += TEAMS) {
                const float4 v = values[value_row * VALUE_STRIDE4 + d4];
                const __local float4 *w = weights + value_row * W_STRIDE4 + head_block * ACC4;
                UNROLL
                for (uint i = 0; i < ACC4; i++) {
                    const float4 w4 = w[i];
                    acc[4 * i + 0] = mad((float4)(w4.x), v, acc[4 * i + 0]);
                    acc[4 * i + 1] = mad((float4)(w4.y), v, acc[4 * i + 1]);
                    acc[4 * i + 2] = mad((float4)(w4.z), v, acc[4 * i + 2]);
                    acc[4 * i + 3] = mad((float4)(w4.w), v, acc[4 * i + 3]);
                }
            }
#endif
    }

    /* ---- the split's sums per head, and the teams' accumulators added into team 0's ---- */
    barrier(CLK_LOCAL_MEM_FENCE);
    __local float *sums = (__local float *)arena;
    if (score_unit) {
        UNROLL
        for (uint k = 0; k < SCORE_H; k++) {
            const uint h = head_slot + k * HEAD_SLOTS;
            if (h < HEADS) sums[block * HEADS + h] = running_sum[k];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = lid; h < HEADS; h += WG_SIZE) {
        float total = 0.0f;
        for (uint b = 0; b < POSITION_BLOCKS; b++) total += sums[b * HEADS + h];
        row_sum[h] = total;
    }
    barrier(CLK_LOCAL_MEM_FENCE); /* the sums are read before the teams reuse their memory */
#if !T6_MMA
    for (uint active = TEAMS; active > 1; active = (active + 1) / 2) {
        const uint kept = (active + 1) / 2; /* teams that stay; the others hand over */
        barrier(CLK_LOCAL_MEM_FENCE);
        if (value_unit && team >= kept && team < active) {
            UNROLL
            for (uint i = 0; i < ACC_HEADS; i++) arena[((team - kept) * ACC_HEADS + i) * TEAM_SIZE + member] = acc[i];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (value_unit && team < active - kept) {
            UNROLL
            for (uint i = 0; i < ACC_HEADS; i++) acc[i] += arena[(team * ACC_HEADS + i) * TEAM_SIZE + member];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#endif

    /* ---- write: the output row (normalized), or this split's partial rows ---- */
    const uint partial0 = (row * splits + split) * HEADS;
    __global float *dest = mode == MODE_OUTPUT ? out + out_offset + (size_t)row * HEADS * HEAD_DIM
                                               : partials + (size_t)partial0 * HEAD_DIM;
#if T6_MMA
    UNROLL
    for (uint j = 0; j < TILES_PER_WARP; j++) {
        const uint tile_of = warp * TILES_PER_WARP + j;
        UNROLL
        for (uint half_of = 0; half_of < 2; half_of++) {
            const uint h = tile_of / OUT_NTILES * 16 + lane / 4 + 8 * half_of;
            if (tile_of >= OUT_TILES || h >= HEADS) continue;
            const float scale = mode == MODE_OUTPUT ? value_scale / row_sum[h] : value_scale;
            const uint e = tile_of % OUT_NTILES * 8 + 2 * (lane % 4);
            vstore2((float2)(out_tile[j][2 * half_of], out_tile[j][2 * half_of + 1]) * scale, 0,
                    dest + h * HEAD_DIM + e);
        }
    }
#else
    if (team == 0) {
        UNROLL
        for (uint i = 0; i < ACC_HEADS; i++) {
            const uint h = head_block * ACC_HEADS + i;
            if (h < HEADS)
                vstore4(acc[i] * (mode == MODE_OUTPUT ? value_scale / row_sum[h] : value_scale), 0,
                        dest + h * HEAD_DIM + d4 * 4);
        }
    }
#endif
    if (mode != MODE_OUTPUT)
        for (uint h = lid; h < HEADS; h += WG_SIZE) {
            partials[(size_t)partial_rows * HEAD_DIM + partial0 + h] = reference[h] * M_LN2_F;
            partials[(size_t)partial_rows * (HEAD_DIM + 1) + partial0 + h] = row_sum[h];
        }
    /* PoCL 3.1 computes wrong partial rows without this barrier (the group-uniform return above seems to upset its
     * work-group loops; tests/check_attention.c's split cases catch it): harmless elsewhere. */
    barrier(CLK_LOCAL_MEM_FENCE);
}

#if T6_MMA == 1
/* The host's probe of the tensor-core path (lib/ops/attention_decode.c): one warp multiplies known matrices through
 * mma_split_a (as the value product) and mma_split_b (as S1) and writes both 16 × 8 products row-major. Inputs
 * are built with integer arithmetic and powers of two, so the host builds the same values exactly. */
__kernel __attribute__((reqd_work_group_size(32, 1, 1))) void t6_mma_probe(__global float *out)
{
    __local float fraction[16 * 8], whole[16 * 8], high[8 * 8], low[8 * 8];
    const uint lane = get_local_id(0), g = lane / 4, c = lane % 4;
    for (uint i = lane; i < 16 * 8; i += 32) {
        fraction[i] = (float)((1000003u * (i + 1)) % 1048573u) * 0x1p-20f; /* 20 significant bits */
        whole[i] = (float)((i * 7) % 13) - 6.0f;
    }
    for (uint i = lane; i < 8 * 8; i += 32) {
        uint hi, lo;
        split_tf32(fraction[i], &hi, &lo);
        high[i] = as_float(hi);
        low[i] = as_float(lo);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float d[2][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};
    mma_split_a(d[0], fraction, 8, 1, whole, 8, 1); /* fraction (16 × 8, split) · whole (8 × 8, exact) */
    mma_split_b(d[1], whole, 8, 1, high, low, 8, 1); /* whole (16 × 8, exact) · fraction (8 × 8, split) */
    for (uint p = 0; p < 2; p++) {
        out[p * 128 + g * 8 + 2 * c] = d[p][0];
        out[p * 128 + g * 8 + 2 * c + 1] = d[p][1];
        out[p * 128 + (g + 8) * 8 + 2 * c] = d[p][2];
        out[p * 128 + (g + 8) * 8 + 2 * c + 1] = d[p][3];
    }
}
#endif
