/* attention_self_test.c — the self-test checks of factorized attention (self_test.c's table): decode and
 * prefill on a small odd shape with an fp16 cache, against t6_ref_decode/t6_ref_prefill fed the stored values. */
#include "ops/ops.h"
#include "runtime/numerics.h"

#include <math.h>
#include <stdlib.h>

enum { HEADS = 5, HEAD_DIM = 32, RANK_Q = 3, RANK_K = 1, RANK_V = 2, LENGTH = 37, START = 30, COUNT = 7 };
#define QUERY_ROW (HEADS * RANK_Q + RANK_Q * HEAD_DIM)
#define OUT_ROW (HEADS * HEAD_DIM)

/* A filled cache (slot 0: LENGTH positions, slot 1: 5), its factors as the reference sees them, and queries. */
typedef struct fixture {
    t6_cache *cache;
    cl_mem query, out;
    double *factor[4], *query_ref;
    float *got;
} fixture;

static void fixture_release(fixture *f)
{
    t6_cache_destroy(f->cache);
    if (f->query) clReleaseMemObject(f->query);
    if (f->out) clReleaseMemObject(f->out);
    for (int i = 0; i < 4; i++) free(f->factor[i]);
    free(f->query_ref);
    free(f->got);
}

static t6_status fixture_make(t6_context *ctx, fixture *f)
{
    t6_status status = T6_SUCCESS;
    float *host = NULL;
    t6i_rng rng = t6i_rng_make(11, 0); /* a fixed seed: the self-test must be repeatable */
    const t6_cache_config config = {sizeof(t6_cache_config), HEADS, HEAD_DIM, RANK_K, RANK_V, 2, LENGTH, T6_F16};
    T6I_TRY(t6_cache_create(ctx, &config, &f->cache));
    T6I_ALLOC(ctx, host, COUNT * QUERY_ROW + LENGTH * RANK_V * HEAD_DIM);
    for (int factor = 0; factor < 4; factor++) {
        const size_t n = LENGTH * t6_cache_factor_size(&config, (t6_cache_factor)factor);
        T6I_ALLOC(ctx, f->factor[factor], n);
        for (size_t i = 0; i < n; i++) {
            host[i] = (float)t6i_normal(&rng);
            f->factor[factor][i] = t6_round_to_dtype(T6_F16, host[i]);
        }
        T6I_TRY(t6_cache_write(f->cache, (t6_cache_factor)factor, 0, 0, LENGTH, host));
        T6I_TRY(t6_cache_write(f->cache, (t6_cache_factor)factor, 1, 0, 5, host));
    }
    T6I_ALLOC(ctx, f->query_ref, COUNT * QUERY_ROW);
    T6I_ALLOC(ctx, f->got, COUNT * OUT_ROW);
    for (int i = 0; i < COUNT * QUERY_ROW; i++) f->query_ref[i] = host[i] = (float)t6i_normal(&rng);
    T6I_TRY(t6_buffer_create(ctx, T6_F32, COUNT * QUERY_ROW, &f->query));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, COUNT * OUT_ROW, &f->out));
    T6I_TRY(t6_buffer_upload(ctx, f->query, T6_F32, 0, COUNT * QUERY_ROW, host));
cleanup:
    free(host);
    return status;
}

static t6_status compare(t6_context *ctx, const char *what, const float *got, const double *ref, size_t n,
                         double *error)
{
    *error = t6i_relative_error(got, ref, n);
    if (*error <= 1e-4) return T6_SUCCESS;
    return t6i_fail(ctx, T6_ERROR_WRONG_RESULT, "self-test %s: relative error %.3g against the reference", what,
                    *error);
}

static const t6_ref_shape shape = {HEADS, HEAD_DIM, RANK_Q, RANK_K, RANK_V};

/* Two sequences of different lengths in one call. */
t6_status t6i_self_test_decode(t6_context *ctx)
{
    t6_status status = T6_SUCCESS;
    fixture f = {0};
    double ref[2 * OUT_ROW];
    T6I_TRY(fixture_make(ctx, &f));
    const int slots[2] = {0, 1}, lengths[2] = {LENGTH, 5};
    T6I_TRY(t6_attention_decode(f.cache, RANK_Q, 2, slots, lengths, f.query, 0, f.out, 0, NULL));
    T6I_TRY(t6_buffer_download(ctx, f.out, T6_F32, 0, 2 * OUT_ROW, f.got));
    for (int i = 0; i < 2; i++)
        T6I_TRY(t6_ref_decode(&shape, NULL, lengths[i], f.query_ref + i * QUERY_ROW,
                              f.query_ref + i * QUERY_ROW + HEADS * RANK_Q, f.factor[T6_FACTOR_A_K],
                              f.factor[T6_FACTOR_B_K], f.factor[T6_FACTOR_A_V], f.factor[T6_FACTOR_B_V],
                              ref + i * OUT_ROW));
    double error = 0.0;
    T6I_TRY(compare(ctx, "decode", f.got, ref, 2 * OUT_ROW, &error));
    t6i_log(T6_LOG_INFO, "self-test decode (H=%d D=%d ranks %d,%d,%d, fp16 cache, lengths %d and 5): relative error "
            "%.2g", HEADS, HEAD_DIM, RANK_Q, RANK_K, RANK_V, LENGTH, error);
cleanup:
    fixture_release(&f);
    return status;
}

/* COUNT queries at the end of a sequence, causally. */
t6_status t6i_self_test_prefill(t6_context *ctx)
{
    t6_status status = T6_SUCCESS;
    fixture f = {0};
    double *ref = NULL, *a_q = NULL, *b_q = NULL;
    T6I_TRY(fixture_make(ctx, &f));
    T6I_ALLOC(ctx, ref, COUNT * OUT_ROW);
    T6I_ALLOC(ctx, a_q, COUNT * HEADS * RANK_Q);
    T6I_ALLOC(ctx, b_q, COUNT * RANK_Q * HEAD_DIM);
    for (int i = 0; i < COUNT; i++)
        for (int j = 0; j < QUERY_ROW; j++) {
            if (j < HEADS * RANK_Q) a_q[i * HEADS * RANK_Q + j] = f.query_ref[i * QUERY_ROW + j];
            else b_q[i * RANK_Q * HEAD_DIM + j - HEADS * RANK_Q] = f.query_ref[i * QUERY_ROW + j];
        }
    const int slot = 0, start = START, count = COUNT;
    T6I_TRY(t6_attention_prefill(f.cache, RANK_Q, 1, &slot, &start, &count, f.query, 0, f.out, 0, NULL));
    T6I_TRY(t6_buffer_download(ctx, f.out, T6_F32, 0, COUNT * OUT_ROW, f.got));
    T6I_TRY(t6_ref_prefill(&shape, NULL, START, COUNT, a_q, b_q, f.factor[T6_FACTOR_A_K], f.factor[T6_FACTOR_B_K],
                           f.factor[T6_FACTOR_A_V], f.factor[T6_FACTOR_B_V], ref));
    double error = 0.0;
    T6I_TRY(compare(ctx, "prefill", f.got, ref, COUNT * OUT_ROW, &error));
    t6i_log(T6_LOG_INFO, "self-test prefill (H=%d D=%d ranks %d,%d,%d, fp16 cache, positions %d..%d): relative "
            "error %.2g", HEADS, HEAD_DIM, RANK_Q, RANK_K, RANK_V, START, START + COUNT - 1, error);
cleanup:
    free(ref);
    free(a_q);
    free(b_q);
    fixture_release(&f);
    return status;
}
