/* mha.cl — MHA/GQA/MQA attention over a K/V cache laid out [slot][position][kv_head][d] (the conventional
 * cache, or the materialized baseline's scratch). Four kernels; a build compiles the one T6_MHA_KERNEL names,
 * so each program stays small:
 *
 * 1 t6_mha_decode_split — decode's split pass (flash-decoding), shaped for GPUs. Reading K and V is the whole
 *   cost, so it is built to stream them:
 *   - A work-group serves one batch entry, one split of the sequence, T6_KV_PER_GROUP consecutive kv heads
 *     and a block of each one's query heads: every query head of a GQA group shares one read of K and V.
 *   - head_dim/T6_MHD_VEC work-items ("lanes") share one kv head of one position, each loading T6_MHD_VEC
 *     contiguous elements with one vector load, so a row is one coalesced transaction; the work-group reads
 *     T6_ROWS_PER_GROUP positions at once, and T6_MHD_UNROLL positions per work-item per tile, all loaded
 *     before any is used, to keep bytes in flight.
 *   - q·k needs the lanes' partial dot products summed: they go through local memory, one barrier to publish
 *     the partials, one to publish the summed scores (portable OpenCL 1.2 has no shuffles).
 *   - Every work-item keeps an online softmax (running max, sum, accumulator) over the positions of its row;
 *     rows are merged by log-sum-exp at the end.
 *   The result is the partial layout of lib/ops/ops.h (merged by merge.cl), or, with a single split, the
 *   normalized output itself.
 * 2 t6_mha_decode_rows — the same computation shaped for CPUs, where a work-group's work-items run one after
 *   another and barriers and lane reductions cost more than the memory: one work-item walks its split's
 *   positions whole (every kv head of a row, in memory order), with explicit vector types the compiler maps
 *   onto SIMD registers, and one exp2 per position and query head.
 * 3 t6_mha_prefill — causal prefill, flash-attention style, shaped for GPUs: no score matrix is ever stored
 *   beyond one tile. A work-group owns T6_MHP_QUERIES query vectors of one batch entry and one kv head: the
 *   (position, head) pairs of that kv head's query heads, heads fastest, so GQA groups share each K/V tile. It
 *   walks the keys in tiles of T6_MHP_KEYS up to its last query's position. Per tile, in local memory: K
 *   (transposed), the scores turned probabilities, then V in K's place. Each work-item computes a
 *   T6_MHP_THREAD_QUERIES × (keys / T6_MHP_COLUMNS) block of scores and a T6_MHP_THREAD_QUERIES × (head_dim /
 *   T6_MHP_COLUMNS) block of the output, register-blocked like a small GEMM. The tile's row max goes through
 *   local memory; each work-item keeps its share of the row sums, summed once at the end.
 * 4 t6_mha_prefill_rows — causal prefill for CPUs: one work-item owns the same T6_MHP_QUERIES query vectors,
 *   loads each tile of T6_MHP_KEYS keys once, as vectors, and reuses it for all of them.
 * Everywhere, scores are kept in log2 units (q is pre-scaled by scale·log2(e)) so each weight is one exp2. */

/* ---- mha_decode tunables ---- */
#ifndef T6_MHD_KERNEL
#define T6_MHD_KERNEL 0 /* host: 0 automatic (GPU 1, otherwise 2), 1 t6_mha_decode_split, 2 _rows */
#endif
#ifndef T6_MHD_VEC
#define T6_MHD_VEC 8 /* elements per vector load: 2, 4, 8 or 16 */
#endif
#ifndef T6_MHD_WG_SIZE
#define T6_MHD_WG_SIZE 128 /* host: work-items per group it aims at (whole positions: at least one row) */
#endif
#ifndef T6_MHD_UNROLL
#define T6_MHD_UNROLL 4 /* positions each work-item loads per tile, all in flight together */
#endif
#ifndef T6_MHD_KV_BLOCK
#define T6_MHD_KV_BLOCK 0 /* host: most kv heads per work-group; 0 automatic (GPU 1, otherwise all that fit) */
#endif
#ifndef T6_MHD_HEAD_BLOCK
#define T6_MHD_HEAD_BLOCK 8 /* host: most query heads per kv head in a work-group; larger GQA groups are split */
#endif
#ifndef T6_MHD_GROUPS_PER_CU
#define T6_MHD_GROUPS_PER_CU 4 /* host: the split count aims at this many work-groups per compute unit */
#endif
#ifndef T6_MHD_SPLIT_MIN
#define T6_MHD_SPLIT_MIN 256 /* host: fewest positions a split may have */
#endif
#ifndef T6_MHD_SPLIT_MAX
#define T6_MHD_SPLIT_MAX 64 /* host: most splits (each merge work-item walks them all) */
#endif
#ifndef T6_MHD_HALF_MATH
#define T6_MHD_HALF_MATH 0 /* fp16 to fp32: 0 vload_half on the loaded vector, 1 integer bit arithmetic */
#endif

/* ---- mha_prefill tunables ---- */
#ifndef T6_MHP_KERNEL
#define T6_MHP_KERNEL 0 /* host: 0 automatic (GPU 1, otherwise 2), 1 t6_mha_prefill, 2 _rows */
#endif
#ifndef T6_MHP_VEC
#define T6_MHP_VEC 8 /* t6_mha_prefill_rows: elements per vector load and operation: 2, 4, 8 or 16 */
#endif
#ifndef T6_MHP_QUERIES
#define T6_MHP_QUERIES 32 /* query vectors ((position, head) pairs) per work-group */
#endif
#ifndef T6_MHP_KEYS
#define T6_MHP_KEYS 32 /* keys per tile */
#endif
#ifndef T6_MHP_THREAD_QUERIES
#define T6_MHP_THREAD_QUERIES 2 /* query vectors per work-item (register block) */
#endif
#ifndef T6_MHP_COLUMNS
#define T6_MHP_COLUMNS 16 /* work-items across the keys and across head_dim; must divide both */
#endif

/* ---- shape constants, set by the host from the shape and the tunables ---- */
#ifndef T6_MHA_KERNEL
#define T6_MHA_KERNEL 1 /* which kernel this build compiles: 1..4 as listed above (not a tunable) */
#endif
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64 /* D */
#endif
#ifndef T6_CACHE_DTYPE
#define T6_CACHE_DTYPE 0 /* storage type of K and V (t6_dtype) */
#endif
#ifndef T6_KV_PER_GROUP
#define T6_KV_PER_GROUP 1 /* decode: kv heads per work-group, a divisor of kv_heads */
#endif
#ifndef T6_HEADS_PER_BLOCK
#define T6_HEADS_PER_BLOCK 1 /* decode: query heads per kv head per work-group: the group split evenly */
#endif
#ifndef T6_ROWS_PER_GROUP
#define T6_ROWS_PER_GROUP 16 /* decode, kernel 1: positions read at once */
#endif
#ifndef T6_MHD_DIRECT
#define T6_MHD_DIRECT 0 /* decode: 1 with a single split, write normalized output instead of partials */
#endif

#define STORAGE T6_STORAGE(T6_CACHE_DTYPE)
#if T6_MHA_KERNEL <= 2
#define VEC T6_MHD_VEC
#else
#define VEC T6_MHP_VEC
#endif

#define VECF T6_CAT(float, VEC)
#define VECU T6_CAT(uint, VEC)
#define VECUS T6_CAT(ushort, VEC)
#define AS_VECF T6_CAT(as_float, VEC)
#define AS_VECU T6_CAT(as_uint, VEC)
#define CONVERT_VECU T6_CAT(convert_uint, VEC)
#define VLOADF T6_CAT(vload, VEC)
#define VSTOREF T6_CAT(vstore, VEC)
#define VLOAD_HALF T6_CAT(vload_half, VEC)

#if VEC == 2
#define HSUM(x) ((x).s0 + (x).s1)
#elif VEC == 4
#define HSUM(x) (((x).s0 + (x).s1) + ((x).s2 + (x).s3))
#elif VEC == 8
#define HSUM(x) ((((x).s0 + (x).s1) + ((x).s2 + (x).s3)) + (((x).s4 + (x).s5) + ((x).s6 + (x).s7)))
#elif VEC == 16
#define HSUM4_(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3))
#define HSUM(x) ((HSUM4_((x).lo.lo) + HSUM4_((x).lo.hi)) + (HSUM4_((x).hi.lo) + HSUM4_((x).hi.hi)))
#else
#error "the vector width (T6_MHD_VEC, T6_MHP_VEC) must be 2, 4, 8 or 16"
#endif

/* VEC elements at p + i; p + i is VEC-element aligned (rows are head_dim long, a multiple of 16). */
inline VECF load_vec(const __global STORAGE *p, uint i)
{
#if T6_CACHE_DTYPE == 0
    return *(const __global VECF *)(p + i);
#elif T6_CACHE_DTYPE == 1
    VECUS bits = *(const __global VECUS *)((const __global ushort *)p + i);
#if T6_MHD_HALF_MATH
    /* Exact for every half: shift into fp32's field, rebias the exponent by 2^112 (subnormals become
     * normal floats exactly), then fix up infinities and NaNs and restore the sign. */
    VECU h = CONVERT_VECU(bits);
    VECU magnitude = h & 0x7FFFu;
    VECF value = AS_VECF(magnitude << 13) * 0x1p112f;
    VECU special = AS_VECU((magnitude << 13) | 0x7F800000u);
    VECU result = select(AS_VECU(value), special, magnitude >= (VECU)0x7C00u);
    return AS_VECF(result | ((h & 0x8000u) << 16));
#else
    return VLOAD_HALF(0, (const __private half *)&bits);
#endif
#else
    VECUS bits = *(const __global VECUS *)(p + i);
    return AS_VECF(CONVERT_VECU(bits) << 16);
#endif
}

#if T6_MHA_KERNEL == 1
#define UNROLL T6_MHD_UNROLL
#define ROWS T6_ROWS_PER_GROUP
#define KVB T6_KV_PER_GROUP
#define HPB T6_HEADS_PER_BLOCK
#define QV (KVB * HPB) /* query vectors per work-group */
#define LANES_H (T6_HEAD_DIM / VEC) /* lanes per kv head */
#define LANES (KVB * LANES_H)
#define GROUP_SIZE (ROWS * LANES)
#define TILE (ROWS * UNROLL)
/* Partials are stored [lane within the head][query vector][position]; the pad staggers lanes across banks. */
#define RED_PAD (LANES_H < 32 ? 32 / LANES_H : 1)
#define RED_STRIDE (QV * TILE + RED_PAD)
/* The final merge passes accumulators through the partials' space MERGE_ROWS rows at a time. */
#define MERGE_ROWS_FIT ((ROWS * UNROLL) / VEC)
#define MERGE_ROWS (MERGE_ROWS_FIT < 1 ? 1 : (MERGE_ROWS_FIT > ROWS ? ROWS : MERGE_ROWS_FIT))
#define RED_FLOATS (LANES_H * RED_STRIDE)
#define MERGE_FLOATS (MERGE_ROWS * QV * T6_HEAD_DIM)
#define SHARED_FLOATS (RED_FLOATS > MERGE_FLOATS ? RED_FLOATS : MERGE_FLOATS)
#define OUTS_PER_ITEM ((QV * T6_HEAD_DIM + GROUP_SIZE - 1) / GROUP_SIZE)

__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void t6_mha_decode_split(const __global STORAGE *k_cache, const __global STORAGE *v_cache, ulong slot_stride,
                         uint kv_heads, uint group, const __global int *entries, const __global float *q,
                         uint q_offset, float score_scale, uint split_len, uint splits, uint batch,
                         __global float *dest, uint dest_offset)
{
    __local float q_local[QV * T6_HEAD_DIM];
    __local float shared[SHARED_FLOATS]; /* lanes' partial dots, later the row accumulators */
    __local float scores[QV * TILE];
    __local float row_max[QV * ROWS], row_sum[QV * ROWS];

    const uint tid = get_local_id(0), lane = tid % LANES, row = tid / LANES;
    const uint kv_local = lane / LANES_H, sub = lane % LANES_H; /* which kv head, which slice of it */
    const uint blocks = (group + HPB - 1) / HPB;
    const uint block = get_group_id(0) % blocks, split = get_group_id(0) / blocks;
    const uint kv0 = get_group_id(1) * KVB, b = get_group_id(2);
    const uint heads = kv_heads * group;
    const uint heads_here = min((uint)HPB, group - block * HPB); /* of each kv head's block */
    const uint length = (uint)entries[2 * b + 1];
    const uint first = split * split_len, end = min(first + split_len, length);

    /* Query vector v = kv_local·HPB + h is query head (kv0 + kv_local)·group + block·HPB + h. */
    for (uint i = tid; i < QV * T6_HEAD_DIM; i += GROUP_SIZE) {
        const uint v = i / T6_HEAD_DIM, h = v % HPB;
        const uint head = (kv0 + v / HPB) * group + block * HPB + h;
        q_local[i] = h < heads_here ? q[q_offset + (b * heads + head) * T6_HEAD_DIM + i % T6_HEAD_DIM] * score_scale
                                    : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    const __global STORAGE *k_base = k_cache + (ulong)entries[2 * b] * slot_stride;
    const __global STORAGE *v_base = v_cache + (ulong)entries[2 * b] * slot_stride;
    const uint position_stride = kv_heads * T6_HEAD_DIM;
    const uint column = kv0 * T6_HEAD_DIM + lane * VEC; /* lanes of a row cover KVB·D contiguous elements */
    const uint vector0 = kv_local * HPB;

    float m[HPB], l[HPB];
    VECF acc[HPB];
#pragma unroll
    for (int h = 0; h < HPB; h++) {
        m[h] = -INFINITY;
        l[h] = 0.0f;
        acc[h] = (VECF)(0.0f);
    }

    for (uint tile = first; tile < end; tile += TILE) {
        VECF k_rows[UNROLL], v_rows[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            /* Past the end, re-read the last position (its score is masked): no divergent loads. */
            const uint p = min(tile + u * ROWS + row, end - 1);
            k_rows[u] = load_vec(k_base, p * position_stride + column);
            v_rows[u] = load_vec(v_base, p * position_stride + column);
        }
#pragma unroll
        for (int h = 0; h < HPB; h++) {
            const VECF q_slice = VLOADF(0, q_local + (vector0 + h) * T6_HEAD_DIM + sub * VEC);
#pragma unroll
            for (int u = 0; u < UNROLL; u++)
                shared[sub * RED_STRIDE + (vector0 + h) * TILE + u * ROWS + row] = HSUM(q_slice * k_rows[u]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint i = tid; i < QV * TILE; i += GROUP_SIZE) {
            float s = 0.0f;
#pragma unroll
            for (int j = 0; j < LANES_H; j++) s += shared[j * RED_STRIDE + i];
            scores[i] = tile + i % TILE < end ? s : -INFINITY;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int h = 0; h < HPB; h++) {
            float s[UNROLL], tile_max = -INFINITY;
#pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                s[u] = scores[(vector0 + h) * TILE + u * ROWS + row];
                tile_max = fmax(tile_max, s[u]);
            }
            const float m_new = fmax(m[h], tile_max);
            if (m_new == -INFINITY) continue; /* no position of this row yet: nothing to add */
            const float rescale = exp2(m[h] - m_new);
            l[h] *= rescale;
            acc[h] *= rescale;
#pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                const float w = exp2(s[u] - m_new);
                l[h] += w;
                acc[h] += w * v_rows[u];
            }
            m[h] = m_new;
        }
    }

    /* Merge the rows: a common max per query vector, then the accumulators summed MERGE_ROWS rows at a time. */
    if (sub == 0) {
#pragma unroll
        for (int h = 0; h < HPB; h++) {
            row_max[(vector0 + h) * ROWS + row] = m[h];
            row_sum[(vector0 + h) * ROWS + row] = l[h];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (int h = 0; h < HPB; h++) {
        float block_max = -INFINITY;
        for (int r = 0; r < ROWS; r++) block_max = fmax(block_max, row_max[(vector0 + h) * ROWS + r]);
        acc[h] *= m[h] == -INFINITY ? 0.0f : exp2(m[h] - block_max);
    }
    float merged[OUTS_PER_ITEM];
#pragma unroll
    for (int j = 0; j < OUTS_PER_ITEM; j++) merged[j] = 0.0f;
    for (uint r0 = 0; r0 < ROWS; r0 += MERGE_ROWS) {
        if (row >= r0 && row < r0 + MERGE_ROWS) {
#pragma unroll
            for (int h = 0; h < HPB; h++)
                VSTOREF(acc[h], 0, shared + ((row - r0) * QV + vector0 + h) * T6_HEAD_DIM + sub * VEC);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const uint rows_here = min((uint)MERGE_ROWS, (uint)ROWS - r0);
#pragma unroll
        for (int j = 0; j < OUTS_PER_ITEM; j++) {
            const uint i = tid + j * GROUP_SIZE;
            if (i < QV * T6_HEAD_DIM)
                for (uint r = 0; r < rows_here; r++) merged[j] += shared[r * QV * T6_HEAD_DIM + i];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

#pragma unroll
    for (int j = 0; j < OUTS_PER_ITEM; j++) {
        const uint i = tid + j * GROUP_SIZE;
        const uint v = i / T6_HEAD_DIM, d = i % T6_HEAD_DIM, h = v % HPB;
        if (i >= QV * T6_HEAD_DIM || h >= heads_here) continue;
        const uint head = (kv0 + v / HPB) * group + block * HPB + h;
        float block_max = -INFINITY, sum = 0.0f;
        for (int r = 0; r < ROWS; r++) block_max = fmax(block_max, row_max[v * ROWS + r]);
        if (block_max != -INFINITY)
            for (int r = 0; r < ROWS; r++) sum += row_sum[v * ROWS + r] * exp2(row_max[v * ROWS + r] - block_max);
#if T6_MHD_DIRECT
        dest[dest_offset + (b * heads + head) * T6_HEAD_DIM + d] = merged[j] / sum;
#else
        /* Partial rows are [batch][split][head]; max is in natural-log units, as merge.cl expects. */
        const uint rows_total = batch * splits * heads;
        const uint partial_row = (b * splits + split) * heads + head;
        dest[partial_row * T6_HEAD_DIM + d] = merged[j];
        if (d == 0) {
            dest[rows_total * T6_HEAD_DIM + partial_row] = block_max * 0.69314718055994531f;
            dest[rows_total * T6_HEAD_DIM + rows_total + partial_row] = sum;
        }
#endif
    }
}

#elif T6_MHA_KERNEL == 2
#define UNROLL T6_MHD_UNROLL
#define ROWS T6_ROWS_PER_GROUP
#define KVB T6_KV_PER_GROUP
#define HPB T6_HEADS_PER_BLOCK
#define QV (KVB * HPB) /* query vectors per work-group */
#define LANES_H (T6_HEAD_DIM / VEC) /* lanes per kv head */
#define LANES (KVB * LANES_H)
#define GROUP_SIZE (ROWS * LANES)
#define TILE (ROWS * UNROLL)
/* One work-item per work-group: the same split, kv heads and head block as t6_mha_decode_split's group. The
 * loops over query heads stay loops (a CPU keeps their arrays in L1; unrolling them only slows the build). */
#define CHUNKS (T6_HEAD_DIM / VEC)

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void t6_mha_decode_rows(const __global STORAGE *k_cache, const __global STORAGE *v_cache, ulong slot_stride,
                        uint kv_heads, uint group, const __global int *entries, const __global float *q,
                        uint q_offset, float score_scale, uint split_len, uint splits, uint batch,
                        __global float *dest, uint dest_offset)
{
    const uint blocks = (group + HPB - 1) / HPB;
    const uint block = get_group_id(0) % blocks, split = get_group_id(0) / blocks;
    const uint kv0 = get_group_id(1) * KVB, b = get_group_id(2);
    const uint heads = kv_heads * group;
    const uint heads_here = min((uint)HPB, group - block * HPB);
    const uint length = (uint)entries[2 * b + 1];
    const uint first = split * split_len, end = min(first + split_len, length);

    VECF q_rows[QV][CHUNKS], acc[QV][CHUNKS];
    float m[QV], l[QV];
    for (uint v = 0; v < QV; v++) {
        const uint h = v % HPB, head = (kv0 + v / HPB) * group + block * HPB + min(h, heads_here - 1);
#pragma unroll
        for (int c = 0; c < CHUNKS; c++) {
            q_rows[v][c] = VLOADF(0, q + q_offset + (b * heads + head) * T6_HEAD_DIM + c * VEC) * score_scale;
            acc[v][c] = (VECF)(0.0f);
        }
        m[v] = -INFINITY;
        l[v] = 0.0f;
    }

    const __global STORAGE *k_base = k_cache + (ulong)entries[2 * b] * slot_stride;
    const __global STORAGE *v_base = v_cache + (ulong)entries[2 * b] * slot_stride;
    const uint position_stride = kv_heads * T6_HEAD_DIM;
    for (uint tile = first; tile < end; tile += UNROLL) {
        for (uint g = 0; g < KVB; g++) {
            const uint column = (kv0 + g) * T6_HEAD_DIM;
            VECF rows[UNROLL][CHUNKS];
#pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                const uint p = min(tile + u, end - 1);
#pragma unroll
                for (int c = 0; c < CHUNKS; c++) rows[u][c] = load_vec(k_base, p * position_stride + column + c * VEC);
            }
            float w[HPB][UNROLL], rescale[HPB];
            for (int h = 0; h < HPB; h++) {
                const uint v = g * HPB + h;
                float tile_max = -INFINITY;
#pragma unroll
                for (int u = 0; u < UNROLL; u++) {
                    VECF products = q_rows[v][0] * rows[u][0];
#pragma unroll
                    for (int c = 1; c < CHUNKS; c++) products += q_rows[v][c] * rows[u][c];
                    w[h][u] = tile + u < end ? HSUM(products) : -INFINITY;
                    tile_max = fmax(tile_max, w[h][u]);
                }
                /* The first tile has a position (end > tile), so the new max is finite. */
                const float m_new = fmax(m[v], tile_max);
                rescale[h] = exp2(m[v] - m_new);
                l[v] *= rescale[h];
#pragma unroll
                for (int u = 0; u < UNROLL; u++) {
                    w[h][u] = exp2(w[h][u] - m_new);
                    l[v] += w[h][u];
                }
                m[v] = m_new;
            }
#pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                const uint p = min(tile + u, end - 1);
#pragma unroll
                for (int c = 0; c < CHUNKS; c++) rows[u][c] = load_vec(v_base, p * position_stride + column + c * VEC);
            }
            for (int h = 0; h < HPB; h++) {
                const uint v = g * HPB + h;
#pragma unroll
                for (int c = 0; c < CHUNKS; c++) {
                    VECF sum = acc[v][c] * rescale[h];
#pragma unroll
                    for (int u = 0; u < UNROLL; u++) sum += w[h][u] * rows[u][c];
                    acc[v][c] = sum;
                }
            }
        }
    }

    for (uint v = 0; v < QV; v++) {
        const uint h = v % HPB;
        if (h >= heads_here) continue;
        const uint head = (kv0 + v / HPB) * group + block * HPB + h;
#if T6_MHD_DIRECT
#pragma unroll
        for (int c = 0; c < CHUNKS; c++)
            VSTOREF(acc[v][c] / l[v], 0, dest + dest_offset + (b * heads + head) * T6_HEAD_DIM + c * VEC);
#else
        const uint rows_total = batch * splits * heads;
        const uint partial_row = (b * splits + split) * heads + head;
#pragma unroll
        for (int c = 0; c < CHUNKS; c++) VSTOREF(acc[v][c], 0, dest + partial_row * T6_HEAD_DIM + c * VEC);
        dest[rows_total * T6_HEAD_DIM + partial_row] = m[v] * 0.69314718055994531f;
        dest[rows_total * T6_HEAD_DIM + rows_total + partial_row] = l[v];
#endif
    }
}

#elif T6_MHA_KERNEL == 3
#define BQ T6_MHP_QUERIES
#define BK T6_MHP_KEYS
#define TQ T6_MHP_THREAD_QUERIES
#define CT T6_MHP_COLUMNS
#define RG (BQ / TQ) /* row groups */
#define TK (BK / CT)
#define TD (T6_HEAD_DIM / CT)
#define GROUP_SIZE (RG * CT)
#define BQ_PAD (BQ + 1)
#define BK_PAD (BK + 1)
#define KT_FLOATS (T6_HEAD_DIM * BK_PAD)
#define V_FLOATS (BK * T6_HEAD_DIM)
#define KV_FLOATS (KT_FLOATS > V_FLOATS ? KT_FLOATS : V_FLOATS)

/* entries: batch × {slot, start, count, first query row}. q and out: rows × heads × head_dim fp32. */
__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void t6_mha_prefill(const __global STORAGE *k_cache, const __global STORAGE *v_cache, ulong slot_stride,
                    uint kv_heads, uint group, const __global int *entries, const __global float *q, uint q_offset,
                    float score_scale, __global float *out, uint out_offset)
{
    __local float q_tile[T6_HEAD_DIM * BQ_PAD]; /* [d][query vector] */
    __local float kv_tile[KV_FLOATS];           /* K as [d][key], then V as [key][d] */
    __local float probs[BQ * BK_PAD];           /* [query vector][key] */
    __local float row_part[BQ * CT];            /* per row and column: tile max, at the end the sums */

    const uint tid = get_local_id(0), rg = tid / CT, col = tid % CT;
    const uint kv_head = get_group_id(1), b = get_group_id(2);
    const int slot = entries[4 * b], start = entries[4 * b + 1], count = entries[4 * b + 2];
    const uint first_row = (uint)entries[4 * b + 3];
    const uint vectors = (uint)count * group, v0 = get_group_id(0) * BQ;
    if (v0 >= vectors) return; /* the whole work-group: this entry has fewer queries than the widest one */
    const uint heads = kv_heads * group;
    const uint last_key = (uint)start + (min(v0 + BQ, vectors) - 1) / group;

    for (uint i = tid; i < BQ * T6_HEAD_DIM; i += GROUP_SIZE) {
        const uint n = i / T6_HEAD_DIM, d = i % T6_HEAD_DIM, vector = v0 + n;
        float value = 0.0f;
        if (vector < vectors) {
            const uint row = first_row + vector / group, head = kv_head * group + vector % group;
            value = q[q_offset + (row * heads + head) * T6_HEAD_DIM + d] * score_scale;
        }
        q_tile[d * BQ_PAD + n] = value;
    }

    /* This work-item's query rows are rg + RG·i: their positions bound the keys they see. */
    uint position[TQ];
    float m[TQ], l_part[TQ], acc[TQ][TD];
#pragma unroll
    for (int i = 0; i < TQ; i++) {
        const uint vector = v0 + rg + RG * i;
        position[i] = (uint)start + (vector < vectors ? vector / group : 0u);
        m[i] = -INFINITY;
        l_part[i] = 0.0f;
#pragma unroll
        for (int t = 0; t < TD; t++) acc[i][t] = 0.0f;
    }

    const __global STORAGE *k_base = k_cache + (ulong)slot * slot_stride + kv_head * T6_HEAD_DIM;
    const __global STORAGE *v_base = v_cache + (ulong)slot * slot_stride + kv_head * T6_HEAD_DIM;
    const uint position_stride = kv_heads * T6_HEAD_DIM;

    for (uint tile = 0; tile <= last_key; tile += BK) {
        /* K transposed, keys fastest across work-items so the local stores do not collide. */
        for (uint i = tid; i < BK * (T6_HEAD_DIM / 4); i += GROUP_SIZE) {
            const uint key = i % BK, chunk = i / BK;
            const float4 k4 = T6_LOAD4(T6_CACHE_DTYPE, k_base + min(tile + key, last_key) * position_stride, chunk);
            kv_tile[(4 * chunk + 0) * BK_PAD + key] = k4.s0;
            kv_tile[(4 * chunk + 1) * BK_PAD + key] = k4.s1;
            kv_tile[(4 * chunk + 2) * BK_PAD + key] = k4.s2;
            kv_tile[(4 * chunk + 3) * BK_PAD + key] = k4.s3;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        float s[TQ][TK];
#pragma unroll
        for (int i = 0; i < TQ; i++)
#pragma unroll
            for (int t = 0; t < TK; t++) s[i][t] = 0.0f;
        for (int d = 0; d < T6_HEAD_DIM; d++) {
            float qd[TQ], kd[TK];
#pragma unroll
            for (int i = 0; i < TQ; i++) qd[i] = q_tile[d * BQ_PAD + rg + RG * i];
#pragma unroll
            for (int t = 0; t < TK; t++) kd[t] = kv_tile[d * BK_PAD + col + CT * t];
#pragma unroll
            for (int i = 0; i < TQ; i++)
#pragma unroll
                for (int t = 0; t < TK; t++) s[i][t] = fma(qd[i], kd[t], s[i][t]);
        }
#pragma unroll
        for (int i = 0; i < TQ; i++) {
            float part_max = -INFINITY;
#pragma unroll
            for (int t = 0; t < TK; t++) {
                if (tile + col + CT * t > position[i]) s[i][t] = -INFINITY; /* causal */
                part_max = fmax(part_max, s[i][t]);
            }
            row_part[(rg + RG * i) * CT + col] = part_max;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        /* V replaces K (every work-item is done with K); meanwhile the probabilities of this tile. */
        for (uint i = tid; i < BK * (T6_HEAD_DIM / 4); i += GROUP_SIZE) {
            const uint key = i / (T6_HEAD_DIM / 4), chunk = i % (T6_HEAD_DIM / 4);
            const float4 v4 = T6_LOAD4(T6_CACHE_DTYPE, v_base + min(tile + key, last_key) * position_stride, chunk);
            vstore4(v4, 0, kv_tile + key * T6_HEAD_DIM + 4 * chunk);
        }
        float rescale[TQ];
#pragma unroll
        for (int i = 0; i < TQ; i++) {
            const uint r = rg + RG * i;
            float tile_max = -INFINITY;
            for (int c = 0; c < CT; c++) tile_max = fmax(tile_max, row_part[r * CT + c]);
            /* Key 0 is in the first tile and every query sees it, so m_new is finite from the start. */
            const float m_new = fmax(m[i], tile_max);
            rescale[i] = exp2(m[i] - m_new);
            l_part[i] *= rescale[i];
#pragma unroll
            for (int t = 0; t < TK; t++) {
                const float p = exp2(s[i][t] - m_new);
                l_part[i] += p;
                probs[r * BK_PAD + col + CT * t] = p;
            }
            m[i] = m_new;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

#pragma unroll
        for (int i = 0; i < TQ; i++)
#pragma unroll
            for (int t = 0; t < TD; t++) acc[i][t] *= rescale[i];
        for (int key = 0; key < BK; key++) {
            float p[TQ], vd[TD];
#pragma unroll
            for (int i = 0; i < TQ; i++) p[i] = probs[(rg + RG * i) * BK_PAD + key];
#pragma unroll
            for (int t = 0; t < TD; t++) vd[t] = kv_tile[key * T6_HEAD_DIM + col + CT * t];
#pragma unroll
            for (int i = 0; i < TQ; i++)
#pragma unroll
                for (int t = 0; t < TD; t++) acc[i][t] = fma(p[i], vd[t], acc[i][t]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

#pragma unroll
    for (int i = 0; i < TQ; i++) row_part[(rg + RG * i) * CT + col] = l_part[i];
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (int i = 0; i < TQ; i++) {
        const uint vector = v0 + rg + RG * i;
        if (vector >= vectors) continue;
        float sum = 0.0f;
        for (int c = 0; c < CT; c++) sum += row_part[(rg + RG * i) * CT + c];
        const uint row = first_row + vector / group, head = kv_head * group + vector % group;
#pragma unroll
        for (int t = 0; t < TD; t++)
            out[out_offset + (row * heads + head) * T6_HEAD_DIM + col + CT * t] = acc[i][t] / sum;
    }
}

#elif T6_MHA_KERNEL == 4
#define BQ T6_MHP_QUERIES
#define BK T6_MHP_KEYS
#define CHUNKS (T6_HEAD_DIM / VEC)

/* Work-item (query block, kv head, batch entry), as t6_mha_prefill's work-groups. The loop over query vectors
 * stays a loop; the ones over keys and over head_dim are unrolled into vector code. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void t6_mha_prefill_rows(const __global STORAGE *k_cache, const __global STORAGE *v_cache, ulong slot_stride,
                         uint kv_heads, uint group, const __global int *entries, const __global float *q,
                         uint q_offset, float score_scale, __global float *out, uint out_offset)
{
    const uint kv_head = get_group_id(1), b = get_group_id(2);
    const int slot = entries[4 * b], start = entries[4 * b + 1], count = entries[4 * b + 2];
    const uint first_row = (uint)entries[4 * b + 3];
    const uint vectors = (uint)count * group, v0 = get_group_id(0) * BQ;
    if (v0 >= vectors) return; /* this entry has fewer queries than the widest one */
    const uint heads = kv_heads * group, here = min((uint)BQ, vectors - v0);
    const uint last_key = (uint)start + (v0 + here - 1) / group;

    VECF q_rows[BQ][CHUNKS], acc[BQ][CHUNKS];
    float m[BQ], l[BQ];
    uint position[BQ];
    for (uint n = 0; n < BQ; n++) {
        const uint vector = v0 + min(n, here - 1); /* spare vectors repeat the last one and are not written */
        const uint row = first_row + vector / group, head = kv_head * group + vector % group;
        position[n] = (uint)start + vector / group;
#pragma unroll
        for (int c = 0; c < CHUNKS; c++) {
            q_rows[n][c] = VLOADF(0, q + q_offset + (row * heads + head) * T6_HEAD_DIM + c * VEC) * score_scale;
            acc[n][c] = (VECF)(0.0f);
        }
        m[n] = -INFINITY;
        l[n] = 0.0f;
    }

    const __global STORAGE *k_base = k_cache + (ulong)slot * slot_stride + kv_head * T6_HEAD_DIM;
    const __global STORAGE *v_base = v_cache + (ulong)slot * slot_stride + kv_head * T6_HEAD_DIM;
    const uint position_stride = kv_heads * T6_HEAD_DIM;
    for (uint tile = 0; tile <= last_key; tile += BK) {
        VECF k_rows[BK][CHUNKS], v_rows[BK][CHUNKS];
#pragma unroll
        for (int u = 0; u < BK; u++) {
            const uint offset = min(tile + u, last_key) * position_stride;
#pragma unroll
            for (int c = 0; c < CHUNKS; c++) {
                k_rows[u][c] = load_vec(k_base, offset + c * VEC);
                v_rows[u][c] = load_vec(v_base, offset + c * VEC);
            }
        }
        for (uint n = 0; n < here; n++) {
            float s[BK], tile_max = -INFINITY;
#pragma unroll
            for (int u = 0; u < BK; u++) {
                VECF products = q_rows[n][0] * k_rows[u][0];
#pragma unroll
                for (int c = 1; c < CHUNKS; c++) products += q_rows[n][c] * k_rows[u][c];
                s[u] = tile + u <= position[n] ? HSUM(products) : -INFINITY; /* causal */
                tile_max = fmax(tile_max, s[u]);
            }
            /* Key 0 is in the first tile and every query sees it, so m_new is finite from the start. */
            const float m_new = fmax(m[n], tile_max);
            const float rescale = exp2(m[n] - m_new);
            l[n] *= rescale;
#pragma unroll
            for (int c = 0; c < CHUNKS; c++) acc[n][c] *= rescale;
#pragma unroll
            for (int u = 0; u < BK; u++) {
                const float w = exp2(s[u] - m_new);
                l[n] += w;
#pragma unroll
                for (int c = 0; c < CHUNKS; c++) acc[n][c] += w * v_rows[u][c];
            }
            m[n] = m_new;
        }
    }

    for (uint n = 0; n < here; n++) {
        const uint vector = v0 + n;
        const uint row = first_row + vector / group, head = kv_head * group + vector % group;
#pragma unroll
        for (int c = 0; c < CHUNKS; c++)
            VSTOREF(acc[n][c] / l[n], 0, out + out_offset + (row * heads + head) * T6_HEAD_DIM + c * VEC);
    }
}
#endif
