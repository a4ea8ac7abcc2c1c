/* attention_vector.cl — factorized TPA attention for devices that run a whole work-group on one core with wide
 * SIMD (CPUs, e.g. through PoCL). The math, the arguments and the outputs (or split partials) are those of
 * attention.cl; the loop structure is a CPU's: one work-item per group walks its split of cached positions
 * with explicit 16-lane vectors, over Rq (S1 = B_Q·B_K per position), over heads (mixing, softmax, value
 * weights) and over head dims (acc[h][:] += w·B_V, in blocks of heads that stay in registers across the tile,
 * as in a GEMM micro-kernel). Query rows of a prefill tile are taken one after the other; their positions are
 * still in the core's caches for the next row.
 *
 * Shape macros set by the host: T6_HEADS, T6_HEAD_DIM, T6_RANK_Q, T6_RANK_K, T6_RANK_V, T6_CACHE_DTYPE,
 * T6_DIRECT, T6_PREFILL (prefill's tunables). Work-groups of one work-item; grid (splits, 1, query tiles).
 */
#ifdef T6_PREFILL
#ifndef T6_PRE_TILE
#define T6_PRE_TILE 16 /* cached positions per step */
#endif
#define TILE T6_PRE_TILE
#else
#ifndef T6_DEC_TILE
#define T6_DEC_TILE 32 /* cached positions per step */
#endif
#define TILE T6_DEC_TILE
#endif

#ifndef T6_DIRECT
#define T6_DIRECT 1
#endif

#define HEADS T6_HEADS
#define HEAD_DIM T6_HEAD_DIM
#define RANK_Q T6_RANK_Q
#define RANK_K T6_RANK_K
#define RANK_V T6_RANK_V
#define QUERY_ROW (HEADS * RANK_Q + RANK_Q * HEAD_DIM)
#define HEAD_VECTORS ((HEADS + 15) / 16)
#define PADDED_HEADS (HEAD_VECTORS * 16)
#define DIM_VECTORS (HEAD_DIM / 16)
/* Heads whose acc rows stay in registers through a tile: about 16 vector accumulators. */
#define HEAD_BLOCK (DIM_VECTORS >= 16 ? 1 : 16 / DIM_VECTORS)


inline float16 load16(const __global CACHE_T *p, uint index)
{
#if T6_CACHE_DTYPE == 0
    return vload16(0, p + index);
#elif T6_CACHE_DTYPE == 1
    return vload_half16(0, p + index);
#else
    return as_float16(convert_uint16(vload16(0, p + index)) << 16);
#endif
}

/* count elements at p + index as floats into dst, 16 at a time (scalar storage conversions cost ~10× more). */
inline void load_row(const __global CACHE_T *p, uint index, float *dst, uint count)
{
    uint i = 0;
    for (; i + 16 <= count; i += 16) vstore16(load16(p, index + i), 0, dst + i);
    for (; i < count; i++) dst[i] = T6_LOAD(T6_CACHE_DTYPE, p, index + i);
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void t6_attention_vector(const __global float *query, uint query_offset, const __global CACHE_T *a_k,
                         const __global CACHE_T *a_v, const __global CACHE_T *b_k, const __global CACHE_T *b_v,
                         uint capacity, const __global int4 *tiles, uint split_length, float score_scale,
                         float value_scale, __global float *out, uint out_offset, uint partial_rows)
{
    const uint split = get_group_id(0);
    const int4 tile = tiles[get_group_id(2)];
    const uint slot = (uint)tile.x, row0 = (uint)tile.y, query_count = (uint)tile.z, position0 = (uint)tile.w;
    const uint slot_position0 = slot * capacity;
    const uint first = split * split_length;

    /* Per query row. Lanes: r for basis and S1, heads for mix, scores and weights, dims for keys and values. */
    float basis[HEAD_DIM * 16];                   /* basis[d][r] = B_Q[r][d], r padded to 16 */
    float mix[RANK_Q * PADDED_HEADS];             /* mix[r][h] = c·A_Q[h][r] */
    float row_max[PADDED_HEADS], row_sum[PADDED_HEADS], rescale[PADDED_HEADS];
    float16 acc[PADDED_HEADS * DIM_VECTORS];      /* acc[h][dim vector] */
    /* Per tile, converted to fp32 once. */
    float keys[TILE * RANK_K * HEAD_DIM];         /* B_K[t][s][d] */
    float values[TILE * RANK_V * HEAD_DIM];       /* B_V[t][s][d] */
    float keys_a[TILE * RANK_K * PADDED_HEADS];   /* A_K[t][s][h] */
    float values_a[TILE * RANK_V * PADDED_HEADS]; /* A_V[t][s][h], then the weights p·A_V */
    float s1[TILE * RANK_K * 16];                 /* S1[t][s][r] */
    float score[TILE * PADDED_HEADS];             /* score[t][h], then p */
    float row[HEADS * (RANK_K > RANK_V ? RANK_K : RANK_V)];
    for (uint i = 0; i < TILE * RANK_K * PADDED_HEADS; i++) keys_a[i] = 0.0f; /* padding heads stay 0 */
    for (uint i = 0; i < TILE * RANK_V * PADDED_HEADS; i++) values_a[i] = 0.0f;

    for (uint q = 0; q < query_count; q++) {
        const __global float *q_row = query + query_offset + (size_t)(row0 + q) * QUERY_ROW;
        const uint end = min(first + split_length, position0 + q + 1);
        for (uint d = 0; d < HEAD_DIM; d++)
            for (uint r = 0; r < 16; r++) basis[d * 16 + r] = r < RANK_Q ? q_row[HEADS * RANK_Q + r * HEAD_DIM + d] : 0.0f;
        for (uint r = 0; r < RANK_Q; r++)
            for (uint h = 0; h < PADDED_HEADS; h++)
                mix[r * PADDED_HEADS + h] = h < HEADS ? score_scale * q_row[h * RANK_Q + r] : 0.0f;
        for (uint h = 0; h < PADDED_HEADS; h++) {
            row_max[h] = -INFINITY;
            row_sum[h] = 0.0f;
        }
        for (uint i = 0; i < PADDED_HEADS * DIM_VECTORS; i++) acc[i] = (float16)(0.0f);

        for (uint base = first; base < end; base += TILE) {
            const uint n = min((uint)TILE, end - base), at0 = slot_position0 + base;
            /* ---- the tile in fp32; A factors transposed to head lanes ---- */
            for (uint i = 0; i < n * RANK_K * DIM_VECTORS; i++)
                vstore16(load16(b_k, at0 * (RANK_K * HEAD_DIM) + i * 16), i, keys);
            for (uint i = 0; i < n * RANK_V * DIM_VECTORS; i++)
                vstore16(load16(b_v, at0 * (RANK_V * HEAD_DIM) + i * 16), i, values);
            for (uint t = 0; t < n; t++) {
                load_row(a_k, (at0 + t) * (HEADS * RANK_K), row, HEADS * RANK_K);
                for (uint h = 0; h < HEADS; h++)
                    for (uint s = 0; s < RANK_K; s++) keys_a[(t * RANK_K + s) * PADDED_HEADS + h] = row[h * RANK_K + s];
                load_row(a_v, (at0 + t) * (HEADS * RANK_V), row, HEADS * RANK_V);
                for (uint h = 0; h < HEADS; h++)
                    for (uint s = 0; s < RANK_V; s++) values_a[(t * RANK_V + s) * PADDED_HEADS + h] = row[h * RANK_V + s];
            }

            /* ---- S1[t][s][:] = Σ_d B_K[t][s][d]·basis[d][:], 16 basis rows held in registers at a time ---- */
            for (uint i = 0; i < n * RANK_K; i++) vstore16((float16)(0.0f), i, s1);
            for (uint dv = 0; dv < DIM_VECTORS; dv++) {
                float16 b[16];
                #pragma unroll
                for (uint j = 0; j < 16; j++) b[j] = vload16(dv * 16 + j, basis);
                for (uint i = 0; i < n * RANK_K; i++) {
                    float16 sum = vload16(i, s1);
                    #pragma unroll
                    for (uint j = 0; j < 16; j++) sum = fma(b[j], (float16)(keys[i * HEAD_DIM + dv * 16 + j]), sum);
                    vstore16(sum, i, s1);
                }
            }

            /* ---- score[t][h] = Σ_s A_K[t][s][h]·Σ_r mix[r][h]·S1[t][s][r], one head vector at a time ---- */
            #pragma unroll
            for (uint v = 0; v < HEAD_VECTORS; v++) {
                float16 m[RANK_Q];
                #pragma unroll
                for (uint r = 0; r < RANK_Q; r++) m[r] = vload16(r * HEAD_VECTORS + v, mix);
                for (uint t = 0; t < n; t++) {
                    float16 total = (float16)(0.0f);
                    #pragma unroll
                    for (uint s = 0; s < RANK_K; s++) {
                        float16 mixed = (float16)(0.0f);
                        #pragma unroll
                        for (uint r = 0; r < RANK_Q; r++) mixed = fma(m[r], (float16)(s1[(t * RANK_K + s) * 16 + r]), mixed);
                        total = fma(vload16((t * RANK_K + s) * HEAD_VECTORS + v, keys_a), mixed, total);
                    }
                    vstore16(total, t * HEAD_VECTORS + v, score);
                }
            }

            /* ---- online softmax (base 2) over head lanes; the weights p·A_V ---- */
            #pragma unroll
            for (uint v = 0; v < HEAD_VECTORS; v++) {
                float16 tile_max = vload16(v, row_max);
                for (uint t = 0; t < n; t++) tile_max = fmax(tile_max, vload16(t * HEAD_VECTORS + v, score));
                const float16 scale = exp2(vload16(v, row_max) - tile_max);
                float16 sum = vload16(v, row_sum) * scale;
                for (uint t = 0; t < n; t++) {
                    const float16 p = exp2(vload16(t * HEAD_VECTORS + v, score) - tile_max);
                    sum += p;
                    #pragma unroll
                    for (uint s = 0; s < RANK_V; s++) {
                        const uint i = (t * RANK_V + s) * HEAD_VECTORS + v;
                        vstore16(p * vload16(i, values_a), i, values_a);
                    }
                }
                vstore16(sum, v, row_sum);
                vstore16(tile_max, v, row_max);
                vstore16(scale, v, rescale);
            }

            /* ---- acc[h][:] = acc·rescale + Σ_{t,s} weight·B_V, HEAD_BLOCK heads held in registers ---- */
            for (uint h0 = 0; h0 < HEADS; h0 += HEAD_BLOCK) {
                float16 block[HEAD_BLOCK][DIM_VECTORS];
                #pragma unroll
                for (uint i = 0; i < HEAD_BLOCK; i++)
                    #pragma unroll
                    for (uint dv = 0; dv < DIM_VECTORS; dv++)
                        block[i][dv] = h0 + i < HEADS ? acc[(h0 + i) * DIM_VECTORS + dv] * rescale[h0 + i]
                                                      : (float16)(0.0f);
                for (uint i = 0; i < n * RANK_V; i++) {
                    float16 v[DIM_VECTORS];
                    #pragma unroll
                    for (uint dv = 0; dv < DIM_VECTORS; dv++) v[dv] = vload16(i * DIM_VECTORS + dv, values);
                    #pragma unroll
                    for (uint k = 0; k < HEAD_BLOCK; k++) {
                        const float w = h0 + k < PADDED_HEADS ? values_a[i * PADDED_HEADS + h0 + k] : 0.0f;
                        #pragma unroll
                        for (uint dv = 0; dv < DIM_VECTORS; dv++) block[k][dv] = fma((float16)(w), v[dv], block[k][dv]);
                    }
                }
                #pragma unroll
                for (uint i = 0; i < HEAD_BLOCK; i++)
                    if (h0 + i < HEADS)
                        #pragma unroll
                        for (uint dv = 0; dv < DIM_VECTORS; dv++) acc[(h0 + i) * DIM_VECTORS + dv] = block[i][dv];
            }
        }

        /* ---- write the row, or this split's partial row ---- */
        for (uint h = 0; h < HEADS; h++) {
#if T6_DIRECT
            const float16 factor = (float16)(value_scale / row_sum[h]);
            __global float *dst = out + out_offset + ((size_t)(row0 + q) * HEADS + h) * HEAD_DIM;
#else
            const float16 factor = (float16)(value_scale);
            const uint partial = ((row0 + q) * get_num_groups(0) + split) * HEADS + h;
            __global float *dst = out + (size_t)partial * HEAD_DIM;
            out[(size_t)partial_rows * HEAD_DIM + partial] = row_max[h] * M_LN2_F;
            out[(size_t)partial_rows * (HEAD_DIM + 1) + partial] = row_sum[h];
#endif
            #pragma unroll
            for (uint dv = 0; dv < DIM_VECTORS; dv++) vstore16(acc[h * DIM_VECTORS + dv] * factor, dv, dst);
        }
    }
}
