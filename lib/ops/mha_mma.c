/* mha_mma.c — plans and launches kernels_cl/mha_mma.cl (MHA/GQA/MQA causal prefill on tensor cores,
 * T6_MHP_KERNEL 3): behind the probe of mma_probe.c, for fp16 and bf16 K/V; fits the stages to the device's local
 * memory and picks the precision parts from the context's mode. */
#include "ops/ops.h"

#include <math.h>

#define T6I_ARG_ULONG(v) ((t6i_arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})

/* Local memory of the kernel: STAGES stages of K and V rows (as mma.cl lays rows out), and the emulation's
 * exchange of 12 floats per work-item. */
static size_t local_bytes(int head_dim, int stage, int stages, int warps, int mma)
{
    const size_t row = (size_t)head_dim * 2 + (head_dim == 80 || head_dim == 96 ? 16 : 0);
    return (size_t)stages * 2 * (size_t)stage * row + (mma == 2 ? (size_t)warps * 32 * 12 * sizeof(float) : 4);
}

t6_status t6i_mha_prefill_mma(t6_context *ctx, const t6i_params *params, const t6i_kv_view *kv, int heads, int batch,
                              cl_mem entries, int max_count, cl_mem q, size_t q_offset, cl_mem out, size_t out_offset,
                              float scale)
{
    static const char what[] = "t6_mha_prefill (tensor cores)";
    const int mma = t6i_param(params, T6I_MHP_MMA);
    if (kv->dtype != T6_F16 && kv->dtype != T6_BF16)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: K and V are %s; tensor cores take fp16 and bf16", what,
                        t6_dtype_name(kv->dtype));
    if (mma == 0 || (mma == 1 && !t6i_tensor_cores_work(ctx, kv->dtype)))
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: no tensor cores passed their probe on this device", what);
    int stage = t6i_param(params, T6I_MHP_STAGE), stages = t6i_param(params, T6I_MHP_STAGES);
    const int warps = t6i_param(params, T6I_MHP_WARPS); /* values: t6i_params_check */
    if ((size_t)(32 * warps) > ctx->info.max_work_group_size)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: %d warps per group are over the device's %zu work-items",
                        what, warps, ctx->info.max_work_group_size);
    /* Fewer positions per stage first, then fewer stages, down to two of 16. */
    while (local_bytes(kv->head_dim, stage, stages, warps, mma) > ctx->info.local_mem_bytes) {
        if (stage > 16) stage /= 2;
        else if (stages > 2) stages--;
        else
            return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: two stages of 16 positions need %zu bytes of local "
                            "memory, over the device's %llu", what, local_bytes(kv->head_dim, 16, 2, warps, mma),
                            ctx->info.local_mem_bytes);
    }

    char options[512] = "";
    t6i_define(options, sizeof options, "T6_HEAD_DIM", kv->head_dim);
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", kv->dtype);
    t6i_define(options, sizeof options, "T6_MMA", mma);
    t6i_define(options, sizeof options, "T6_QTERMS", kv->dtype == T6_BF16 && ctx->precision == T6_PRECISION_STRICT ? 3 : 2);
    t6i_define(options, sizeof options, "T6_PTERMS", ctx->precision == T6_PRECISION_FAST ? 1 : 2);
    t6i_define(options, sizeof options, t6i_param_name(T6I_MHP_STAGE), stage); /* as fitted */
    t6i_define(options, sizeof options, t6i_param_name(T6I_MHP_STAGES), stages);
    t6i_define_param(options, sizeof options, params, T6I_MHP_WARPS);
    cl_kernel kernel = NULL;
    t6_status status = t6i_get_kernel(ctx, "mha_mma", options, "t6_mha_mma", &kernel);
    if (status == T6_ERROR_BUILD_FAILED && mma == 1) {
        /* The probe's program built; a shape's may still not (resources): the caller falls back. */
        t6i_log(T6_LOG_WARN, "%s: the build failed (%.300s); falling back", what, t6_context_last_error(ctx));
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: the driver refused this shape's build", what);
    }
    if (status != T6_SUCCESS) return status; /* UNSUPPORTED past the device's local memory: the caller falls back */
    size_t kernel_limit = 0;
    T6I_CHECK_CL(ctx, clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_limit,
                                               &kernel_limit, NULL),
                 "clGetKernelWorkGroupInfo(t6_mha_mma)");
    if ((size_t)(32 * warps) > kernel_limit)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: %d work-items per group are over the %zu this kernel can run "
                        "(registers)", what, 32 * warps, kernel_limit);

    const int group = heads / kv->kv_heads;
    t6i_arg args[] = {T6I_ARG_MEM(kv->k),          T6I_ARG_MEM(kv->v),   T6I_ARG_ULONG(kv->slot_stride),
                      T6I_ARG_UINT(kv->kv_heads),  T6I_ARG_UINT(group),  T6I_ARG_MEM(entries),
                      T6I_ARG_MEM(q),              T6I_ARG_UINT(q_offset), T6I_ARG_FLOAT(scale * (float)M_LOG2E),
                      T6I_ARG_MEM(out),            T6I_ARG_UINT(out_offset)};
    T6I_TRY(t6i_set_args(ctx, kernel, "t6_mha_mma", args, 11));
    const size_t vectors_per_group = 16 * (size_t)warps;
    const size_t blocks = ((size_t)max_count * (size_t)group + vectors_per_group - 1) / vectors_per_group;
    const size_t local[3] = {32 * (size_t)warps, 1, 1};
    const size_t global[3] = {local[0] * blocks, (size_t)kv->kv_heads, (size_t)batch};
    T6I_TRY(t6i_launch(ctx, kernel, "t6_mha_mma", 3, global, local));
cleanup:
    return status;
}
