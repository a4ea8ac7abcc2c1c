/* rope_scatter.cl — the epilogue of a projection whose GEMM ran as its own kernel: the CLBlast path, and the
 * fused tiles kernel split over C (split-K). The GEMM has written every factor of every row to `product`
 * (`ranges` blocks of rows × the layer's packed columns, fp32, in the packed column order of lib/ops/layer.c and
 * projection.cl, each block the sums over one range of C; one block for CLBlast); this kernel adds the blocks,
 * applies RoPE to B_Q and B_K and scatters all six factors to the query output and the cache. One work-item
 * per (row, column pair).
 *
 * The column mapping mirrors projection.cl's epilogue; both are checked against the double reference. */

/* ---- shape: set by the host, not tuned (and projection_common.cl's) ---- */

/* ---- tunables (lib/tuning/params_table.h has the same defaults and ranges) ---- */
#ifndef T6_RS_WG_SIZE
#define T6_RS_WG_SIZE 256 /* work-items per group */
#endif

#define RS_D T6_HEAD_DIM
#define RS_HRQ (T6_HEADS * T6_RANK_Q)
#define RS_HRK (T6_HEADS * T6_RANK_K)
#define RS_HRV (T6_HEADS * T6_RANK_V)
#define RS_NA (RS_HRQ + RS_HRK + RS_HRV)
#define RS_B_BEGIN (RS_NA + (RS_NA & 1))
#define RS_BK_BEGIN (RS_B_BEGIN + T6_RANK_Q * RS_D)
#define RS_BV_BEGIN (RS_BK_BEGIN + T6_RANK_K * RS_D)
#define RS_COLS (RS_BV_BEGIN + T6_RANK_V * RS_D)
#define RS_QUERY_ROW (RS_HRQ + T6_RANK_Q * RS_D)
#define RS_SIN_SIGN (T6_ROPE_STYLE == 0 ? 1.0f : -1.0f)
#define CSTORE T6_STORAGE(T6_CACHE_DTYPE)

/* Packed offset q (< D) inside a B_Q/B_K block → the dimension d it holds. */
inline uint rs_rope_dim(uint q)
{
    return T6_ROPE_STYLE == 0 ? (q >> 1) + (q & 1u) * (RS_D / 2) : q;
}

inline void rs_store(uint j, float value, __global float *query, uint query_base, uint cache_row,
                     __global CSTORE *a_k, __global CSTORE *a_v, __global CSTORE *b_k, __global CSTORE *b_v)
{
    if (j < RS_HRQ) {
        query[query_base + j] = value;
    } else if (j < RS_HRQ + RS_HRK) {
        T6_STORE(T6_CACHE_DTYPE, a_k, cache_row * RS_HRK + (j - RS_HRQ), value);
    } else if (j < RS_NA) {
        T6_STORE(T6_CACHE_DTYPE, a_v, cache_row * RS_HRV + (j - RS_HRQ - RS_HRK), value);
    } else if (j < RS_B_BEGIN) {
        /* the padding column */
    } else if (j < RS_BK_BEGIN) {
        const uint p = j - RS_B_BEGIN;
        query[query_base + RS_HRQ + p - p % RS_D + rs_rope_dim(p % RS_D)] = value;
    } else if (j < RS_BV_BEGIN) {
        const uint p = j - RS_BK_BEGIN;
        T6_STORE(T6_CACHE_DTYPE, b_k, cache_row * (T6_RANK_K * RS_D) + p - p % RS_D + rs_rope_dim(p % RS_D), value);
    } else {
        T6_STORE(T6_CACHE_DTYPE, b_v, cache_row * (T6_RANK_V * RS_D) + (j - RS_BV_BEGIN), value);
    }
}

__kernel __attribute__((reqd_work_group_size(T6_RS_WG_SIZE, 1, 1)))
void t6_rope_scatter(const __global float *restrict product, uint rows, uint ranges,
                     const __global float *restrict inv_freq,
                     const __global uint2 *restrict meta, __global float *restrict query, uint query_offset,
                     __global CSTORE *restrict a_k, __global CSTORE *restrict a_v, __global CSTORE *restrict b_k,
                     __global CSTORE *restrict b_v)
{
    const uint task = get_global_id(0);
    if (task >= rows * (RS_COLS / 2)) return;
    const uint n = task / (RS_COLS / 2), j = 2 * (task % (RS_COLS / 2));
    /* In order of the ranges: the same sum on every run. The host keeps ranges × rows × RS_COLS below 2^32. */
    float2 x = vload2(0, product + n * RS_COLS + j);
    for (uint range = 1; range < ranges; range++) x += vload2(0, product + (range * rows + n) * RS_COLS + j);
    float x0 = x.s0, x1 = x.s1;
    const uint2 m = meta[n];
    if (j >= RS_B_BEGIN && j < RS_BV_BEGIN) {
        const float angle = (float)(int)m.y * inv_freq[((j - RS_B_BEGIN) % RS_D) >> 1];
        float cos_a;
        const float sin_a = RS_SIN_SIGN * sincos(angle, &cos_a);
        const float y0 = x0 * cos_a + x1 * sin_a;
        x1 = x1 * cos_a - x0 * sin_a;
        x0 = y0;
    }
    const uint query_base = query_offset + n * RS_QUERY_ROW;
    rs_store(j, x0, query, query_base, m.x, a_k, a_v, b_k, b_v);
    rs_store(j + 1, x1, query, query_base, m.x, a_k, a_v, b_k, b_v);
}
