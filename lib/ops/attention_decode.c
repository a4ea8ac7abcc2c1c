/* attention_decode.c — plans and launches kernels_cl/attention_decode.cl (T6_DEC_KERNEL 3: factorized decode as
 * register-tiled stages): probes the tensor-core path, fits the work division to the shape, the group and local
 * memory, and splits the positions over the device (merged by merge.cl). */
#include "ops/attention_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_CHANNEL 2
#define SCRATCH_CHANNEL 2
/* Registers of a compute unit on every NVIDIA GPU since Kepler: what -cl-nv-maxrregcount divides. */
#define NVIDIA_REGISTERS_PER_CU 65536
/* Bytes of local memory planned beyond the arrays' sum (see layout_of). */
#define LOCAL_MARGIN_BYTES 256

/* The kernel's macros for one call, and the launch around them. */
typedef struct plan {
    int mma; /* the kernel's T6_MMA: 0 fp32 FMAs, 1 tensor cores, 2 their tiling emulated */
    int wg_size, tile, vector, s1_ranks, score_t, score_h, acc_heads, registers;
    int splits, split_length;
} plan;

static int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }

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

/* ---- fitting ---- */

/* Sizes that follow from the plan, as attention_decode.cl derives them (its local memory, array by array). */
typedef struct layout {
    int position_blocks, head_slots, team_size, teams;
    size_t union_floats, local_bytes;
} layout;

static layout layout_of(const plan *p, const t6_cache_config *c, int rank_q)
{
    layout l;
    const size_t dim4 = (size_t)c->head_dim / 4, rqp = (size_t)ceil_div(rank_q, p->mma ? 8 : 4) * (p->mma ? 8 : 4);
    const size_t rq4 = rqp / 4;
    const size_t key_rows = (size_t)p->tile * (size_t)c->rank_k, value_rows = (size_t)p->tile * (size_t)c->rank_v;
    l.head_slots = ceil_div(c->heads, p->score_h);
    l.position_blocks = p->tile / p->score_t;
    size_t value_heads = 0, value_stride4 = dim4, reduce4 = 0;
    if (p->mma) {
        value_heads = (size_t)ceil_div(c->heads, 16) * 16;
        value_stride4 = dim4 + 2;
        l.team_size = l.teams = 1;
    } else {
        value_heads = (size_t)ceil_div(c->heads, p->acc_heads) * (size_t)p->acc_heads;
        l.team_size = (int)(value_heads / (size_t)p->acc_heads * dim4);
        l.teams = p->wg_size / l.team_size;
        reduce4 = (size_t)(l.teams / 2) * (size_t)l.team_size * (size_t)p->acc_heads;
    }
    const size_t bq4 = rqp * (dim4 + 1) * (p->mma ? 2 : 1), aq4 = (size_t)l.head_slots * (size_t)p->score_h * (rq4 + 1);
    const size_t tile4 = key_rows * (dim4 + 1) + value_rows * value_stride4 + key_rows * (rq4 + 1) +
                         value_rows * (value_heads / 4 + 2);
    const size_t sums4 = ((size_t)l.position_blocks * (size_t)c->heads + 3) / 4;
    size_t union4 = tile4 > reduce4 ? tile4 : reduce4;
    if (sums4 > union4) union4 = sums4;
    l.union_floats = union4 * 4;
    /* bq (and its low parts), aq, the union, then reference, row_sum, merge_totals (2H), tile_max and 2 flags. */
    l.local_bytes = ((bq4 + aq4 + union4) * 4 + 5 * (size_t)c->heads + 2) * sizeof(float);
    /* Compilers align and pad the arrays: clang for amdgcn allocated 8-36 bytes more than this sum on 12 of 13
     * shapes (docs/PORTABILITY.md); the margin keeps a plan near the limit from failing its build. */
    l.local_bytes += LOCAL_MARGIN_BYTES;
    return l;
}

/* The work division for a tile: positions per score unit first (a unit per work-item), then heads. */
static void divide_work(plan *p, const t6_cache_config *c, int rank_q, int acc_heads_asked)
{
    const int rqp = ceil_div(rank_q, 4) * 4, dim4 = c->head_dim / 4;
    /* Two positions per unit halve the Â_Q reads, unless their A factors would crowd the registers. */
    p->score_t = 2 * (1 + c->rank_k + c->rank_v) <= 24 ? 2 : 1;
    while (p->tile / p->score_t > p->wg_size) p->score_t *= 2;
    p->score_h = ceil_div(c->heads, p->wg_size / (p->tile / p->score_t));
    p->s1_ranks = 1;
    while (p->s1_ranks < 4 && p->tile * c->rank_k * rqp / p->s1_ranks > p->wg_size) p->s1_ranks *= 2;
    if (p->mma) {
        p->acc_heads = 4; /* unused: warps own tensor-core tiles of the output */
        return;
    }
    if (acc_heads_asked > 0) {
        p->acc_heads = acc_heads_asked;
        return;
    }
    /* The register tile that keeps the most work-items busy in the value product; on ties the one that pads
     * fewer heads, then the larger (fewer teams, fewer W reads per FMA). */
    int best_busy = -1, best_padding = 0;
    p->acc_heads = 16;
    for (int a = 16; a >= 4; a -= 4) {
        const int team = ceil_div(c->heads, a) * dim4, padding = ceil_div(c->heads, a) * a - c->heads;
        const int busy = team <= p->wg_size ? p->wg_size / team * team : 0;
        if (busy > best_busy || (busy == best_busy && padding < best_padding)) {
            best_busy = busy;
            best_padding = padding;
            p->acc_heads = a;
        }
    }
}

/* Fits the plan to the device: the tile (a multiple of 4, of 16 on tensor cores, at most max_tile when that is
 * positive) is lowered until the group's registers and local memory fit. T6_ERROR_UNSUPPORTED with the reason
 * when no tile does. */
static t6_status make_plan(t6_context *ctx, const t6i_attention_call *call, const t6i_params *params, int mma,
                           int max_tile, plan *p)
{
    const t6_cache_config *c = &call->cache->config;
    const char *fn = "t6_attention_decode (kernel 3)";
    p->mma = mma;
    p->wg_size = t6i_param(params, T6I_DEC_WG_SIZE);
    p->vector = t6i_param(params, T6I_DEC_VECTOR);
    /* VECTOR, ACC_HEADS and WG_SIZE are within what the kernel and the device take: t6i_params_check. */
    const int acc_heads = t6i_param(params, T6I_DEC_ACC_HEADS);
    p->registers = t6i_param(params, T6I_DEC_REGISTERS);
    if (p->registers == 0) {
        const int groups = t6i_param(params, T6I_DEC_CU_GROUPS);
        p->registers = NVIDIA_REGISTERS_PER_CU / (p->wg_size * groups) / 8 * 8;
        if (p->registers > 255) p->registers = 255;
    }
    const int align = mma ? 16 : 4;
    p->tile = ceil_div(t6i_param(params, T6I_DEC_TILE), align) * align;
    if (max_tile > 0 && p->tile > max_tile) p->tile = max_tile;
    for (;; p->tile /= 2) {
        p->tile = p->tile / align * align;
        if (p->tile < align)
            return t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                            "%s: H=%d D=%d ranks %d,%d,%d do not fit a group of %d work-items and %llu bytes of local "
                            "memory", fn, c->heads, c->head_dim, call->rank_q, c->rank_k, c->rank_v, p->wg_size,
                            ctx->info.local_mem_bytes);
        divide_work(p, c, call->rank_q, acc_heads);
        const layout l = layout_of(p, c, call->rank_q);
        /* Registers per work-item: the scores with their A factors (the value tile is checked by its teams). */
        const int score_registers = p->score_t * p->score_h * (1 + c->rank_k + c->rank_v);
        if (l.teams < 1 || score_registers > 48) continue;
        if (l.local_bytes > ctx->info.local_mem_bytes) continue;
        return T6_SUCCESS;
    }
}

/* Splits the positions until the device has about CU_GROUPS groups per compute unit, none shorter than
 * MIN_SPLIT, each a whole number of tiles. */
static void plan_splits(t6_context *ctx, const t6i_attention_call *call, const t6i_params *params, plan *p)
{
    const t6_cache_config *c = &call->cache->config;
    const long long wanted = (long long)ctx->info.compute_units * t6i_param(params, T6I_DEC_CU_GROUPS);
    int splits = call->rows >= wanted ? 1 : ceil_div(wanted, call->rows);
    const int most = ceil_div(call->max_end, t6i_param(params, T6I_DEC_MIN_SPLIT));
    if (splits > most) splits = most;
    if (splits < 1) splits = 1;
    p->split_length = ceil_div(ceil_div(call->max_end, splits), p->tile) * p->tile;
    p->splits = ceil_div(call->max_end, p->split_length);
    /* Partial rows are indexed with 32 bits. */
    while (p->splits > 1 && t6i_split_partials_floats(call->rows, p->splits, c->heads, c->head_dim) > 4294967295ull) {
        p->split_length *= 2;
        p->splits = ceil_div(call->max_end, p->split_length);
    }
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

t6_status t6i_attention_decode_tiles(t6_context *ctx, const t6i_attention_call *call, const t6i_params *params)
{
    t6_status status = T6_SUCCESS;
    const t6_cache *cache = call->cache;
    const t6_cache_config *c = &cache->config;
    const char *what = "t6_attention(decode, kernel 3)";
    cl_int *tiles = NULL;
    plan p;
    /* Tensor cores (or, T6_DEC_MMA 2, their tiling emulated with FMAs) where B operands are exact in tf32. */
    const int asked_mma = t6i_param(params, T6I_DEC_MMA);
    const bool mma = asked_mma && (c->dtype == T6_F16 || c->dtype == T6_BF16) &&
                     t6i_param(params, T6I_DEC_WG_SIZE) % 32 == 0 && (asked_mma == 2 || tensor_cores_work(ctx));
    status = make_plan(ctx, call, params, mma ? asked_mma : 0, 0, &p);
    if (status == T6_ERROR_UNSUPPORTED && mma) status = make_plan(ctx, call, params, 0, 0, &p);
    T6I_TRY(status);
    plan_splits(ctx, call, params, &p);

    cl_kernel kernel = NULL;
    status = get_kernel(ctx, call, &p, &kernel);
    /* The build took more local memory than planned (t6i_get_kernel checks): halve the tile while one is left. */
    while (status == T6_ERROR_UNSUPPORTED && p.tile / 2 >= (p.mma ? 16 : 4)) {
        t6i_log(T6_LOG_WARN, "%s: %.300s; planning a tile of %d", what, t6_context_last_error(ctx), p.tile / 2);
        T6I_TRY(make_plan(ctx, call, params, p.mma, p.tile / 2, &p));
        plan_splits(ctx, call, params, &p);
        status = get_kernel(ctx, call, &p, &kernel);
    }
    if (status == T6_ERROR_BUILD_FAILED && p.mma == 1) {
        /* The probe's program built; a shape's may still not (resources): the fp32 path serves it. */
        t6i_log(T6_LOG_WARN, "%s: the tensor-core build failed (%.300s); using fp32 FMAs", what,
                t6_context_last_error(ctx));
        T6I_TRY(make_plan(ctx, call, params, 0, 0, &p));
        plan_splits(ctx, call, params, &p);
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
