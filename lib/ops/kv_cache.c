/* kv_cache.c — the conventional K/V cache of the MHA/GQA/MQA baselines: K and V per slot, position and kv head,
 * its lengths, host writes and the device-side append (kernels_cl/kv_append.cl). Attention over it is mha.c. */
#include "ops/ops.h"

#include <stdint.h>
#include <stdlib.h>

/* Reads the application's config into *config (t6.h, "Structs that grow") and checks it. */
static t6_status read_config(const t6_context *ctx, const t6_kv_cache_config *given, t6_kv_cache_config *config)
{
    if (!given) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_create: config is NULL");
    t6_status status = T6I_STRUCT_IN(ctx, t6_kv_cache_config, given, config);
    if (status != T6_SUCCESS) return status;
    if (config->kv_heads < 1 || config->kv_heads > 4096)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_create: kv_heads=%d must be 1..4096",
                        config->kv_heads);
    int d = config->head_dim;
    if (d != 32 && d != 64 && d != 80 && d != 96 && d != 128)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT,
                        "t6_kv_cache_create: head_dim=%d must be 32, 64, 80, 96 or 128", d);
    return t6i_check_cache_geometry(ctx, "t6_kv_cache_create", config->slots, config->capacity, config->dtype);
}

t6_status t6_kv_cache_create(t6_context *ctx, const t6_kv_cache_config *config, t6_kv_cache **out)
{
    t6_status status = T6_SUCCESS;
    t6_kv_cache *cache = NULL;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_create: ctx is NULL");
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, out, "t6_kv_cache_create: out is NULL");
    *out = NULL;
    t6_kv_cache_config checked;
    T6I_TRY(read_config(ctx, config, &checked));
    config = &checked;
    size_t row = (size_t)config->kv_heads * (size_t)config->head_dim;
    /* Kernels index within a slot with 32-bit integers (cheaper address arithmetic on GPUs). */
    T6I_REQUIRE(ctx, (double)config->capacity * (double)row < 4294967296.0,
                "t6_kv_cache_create: capacity %d × %zu values per position is over 2^32 elements per slot",
                config->capacity, row);
    double bytes = (double)config->slots * (double)config->capacity * (double)row *
                   (double)t6_dtype_size(config->dtype);
    T6I_REQUIRE(ctx, bytes <= (double)ctx->info.max_alloc_bytes,
                "t6_kv_cache_create: K needs %.0f bytes, over the device's largest allocation (%llu bytes); use "
                "fewer slots or several caches", bytes, ctx->info.max_alloc_bytes);
    T6I_ALLOC(ctx, cache, 1);
    cache->ctx = ctx;
    t6i_context_retain(ctx);
    cache->config = *config;
    T6I_ALLOC(ctx, cache->length, config->slots);
    cl_int err = CL_SUCCESS;
    cache->k = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, (size_t)bytes, NULL, &err);
    if (err != CL_SUCCESS) cache->k = NULL;
    T6I_CHECK_CL(ctx, err, "clCreateBuffer(K cache)");
    cache->v = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, (size_t)bytes, NULL, &err);
    if (err != CL_SUCCESS) cache->v = NULL;
    T6I_CHECK_CL(ctx, err, "clCreateBuffer(V cache)");
    *out = cache;
    cache = NULL;
cleanup:
    t6_kv_cache_destroy(cache);
    t6i_unlock(ctx);
    return status;
}

void t6_kv_cache_destroy(t6_kv_cache *cache)
{
    if (!cache) return;
    if (cache->k) clReleaseMemObject(cache->k);
    if (cache->v) clReleaseMemObject(cache->v);
    free(cache->length);
    t6i_context_release(cache->ctx);
    free(cache);
}

t6_status t6_kv_cache_length(const t6_kv_cache *cache, int slot, int *length)
{
    if (!cache || !length)
        return t6i_fail(cache ? cache->ctx : NULL, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_length: NULL argument");
    if (slot < 0 || slot >= cache->config.slots)
        return t6i_fail(cache->ctx, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_length: slot %d is outside 0..%d",
                        slot, cache->config.slots - 1);
    t6i_lock(cache->ctx);
    *length = cache->length[slot];
    t6i_unlock(cache->ctx);
    return T6_SUCCESS;
}

t6_status t6_kv_cache_reset(t6_kv_cache *cache, int slot)
{
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_reset: cache is NULL");
    if (slot < 0 || slot >= cache->config.slots)
        return t6i_fail(cache->ctx, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_reset: slot %d is outside 0..%d",
                        slot, cache->config.slots - 1);
    t6i_lock(cache->ctx);
    cache->length[slot] = 0;
    t6i_unlock(cache->ctx);
    return T6_SUCCESS;
}

static void note_written(t6_kv_cache *cache, int slot, int end_position)
{
    if (end_position > cache->length[slot]) cache->length[slot] = end_position;
}

t6_status t6_kv_cache_write(t6_kv_cache *cache, int slot, int first, int count, const float *k, const float *v)
{
    t6_status status = T6_SUCCESS;
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_write: cache is NULL");
    t6_context *ctx = cache->ctx;
    t6i_lock(ctx);
    const t6_kv_cache_config *c = &cache->config;
    T6I_REQUIRE(ctx, slot >= 0 && slot < c->slots, "t6_kv_cache_write: slot %d is outside 0..%d", slot, c->slots - 1);
    /* The message's last position is computed wide: first + count − 1 overflows an int for extreme arguments. */
    T6I_REQUIRE(ctx, first >= 0 && count >= 1 && first <= c->capacity - count,
                "t6_kv_cache_write: positions %d..%lld are outside the capacity %d", first,
                (long long)first + count - 1, c->capacity);
    T6I_REQUIRE(ctx, k && v, "t6_kv_cache_write: k and v must not be NULL");
    size_t row = (size_t)c->kv_heads * (size_t)c->head_dim;
    size_t offset = ((size_t)slot * (size_t)c->capacity + (size_t)first) * row;
    /* t6i_transfer only reads the host array when uploading. */
    T6I_TRY(t6i_transfer(ctx, cache->k, c->dtype, offset, (size_t)count * row, (float *)k, true, "t6_kv_cache_write"));
    T6I_TRY(t6i_transfer(ctx, cache->v, c->dtype, offset, (size_t)count * row, (float *)v, true, "t6_kv_cache_write"));
    note_written(cache, slot, first + count);
cleanup:
    t6i_unlock(ctx);
    return status;
}

t6_status t6_kv_cache_append(t6_kv_cache *cache, int rows, cl_mem k, size_t k_offset, cl_mem v, size_t v_offset,
                             const int *slots, const int *positions)
{
    t6_status status = T6_SUCCESS;
    int *targets = NULL;
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_kv_cache_append: cache is NULL");
    t6_context *ctx = cache->ctx;
    t6i_lock(ctx);
    const t6_kv_cache_config *c = &cache->config;
    T6I_REQUIRE(ctx, rows >= 1, "t6_kv_cache_append: rows=%d must be ≥ 1", rows);
    T6I_REQUIRE(ctx, slots && positions, "t6_kv_cache_append: slots and positions must not be NULL");
    for (int i = 0; i < rows; i++) {
        T6I_REQUIRE(ctx, slots[i] >= 0 && slots[i] < c->slots, "t6_kv_cache_append: slots[%d]=%d is outside 0..%d",
                    i, slots[i], c->slots - 1);
        T6I_REQUIRE(ctx, positions[i] >= 0 && positions[i] < c->capacity,
                    "t6_kv_cache_append: positions[%d]=%d is outside the capacity %d", i, positions[i], c->capacity);
    }
    size_t row = (size_t)c->kv_heads * (size_t)c->head_dim;
    size_t elements = (size_t)rows * row;
    T6I_TRY(t6i_check_buffer(ctx, k, T6_F32, k_offset, elements, "t6_kv_cache_append: k"));
    T6I_TRY(t6i_check_buffer(ctx, v, T6_F32, v_offset, elements, "t6_kv_cache_append: v"));
    T6I_REQUIRE(ctx, k_offset <= UINT32_MAX && v_offset <= UINT32_MAX,
                "t6_kv_cache_append: k_offset and v_offset must be below 2^32");

    T6I_ALLOC(ctx, targets, 2 * (size_t)rows);
    for (int i = 0; i < rows; i++) {
        targets[2 * i] = slots[i];
        targets[2 * i + 1] = positions[i];
    }
    t6i_op_begin(ctx);
    cl_mem meta = NULL;
    /* A channel of its own (MHA decode uses 0): a model step appends the same rows in every layer, and
     * t6i_upload_meta writes them only once while nothing else uses the channel in between. */
    T6I_TRY(t6i_upload_meta(ctx, 3, targets, 2 * (size_t)rows * sizeof *targets, &meta));
    char options[64] = "";
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", c->dtype);
    cl_kernel kernel = NULL;
    T6I_TRY(t6i_get_kernel(ctx, "kv_append", options, "t6_kv_append", &kernel));
    t6i_arg args[] = {T6I_ARG_MEM(k),    T6I_ARG_UINT(k_offset), T6I_ARG_MEM(v),           T6I_ARG_UINT(v_offset),
                      T6I_ARG_MEM(meta), T6I_ARG_UINT(row),      T6I_ARG_UINT(c->capacity), T6I_ARG_MEM(cache->k),
                      T6I_ARG_MEM(cache->v)};
    T6I_TRY(t6i_set_args(ctx, kernel, "t6_kv_append", args, 9));
    size_t local[2] = {64, 1};
    size_t global[2] = {t6i_round_up(row, local[0]), (size_t)rows};
    T6I_TRY(t6i_launch(ctx, kernel, "t6_kv_append", 2, global, local));
    for (int i = 0; i < rows; i++) note_written(cache, slots[i], positions[i] + 1);
cleanup:
    free(targets);
    t6i_unlock(ctx);
    return status;
}
