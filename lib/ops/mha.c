/* mha.c — MHA/GQA/MQA decode (split pass, then merge.cl) and causal prefill over a conventional K/V cache, or
 * over any K/V laid out the same way (the materialized baseline's scratch). Kernels: kernels_cl/mha.cl, one
 * shaped for GPUs and one for CPUs per operation, picked by device type unless a tunable says otherwise; prefill
 * runs on tensor cores (mha_mma.c) where the device has them. */
#include "ops/ops.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define T6I_ARG_ULONG(v) ((t6i_arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})
#define LOG2_E 1.4426950408889634

static t6i_shape call_shape(const t6i_kv_view *kv, int heads, int batch, int length)
{
    t6i_shape shape = {{0}};
    shape.f[T6I_F_HEADS] = heads;
    shape.f[T6I_F_KV_HEADS] = kv->kv_heads;
    shape.f[T6I_F_HEAD_DIM] = kv->head_dim;
    shape.f[T6I_F_DTYPE] = kv->dtype;
    shape.f[T6I_F_BATCH] = batch;
    shape.f[T6I_F_LENGTH] = length;
    return shape;
}

/* Fails with T6_ERROR_INVALID_PARAMS unless a kernel of `group_size` items and `local_floats` of local memory
 * fits the device. */
static t6_status check_fits(t6_context *ctx, const char *op, size_t group_size, size_t local_floats)
{
    if (group_size > ctx->info.max_work_group_size)
        return t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "%s: the parameters make work-groups of %zu items; the device "
                        "allows %zu", op, group_size, ctx->info.max_work_group_size);
    if (local_floats * sizeof(float) > ctx->info.local_mem_bytes)
        return t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "%s: the parameters need %zu bytes of local memory; the device "
                        "has %llu", op, local_floats * sizeof(float), ctx->info.local_mem_bytes);
    return T6_SUCCESS;
}

/* ---- decode ---- */

typedef struct decode_plan {
    bool rows_kernel; /* t6_mha_decode_rows, else t6_mha_decode_split */
    int vec, kv_per_group, heads_per_block, blocks, rows, tile, splits, split_len;
    size_t group_size;
} decode_plan;

/* What one work-group may hold in private vectors with the row kernel: q and the accumulators of its query
 * heads (CPUs keep them on the stack; beyond this the working set leaves L1). */
#define ROWS_KERNEL_MAX_FLOATS 8192

/* The kv heads a work-group reads together: the largest divisor of kv_heads up to the limit that fits.
 * Automatic (T6_MHD_KV_BLOCK 0): one on GPUs, which need many work-groups; otherwise all, so each position's
 * row is one contiguous run for a CPU's prefetchers. */
static int kv_per_group(const t6_context *ctx, const decode_plan *plan, int kv_block, const t6i_kv_view *kv)
{
    int limit = kv_block ? kv_block : ctx->info.is_gpu ? 1 : kv->kv_heads;
    int best = 1;
    for (int d = 1; d <= kv->kv_heads && d <= limit; d++) {
        bool fits = plan->rows_kernel ? d * plan->heads_per_block * kv->head_dim <= ROWS_KERNEL_MAX_FLOATS
                                      : (size_t)d * (size_t)(kv->head_dim / plan->vec) <= ctx->info.max_work_group_size;
        if (kv->kv_heads % d == 0 && fits) best = d;
    }
    return best;
}

/* Kernel geometry and the split count. One long sequence needs many splits to fill a GPU, a big batch none.
 * The count aims at T6_MHD_GROUPS_PER_CU work-groups per compute unit, rounded down: all splits are the same
 * size, so a second, partly filled wave of work-groups would cost as much as a full one. T6_MHD_SPLIT_MAX
 * bounds the merge pass, whose work-items each walk every split. */
static t6_status plan_decode(t6_context *ctx, const t6i_params *params, const t6i_kv_view *kv, int heads, int batch,
                             int max_length, decode_plan *plan)
{
    const int group = heads / kv->kv_heads;
    const int kernel = t6i_param(params, T6I_MHD_KERNEL);
    plan->rows_kernel = kernel == 2 || (kernel == 0 && !ctx->info.is_gpu);
    plan->vec = t6i_param(params, T6I_MHD_VEC); /* 2, 4, 8 or 16: t6i_params_check */
    int head_block = t6i_param(params, T6I_MHD_HEAD_BLOCK);
    plan->blocks = (group + head_block - 1) / head_block;
    plan->heads_per_block = (group + plan->blocks - 1) / plan->blocks;
    plan->kv_per_group = kv_per_group(ctx, plan, t6i_param(params, T6I_MHD_KV_BLOCK), kv);
    const int unroll = t6i_param(params, T6I_MHD_UNROLL);
    if (plan->rows_kernel) {
        plan->rows = 1;
        plan->group_size = 1;
        plan->tile = unroll;
    } else {
        const int lanes_per_head = kv->head_dim / plan->vec, lanes = plan->kv_per_group * lanes_per_head;
        plan->rows = t6i_param(params, T6I_MHD_WG_SIZE) / lanes;
        if (plan->rows < 1) plan->rows = 1;
        plan->tile = plan->rows * unroll;
        const size_t vectors = (size_t)plan->kv_per_group * (size_t)plan->heads_per_block, tile = (size_t)plan->tile;
        plan->group_size = (size_t)plan->rows * (size_t)lanes;
        /* Mirrors the __local arrays of mha_decode.cl. */
        size_t red = (size_t)lanes_per_head * (vectors * tile + (lanes_per_head < 32 ? 32 / lanes_per_head : 1));
        size_t merge_rows = tile / (size_t)plan->vec;
        merge_rows = merge_rows < 1 ? 1 : merge_rows > (size_t)plan->rows ? (size_t)plan->rows : merge_rows;
        size_t merge = merge_rows * vectors * (size_t)kv->head_dim;
        size_t local_floats = vectors * (size_t)kv->head_dim + (red > merge ? red : merge) + vectors * tile +
                              2 * vectors * (size_t)plan->rows;
        t6_status status = check_fits(ctx, "mha_decode", plan->group_size, local_floats);
        if (status != T6_SUCCESS) return status;
    }
    const long long tile = plan->tile;

    long long per_split = (long long)batch * (kv->kv_heads / plan->kv_per_group) * plan->blocks;
    long long target = (long long)ctx->info.compute_units * t6i_param(params, T6I_MHD_GROUPS_PER_CU);
    long long splits = target / per_split;
    int split_min = t6i_param(params, T6I_MHD_SPLIT_MIN);
    long long most = (max_length + split_min - 1) / split_min;
    if (most > t6i_param(params, T6I_MHD_SPLIT_MAX)) most = t6i_param(params, T6I_MHD_SPLIT_MAX);
    if (splits > most) splits = most;
    if (splits < 1) splits = 1;
    /* Whole tiles per split; then drop splits the rounding left empty for every entry. */
    long long split_len = (max_length + splits - 1) / splits;
    split_len = (split_len + tile - 1) / tile * tile;
    plan->split_len = (int)split_len;
    plan->splits = (int)((max_length + split_len - 1) / split_len);
    return T6_SUCCESS;
}

/* The decode with one resolution of the tunables. */
static t6_status decode_view_with(t6_context *ctx, const t6i_params *resolved, const t6i_kv_view *kv, int heads,
                                  int batch, const int *slots, const int *lengths, int max_length, cl_mem q,
                                  size_t q_offset, cl_mem out, size_t out_offset, float scale)
{
    t6_status status = T6_SUCCESS;
    int *entries = NULL;
    const t6i_params params = *resolved;
    decode_plan plan = {0}; /* every field is set by the planner; zeroed so no path reads garbage */
    T6I_TRY(plan_decode(ctx, &params, kv, heads, batch, max_length, &plan));

    T6I_ALLOC(ctx, entries, 2 * (size_t)batch);
    for (int i = 0; i < batch; i++) {
        entries[2 * i] = slots[i];
        entries[2 * i + 1] = lengths[i];
    }
    cl_mem meta = NULL;
    T6I_TRY(t6i_upload_meta(ctx, 0, entries, 2 * (size_t)batch * sizeof *entries, &meta));

    const bool direct = plan.splits == 1;
    cl_mem dest = out;
    size_t dest_offset = out_offset;
    if (!direct) {
        size_t floats = t6i_split_partials_floats(batch, plan.splits, heads, kv->head_dim);
        T6I_REQUIRE(ctx, floats < UINT32_MAX, "mha_decode: %d splits of %d entries need too many partials",
                    plan.splits, batch);
        T6I_TRY(t6i_scratch(ctx, 3, floats * sizeof(float), &dest));
        dest_offset = 0;
    }

    /* Only what changes the code goes into the build options: tuning the split policy must not rebuild. */
    char options[512] = "";
    static const t6i_param_id kernel_params[] = {T6I_MHD_VEC, T6I_MHD_UNROLL, T6I_MHD_HALF_MATH};
    for (size_t i = 0; i < sizeof kernel_params / sizeof kernel_params[0]; i++)
        t6i_define_param(options, sizeof options, &params, kernel_params[i]);
    t6i_define(options, sizeof options, "T6_HEAD_DIM", kv->head_dim);
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", kv->dtype);
    t6i_define(options, sizeof options, "T6_KV_PER_GROUP", plan.kv_per_group);
    t6i_define(options, sizeof options, "T6_HEADS_PER_BLOCK", plan.heads_per_block);
    t6i_define(options, sizeof options, "T6_ROWS_PER_GROUP", plan.rows);
    t6i_define(options, sizeof options, "T6_MHA_KERNEL", plan.rows_kernel ? 2 : 1);
    t6i_define(options, sizeof options, "T6_MHD_DIRECT", direct);
    cl_kernel kernel = NULL;
    const char *kernel_name = plan.rows_kernel ? "t6_mha_decode_rows" : "t6_mha_decode_split";
    T6I_TRY(t6i_get_kernel(ctx, "mha", options, kernel_name, &kernel));
    const int group = heads / kv->kv_heads;
    t6i_arg args[] = {T6I_ARG_MEM(kv->k),          T6I_ARG_MEM(kv->v),
                      T6I_ARG_ULONG(kv->slot_stride), T6I_ARG_UINT(kv->kv_heads),
                      T6I_ARG_UINT(group),          T6I_ARG_MEM(meta),
                      T6I_ARG_MEM(q),               T6I_ARG_UINT(q_offset),
                      T6I_ARG_FLOAT(scale * LOG2_E), T6I_ARG_UINT(plan.split_len),
                      T6I_ARG_UINT(plan.splits),    T6I_ARG_UINT(batch),
                      T6I_ARG_MEM(dest),            T6I_ARG_UINT(dest_offset)};
    T6I_TRY(t6i_set_args(ctx, kernel, kernel_name, args, 14));
    size_t local[3] = {plan.group_size, 1, 1};
    size_t global[3] = {plan.group_size * (size_t)plan.blocks * (size_t)plan.splits,
                        (size_t)(kv->kv_heads / plan.kv_per_group), (size_t)batch};
    T6I_TRY(t6i_launch(ctx, kernel, kernel_name, 3, global, local));
    if (!direct) T6I_TRY(t6i_merge_splits(ctx, batch, heads, kv->head_dim, plan.splits, dest, out, out_offset));
cleanup:
    free(entries);
    return status;
}

t6_status t6i_mha_decode_view(t6_context *ctx, const t6i_kv_view *kv, int heads, int batch, const int *slots,
                              const int *lengths, cl_mem q, size_t q_offset, cl_mem out, size_t out_offset,
                              float scale)
{
    t6_status status = T6_SUCCESS;
    int max_length = 0;
    for (int i = 0; i < batch; i++) max_length = lengths[i] > max_length ? lengths[i] : max_length;
    t6i_params params;
    t6i_shape shape = call_shape(kv, heads, batch, max_length);
    T6I_TRY(t6i_params_resolve(ctx, T6_OP_MHA_DECODE, &shape, &params));
    /* A profile's values that fail here give way to the level below. */
    do {
        status = decode_view_with(ctx, &params, kv, heads, batch, slots, lengths, max_length, q, q_offset, out,
                                  out_offset, scale);
    } while (t6i_params_fall_back(ctx, &status, &shape, &params));
cleanup:
    return status;
}

/* ---- prefill ---- */

/* The largest register block a work-item of the GPU kernel may hold (scores or outputs): beyond it compilers
 * spill, and unroll for minutes. */
#define PREFILL_MAX_BLOCK 128
/* The row kernel keeps a tile of K and V as vectors; beyond this many values it leaves L1 (and the unrolled
 * code grows past what compilers handle quickly). */
#define PREFILL_ROWS_MAX_TILE 4096

/* Checks the tunables against the kernel and head_dim, and sizes its work-groups. */
static t6_status plan_prefill(t6_context *ctx, const t6i_params *params, int head_dim, bool *rows_kernel,
                              size_t *group_size)
{
    const int kernel = t6i_param(params, T6I_MHP_KERNEL);
    const int queries = t6i_param(params, T6I_MHP_QUERIES), keys = t6i_param(params, T6I_MHP_KEYS);
    *rows_kernel = kernel == 2 || (kernel == 0 && !ctx->info.is_gpu); /* kernel 3 falls back to 1 */
    /* The values themselves (VEC; divisors of QUERIES and KEYS) are checked by t6i_params_check. */
    if (*rows_kernel) {
        if (keys * head_dim > PREFILL_ROWS_MAX_TILE)
            return t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "mha_prefill: T6_MHP_KEYS=%d × head_dim %d is over %d",
                            keys, head_dim, PREFILL_ROWS_MAX_TILE);
        *group_size = 1;
        return T6_SUCCESS;
    }
    const int thread_queries = t6i_param(params, T6I_MHP_THREAD_QUERIES);
    const int columns = t6i_param(params, T6I_MHP_COLUMNS);
    if (head_dim % columns)
        return t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "mha_prefill: T6_MHP_COLUMNS=%d must divide head_dim=%d",
                        columns, head_dim);
    if (thread_queries * (keys / columns) > PREFILL_MAX_BLOCK ||
        thread_queries * (head_dim / columns) > PREFILL_MAX_BLOCK)
        return t6i_fail(ctx, T6_ERROR_INVALID_PARAMS,
                        "mha_prefill: register blocks of %d × %d scores and %d × %d outputs are over %d values",
                        thread_queries, keys / columns, thread_queries, head_dim / columns, PREFILL_MAX_BLOCK);
    *group_size = (size_t)(queries / thread_queries) * (size_t)columns;
    size_t d = (size_t)head_dim;
    size_t k_floats = d * (size_t)(keys + 1), v_floats = (size_t)keys * d;
    /* Mirrors the __local arrays of t6_mha_prefill. */
    size_t local_floats = d * (size_t)(queries + 1) + (k_floats > v_floats ? k_floats : v_floats) +
                          (size_t)queries * (size_t)(keys + 1) + (size_t)queries * (size_t)columns;
    return check_fits(ctx, "mha_prefill", *group_size, local_floats);
}

/* The prefill with one resolution of the tunables. */
static t6_status prefill_view_with(t6_context *ctx, const t6i_params *resolved, const t6i_kv_view *kv, int heads,
                                   int batch, const int *slots, const int *starts, const int *counts, int max_count,
                                   cl_mem q, size_t q_offset, cl_mem out, size_t out_offset, float scale)
{
    t6_status status = T6_SUCCESS;
    int *entries = NULL;
    int rows = 0;
    const t6i_params params = *resolved;
    bool rows_kernel = false;
    size_t group_size = 0;
    const int asked = t6i_param(&params, T6I_MHP_KERNEL);

    T6I_ALLOC(ctx, entries, 4 * (size_t)batch);
    for (int i = 0; i < batch; i++) {
        entries[4 * i] = slots[i];
        entries[4 * i + 1] = starts[i];
        entries[4 * i + 2] = counts[i];
        entries[4 * i + 3] = rows;
        rows += counts[i];
    }
    cl_mem meta = NULL;
    T6I_TRY(t6i_upload_meta(ctx, 1, entries, 4 * (size_t)batch * sizeof *entries, &meta));
    if (asked == 3 || (asked == 0 && ctx->info.is_gpu)) {
        /* Even when asked for (a profile may pin it), fp32 K/V or a failed probe fall back. */
        status = t6i_mha_prefill_mma(ctx, &params, kv, heads, batch, meta, max_count, q, q_offset, out, out_offset,
                                     scale);
        if (status != T6_ERROR_UNSUPPORTED) goto cleanup;
        t6i_log(asked == 3 ? T6_LOG_INFO : T6_LOG_DEBUG,
                "mha_prefill: the tensor-core kernel does not serve this call (%s); falling back",
                t6_context_last_error(ctx));
        status = T6_SUCCESS;
    }
    T6I_TRY(plan_prefill(ctx, &params, kv->head_dim, &rows_kernel, &group_size));

    /* Only what the chosen kernel reads goes into the build options. */
    char options[512] = "";
    static const t6i_param_id tiles_params[] = {T6I_MHP_QUERIES, T6I_MHP_KEYS, T6I_MHP_THREAD_QUERIES, T6I_MHP_COLUMNS};
    static const t6i_param_id rows_params[] = {T6I_MHP_QUERIES, T6I_MHP_KEYS, T6I_MHP_VEC};
    const t6i_param_id *kernel_params = rows_kernel ? rows_params : tiles_params;
    for (int i = 0; i < (rows_kernel ? 3 : 4); i++) t6i_define_param(options, sizeof options, &params, kernel_params[i]);
    t6i_define(options, sizeof options, "T6_HEAD_DIM", kv->head_dim);
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", kv->dtype);
    t6i_define(options, sizeof options, "T6_MHA_KERNEL", rows_kernel ? 4 : 3);
    cl_kernel kernel = NULL;
    const char *kernel_name = rows_kernel ? "t6_mha_prefill_rows" : "t6_mha_prefill";
    T6I_TRY(t6i_get_kernel(ctx, "mha", options, kernel_name, &kernel));
    const int group = heads / kv->kv_heads;
    t6i_arg args[] = {T6I_ARG_MEM(kv->k),     T6I_ARG_MEM(kv->v),          T6I_ARG_ULONG(kv->slot_stride),
                      T6I_ARG_UINT(kv->kv_heads), T6I_ARG_UINT(group),      T6I_ARG_MEM(meta),
                      T6I_ARG_MEM(q),          T6I_ARG_UINT(q_offset),      T6I_ARG_FLOAT(scale * LOG2_E),
                      T6I_ARG_MEM(out),        T6I_ARG_UINT(out_offset)};
    T6I_TRY(t6i_set_args(ctx, kernel, kernel_name, args, 11));
    const size_t queries = (size_t)t6i_param(&params, T6I_MHP_QUERIES);
    size_t vector_blocks = ((size_t)max_count * (size_t)group + queries - 1) / queries;
    size_t local[3] = {group_size, 1, 1};
    size_t global[3] = {group_size * vector_blocks, (size_t)kv->kv_heads, (size_t)batch};
    T6I_TRY(t6i_launch(ctx, kernel, kernel_name, 3, global, local));
cleanup:
    free(entries);
    return status;
}

t6_status t6i_mha_prefill_view(t6_context *ctx, const t6i_kv_view *kv, int heads, int batch, const int *slots,
                               const int *starts, const int *counts, cl_mem q, size_t q_offset, cl_mem out,
                               size_t out_offset, float scale)
{
    t6_status status = T6_SUCCESS;
    int max_count = 0, max_end = 0;
    for (int i = 0; i < batch; i++) {
        max_count = counts[i] > max_count ? counts[i] : max_count;
        max_end = starts[i] + counts[i] > max_end ? starts[i] + counts[i] : max_end;
    }
    t6i_params params;
    t6i_shape shape = call_shape(kv, heads, batch, max_end);
    T6I_TRY(t6i_params_resolve(ctx, T6_OP_MHA_PREFILL, &shape, &params));
    /* A profile's values that fail here give way to the level below. */
    do {
        status = prefill_view_with(ctx, &params, kv, heads, batch, slots, starts, counts, max_count, q, q_offset,
                                   out, out_offset, scale);
    } while (t6i_params_fall_back(ctx, &status, &shape, &params));
cleanup:
    return status;
}

/* ---- the public calls: validation, then the views above over the cache ---- */

static t6i_kv_view cache_view(const t6_kv_cache *cache)
{
    const t6_kv_cache_config *c = &cache->config;
    t6i_kv_view view = {cache->k, cache->v, c->dtype, c->kv_heads, c->head_dim,
                        (size_t)c->capacity * (size_t)c->kv_heads * (size_t)c->head_dim};
    return view;
}

/* Checks what decode and prefill share: heads, batch, the host arrays, and q/out for `rows` query rows. */
static t6_status check_common(t6_kv_cache *cache, const char *fn, int heads, int batch, const int *slots,
                              const void *per_entry, int rows, cl_mem q, size_t q_offset, cl_mem out,
                              size_t out_offset, float scale)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = cache->ctx;
    const int kv_heads = cache->config.kv_heads;
    T6I_REQUIRE(ctx, heads >= 1 && heads <= 4096 && heads % kv_heads == 0,
                "%s: heads=%d must be a multiple of the cache's kv_heads=%d (and at most 4096)", fn, heads, kv_heads);
    T6I_REQUIRE(ctx, batch >= 1, "%s: batch=%d must be ≥ 1", fn, batch);
    T6I_REQUIRE(ctx, slots && per_entry, "%s: the per-entry arrays must not be NULL", fn);
    T6I_REQUIRE(ctx, isfinite(scale), "%s: scale=%g is not finite", fn, (double)scale);
    size_t elements = (size_t)rows * (size_t)heads * (size_t)cache->config.head_dim;
    T6I_TRY(t6i_check_buffer(ctx, q, T6_F32, q_offset, elements, "q"));
    T6I_TRY(t6i_check_buffer(ctx, out, T6_F32, out_offset, elements, "out"));
    /* Kernels address q and out with 32-bit element indices. */
    T6I_REQUIRE(ctx, q_offset + elements <= UINT32_MAX && out_offset + elements <= UINT32_MAX,
                "%s: q and out must lie within the first 2^32 elements of their buffers", fn);
cleanup:
    return status;
}

static t6_status check_slot(t6_kv_cache *cache, const char *fn, int i, int slot, int end)
{
    t6_context *ctx = cache->ctx;
    if (slot < 0 || slot >= cache->config.slots)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: slots[%d]=%d is outside 0..%d", fn, i, slot,
                        cache->config.slots - 1);
    if (end > cache->length[slot])
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT,
                        "%s: entry %d reaches position %d of slot %d, which holds %d written positions", fn, i,
                        end - 1, slot, cache->length[slot]);
    return T6_SUCCESS;
}

t6_status t6_mha_decode(t6_kv_cache *cache, int heads, int batch, const int *slots, const int *lengths, cl_mem q,
                        size_t q_offset, cl_mem out, size_t out_offset, float scale)
{
    static const char fn[] = "t6_mha_decode";
    t6_status status = T6_SUCCESS;
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: cache is NULL", fn);
    t6_context *ctx = cache->ctx;
    t6i_lock(ctx);
    T6I_TRY(check_common(cache, fn, heads, batch, slots, lengths, batch, q, q_offset, out, out_offset, scale));
    for (int i = 0; i < batch; i++) {
        T6I_REQUIRE(ctx, lengths[i] >= 1, "%s: lengths[%d]=%d must be ≥ 1", fn, i, lengths[i]);
        T6I_TRY(check_slot(cache, fn, i, slots[i], lengths[i]));
    }
    t6i_op_begin(ctx);
    t6i_kv_view view = cache_view(cache);
    float softmax_scale = scale != 0.0f ? scale : 1.0f / sqrtf((float)cache->config.head_dim);
    T6I_TRY(t6i_mha_decode_view(ctx, &view, heads, batch, slots, lengths, q, q_offset, out, out_offset,
                                softmax_scale));
cleanup:
    t6i_unlock(ctx);
    return status;
}

t6_status t6_mha_prefill(t6_kv_cache *cache, int heads, int batch, const int *slots, const int *starts,
                         const int *counts, cl_mem q, size_t q_offset, cl_mem out, size_t out_offset, float scale)
{
    static const char fn[] = "t6_mha_prefill";
    t6_status status = T6_SUCCESS;
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: cache is NULL", fn);
    t6_context *ctx = cache->ctx;
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, batch >= 1 && starts && counts, "%s: batch=%d must be ≥ 1 with starts and counts given", fn,
                batch);
    long long rows = 0;
    for (int i = 0; i < batch; i++) {
        T6I_REQUIRE(ctx, starts[i] >= 0, "%s: starts[%d]=%d must be ≥ 0", fn, i, starts[i]);
        T6I_REQUIRE(ctx, counts[i] >= 1 && counts[i] <= INT32_MAX - starts[i], "%s: counts[%d]=%d must be ≥ 1", fn, i,
                    counts[i]);
        rows += counts[i];
    }
    T6I_REQUIRE(ctx, rows <= INT32_MAX, "%s: %lld query rows in all is too many", fn, rows);
    T6I_TRY(check_common(cache, fn, heads, batch, slots, counts, (int)rows, q, q_offset, out, out_offset, scale));
    for (int i = 0; i < batch; i++) T6I_TRY(check_slot(cache, fn, i, slots[i], starts[i] + counts[i]));
    t6i_op_begin(ctx);
    t6i_kv_view view = cache_view(cache);
    float softmax_scale = scale != 0.0f ? scale : 1.0f / sqrtf((float)cache->config.head_dim);
    T6I_TRY(t6i_mha_prefill_view(ctx, &view, heads, batch, slots, starts, counts, q, q_offset, out, out_offset,
                                 softmax_scale));
cleanup:
    t6i_unlock(ctx);
    return status;
}
