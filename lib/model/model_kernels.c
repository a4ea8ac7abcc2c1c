/* model_kernels.c — the model's steps outside attention: the dense products (kernels_cl/model.cl's GEMV, with
 * the RMSNorm, SwiGLU and residual add around it folded in, weights read in their own dtype; CLBlast for a
 * prefill's many rows of fp32 weights), the probe of the GEMV at creation, and the small kernels of model.cl
 * (embedding; RMSNorm and SwiGLU for the CLBlast products; RoPE of the MHA baseline). */
#include "model/model.h"

#ifdef T6_WITH_CLBLAST
#include <clblast_c.h>
#endif
#include <math.h>
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
    t6i_define(options, cap, "T6_WEIGHT_DTYPE", c->weight_dtype);
}

static t6_status model_kernel(t6_model *model, const char *name, cl_kernel *kernel)
{
    char options[256];
    model_options(model, options, sizeof options);
    return t6i_get_kernel(model->ctx, "model", options, name, kernel);
}

/* ---- the products ---- */

/* The widest load (elements) that divides the row length and the input's offset, so that every vector load is
 * aligned: 16 bytes of fp32 or fp16/bf16 on GPUs, 32 on CPUs (8 floats: one AVX register). */
static int gemv_vector(const t6_context *ctx, const t6i_gemv_call *call)
{
    const int widest = ctx->info.is_gpu && call->weight_dtype == T6_F32 ? 4 : 8;
    for (int vec = widest; vec > 1; vec /= 2)
        if (call->k % vec == 0 && call->in_offset % (size_t)vec == 0) return vec;
    return 1;
}

t6_status t6i_gemv(t6_context *ctx, const t6i_gemv_call *call)
{
    static const char name[] = "t6_model_gemv";
    t6_status status = T6_SUCCESS;
    T6I_REQUIRE(ctx, call->rows >= 1 && call->k >= 1 && call->n >= 1 && t6i_dtype_valid(call->weight_dtype),
                "internal: t6i_gemv(rows=%d, k=%d, n=%d, weight dtype %d)", call->rows, call->k, call->n,
                (int)call->weight_dtype);
    T6I_REQUIRE(ctx, call->norm_eps <= 0.0f || call->rows <= T6I_GEMV_NORM_ROWS,
                "internal: t6i_gemv with the norm takes at most %d rows, not %d", T6I_GEMV_NORM_ROWS, call->rows);
    T6I_REQUIRE(ctx, call->in_offset + (size_t)call->rows * (size_t)call->k <= UINT32_MAX &&
                         call->out_offset + (size_t)call->rows * (size_t)call->n <= UINT32_MAX,
                "internal: t6i_gemv offsets past 32 bits");
    /* GPUs: a team of 32 lanes per column, 8 columns a group, scalar sums (measured on an H200: 856-3542 GB/s of
     * T6-medium's weights where CLBlast's SGEMV read 146-961). CPUs: one work-item per column walking the row
     * with 8-wide vectors and sums, 16 columns a group so that even a short output (n = C) makes groups for
     * every core. A device
     * with smaller groups gets the largest power of two it takes (the model's check at creation catches a
     * kernel that still cannot run). */
    int size = ctx->info.is_gpu ? 256 : 16;
    while ((size_t)size > ctx->info.max_work_group_size && size > 1) size /= 2;
    const int lanes = ctx->info.is_gpu ? (size < 32 ? size : 32) : 1;
    /* Rows summed at once: on PoCL (AMD EPYC) blocks of 8 rows of 8-wide sums run out of registers (8 rows
     * took 4× the time of 4, not 2×), while a GPU lane holds 8 rows' sums easily. */
    const int block_max = ctx->info.is_gpu ? 8 : 4;
    int block = 1, block_log2 = 0;
    while (block < call->rows && block < block_max) block *= 2, block_log2++;
    const int vec = gemv_vector(ctx, call), vec_log2 = vec == 8 ? 3 : vec == 4 ? 2 : vec == 2 ? 1 : 0;
    const bool norm = call->norm_eps > 0.0f;
    cl_kernel *cached = &ctx->gemv_kernels[call->weight_dtype][vec_log2][block_log2][norm][call->swiglu];
    if (!*cached) {
        char options[192] = "";
        t6i_define(options, sizeof options, "T6_WEIGHT_DTYPE", call->weight_dtype);
        t6i_define(options, sizeof options, "T6_GEMV_VEC", vec);
        t6i_define(options, sizeof options, "T6_GEMV_LANES", lanes);
        t6i_define(options, sizeof options, "T6_GEMV_SIZE", size);
        t6i_define(options, sizeof options, "T6_GEMV_BLOCK", block);
        t6i_define(options, sizeof options, "T6_GEMV_NORM", norm);
        t6i_define(options, sizeof options, "T6_GEMV_SWIGLU", call->swiglu);
        t6i_define(options, sizeof options, "T6_GEMV_VACC", !ctx->info.is_gpu);
        T6I_TRY(t6i_get_kernel(ctx, "model", options, name, cached));
    }
    cl_kernel kernel = *cached;
    t6i_arg args[] = {T6I_ARG_MEM(call->in),     T6I_ARG_UINT(call->in_offset),  T6I_ARG_UINT(call->rows),
                      T6I_ARG_UINT(call->k),     T6I_ARG_MEM(call->weight),      T6I_ARG_UINT(call->n),
                      T6I_ARG_MEM(call->out),    T6I_ARG_UINT(call->out_offset), T6I_ARG_UINT(call->accumulate),
                      T6I_ARG_FLOAT(call->norm_eps)};
    T6I_TRY(t6i_set_args(ctx, kernel, name, args, 10));
    const size_t teams = (size_t)(size / lanes), local = (size_t)size;
    const size_t global = t6i_round_up((size_t)call->n, teams) / teams * local;
    T6I_TRY(t6i_launch(ctx, kernel, name, 1, &global, &local));
cleanup:
    return status;
}

/* The most rows of fp32 weights a product runs on t6_model_gemv on a GPU; more (a prefill's chunk) go to
 * CLBlast's SGEMM, whose register tiles reuse each weight across rows where the GEMV re-reads it per block of
 * 8. On PoCL CLBlast is the slower at every size (1 row of 1024 × 5460: 0.6 ms against 14; 128 rows of
 * 1024 × 2048: 18-30 ms against 106-157), so the GEMV takes every product there. */
#define GEMV_FP32_ROWS 64

bool t6i_model_uses_gemv(const t6_model *model, int rows)
{
    return model->gemv && (!T6I_HAVE_CLBLAST || !model->ctx->info.is_gpu || model->config.weight_dtype != T6_F32 ||
                           rows <= GEMV_FP32_ROWS);
}

/* out = in · Wᵀ (+ out) on CLBlast, fp32 weights: SGEMV for one row, SGEMM for more. Without CLBlast no model
 * gets here (t6i_model_check_gemv refuses a device whose GEMV fails). */
static t6_status clblast_linear(t6_context *ctx, int rows, cl_mem in, size_t in_offset, int k, cl_mem weight, int n,
                                cl_mem out, size_t out_offset, bool accumulate)
{
#ifndef T6_WITH_CLBLAST
    return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "internal: a CLBlast product (%d × %d × %d) in a build without CLBlast",
                    rows, n, k);
#else
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
#endif
}

t6_status t6i_model_product(t6_model *model, const t6i_gemv_call *call)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = model->ctx;
    if (t6i_model_uses_gemv(model, call->rows)) {
        /* One command per product; the norm holds a bounded number of rows' scales, so longer calls (a decode
         * step of more than T6I_GEMV_NORM_ROWS slots) take several. */
        const int chunk = call->norm_eps > 0.0f ? T6I_GEMV_NORM_ROWS : call->rows;
        for (int first = 0; first < call->rows; first += chunk) {
            t6i_gemv_call part = *call;
            part.rows = call->rows - first < chunk ? call->rows - first : chunk;
            part.in_offset += (size_t)first * (size_t)call->k;
            part.out_offset += (size_t)first * (size_t)call->n;
            T6I_TRY(t6i_gemv(ctx, &part));
        }
        goto cleanup;
    }
    T6I_REQUIRE(ctx, call->weight_dtype == T6_F32, "internal: CLBlast products need fp32 weights");
    cl_mem in = call->in;
    size_t in_offset = call->in_offset;
    if (call->norm_eps > 0.0f) {
        T6I_REQUIRE(ctx, in == model->x && in_offset % (size_t)call->k == 0,
                    "internal: the unfused norm reads whole rows of the residual stream");
        T6I_TRY(t6i_model_rmsnorm(model, (int)(in_offset / (size_t)call->k), call->rows, in, model->normed));
        in = model->normed;
    }
    if (call->swiglu) {
        T6I_TRY(clblast_linear(ctx, call->rows, in, in_offset, call->k, call->weight, 2 * call->n, model->fc, 0,
                               false));
        T6I_REQUIRE(ctx, call->out == model->act && call->out_offset == 0 && !call->accumulate,
                    "internal: the unfused SwiGLU writes model->act");
        T6I_TRY(t6i_model_swiglu(model, call->rows));
    } else {
        T6I_TRY(clblast_linear(ctx, call->rows, in, in_offset, call->k, call->weight, call->n, call->out,
                               call->out_offset, call->accumulate));
    }
cleanup:
    return status;
}

/* The probe's product: 3 rows of 40 by 2·5 weight rows, with the norm, SwiGLU and accumulation all on. */
enum { PROBE_ROWS = 3, PROBE_K = 40, PROBE_N = 5 };

/* Runs the probe's product on the device into `got` (PROBE_ROWS × PROBE_N). */
static t6_status probe_gemv(t6_model *model, const float *x, const float *w, const float *y0, float *got)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = model->ctx;
    const t6_dtype dtype = model->config.weight_dtype;
    cl_mem in = NULL, weight = NULL, out = NULL;
    T6I_TRY(t6_buffer_create(ctx, T6_F32, PROBE_ROWS * PROBE_K, &in));
    T6I_TRY(t6_buffer_create(ctx, dtype, 2 * PROBE_N * PROBE_K, &weight));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, PROBE_ROWS * PROBE_N, &out));
    T6I_TRY(t6i_transfer(ctx, in, T6_F32, 0, PROBE_ROWS * PROBE_K, (float *)x, true, "model probe"));
    T6I_TRY(t6i_transfer(ctx, weight, dtype, 0, 2 * PROBE_N * PROBE_K, (float *)w, true, "model probe"));
    T6I_TRY(t6i_transfer(ctx, out, T6_F32, 0, PROBE_ROWS * PROBE_N, (float *)y0, true, "model probe"));
    const t6i_gemv_call call = {PROBE_ROWS, PROBE_K, PROBE_N, in, weight, out, 0, 0, dtype, true, true,
                                model->config.norm_eps};
    T6I_TRY(t6i_gemv(ctx, &call));
    T6I_TRY(t6i_transfer(ctx, out, T6_F32, 0, PROBE_ROWS * PROBE_N, got, false, "model probe"));
cleanup:
    if (in) clReleaseMemObject(in);
    if (weight) clReleaseMemObject(weight);
    if (out) clReleaseMemObject(out);
    return status;
}

t6_status t6i_model_check_gemv(t6_model *model)
{
    t6_context *ctx = model->ctx;
    const t6_dtype dtype = model->config.weight_dtype;
    float x[PROBE_ROWS * PROBE_K], w[2 * PROBE_N * PROBE_K], y0[PROBE_ROWS * PROBE_N], got[PROBE_ROWS * PROBE_N];
    /* Fixed values exact in every weight dtype (multiples of 1/64 below 4), so the reference is exact too. */
    for (int i = 0; i < PROBE_ROWS * PROBE_K; i++) x[i] = (float)((i * 37) % 29 - 14) / 8.0f;
    for (int i = 0; i < 2 * PROBE_N * PROBE_K; i++) w[i] = (float)((i * 53) % 31 - 15) / 64.0f;
    for (int i = 0; i < PROBE_ROWS * PROBE_N; i++) y0[i] = (float)(i % 7) - 3.0f;
    char saved_error[T6I_ERROR_TEXT];
    memcpy(saved_error, ctx->last_error, sizeof saved_error);
    t6_status status = probe_gemv(model, x, w, y0, got);
    double worst = 0.0, scale = 0.0;
    for (int r = 0; r < PROBE_ROWS && status == T6_SUCCESS; r++) {
        double squares = 0.0;
        for (int i = 0; i < PROBE_K; i++) squares += (double)x[r * PROBE_K + i] * x[r * PROBE_K + i];
        const double norm = 1.0 / sqrt(squares / PROBE_K + (double)model->config.norm_eps);
        for (int j = 0; j < PROBE_N; j++) {
            double a = 0.0, b = 0.0;
            for (int i = 0; i < PROBE_K; i++) {
                a += (double)w[j * PROBE_K + i] * x[r * PROBE_K + i];
                b += (double)w[(PROBE_N + j) * PROBE_K + i] * x[r * PROBE_K + i];
            }
            a *= norm;
            const double want = y0[r * PROBE_N + j] + a / (1.0 + exp(-a)) * b * norm;
            const double error = fabs(got[r * PROBE_N + j] - want);
            if (!(error <= worst)) worst = error; /* NaN sticks */
            scale = fmax(scale, fabs(want));
        }
    }
    if (status == T6_SUCCESS && worst <= 1e-5 * scale) {
        memcpy(ctx->last_error, saved_error, sizeof saved_error);
        model->gemv = true;
        return T6_SUCCESS;
    }
    char why[256];
    if (status == T6_SUCCESS) snprintf(why, sizeof why, "its products are wrong (error %.3g of %.3g)", worst, scale);
    else snprintf(why, sizeof why, "%.200s", t6_context_last_error(ctx));
    if (dtype != T6_F32 && T6I_HAVE_CLBLAST)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                        "weight_dtype %s: this device cannot run t6_model_gemv, the only reader of %s weights (%s); "
                        "create the model with weight_dtype f32 (fp32 storage, CLBlast's products)",
                        t6_dtype_name(dtype), t6_dtype_name(dtype), why);
    if (!T6I_HAVE_CLBLAST)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                        "this device cannot run t6_model_gemv (%s), and this build of t6 has no CLBlast to run the "
                        "model's products instead", why);
    t6i_log(T6_LOG_WARN, "t6_model_gemv failed its check (%s): the model's products run on CLBlast", why);
    memcpy(ctx->last_error, saved_error, sizeof saved_error);
    model->gemv = false;
    return T6_SUCCESS;
}

t6_status t6i_model_upload_rows(t6_model *model, int rows, const int *slots, const int *tokens,
                                const int *positions)
{
    cl_uint *meta = model->row_meta_host;
    const size_t capacity = (size_t)model->config.capacity;
    for (int i = 0; i < rows; i++) {
        meta[2 * i] = (cl_uint)((size_t)slots[i] * capacity + (size_t)positions[i]);
        meta[2 * i + 1] = (cl_uint)positions[i];
        meta[T6I_MODEL_META_TOKENS(rows) + (size_t)i] = (cl_uint)tokens[i];
        meta[T6I_MODEL_META_POSITIONS(rows) + (size_t)i] = (cl_uint)positions[i];
    }
    return t6i_upload_meta(model->ctx, T6I_MODEL_META_CHANNEL, meta, T6I_MODEL_META_SIZE(rows) * sizeof *meta,
                           &model->row_meta);
}

t6_status t6i_model_embed(t6_model *model, int rows)
{
    t6_status status = T6_SUCCESS;
    if (!model->embed_kernel) T6I_TRY(model_kernel(model, "t6_model_embed", &model->embed_kernel));
    cl_kernel kernel = model->embed_kernel;
    t6i_arg args[] = {T6I_ARG_MEM(model->wte), T6I_ARG_MEM(model->row_meta),
                      T6I_ARG_UINT(T6I_MODEL_META_TOKENS(rows)), T6I_ARG_MEM(model->x), T6I_ARG_UINT(rows)};
    T6I_TRY(t6i_set_args(model->ctx, kernel, "t6_model_embed", args, 5));
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
    t6i_arg args[] = {T6I_ARG_MEM(model->qkv),      T6I_ARG_MEM(model->row_meta),
                      T6I_ARG_UINT(T6I_MODEL_META_POSITIONS(rows)),
                      T6I_ARG_UINT(rows),           T6I_ARG_MEM(model->inv_freq), T6I_ARG_MEM(model->query),
                      T6I_ARG_MEM(model->key),      T6I_ARG_MEM(model->value)};
    T6I_TRY(t6i_set_args(model->ctx, kernel, "t6_model_split_rope", args, 8));
    size_t work = (size_t)rows * (size_t)model->config.heads * (size_t)(model->config.head_dim / 2);
    size_t local = 64, global = t6i_round_up(work, local);
    T6I_TRY(t6i_launch(model->ctx, kernel, "t6_model_split_rope", 1, &global, &local));
cleanup:
    return status;
}
