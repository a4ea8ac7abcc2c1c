/* projection_clblast.c — the CLBlast method of t6_project (T6_PROJECTION_CLBLAST): CLBlastSgemm of the hidden
 * states (rows × C) by the layer's packed weights (transposed: columns × C, fp32) into scratch, then
 * rope_scatter.c rotates B_Q and B_K and scatters every factor. The baseline the fused kernels must beat, and
 * an independent route to the same results. A build without CLBlast has the method's name only. */
#include "ops/projection.h"

#ifndef T6_WITH_CLBLAST
t6_status t6i_project_clblast(t6_context *ctx, const t6i_projection_call *call)
{
    return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "t6_project: T6_PROJECTION_CLBLAST needs CLBlast, and this build of t6 "
                                               "has none (the fused method needs no BLAS)");
}
#else
#include <clblast_c.h>

t6_status t6i_project_clblast(t6_context *ctx, const t6i_projection_call *call)
{
    t6_status status = T6_SUCCESS;
    t6_layer *layer = call->layer;
    cl_mem weights = NULL, product = NULL;
    cl_event marker = NULL, gemm = NULL;
    const size_t columns = (size_t)layer->columns;

    T6I_TRY(t6i_layer_weights_f32(layer, &weights));
    T6I_TRY(t6i_scratch(ctx, 0, (size_t)call->rows * columns * sizeof(float), &product));

    /* CLBlast may run helper kernels (pads, transposes) before its GEMM and hands back the event of its last
     * kernel only: a marker in front opens the operation's timed span. */
    if (ctx->timing) {
        T6I_CHECK_CL(ctx, clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &marker), "clEnqueueMarkerWithWaitList");
        t6i_count_commands(ctx, 1);
        t6i_op_add_event(ctx, marker);
        marker = NULL;
    }
    cl_command_queue queue = ctx->queue;
    CLBlastStatusCode code = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                          (size_t)call->rows, columns, (size_t)layer->config.model_dim, 1.0f,
                                          call->hidden, call->hidden_offset, (size_t)layer->config.model_dim, weights,
                                          0, (size_t)layer->ld, 0.0f, product, 0, columns, &queue,
                                          ctx->timing ? &gemm : NULL);
    t6i_count_commands(ctx, 1);
    if (code != CLBlastSuccess) {
        status = t6i_fail(ctx, T6_ERROR_CLBLAST, "CLBlastSgemm(%d × %zu × %d) failed with CLBlast status %d",
                          call->rows, columns, layer->config.model_dim, (int)code);
        goto cleanup;
    }
    t6i_op_add_event(ctx, gemm);
    gemm = NULL;
    T6I_TRY(t6i_rope_scatter(ctx, call, product, 1));
cleanup:
    if (marker) clReleaseEvent(marker);
    if (gemm) clReleaseEvent(gemm);
    return status;
}
#endif
