/* attention_mma.cl — factorized TPA decode and causal prefill on NVIDIA tensor cores (mma.sync m16n8k16, fp16
 * or bf16 operands, fp32 accumulation), FlashAttention-2 style, for fp16 and bf16 caches on sm_80 and later
 * (docs/ATTENTION.md, "Tensor cores", has the design and its instruction counts).
 *
 * A work-group takes QUERIES consecutive queries of one sequence (decode: one), every head, and one split of the
 * cached positions; its warps share each staged tile of the cache. Warp w serves query w / HEAD_TILES and owns the
 * m16 tile of heads 16·(w mod HEAD_TILES) .. +15 for the whole split, so every softmax statistic of a head lives
 * in one warp:
 *  query   q̃_h = c·log2(e)·Σ_r A_Q[h][r]·B_Q[r] (fp32, once per group), scaled per head by a power of two and
 *          split into QTERMS fp16/bf16 parts that sum to it (TPA.md: a query rounded once is never allowed);
 *  stages  STAGE positions of B_K, B_V (rows swizzled so that ldmatrix hits distinct banks), A_K and A_V move
 *          from global to local memory by 16-byte cp.async copies, STAGES deep, one barrier per stage;
 *  scores  S = q̃·B_Kᵀ on tensor cores, B fragments by ldmatrix from the key rows; score[h][m] =
 *          Σ_s A_K[m][h][s]·S[h][(m,s)] in fp32, in the registers of the lane that owns position m;
 *  softmax running max and sum per head row in registers: the max over positions is a max over the lane's
 *          values and two shuffles in its quad; accumulators are rescaled only when some row's max moved;
 *  values  W[h][(m,s)] = 2^(score − max)·A_V[m][h][s] goes from the score registers straight into the A
 *          fragments of acc += W·B_V (B fragments by ldmatrix.trans), split into PTERMS parts (strict: 2);
 *  causal  a query at position p sees positions ≤ p: positions past it are masked in the stages that hold them.
 * Lane c of a quad owns positions 4j + c of a stage (j < STAGE/4), so its score columns (position, rank) and its
 * value-product k slots (position, rank) are its own positions: no data crosses lanes between the products.
 *
 * Splits (`mode`): one split writes the normalized output at once; several write partial rows (acc, max in
 * natural-log units, sum: the layout of merge.cl), then either the host runs merge.cl (MODE_PARTIALS), or the
 * last group of each block of `fanin` splits merges that block and the last block merger of a query tile merges
 * the blocks into the output rows (MODE_MERGE), so that a call is one launch.
 *
 * The warp-level instructions and what is done with fragments (the query's split, a tile of scores, the online
 * softmax, a step of the value product) come from mma.cl, put in front of this file: T6_MMA 1 runs the PTX
 * instructions (NVIDIA only, after lib/runtime/mma_probe.c's probe), T6_MMA 2 their emulation, so that any
 * device — PoCL in the tests — checks the kernel's indexing, staging, masking, merge and precision.
 *
 * Shape macros set by the host (not tuned): T6_PREFILL (prefill's tunables, else decode's), T6_HEADS,
 * T6_RANK_Q, T6_RANK_K, T6_RANK_V, and mma.cl's (T6_HEAD_DIM, T6_CACHE_DTYPE, T6_MMA, T6_QTERMS, T6_PTERMS).
 */
/* Read by the host only (lib/ops/attention_mma.c), defined here beside the kernel's own tunables. */
#ifndef T6_DEC_MERGE
#define T6_DEC_MERGE 2 /* host: 0 merge.cl after the launch, 1 or 2 (by device) the last groups merge */
#endif
#ifndef T6_DEC_FANIN
#define T6_DEC_FANIN 0 /* host: splits merged per block by the last group; 0: about √splits */
#endif
#ifndef T6_PRE_MMA
#define T6_PRE_MMA 1 /* host: 1 tensor cores where the probe passes, 0 never, 2 emulated (tests) */
#endif

#ifdef T6_PREFILL
#ifndef T6_PRE_STAGE
#define T6_PRE_STAGE 32 /* cached positions per pipeline stage: 16 or 32 */
#endif
#ifndef T6_PRE_STAGES
#define T6_PRE_STAGES 3 /* stages in flight in local memory: 2 to 4 */
#endif
#ifndef T6_PRE_QUERIES
#define T6_PRE_QUERIES 4 /* consecutive queries per work-group, sharing each stage (the host fits it) */
#endif
#define STAGE T6_PRE_STAGE
#define STAGES T6_PRE_STAGES
#define QUERIES T6_PRE_QUERIES
#else
#ifndef T6_DEC_STAGE
#define T6_DEC_STAGE 32 /* cached positions per pipeline stage: 16 or 32 */
#endif
#ifndef T6_DEC_STAGES
#define T6_DEC_STAGES 3 /* stages in flight in local memory: 2 to 4 */
#endif
#define STAGE T6_DEC_STAGE
#define STAGES T6_DEC_STAGES
#define QUERIES 1
#endif

#ifndef T6_HEADS
#define T6_HEADS 32 /* H: set by the host, not tuned */
#endif
#ifndef T6_RANK_Q
#define T6_RANK_Q 16
#endif
#ifndef T6_RANK_K
#define T6_RANK_K 1
#endif
#ifndef T6_RANK_V
#define T6_RANK_V 1
#endif

#define HEADS T6_HEADS
#define DIM4 (HEAD_DIM / 4)
#define RANK_Q T6_RANK_Q
#define RANK_K T6_RANK_K
#define RANK_V T6_RANK_V
#define HEAD_TILES ((HEADS + 15) / 16)
#define WARPS (HEAD_TILES * QUERIES)
#define WG_SIZE (32 * WARPS)
#define QUERY_ROW (HEADS * RANK_Q + RANK_Q * HEAD_DIM) /* floats per query: A_Q then B_Q */
#define OWN (STAGE / 4)                                /* positions of a stage each lane owns */

#define MODE_OUTPUT 0
#define MODE_PARTIALS 1
#define MODE_MERGE 2

/* ---- the stage's local memory, in bytes: B rows as mma.cl lays them out, then the A factors ---- */
#define KEY_ROWS (STAGE * RANK_K)
#define VALUE_ROWS (STAGE * RANK_V)
/* A factors: the stage's positions are one contiguous run of bytes, copied in aligned 16-byte chunks from the
 * chunk that holds its first byte (its shift: 0 to 14 bytes into it): one chunk more than the run needs. */
#define AK_BYTES (STAGE * HEADS * RANK_K * 2)
#define AV_BYTES (STAGE * HEADS * RANK_V * 2)
#define AK_CHUNKS (AK_BYTES / 16 + 1)
#define AV_CHUNKS (AV_BYTES / 16 + 1)
#define BK_AT 0
#define BV_AT (BK_AT + KEY_ROWS * ROW_BYTES)
#define AK_AT (BV_AT + VALUE_ROWS * ROW_BYTES)
#define AV_AT (AK_AT + AK_CHUNKS * 16)
#define STAGE_BYTES (AV_AT + AV_CHUNKS * 16)

/* ---- the merge of the splits by the last groups (MODE_MERGE) ---- */

/* Merges `count` partial rows per head — row first + j·HEADS + h for j < count, in a layout of `rows` rows
 * starting at `partials` (acc, then max, then sum) — into `dest`: with dest_rows 0, the normalized output row
 * (HEADS × HEAD_DIM floats); otherwise rows dest_first + h of a partial layout of dest_rows rows. Every
 * work-item of every group calls it (its barrier is never under a condition); a group that is not the merger
 * passes count 0 and writes nothing. `weights` holds count·HEADS floats, `totals` 2·HEADS; a caller that
 * merges again with them needs a barrier in between. */
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
            a0 = mad((float4)(weights[j * HEADS + h]), acc[(first + j * HEADS + h) * DIM4 + d4], a0);
            a1 = mad((float4)(weights[(j + 1) * HEADS + h]), acc[(first + (j + 1) * HEADS + h) * DIM4 + d4], a1);
            a2 = mad((float4)(weights[(j + 2) * HEADS + h]), acc[(first + (j + 2) * HEADS + h) * DIM4 + d4], a2);
            a3 = mad((float4)(weights[(j + 3) * HEADS + h]), acc[(first + (j + 3) * HEADS + h) * DIM4 + d4], a3);
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
    device_fence();
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0) {
        const bool last = arrives && atomic_inc(counter) == expected - 1;
        if (last) atomic_xchg(counter, 0u);
        *flag = last;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const bool last = *flag != 0;
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    device_fence();
    return last;
}

/* ---- the kernel ---- */

/* Copies per work-item and stage (the last round may be partly idle). */
#define KEY_COPIES ((KEY_ROWS * CHUNKS + WG_SIZE - 1) / WG_SIZE)
#define VALUE_COPIES ((VALUE_ROWS * CHUNKS + WG_SIZE - 1) / WG_SIZE)
#define AK_COPIES ((AK_CHUNKS + WG_SIZE - 1) / WG_SIZE)
#define AV_COPIES ((AV_CHUNKS + WG_SIZE - 1) / WG_SIZE)

/* Where the next stage's copies come from: B_K and B_V rows from `keys`, `values` (the stage's first row), A_K
 * and A_V from the aligned chunks at `a_keys`, `a_values`, whose first `ak_shift`, `av_shift` bytes belong to the
 * position before the stage. */
typedef struct copy_source {
    const __global uchar *keys, *values, *a_keys, *a_values;
    uint ak_shift, av_shift;
} copy_source;

/* Issues the copies of the next stage into `stage` and moves `from` past it: rows past `valid` positions and
 * bytes past them are zero-filled, never read. `key_at` and `value_at`: this work-item's swizzled destinations,
 * fixed for the split. */
inline void issue_stage(__local uchar *stage, copy_source *from, uint valid, const uint *key_at,
                        const uint *value_at)
{
    const uint lid = get_local_id(0);
    const __global uchar *keys = from->keys, *values = from->values, *a_keys = from->a_keys,
                         *a_values = from->a_values;
    const int ak_end = (int)(from->ak_shift + valid * (HEADS * RANK_K * 2));
    const int av_end = (int)(from->av_shift + valid * (HEADS * RANK_V * 2));
    UNROLL
    for (uint i = 0; i < KEY_COPIES; i++) {
        const uint j = lid + i * WG_SIZE;
        if (KEY_ROWS * CHUNKS % WG_SIZE == 0 || j < KEY_ROWS * CHUNKS)
            copy16(stage + key_at[i], keys + j * 16, j / (CHUNKS * RANK_K) < valid ? 16 : 0);
    }
    UNROLL
    for (uint i = 0; i < VALUE_COPIES; i++) {
        const uint j = lid + i * WG_SIZE;
        if (VALUE_ROWS * CHUNKS % WG_SIZE == 0 || j < VALUE_ROWS * CHUNKS)
            copy16(stage + value_at[i], values + j * 16, j / (CHUNKS * RANK_V) < valid ? 16 : 0);
    }
    UNROLL
    for (uint i = 0; i < AK_COPIES; i++) {
        const uint j = lid + i * WG_SIZE;
        if (j < AK_CHUNKS) copy16(stage + AK_AT + j * 16, a_keys + j * 16, (uint)clamp(ak_end - (int)(j * 16), 0, 16));
    }
    UNROLL
    for (uint i = 0; i < AV_COPIES; i++) {
        const uint j = lid + i * WG_SIZE;
        if (j < AV_CHUNKS)
            copy16(stage + AV_AT + j * 16, a_values + j * 16, (uint)clamp(av_end - (int)(j * 16), 0, 16));
    }
    from->keys += STAGE * RANK_K * HEAD_DIM * 2;
    from->values += STAGE * RANK_V * HEAD_DIM * 2;
    from->a_keys += AK_BYTES;
    from->a_values += AV_BYTES;
}

#if T6_MMA == 2
#define EXCHANGE_FLOATS (WARPS * 384)
#else
#define EXCHANGE_FLOATS 1
#endif

__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void t6_attention_mma(const __global float *query, uint query_offset, const __global uchar *a_k,
                      const __global uchar *a_v, const __global uchar *b_k, const __global uchar *b_v,
                      uint capacity, const __global int4 *tiles, uint rows, uint split_length, float score_scale,
                      float value_scale, __global float *out, uint out_offset, uint mode,
                      __global float *partials, uint level2, volatile __global uint *counters, uint fanin)
{
    __local uint4 stage_memory[STAGES * STAGE_BYTES / 16];
    __local float exchange[EXCHANGE_FLOATS];
    __local float merge_totals[2 * HEADS];
    __local int flag;
    (void)exchange;

    const uint lid = get_local_id(0), warp = lid / 32, lane = lid % 32, g = lane / 4, c = lane % 4;
    const uint split = get_group_id(0), splits = get_num_groups(0), tile_index = get_group_id(2);
    /* The tile: `count` (≤ QUERIES) consecutive queries of one sequence, the first at position `start` and row
     * `row0`; the last sees positions < end. */
    const int4 tile = tiles[tile_index];
    const uint slot = (uint)tile.x, row0 = (uint)tile.y, count = (uint)tile.z, start = (uint)tile.w;
    const uint end = start + count;
    const uint first = split * split_length, last = min(first + split_length, end);
    const uint partial_rows = rows * splits * HEADS;
    const size_t position0 = (size_t)slot * capacity;
    __local uchar *stages = (__local uchar *)stage_memory;
    /* This warp's query: past the tile's count a warp computes the last query again and stores nothing. */
    const uint query_of = warp / HEAD_TILES, head_tile = warp % HEAD_TILES;
    const bool stores = query_of < count;
    const uint row = row0 + min(query_of, count - 1);
    const uint own_end = min(last, start + min(query_of, count - 1) + 1); /* this query sees positions < own_end */

    if (first >= end) {
        if (mode == MODE_PARTIALS) {
            /* merge.cl reads every split: this one is empty. */
            for (uint q = 0; q < count; q++) {
                const uint partial0 = ((row0 + q) * splits + split) * HEADS;
                for (uint i = lid; i < HEADS * HEAD_DIM; i += WG_SIZE) partials[(size_t)partial0 * HEAD_DIM + i] = 0.0f;
                for (uint h = lid; h < HEADS; h += WG_SIZE) {
                    partials[(size_t)partial_rows * HEAD_DIM + partial0 + h] = -INFINITY;
                    partials[(size_t)partial_rows * (HEAD_DIM + 1) + partial0 + h] = 0.0f;
                }
            }
        }
        return; /* before any barrier, and the same for the whole group */
    }

    /* ---- the first stages in flight before anything else ---- */
    const uint stage_count = (last - first + STAGE - 1) / STAGE;
    uint key_at[KEY_COPIES], value_at[VALUE_COPIES];
    UNROLL
    for (uint i = 0; i < KEY_COPIES; i++) {
        const uint j = lid + i * WG_SIZE;
        key_at[i] = BK_AT + row_chunk(j / CHUNKS, j % CHUNKS);
    }
    UNROLL
    for (uint i = 0; i < VALUE_COPIES; i++) {
        const uint j = lid + i * WG_SIZE;
        value_at[i] = BV_AT + row_chunk(j / CHUNKS, j % CHUNKS);
    }
    /* Stages are 16·k positions long, so the A factors' offset in their first chunk is the same in every stage. */
    const size_t ak_first = (position0 + first) * (HEADS * RANK_K * 2);
    const size_t av_first = (position0 + first) * (HEADS * RANK_V * 2);
    const uint ak_shift = (uint)(ak_first % 16), av_shift = (uint)(av_first % 16);
    copy_source from = {b_k + (position0 + first) * (RANK_K * HEAD_DIM * 2),
                        b_v + (position0 + first) * (RANK_V * HEAD_DIM * 2),
                        a_k + (ak_first - ak_shift),
                        a_v + (av_first - av_shift),
                        ak_shift,
                        av_shift};
    UNROLL
    for (uint s = 0; s + 1 < STAGES; s++) {
        if (s < stage_count)
            issue_stage(stages + s * STAGE_BYTES, &from, min((uint)STAGE, last - first - s * STAGE), key_at, value_at);
        copies_commit();
    }

    /* ---- q̃ for this lane's two head rows, scaled per head by 2^e and split into QTERMS parts ---- */
    const uint head_top = 16 * head_tile + g, head_bottom = head_top + 8;
    const __global float *q = query + query_offset + (size_t)row * QUERY_ROW;
    float qv[KSTEPS][8]; /* per k step: top row k 2c, 2c+1, bottom row the same, top k 2c+8, 2c+9, bottom */
    UNROLL
    for (uint kk = 0; kk < KSTEPS; kk++)
        UNROLL
        for (uint i = 0; i < 8; i++) qv[kk][i] = 0.0f;
    for (uint r = 0; r < RANK_Q; r++) {
        const float top = head_top < HEADS ? q[head_top * RANK_Q + r] * score_scale : 0.0f;
        const float bottom = head_bottom < HEADS ? q[head_bottom * RANK_Q + r] * score_scale : 0.0f;
        const __global float *bq = q + HEADS * RANK_Q + r * HEAD_DIM;
        UNROLL
        for (uint kk = 0; kk < KSTEPS; kk++) {
            const float2 low = vload2(0, bq + 16 * kk + 2 * c), high = vload2(0, bq + 16 * kk + 2 * c + 8);
            qv[kk][0] = mad(top, low.x, qv[kk][0]);
            qv[kk][1] = mad(top, low.y, qv[kk][1]);
            qv[kk][2] = mad(bottom, low.x, qv[kk][2]);
            qv[kk][3] = mad(bottom, low.y, qv[kk][3]);
            qv[kk][4] = mad(top, high.x, qv[kk][4]);
            qv[kk][5] = mad(top, high.y, qv[kk][5]);
            qv[kk][6] = mad(bottom, high.x, qv[kk][6]);
            qv[kk][7] = mad(bottom, high.y, qv[kk][7]);
        }
    }
    frag qa[QTERMS][KSTEPS][4];
    float unscale[2]; /* the rows' scores times these are the true ones */
    split_query(qv, qa, unscale EMU_ARG);

    /* This lane's addresses in a stage, fixed for the split. ldmatrix rows: the score product's tile t and the
     * value product's k step kk add whole multiples of 8 rows, which keep the swizzle, so they are constants. */
    const uint n = lane % 8, quarter = lane / 8;
    uint key_at_s[RANK_K][KPAIRS], value_at_s[RANK_V][NTILES / 2];
    UNROLL
    for (uint s = 0; s < RANK_K; s++)
        UNROLL
        for (uint kp = 0; kp < KPAIRS; kp++) /* a pair of k steps past D re-reads the last chunk */
            key_at_s[s][kp] = BK_AT + row_chunk((4 * (n % 2) + n / 2) * RANK_K + s, min(4 * kp + quarter, CHUNKS - 1u));
    {
        /* value-product k = n + 8·(quarter mod 2): slot 2·(k ≥ 8) + k mod 2 of lane (k mod 8)/2 */
        const uint k = n + 8 * (quarter % 2), p = 4 * (2 * (k / 8) + k % 2) + (k % 8) / 2;
        UNROLL
        for (uint s = 0; s < RANK_V; s++)
            UNROLL
            for (uint t = 0; t < NTILES / 2; t++) value_at_s[s][t] = BV_AT + row_chunk(p * RANK_V + s, 2 * t + quarter / 2);
    }
    /* A factors of position 4j + c, rank s: at + (4j·H·R + s)·2. Padded heads (H not a multiple of 16) read a real
     * head: their q̃ rows are zero and their outputs are never stored, and mma rows do not mix. */
    const uint top_read = min(head_top, (uint)HEADS - 1), bottom_read = min(head_bottom, (uint)HEADS - 1);
    const uint ak_top_at = AK_AT + ak_shift + (c * HEADS + top_read) * RANK_K * 2;
    const uint ak_bottom_at = AK_AT + ak_shift + (c * HEADS + bottom_read) * RANK_K * 2;
    const uint av_top_at = AV_AT + av_shift + (c * HEADS + top_read) * RANK_V * 2;
    const uint av_bottom_at = AV_AT + av_shift + (c * HEADS + bottom_read) * RANK_V * 2;

    float acc[NTILES][4];
    UNROLL
    for (uint t = 0; t < NTILES; t++) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = 0.0f;
    /* Running max of the true scores (base 2) and sums, top row then bottom. */
    float ref[2] = {-INFINITY, -INFINITY}, sum[2] = {0.0f, 0.0f};
    uint stage_at = 0, ahead_at = (STAGES - 1) * STAGE_BYTES;

    for (uint st = 0; st < stage_count; st++) {
        COPIES_WAIT(STAGES - 2);
        barrier(CLK_LOCAL_MEM_FENCE); /* stage st is in; every warp is done with stage st − 1 */
        if (st + STAGES - 1 < stage_count)
            issue_stage(stages + ahead_at, &from, min((uint)STAGE, last - first - (st + STAGES - 1) * STAGE), key_at,
                        value_at);
        copies_commit();
        ahead_at = ahead_at + STAGE_BYTES == STAGES * STAGE_BYTES ? 0 : ahead_at + STAGE_BYTES;
        const __local uchar *stage = stages + stage_at;
        stage_at = stage_at + STAGE_BYTES == STAGES * STAGE_BYTES ? 0 : stage_at + STAGE_BYTES;

        /* ---- scores of the lane's positions 4j + c: Σ_s A_K·(q̃·B_K) ---- */
        float top_score[OWN], bottom_score[OWN];
        UNROLL
        for (uint j = 0; j < OWN; j++) top_score[j] = bottom_score[j] = 0.0f;
        UNROLL
        for (uint s = 0; s < RANK_K; s++) {
            UNROLL
            for (uint t = 0; t < OWN / 2; t++) {
                /* n8 tile t of rank s: column n is position 4(2t + n mod 2) + n/2, held by lane n/2. */
                float d[4];
                key_tile(d, qa, stage, key_at_s[s], t * 8 * RANK_K * ROW_BYTES EMU_ARG);
                /* d[e]: top row, column 2c + e = position 4(2t + e) + c; d[2 + e] the bottom row. */
                UNROLL
                for (uint e = 0; e < 2; e++) {
                    const uint j = 2 * t + e, at = (4 * j * HEADS * RANK_K + s) * 2;
                    top_score[j] = mad(stored_value(stage, ak_top_at + at), d[e], top_score[j]);
                    bottom_score[j] = mad(stored_value(stage, ak_bottom_at + at), d[2 + e], bottom_score[j]);
                }
            }
        }

        /* ---- the online softmax (positions past the split masked, only in its last stage) ---- */
        if (first + st * STAGE + STAGE > own_end) {
            UNROLL
            for (uint j = 0; j < OWN; j++)
                if (first + st * STAGE + 4 * j + c >= own_end) top_score[j] = bottom_score[j] = -INFINITY;
        }
        stage_softmax(top_score, bottom_score, OWN, unscale, ref, sum, acc EMU_ARG);

        /* ---- acc += W·B_V, W = P·A_V, k slots (position, rank) of the lane's own positions ---- */
        UNROLL
        for (uint s = 0; s < RANK_V; s++) {
            UNROLL
            for (uint kk = 0; kk < OWN / 4; kk++) {
                /* slots j = 4kk + {0, 1} at k 2c, 2c+1 and 4kk + {2, 3} at k 2c+8, 2c+9 */
                float w[8]; /* top j0, top j1, bottom j0, bottom j1, top j2, top j3, bottom j2, bottom j3 */
                UNROLL
                for (uint e = 0; e < 4; e++) {
                    const uint j = 4 * kk + e, at = (4 * j * HEADS * RANK_V + s) * 2;
                    w[(e / 2) * 4 + e % 2] = top_score[j] * stored_value(stage, av_top_at + at);
                    w[(e / 2) * 4 + 2 + e % 2] = bottom_score[j] * stored_value(stage, av_bottom_at + at);
                }
                value_step(acc, w, stage, value_at_s[s], kk * 16 * RANK_V * ROW_BYTES EMU_ARG);
            }
        }
    }
    COPIES_WAIT(0);

    const float top_sum = quad_sum(sum[0] EMU_ARG), bottom_sum = quad_sum(sum[1] EMU_ARG);

    /* ---- write: the output row (normalized), or this split's partial rows ---- */
    const uint partial0 = (row * splits + split) * HEADS;
    __global float *dest = mode == MODE_OUTPUT ? out + out_offset + (size_t)row * HEADS * HEAD_DIM
                                               : partials + (size_t)partial0 * HEAD_DIM;
    const float top_scale = mode == MODE_OUTPUT ? value_scale / top_sum : value_scale;
    const float bottom_scale = mode == MODE_OUTPUT ? value_scale / bottom_sum : value_scale;
    UNROLL
    for (uint t = 0; t < NTILES; t++) {
        const uint e = 8 * t + 2 * c;
        if (!stores) break;
        if (head_top < HEADS)
            vstore2((float2)(acc[t][0], acc[t][1]) * top_scale, 0, dest + head_top * HEAD_DIM + e);
        if (head_bottom < HEADS)
            vstore2((float2)(acc[t][2], acc[t][3]) * bottom_scale, 0, dest + head_bottom * HEAD_DIM + e);
    }
    if (mode != MODE_OUTPUT && c == 0 && stores) {
        if (head_top < HEADS) {
            partials[(size_t)partial_rows * HEAD_DIM + partial0 + head_top] = ref[0] * M_LN2_F;
            partials[(size_t)partial_rows * (HEAD_DIM + 1) + partial0 + head_top] = top_sum;
        }
        if (head_bottom < HEADS) {
            partials[(size_t)partial_rows * HEAD_DIM + partial0 + head_bottom] = ref[1] * M_LN2_F;
            partials[(size_t)partial_rows * (HEAD_DIM + 1) + partial0 + head_bottom] = bottom_sum;
        }
    }
    if (mode == MODE_MERGE) {
        /* ---- the last group of this block of splits merges it; the last block merger merges the blocks ---- */
        const uint active_splits = (end + split_length - 1) / split_length;
        const uint blocks = (active_splits + fanin - 1) / fanin, block_of = split / fanin;
        const uint blocks_max = (splits + fanin - 1) / fanin;
        const uint in_block = min(fanin, active_splits - block_of * fanin);
        volatile __global uint *tile_counters = counters + tile_index * (blocks_max + 1);
        /* The stages are free now (the host checked that fanin·H and blocks·H floats fit). */
        __local float *merge_weights = (__local float *)stage_memory;
        const uint rows2 = rows * blocks_max * HEADS;
        bool merges = true; /* this group took part in the level */
        for (uint level = 0; level < 2; level++) {
            const bool single = blocks == 1;
            merges = last_to_arrive(tile_counters + (level == 0 ? block_of : blocks_max),
                                    level == 0 ? in_block : blocks, merges && (level == 0 || !single), &flag);
            const uint merged = !merges ? 0 : level == 0 ? in_block : blocks;
            const bool to_output = level == 1 || single;
            for (uint q = 0; q < count; q++) { /* the tile's rows, one after the other */
                const uint r = row0 + q;
                merge_partials(level == 0 ? partials : partials + level2, level == 0 ? partial_rows : rows2,
                               level == 0 ? (r * splits + block_of * fanin) * HEADS : r * blocks_max * HEADS, merged,
                               to_output ? out + out_offset + (size_t)r * HEADS * HEAD_DIM : partials + level2,
                               to_output ? 0 : rows2, (r * blocks_max + block_of) * HEADS, merge_weights,
                               merge_totals);
                /* The next row's weights must not overwrite those that other work-items still read. Without
                 * this barrier t6-tune found relative errors of 0.10 and 0.17 on an H100 (512 queries of
                 * T6-medium from position 0) and Oclgrind reports the race (tests/check_races.cmake); PoCL runs
                 * a group in lockstep between barriers and never showed it. Decode merges one row: no barrier,
                 * and its code is as it was. */
                if (q + 1 < count) barrier(CLK_LOCAL_MEM_FENCE);
            }
        }
    }
}
