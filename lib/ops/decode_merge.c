/* decode_merge.c — the merge pass of split decoding, shared by TPA and MHA decode (kernels_cl/merge.cl). */
#include "ops/ops.h"

t6_status t6i_merge_splits(t6_context *ctx, int batch, int heads, int head_dim, int splits, cl_mem partials,
                           cl_mem out, size_t out_offset)
{
    t6_status status = T6_SUCCESS;
    /* Lanes per d: enough independent split walks to hide L2 latency, within the work-group limit. */
    int lanes = 1;
    while (lanes < 8 && lanes * 2 <= splits && (size_t)(head_dim * lanes * 2) <= ctx->info.max_work_group_size)
        lanes *= 2;
    char options[96] = "";
    t6i_define(options, sizeof options, "T6_HEAD_DIM", head_dim);
    t6i_define(options, sizeof options, "T6_MERGE_LANES", lanes);
    cl_kernel kernel = NULL;
    T6I_TRY(t6i_get_kernel(ctx, "merge", options, "t6_merge_splits", &kernel));
    t6i_arg args[] = {T6I_ARG_MEM(partials), T6I_ARG_UINT(batch), T6I_ARG_UINT(heads), T6I_ARG_UINT(splits),
                      T6I_ARG_MEM(out),      T6I_ARG_UINT(out_offset)};
    T6I_TRY(t6i_set_args(ctx, kernel, "t6_merge_splits", args, 6));
    /* One work-group of D × lanes per (batch, head). */
    size_t local[3] = {(size_t)head_dim, (size_t)lanes, 1};
    size_t global[3] = {(size_t)head_dim, (size_t)lanes * (size_t)heads, (size_t)batch};
    T6I_TRY(t6i_launch(ctx, kernel, "t6_merge_splits", 3, global, local));
cleanup:
    return status;
}
