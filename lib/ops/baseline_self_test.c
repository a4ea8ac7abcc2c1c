/* baseline_self_test.c — the self-test checks of the baselines (self_test.c's table): MHA/GQA decode and
 * prefill against t6_ref_attention, and the materialized baseline against t6_ref_decode, on small random
 * problems fed to the reference exactly as the device stored them. */
#include "ops/ops.h"
#include "runtime/numerics.h"

#include <math.h>
#include <stdlib.h>

static void fill(t6i_rng *rng, float *host, double *rounded, size_t n, t6_dtype dtype)
{
    for (size_t i = 0; i < n; i++) {
        host[i] = (float)t6i_normal(rng);
        if (rounded) rounded[i] = t6_round_to_dtype(dtype, host[i]);
    }
}

static t6_status compare(t6_context *ctx, const char *what, const float *got, const double *ref, size_t n)
{
    double error = t6i_relative_error(got, ref, n);
    if (error > 1e-4)
        return t6i_fail(ctx, T6_ERROR_WRONG_RESULT, "self-test %s: relative error %.3g against the reference", what,
                        error);
    t6i_log(T6_LOG_INFO, "self-test %s: relative error %.2g", what, error);
    return T6_SUCCESS;
}

/* GQA (4 query heads over 2 kv heads), fp16 cache: decode of two entries, then a prefill of 7 queries. */
t6_status t6i_self_test_mha(t6_context *ctx)
{
    enum { KV_HEADS = 2, HEADS = 4, D = 64, LENGTH = 37, START = 30, COUNT = 7, ROW = KV_HEADS * D };
    t6_status status = T6_SUCCESS;
    t6_kv_cache *cache = NULL;
    cl_mem q = NULL, out = NULL;
    float *k = NULL, *v = NULL, *q_host = NULL, *got = NULL;
    double *k_ref = NULL, *v_ref = NULL, *q_ref = NULL, *ref = NULL;
    t6i_rng rng = t6i_rng_make(5, 0); /* a fixed seed: the self-test must be repeatable */
    T6I_ALLOC(ctx, k, LENGTH * ROW);
    T6I_ALLOC(ctx, v, LENGTH * ROW);
    T6I_ALLOC(ctx, k_ref, LENGTH * ROW);
    T6I_ALLOC(ctx, v_ref, LENGTH * ROW);
    T6I_ALLOC(ctx, q_host, COUNT * HEADS * D);
    T6I_ALLOC(ctx, q_ref, COUNT * HEADS * D);
    T6I_ALLOC(ctx, got, COUNT * HEADS * D);
    T6I_ALLOC(ctx, ref, COUNT * HEADS * D);
    fill(&rng, k, k_ref, LENGTH * ROW, T6_F16);
    fill(&rng, v, v_ref, LENGTH * ROW, T6_F16);
    fill(&rng, q_host, q_ref, COUNT * HEADS * D, T6_F32);

    t6_kv_cache_config config = {sizeof(t6_kv_cache_config), KV_HEADS, D, 2, LENGTH, T6_F16};
    T6I_TRY(t6_kv_cache_create(ctx, &config, &cache));
    T6I_TRY(t6_kv_cache_write(cache, 0, 0, LENGTH, k, v));
    T6I_TRY(t6_kv_cache_write(cache, 1, 0, 5, k, v));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, COUNT * HEADS * D, &q));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, COUNT * HEADS * D, &out));
    T6I_TRY(t6_buffer_upload(ctx, q, T6_F32, 0, COUNT * HEADS * D, q_host));

    const int slots[2] = {0, 1}, lengths[2] = {LENGTH, 5};
    T6I_TRY(t6_mha_decode(cache, HEADS, 2, slots, lengths, q, 0, out, 0, 0.0f));
    T6I_TRY(t6_buffer_download(ctx, out, T6_F32, 0, 2 * HEADS * D, got));
    for (int i = 0; i < 2; i++)
        T6I_TRY(t6_ref_attention(HEADS, KV_HEADS, D, 0.0, lengths[i], q_ref + i * HEADS * D, k_ref, v_ref,
                                 ref + i * HEADS * D));
    T6I_TRY(compare(ctx, "mha decode (GQA 4 over 2, fp16 cache)", got, ref, 2 * HEADS * D));

    const int start = START, count = COUNT;
    T6I_TRY(t6_mha_prefill(cache, HEADS, 1, slots, &start, &count, q, 0, out, 0, 0.0f));
    T6I_TRY(t6_buffer_download(ctx, out, T6_F32, 0, COUNT * HEADS * D, got));
    for (int i = 0; i < COUNT; i++)
        T6I_TRY(t6_ref_attention(HEADS, KV_HEADS, D, 0.0, START + i + 1, q_ref + i * HEADS * D, k_ref, v_ref,
                                 ref + i * HEADS * D));
    T6I_TRY(compare(ctx, "mha prefill (GQA 4 over 2, fp16 cache)", got, ref, COUNT * HEADS * D));
cleanup:
    t6_kv_cache_destroy(cache);
    if (q) clReleaseMemObject(q);
    if (out) clReleaseMemObject(out);
    free(k);
    free(v);
    free(q_host);
    free(got);
    free(k_ref);
    free(v_ref);
    free(q_ref);
    free(ref);
    return status;
}

/* Materialized decode of one query over a bf16 factor cache (H=3, D=32, Rq=2, Rk=2, Rv=1). */
t6_status t6i_self_test_materialized(t6_context *ctx)
{
    enum { H = 3, D = 32, RQ = 2, RK = 2, RV = 1, LENGTH = 29, QUERY = H * RQ + RQ * D };
    static const size_t per_position[4] = {H * RK, H * RV, RK * D, RV * D};
    t6_status status = T6_SUCCESS;
    t6_cache *cache = NULL;
    cl_mem query = NULL, out = NULL;
    float *factors[4] = {NULL}, *query_host = NULL, *got = NULL;
    double *factors_ref[4] = {NULL}, *query_ref = NULL, *ref = NULL;
    t6i_rng rng = t6i_rng_make(6, 0); /* a fixed seed: the self-test must be repeatable */
    for (int f = 0; f < 4; f++) {
        T6I_ALLOC(ctx, factors[f], LENGTH * per_position[f]);
        T6I_ALLOC(ctx, factors_ref[f], LENGTH * per_position[f]);
        fill(&rng, factors[f], factors_ref[f], LENGTH * per_position[f], T6_BF16);
    }
    T6I_ALLOC(ctx, query_host, QUERY);
    T6I_ALLOC(ctx, query_ref, QUERY);
    T6I_ALLOC(ctx, got, H * D);
    T6I_ALLOC(ctx, ref, H * D);
    fill(&rng, query_host, query_ref, QUERY, T6_F32);

    t6_cache_config config = {sizeof(t6_cache_config), H, D, RK, RV, 1, LENGTH, T6_BF16};
    T6I_TRY(t6_cache_create(ctx, &config, &cache));
    for (int f = 0; f < 4; f++) T6I_TRY(t6_cache_write(cache, (t6_cache_factor)f, 0, 0, LENGTH, factors[f]));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, QUERY, &query));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, H * D, &out));
    T6I_TRY(t6_buffer_upload(ctx, query, T6_F32, 0, QUERY, query_host));

    const int slot = 0, length = LENGTH;
    t6i_scales scales = t6i_resolve_scales(NULL, RQ, RK, RV, D);
    T6I_TRY(t6i_attention_materialized_decode(cache, RQ, 1, &slot, &length, query, 0, out, 0, &scales));
    T6I_TRY(t6_buffer_download(ctx, out, T6_F32, 0, H * D, got));
    t6_ref_shape shape = {H, D, RQ, RK, RV};
    T6I_TRY(t6_ref_decode(&shape, NULL, LENGTH, query_ref, query_ref + H * RQ, factors_ref[T6_FACTOR_A_K],
                          factors_ref[T6_FACTOR_B_K], factors_ref[T6_FACTOR_A_V], factors_ref[T6_FACTOR_B_V], ref));
    T6I_TRY(compare(ctx, "materialized decode (bf16 factor cache)", got, ref, H * D));
cleanup:
    t6_cache_destroy(cache);
    if (query) clReleaseMemObject(query);
    if (out) clReleaseMemObject(out);
    for (int f = 0; f < 4; f++) {
        free(factors[f]);
        free(factors_ref[f]);
    }
    free(query_host);
    free(query_ref);
    free(got);
    free(ref);
    return status;
}
