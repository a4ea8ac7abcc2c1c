/* attention_decode.cl — factorized TPA decode for GPUs (T6_DEC_KERNEL 3): TPA.md's "Factorized decode" with
 * every stage written as a register-tiled product over local memory, and the merge of the splits done by the
 * last work-group of each batch row instead of a second launch.
 *
 * A work-group takes one query (batch row), every head, and one split of the cached positions, which it walks
 * in tiles of TILE positions. Per tile, between barriers:
 *  stage   B_K and B_V of the tile, loaded into registers during the previous tile, are stored as fp32 in local
 *          memory; rows are padded (keys by 4 floats, values by 8) so that column walks hit distinct banks;
 *  S1      S1[t,s][r] = B_K[t][s]·B_Q[r] (shared by all heads): a work-item takes one key row and S1_RANKS
 *          ranks, reading its key row once per rank group and B_Q rows that differ across lanes by one bank;
 *  scores  score[t][h] = Σ_s A_K[t][h][s] Σ_r S1[t,s][r]·Â_Q[h][r] with Â_Q = c·log2(e)·A_Q (softmax in base
 *          2): a work-item takes SCORE_T positions × SCORE_H heads (h, h+HEAD_SLOTS, …); its A_K and A_V are
 *          read straight from global memory one tile ahead. It then writes the softmax weights
 *          W[t,s][h] = 2^(score − ref_h)·A_V[t][h][s];
 *  value   acc[h][:] += Σ_{t,s} W[t,s][h]·B_V[t][s][:]: TEAMS teams of work-items each hold the whole H × D
 *          output in registers for the whole split (ACC_HEADS heads × 4 dims per work-item: per value row,
 *          ACC_HEADS/4 broadcast reads of W and one read of B_V feed 4·ACC_HEADS FMAs) and take every TEAMS-th
 *          value row; the teams' sums are added once, at the end of the split.
 * The softmax reference of a head moves lazily: ref_h only changes when a score passes it by more than
 * RESCALE_MARGIN (in base 2), which the work-item that sees it flags with a local atomic max. Only then are the
 * accumulators and sums rescaled; otherwise weights stay ≤ 2^RESCALE_MARGIN and no accumulator is touched.
 *
 * Splits (`mode`): with one split the normalized output is written at once. With several, each group writes
 * its partial rows (the layout of t6_internal.h and merge.cl: acc, then max in natural-log units, then sum,
 * rows [batch][split][head]); then either the host runs merge.cl (T6_DEC_MERGE 0), or the last group of each
 * block of `fanin` splits (found with atomic_inc on a counter, after every work-item fenced its writes) merges
 * that block, and the last block merger of a row merges the blocks into the output, through a second partial
 * layout at `level2` floats into the partials buffer. Mergers read partials through volatile pointers (no stale
 * L1 lines) and reset their counters to 0, so the counters are zero again for the next launch.
 *
 * Shape macros set by the host (not tuned): T6_HEADS, T6_HEAD_DIM, T6_RANK_Q, T6_RANK_K, T6_RANK_V,
 * T6_CACHE_DTYPE, and the work division it fitted to the shape and the group: T6_S1_RANKS,
 * T6_SCORE_T, T6_SCORE_H, T6_ACC_HEADS (lib/attention_decode.c mirrors the sizes below).
 * Diagnostics (never set by the library), as in attention.cl: T6_ATT_PROFILE 1 replaces the cache loads by
 * constants, 2 skips the arithmetic after the loads, 3 skips the walk over the positions.
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
#ifndef T6_DEC_MERGE
#define T6_DEC_MERGE 2 /* host: 0 merge.cl after the split pass, 1 the last group merges, 2 by device */
#endif
#ifndef T6_DEC_FANIN
#define T6_DEC_FANIN 0 /* host: splits merged per block when the last group merges; 0: about √splits */
#endif
#ifndef T6_DEC_CU_GROUPS
#define T6_DEC_CU_GROUPS 2 /* host: kernel 3 splits the positions until about this many groups per compute unit */
#endif
#ifndef T6_DEC_ACC_HEADS
#define T6_DEC_ACC_HEADS 0 /* host: heads per work-item in the value product (4, 8, 12 or 16); 0 picks */
#endif

#ifndef T6_HEADS
#define T6_HEADS 8 /* H: set by the host, not tuned */
#endif
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64
#endif
#ifndef T6_RANK_Q
#define T6_RANK_Q 2
#endif
#ifndef T6_RANK_K
#define T6_RANK_K 1
#endif
#ifndef T6_RANK_V
#define T6_RANK_V 1
#endif
#ifndef T6_CACHE_DTYPE
#define T6_CACHE_DTYPE 0
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
#ifndef T6_ATT_PROFILE
#define T6_ATT_PROFILE 0
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
#define MODE_MERGE 2    /* write partial rows; the last groups merge them */

/* Ranks padded to float4s; padded B_Q rows and Â_Q columns are zero, so padded S1 columns are zero too. */
#define RQ4 ((RANK_Q + 3) / 4)
#define RQP (RQ4 * 4)
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
 * broadcast); VALUE_HEADS pads H to whole register tiles (the padded W columns stay zero). */
#define ACC_HEADS T6_ACC_HEADS
#define ACC4 (ACC_HEADS / 4)
#define VALUE_HEADS ((HEADS + ACC_HEADS - 1) / ACC_HEADS * ACC_HEADS)
#define TEAM_SIZE (VALUE_HEADS / ACC_HEADS * DIM4)
#define TEAMS (WG_SIZE / TEAM_SIZE)

/* Local memory, in float4s. Row strides: see the top. */
#define BQ_STRIDE4 (DIM4 + 1)
#define AQ_STRIDE4 (RQ4 + 1)
#define KEY_STRIDE4 (DIM4 + 1)
#define VALUE_STRIDE4 DIM4
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
#define REDUCE_SIZE4 (TEAMS / 2 * TEAM_SIZE * ACC_HEADS)
#define SUMS_SIZE4 ((POSITION_BLOCKS * HEADS + 3) / 4)
#define UNION_SIZE4 (TILE_SIZE4 > REDUCE_SIZE4 ? (TILE_SIZE4 > SUMS_SIZE4 ? TILE_SIZE4 : SUMS_SIZE4) \
                                               : (REDUCE_SIZE4 > SUMS_SIZE4 ? REDUCE_SIZE4 : SUMS_SIZE4))

/* Staging: the tile's B_K and B_V are contiguous in the cache ([position][rank][d]); VECTOR elements per load. */
#define TILE_K (TILE * RANK_K * HEAD_DIM)
#define TILE_V (TILE * RANK_V * HEAD_DIM)
#define LOADS_K ((TILE_K / VECTOR + WG_SIZE - 1) / WG_SIZE)
#define LOADS_V ((TILE_V / VECTOR + WG_SIZE - 1) / WG_SIZE)

#define CACHE_T T6_STORAGE(T6_CACHE_DTYPE)

/* A load's raw storage: kept undecoded in registers while in flight (half the registers for 16-bit types). */
#if T6_CACHE_DTYPE == 0
#if VECTOR == 1
#define RAW_T float
#elif VECTOR == 2
#define RAW_T float2
#elif VECTOR == 4
#define RAW_T float4
#elif VECTOR == 8
#define RAW_T float8
#endif
#else
#if VECTOR == 1
#define RAW_T ushort
#elif VECTOR == 2
#define RAW_T uint
#elif VECTOR == 4
#define RAW_T uint2
#elif VECTOR == 8
#define RAW_T uint4
#endif
#endif

#if T6_CACHE_DTYPE == 2
/* Two bf16 in a uint: the element at the lower address is in the low half on little-endian devices. */
#ifdef __ENDIAN_LITTLE__
#define BF16_FIRST(x) as_float((x) << 16)
#define BF16_SECOND(x) as_float((x) & 0xFFFF0000u)
#else
#define BF16_FIRST(x) as_float((x) & 0xFFFF0000u)
#define BF16_SECOND(x) as_float((x) << 16)
#endif
#endif

/* Decodes one load into VECTOR floats at dst. */
inline void stage_raw(__local float *dst, RAW_T raw)
{
#if T6_CACHE_DTYPE == 0
#if VECTOR == 1
    dst[0] = raw;
#else
    T6_CAT(vstore, VECTOR)(raw, 0, dst);
#endif
#elif T6_CACHE_DTYPE == 1
    /* vload_half from a private copy: the conversion works on registers, and needs no cl_khr_fp16. */
    RAW_T bits = raw;
#if VECTOR == 1
    dst[0] = vload_half(0, (const __private half *)&bits);
#else
    T6_CAT(vstore, VECTOR)(T6_CAT(vload_half, VECTOR)(0, (const __private half *)&bits), 0, dst);
#endif
#else
#if VECTOR == 1
    dst[0] = as_float((uint)raw << 16);
#elif VECTOR == 2
    vstore2((float2)(BF16_FIRST(raw), BF16_SECOND(raw)), 0, dst);
#elif VECTOR == 4
    vstore4((float4)(BF16_FIRST(raw.x), BF16_SECOND(raw.x), BF16_FIRST(raw.y), BF16_SECOND(raw.y)), 0, dst);
#else
    vstore8((float8)(BF16_FIRST(raw.x), BF16_SECOND(raw.x), BF16_FIRST(raw.y), BF16_SECOND(raw.y),
                     BF16_FIRST(raw.z), BF16_SECOND(raw.z), BF16_FIRST(raw.w), BF16_SECOND(raw.w)),
            0, dst);
#endif
#endif
}

inline float dot4_acc(float acc, float4 a, float4 b)
{
    return mad(a.w, b.w, mad(a.z, b.z, mad(a.y, b.y, mad(a.x, b.x, acc))));
}

/* Floats as ints that compare in the same order, for atomic_max on local memory (an involution). */
inline int ordered_bits(float x)
{
    const int bits = as_int(x);
    return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
}

inline float ordered_float(int bits) { return as_float(bits >= 0 ? bits : bits ^ 0x7FFFFFFF); }

#if T6_ATT_PROFILE == 1
#if T6_CACHE_DTYPE == 0
#define PROFILE_BITS 0.25f
#elif T6_CACHE_DTYPE == 1
#define PROFILE_BITS 0x34003400u /* 0.25 twice */
#else
#define PROFILE_BITS 0x3E803E80u
#endif
#define LOAD_RAW(factor, index) ((RAW_T)(PROFILE_BITS))
#define LOAD_FACTOR(factor, index) 0.25f
#else
#define LOAD_RAW(factor, index) (((const __global RAW_T *)(factor))[index])
#define LOAD_FACTOR(factor, index) T6_LOAD(T6_CACHE_DTYPE, factor, index)
#endif

/* Loads into registers the `valid_elements` of one factor's tile that start at element `first_element`; loads
 * past them read nothing and stage as zeros. */
#define LOAD_TILE(raw, loads, tile_elements, factor, first_element, valid_elements)                              \
    for (uint i_ = 0; i_ < (loads); i_++) {                                                                      \
        const uint v_ = lid + i_ * WG_SIZE;                                                                      \
        raw[i_] = (RAW_T)(0);                                                                                    \
        if (v_ < (tile_elements) / VECTOR && v_ * VECTOR < (valid_elements))                                     \
            raw[i_] = LOAD_RAW(factor, (first_element) / VECTOR + v_);                                           \
    }

/* Stores a tile loaded by LOAD_TILE into local rows of `row_length` floats placed `stride` floats apart. */
#define STAGE_TILE(raw, loads, tile_elements, dst, row_length, stride)                                           \
    for (uint i_ = 0; i_ < (loads); i_++) {                                                                      \
        const uint e_ = (lid + i_ * WG_SIZE) * VECTOR;                                                           \
        if (e_ < (tile_elements)) stage_raw((dst) + e_ / (row_length) * (stride) + e_ % (row_length), raw[i_]);   \
    }

/* A_K and A_V of a score unit's positions and heads for the tile at `tile_first` (zeros past `last`). */
#define LOAD_HEAD_FACTORS(ak, av, tile_first)                                                                    \
    for (uint i_ = 0; i_ < SCORE_T; i_++)                                                                        \
        for (uint k_ = 0; k_ < SCORE_H; k_++) {                                                                  \
            const uint p_ = (tile_first) + block * SCORE_T + i_, h_ = head_slot + k_ * HEAD_SLOTS;               \
            const bool ok_ = score_unit && p_ < last && h_ < HEADS;                                              \
            const uint at_ = (slot_position0 + p_) * HEADS + h_;                                                 \
            for (uint s_ = 0; s_ < RANK_K; s_++) ak[i_][k_][s_] = ok_ ? LOAD_FACTOR(a_k, at_ * RANK_K + s_) : 0.0f; \
            for (uint s_ = 0; s_ < RANK_V; s_++) av[i_][k_][s_] = ok_ ? LOAD_FACTOR(a_v, at_ * RANK_V + s_) : 0.0f; \
        }

/* Merges `count` partial rows per head — row first + j·HEADS + h for j < count, in a layout of `rows` rows
 * starting at `partials` (acc, then max, then sum) — into `dest`: with dest_rows 0, the normalized output row
 * (HEADS × HEAD_DIM floats); otherwise rows dest_first + h of a partial layout of dest_rows rows. Every
 * work-item of every group calls it (its barrier is never under a condition); a group that is not the merger
 * passes count 0 and writes nothing. `weights` holds count·HEADS floats, `totals` 2·HEADS. */
void merge_partials(const volatile __global float *partials, uint rows, uint first, uint count, __global float *dest,
                    uint dest_rows, uint dest_first, __local float *weights, __local float *totals)
{
    const uint lid = get_local_id(0);
    const volatile __global float *max_score = partials + (size_t)rows * HEAD_DIM;
    const volatile __global float *sum = max_score + rows;
    for (uint h = lid; h < HEADS && count > 0; h += WG_SIZE) {
        float top = -INFINITY;
        for (uint j = 0; j < count; j++) {
            weights[j * HEADS + h] = max_score[first + j * HEADS + h];
            top = fmax(top, weights[j * HEADS + h]);
        }
        float total = 0.0f;
        for (uint j = 0; j < count; j++) {
            const float m = weights[j * HEADS + h];
            /* An empty partial contributes nothing (and must not compute −inf − −inf). */
            const float w = m == -INFINITY ? 0.0f : exp(m - top);
            weights[j * HEADS + h] = w;
            total = mad(w, sum[first + j * HEADS + h], total);
        }
        totals[h] = top;
        totals[HEADS + h] = total;
        if (dest_rows) {
            dest[(size_t)dest_rows * HEAD_DIM + dest_first + h] = top;
            dest[(size_t)dest_rows * (HEAD_DIM + 1) + dest_first + h] = total;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const volatile __global float4 *acc = (const volatile __global float4 *)partials;
    for (uint u = lid; u < HEADS * DIM4 && count > 0; u += WG_SIZE) {
        const uint h = u / DIM4, d4 = u % DIM4;
        /* Four independent loads per step, so that a long block is not a chain of L2 round trips. */
        float4 a0 = (float4)(0.0f), a1 = (float4)(0.0f), a2 = (float4)(0.0f), a3 = (float4)(0.0f);
        uint j = 0;
        for (; j + 4 <= count; j += 4) {
            const float4 v0 = acc[(first + j * HEADS + h) * DIM4 + d4];
            const float4 v1 = acc[(first + (j + 1) * HEADS + h) * DIM4 + d4];
            const float4 v2 = acc[(first + (j + 2) * HEADS + h) * DIM4 + d4];
            const float4 v3 = acc[(first + (j + 3) * HEADS + h) * DIM4 + d4];
            a0 = mad((float4)(weights[j * HEADS + h]), v0, a0);
            a1 = mad((float4)(weights[(j + 1) * HEADS + h]), v1, a1);
            a2 = mad((float4)(weights[(j + 2) * HEADS + h]), v2, a2);
            a3 = mad((float4)(weights[(j + 3) * HEADS + h]), v3, a3);
        }
        for (; j < count; j++) a0 = mad((float4)(weights[j * HEADS + h]), acc[(first + j * HEADS + h) * DIM4 + d4], a0);
        const float4 merged = (a0 + a1) + (a2 + a3);
        if (dest_rows) vstore4(merged, 0, dest + (size_t)(dest_first + h) * HEAD_DIM + d4 * 4);
        else vstore4(merged / totals[HEADS + h], 0, dest + h * HEAD_DIM + d4 * 4);
    }
}

/* Whether this group is the last of `expected` to arrive at `counter`, once every work-item has fenced its
 * global writes; a group that does not take part (`arrives` false) only passes the barrier. The last one
 * resets the counter for the next launch. `flag` must not be written again before a barrier. */
inline bool last_to_arrive(volatile __global uint *counter, uint expected, bool arrives, __local int *flag)
{
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0) {
        const bool last = arrives && atomic_inc(counter) == expected - 1;
        if (last) atomic_xchg(counter, 0u);
        *flag = last;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const bool last = *flag != 0;
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    return last;
}

__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void t6_attention_decode(const __global float *query, uint query_offset, const __global CACHE_T *a_k,
                         const __global CACHE_T *a_v, const __global CACHE_T *b_k, const __global CACHE_T *b_v,
                         uint capacity, const __global int4 *tiles, uint split_length, float score_scale,
                         float value_scale, __global float *out, uint out_offset, uint mode,
                         __global float *partials, uint level2, volatile __global uint *counters, uint fanin)
{
    __local float4 bq[BQ_SIZE4];
    __local float4 aq[AQ_SIZE4];
    __local float4 arena[UNION_SIZE4];
    __local float reference[HEADS], row_sum[HEADS];
    __local float merge_totals[2 * HEADS];
    __local int tile_max[HEADS];
    __local int flag, moved; /* flag: the fused merge's; moved: some reference moved in this tile */

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
        bq_floats[r * BQ_STRIDE4 * 4 + d] = r < RANK_Q ? q[HEADS * RANK_Q + r * HEAD_DIM + d] : 0.0f;
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
    const uint team = lid / TEAM_SIZE, member = lid % TEAM_SIZE;
    const uint head_block = member / DIM4, d4 = member % DIM4;
    const bool value_unit = team < TEAMS;
    float running_sum[SCORE_H];
    for (uint k = 0; k < SCORE_H; k++) running_sum[k] = 0.0f;
    float4 acc[ACC_HEADS];
    for (uint i = 0; i < ACC_HEADS; i++) acc[i] = (float4)(0.0f);

    RAW_T key_raw[LOADS_K], value_raw[LOADS_V];
    float ak_next[SCORE_T][SCORE_H][RANK_K], av_next[SCORE_T][SCORE_H][RANK_V];
    {
        const uint n = min((uint)TILE, last - first);
        LOAD_TILE(key_raw, LOADS_K, TILE_K, b_k, (slot_position0 + first) * (RANK_K * HEAD_DIM), n * RANK_K * HEAD_DIM)
        LOAD_TILE(value_raw, LOADS_V, TILE_V, b_v, (slot_position0 + first) * (RANK_V * HEAD_DIM),
                  n * RANK_V * HEAD_DIM)
        LOAD_HEAD_FACTORS(ak_next, av_next, first)
    }

#if T6_ATT_PROFILE == 3
    for (uint base = first; base < first; base += TILE) {
#else
    for (uint base = first; base < last; base += TILE) {
#endif
        const uint n = min((uint)TILE, last - base);
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile's readers are done */
        STAGE_TILE(key_raw, LOADS_K, TILE_K, (__local float *)keys, HEAD_DIM, KEY_STRIDE4 * 4)
        STAGE_TILE(value_raw, LOADS_V, TILE_V, (__local float *)values, HEAD_DIM, VALUE_STRIDE4 * 4)
        float ak[SCORE_T][SCORE_H][RANK_K], av[SCORE_T][SCORE_H][RANK_V];
        for (uint i = 0; i < SCORE_T; i++)
            for (uint k = 0; k < SCORE_H; k++) {
                for (uint s = 0; s < RANK_K; s++) ak[i][k][s] = ak_next[i][k][s];
                for (uint s = 0; s < RANK_V; s++) av[i][k][s] = av_next[i][k][s];
            }
        if (base + TILE < last) {
            const uint next = base + TILE, n_next = min((uint)TILE, last - next);
            LOAD_TILE(key_raw, LOADS_K, TILE_K, b_k, (slot_position0 + next) * (RANK_K * HEAD_DIM),
                      n_next * RANK_K * HEAD_DIM)
            LOAD_TILE(value_raw, LOADS_V, TILE_V, b_v, (slot_position0 + next) * (RANK_V * HEAD_DIM),
                      n_next * RANK_V * HEAD_DIM)
            LOAD_HEAD_FACTORS(ak_next, av_next, next)
        }
        barrier(CLK_LOCAL_MEM_FENCE);

#if T6_ATT_PROFILE != 2
        /* ---- S1 = B_K·B_Q for the tile ---- */
        for (uint u = lid; u < S1_UNITS; u += WG_SIZE) {
            const uint key_row = u / S1_GROUPS, group = u % S1_GROUPS;
            float dot[S1_RANKS];
            for (uint i = 0; i < S1_RANKS; i++) dot[i] = 0.0f;
            for (uint e = 0; e < DIM4; e++) {
                const float4 key = keys[key_row * KEY_STRIDE4 + e];
                for (uint i = 0; i < S1_RANKS; i++)
                    dot[i] = dot4_acc(dot[i], key, bq[(group + i * S1_GROUPS) * BQ_STRIDE4 + e]);
            }
            __local float *s1_row = (__local float *)(s1 + key_row * S1_STRIDE4);
            for (uint i = 0; i < S1_RANKS; i++) s1_row[group + i * S1_GROUPS] = dot[i];
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        /* ---- scores, and each head's tile max where it passes the head's reference ---- */
        float score[SCORE_T][SCORE_H];
        if (score_unit) {
            for (uint i = 0; i < SCORE_T; i++)
                for (uint k = 0; k < SCORE_H; k++) score[i][k] = 0.0f;
            for (uint s = 0; s < RANK_K; s++) {
                float mixed[SCORE_T][SCORE_H];
                for (uint i = 0; i < SCORE_T; i++)
                    for (uint k = 0; k < SCORE_H; k++) mixed[i][k] = 0.0f;
                for (uint r4 = 0; r4 < RQ4; r4++) {
                    float4 basis[SCORE_T], mix[SCORE_H];
                    for (uint i = 0; i < SCORE_T; i++)
                        basis[i] = s1[((block * SCORE_T + i) * RANK_K + s) * S1_STRIDE4 + r4];
                    for (uint k = 0; k < SCORE_H; k++) mix[k] = aq[(head_slot + k * HEAD_SLOTS) * AQ_STRIDE4 + r4];
                    for (uint i = 0; i < SCORE_T; i++)
                        for (uint k = 0; k < SCORE_H; k++) mixed[i][k] = dot4_acc(mixed[i][k], basis[i], mix[k]);
                }
                for (uint i = 0; i < SCORE_T; i++)
                    for (uint k = 0; k < SCORE_H; k++) score[i][k] = mad(ak[i][k][s], mixed[i][k], score[i][k]);
            }
            for (uint k = 0; k < SCORE_H; k++) {
                const uint h = head_slot + k * HEAD_SLOTS;
                float top = -INFINITY;
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
        if (score_unit)
            for (uint k = 0; k < SCORE_H; k++) {
                const uint h = head_slot + k * HEAD_SLOTS;
                if (h >= HEADS) continue;
                const float old = reference[h], now = fmax(old, ordered_float(tile_max[h]));
                if (now != old) running_sum[k] *= exp2(old - now); /* 0 while nothing was summed (old = −∞) */
                for (uint i = 0; i < SCORE_T; i++) {
                    const uint t = block * SCORE_T + i;
                    /* Positions past the split weigh 0 (their scores are not scores). */
                    const float p = t < n ? exp2(score[i][k] - now) : 0.0f;
                    running_sum[k] += p;
                    for (uint s = 0; s < RANK_V; s++) w_floats[(t * RANK_V + s) * W_STRIDE4 * 4 + h] = p * av[i][k][s];
                }
            }
        if (value_unit && moved)
            for (uint i = 0; i < ACC_HEADS; i++) {
                const uint h = head_block * ACC_HEADS + i;
                if (h >= HEADS) continue;
                const float old = reference[h], now = fmax(old, ordered_float(tile_max[h]));
                if (now != old) acc[i] *= exp2(old - now);
            }
        barrier(CLK_LOCAL_MEM_FENCE);
        /* Everyone has read the references: move them for the next tile (whose readers are barriers away). */
        for (uint h = lid; h < HEADS; h += WG_SIZE) {
            reference[h] = fmax(reference[h], ordered_float(tile_max[h]));
            tile_max[h] = ordered_bits(-INFINITY);
        }
        if (lid == 0) moved = 0;

        /* ---- acc += W·B_V over this team's value rows ---- */
        if (value_unit)
            for (uint value_row = team; value_row < n * RANK_V; value_row += TEAMS) {
                const float4 v = values[value_row * VALUE_STRIDE4 + d4];
                const __local float4 *w = weights + value_row * W_STRIDE4 + head_block * ACC4;
                for (uint i = 0; i < ACC4; i++) {
                    const float4 w4 = w[i];
                    acc[4 * i + 0] = mad((float4)(w4.x), v, acc[4 * i + 0]);
                    acc[4 * i + 1] = mad((float4)(w4.y), v, acc[4 * i + 1]);
                    acc[4 * i + 2] = mad((float4)(w4.z), v, acc[4 * i + 2]);
                    acc[4 * i + 3] = mad((float4)(w4.w), v, acc[4 * i + 3]);
                }
            }
#else
        /* Loads only: keep the staged tiles and the head factors alive with uses the compiler cannot drop. */
        for (uint i = 0; i < SCORE_T; i++)
            for (uint k = 0; k < SCORE_H; k++) {
                for (uint s = 0; s < RANK_K; s++) running_sum[k] += ak[i][k][s];
                for (uint s = 0; s < RANK_V; s++) running_sum[k] += av[i][k][s];
            }
        if (lid == 0) acc[0] += keys[n - 1] + values[n - 1];
#endif
    }

    /* ---- the split's sums per head, and the teams' accumulators added into team 0's ---- */
    barrier(CLK_LOCAL_MEM_FENCE);
    __local float *sums = (__local float *)arena;
    if (score_unit)
        for (uint k = 0; k < SCORE_H; k++) {
            const uint h = head_slot + k * HEAD_SLOTS;
            if (h < HEADS) sums[block * HEADS + h] = running_sum[k];
        }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = lid; h < HEADS; h += WG_SIZE) {
        float total = 0.0f;
        for (uint b = 0; b < POSITION_BLOCKS; b++) total += sums[b * HEADS + h];
        row_sum[h] = total;
    }
    barrier(CLK_LOCAL_MEM_FENCE); /* the sums are read before the teams reuse their memory */
    for (uint active = TEAMS; active > 1; active = (active + 1) / 2) {
        const uint kept = (active + 1) / 2; /* teams that stay; the others hand over */
        barrier(CLK_LOCAL_MEM_FENCE);
        if (value_unit && team >= kept && team < active)
            for (uint i = 0; i < ACC_HEADS; i++) arena[((team - kept) * ACC_HEADS + i) * TEAM_SIZE + member] = acc[i];
        barrier(CLK_LOCAL_MEM_FENCE);
        if (value_unit && team < active - kept)
            for (uint i = 0; i < ACC_HEADS; i++) acc[i] += arena[(team * ACC_HEADS + i) * TEAM_SIZE + member];
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    /* ---- write: the output row, or this split's partial rows ---- */
    if (mode == MODE_OUTPUT) {
        if (team == 0)
            for (uint i = 0; i < ACC_HEADS; i++) {
                const uint h = head_block * ACC_HEADS + i;
                if (h < HEADS)
                    vstore4(acc[i] * (value_scale / row_sum[h]), 0,
                            out + out_offset + ((size_t)row * HEADS + h) * HEAD_DIM + d4 * 4);
            }
    } else {
        const uint partial0 = (row * splits + split) * HEADS;
        if (team == 0)
            for (uint i = 0; i < ACC_HEADS; i++) {
                const uint h = head_block * ACC_HEADS + i;
                if (h < HEADS)
                    vstore4(acc[i] * value_scale, 0, partials + (size_t)(partial0 + h) * HEAD_DIM + d4 * 4);
            }
        for (uint h = lid; h < HEADS; h += WG_SIZE) {
            partials[(size_t)partial_rows * HEAD_DIM + partial0 + h] = reference[h] * M_LN2_F;
            partials[(size_t)partial_rows * (HEAD_DIM + 1) + partial0 + h] = row_sum[h];
        }
    }
    if (mode == MODE_MERGE) {
        /* ---- the last group of this block of splits merges it; the last block merger merges the blocks ---- */
        const uint active_splits = (end + split_length - 1) / split_length;
        const uint blocks = (active_splits + fanin - 1) / fanin, block_of = split / fanin;
        const uint blocks_max = (splits + fanin - 1) / fanin;
        const uint in_block = min(fanin, active_splits - block_of * fanin);
        volatile __global uint *row_counters = counters + row * (blocks_max + 1);
        __local float *merge_weights = (__local float *)arena;
        /* Every group passes every barrier below (PoCL's compiler of work-group loops mishandles barriers that
         * only some groups reach); only the mergers find work in them. */
        const uint rows2 = batch * blocks_max * HEADS;
        __global float *out_row = out + out_offset + (size_t)row * HEADS * HEAD_DIM;
        bool merges = true; /* this group took part in the level */
        for (uint level = 0; level < 2; level++) {
            /* Level 0 merges this block's partials: with one block straight into the output row, otherwise into
             * the block's rows of the second layout, which level 1 (the last block merger of the row) merges. */
            const bool single = blocks == 1;
            merges = last_to_arrive(row_counters + (level == 0 ? block_of : blocks_max),
                                    level == 0 ? in_block : blocks, merges && (level == 0 || !single), &flag);
            const uint count = !merges ? 0 : level == 0 ? in_block : blocks;
            const bool to_output = level == 1 || single;
            merge_partials(level == 0 ? partials : partials + level2, level == 0 ? partial_rows : rows2,
                           level == 0 ? (row * splits + block_of * fanin) * HEADS : row * blocks_max * HEADS, count,
                           to_output ? out_row : partials + level2, to_output ? 0 : rows2,
                           (row * blocks_max + block_of) * HEADS, merge_weights, merge_totals);
        }
    }
}
