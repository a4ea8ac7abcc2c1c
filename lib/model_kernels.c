/* model_kernels.c — the model's steps outside attention: the dense products (kernels_cl/model.cl's GEMV for a
 * decode step's few rows on GPUs, CLBlast otherwise), and the small kernels of model.cl (embedding, RMSNorm,
 * SwiGLU, RoPE of the MHA baseline). */
#include "model.h"

#include <clblast_c.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The shape macros of model.cl: one program per model shape. */
static void model_options(const t6_model *model, char *options, size_t cap)
{
    const t6_model_config *c = &model->config;
    options[0] = '\0';
    t6i_define(options, cap, "T6_MODEL_DIM", c->model_dim);
    t6i_define(options, cap, "T6_MLP_HIDDEN", c->mlp_hidden);
    t6i_define(options, cap, "T6_HEADS", c->heads);
    t6i_define(options, cap, "T6_HEAD_DIM", c->head_dim);
    t6i_define(options, cap, "T6_ROPE_STYLE", c->rope_style);
}

static t6_status model_kernel(t6_model *model, const char *name, cl_kernel *kernel)
{
    char options[256];
    model_options(model, options, sizeof options);
    return t6i_get_kernel(model->ctx, "model", options, name, kernel);
}

/* model.cl's GEMV_SIZE and GEMV_TEAMS. */
enum { GEMV_SIZE = 256, GEMV_TEAMS = GEMV_SIZE / 32 };

t6_status t6i_gemv(t6_context *ctx, int rows, cl_mem in, size_t in_offset, int k, cl_mem weight, int n, cl_mem out,
                   size_t out_offset, bool accumulate, bool *used)
{
    t6_status status = T6_SUCCESS;
    cl_kernel kernel = NULL;
    *used = false;
    T6I_REQUIRE(ctx, rows >= 1 && rows <= T6I_GEMV_ROWS && k >= 1 && n >= 1,
                "internal: t6i_gemv(rows=%d, k=%d, n=%d) is outside 1..%d rows", rows, k, n, T6I_GEMV_ROWS);
    T6I_REQUIRE(ctx, in_offset <= UINT32_MAX && out_offset <= UINT32_MAX, "internal: t6i_gemv offsets past 32 bits");
    /* The widest load that divides the row length and the input's offset keeps every vector load aligned; the
     * program depends on nothing else, so every model shares it. */
    const int vec = k % 4 == 0 && in_offset % 4 == 0 ? 4 : k % 2 == 0 && in_offset % 2 == 0 ? 2 : 1;
    char options[64] = "";
    t6i_define(options, sizeof options, "T6_GEMV_VEC", vec);
    T6I_TRY(t6i_get_kernel(ctx, "model", options, "t6_model_gemv", &kernel));
    size_t kernel_limit = 0;
    T6I_CHECK_CL(ctx, clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_limit,
                                               &kernel_limit, NULL),
                 "clGetKernelWorkGroupInfo(t6_model_gemv)");
    if (kernel_limit < GEMV_SIZE) goto cleanup;
    t6i_arg args[] = {T6I_ARG_MEM(in),     T6I_ARG_UINT(in_offset), T6I_ARG_UINT(rows), T6I_ARG_UINT(k),
                      T6I_ARG_MEM(weight), T6I_ARG_UINT(n),         T6I_ARG_MEM(out),  T6I_ARG_UINT(out_offset),
                      T6I_ARG_UINT(accumulate)};
    T6I_TRY(t6i_set_args(ctx, kernel, "t6_model_gemv", args, 9));
    size_t local = GEMV_SIZE, global = t6i_round_up((size_t)n, GEMV_TEAMS) / GEMV_TEAMS * GEMV_SIZE;
    T6I_TRY(t6i_launch(ctx, kernel, "t6_model_gemv", 1, &global, &local));
    *used = true;
cleanup:
    return status;
}

t6_status t6i_model_linear(t6_model *model, int rows, cl_mem in, size_t in_offset, int k, cl_mem weight, int n,
                           cl_mem out, size_t out_offset, bool accumulate)
{
    t6_context *ctx = model->ctx;
    /* A decode step's few rows on a GPU: the library's GEMV reads each weight once for all of them; on an
     * H200 it reads T6-medium's weights at 856-3542 GB/s where CLBlast's SGEMV did 146-961, which took the
     * step from ~9.5 to ~3.5-4 ms (docs/BENCHMARKS.md). On CPUs CLBlast's GEMV is the faster
     * (tuner/gpu/gemv_probe.c on PoCL: 2-3× at k = 1024). */
    if (rows <= T6I_GEMV_ROWS && ctx->info.is_gpu) {
        bool used = false;
        t6_status status = t6i_gemv(ctx, rows, in, in_offset, k, weight, n, out, out_offset, accumulate, &used);
        if (status != T6_SUCCESS || used) return status;
    }
    cl_event event = NULL;
    cl_event *want_event = ctx->timing ? &event : NULL;
    const float beta = accumulate ? 1.0f : 0.0f;
    CLBlastStatusCode code;
    const char *routine;
    if (rows == 1) {
        routine = "CLBlastSgemv";
        code = CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, (size_t)n, (size_t)k, 1.0f, weight, 0,
                            (size_t)k, in, in_offset, 1, beta, out, out_offset, 1, &ctx->queue, want_event);
    } else {
        routine = "CLBlastSgemm";
        code = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, (size_t)rows, (size_t)n,
                            (size_t)k, 1.0f, in, in_offset, (size_t)k, weight, 0, (size_t)k, beta, out, out_offset,
                            (size_t)n, &ctx->queue, want_event);
    }
    t6i_count_commands(ctx, 1);
    if (code != CLBlastSuccess)
        return t6i_fail(ctx, T6_ERROR_CLBLAST, "%s(%d × %d × %d) failed: CLBlast status %d", routine, rows, n, k,
                        (int)code);
    t6i_op_add_event(ctx, event);
    return T6_SUCCESS;
}

t6_status t6i_model_upload_rows(t6_model *model, int rows, const int *tokens, const int *positions)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = model->ctx;
    /* The previous write still reads the host copy until it completes. */
    if (model->row_meta_event) {
        T6I_CHECK_CL(ctx, clWaitForEvents(1, &model->row_meta_event), "clWaitForEvents(model rows)");
        clReleaseEvent(model->row_meta_event);
        model->row_meta_event = NULL;
    }
    memcpy(model->row_meta_host, tokens, (size_t)rows * sizeof *tokens);
    memcpy(model->row_meta_host + model->max_rows, positions, (size_t)rows * sizeof *positions);
    T6I_CHECK_CL(ctx,
                 clEnqueueWriteBuffer(ctx->queue, model->row_meta, CL_FALSE, 0,
                                      2 * (size_t)model->max_rows * sizeof(int), model->row_meta_host, 0, NULL,
                                      &model->row_meta_event),
                 "clEnqueueWriteBuffer(model rows)");
    t6i_count_commands(ctx, 1);
cleanup:
    return status;
}

t6_status t6i_model_embed(t6_model *model, int rows)
{
    t6_status status = T6_SUCCESS;
    cl_kernel kernel = NULL;
    T6I_TRY(model_kernel(model, "t6_model_embed", &kernel));
    t6i_arg args[] = {T6I_ARG_MEM(model->wte), T6I_ARG_MEM(model->row_meta), T6I_ARG_MEM(model->x),
                      T6I_ARG_UINT(rows)};
    T6I_TRY(t6i_set_args(model->ctx, kernel, "t6_model_embed", args, 4));
    size_t local[2] = {64, 1};
    size_t global[2] = {t6i_round_up((size_t)model->config.model_dim, local[0]), (size_t)rows};
    T6I_TRY(t6i_launch(model->ctx, kernel, "t6_model_embed", 2, global, local));
cleanup:
    return status;
}

t6_status t6i_model_rmsnorm(t6_model *model, int first, int rows, cl_mem x, cl_mem out)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = model->ctx;
    cl_kernel kernel = NULL;
    T6I_TRY(model_kernel(model, "t6_model_rmsnorm", &kernel));
    /* The tree reduction needs a power of two; 256 work-items already cover a row of a few thousand values
     * with a handful of loads each. */
    size_t kernel_limit = 0, size = 1;
    T6I_CHECK_CL(ctx, clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_limit,
                                               &kernel_limit, NULL),
                 "clGetKernelWorkGroupInfo(t6_model_rmsnorm)");
    while (size * 2 <= kernel_limit && size * 2 <= 256) size *= 2;
    t6i_arg args[] = {T6I_ARG_MEM(x), T6I_ARG_MEM(out), T6I_ARG_UINT(first), T6I_ARG_FLOAT(model->config.norm_eps),
                      T6I_ARG_LOCAL(size * sizeof(float))};
    T6I_TRY(t6i_set_args(ctx, kernel, "t6_model_rmsnorm", args, 5));
    size_t global = size * (size_t)rows;
    T6I_TRY(t6i_launch(ctx, kernel, "t6_model_rmsnorm", 1, &global, &size));
cleanup:
    return status;
}

t6_status t6i_model_swiglu(t6_model *model, int rows)
{
    t6_status status = T6_SUCCESS;
    cl_kernel kernel = NULL;
    T6I_TRY(model_kernel(model, "t6_model_swiglu", &kernel));
    t6i_arg args[] = {T6I_ARG_MEM(model->fc), T6I_ARG_MEM(model->act), T6I_ARG_UINT(rows)};
    T6I_TRY(t6i_set_args(model->ctx, kernel, "t6_model_swiglu", args, 3));
    size_t local = 64, global = t6i_round_up((size_t)rows * (size_t)model->config.mlp_hidden, local);
    T6I_TRY(t6i_launch(model->ctx, kernel, "t6_model_swiglu", 1, &global, &local));
cleanup:
    return status;
}

t6_status t6i_model_split_rope(t6_model *model, int rows)
{
    t6_status status = T6_SUCCESS;
    cl_kernel kernel = NULL;
    T6I_TRY(model_kernel(model, "t6_model_split_rope", &kernel));
    t6i_arg args[] = {T6I_ARG_MEM(model->qkv),      T6I_ARG_MEM(model->row_meta), T6I_ARG_UINT(model->max_rows),
                      T6I_ARG_UINT(rows),           T6I_ARG_MEM(model->inv_freq), T6I_ARG_MEM(model->query),
                      T6I_ARG_MEM(model->key),      T6I_ARG_MEM(model->value)};
    T6I_TRY(t6i_set_args(model->ctx, kernel, "t6_model_split_rope", args, 8));
    size_t work = (size_t)rows * (size_t)model->config.heads * (size_t)(model->config.head_dim / 2);
    size_t local = 64, global = t6i_round_up(work, local);
    T6I_TRY(t6i_launch(model->ctx, kernel, "t6_model_split_rope", 1, &global, &local));
cleanup:
    return status;
}
