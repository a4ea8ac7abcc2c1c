/* projection_problem.c — see projection_problem.h. */
#include "projection_problem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int projection_matrix_rows(const t6_layer_config *c, int f)
{
    const int ranks[3] = {c->rank_q, c->rank_k, c->rank_v};
    return f < 3 ? c->heads * ranks[f] : ranks[f - 3] * c->head_dim;
}

projection_problem projection_problem_make(t6_layer_config config, int rows, uint64_t stream)
{
    projection_problem p;
    memset(&p, 0, sizeof p);
    p.config = config;
    p.rows = rows;
    t6i_rng rng = t6t_rng_make(stream);
    const double sigma = 1.0 / sqrt((double)config.model_dim);
    for (int f = 0; f < 6; f++) {
        size_t n = (size_t)projection_matrix_rows(&config, f) * (size_t)config.model_dim;
        p.weights[f] = malloc(n * sizeof(float));
        ck_assert_ptr_nonnull(p.weights[f]);
        t6i_fill_normal(&rng, p.weights[f], n, sigma);
        for (size_t i = 0; i < n; i++) p.weights[f][i] = t6_round_to_dtype(config.weight_dtype, p.weights[f][i]);
        p.weights_ref[f] = t6t_to_double(p.weights[f], n);
    }
    size_t n = (size_t)rows * (size_t)config.model_dim;
    p.hidden = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(p.hidden);
    t6i_fill_normal(&rng, p.hidden, n, 1.0);
    p.hidden_ref = t6t_to_double(p.hidden, n);
    p.slots = calloc((size_t)rows, sizeof(int));
    p.positions = calloc((size_t)rows, sizeof(int));
    ck_assert(p.slots && p.positions);
    return p;
}

void projection_problem_free(projection_problem *p)
{
    for (int f = 0; f < 6; f++) {
        free(p->weights[f]);
        free(p->weights_ref[f]);
    }
    free(p->hidden);
    free(p->hidden_ref);
    free(p->slots);
    free(p->positions);
}

t6_layer *projection_layer(t6_context *ctx, const projection_problem *p)
{
    const t6_layer_weights w = {p->weights[0], p->weights[1], p->weights[2],
                                p->weights[3], p->weights[4], p->weights[5]};
    t6_layer *layer = NULL;
    T6T_OK(ctx, t6_layer_create(ctx, &p->config, &w, &layer));
    return layer;
}

t6_cache *projection_cache(t6_context *ctx, const t6_layer_config *c, int slots, int capacity, t6_dtype dtype)
{
    const t6_cache_config config = {sizeof(t6_cache_config), c->heads, c->head_dim, c->rank_k, c->rank_v, slots,
                                    capacity, dtype};
    t6_cache *cache = NULL;
    T6T_OK(ctx, t6_cache_create(ctx, &config, &cache));
    return cache;
}

void projection_cache_fill(t6_cache *cache)
{
    t6_cache_config c = T6_CACHE_CONFIG_INIT;
    T6T_OK(NULL, t6_cache_get_config(cache, &c));
    for (int f = 0; f < 4; f++) {
        size_t n = (size_t)c.capacity * t6_cache_factor_size(&c, (t6_cache_factor)f);
        float *values = malloc(n * sizeof(float));
        ck_assert_ptr_nonnull(values);
        for (size_t i = 0; i < n; i++) values[i] = PROJECTION_SENTINEL;
        for (int s = 0; s < c.slots; s++)
            T6T_OK(NULL, t6_cache_write(cache, (t6_cache_factor)f, s, 0, c.capacity, values));
        free(values);
    }
    for (int s = 0; s < c.slots; s++) T6T_OK(NULL, t6_cache_reset(cache, s));
}

/* Tolerances of TPA.md against the reference fed the stored weights: query outputs are fp32; cache factors
 * are compared with the unrounded reference, so their storage rounding counts. */
static double cache_tolerance(t6_dtype dtype) { return dtype == T6_F32 ? 1e-4 : dtype == T6_F16 ? 5e-3 : 2e-2; }

#define QUERY_GUARD 5 /* elements before and after the query rows that must stay untouched */

bool projection_check(t6_context *ctx, t6_layer *layer, t6_cache *cache, const projection_problem *p,
                      t6_projection_method method, const char *label, bool may_refuse)
{
    const t6_layer_config *c = &p->config;
    t6_cache_config cc = T6_CACHE_CONFIG_INIT;
    T6T_OK(ctx, t6_cache_get_config(cache, &cc));
    const size_t row_size = t6_query_row_size(c), hidden_offset = 3;
    const size_t hidden_count = (size_t)p->rows * (size_t)c->model_dim;
    const size_t query_count = (size_t)p->rows * row_size + 2 * QUERY_GUARD;
    cl_mem hidden = NULL, query = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, hidden_offset + hidden_count, &hidden));
    T6T_OK(ctx, t6_buffer_upload(ctx, hidden, T6_F32, hidden_offset, hidden_count, p->hidden));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, query_count, &query));
    float *got = malloc(query_count * sizeof(float));
    ck_assert_ptr_nonnull(got);
    for (size_t i = 0; i < query_count; i++) got[i] = -PROJECTION_SENTINEL;
    T6T_OK(ctx, t6_buffer_upload(ctx, query, T6_F32, 0, query_count, got));

    const t6_project_options options = {sizeof(t6_project_options), method};
    const t6_status status = t6_project(layer, cache, p->rows, hidden, hidden_offset, p->slots, p->positions, query,
                                        QUERY_GUARD, &options);
    if (may_refuse && status == T6_ERROR_INVALID_PARAMS) {
        for (int s = 0; s < cc.slots; s++) {
            int length = -1;
            T6T_OK(ctx, t6_cache_length(cache, s, &length));
            ck_assert_msg(length == 0, "%s: a refused call changed slot %d's length", label, s);
        }
        free(got);
        clReleaseMemObject(hidden);
        clReleaseMemObject(query);
        return false;
    }
    ck_assert_msg(status == T6_SUCCESS, "%s: t6_project returned %s: %s", label, t6_status_string(status),
                  t6_context_last_error(ctx));
    T6T_OK(ctx, t6_buffer_download(ctx, query, T6_F32, 0, query_count, got));

    /* ref[f] in T6 matrix order: A_Q, A_K, A_V, B_Q, B_K, B_V. */
    double *ref[6];
    for (int f = 0; f < 6; f++) {
        ref[f] = malloc((size_t)p->rows * (size_t)projection_matrix_rows(c, f) * sizeof(double));
        ck_assert_ptr_nonnull(ref[f]);
    }
    const double *const w[6] = {p->weights_ref[0], p->weights_ref[1], p->weights_ref[2],
                                p->weights_ref[3], p->weights_ref[4], p->weights_ref[5]};
    T6T_OK(NULL, t6_ref_project(c, w, p->rows, p->hidden_ref, p->positions, ref[0], ref[3], ref[1], ref[4], ref[2],
                                ref[5]));

    char what[1200];
    for (int i = 0; i < QUERY_GUARD; i++) {
        ck_assert_msg(got[i] == -PROJECTION_SENTINEL, "%s: query element %d before the rows was written", label, i);
        ck_assert_msg(got[query_count - 1 - i] == -PROJECTION_SENTINEL, "%s: query element after the rows was written",
                      label);
    }
    /* Query: A_Q then B_Q per row, fp32. Compared row by row so that a row written to the wrong place fails. */
    const int aq = projection_matrix_rows(c, 0), bq = projection_matrix_rows(c, 3);
    for (int row = 0; row < p->rows; row++) {
        const float *q = got + QUERY_GUARD + (size_t)row * row_size;
        snprintf(what, sizeof what, "%s: row %d A_Q", label, row);
        T6T_CLOSE(q, ref[0] + (size_t)row * aq, (size_t)aq, 1e-4, what);
        snprintf(what, sizeof what, "%s: row %d B_Q (position %d)", label, row, p->positions[row]);
        T6T_CLOSE(q + aq, ref[3] + (size_t)row * bq, (size_t)bq, 1e-4, what);
    }
    free(got);

    /* Cache: every position of every slot; the rows' entries against the reference, the rest untouched. */
    const int factor_matrix[4] = {1, 2, 4, 5}; /* A_K, A_V, B_K, B_V */
    const char *const factor_names[4] = {"A_K", "A_V", "B_K", "B_V"};
    for (int f = 0; f < 4; f++) {
        const size_t size = t6_cache_factor_size(&cc, (t6_cache_factor)f);
        float *slot_values = malloc((size_t)cc.capacity * size * sizeof(float));
        ck_assert_ptr_nonnull(slot_values);
        for (int s = 0; s < cc.slots; s++) {
            T6T_OK(ctx, t6_cache_read(cache, (t6_cache_factor)f, s, 0, cc.capacity, slot_values));
            char *written = calloc((size_t)cc.capacity, 1);
            ck_assert_ptr_nonnull(written);
            for (int row = 0; row < p->rows; row++) {
                if (p->slots[row] != s) continue;
                written[p->positions[row]] = 1;
                snprintf(what, sizeof what, "%s: row %d %s (slot %d, position %d)", label, row, factor_names[f], s,
                         p->positions[row]);
                T6T_CLOSE(slot_values + (size_t)p->positions[row] * size,
                          ref[factor_matrix[f]] + (size_t)row * size, size, cache_tolerance(cc.dtype), what);
            }
            for (int m = 0; m < cc.capacity; m++) {
                if (written[m]) continue;
                for (size_t e = 0; e < size; e++)
                    ck_assert_msg(slot_values[(size_t)m * size + e] == PROJECTION_SENTINEL,
                                  "%s: %s of slot %d position %d (not a row of the call) was written", label,
                                  factor_names[f], s, m);
            }
            free(written);
        }
        free(slot_values);
    }
    for (int f = 0; f < 6; f++) free(ref[f]);
    clReleaseMemObject(hidden);
    clReleaseMemObject(query);
    return true;
}