/* check_threads.c — the thread-safety rules of t6.h: distinct contexts in distinct threads, and one context
 * (with its layer, cache and model) shared by several threads, each on its own cache slot and buffers. Every
 * thread's results are checked against the double-precision reference (or, for the model, against the same
 * steps run by one thread), so a race that corrupts data fails as surely as one that crashes. Threads only
 * record what they saw; the assertions run on the test's own thread. */
#include "support.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C = 40, H = 3, D = 32, RQ = 2, RK = 2, RV = 1, TOKENS = 6, ROUNDS = 3, MAX_THREADS = 4 };

static const t6_layer_config layer_config = {sizeof(t6_layer_config), C, H, D, RQ, RK, RV, T6_ROPE_HALF, 10000.0f,
                                             T6_F32};
static const t6_ref_shape ref_shape = {H, D, RQ, RK, RV};

/* Host weights of one layer, as floats (for the device) and doubles (for the reference). */
typedef struct weights {
    float *f[6];
    double *d[6];
} weights;

static size_t weight_rows(int i)
{
    const int ranks[3] = {RQ, RK, RV};
    return (size_t)(i < 3 ? H : D) * (size_t)ranks[i % 3];
}

static void weights_make(weights *w, uint64_t stream)
{
    t6i_rng rng = t6t_rng_make(stream);
    for (int i = 0; i < 6; i++) {
        size_t n = weight_rows(i) * C;
        w->f[i] = malloc(n * sizeof(float));
        ck_assert_ptr_nonnull(w->f[i]);
        t6i_fill_normal(&rng, w->f[i], n, 1.0 / sqrt((double)C));
        w->d[i] = t6t_to_double(w->f[i], n);
    }
}

static void weights_free(weights *w)
{
    for (int i = 0; i < 6; i++) {
        free(w->f[i]);
        free(w->d[i]);
    }
}

/* One thread's work: TOKENS tokens projected and decoded one at a time in `slot`, ROUNDS times (the slot is
 * reset between rounds), then everything read back for the reference check. */
typedef struct stream {
    t6_context *ctx;
    t6_layer *layer;
    t6_cache *cache;
    int slot;
    uint64_t seed;
    pthread_barrier_t *start;
    /* results */
    t6_status status;
    char error[256];
    float hidden[TOKENS * C];
    float query[TOKENS * (H * RQ + RQ * D)];
    float out[TOKENS * H * D];
    float factors[4][TOKENS * H * D]; /* A_K, A_V, B_K, B_V as the cache stored them (each fits H·D) */
} stream;

#define TRY(call)                                                                                                \
    do {                                                                                                         \
        s->status = (call);                                                                                      \
        if (s->status != T6_SUCCESS) {                                                                           \
            snprintf(s->error, sizeof s->error, "%s: %s", #call, t6_context_last_error(s->ctx));                \
            goto done;                                                                                           \
        }                                                                                                        \
    } while (0)

static void *run_stream(void *arg)
{
    stream *s = arg;
    cl_mem hidden = NULL, query = NULL, out = NULL;
    const size_t query_row = t6_query_row_size(&layer_config), out_row = H * D;
    t6i_rng rng = t6t_rng_make(s->seed);
    t6i_fill_normal(&rng, s->hidden, TOKENS * C, 1.0);
    pthread_barrier_wait(s->start);
    TRY(t6_buffer_create(s->ctx, T6_F32, TOKENS * C, &hidden));
    TRY(t6_buffer_create(s->ctx, T6_F32, TOKENS * query_row, &query));
    TRY(t6_buffer_create(s->ctx, T6_F32, TOKENS * out_row, &out));
    TRY(t6_buffer_upload(s->ctx, hidden, T6_F32, 0, TOKENS * C, s->hidden));
    for (int round = 0; round < ROUNDS; round++) {
        TRY(t6_cache_reset(s->cache, s->slot));
        for (int position = 0; position < TOKENS; position++) {
            const int length = position + 1;
            TRY(t6_project(s->layer, s->cache, 1, hidden, (size_t)position * C, &s->slot, &position, query,
                           (size_t)position * query_row, NULL));
            TRY(t6_attention_decode(s->cache, RQ, 1, &s->slot, &length, query, (size_t)position * query_row, out,
                                    (size_t)position * out_row, NULL));
        }
        TRY(t6_buffer_download(s->ctx, out, T6_F32, 0, TOKENS * out_row, s->out));
    }
    TRY(t6_buffer_download(s->ctx, query, T6_F32, 0, TOKENS * query_row, s->query));
    for (int f = 0; f < 4; f++) TRY(t6_cache_read(s->cache, (t6_cache_factor)f, s->slot, 0, TOKENS, s->factors[f]));
done:
    if (hidden) clReleaseMemObject(hidden);
    if (query) clReleaseMemObject(query);
    if (out) clReleaseMemObject(out);
    return NULL;
}

/* The stream's projection against t6_ref_project, and its decode outputs against t6_ref_decode fed the
 * factors the cache stored (TPA.md: 1e-4 of max|ref| in fp32). */
static void check_stream(const stream *s, const weights *w)
{
    ck_assert_msg(s->status == T6_SUCCESS, "slot %d: %s", s->slot, s->error);
    const size_t query_row = t6_query_row_size(&layer_config), out_row = H * D;
    const size_t sizes[6] = {H * RQ, RQ * D, H * RK, RK * D, H * RV, RV * D};
    double *ref[6], *hidden = t6t_to_double(s->hidden, TOKENS * C);
    for (int i = 0; i < 6; i++) ref[i] = malloc(TOKENS * sizes[i] * sizeof(double));
    int positions[TOKENS];
    for (int t = 0; t < TOKENS; t++) positions[t] = t;
    T6T_OK(NULL, t6_ref_project(&layer_config, (const double *const *)w->d, TOKENS, hidden, positions, ref[0],
                                ref[1], ref[2], ref[3], ref[4], ref[5]));
    /* Cache factors in order A_K, A_V, B_K, B_V are ref[2], ref[4], ref[3], ref[5]. */
    const int factor_ref[4] = {2, 4, 3, 5};
    for (int f = 0; f < 4; f++)
        T6T_CLOSE(s->factors[f], ref[factor_ref[f]], TOKENS * sizes[factor_ref[f]], 1e-4, "cached factor");
    double *stored[4];
    for (int f = 0; f < 4; f++) stored[f] = t6t_to_double(s->factors[f], TOKENS * sizes[factor_ref[f]]);
    for (int t = 0; t < TOKENS; t++) {
        double *q = t6t_to_double(s->query + t * query_row, query_row), expected[H * D];
        T6T_OK(NULL, t6_ref_decode(&ref_shape, NULL, t + 1, q, q + H * RQ, stored[0], stored[2], stored[1],
                                   stored[3], expected));
        T6T_CLOSE(s->out + t * out_row, expected, out_row, 1e-4, "decode output");
        free(q);
    }
    for (int f = 0; f < 4; f++) free(stored[f]);
    for (int i = 0; i < 6; i++) free(ref[i]);
    free(hidden);
}

START_TEST(contexts_in_their_own_threads)
{
    enum { THREADS = 2 };
    t6_context *ctx[THREADS] = {NULL};
    t6_layer *layer[THREADS] = {NULL};
    t6_cache *cache[THREADS] = {NULL};
    weights w[THREADS];
    stream *s = calloc(THREADS, sizeof *s);
    pthread_t thread[THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    const t6_cache_config cache_config = {sizeof(t6_cache_config), H, D, RK, RV, 1, TOKENS, T6_F32};
    for (int i = 0; i < THREADS; i++) {
        ctx[i] = t6t_context();
        weights_make(&w[i], 10 + (uint64_t)i);
        const t6_layer_weights lw = {w[i].f[0], w[i].f[1], w[i].f[2], w[i].f[3], w[i].f[4], w[i].f[5]};
        T6T_OK(ctx[i], t6_layer_create(ctx[i], &layer_config, &lw, &layer[i]));
        T6T_OK(ctx[i], t6_cache_create(ctx[i], &cache_config, &cache[i]));
        s[i] = (stream){.ctx = ctx[i], .layer = layer[i], .cache = cache[i], .slot = 0, .seed = 20 + (uint64_t)i,
                        .start = &start};
    }
    for (int i = 0; i < THREADS; i++) ck_assert_int_eq(pthread_create(&thread[i], NULL, run_stream, &s[i]), 0);
    for (int i = 0; i < THREADS; i++) ck_assert_int_eq(pthread_join(thread[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        check_stream(&s[i], &w[i]);
        t6_cache_destroy(cache[i]);
        t6_layer_destroy(layer[i]);
        t6_context_destroy(ctx[i]);
        weights_free(&w[i]);
    }
    pthread_barrier_destroy(&start);
    free(s);
}
END_TEST

START_TEST(one_context_shared_by_four_threads)
{
    t6_context *ctx = t6t_context();
    weights w;
    weights_make(&w, 30);
    const t6_layer_weights lw = {w.f[0], w.f[1], w.f[2], w.f[3], w.f[4], w.f[5]};
    t6_layer *layer = NULL;
    t6_cache *cache = NULL;
    T6T_OK(ctx, t6_layer_create(ctx, &layer_config, &lw, &layer));
    const t6_cache_config cache_config = {sizeof(t6_cache_config), H, D, RK, RV, MAX_THREADS, TOKENS, T6_F32};
    T6T_OK(ctx, t6_cache_create(ctx, &cache_config, &cache));
    stream *s = calloc(MAX_THREADS, sizeof *s);
    pthread_t thread[MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, MAX_THREADS);
    for (int i = 0; i < MAX_THREADS; i++)
        s[i] = (stream){.ctx = ctx, .layer = layer, .cache = cache, .slot = i, .seed = 40 + (uint64_t)i,
                        .start = &start};
    for (int i = 0; i < MAX_THREADS; i++) ck_assert_int_eq(pthread_create(&thread[i], NULL, run_stream, &s[i]), 0);
    for (int i = 0; i < MAX_THREADS; i++) ck_assert_int_eq(pthread_join(thread[i], NULL), 0);
    for (int i = 0; i < MAX_THREADS; i++) check_stream(&s[i], &w);
    pthread_barrier_destroy(&start);
    free(s);
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    t6_context_destroy(ctx);
    weights_free(&w);
}
END_TEST

/* ---- a model shared by two threads, each decoding its own slot ---- */

enum { MODEL_STEPS = 5, MODEL_VOCAB = 37 };

typedef struct model_stream {
    t6_model *model;
    int slot, first_token;
    pthread_barrier_t *start;
    t6_status status;
    float logits[MODEL_STEPS][MODEL_VOCAB];
} model_stream;

/* Greedy decoding from one token: what each step predicts feeds the next. */
static void *run_model_stream(void *arg)
{
    model_stream *m = arg;
    if (m->start) pthread_barrier_wait(m->start);
    int token = m->first_token;
    for (int step = 0; step < MODEL_STEPS && m->status == T6_SUCCESS; step++) {
        m->status = t6_model_decode(m->model, 1, &m->slot, &token, m->logits[step]);
        int best = 0;
        for (int v = 1; v < MODEL_VOCAB; v++)
            if (m->logits[step][v] > m->logits[step][best]) best = v;
        token = best;
    }
    return NULL;
}

START_TEST(model_shared_by_two_threads)
{
    t6_context *ctx = t6t_context();
    t6_model_config c;
    t6_model_config_init(&c);
    c.vocab_size = MODEL_VOCAB;
    c.model_dim = 32;
    c.layers = 2;
    c.heads = 2;
    c.head_dim = 32;
    c.rank_q = 2;
    c.rank_k = c.rank_v = 1;
    c.slots = 2;
    c.capacity = MODEL_STEPS;
    t6_model *model = NULL;
    T6T_OK(ctx, t6_model_create_random(ctx, &c, 3, &model));
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    model_stream together[2] = {{model, 0, 4, &start, T6_SUCCESS, {{0}}}, {model, 1, 9, &start, T6_SUCCESS, {{0}}}};
    pthread_t thread[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&thread[i], NULL, run_model_stream, &together[i]), 0);
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_join(thread[i], NULL), 0);
    /* The same streams one after the other on this thread must give the same logits. */
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(together[i].status == T6_SUCCESS, "thread %d: %s", i, t6_context_last_error(ctx));
        T6T_OK(ctx, t6_model_reset(model, i));
        model_stream alone = {model, i, together[i].first_token, NULL, T6_SUCCESS, {{0}}};
        run_model_stream(&alone);
        T6T_OK(ctx, alone.status);
        double *expected = t6t_to_double(&alone.logits[0][0], MODEL_STEPS * MODEL_VOCAB);
        T6T_CLOSE(&together[i].logits[0][0], expected, MODEL_STEPS * MODEL_VOCAB, 1e-6, "threaded model decode");
        free(expected);
    }
    pthread_barrier_destroy(&start);
    t6_model_destroy(model);
    t6_context_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, contexts_in_their_own_threads);
    tcase_add_test(tc, one_context_shared_by_four_threads);
    tcase_add_test(tc, model_shared_by_two_threads);
    suite_add_tcase(suite, tc);
    return t6t_run(suite);
}
