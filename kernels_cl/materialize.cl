/* materialize.cl — forms full per-head vectors from TPA factors, for the materialized baseline (TPA.md,
 * "Attention, defined through the full tensors"): out[row][h][d] = scale · Σ_r A[row][h][r] · B[row][r][d].
 * The same kernel forms Q from query factors (fp32) and K, V from the factor cache (its storage type).
 * A work-item owns one (row, d) and T6_MAT_HEAD_CHUNK heads: it reads its B column once and reuses it for
 * every head; A values are the same for all d, so they are broadcast reads. Output is fp32. */
#ifndef T6_MAT_WG_SIZE
#define T6_MAT_WG_SIZE 64 /* work-items per group */
#endif
#ifndef T6_MAT_HEAD_CHUNK
#define T6_MAT_HEAD_CHUNK 8 /* heads each work-item forms */
#endif

/* Shape constants, set by the host. */
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64 /* D */
#endif
#ifndef T6_RANK
#define T6_RANK 1 /* R of the factor pair */
#endif
#ifndef T6_SRC_DTYPE
#define T6_SRC_DTYPE 0 /* storage type of A and B (t6_dtype) */
#endif

#define STORAGE T6_STORAGE(T6_SRC_DTYPE)

/* Row r's A starts at a_offset + r·a_stride ([h][r]), its B at b_offset + r·b_stride ([r][d]). */
__kernel __attribute__((reqd_work_group_size(T6_MAT_WG_SIZE, 1, 1)))
void t6_materialize(const __global STORAGE *a, ulong a_offset, uint a_stride, const __global STORAGE *b,
                    ulong b_offset, uint b_stride, uint rows, uint heads, float scale, __global float *out,
                    ulong out_offset)
{
    const uint i = get_global_id(0), row = get_global_id(1);
    const uint d = i % T6_HEAD_DIM, h0 = i / T6_HEAD_DIM * T6_MAT_HEAD_CHUNK;
    if (h0 >= heads || row >= rows) return;
    const ulong a_row = a_offset + (ulong)row * a_stride, b_row = b_offset + (ulong)row * b_stride;
    float b_column[T6_RANK];
#pragma unroll
    for (int r = 0; r < T6_RANK; r++) b_column[r] = T6_LOAD(T6_SRC_DTYPE, b, b_row + r * T6_HEAD_DIM + d);
    const uint h_end = min(h0 + T6_MAT_HEAD_CHUNK, heads);
    for (uint h = h0; h < h_end; h++) {
        float sum = 0.0f;
#pragma unroll
        for (int r = 0; r < T6_RANK; r++) sum = fma(T6_LOAD(T6_SRC_DTYPE, a, a_row + h * T6_RANK + r), b_column[r], sum);
        out[out_offset + ((ulong)row * heads + h) * T6_HEAD_DIM + d] = scale * sum;
    }
}
