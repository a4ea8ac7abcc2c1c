/* check_materialized.c — the materialized baseline (Q, K, V formed from the factors, then standard attention)
 * against the factorized reference t6_ref_decode/t6_ref_prefill, fed exactly the factors the cache stored.
 * Two different computations agreeing is the check that both follow TPA.md. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>

#define TOLERANCE 1e-4

enum { H = 5, D = 64, RQ = 3, RK = 2, RV = 1, CAPACITY = 80, SLOTS = 2, QUERY_ROW = H * RQ + RQ * D };

/* A factor cache with random contents and the rounded values the reference sees, per slot. */
typedef struct factor_case {
    t6_context *ctx;
    t6_cache *cache;
    t6_cache_config config;
    double *ref[SLOTS][4];
} factor_case;

static void case_open(factor_case *c, t6_dtype dtype)
{
    c->ctx = t6t_context();
    c->config = (t6_cache_config){sizeof(t6_cache_config), H, D, RK, RV, SLOTS, CAPACITY, dtype};
    T6T_OK(c->ctx, t6_cache_create(c->ctx, &c->config, &c->cache));
    for (int s = 0; s < SLOTS; s++)
        for (int f = 0; f < 4; f++) {
            size_t n = (size_t)CAPACITY * t6_cache_factor_size(&c->config, (t6_cache_factor)f);
            float *host = malloc(n * sizeof *host);
            ck_assert_ptr_nonnull(host);
            t6i_rng rng = t6t_rng_make((uint64_t)(10 * s + f));
            t6i_fill_normal(&rng, host, n, 1.0);
            T6T_OK(c->ctx, t6_cache_write(c->cache, (t6_cache_factor)f, s, 0, CAPACITY, host));
            c->ref[s][f] = malloc(n * sizeof(double));
            ck_assert_ptr_nonnull(c->ref[s][f]);
            for (size_t i = 0; i < n; i++) c->ref[s][f][i] = t6_round_to_dtype(dtype, host[i]);
            free(host);
        }
}

static void case_close(factor_case *c)
{
    for (int s = 0; s < SLOTS; s++)
        for (int f = 0; f < 4; f++) free(c->ref[s][f]);
    t6_cache_destroy(c->cache);
    t6_context_destroy(c->ctx);
}

/* `rows` random query rows (A_Q then B_Q, fp32) after `pad` elements. */
static cl_mem query_buffer(t6_context *ctx, size_t pad, int rows, double **ref)
{
    size_t n = (size_t)rows * QUERY_ROW;
    float *host = malloc(n * sizeof *host);
    ck_assert_ptr_nonnull(host);
    t6i_rng rng = t6t_rng_make(99);
    t6i_fill_normal(&rng, host, n, 1.0);
    cl_mem buffer = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, pad + n, &buffer));
    T6T_OK(ctx, t6_buffer_upload(ctx, buffer, T6_F32, pad, n, host));
    *ref = t6t_to_double(host, n);
    free(host);
    return buffer;
}

static void check_decode(t6_dtype dtype, const t6_attention_options *options)
{
    enum { BATCH = 3, PAD = 7 };
    factor_case c;
    case_open(&c, dtype);
    const int slots[BATCH] = {1, 0, 1}, lengths[BATCH] = {1, 57, 80};
    double *q_ref = NULL;
    cl_mem query = query_buffer(c.ctx, PAD, BATCH, &q_ref), out = NULL;
    T6T_OK(c.ctx, t6_buffer_create(c.ctx, T6_F32, PAD + BATCH * H * D, &out));
    t6i_scales scales = t6i_resolve_scales(options, RQ, RK, RV, D);
    T6T_OK(c.ctx, t6i_attention_materialized_decode(c.cache, RQ, BATCH, slots, lengths, query, PAD, out, PAD,
                                                    &scales));
    float got[BATCH * H * D];
    double ref[BATCH * H * D];
    T6T_OK(c.ctx, t6_buffer_download(c.ctx, out, T6_F32, PAD, BATCH * H * D, got));
    t6_ref_shape shape = {H, D, RQ, RK, RV};
    for (int i = 0; i < BATCH; i++) {
        double *const *f = c.ref[slots[i]];
        const double *a_q = q_ref + (size_t)i * QUERY_ROW;
        T6T_OK(NULL, t6_ref_decode(&shape, options, lengths[i], a_q, a_q + H * RQ, f[T6_FACTOR_A_K],
                                   f[T6_FACTOR_B_K], f[T6_FACTOR_A_V], f[T6_FACTOR_B_V], ref + i * H * D));
    }
    char what[64];
    snprintf(what, sizeof what, "materialized decode, %s cache%s", t6_dtype_name(dtype),
             options ? ", explicit scales" : "");
    T6T_CLOSE(got, ref, BATCH * H * D, TOLERANCE, what);
    free(q_ref);
    clReleaseMemObject(query);
    clReleaseMemObject(out);
    case_close(&c);
}

START_TEST(decode_matches_factorized_reference)
{
    check_decode(T6_F16, NULL);
    t6_attention_options options = {sizeof(t6_attention_options), 0.7f, 0.25f, 1.5f, 0.05f, T6_ATTENTION_MATERIALIZED,
                                    T6_PRECISION_DEFAULT};
    check_decode(T6_BF16, &options);
}
END_TEST

START_TEST(prefill_matches_factorized_reference)
{
    enum { BATCH = 2, ROWS = 63 };
    factor_case c;
    case_open(&c, T6_F32);
    /* A whole prompt in slot 1, and a second chunk of slot 0 (positions 70..79). */
    const int slots[BATCH] = {1, 0}, starts[BATCH] = {0, 70}, counts[BATCH] = {53, 10};
    double *q_ref = NULL;
    cl_mem query = query_buffer(c.ctx, 0, ROWS, &q_ref), out = NULL;
    T6T_OK(c.ctx, t6_buffer_create(c.ctx, T6_F32, ROWS * H * D, &out));
    t6i_scales scales = t6i_resolve_scales(NULL, RQ, RK, RV, D);
    T6T_OK(c.ctx, t6i_attention_materialized_prefill(c.cache, RQ, BATCH, slots, starts, counts, query, 0, out, 0,
                                                     &scales));
    float *got = malloc(ROWS * H * D * sizeof *got);
    double *ref = malloc(ROWS * H * D * sizeof *ref);
    ck_assert(got && ref);
    T6T_OK(c.ctx, t6_buffer_download(c.ctx, out, T6_F32, 0, ROWS * H * D, got));
    t6_ref_shape shape = {H, D, RQ, RK, RV};
    size_t row = 0;
    for (int i = 0; i < BATCH; i++) {
        double *const *f = c.ref[slots[i]];
        const double *a_q = q_ref + row * QUERY_ROW;
        /* t6_ref_prefill takes its query factors as count × H·Rq, then count × Rq·D: split the rows. */
        double *a = malloc((size_t)counts[i] * H * RQ * sizeof *a), *b = malloc((size_t)counts[i] * RQ * D * sizeof *b);
        ck_assert(a && b);
        for (int j = 0; j < counts[i]; j++) {
            for (int k = 0; k < H * RQ; k++) a[j * H * RQ + k] = a_q[(size_t)j * QUERY_ROW + k];
            for (int k = 0; k < RQ * D; k++) b[j * RQ * D + k] = a_q[(size_t)j * QUERY_ROW + H * RQ + k];
        }
        T6T_OK(NULL, t6_ref_prefill(&shape, NULL, starts[i], counts[i], a, b, f[T6_FACTOR_A_K], f[T6_FACTOR_B_K],
                                    f[T6_FACTOR_A_V], f[T6_FACTOR_B_V], ref + row * H * D));
        free(a);
        free(b);
        row += (size_t)counts[i];
    }
    T6T_CLOSE(got, ref, ROWS * H * D, TOLERANCE, "materialized prefill, fp32 cache");
    free(got);
    free(ref);
    free(q_ref);
    clReleaseMemObject(query);
    clReleaseMemObject(out);
    case_close(&c);
}
END_TEST

static Suite *materialized_suite(void)
{
    Suite *suite = suite_create("materialized");
    TCase *tc = tcase_create("materialized");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, decode_matches_factorized_reference);
    tcase_add_test(tc, prefill_matches_factorized_reference);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return t6t_run(materialized_suite()); }
