/* attention_decode.c — launches kernels_cl/attention_decode.cl (T6_DEC_KERNEL 3: factorized decode as
 * register-tiled stages) as its plan says (attention_stages_plan.c: the tile, the work division and the splits
 * over the device, merged by merge.cl); probes the tensor-core path, and plans again when the build disagrees. */
#include "ops/attention_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_CHANNEL 2
#define SCRATCH_CHANNEL 2

typedef t6i_stages_plan plan;

static bool is_nvidia_gpu(const t6_context *ctx)
{
    return ctx->info.is_gpu && strcmp(ctx->info.normalized_vendor, "nvidia") == 0;
}

/* ---- the tensor-core probe ---- */

/* The inputs of t6_mma_probe, built the same way. */
static float probe_fraction(unsigned i) { return (float)((1000003u * (i + 1)) % 1048573u) * 0x1p-20f; }
static float probe_whole(unsigned i) { return (float)((i * 7) % 13) - 6.0f; }

/* Whether the driver builds kernel 3's tensor-core path (PTX inline assembly) and the fragments give the right
 * products. Run once per context; a failure is logged, not returned: the fp32 path serves then. */
static bool tensor_cores_work(t6_context *ctx)
{
    if (ctx->decode_mma != 0) return ctx->decode_mma > 0;
    ctx->decode_mma = -1;
    if (!is_nvidia_gpu(ctx)) return false;
    char saved_error[T6I_ERROR_TEXT];
    memcpy(saved_error, ctx->last_error, sizeof saved_error);
    cl_mem out = NULL;
    float got[256];
    const char *why = "wrong products";
    cl_kernel kernel = NULL;
    cl_int err = CL_SUCCESS;
    if (t6i_get_kernel(ctx, "attention_decode", " -DT6_MMA=1", "t6_mma_probe", &kernel) != T6_SUCCESS) {
        why = ctx->last_error;
        goto done;
    }
    why = "an OpenCL call failed";
    out = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, sizeof got, NULL, &err);
    const size_t size = 32;
    if (err != CL_SUCCESS || clSetKernelArg(kernel, 0, sizeof out, &out) != CL_SUCCESS ||
        clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &size, &size, 0, NULL, NULL) != CL_SUCCESS ||
        clEnqueueReadBuffer(ctx->queue, out, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL) != CL_SUCCESS)
        goto done;
    why = "wrong products";
    double worst = 0.0;
    for (unsigned part = 0; part < 2; part++)
        for (unsigned r = 0; r < 16; r++)
            for (unsigned n = 0; n < 8; n++) {
                double want = 0.0, scale = 0.0;
                for (unsigned k = 0; k < 8; k++) {
                    const double term = part == 0 ? (double)probe_fraction(r * 8 + k) * probe_whole(k * 8 + n)
                                                   : (double)probe_whole(r * 8 + k) * probe_fraction(k * 8 + n);
                    want += term;
                    scale += fabs(term);
                }
                const double error = fabs(got[part * 128 + r * 8 + n] - want) / (scale > 0.0 ? scale : 1.0);
                if (!(error <= worst)) worst = error; /* NaN sticks */
            }
    /* A split operand keeps ~2^-21 of itself; a wrong fragment layout is off by O(1). */
    if (worst <= 1e-5) ctx->decode_mma = 1;
done:
    if (out) clReleaseMemObject(out);
    if (ctx->decode_mma > 0) t6i_log(T6_LOG_INFO, "decode kernel 3: tensor cores (mma.sync tf32) in use");
    else t6i_log(T6_LOG_INFO, "decode kernel 3: tensor cores not used: %.300s", why);
    memcpy(ctx->last_error, saved_error, sizeof saved_error);
    return ctx->decode_mma > 0;
}

/* ---- planning ---- */

/* The plan of `asked` (tensor cores as `mma` says), its tile at most `max_tile` when that is positive. */
static t6_status make_plan(t6_context *ctx, const t6i_attention_shape *shape, const plan *asked, int mma,
                           int max_tile, plan *p)
{
    *p = *asked;
    p->mma = mma;
    char why[256];
    const t6_status status = t6i_stages_plan_make(&ctx->info, shape, max_tile, p, why, sizeof why);
    if (status != T6_SUCCESS) return t6i_fail(ctx, status, "t6_attention_decode (kernel 3): %s", why);
    return T6_SUCCESS;
}

/* The plan's kernel. The options hold what the kernel reads and nothing that changes with the call's length (how
 * the splits are merged is an argument), so that a shape builds one program. */
static t6_status get_kernel(t6_context *ctx, const t6i_attention_call *call, const plan *p, cl_kernel *kernel)
{
    const t6_cache_config *c = &call->cache->config;
    char options[1024] = "";
    t6i_define(options, sizeof options, "T6_HEADS", c->heads);
    t6i_define(options, sizeof options, "T6_HEAD_DIM", c->head_dim);
    t6i_define(options, sizeof options, "T6_RANK_Q", call->rank_q);
    t6i_define(options, sizeof options, "T6_RANK_K", c->rank_k);
    t6i_define(options, sizeof options, "T6_RANK_V", c->rank_v);
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", c->dtype);
    t6i_define(options, sizeof options, "T6_MMA", p->mma);
    t6i_define(options, sizeof options, "T6_S1_RANKS", p->s1_ranks);
    t6i_define(options, sizeof options, "T6_SCORE_T", p->score_t);
    t6i_define(options, sizeof options, "T6_SCORE_H", p->score_h);
    t6i_define(options, sizeof options, "T6_ACC_HEADS", p->acc_heads);
    t6i_define(options, sizeof options, "T6_DEC_WG_SIZE", p->wg_size);
    t6i_define(options, sizeof options, "T6_DEC_TILE", p->tile);
    t6i_define(options, sizeof options, "T6_DEC_VECTOR", p->vector);
    /* NVIDIA's compiler otherwise spends registers as if one group per compute unit were enough. Only its
     * compiler takes the option (others reject the build: PoCL, clang, ocloc, Mesa's), hence the extension. */
    if (ctx->nv_compiler_options && p->registers < 255) {
        const size_t used = strlen(options);
        snprintf(options + used, sizeof options - used, " -cl-nv-maxrregcount=%d", p->registers);
    }
    t6i_large_register_file(ctx, options, sizeof options);
    return t6i_get_kernel(ctx, "attention_decode", options, "t6_attention_decode", kernel);
}

t6_status t6i_attention_decode_tiles(t6_context *ctx, const t6i_attention_call *call, const t6i_attention_shape *shape,
                                     const plan *asked, const plan *fitted)
{
    t6_status status = T6_SUCCESS;
    const t6_cache *cache = call->cache;
    const t6_cache_config *c = &cache->config;
    const char *what = "t6_attention(decode, kernel 3)";
    cl_int *tiles = NULL;
    plan p = *fitted;
    /* Tensor cores (or, T6_DEC_MMA 2, their tiling emulated with FMAs) where the plan takes them and, for the
     * real ones, their probe passes. */
    if (p.mma == 1 && !tensor_cores_work(ctx)) T6I_TRY(make_plan(ctx, shape, asked, 0, 0, &p));

    cl_kernel kernel = NULL;
    status = get_kernel(ctx, call, &p, &kernel);
    /* The build took more local memory than planned (t6i_get_kernel checks): halve the tile while one is left. */
    while (status == T6_ERROR_UNSUPPORTED && p.tile / 2 >= (p.mma ? 16 : 4)) {
        t6i_log(T6_LOG_WARN, "%s: %.300s; planning a tile of %d", what, t6_context_last_error(ctx), p.tile / 2);
        T6I_TRY(make_plan(ctx, shape, asked, p.mma, p.tile / 2, &p));
        status = get_kernel(ctx, call, &p, &kernel);
    }
    if (status == T6_ERROR_BUILD_FAILED && p.mma == 1) {
        /* The probe's program built; a shape's may still not (resources): the fp32 path serves it. */
        t6i_log(T6_LOG_WARN, "%s: the tensor-core build failed (%.300s); using fp32 FMAs", what,
                t6_context_last_error(ctx));
        T6I_TRY(make_plan(ctx, shape, asked, 0, 0, &p));
        status = get_kernel(ctx, call, &p, &kernel);
    }
    T6I_TRY(status);
    size_t kernel_limit = 0;
    T6I_CHECK_CL(ctx, clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_limit,
                                               &kernel_limit, NULL),
                 "clGetKernelWorkGroupInfo(t6_attention_decode)");
    if ((size_t)p.wg_size > kernel_limit) {
        status = t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                          "%s: WG_SIZE=%d is over the %zu work-items this kernel can run per group (registers)", what,
                          p.wg_size, kernel_limit);
        goto cleanup;
    }

    T6I_ALLOC(ctx, tiles, (size_t)call->batch * 4);
    for (int i = 0; i < call->batch; i++) {
        tiles[4 * i + 0] = call->slots[i];
        tiles[4 * i + 1] = i;
        tiles[4 * i + 2] = 1;
        tiles[4 * i + 3] = call->starts[i];
    }
    cl_mem tile_buffer = NULL;
    T6I_TRY(t6i_upload_meta(ctx, META_CHANNEL, tiles, (size_t)call->batch * 4 * sizeof *tiles, &tile_buffer));

    cl_mem partials = call->out;
    if (p.splits > 1)
        T6I_TRY(t6i_scratch(ctx, SCRATCH_CHANNEL,
                            t6i_split_partials_floats(call->rows, p.splits, c->heads, c->head_dim) * sizeof(float),
                            &partials));
    t6i_arg args[] = {T6I_FACTORIZED_KERNEL_ARGS(call, tile_buffer, p.split_length),
                      T6I_ARG_MEM(call->out),
                      T6I_ARG_UINT(call->out_offset),
                      T6I_ARG_UINT(p.splits == 1 ? 0 : 1), /* the kernel's MODE_* */
                      T6I_ARG_MEM(partials)};
    T6I_TRY(t6i_set_args(ctx, kernel, what, args, (int)(sizeof args / sizeof args[0])));
    const size_t local[3] = {(size_t)p.wg_size, 1, 1};
    const size_t global[3] = {(size_t)p.wg_size * (size_t)p.splits, 1, (size_t)call->rows};
    T6I_TRY(t6i_launch(ctx, kernel, what, 3, global, local));
    if (p.splits > 1)
        T6I_TRY(t6i_merge_splits(ctx, call->rows, c->heads, c->head_dim, p.splits, partials, call->out,
                                 call->out_offset));
cleanup:
    free(tiles);
    return status;
}
