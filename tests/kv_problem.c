/* kv_problem.c — see kv_problem.h. */
#include "kv_problem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t kv_row_size(const kv_case *c) { return (size_t)c->config.kv_heads * (size_t)c->config.head_dim; }

void kv_case_open(kv_case *c, t6_context *ctx, int kv_heads, int head_dim, int slots, int capacity, t6_dtype dtype)
{
    memset(c, 0, sizeof *c);
    ck_assert_int_le(slots, KV_MAX_SLOTS);
    c->ctx = ctx;
    c->config = (t6_kv_cache_config){sizeof(t6_kv_cache_config), kv_heads, head_dim, slots, capacity, dtype};
    T6T_OK(ctx, t6_kv_cache_create(ctx, &c->config, &c->cache));
    for (int s = 0; s < slots; s++) {
        c->k_ref[s] = calloc((size_t)capacity * kv_row_size(c), sizeof(double));
        c->v_ref[s] = calloc((size_t)capacity * kv_row_size(c), sizeof(double));
        ck_assert(c->k_ref[s] && c->v_ref[s]);
    }
}

void kv_case_close(kv_case *c)
{
    t6_kv_cache_destroy(c->cache);
    for (int s = 0; s < KV_MAX_SLOTS; s++) {
        free(c->k_ref[s]);
        free(c->v_ref[s]);
    }
}

void kv_case_fill(kv_case *c, int slot, int first, int count, uint64_t stream)
{
    size_t n = (size_t)count * kv_row_size(c), offset = (size_t)first * kv_row_size(c);
    float *k = malloc(n * sizeof *k), *v = malloc(n * sizeof *v);
    ck_assert(k && v);
    t6i_rng rng = t6t_rng_make(stream);
    t6i_fill_normal(&rng, k, n, 1.0);
    t6i_fill_normal(&rng, v, n, 1.0);
    T6T_OK(c->ctx, t6_kv_cache_write(c->cache, slot, first, count, k, v));
    for (size_t i = 0; i < n; i++) {
        c->k_ref[slot][offset + i] = t6_round_to_dtype(c->config.dtype, k[i]);
        c->v_ref[slot][offset + i] = t6_round_to_dtype(c->config.dtype, v[i]);
    }
    free(k);
    free(v);
}

cl_mem kv_random_buffer(t6_context *ctx, size_t pad, size_t n, uint64_t stream, double **host_ref)
{
    return kv_random_buffer_sigma(ctx, pad, n, stream, 1.0, host_ref);
}

cl_mem kv_random_buffer_sigma(t6_context *ctx, size_t pad, size_t n, uint64_t stream, double sigma, double **host_ref)
{
    float *host = malloc(n * sizeof *host);
    ck_assert_ptr_nonnull(host);
    t6i_rng rng = t6t_rng_make(stream);
    t6i_fill_normal(&rng, host, n, sigma);
    cl_mem buffer = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, pad + n, &buffer));
    T6T_OK(ctx, t6_buffer_upload(ctx, buffer, T6_F32, pad, n, host));
    *host_ref = t6t_to_double(host, n);
    free(host);
    return buffer;
}

float *kv_download(t6_context *ctx, cl_mem buffer, size_t offset, size_t n)
{
    float *host = malloc(n * sizeof *host);
    ck_assert_ptr_nonnull(host);
    T6T_OK(ctx, t6_buffer_download(ctx, buffer, T6_F32, offset, n, host));
    return host;
}

enum { Q_PAD = 3, OUT_PAD = 5 };

/* An output buffer of OUT_PAD + n floats, NaN from OUT_PAD on: what a kernel leaves unwritten fails the check. */
static cl_mem poisoned_output(t6_context *ctx, size_t n)
{
    float *nan_values = malloc(n * sizeof *nan_values);
    ck_assert_ptr_nonnull(nan_values);
    for (size_t i = 0; i < n; i++) nan_values[i] = NAN;
    cl_mem out = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, OUT_PAD + n, &out));
    T6T_OK(ctx, t6_buffer_upload(ctx, out, T6_F32, OUT_PAD, n, nan_values));
    free(nan_values);
    return out;
}

float *kv_check_decode(kv_case *c, int heads, int batch, const int *slots, const int *lengths, float scale,
                       const char *what)
{
    const size_t per_query = (size_t)heads * (size_t)c->config.head_dim, n = (size_t)batch * per_query;
    double *q_ref = NULL;
    cl_mem q = kv_random_buffer(c->ctx, Q_PAD, n, 100 + (uint64_t)heads, &q_ref), out = poisoned_output(c->ctx, n);
    T6T_OK(c->ctx, t6_mha_decode(c->cache, heads, batch, slots, lengths, q, Q_PAD, out, OUT_PAD, scale));
    float *got = kv_download(c->ctx, out, OUT_PAD, n);
    double *ref = malloc(n * sizeof *ref);
    ck_assert_ptr_nonnull(ref);
    for (int i = 0; i < batch; i++)
        T6T_OK(NULL, t6_ref_attention(heads, c->config.kv_heads, c->config.head_dim, scale, lengths[i],
                                      q_ref + i * per_query, c->k_ref[slots[i]], c->v_ref[slots[i]],
                                      ref + i * per_query));
    T6T_CLOSE(got, ref, n, KV_TOLERANCE, what);
    free(ref);
    free(q_ref);
    clReleaseMemObject(q);
    clReleaseMemObject(out);
    return got;
}

float *kv_check_prefill(kv_case *c, int heads, int batch, const int *slots, const int *starts, const int *counts,
                        uint64_t stream, const char *what)
{
    return kv_check_prefill_within(c, heads, batch, slots, starts, counts, stream, 1.0, KV_TOLERANCE, what);
}

float *kv_check_prefill_within(kv_case *c, int heads, int batch, const int *slots, const int *starts,
                               const int *counts, uint64_t stream, double q_sigma, double tolerance, const char *what)
{
    const size_t per_query = (size_t)heads * (size_t)c->config.head_dim;
    size_t rows = 0;
    for (int i = 0; i < batch; i++) rows += (size_t)counts[i];
    double *q_ref = NULL;
    cl_mem q = kv_random_buffer_sigma(c->ctx, Q_PAD, rows * per_query, stream, q_sigma, &q_ref);
    cl_mem out = poisoned_output(c->ctx, rows * per_query);
    T6T_OK(c->ctx, t6_mha_prefill(c->cache, heads, batch, slots, starts, counts, q, Q_PAD, out, OUT_PAD, 0.0f));
    float *got = kv_download(c->ctx, out, OUT_PAD, rows * per_query);
    double *ref = malloc(rows * per_query * sizeof *ref);
    ck_assert_ptr_nonnull(ref);
    size_t row = 0;
    for (int i = 0; i < batch; i++)
        for (int j = 0; j < counts[i]; j++, row++)
            T6T_OK(NULL, t6_ref_attention(heads, c->config.kv_heads, c->config.head_dim, 0.0, starts[i] + j + 1,
                                          q_ref + row * per_query, c->k_ref[slots[i]], c->v_ref[slots[i]],
                                          ref + row * per_query));
    T6T_CLOSE(got, ref, rows * per_query, tolerance, what);
    free(ref);
    free(q_ref);
    clReleaseMemObject(q);
    clReleaseMemObject(out);
    return got;
}
