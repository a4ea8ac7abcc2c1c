/* mha_mma.cl — MHA/GQA/MQA causal prefill on NVIDIA tensor cores (mma.sync m16n8k16, fp16 or bf16 operands,
 * fp32 accumulation), FlashAttention-2 style, over a K/V cache laid out [slot][position][kv_head][d] in fp16 or
 * bf16 (the conventional cache, or the materialized baseline's scratch). mma.cl, in front of this file, holds the
 * warp-level layer and what is done with fragments; attention_mma.cl is the same machinery over TPA's factors.
 *
 * A work-group takes 16·WARPS query vectors of one batch entry and one kv head — the (position, head) pairs of
 * that kv head's query heads, heads fastest, as in mha.cl's kernel 3, so that a GQA group shares every stage —
 * and walks the keys from position 0 up to its last vector's position, in stages of STAGE positions of K and V
 * moved by 16-byte cp.async copies into swizzled local memory, STAGES deep, one barrier per stage. Warp w owns
 * vectors 16w .. 16w + 15 as the m16 rows of its fragments, for the whole walk:
 *  query   q·scale·log2(e) per row, scaled by a power of two and split into QTERMS parts (TPA.md: a query is never
 *          rounded once), once;
 *  scores  S = q·Kᵀ per stage, K fragments by ldmatrix from the key rows;
 *  softmax running max and sum per row in registers;
 *  values  acc += P·V with P split into PTERMS parts (strict: 2, fast: 1), V fragments by ldmatrix.trans.
 * Lane c of a quad owns positions 4j + c of a stage (the key rows are read in that order), so its score columns
 * are its own k slots of the value product and nothing crosses lanes between the products. Causal masks apply
 * only in the stages that reach past a warp's first row; on the GPU a warp whose rows all precede a stage skips
 * its arithmetic (it still copies and meets the barrier).
 *
 * Tunables: T6_MHP_STAGE, T6_MHP_STAGES, T6_MHP_WARPS; the host reads T6_MHP_MMA. Shape macros set by the host:
 * mma.cl's (T6_HEAD_DIM, T6_CACHE_DTYPE, T6_MMA, T6_QTERMS, T6_PTERMS).
 */
#ifndef T6_MHP_MMA
#define T6_MHP_MMA 1 /* host: 1 tensor cores where the probe passes, 0 never, 2 emulated (tests) */
#endif
#ifndef T6_MHP_STAGE
#define T6_MHP_STAGE 32 /* positions per pipeline stage: 16, 32 or 64 */
#endif
#ifndef T6_MHP_STAGES
#define T6_MHP_STAGES 3 /* stages in flight in local memory: 2 to 4 */
#endif
#ifndef T6_MHP_WARPS
#define T6_MHP_WARPS 4 /* warps per work-group, 16 query vectors each: 1, 2, 4 or 8 */
#endif

#define STAGE T6_MHP_STAGE
#define STAGES T6_MHP_STAGES
#define WARPS T6_MHP_WARPS
#define WG_SIZE (32 * WARPS)
#define VECTORS (16 * WARPS)                 /* query vectors per work-group */
#define OWN (STAGE / 4)                      /* positions of a stage each lane owns */
#define STAGE_BYTES (2 * STAGE * ROW_BYTES) /* K rows, then V rows */
#define COPIES ((STAGE * CHUNKS + WG_SIZE - 1) / WG_SIZE) /* 16-byte copies per work-item, stage and matrix */

#if T6_MMA == 2
#define EXCHANGE_FLOATS (WARPS * 384)
#else
#define EXCHANGE_FLOATS 1
#endif

/* Issues the copies of the stage of positions first .. first + STAGE − 1 into `stage`: rows at or past `end` are
 * zero-filled, never read (their scores are masked). `at`: this work-item's swizzled destinations. */
inline void issue_stage(__local uchar *stage, const __global uchar *keys, const __global uchar *values,
                        uint row_stride, uint first, uint end, const uint *at)
{
    const uint lid = get_local_id(0);
    UNROLL
    for (uint i = 0; i < COPIES; i++) {
        const uint j = lid + i * WG_SIZE, position = first + j / CHUNKS;
        if (STAGE * CHUNKS % WG_SIZE == 0 || j < STAGE * CHUNKS) {
            const size_t from = (size_t)min(position, end - 1) * row_stride + (j % CHUNKS) * 16;
            const uint valid = position < end ? 16 : 0;
            copy16(stage + at[i], keys + from, valid);
            copy16(stage + STAGE * ROW_BYTES + at[i], values + from, valid);
        }
    }
}

/* entries: batch × {slot, start, count, first query row}. q and out: rows × heads × head_dim fp32. slot_stride in
 * elements of the cache. Work-groups: (vector block, kv head, batch entry). */
__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void t6_mha_mma(const __global uchar *k_cache, const __global uchar *v_cache, ulong slot_stride, uint kv_heads,
                uint group, const __global int *entries, const __global float *q, uint q_offset, float score_scale,
                __global float *out, uint out_offset)
{
    __local uint4 stage_memory[STAGES * STAGE_BYTES / 16];
    __local float exchange[EXCHANGE_FLOATS];
    (void)exchange;
    __local uchar *stages = (__local uchar *)stage_memory;

    const uint lid = get_local_id(0), warp = lid / 32, lane = lid % 32, g = lane / 4, c = lane % 4;
    const uint kv_head = get_group_id(1), b = get_group_id(2);
    const int slot = entries[4 * b], start = entries[4 * b + 1], count = entries[4 * b + 2];
    const uint first_row = (uint)entries[4 * b + 3];
    const uint vectors = (uint)count * group, v0 = get_group_id(0) * VECTORS;
    if (v0 >= vectors) return; /* the whole work-group, before any barrier: a shorter entry than the widest */
    const uint heads = kv_heads * group;
    const uint end = (uint)start + (min(v0 + VECTORS, vectors) - 1) / group + 1; /* keys seen: 0 .. end − 1 */
    const uint stage_count = (end + STAGE - 1) / STAGE;

    /* ---- the first stages in flight before anything else ---- */
    const uint row_stride = kv_heads * HEAD_DIM * 2; /* bytes from one position to the next */
    const size_t head0 = ((size_t)slot * slot_stride + kv_head * HEAD_DIM) * 2;
    const __global uchar *keys = k_cache + head0, *values = v_cache + head0;
    uint copy_at[COPIES];
    UNROLL
    for (uint i = 0; i < COPIES; i++) {
        const uint j = lid + i * WG_SIZE;
        copy_at[i] = row_chunk(j / CHUNKS, j % CHUNKS);
    }
    UNROLL
    for (uint s = 0; s + 1 < STAGES; s++) {
        if (s < stage_count) issue_stage(stages + s * STAGE_BYTES, keys, values, row_stride, s * STAGE, end, copy_at);
        copies_commit();
    }

    /* ---- the warp's rows: vectors past the entry's count repeat its last one and are not stored ---- */
    const uint v_top = min(v0 + 16 * warp + g, vectors - 1), v_bottom = min(v0 + 16 * warp + g + 8, vectors - 1);
    const uint top_position = (uint)start + v_top / group, bottom_position = (uint)start + v_bottom / group;
    const uint warp_first = (uint)start + min(v0 + 16 * warp, vectors - 1) / group;
    const uint warp_last = (uint)start + min(v0 + 16 * warp + 15, vectors - 1) / group;
    const __global float *q_top =
        q + q_offset + ((first_row + v_top / group) * heads + kv_head * group + v_top % group) * HEAD_DIM;
    const __global float *q_bottom =
        q + q_offset + ((first_row + v_bottom / group) * heads + kv_head * group + v_bottom % group) * HEAD_DIM;
    float qv[KSTEPS][8];
    UNROLL
    for (uint kk = 0; kk < KSTEPS; kk++) {
        const float2 top_low = vload2(0, q_top + 16 * kk + 2 * c), top_high = vload2(0, q_top + 16 * kk + 2 * c + 8);
        const float2 bottom_low = vload2(0, q_bottom + 16 * kk + 2 * c);
        const float2 bottom_high = vload2(0, q_bottom + 16 * kk + 2 * c + 8);
        qv[kk][0] = top_low.x * score_scale, qv[kk][1] = top_low.y * score_scale;
        qv[kk][2] = bottom_low.x * score_scale, qv[kk][3] = bottom_low.y * score_scale;
        qv[kk][4] = top_high.x * score_scale, qv[kk][5] = top_high.y * score_scale;
        qv[kk][6] = bottom_high.x * score_scale, qv[kk][7] = bottom_high.y * score_scale;
    }
    frag qa[QTERMS][KSTEPS][4];
    float unscale[2]; /* the rows' scores times these are the true ones */
    split_query(qv, qa, unscale EMU_ARG);

    /* This lane's ldmatrix rows in a stage (attention_mma.cl's with one rank): n8 tile t and k16 step kk add whole
     * multiples of 8 rows, which keep the swizzle, so they are offsets. */
    const uint n = lane % 8, quarter = lane / 8;
    uint key_at[KPAIRS], value_at[NTILES / 2];
    UNROLL
    for (uint kp = 0; kp < KPAIRS; kp++) /* a pair of k steps past D re-reads the last chunk */
        key_at[kp] = row_chunk(4 * (n % 2) + n / 2, min(4 * kp + quarter, CHUNKS - 1u));
    {
        /* value-product k = n + 8·(quarter mod 2): slot 2·(k ≥ 8) + k mod 2 of lane (k mod 8)/2 */
        const uint k = n + 8 * (quarter % 2), p = 4 * (2 * (k / 8) + k % 2) + (k % 8) / 2;
        UNROLL
        for (uint t = 0; t < NTILES / 2; t++) value_at[t] = STAGE * ROW_BYTES + row_chunk(p, 2 * t + quarter / 2);
    }

    float acc[NTILES][4];
    UNROLL
    for (uint t = 0; t < NTILES; t++) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = 0.0f;
    float ref[2] = {-INFINITY, -INFINITY}, sum[2] = {0.0f, 0.0f}; /* running max (true, base 2) and sums */
    uint stage_at = 0, ahead_at = (STAGES - 1) * STAGE_BYTES;

    for (uint st = 0; st < stage_count; st++) {
        COPIES_WAIT(STAGES - 2);
        barrier(CLK_LOCAL_MEM_FENCE); /* stage st is in; every warp is done with stage st − 1 */
        if (st + STAGES - 1 < stage_count)
            issue_stage(stages + ahead_at, keys, values, row_stride, (st + STAGES - 1) * STAGE, end, copy_at);
        copies_commit();
        ahead_at = ahead_at + STAGE_BYTES == STAGES * STAGE_BYTES ? 0 : ahead_at + STAGE_BYTES;
        const __local uchar *stage = stages + stage_at;
        stage_at = stage_at + STAGE_BYTES == STAGES * STAGE_BYTES ? 0 : stage_at + STAGE_BYTES;
        const uint first = st * STAGE;
#if T6_MMA == 1
        /* Every row of this warp precedes the stage (the emulation's barriers need every warp, so it masks). */
        if (first > warp_last) continue;
#endif

        /* ---- scores of the lane's positions 4j + c ---- */
        float top_score[OWN], bottom_score[OWN];
        UNROLL
        for (uint t = 0; t < OWN / 2; t++) {
            /* n8 tile t: column n is position 4(2t + n mod 2) + n/2; d[e] (top) and d[2 + e] (bottom) are
             * position 4(2t + e) + c */
            float d[4];
            key_tile(d, qa, stage, key_at, t * 8 * ROW_BYTES EMU_ARG);
            top_score[2 * t] = d[0], top_score[2 * t + 1] = d[1];
            bottom_score[2 * t] = d[2], bottom_score[2 * t + 1] = d[3];
        }
        if (first + STAGE - 1 > warp_first) { /* causal */
            UNROLL
            for (uint j = 0; j < OWN; j++) {
                const uint position = first + 4 * j + c;
                if (position > top_position) top_score[j] = -INFINITY;
                if (position > bottom_position) bottom_score[j] = -INFINITY;
            }
        }
        stage_softmax(top_score, bottom_score, OWN, unscale, ref, sum, acc EMU_ARG);

        /* ---- acc += P·V, k slots j = 4kk + {0, 1} at k 2c, 2c+1 and 4kk + {2, 3} at k 2c+8, 2c+9 ---- */
        UNROLL
        for (uint kk = 0; kk < OWN / 4; kk++) {
            const float w[8] = {top_score[4 * kk],        top_score[4 * kk + 1],    bottom_score[4 * kk],
                                bottom_score[4 * kk + 1], top_score[4 * kk + 2],    top_score[4 * kk + 3],
                                bottom_score[4 * kk + 2], bottom_score[4 * kk + 3]};
            value_step(acc, w, stage, value_at, kk * 16 * ROW_BYTES EMU_ARG);
        }
    }
    COPIES_WAIT(0);

    /* ---- the normalized output rows (every row saw position 0, so its sum is positive) ---- */
    const float top_sum = quad_sum(sum[0] EMU_ARG), bottom_sum = quad_sum(sum[1] EMU_ARG);
    const uint top_vector = v0 + 16 * warp + g, bottom_vector = top_vector + 8;
    __global float *top_out =
        out + out_offset + ((first_row + v_top / group) * heads + kv_head * group + v_top % group) * HEAD_DIM;
    __global float *bottom_out =
        out + out_offset + ((first_row + v_bottom / group) * heads + kv_head * group + v_bottom % group) * HEAD_DIM;
    UNROLL
    for (uint t = 0; t < NTILES; t++) {
        if (top_vector < vectors) vstore2((float2)(acc[t][0], acc[t][1]) / top_sum, 0, top_out + 8 * t + 2 * c);
        if (bottom_vector < vectors)
            vstore2((float2)(acc[t][2], acc[t][3]) / bottom_sum, 0, bottom_out + 8 * t + 2 * c);
    }
}
