/* attention.cl — factorized TPA attention over the factor cache (TPA.md, "Factorized decode"). Decode is the
 * case of one query per sequence; causal prefill that of several consecutive queries of a sequence, each seeing
 * the cache up to its own position. K and V are never formed, and no score matrix exists beyond one tile.
 *
 * A work-group takes up to QUERIES consecutive query rows of one sequence × GROUP_HEADS heads — its ROWS rows
 * ρ = q·GROUP_HEADS + h — and one split of the cached positions, which it walks in tiles of TILE positions:
 *  1. B_K and B_V of the tile are staged in local memory as fp32 (wide loads, issued one tile ahead into
 *     registers so that they are in flight during the arithmetic of the previous tile);
 *  2. S1[t][s][q][r] = B_Q[q][r]·B_K[t][s], the product all heads share, is formed once per tile; when per-head
 *     queries q̃[ρ] = Σ_r A_Q[ρ][r]·B_Q[q][r] are cheaper (few heads, high Rq) they are dotted with B_K instead;
 *  3. score[ρ][t] = c·Σ_s A_K[t][h][s]·Σ_r A_Q[ρ][r]·S1[t][s][q][r] (c carries log2 e: softmax in base 2),
 *     masked causally; the tile's max per row is reduced across the work-items that share the row;
 *  4. W[t][s][ρ] = p·A_V[t][h][s] and acc[ρ][:] += Σ_{t,s} W[t][s][ρ]·B_V[t][s][:] in register tiles of
 *     VALUE_HEADS rows × 4 dims, after acc has been rescaled by 2^(m_old − m_new).
 * With one split the normalized output is written directly; with several, the partials that merge.cl combines
 * (layout in lib/ops/ops.h: rows [query row][split][head], the max in natural-log units).
 *
 * Shape macros set by the host (not tuned): T6_HEADS, T6_HEAD_DIM, T6_RANK_Q, T6_RANK_K, T6_RANK_V,
 * T6_CACHE_DTYPE, T6_GROUP_HEADS (heads of this group: the tunable, capped by H and local memory),
 * T6_DIRECT (1: one split, write the output). Tunables: T6_DEC_* for decode, T6_PRE_* for prefill (T6_PREFILL
 * defined); the host may lower TILE, HEADS and QUERIES to fit local memory, and clears STAGE_S1 where per-head
 * queries take fewer operations.
 *
 * Diagnostics (never set by the library): T6_ATT_PROFILE 1 replaces every cache load by a constant (what the
 * arithmetic alone costs), 2 skips the arithmetic after the loads (what the loads alone cost), 3 skips the walk
 * over the positions (what launching, the setup and the merge pass cost). Results are then wrong;
 * the decode-variants step of tuner/gpu/reproduce.sh sets them through T6_KERNEL_DIR.
 */
#ifdef T6_PREFILL
#ifndef T6_PRE_KERNEL
#define T6_PRE_KERNEL 0 /* host: 1 work-group tiles (this file), 2 vectors per work-item (attention_vector.cl), 0 by device */
#endif
#ifndef T6_PRE_WG_SIZE
#define T6_PRE_WG_SIZE 256 /* work-items per group */
#endif
#ifndef T6_PRE_TILE
#define T6_PRE_TILE 16 /* cached positions staged in local memory per step */
#endif
#ifndef T6_PRE_HEADS
#define T6_PRE_HEADS 64 /* heads per work-group: more share each B_K/B_V tile and S1, fewer need less memory */
#endif
#ifndef T6_PRE_QUERIES
#define T6_PRE_QUERIES 4 /* consecutive queries per work-group, sharing each staged key tile */
#endif
#ifndef T6_PRE_TOKENS
#define T6_PRE_TOKENS 2 /* cached positions per work-item in the B_Q·B_K product (register tile) */
#endif
#ifndef T6_PRE_VALUE_HEADS
#define T6_PRE_VALUE_HEADS 4 /* rows per work-item in the value product (register tile of rows × 4 dims) */
#endif
#ifndef T6_PRE_VECTOR
#define T6_PRE_VECTOR 8 /* elements per cache load: 1, 2, 4 or 8 */
#endif
#ifndef T6_PRE_STAGE_S1
#define T6_PRE_STAGE_S1 1 /* 1: stage S1 = B_Q·B_K in local memory when cheaper than per-head queries; 0: never */
#endif
#ifndef T6_PRE_GROUPS_PER_CU
#define T6_PRE_GROUPS_PER_CU 2 /* host: split the positions until about this many groups per compute unit */
#endif
#ifndef T6_PRE_MIN_SPLIT
#define T6_PRE_MIN_SPLIT 256 /* host: fewest cached positions per split */
#endif
#define WG_SIZE T6_PRE_WG_SIZE
#define TILE T6_PRE_TILE
#define QUERIES T6_PRE_QUERIES
#define TOKENS T6_PRE_TOKENS
#define VALUE_HEADS T6_PRE_VALUE_HEADS
#define VECTOR T6_PRE_VECTOR
#define STAGE_S1 T6_PRE_STAGE_S1
#else
#ifndef T6_DEC_KERNEL
#define T6_DEC_KERNEL 0 /* host: 1 work-group tiles (this file), 2 vectors per work-item (attention_vector.cl), 0 by device */
#endif
#ifndef T6_DEC_WG_SIZE
#define T6_DEC_WG_SIZE 256 /* work-items per group */
#endif
#ifndef T6_DEC_TILE
#define T6_DEC_TILE 32 /* cached positions staged in local memory per step */
#endif
#ifndef T6_DEC_HEADS
#define T6_DEC_HEADS 64 /* heads per work-group: more share each B_K/B_V tile and S1, fewer need less memory */
#endif
#ifndef T6_DEC_TOKENS
#define T6_DEC_TOKENS 2 /* cached positions per work-item in the B_Q·B_K product (register tile) */
#endif
#ifndef T6_DEC_VALUE_HEADS
#define T6_DEC_VALUE_HEADS 4 /* heads per work-item in the value product (register tile of heads × 4 dims) */
#endif
#ifndef T6_DEC_VECTOR
#define T6_DEC_VECTOR 8 /* elements per cache load: 1, 2, 4 or 8 */
#endif
#ifndef T6_DEC_STAGE_S1
#define T6_DEC_STAGE_S1 1 /* 1: stage S1 = B_Q·B_K in local memory when cheaper than per-head queries; 0: never */
#endif
#ifndef T6_DEC_GROUPS_PER_CU
#define T6_DEC_GROUPS_PER_CU 2 /* host: split the positions until about this many groups per compute unit */
#endif
#ifndef T6_DEC_MIN_SPLIT
#define T6_DEC_MIN_SPLIT 64 /* host: fewest cached positions per split */
#endif
#define WG_SIZE T6_DEC_WG_SIZE
#define TILE T6_DEC_TILE
#define QUERIES 1
#define TOKENS T6_DEC_TOKENS
#define VALUE_HEADS T6_DEC_VALUE_HEADS
#define VECTOR T6_DEC_VECTOR
#define STAGE_S1 T6_DEC_STAGE_S1
#endif

#ifndef T6_GROUP_HEADS
#define T6_GROUP_HEADS T6_HEADS
#endif
#ifndef T6_DIRECT
#define T6_DIRECT 1
#endif
#ifndef T6_ATT_PROFILE
#define T6_ATT_PROFILE 0
#endif

#define HEADS T6_HEADS
#define HEAD_DIM T6_HEAD_DIM
#define DIM4 (HEAD_DIM / 4)
#define RANK_Q T6_RANK_Q
#define RANK_K T6_RANK_K
#define RANK_V T6_RANK_V
#define GROUP_HEADS T6_GROUP_HEADS
#define ROWS (QUERIES * GROUP_HEADS)
#define QUERY_ROW (HEADS * RANK_Q + RANK_Q * HEAD_DIM) /* floats per query: A_Q then B_Q */

/* Query vectors the keys are dotted with: the B_Q rows of each query, or one mixed query per row. Their rows
 * are padded by one float4 so that work-items reading different rows hit different local memory banks. */
#if STAGE_S1
#define BASIS (QUERIES * RANK_Q)
#else
#define BASIS ROWS
#endif
#define BASIS_STRIDE4 (DIM4 + 1)

/* Scores: rows vary fastest across work-items (A_K/A_V loads are contiguous in heads); SCORE_LANES work-items
 * share a row and split the tile's positions between them. */
#if ROWS >= WG_SIZE
#define SCORE_LANES 1
#define ROWS_PER_ITEM ((ROWS + WG_SIZE - 1) / WG_SIZE)
#else
#define SCORE_LANES (WG_SIZE / ROWS)
#define ROWS_PER_ITEM 1
#endif
#define TOKENS_PER_LANE ((TILE + SCORE_LANES - 1) / SCORE_LANES)

/* Values: units of VALUE_HEADS rows × 4 dims, dims fastest (B_V reads contiguous, W reads broadcast). When
 * there are fewer units than work-items, VALUE_LANES work-items share a unit and split the positions. */
#define VALUE_ROWS ((ROWS + VALUE_HEADS - 1) / VALUE_HEADS * VALUE_HEADS)
#define VALUE_UNITS (VALUE_ROWS / VALUE_HEADS * DIM4)
#if VALUE_UNITS >= WG_SIZE
#define VALUE_LANES 1
#define UNITS_PER_ITEM ((VALUE_UNITS + WG_SIZE - 1) / WG_SIZE)
#else
#define VALUE_LANES (WG_SIZE / VALUE_UNITS)
#define UNITS_PER_ITEM 1
#endif

/* S1: units of TOKENS positions × one basis vector × one K rank, basis vectors fastest (B_K reads broadcast). */
#define TOKEN_BLOCKS ((TILE + TOKENS - 1) / TOKENS)
#define S1_UNITS (BASIS * RANK_K * TOKEN_BLOCKS)


inline float dot4_acc(float acc, float4 a, float4 b)
{
    return mad(a.w, b.w, mad(a.z, b.z, mad(a.y, b.y, mad(a.x, b.x, acc))));
}

/* Loads (into registers) the `count` positions of one factor's tile that start at element `first_element`;
 * loads past them read nothing and stage as zeros. */
#define LOAD_TILE(raw, loads, tile_elements, factor, first_element, valid_elements)                              \
    for (uint i_ = 0; i_ < (loads); i_++) {                                                                      \
        const uint v_ = lid + i_ * WG_SIZE;                                                                      \
        raw[i_] = (RAW_T)(0);                                                                                    \
        if (v_ < (tile_elements) / VECTOR && v_ * VECTOR < (valid_elements))                                     \
            raw[i_] = LOAD_RAW(factor, (first_element) / VECTOR + v_);                                           \
    }

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

__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void t6_attention(const __global float *query, uint query_offset, const __global CACHE_T *a_k,
                  const __global CACHE_T *a_v, const __global CACHE_T *b_k, const __global CACHE_T *b_v,
                  uint capacity, const __global int4 *tiles, uint split_length, float score_scale,
                  float value_scale, __global float *out, uint out_offset, uint partial_rows)
{
    __local float4 basis[BASIS * BASIS_STRIDE4];
#if STAGE_S1
    __local float s1[TILE * RANK_K * BASIS];
#endif
    __local float4 keys[TILE * RANK_K * DIM4];
    __local float4 values[TILE * RANK_V * DIM4];
    __local float weights[TILE * RANK_V * VALUE_ROWS];
    __local float lane_max[SCORE_LANES * ROWS];
    __local float row_scale[VALUE_ROWS];
#if VALUE_LANES > 1
    __local float4 lane_acc[VALUE_ROWS * DIM4];
#endif

    const uint lid = get_local_id(0);
    const uint split = get_group_id(0);
    const uint h0 = get_group_id(1) * GROUP_HEADS;
    const int4 tile = tiles[get_group_id(2)];
    const uint slot = (uint)tile.x, row0 = (uint)tile.y, query_count = (uint)tile.z;
    const uint position0 = (uint)tile.w;
    const uint heads_here = min((uint)GROUP_HEADS, (uint)HEADS - h0);
    /* Positions [first, end): this split, up to what the tile's last query sees. */
    const uint first = split * split_length;
    const uint end = min(first + split_length, position0 + query_count);
    const uint slot_position0 = slot * capacity;
    const __global float *query_rows = query + query_offset + (size_t)row0 * QUERY_ROW;

    /* ---- query basis ---- */
    __local float *basis_floats = (__local float *)basis;
#if STAGE_S1
    for (uint i = lid; i < BASIS * HEAD_DIM; i += WG_SIZE) {
        const uint j = i / HEAD_DIM, d = i % HEAD_DIM, q = j / RANK_Q, r = j % RANK_Q;
        basis_floats[j * BASIS_STRIDE4 * 4 + d] =
            q < query_count ? query_rows[q * QUERY_ROW + HEADS * RANK_Q + r * HEAD_DIM + d] : 0.0f;
    }
#else
    for (uint i = lid; i < ROWS * HEAD_DIM; i += WG_SIZE) {
        const uint row = i / HEAD_DIM, d = i % HEAD_DIM, q = row / GROUP_HEADS, h = row % GROUP_HEADS;
        float mixed = 0.0f;
        if (q < query_count && h < heads_here) {
            const __global float *q_row = query_rows + q * QUERY_ROW;
            for (uint r = 0; r < RANK_Q; r++)
                mixed = mad(q_row[(h0 + h) * RANK_Q + r], q_row[HEADS * RANK_Q + r * HEAD_DIM + d], mixed);
        }
        basis_floats[row * BASIS_STRIDE4 * 4 + d] = mixed * score_scale;
    }
#endif
    for (uint i = lid; i < TILE * RANK_V * VALUE_ROWS; i += WG_SIZE) weights[i] = 0.0f; /* padding rows stay 0 */
    for (uint i = lid; i < VALUE_ROWS; i += WG_SIZE) row_scale[i] = 1.0f;

    /* ---- this work-item's score rows ---- */
#if SCORE_LANES > 1
    const uint score_lane = lid / ROWS;
#else
    const uint score_lane = 0;
#endif
    uint row_of[ROWS_PER_ITEM];
    bool row_active[ROWS_PER_ITEM];
    uint row_position[ROWS_PER_ITEM];
    float row_max[ROWS_PER_ITEM], row_sum[ROWS_PER_ITEM];
#if STAGE_S1
    float mix[ROWS_PER_ITEM][RANK_Q];
#endif
    for (uint k = 0; k < ROWS_PER_ITEM; k++) {
#if SCORE_LANES > 1
        const uint row = lid % ROWS;
        const bool lane_ok = score_lane < SCORE_LANES;
#else
        const uint row = lid + k * WG_SIZE;
        const bool lane_ok = row < ROWS;
#endif
        const uint q = row / GROUP_HEADS, h = row % GROUP_HEADS;
        row_of[k] = row;
        row_active[k] = lane_ok && q < query_count && h < heads_here;
        row_position[k] = position0 + q;
        row_max[k] = -INFINITY;
        row_sum[k] = 0.0f;
#if STAGE_S1
        for (uint r = 0; r < RANK_Q; r++)
            mix[k][r] = row_active[k] ? score_scale * query_rows[q * QUERY_ROW + (h0 + h) * RANK_Q + r] : 0.0f;
#endif
    }

    /* ---- this work-item's value units ---- */
#if VALUE_LANES > 1
    const uint value_lane = lid / VALUE_UNITS;
#else
    const uint value_lane = 0;
#endif
    float4 acc[UNITS_PER_ITEM][VALUE_HEADS];
    for (uint k = 0; k < UNITS_PER_ITEM; k++)
        for (uint i = 0; i < VALUE_HEADS; i++) acc[k][i] = (float4)(0.0f);

    RAW_T key_raw[LOADS_K], value_raw[LOADS_V];
    if (first < end) {
        const uint n = min((uint)TILE, end - first);
        LOAD_TILE(key_raw, LOADS_K, TILE_K, b_k, (slot_position0 + first) * (RANK_K * HEAD_DIM), n * RANK_K * HEAD_DIM)
        LOAD_TILE(value_raw, LOADS_V, TILE_V, b_v, (slot_position0 + first) * (RANK_V * HEAD_DIM),
                  n * RANK_V * HEAD_DIM)
    }
    /* The loads above depend on the work-item; this barrier keeps them from joining at the entry of the tile loop,
     * where PoCL 3.1 runs one work-item's side of them for the whole group (docs/ATTENTION.md, "PoCL and code
     * that depends on the work-item before a loop with barriers"). */
    barrier(CLK_LOCAL_MEM_FENCE);

#if T6_ATT_PROFILE == 3
    for (uint base = first; base < first; base += TILE) {
#else
    for (uint base = first; base < end; base += TILE) {
#endif
        const uint n = min((uint)TILE, end - base);
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile's readers are done */
        for (uint i = 0; i < LOADS_K; i++) {
            const uint v = lid + i * WG_SIZE;
            if (v < TILE_K / VECTOR) stage_raw((__local float *)keys + v * VECTOR, key_raw[i]);
        }
        for (uint i = 0; i < LOADS_V; i++) {
            const uint v = lid + i * WG_SIZE;
            if (v < TILE_V / VECTOR) stage_raw((__local float *)values + v * VECTOR, value_raw[i]);
        }
        if (base + TILE < end) {
            const uint next = base + TILE, n_next = min((uint)TILE, end - next);
            LOAD_TILE(key_raw, LOADS_K, TILE_K, b_k, (slot_position0 + next) * (RANK_K * HEAD_DIM),
                      n_next * RANK_K * HEAD_DIM)
            LOAD_TILE(value_raw, LOADS_V, TILE_V, b_v, (slot_position0 + next) * (RANK_V * HEAD_DIM),
                      n_next * RANK_V * HEAD_DIM)
        }
        barrier(CLK_LOCAL_MEM_FENCE);

#if T6_ATT_PROFILE != 2
#if STAGE_S1
        /* ---- S1 = B_Q·B_K for the tile ---- */
        for (uint u = lid; u < S1_UNITS; u += WG_SIZE) {
            const uint j = u % BASIS, s = (u / BASIS) % RANK_K, block = u / (BASIS * RANK_K);
            float dot[TOKENS];
            for (uint k = 0; k < TOKENS; k++) dot[k] = 0.0f;
            for (uint d4 = 0; d4 < DIM4; d4++) {
                const float4 b = basis[j * BASIS_STRIDE4 + d4];
                for (uint k = 0; k < TOKENS; k++) {
                    const uint t = min(block * TOKENS + k, (uint)TILE - 1);
                    dot[k] = dot4_acc(dot[k], b, keys[(t * RANK_K + s) * DIM4 + d4]);
                }
            }
            for (uint k = 0; k < TOKENS; k++) {
                const uint t = block * TOKENS + k;
                if (t < TILE) s1[(t * RANK_K + s) * BASIS + j] = dot[k];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#endif

        /* ---- scores and the tile's max per row ---- */
        float score[ROWS_PER_ITEM][TOKENS_PER_LANE];
        for (uint k = 0; k < ROWS_PER_ITEM; k++) {
            const uint row = row_of[k], h = row % GROUP_HEADS;
            float tile_max = -INFINITY;
            for (uint i = 0; i < TOKENS_PER_LANE; i++) {
                const uint t = score_lane + i * SCORE_LANES;
                float value = -INFINITY;
                if (row_active[k] && t < n && base + t <= row_position[k]) {
                    const uint a_index = (slot_position0 + base + t) * (HEADS * RANK_K) + (h0 + h) * RANK_K;
                    value = 0.0f;
                    for (uint s = 0; s < RANK_K; s++) {
#if STAGE_S1
                        const __local float *s1_row = s1 + (t * RANK_K + s) * BASIS + (row / GROUP_HEADS) * RANK_Q;
                        float mixed = 0.0f;
                        for (uint r = 0; r < RANK_Q; r++) mixed = mad(mix[k][r], s1_row[r], mixed);
#else
                        float mixed = 0.0f;
                        for (uint d4 = 0; d4 < DIM4; d4++)
                            mixed = dot4_acc(mixed, basis[row * BASIS_STRIDE4 + d4], keys[(t * RANK_K + s) * DIM4 + d4]);
#endif
                        value = mad(LOAD_FACTOR(a_k, a_index + s), mixed, value);
                    }
                }
                score[k][i] = value;
                tile_max = fmax(tile_max, value);
            }
            if (row < ROWS && score_lane < SCORE_LANES) lane_max[score_lane * ROWS + row] = tile_max;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        /* ---- online softmax (base 2) and the value weights ---- */
        for (uint k = 0; k < ROWS_PER_ITEM; k++) {
            const uint row = row_of[k], h = row % GROUP_HEADS;
            if (row >= ROWS || score_lane >= SCORE_LANES) continue;
            float new_max = row_max[k];
            for (uint lane = 0; lane < SCORE_LANES; lane++) new_max = fmax(new_max, lane_max[lane * ROWS + row]);
            /* A row that has seen no position yet keeps max −∞: measure against 0 so that nothing is NaN. */
            const float reference = new_max == -INFINITY ? 0.0f : new_max;
            const float scale = exp2(row_max[k] - reference);
            float sum = row_sum[k] * scale;
            for (uint i = 0; i < TOKENS_PER_LANE; i++) {
                const uint t = score_lane + i * SCORE_LANES;
                if (t >= TILE) break;
                const float p = exp2(score[k][i] - reference);
                sum += p;
                const uint a_index = (slot_position0 + base + t) * (HEADS * RANK_V) + (h0 + h) * RANK_V;
                for (uint s = 0; s < RANK_V; s++)
                    weights[(t * RANK_V + s) * VALUE_ROWS + row] = p > 0.0f ? p * LOAD_FACTOR(a_v, a_index + s) : 0.0f;
            }
            row_sum[k] = sum;
            row_max[k] = new_max;
            if (score_lane == 0) row_scale[row] = scale;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        /* ---- acc += W·B_V ---- */
        for (uint k = 0; k < UNITS_PER_ITEM; k++) {
#if VALUE_LANES > 1
            const uint unit = lid % VALUE_UNITS;
            if (value_lane >= VALUE_LANES) continue;
#else
            const uint unit = lid + k * WG_SIZE;
            if (unit >= VALUE_UNITS) continue;
#endif
            const uint row_block = unit / DIM4, d4 = unit % DIM4;
            for (uint i = 0; i < VALUE_HEADS; i++) acc[k][i] *= row_scale[row_block * VALUE_HEADS + i];
            for (uint t = value_lane; t < TILE; t += VALUE_LANES)
                for (uint s = 0; s < RANK_V; s++) {
                    const float4 v = values[(t * RANK_V + s) * DIM4 + d4];
                    const __local float *w = weights + (t * RANK_V + s) * VALUE_ROWS + row_block * VALUE_HEADS;
                    for (uint i = 0; i < VALUE_HEADS; i++) acc[k][i] = mad((float4)(w[i]), v, acc[k][i]);
                }
        }
#else
        /* Loads only (B tiles above, A factors here): keep them alive with uses the compiler cannot drop. */
        for (uint k = 0; k < ROWS_PER_ITEM; k++) {
            const uint h = row_of[k] % GROUP_HEADS;
            for (uint i = 0; i < TOKENS_PER_LANE; i++) {
                const uint t = score_lane + i * SCORE_LANES;
                if (!row_active[k] || t >= n) continue;
                const uint position = slot_position0 + base + t;
                for (uint s = 0; s < RANK_K; s++) row_sum[k] += LOAD_FACTOR(a_k, position * (HEADS * RANK_K) + (h0 + h) * RANK_K + s);
                for (uint s = 0; s < RANK_V; s++) row_sum[k] += LOAD_FACTOR(a_v, position * (HEADS * RANK_V) + (h0 + h) * RANK_V + s);
            }
        }
        if (lid == 0) acc[0][0] += keys[n - 1] + values[n - 1];
#endif
    }

    /* ---- combine the work-items that shared a row or a value unit ---- */
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint k = 0; k < ROWS_PER_ITEM; k++)
        if (row_of[k] < ROWS && score_lane < SCORE_LANES) lane_max[score_lane * ROWS + row_of[k]] = row_sum[k];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint k = 0; k < ROWS_PER_ITEM; k++) {
        const uint row = row_of[k];
        if (row >= ROWS || score_lane != 0) continue;
        float sum = 0.0f;
        for (uint lane = 0; lane < SCORE_LANES; lane++) sum += lane_max[lane * ROWS + row];
        row_scale[row] = sum;
#if !T6_DIRECT
        if (row_active[k]) {
            const uint partial = ((row0 + row / GROUP_HEADS) * get_num_groups(0) + split) * HEADS + h0 +
                                 row % GROUP_HEADS;
            out[(size_t)partial_rows * HEAD_DIM + partial] = row_max[k] * M_LN2_F;
            out[(size_t)partial_rows * (HEAD_DIM + 1) + partial] = sum;
        }
#endif
    }
#if VALUE_LANES > 1
    /* lane_acc[unit][i]: one value lane at a time adds its partial sums into lane 0's. */
    for (uint lane = VALUE_LANES - 1; lane > 0; lane--) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (value_lane == lane)
            for (uint i = 0; i < VALUE_HEADS; i++) lane_acc[(lid % VALUE_UNITS) * VALUE_HEADS + i] = acc[0][i];
        barrier(CLK_LOCAL_MEM_FENCE);
        if (value_lane == 0)
            for (uint i = 0; i < VALUE_HEADS; i++) acc[0][i] += lane_acc[(lid % VALUE_UNITS) * VALUE_HEADS + i];
    }
#endif
    barrier(CLK_LOCAL_MEM_FENCE);

    /* ---- write: the output rows, or this split's partial rows ---- */
    for (uint k = 0; k < UNITS_PER_ITEM; k++) {
#if VALUE_LANES > 1
        const uint unit = lid % VALUE_UNITS;
        if (value_lane != 0) continue;
#else
        const uint unit = lid + k * WG_SIZE;
        if (unit >= VALUE_UNITS) continue;
#endif
        const uint row_block = unit / DIM4, d4 = unit % DIM4;
        for (uint i = 0; i < VALUE_HEADS; i++) {
            const uint row = row_block * VALUE_HEADS + i, q = row / GROUP_HEADS, h = row % GROUP_HEADS;
            if (row >= ROWS || q >= query_count || h >= heads_here) continue;
#if T6_DIRECT
            const float4 result = acc[k][i] * (value_scale / row_scale[row]);
            vstore4(result, 0, out + out_offset + ((size_t)(row0 + q) * HEADS + h0 + h) * HEAD_DIM + d4 * 4);
#else
            const uint partial = ((row0 + q) * get_num_groups(0) + split) * HEADS + h0 + h;
            vstore4(acc[k][i] * value_scale, 0, out + (size_t)partial * HEAD_DIM + d4 * 4);
#endif
        }
    }
}
