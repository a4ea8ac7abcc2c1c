/* projection.c — t6_project: validation, parameter resolution, and the fused kernels of projection.cl
 * (t6_project_rows for few rows, t6_project_tiles for many; T6_PRJ_ROWS_MAX is the crossover; the tiles kernel
 * split over C when a call has too few tiles for the device). The CLBlast method lives in projection_clblast.c,
 * the epilogue of split and CLBlast calls in rope_scatter.c. Also the projection's self-test. */
#include "ops/projection.h"
#include "ops/projection_plan.h"
#include "runtime/numerics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Positions reach the kernels as fp32 angles' factor: exact integers up to 2^24. */
#define MAX_POSITION (1 << 24)

static t6i_shape projection_shape(const t6_layer *layer, const t6_cache *cache, int rows)
{
    t6i_shape shape;
    memset(&shape, 0, sizeof shape);
    const t6_layer_config *c = &layer->config;
    shape.f[T6I_F_MODEL_DIM] = c->model_dim;
    shape.f[T6I_F_HEADS] = c->heads;
    shape.f[T6I_F_HEAD_DIM] = c->head_dim;
    shape.f[T6I_F_RANK_Q] = c->rank_q;
    shape.f[T6I_F_RANK_K] = c->rank_k;
    shape.f[T6I_F_RANK_V] = c->rank_v;
    shape.f[T6I_F_DTYPE] = cache->config.dtype;
    shape.f[T6I_F_WEIGHT_DTYPE] = c->weight_dtype;
    shape.f[T6I_F_ROWS] = rows;
    return shape;
}

#define REQUIRE_PARAMS(ctx, cond, ...)                                                                           \
    do {                                                                                                         \
        if (!(cond)) {                                                                                           \
            status = t6i_fail((ctx), T6_ERROR_INVALID_PARAMS, __VA_ARGS__);                                      \
            goto cleanup;                                                                                        \
        }                                                                                                        \
    } while (0)

/* Tunables that only the host reads: passing them to the compiler would only multiply the programs. */
static bool host_only(const char *name)
{
    static const char *const names[] = {"T6_PRJ_ROWS_MAX", "T6_PRJ_RW_BLOCK", "T6_PRJ_SPLIT_GROUPS",
                                        "T6_PRJ_SPLIT_K_MIN"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) return true;
    return false;
}

/* The build options of one fused kernel: the shape, and only that kernel's tunables (the others keep their
 * defaults in the source), so that tuning one kernel never rebuilds the other. */
static void fused_options(const t6i_projection_call *call, const t6i_params *params, bool rows_kernel, char *buf,
                          size_t cap)
{
    t6i_layer_shape_options(call->layer, call->cache->config.dtype, buf, cap);
    for (int i = 0; i < params->count; i++) {
        const char *name = params->defs[i].name;
        if (host_only(name)) continue;
        if ((strncmp(name, "T6_PRJ_RW_", 10) == 0) == rows_kernel) t6i_define(buf, cap, name, params->values[i]);
    }
}

/* Both kernels take the call's buffers in the same order; the rows kernel then the norm's ε, the tiles kernel
 * the partial sums of a split call (NULL otherwise) and the elements of C per range (`k_split` < 0: the rows
 * kernel). */
static t6_status launch_fused(t6_context *ctx, cl_kernel kernel, const char *name, const t6i_projection_call *call,
                              cl_mem partials, int k_split, cl_uint dims, const size_t *global, const size_t *local)
{
    t6_status status = T6_SUCCESS;
    const t6_cache *cache = call->cache;
    t6i_arg args[] = {T6I_ARG_MEM(call->hidden),           T6I_ARG_UINT(call->hidden_offset),
                      T6I_ARG_UINT(call->rows),             T6I_ARG_MEM(call->layer->weights),
                      T6I_ARG_MEM(call->layer->inv_freq),   T6I_ARG_MEM(call->meta),
                      T6I_ARG_MEM(call->query),             T6I_ARG_UINT(call->query_offset),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_A_K]), T6I_ARG_MEM(cache->factor[T6_FACTOR_A_V]),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_B_K]), T6I_ARG_MEM(cache->factor[T6_FACTOR_B_V]),
                      /* the rows kernel's last argument is the norm's ε, the tiles kernel's two the split's */
                      k_split < 0 ? T6I_ARG_FLOAT(call->norm_eps) : T6I_ARG_MEM(partials),
                      T6I_ARG_UINT(k_split)};
    T6I_TRY(t6i_set_args(ctx, kernel, name, args, k_split < 0 ? 13 : 14));
    T6I_TRY(t6i_launch(ctx, kernel, name, dims, global, local));
cleanup:
    return status;
}

/* The work-items a compiled kernel can run per group (its registers), which may be fewer than the device's. */
static t6_status kernel_group_limit(t6_context *ctx, cl_kernel kernel, size_t *limit)
{
    t6_status status = T6_SUCCESS;
    *limit = 0;
    T6I_CHECK_CL(ctx, clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof *limit, limit,
                                               NULL),
                 "clGetKernelWorkGroupInfo(WORK_GROUP_SIZE)");
cleanup:
    return status;
}

/* Few rows: one group per T6_PRJ_RW_COLS packed columns and block of rows (a power of two covering the call's
 * rows, at most T6_PRJ_RW_BLOCK), each reading its weight rows once for all the block's rows. */
static t6_status project_rows(t6_context *ctx, const t6i_projection_call *call, const t6i_params *resolved)
{
    static const char name[] = "t6_project_rows";
    t6_status status = T6_SUCCESS;
    t6i_params params = *resolved; /* its lanes may be halved to what the build allows */
    const int cols = t6i_param(&params, T6I_PRJ_RW_COLS), block = t6i_param(&params, T6I_PRJ_RW_BLOCK);
    const int bound = t6i_projection_rows_bound(call->rows, block);
    cl_kernel kernel = NULL;
    int lanes = 0;
    for (;;) {
        lanes = t6i_param(&params, T6I_PRJ_RW_LANES);
        const size_t local_bytes = t6i_projection_rows_local_bytes(lanes, cols, bound, call->norm_eps > 0.0f);
        /* t6i_params_resolve has checked the values themselves (params_check.c); what depends on the rows is
         * here. */
        REQUIRE_PARAMS(ctx, local_bytes <= ctx->info.local_mem_bytes,
                       "%s: %d lanes × %d columns × %d rows need %zu bytes of local memory; the device has %llu", name,
                       lanes, cols, bound, local_bytes, ctx->info.local_mem_bytes);
        char options[1024] = "";
        fused_options(call, &params, true, options, sizeof options);
        t6i_define(options, sizeof options, "T6_PRJ_ROWS", bound);
        if (call->norm_eps > 0.0f) t6i_define(options, sizeof options, "T6_PRJ_NORM", 1);
        status = t6i_get_kernel(ctx, "projection", options, name, &kernel);
        size_t limit = 0;
        if (status == T6_SUCCESS) T6I_TRY(kernel_group_limit(ctx, kernel, &limit));
        if (status == T6_SUCCESS && (size_t)lanes <= limit) break;
        if (status == T6_SUCCESS)
            status = t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "%s: groups of %d work-items, but the compiled kernel "
                              "allows %zu", name, lanes, limit);
        /* A build over the device's local memory (llvmpipe counts twice the host's estimate) or a device that
         * runs fewer work-items of this kernel per group than of others (llvmpipe: 32 against 1024, its
         * registers): fewer lanes, each summing a longer stretch of C. */
        if ((status != T6_ERROR_UNSUPPORTED && status != T6_ERROR_INVALID_PARAMS) || lanes <= 1) goto cleanup;
        t6i_log(T6_LOG_DEBUG, "%s; T6_PRJ_RW_LANES %d -> %d", t6_context_last_error(ctx), lanes, lanes / 2);
        t6i_param_set(&params, T6I_PRJ_RW_LANES, lanes / 2);
    }
    const size_t local = (size_t)lanes;
    const size_t group[2] = {local, 1};
    const size_t global[2] = {t6i_round_up((size_t)call->layer->columns, (size_t)cols) / (size_t)cols * local,
                              t6i_round_up((size_t)call->rows, (size_t)bound) / (size_t)bound};
    T6I_TRY(launch_fused(ctx, kernel, name, call, NULL, -1, 2, global, group));
cleanup:
    return status;
}

/* How many ranges of C the tiles kernel splits a call into, and the elements per range (a whole number of
 * KWG chunks). A call of few rows has few tiles, each walking all of C alone on its compute unit, where it
 * waits on memory at every chunk: split until the call has about T6_PRJ_SPLIT_GROUPS groups per compute unit,
 * keeping at least T6_PRJ_SPLIT_K_MIN elements per range. The partial sums cost a write and a read of
 * ranges × rows × columns floats, so calls that already have half the groups they want are not split. */
static int split_ranges(const t6_context *ctx, const t6i_projection_call *call, const t6i_params *params,
                        size_t tiles, int *k_split)
{
    const int kwg = t6i_param(params, T6I_PRJ_KWG), per_cu = t6i_param(params, T6I_PRJ_SPLIT_GROUPS);
    const int k_min = t6i_param(params, T6I_PRJ_SPLIT_K_MIN);
    const int chunks = (call->layer->config.model_dim + kwg - 1) / kwg;
    size_t ranges = (size_t)per_cu * (size_t)(ctx->info.compute_units ? ctx->info.compute_units : 1) / tiles;
    const size_t longest = (size_t)(call->layer->config.model_dim / k_min);
    if (ranges > longest) ranges = longest;
    if (ranges > (size_t)chunks) ranges = (size_t)chunks;
    /* Kernels index the partial sums with 32-bit offsets. */
    const size_t per_range = (size_t)call->rows * (size_t)call->layer->columns;
    if (ranges > 4294967295u / per_range) ranges = 4294967295u / per_range;
    if (ranges < 2) ranges = 1;
    const int chunks_per_range = (chunks + (int)ranges - 1) / (int)ranges;
    *k_split = chunks_per_range * kwg;
    return (chunks + chunks_per_range - 1) / chunks_per_range; /* no range left empty */
}

/* Fits a tiles plan to what the build allows, as a small device needs (llvmpipe: 32 KiB of local memory, and
 * 32 work-items per group for this kernel's registers), keeping each work-item's share of the tile: a build over
 * the device's local memory halves the K chunk (both staged tiles halve); a group over the compiled kernel's
 * limit halves its longer side with the tile's. False when nothing is left to halve. */
static bool shrink_tiles(t6i_params *params, bool local_memory)
{
    const int kwg = t6i_param(params, T6I_PRJ_KWG);
    const int mwg = t6i_param(params, T6I_PRJ_MWG), nwg = t6i_param(params, T6I_PRJ_NWG);
    const int mdimc = t6i_param(params, T6I_PRJ_MDIMC), ndimc = t6i_param(params, T6I_PRJ_NDIMC);
    if (local_memory) {
        if (kwg <= 8) return false;
        t6i_param_set(params, T6I_PRJ_KWG, kwg / 2);
    } else if (mdimc >= ndimc && mdimc > 1 && mwg / 2 >= 8) {
        t6i_param_set(params, T6I_PRJ_MDIMC, mdimc / 2);
        t6i_param_set(params, T6I_PRJ_MWG, mwg / 2);
    } else if (ndimc > 1 && nwg / 2 >= 8) {
        t6i_param_set(params, T6I_PRJ_NDIMC, ndimc / 2);
        t6i_param_set(params, T6I_PRJ_NWG, nwg / 2);
    } else {
        return false;
    }
    return true;
}

/* Many rows: a register-tiled GEMM, MWG rows × NWG packed columns per group, over all of C or over ranges of
 * it whose partial sums rope_scatter.c adds. */
static t6_status project_tiles(t6_context *ctx, const t6i_projection_call *call, const t6i_params *resolved)
{
    static const char name[] = "t6_project_tiles";
    t6_status status = T6_SUCCESS;
    t6i_params params = *resolved; /* shrink_tiles may fit it to the build */
    cl_kernel kernel = NULL;
    size_t row_tiles = 0, column_tiles = 0, group = 0;
    int k_split = 0, ranges = 1;
    for (;;) {
        const int mwg = t6i_param(&params, T6I_PRJ_MWG), nwg = t6i_param(&params, T6I_PRJ_NWG);
        group = (size_t)t6i_param(&params, T6I_PRJ_MDIMC) * (size_t)t6i_param(&params, T6I_PRJ_NDIMC);
        /* t6i_params_resolve has checked the values themselves (params_check.c); what depends on the layer is
         * here. */
        REQUIRE_PARAMS(ctx,
                       t6i_round_up((size_t)call->layer->columns, (size_t)nwg) <= (size_t)call->layer->rows_allocated,
                       "%s: T6_PRJ_NWG=%d tiles run past the layer's %d padded weight rows", name, nwg,
                       call->layer->rows_allocated);
        row_tiles = t6i_round_up((size_t)call->rows, (size_t)mwg) / (size_t)mwg;
        column_tiles = t6i_round_up((size_t)call->layer->columns, (size_t)nwg) / (size_t)nwg;
        ranges = split_ranges(ctx, call, &params, row_tiles * column_tiles, &k_split);
        char options[1024] = "";
        fused_options(call, &params, false, options, sizeof options);
        t6i_large_register_file(ctx, options, sizeof options);
        status = t6i_get_kernel(ctx, "projection", options, name, &kernel);
        size_t limit = 0;
        if (status == T6_SUCCESS) T6I_TRY(kernel_group_limit(ctx, kernel, &limit));
        if (status == T6_SUCCESS && group <= limit) break;
        if (status == T6_SUCCESS)
            status = t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "%s: groups of %zu work-items, but the compiled kernel "
                              "allows %zu", name, group, limit);
        if (status != T6_ERROR_UNSUPPORTED && status != T6_ERROR_INVALID_PARAMS) goto cleanup;
        if (!shrink_tiles(&params, status == T6_ERROR_UNSUPPORTED)) goto cleanup;
        t6i_log(T6_LOG_DEBUG, "%s; MWG %d NWG %d KWG %d MDIMC %d NDIMC %d", t6_context_last_error(ctx),
                t6i_param(&params, T6I_PRJ_MWG), t6i_param(&params, T6I_PRJ_NWG), t6i_param(&params, T6I_PRJ_KWG),
                t6i_param(&params, T6I_PRJ_MDIMC), t6i_param(&params, T6I_PRJ_NDIMC));
    }
    cl_mem partials = NULL;
    if (ranges > 1)
        T6I_TRY(t6i_scratch(ctx, 0, (size_t)ranges * (size_t)call->rows * (size_t)call->layer->columns * sizeof(float),
                            &partials));
    const size_t local[3] = {(size_t)t6i_param(&params, T6I_PRJ_MDIMC), (size_t)t6i_param(&params, T6I_PRJ_NDIMC),
                             1};
    const size_t global[3] = {row_tiles * local[0], column_tiles * local[1], (size_t)ranges};
    T6I_TRY(launch_fused(ctx, kernel, name, call, partials, k_split, 3, global, local));
    if (ranges > 1) T6I_TRY(t6i_rope_scatter(ctx, call, partials, ranges));
cleanup:
    return status;
}

/* Defaults, profile and explicit values; when a profile's values fail here (a plan that does not fit, a build
 * the driver refuses), the level below serves the call (t6i_params_fall_back). */
static t6_status project_fused(t6_context *ctx, const t6i_projection_call *call)
{
    t6_status status = T6_SUCCESS;
    t6i_params params;
    t6i_shape shape = projection_shape(call->layer, call->cache, call->rows);
    T6I_TRY(t6i_params_resolve(ctx, T6_OP_PROJECTION, &shape, &params));
    do {
        if (call->rows <= t6i_param(&params, T6I_PRJ_ROWS_MAX)) status = project_rows(ctx, call, &params);
        else if (call->norm_eps > 0.0f)
            status = t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "t6_project: %d rows take the tiles kernel, which has no norm",
                              call->rows);
        else status = project_tiles(ctx, call, &params);
    } while (status != T6_ERROR_UNSUPPORTED && t6i_params_fall_back(ctx, &status, &shape, &params));
cleanup:
    return status;
}

t6_status t6_project(t6_layer *layer, t6_cache *cache, int rows, cl_mem hidden, size_t hidden_offset,
                     const int *slots, const int *positions, cl_mem query, size_t query_offset,
                     const t6_project_options *options)
{
    static const char what[] = "t6_project";
    t6_status status = T6_SUCCESS;
    cl_uint *meta = NULL;
    if (!layer) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: layer is NULL", what);
    t6_context *ctx = layer->ctx;
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, cache, "%s: cache is NULL", what);
    T6I_REQUIRE(ctx, cache->ctx == ctx, "%s: the cache belongs to another t6 context", what);
    const t6_layer_config *lc = &layer->config;
    const t6_cache_config *cc = &cache->config;
    T6I_REQUIRE(ctx, cc->heads == lc->heads && cc->head_dim == lc->head_dim && cc->rank_k == lc->rank_k &&
                         cc->rank_v == lc->rank_v,
                "%s: the cache (H=%d D=%d Rk=%d Rv=%d) does not match the layer (H=%d D=%d Rk=%d Rv=%d)", what,
                cc->heads, cc->head_dim, cc->rank_k, cc->rank_v, lc->heads, lc->head_dim, lc->rank_k, lc->rank_v);
    T6I_REQUIRE(ctx, rows >= 1, "%s: rows=%d must be ≥ 1", what, rows);
    T6I_REQUIRE(ctx, slots && positions, "%s: slots and positions are required", what);
    t6_project_options given = T6_PROJECT_OPTIONS_INIT;
    if (options) T6I_TRY(T6I_STRUCT_IN(ctx, t6_project_options, options, &given));
    const t6_projection_method method = given.method;
    T6I_REQUIRE(ctx, method == T6_PROJECTION_FUSED || method == T6_PROJECTION_CLBLAST, "%s: unknown method %d", what,
                (int)method);
    if (method == T6_PROJECTION_CLBLAST && !T6I_HAVE_CLBLAST) {
        status = t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "%s: T6_PROJECTION_CLBLAST needs CLBlast, and this build of t6 "
                                                     "has none (the fused method needs no BLAS)", what);
        goto cleanup;
    }
    for (int i = 0; i < rows; i++) {
        T6I_REQUIRE(ctx, slots[i] >= 0 && slots[i] < cc->slots, "%s: slots[%d]=%d is outside 0..%d", what, i,
                    slots[i], cc->slots - 1);
        T6I_REQUIRE(ctx, positions[i] >= 0 && positions[i] < cc->capacity,
                    "%s: positions[%d]=%d is outside the cache's capacity (0..%d)", what, i, positions[i],
                    cc->capacity - 1);
        T6I_REQUIRE(ctx, positions[i] <= MAX_POSITION,
                    "%s: positions[%d]=%d is over 2^24, where fp32 RoPE angles lose integer positions", what, i,
                    positions[i]);
    }
    const size_t row_size = t6_query_row_size(lc);
    const size_t hidden_count = (size_t)rows * (size_t)lc->model_dim, query_count = (size_t)rows * row_size;
    /* Kernels index with 32-bit element offsets. */
    T6I_REQUIRE(ctx, hidden_offset + hidden_count < 4294967296.0 && query_offset + query_count < 4294967296.0 &&
                         (double)rows * (double)layer->columns < 4294967296.0,
                "%s: %d rows at these offsets exceed 2^32 elements; split the call", what, rows);
    T6I_TRY(t6i_check_buffer(ctx, hidden, T6_F32, hidden_offset, hidden_count, "t6_project: hidden"));
    T6I_TRY(t6i_check_buffer(ctx, query, T6_F32, query_offset, query_count, "t6_project: query"));

    T6I_ALLOC(ctx, meta, 2 * (size_t)rows);
    for (int i = 0; i < rows; i++) {
        meta[2 * i] = (cl_uint)((size_t)slots[i] * (size_t)cc->capacity + (size_t)positions[i]);
        meta[2 * i + 1] = (cl_uint)positions[i];
    }
    t6i_projection_call call = {layer, cache, rows, hidden, NULL, query, (cl_uint)hidden_offset,
                                (cl_uint)query_offset, 0.0f};
    T6I_TRY(t6i_upload_meta(ctx, 0, meta, 2 * (size_t)rows * sizeof *meta, &call.meta));

    t6i_op_begin(ctx);
    if (method == T6_PROJECTION_FUSED)
        T6I_TRY(project_fused(ctx, &call));
    else
        T6I_TRY(t6i_project_clblast(ctx, &call));
    for (int i = 0; i < rows; i++) {
        t6i_cache_note_written(cache, slots[i], positions[i] + 1);
        t6i_cache_note_rank_q(cache, slots[i], lc->rank_q); /* attention checks its rank_q against it */
    }
cleanup:
    free(meta);
    t6i_unlock(ctx);
    return status;
}

t6_status t6i_project_model(t6_layer *layer, t6_cache *cache, int rows, cl_mem hidden, cl_mem meta,
                            const int *slots, const int *positions, cl_mem query, float norm_eps)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = layer->ctx;
    /* The model made these and checked its rows; what t6_project would still find out per call (the buffers'
     * sizes through the driver, the cache's shape) holds by construction, so the step skips it. */
    for (int i = 0; i < rows; i++)
        T6I_REQUIRE(ctx, positions[i] <= MAX_POSITION,
                    "t6_model: position %d is over 2^24, where fp32 RoPE angles lose integer positions", positions[i]);
    const t6i_projection_call call = {layer, cache, rows, hidden, meta, query, 0, 0, norm_eps};
    T6I_TRY(project_fused(ctx, &call));
    for (int i = 0; i < rows; i++) t6i_cache_note_written(cache, slots[i], positions[i] + 1);
cleanup:
    return status;
}

/* ---- self-test ---- */

/* A fixed-seed generator: the self-test must be repeatable. */
/* An odd shape (C not a multiple of 32, an odd A-column count) with rows in two slots at scattered positions,
 * through both methods, as a decode-sized call and as a larger one (on GPUs, the two fused kernels); query rows
 * and every cache factor are compared with t6_ref_project. fp32 everywhere, so the tolerance is TPA.md's 1e-4
 * of max|ref|. (Positions ≥ 2^19 need large caches: the tests have them.) */
t6_status t6i_self_test_projection(t6_context *ctx)
{
    enum { C = 100, H = 5, D = 32, RQ = 3, RK = 1, RV = 2, ROWS = 40, CAPACITY = 4096 };
    int slots[ROWS], positions[ROWS];
    for (int i = 0; i < ROWS; i++) {
        slots[i] = i % 2;
        positions[i] = (i * 997 + 5) % CAPACITY; /* distinct per slot */
    }
    const t6_layer_config config = {sizeof(t6_layer_config), C, H, D, RQ, RK, RV, T6_ROPE_HALF, 10000.0f, T6_F32};
    const int sizes[6] = {H * RQ, H * RK, H * RV, RQ * D, RK * D, RV * D}; /* rows of each weight */
    const size_t query_row = (size_t)(H * RQ + RQ * D);
    t6_status status = T6_SUCCESS;
    float *weights[6] = {NULL}, *hidden = NULL, *got = NULL;
    double *weights_ref[6] = {NULL}, *hidden_ref = NULL, *ref[6] = {NULL};
    t6_layer *layer = NULL;
    t6_cache *cache = NULL;
    cl_mem hidden_buffer = NULL, query_buffer = NULL;
    t6i_rng rng = t6i_rng_make(7, 0); /* a fixed seed: the self-test must be repeatable */

    for (int f = 0; f < 6; f++) {
        T6I_ALLOC(ctx, weights[f], (size_t)sizes[f] * C);
        T6I_ALLOC(ctx, weights_ref[f], (size_t)sizes[f] * C);
        for (int i = 0; i < sizes[f] * C; i++) weights_ref[f][i] = weights[f][i] = (float)(0.1 * t6i_normal(&rng));
        T6I_ALLOC(ctx, ref[f], (size_t)ROWS * (size_t)sizes[f]);
    }
    T6I_ALLOC(ctx, hidden, ROWS * C);
    T6I_ALLOC(ctx, hidden_ref, ROWS * C);
    for (int i = 0; i < ROWS * C; i++) hidden_ref[i] = hidden[i] = (float)t6i_normal(&rng);
    T6I_ALLOC(ctx, got, (size_t)ROWS * query_row);
    const t6_layer_weights host = {weights[0], weights[1], weights[2], weights[3], weights[4], weights[5]};
    T6I_TRY(t6_layer_create(ctx, &config, &host, &layer));
    const t6_cache_config cache_config = {sizeof(t6_cache_config), H, D, RK, RV, 2, CAPACITY, T6_F32};
    T6I_TRY(t6_cache_create(ctx, &cache_config, &cache));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, ROWS * C, &hidden_buffer));
    T6I_TRY(t6_buffer_upload(ctx, hidden_buffer, T6_F32, 0, ROWS * C, hidden));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, ROWS * query_row, &query_buffer));
    const double *const weight_list[6] = {weights_ref[0], weights_ref[1], weights_ref[2],
                                          weights_ref[3], weights_ref[4], weights_ref[5]};
    /* ref[] in t6_ref_project's output order: a_q, b_q, a_k, b_k, a_v, b_v. */
    T6I_TRY(t6_ref_project(&config, weight_list, ROWS, hidden_ref, positions, ref[0], ref[3], ref[1], ref[4], ref[2],
                           ref[5]));

    static const char *const method_names[2] = {"fused", "clblast"};
    static const int row_counts[2] = {7, ROWS};
    for (int call = 0; call < 4; call++) {
        const int method = call % 2, rows = row_counts[call / 2];
        if (method == T6_PROJECTION_CLBLAST && !T6I_HAVE_CLBLAST) continue;
        t6_project_options options = T6_PROJECT_OPTIONS_INIT;
        options.method = (t6_projection_method)method;
        T6I_TRY(t6_project(layer, cache, rows, hidden_buffer, 0, slots, positions, query_buffer, 0, &options));
        T6I_TRY(t6_buffer_download(ctx, query_buffer, T6_F32, 0, (size_t)rows * query_row, got));
        double worst = 0.0;
        for (int row = 0; row < rows; row++) {
            worst = fmax(worst, t6i_relative_error(got + row * query_row, ref[0] + row * H * RQ, H * RQ));
            worst = fmax(worst, t6i_relative_error(got + row * query_row + H * RQ, ref[3] + row * RQ * D, RQ * D));
            for (int f = 0; f < 4; f++) {
                const int matrix = f == T6_FACTOR_A_K ? 1 : f == T6_FACTOR_A_V ? 2 : f == T6_FACTOR_B_K ? 4 : 5;
                T6I_TRY(t6_cache_read(cache, (t6_cache_factor)f, slots[row], positions[row], 1, got));
                worst = fmax(worst, t6i_relative_error(got, ref[matrix] + (size_t)row * (size_t)sizes[matrix],
                                                       (size_t)sizes[matrix]));
            }
            /* The cache reads reused `got`: fetch the query rows again for the next row. */
            T6I_TRY(t6_buffer_download(ctx, query_buffer, T6_F32, 0, (size_t)rows * query_row, got));
        }
        if (!(worst <= 1e-4)) {
            status = t6i_fail(ctx, T6_ERROR_WRONG_RESULT, "self-test projection (%s, %d rows): relative error %.3g "
                              "> 1e-4", method_names[method], rows, worst);
            goto cleanup;
        }
        t6i_log(T6_LOG_INFO, "self-test projection (%s, %d rows): relative error %.2g", method_names[method], rows,
                worst);
    }
cleanup:
    if (hidden_buffer) clReleaseMemObject(hidden_buffer);
    if (query_buffer) clReleaseMemObject(query_buffer);
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    for (int f = 0; f < 6; f++) {
        free(weights[f]);
        free(weights_ref[f]);
        free(ref[f]);
    }
    free(hidden);
    free(hidden_ref);
    free(got);
    return status;
}
