/* merge.cl — the second pass of split decoding (flash-decoding): combines per-split partial results by
 * log-sum-exp. Shared by factorized TPA decode and MHA/GQA decode, which write the same partial layout, one
 * float buffer holding, one after the other (rows = batch·splits·heads):
 *   acc[batch][split][head][d]  Σ_m exp(score_m − max) · value_m   (unnormalized, value scales applied)
 *   max[batch][split][head]     the split's running max score (−INFINITY for a split with no positions)
 *   sum[batch][split][head]     Σ_m exp(score_m − max)
 * out[b][h][d] = Σ_j e^(max_j − M) acc_j[d] / Σ_j e^(max_j − M) sum_j, with M = max_j max_j. */
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64 /* D: set by the host, not tuned */
#endif

__kernel void t6_merge_splits(const __global float *partials, uint batch, uint heads, uint splits,
                              __global float *out, uint out_offset)
{
    const uint d = get_global_id(0), h = get_global_id(1), b = get_global_id(2);
    if (d >= T6_HEAD_DIM) return;
    const uint rows = batch * splits * heads;
    const __global float *acc = partials;
    const __global float *max_score = partials + (size_t)rows * T6_HEAD_DIM;
    const __global float *sum = max_score + rows;
    const uint first = b * splits * heads + h; /* (b, split 0, h); split j adds j·heads */
    float global_max = -INFINITY;
    for (uint j = 0; j < splits; j++) global_max = fmax(global_max, max_score[first + j * heads]);
    float numerator = 0.0f, denominator = 0.0f;
    for (uint j = 0; j < splits; j++) {
        const float m = max_score[first + j * heads];
        if (m == -INFINITY) continue; /* an empty split: contributes nothing (and avoids −inf − −inf) */
        const float w = exp(m - global_max);
        numerator += w * acc[(first + j * heads) * T6_HEAD_DIM + d];
        denominator += w * sum[first + j * heads];
    }
    out[out_offset + (b * heads + h) * T6_HEAD_DIM + d] = numerator / denominator;
}
