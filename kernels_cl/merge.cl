/* merge.cl — the second pass of split decoding (flash-decoding): combines per-split partial results by
 * log-sum-exp. Shared by factorized TPA decode and MHA/GQA decode, which write the same partial layout, one
 * float buffer holding, one after the other (rows = batch·splits·heads):
 *   acc[batch][split][head][d]  Σ_m exp(score_m − max) · value_m   (unnormalized, value scales applied)
 *   max[batch][split][head]     the split's running max score (−INFINITY for a split with no positions)
 *   sum[batch][split][head]     Σ_m exp(score_m − max)
 * out[b][h][d] = Σ_j e^(max_j − M) acc_j[d] / Σ_j e^(max_j − M) sum_j, with M = max_j max_j.
 *
 * One work-group per (batch, head), shaped D × T6_MERGE_LANES: lane p walks splits p, p+LANES, … so that several
 * independent loads per d are in flight (a long single chain of L2 round trips would dominate short decodes),
 * then the lanes are summed in local memory. */
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64 /* D: set by the host, not tuned */
#endif
#ifndef T6_MERGE_LANES
#define T6_MERGE_LANES 4 /* work-items per d, each over every LANES-th split; set by the host */
#endif

#define T6_MERGE_GROUP (T6_HEAD_DIM * T6_MERGE_LANES)

__kernel __attribute__((reqd_work_group_size(T6_HEAD_DIM, T6_MERGE_LANES, 1)))
void t6_merge_splits(const __global float *partials, uint batch, uint heads, uint splits, __global float *out,
                     uint out_offset)
{
    __local float reduce[T6_MERGE_GROUP];
    __local float denominators[T6_MERGE_LANES];
    const uint d = get_local_id(0), lane = get_local_id(1), h = get_group_id(1), b = get_group_id(2);
    const uint linear = lane * T6_HEAD_DIM + d;
    const uint rows = batch * splits * heads;
    const __global float *acc = partials;
    const __global float *max_score = partials + (size_t)rows * T6_HEAD_DIM;
    const __global float *sum = max_score + rows;
    const uint first = b * splits * heads + h; /* row of (b, split 0, h); split j adds j·heads */

    float partial_max = -INFINITY;
    for (uint j = linear; j < splits; j += T6_MERGE_GROUP) partial_max = fmax(partial_max, max_score[first + j * heads]);
    reduce[linear] = partial_max;
    barrier(CLK_LOCAL_MEM_FENCE);
    /* D·LANES need not be a power of two (D = 80, 96): fold the excess onto the largest power of two first. */
    uint power = 1;
    while (power * 2 <= T6_MERGE_GROUP) power *= 2;
    if (linear + power < T6_MERGE_GROUP) reduce[linear] = fmax(reduce[linear], reduce[linear + power]);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = power / 2; stride > 0; stride /= 2) {
        if (linear < stride) reduce[linear] = fmax(reduce[linear], reduce[linear + stride]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float global_max = reduce[0];
    barrier(CLK_LOCAL_MEM_FENCE);

    float numerator = 0.0f, denominator = 0.0f;
    for (uint j = lane; j < splits; j += T6_MERGE_LANES) {
        const uint row = first + j * heads;
        const float m = max_score[row];
        /* An empty split contributes nothing (and must not compute −inf − −inf). */
        const float w = m == -INFINITY ? 0.0f : exp(m - global_max);
        numerator += w * acc[(size_t)row * T6_HEAD_DIM + d];
        denominator += w * sum[row];
    }
    reduce[linear] = numerator;
    if (d == 0) denominators[lane] = denominator;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lane == 0) {
        float total = 0.0f, total_denominator = 0.0f;
        for (uint p = 0; p < T6_MERGE_LANES; p++) {
            total += reduce[p * T6_HEAD_DIM + d];
            total_denominator += denominators[p];
        }
        out[out_offset + (b * heads + h) * T6_HEAD_DIM + d] = total / total_denominator;
    }
}
