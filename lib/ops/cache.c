/* cache.c — the factor cache object: A_K, A_V, B_K, B_V per slot and position, its lengths, and host access.
 * The kernels that fill it (projection) and read it (attention) live with their ops. */
#include "ops/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

t6_status t6i_check_attention_shape(const t6_context *ctx, int heads, int head_dim, int rank_q, int rank_k,
                                    int rank_v)
{
    if (heads < 1 || heads > 4096) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "heads=%d must be 1..4096", heads);
    if (head_dim != 32 && head_dim != 64 && head_dim != 80 && head_dim != 96 && head_dim != 128)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "head_dim=%d must be 32, 64, 80, 96 or 128", head_dim);
    /* rank_q is 0 where the caller has no query side (a cache): only K and V ranks are checked then. */
    if (rank_q != 0 && (rank_q < 1 || rank_q > 16))
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "rank_q=%d must be 1..16", rank_q);
    if (rank_k < 1 || rank_k > 16) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "rank_k=%d must be 1..16", rank_k);
    if (rank_v < 1 || rank_v > 16) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "rank_v=%d must be 1..16", rank_v);
    return T6_SUCCESS;
}

t6i_scales t6i_resolve_scales(const t6_attention_options *options, int rank_q, int rank_k, int rank_v, int head_dim)
{
    t6i_scales s = {1.0f / (float)rank_q, 1.0f / (float)rank_k, 1.0f / (float)rank_v, 1.0f / sqrtf((float)head_dim)};
    if (options) {
        if (options->scale_q != 0.0f) s.q = options->scale_q;
        if (options->scale_k != 0.0f) s.k = options->scale_k;
        if (options->scale_v != 0.0f) s.v = options->scale_v;
        if (options->scale_softmax != 0.0f) s.softmax = options->scale_softmax;
    }
    return s;
}

size_t t6_cache_factor_size(const t6_cache_config *config, t6_cache_factor factor)
{
    if (!config || config->struct_size < sizeof *config) return 0;
    switch (factor) {
    case T6_FACTOR_A_K: return (size_t)config->heads * (size_t)config->rank_k;
    case T6_FACTOR_A_V: return (size_t)config->heads * (size_t)config->rank_v;
    case T6_FACTOR_B_K: return (size_t)config->rank_k * (size_t)config->head_dim;
    case T6_FACTOR_B_V: return (size_t)config->rank_v * (size_t)config->head_dim;
    }
    return 0;
}

/* Reads the application's config into *config (t6.h, "Structs that grow") and checks it. */
static t6_status read_config(const t6_context *ctx, const t6_cache_config *given, t6_cache_config *config)
{
    if (!given) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "cache config is NULL");
    t6_status status = T6I_STRUCT_IN(ctx, t6_cache_config, given, config);
    if (status != T6_SUCCESS) return status;
    status = t6i_check_attention_shape(ctx, config->heads, config->head_dim, 0, config->rank_k,
                                                 config->rank_v);
    if (status != T6_SUCCESS) return status;
    return t6i_check_cache_geometry(ctx, "t6_cache_create", config->slots, config->capacity, config->dtype);
}

t6_status t6i_check_cache_geometry(const t6_context *ctx, const char *what, int slots, int capacity, t6_dtype dtype)
{
    if (slots < 1) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: slots=%d must be ≥ 1", what, slots);
    if (capacity < 1) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: capacity=%d must be ≥ 1", what, capacity);
    if (!t6i_dtype_valid(dtype))
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: dtype %d is unknown", what, (int)dtype);
    return T6_SUCCESS;
}

t6_status t6_cache_create(t6_context *ctx, const t6_cache_config *config, t6_cache **out)
{
    t6_status status = T6_SUCCESS;
    t6_cache *cache = NULL;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_cache_create: ctx is NULL");
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, out, "t6_cache_create: out is NULL");
    *out = NULL;
    t6_cache_config checked;
    T6I_TRY(read_config(ctx, config, &checked));
    config = &checked;
    T6I_ALLOC(ctx, cache, 1);
    cache->ctx = ctx;
    t6i_context_retain(ctx);
    cache->config = *config;
    T6I_ALLOC(ctx, cache->length, config->slots);
    T6I_ALLOC(ctx, cache->rank_q, config->slots);
    size_t element = t6_dtype_size(config->dtype);
    for (int f = 0; f < 4; f++) {
        size_t per_position = t6_cache_factor_size(config, (t6_cache_factor)f);
        /* Element indices are 32-bit inside the kernels (cheaper address arithmetic on GPUs). */
        double elements = (double)config->slots * (double)config->capacity * (double)per_position;
        T6I_REQUIRE(ctx, elements < 4294967296.0,
                    "t6_cache_create: %d slots × %d positions × %zu is over 2^32 elements per factor; use "
                    "several caches", config->slots, config->capacity, per_position);
        size_t bytes = (size_t)elements * element;
        if (bytes > ctx->info.max_alloc_bytes) {
            status = t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT,
                              "t6_cache_create: one factor needs %zu bytes, over the device's largest allocation "
                              "(%llu bytes)", bytes, ctx->info.max_alloc_bytes);
            goto cleanup;
        }
        cl_int err = CL_SUCCESS;
        cache->factor[f] = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
        if (err != CL_SUCCESS) cache->factor[f] = NULL;
        T6I_CHECK_CL(ctx, err, "clCreateBuffer(cache)");
    }
    *out = cache;
    cache = NULL;
cleanup:
    t6_cache_destroy(cache);
    t6i_unlock(ctx);
    return status;
}

void t6_cache_destroy(t6_cache *cache)
{
    if (!cache) return;
    for (int f = 0; f < 4; f++)
        if (cache->factor[f]) clReleaseMemObject(cache->factor[f]);
    free(cache->length);
    free(cache->rank_q);
    t6i_context_release(cache->ctx);
    free(cache);
}

t6_status t6_cache_get_config(const t6_cache *cache, t6_cache_config *config)
{
    if (!cache || !config) return t6i_fail(cache ? cache->ctx : NULL, T6_ERROR_INVALID_ARGUMENT,
                                           "t6_cache_get_config: NULL argument");
    return T6I_STRUCT_OUT(cache->ctx, t6_cache_config, config, &cache->config);
}

t6_status t6_cache_length(const t6_cache *cache, int slot, int *length)
{
    if (!cache || !length)
        return t6i_fail(cache ? cache->ctx : NULL, T6_ERROR_INVALID_ARGUMENT, "t6_cache_length: NULL argument");
    if (slot < 0 || slot >= cache->config.slots)
        return t6i_fail(cache->ctx, T6_ERROR_INVALID_ARGUMENT, "t6_cache_length: slot %d is outside 0..%d", slot,
                        cache->config.slots - 1);
    t6i_lock(cache->ctx);
    *length = cache->length[slot];
    t6i_unlock(cache->ctx);
    return T6_SUCCESS;
}

t6_status t6_cache_reset(t6_cache *cache, int slot)
{
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_cache_reset: cache is NULL");
    if (slot < 0 || slot >= cache->config.slots)
        return t6i_fail(cache->ctx, T6_ERROR_INVALID_ARGUMENT, "t6_cache_reset: slot %d is outside 0..%d", slot,
                        cache->config.slots - 1);
    t6i_lock(cache->ctx);
    cache->length[slot] = 0;
    cache->rank_q[slot] = 0;
    t6i_unlock(cache->ctx);
    return T6_SUCCESS;
}

void t6i_cache_note_written(t6_cache *cache, int slot, int end_position)
{
    if (end_position > cache->length[slot]) cache->length[slot] = end_position;
}

void t6i_cache_note_rank_q(t6_cache *cache, int slot, int rank_q) { cache->rank_q[slot] = rank_q; }

static t6_status host_access(t6_cache *cache, t6_cache_factor factor, int slot, int first, int count, float *host,
                             bool write, const char *what)
{
    t6_status status = T6_SUCCESS;
    if (!cache) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: cache is NULL", what);
    t6_context *ctx = cache->ctx;
    t6i_lock(ctx);
    const t6_cache_config *c = &cache->config;
    T6I_REQUIRE(ctx, factor >= T6_FACTOR_A_K && factor <= T6_FACTOR_B_V, "%s: unknown factor %d", what, (int)factor);
    T6I_REQUIRE(ctx, slot >= 0 && slot < c->slots, "%s: slot %d is outside 0..%d", what, slot, c->slots - 1);
    /* The message's last position is computed wide: first + count − 1 overflows an int for extreme arguments. */
    T6I_REQUIRE(ctx, first >= 0 && count >= 1 && first <= c->capacity - count,
                "%s: positions %d..%lld are outside the capacity %d", what, first, (long long)first + count - 1,
                c->capacity);
    T6I_REQUIRE(ctx, host, "%s: host is NULL", what);
    size_t per_position = t6_cache_factor_size(c, factor);
    size_t offset = ((size_t)slot * (size_t)c->capacity + (size_t)first) * per_position;
    T6I_TRY(t6i_transfer(ctx, cache->factor[factor], c->dtype, offset, (size_t)count * per_position, host, write,
                         what));
    if (write) {
        t6i_cache_note_written(cache, slot, first + count);
        t6i_cache_note_rank_q(cache, slot, 0); /* factors from the host: no layer to compare queries with */
    }
cleanup:
    t6i_unlock(ctx);
    return status;
}

t6_status t6_cache_write(t6_cache *cache, t6_cache_factor factor, int slot, int first, int count, const float *host)
{
    /* host_access only reads `host` when writing. */
    return host_access(cache, factor, slot, first, count, (float *)host, true, "t6_cache_write");
}

t6_status t6_cache_read(t6_cache *cache, t6_cache_factor factor, int slot, int first, int count, float *host)
{
    return host_access(cache, factor, slot, first, count, host, false, "t6_cache_read");
}
