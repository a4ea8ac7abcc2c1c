/* check_reference.c — the double-precision reference every kernel is judged by: hand-worked cases, then TPA.md's
 * identities (MHA/GQA/MQA written as TPA, factorized decode against materialize + attention, prefill against
 * decode, RoPE's relative-position property), then argument checks. Host only: no device is needed. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'ed array of n N(0, 1) values. */
static double *normal_array(t6i_rng *rng, size_t n)
{
    double *out = malloc((n ? n : 1) * sizeof *out);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < n; i++) out[i] = t6i_normal(rng);
    return out;
}

static double *zero_array(size_t n)
{
    double *out = calloc(n ? n : 1, sizeof *out);
    ck_assert_ptr_nonnull(out);
    return out;
}

#define ASSERT_CLOSE(got, ref, n, tol, ...)                                                                        \
    do {                                                                                                         \
        double e_ = t6i_relative_error_double((got), (ref), (n));                                                \
        char what_[200];                                                                                         \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                              \
        ck_assert_msg(e_ <= (tol), "%s: relative error %.3g > %.3g (seed %llu)", what_, e_, (double)(tol),       \
                      (unsigned long long)t6t_seed());                                                           \
    } while (0)

static double dot(const double *a, const double *b, int n)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

/* ---- RoPE ---- */

START_TEST(rope_at_position_zero_is_identity)
{
    t6i_rng rng = t6t_rng_make(1);
    double *x = normal_array(&rng, 128), *y = malloc(128 * sizeof *y);
    ck_assert_ptr_nonnull(y);
    for (int style = 0; style < 2; style++) {
        memcpy(y, x, 128 * sizeof *y);
        T6T_OK(NULL, t6_ref_rope((t6_rope_style)style, style ? 500000.0 : 10000.0, 128, 0, y));
        ck_assert_mem_eq(x, y, 128 * sizeof *y);
    }
    free(x);
    free(y);
}
END_TEST

/* x = (1, 2, 3, 4), D = 4, base 10000: inv_freq = (1, (float)0.01). At p = 1048579 ≥ 2^19 the fp32 angle
 * rule gives θ_1 = 10485.7900390625 instead of 10485.79: the expected values below were computed from it
 * independently (Python's math module, float32 rounding by struct packing). */
START_TEST(rope_of_a_d4_vector_by_hand)
{
    static const struct {
        int position;
        t6_rope_style style;
        double expected[4];
    } cases[] = {
        {1, T6_ROPE_HALF, {3.064715260291829, 2.0398993332804425, 0.7794359327965228, 3.979800335454281}},
        {1, T6_ROPE_INTERLEAVED, {-1.1426396637476532, 1.922075596544176, 2.959850668814059, 4.029799501007583}},
        {1048579, T6_ROPE_HALF, {-1.5629888647097572, -1.6695619539266833, -2.7490117876781293, 4.1488025841199665}},
        {1048579, T6_ROPE_INTERLEAVED, {-0.5930114614841862, -2.156000326193943, 4.983583561083309, 0.4048393381333}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double x[4] = {1.0, 2.0, 3.0, 4.0};
        T6T_OK(NULL, t6_ref_rope(cases[c].style, 10000.0, 4, cases[c].position, x));
        for (int i = 0; i < 4; i++)
            ck_assert_msg(fabs(x[i] - cases[c].expected[i]) <= 1e-12, "case %zu element %d: %.17g, expected %.17g",
                          c, i, x[i], cases[c].expected[i]);
    }
}
END_TEST

START_TEST(rope_preserves_the_norm_of_each_pair)
{
    t6i_rng rng = t6t_rng_make(2);
    enum { D = 80 };
    static const int positions[] = {1, 17, 12345, 1 << 20};
    double *x = normal_array(&rng, D), y[D];
    for (int style = 0; style < 2; style++)
        for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
            memcpy(y, x, sizeof y);
            T6T_OK(NULL, t6_ref_rope((t6_rope_style)style, 10000.0, D, positions[p], y));
            ck_assert_msg(t6i_relative_error_double(y, x, D) > 1e-3, "position %d left the vector unchanged",
                          positions[p]);
            for (int i = 0; i < D / 2; i++) {
                int lo = style == T6_ROPE_HALF ? i : 2 * i, hi = style == T6_ROPE_HALF ? i + D / 2 : 2 * i + 1;
                double before = hypot(x[lo], x[hi]), after = hypot(y[lo], y[hi]);
                ck_assert_msg(fabs(after - before) <= 1e-12 * before, "style %d position %d pair %d: %.17g vs %.17g",
                              style, positions[p], i, after, before);
            }
        }
    free(x);
}
END_TEST

/* (R_p q)·(R_m k) depends on p − m only (positions small enough that fp32 angles are exact to ~1e-6). */
START_TEST(rope_scores_depend_on_relative_position_only)
{
    t6i_rng rng = t6t_rng_make(3);
    enum { D = 64 };
    double *q = normal_array(&rng, D), *k = normal_array(&rng, D);
    double rq[D], rk[D];
    const double norms = sqrt(dot(q, q, D) * dot(k, k, D));
    static const int query_positions[] = {3, 10, 40, 57};
    for (int style = 0; style < 2; style++)
        for (int offset = 0; offset <= 3; offset++) {
            double first = 0.0;
            for (size_t p = 0; p < sizeof query_positions / sizeof query_positions[0]; p++) {
                memcpy(rq, q, sizeof rq);
                memcpy(rk, k, sizeof rk);
                T6T_OK(NULL, t6_ref_rope((t6_rope_style)style, 10000.0, D, query_positions[p], rq));
                T6T_OK(NULL, t6_ref_rope((t6_rope_style)style, 10000.0, D, query_positions[p] - offset, rk));
                double score = dot(rq, rk, D);
                if (p == 0) first = score;
                ck_assert_msg(fabs(score - first) <= 1e-5 * norms, "style %d offset %d: %.10g at p=%d vs %.10g",
                              style, offset, score, query_positions[p], first);
            }
        }
    /* The property must not hold by accident: with k = q, every offset ≠ 0 turns some pairs apart, so the score
     * drops below |q|² (pair 0 alone turns by `offset` radians). */
    for (int style = 0; style < 2; style++)
        for (int offset = 1; offset <= 3; offset++) {
            memcpy(rq, q, sizeof rq);
            memcpy(rk, q, sizeof rk);
            T6T_OK(NULL, t6_ref_rope((t6_rope_style)style, 10000.0, D, 3, rq));
            T6T_OK(NULL, t6_ref_rope((t6_rope_style)style, 10000.0, D, 3 - offset, rk));
            ck_assert_msg(dot(rq, rk, D) < (1.0 - 1e-3) * dot(q, q, D), "style %d offset %d: score %.10g, |q|² %.10g",
                          style, offset, dot(rq, rk, D), dot(q, q, D));
        }
    free(q);
    free(k);
}
END_TEST

/* ---- projection ---- */

/* C = 2, x = (1, 2); weight matrix i (W_A_q, W_A_k, W_A_v, W_B_q, W_B_k, W_B_v) has row j = (j + 100·i, 1), so
 * output j of matrix i is j + 100·i + 2 before RoPE. Row 0 sits at position 0 (RoPE is the identity), row 1
 * at position 1, where pair 0 turns by exactly 1 radian (inv_freq_0 = 1). */
START_TEST(tiny_projection_by_hand)
{
    enum { C = 2, H = 2, D = 32, RQ = 2, RK = 1, RV = 3 };
    const int ranks[3] = {RQ, RK, RV};
    double *weights[6];
    for (int i = 0; i < 6; i++) {
        int outputs = i < 3 ? H * ranks[i] : ranks[i - 3] * D;
        weights[i] = malloc((size_t)outputs * C * sizeof(double));
        ck_assert_ptr_nonnull(weights[i]);
        for (int j = 0; j < outputs; j++) {
            weights[i][j * C] = j + 100.0 * i;
            weights[i][j * C + 1] = 1.0;
        }
    }
    const double hidden[2 * C] = {1.0, 2.0, 1.0, 2.0};
    const int positions[2] = {0, 1};
    for (int style = 0; style < 2; style++) {
        t6_layer_config config = {sizeof(t6_layer_config), C, H, D, RQ, RK, RV, (t6_rope_style)style,
                                  style ? 500000.0f : 10000.0f, T6_F32};
        double *a[3], *b[3];
        for (int f = 0; f < 3; f++) {
            a[f] = zero_array(2 * H * ranks[f]);
            b[f] = zero_array(2 * ranks[f] * D);
        }
        T6T_OK(NULL, t6_ref_project(&config, (const double *const *)weights, 2, hidden, positions, a[0], b[0], a[1],
                                    b[1], a[2], b[2]));
        const double cos1 = cos(1.0), sin1 = sin(1.0);
        for (int f = 0; f < 3; f++) {
            for (int row = 0; row < 2; row++)
                for (int j = 0; j < H * ranks[f]; j++)
                    ck_assert_double_eq(a[f][row * H * ranks[f] + j], j + 100.0 * f + 2.0);
            for (int j = 0; j < ranks[f] * D; j++) /* position 0: unrotated */
                ck_assert_double_eq(b[f][j], j + 100.0 * (f + 3) + 2.0);
            const double *rotated = b[f] + ranks[f] * D;
            for (int r = 0; r < ranks[f]; r++) {
                /* Pair 0 of B row r: elements (0, 16) in style half, (0, 1) interleaved. */
                int lo = r * D, hi = r * D + (style == T6_ROPE_HALF ? D / 2 : 1);
                double x_lo = lo + 100.0 * (f + 3) + 2.0, x_hi = hi + 100.0 * (f + 3) + 2.0;
                double want_lo = style == T6_ROPE_HALF ? x_lo * cos1 + x_hi * sin1 : x_lo * cos1 - x_hi * sin1;
                double want_hi = style == T6_ROPE_HALF ? -x_lo * sin1 + x_hi * cos1 : x_lo * sin1 + x_hi * cos1;
                if (f == 2) { /* B_V is never rotated */
                    want_lo = x_lo;
                    want_hi = x_hi;
                }
                ck_assert_msg(fabs(rotated[lo] - want_lo) <= 1e-12 * fabs(want_lo) &&
                                  fabs(rotated[hi] - want_hi) <= 1e-12 * fabs(want_hi),
                              "style %d factor %d rank %d: (%.17g, %.17g), expected (%.17g, %.17g)", style, f, r,
                              rotated[lo], rotated[hi], want_lo, want_hi);
            }
        }
        /* Every pair of every rank, against RoPE applied to the unrotated row. */
        for (int f = 0; f < 3; f++) {
            double *expected = zero_array(ranks[f] * D);
            memcpy(expected, b[f], ranks[f] * D * sizeof(double));
            for (int r = 0; r < ranks[f] && f < 2; r++)
                T6T_OK(NULL, t6_ref_rope(config.rope_style, config.rope_base, D, 1, expected + r * D));
            ck_assert_mem_eq(b[f] + ranks[f] * D, expected, ranks[f] * D * sizeof(double));
            free(expected);
        }
        /* Outputs may be skipped: B_K alone comes out the same. */
        double *b_k_alone = zero_array(2 * RK * D);
        T6T_OK(NULL, t6_ref_project(&config, (const double *const *)weights, 2, hidden, positions, NULL, NULL, NULL,
                                    b_k_alone, NULL, NULL));
        ck_assert_mem_eq(b_k_alone, b[1], 2 * RK * D * sizeof(double));
        free(b_k_alone);
        for (int f = 0; f < 3; f++) {
            free(a[f]);
            free(b[f]);
        }
    }
    for (int i = 0; i < 6; i++) free(weights[i]);
}
END_TEST

/* ---- standard attention ---- */

START_TEST(attention_over_one_key_returns_its_value)
{
    enum { H = 6, KV = 3, D = 32 };
    t6i_rng rng = t6t_rng_make(4);
    double *q = normal_array(&rng, H * D), *k = normal_array(&rng, KV * D), *v = normal_array(&rng, KV * D);
    double out[H * D];
    static const double scales[] = {0.0, 0.37, -2.0};
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        T6T_OK(NULL, t6_ref_attention(H, KV, D, scales[s], 1, q, k, v, out));
        for (int h = 0; h < H; h++) /* GQA: query head h reads kv head h / (H / KV) */
            ck_assert_mem_eq(out + h * D, v + (h / (H / KV)) * D, D * sizeof(double));
    }
    free(q);
    free(k);
    free(v);
}
END_TEST

START_TEST(attention_averages_values_of_equal_scores)
{
    enum { H = 4, KV = 2, D = 32 };
    t6i_rng rng = t6t_rng_make(5);
    double *q = normal_array(&rng, H * D), *k = normal_array(&rng, 2 * KV * D), *v = normal_array(&rng, 2 * KV * D);
    memcpy(k + KV * D, k, KV * D * sizeof(double)); /* key 1 = key 0 */
    double out[H * D], want[H * D];
    T6T_OK(NULL, t6_ref_attention(H, KV, D, 0.0, 2, q, k, v, out));
    for (int h = 0; h < H; h++)
        for (int d = 0; d < D; d++) {
            int kv = h / (H / KV);
            want[h * D + d] = 0.5 * (v[kv * D + d] + v[KV * D + kv * D + d]);
        }
    ASSERT_CLOSE(out, want, H * D, 1e-14, "equal scores");
    free(q);
    free(k);
    free(v);
}
END_TEST

/* Scores ln 3 apart give weights 3/4 and 1/4; at scores near 1e4, exp() would overflow without the max
 * subtracted first. The default scale is 1/√D: q carries √D to cancel it. */
START_TEST(attention_softmax_is_stable_and_exact)
{
    enum { D = 32 };
    t6i_rng rng = t6t_rng_make(6);
    double *v = normal_array(&rng, 2 * D);
    static const double levels[] = {1.0, 1e4};
    for (size_t l = 0; l < 2; l++) {
        double q[D] = {0}, k[2 * D] = {0}, out[D], want[D];
        q[0] = sqrt((double)D) * levels[l];
        k[0] = 1.0;                              /* score levels[l] */
        k[D] = 1.0 - log(3.0) / levels[l];      /* score levels[l] − ln 3 */
        T6T_OK(NULL, t6_ref_attention(1, 1, D, 0.0, 2, q, k, v, out));
        for (int d = 0; d < D; d++) want[d] = 0.75 * v[d] + 0.25 * v[D + d];
        ASSERT_CLOSE(out, want, D, 1e-11, "score level %g", levels[l]);
    }
    free(v);
}
END_TEST

/* ---- TPA identities ---- */

/* q_h = (1/Rq)·Σ_r A_Q[h][r]·B_Q[r], written out here rather than through t6_ref_materialize. */
static void query_from_factors(const double *a_q, const double *b_q, int heads, int rank_q, int head_dim, double *q)
{
    for (int h = 0; h < heads; h++)
        for (int d = 0; d < head_dim; d++) {
            double sum = 0.0;
            for (int r = 0; r < rank_q; r++) sum += a_q[h * rank_q + r] * b_q[r * head_dim + d];
            q[h * head_dim + d] = sum / rank_q;
        }
}

/* MHA (kv = H), GQA and MQA (kv = 1) as TPA with fixed A factors (TPA.md, "Non-contextual special cases"):
 * Rk = Rv = kv, A(m)[h][s] = kv·δ(s, h / (H/kv)) so that (1/Rk)·kv = 1, B(m)[s] = the kv head s of k(m). */
static void check_baseline_as_tpa(int heads, int kv_heads, int head_dim, int rank_q, int length, uint64_t stream)
{
    t6i_rng rng = t6t_rng_make(stream);
    const t6_ref_shape shape = {heads, head_dim, rank_q, kv_heads, kv_heads};
    double *a_q = normal_array(&rng, (size_t)heads * rank_q), *b_q = normal_array(&rng, (size_t)rank_q * head_dim);
    double *k = normal_array(&rng, (size_t)length * kv_heads * head_dim);
    double *v = normal_array(&rng, (size_t)length * kv_heads * head_dim);
    double *a = zero_array((size_t)length * heads * kv_heads);
    double *q = zero_array((size_t)heads * head_dim), *want = zero_array((size_t)heads * head_dim);
    double *got = zero_array((size_t)heads * head_dim);
    for (int m = 0; m < length; m++)
        for (int h = 0; h < heads; h++) a[((size_t)m * heads + h) * kv_heads + h / (heads / kv_heads)] = kv_heads;
    query_from_factors(a_q, b_q, heads, rank_q, head_dim, q);
    T6T_OK(NULL, t6_ref_attention(heads, kv_heads, head_dim, 0.0, length, q, k, v, want));
    T6T_OK(NULL, t6_ref_decode(&shape, NULL, length, a_q, b_q, a, k, a, v, got));
    ASSERT_CLOSE(got, want, (size_t)heads * head_dim, 1e-12, "H=%d kv=%d D=%d Rq=%d length %d", heads, kv_heads,
                 head_dim, rank_q, length);
    free(a_q);
    free(b_q);
    free(k);
    free(v);
    free(a);
    free(q);
    free(want);
    free(got);
}

START_TEST(mha_gqa_mqa_as_tpa_match_standard_attention)
{
    static const int lengths[] = {1, 9};
    static const int kv_heads[] = {6, 3, 1}; /* MHA, GQA, MQA */
    for (int l = 0; l < 2; l++)
        for (int g = 0; g < 3; g++) check_baseline_as_tpa(6, kv_heads[g], 32, 3, lengths[l], 10 + 3 * l + g);
    check_baseline_as_tpa(16, 16, 64, 2, 5, 20); /* MHA at the largest rank TPA allows */
    check_baseline_as_tpa(7, 1, 80, 1, 12, 21);
}
END_TEST

typedef struct factors {
    double *a_q, *b_q, *a_k, *b_k, *a_v, *b_v;
} factors;

/* Random factors for `queries` query tokens over a cache of `length` positions. */
static factors random_factors(const t6_ref_shape *s, int queries, int length, uint64_t stream)
{
    t6i_rng rng = t6t_rng_make(stream);
    factors f;
    f.a_q = normal_array(&rng, (size_t)queries * s->heads * s->rank_q);
    f.b_q = normal_array(&rng, (size_t)queries * s->rank_q * s->head_dim);
    f.a_k = normal_array(&rng, (size_t)length * s->heads * s->rank_k);
    f.b_k = normal_array(&rng, (size_t)length * s->rank_k * s->head_dim);
    f.a_v = normal_array(&rng, (size_t)length * s->heads * s->rank_v);
    f.b_v = normal_array(&rng, (size_t)length * s->rank_v * s->head_dim);
    return f;
}

static void free_factors(factors *f)
{
    free(f->a_q);
    free(f->b_q);
    free(f->a_k);
    free(f->b_k);
    free(f->a_v);
    free(f->b_v);
}

/* The definition through full tensors: materialize Q, K, V, then standard attention. */
static void materialized_route(const t6_ref_shape *s, const t6_attention_options *options, int length,
                               const double *a_q, const double *b_q, const factors *f, double *out)
{
    const size_t row = (size_t)s->heads * s->head_dim;
    double *q = zero_array(row), *k = zero_array(length * row), *v = zero_array(length * row);
    T6T_OK(NULL, t6_ref_materialize(s, options, length, a_q, b_q, f->a_k, f->b_k, f->a_v, f->b_v, q, k, v));
    T6T_OK(NULL, t6_ref_attention(s->heads, s->heads, s->head_dim, options ? options->scale_softmax : 0.0, length,
                                  q, k, v, out));
    free(q);
    free(k);
    free(v);
}

START_TEST(factorized_decode_matches_materialized_attention)
{
    static const t6_ref_shape shapes[] = {{5, 32, 3, 1, 2}, {3, 80, 1, 4, 2}, {2, 128, 16, 16, 16}};
    static const int lengths[] = {1, 7, 33};
    const t6_attention_options custom = {sizeof(t6_attention_options), 0.7f, 1.3f, 0.4f, 0.2f, T6_ATTENTION_FACTORIZED,
                                         T6_PRECISION_DEFAULT};
    const t6_attention_options partial = {sizeof(t6_attention_options), 0.0f, 0.0f, 2.5f, 0.05f,
                                          T6_ATTENTION_FACTORIZED, T6_PRECISION_DEFAULT};
    const t6_attention_options *const options[] = {NULL, &custom, &partial};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int l = 0; l < 3; l++) {
            const t6_ref_shape *shape = &shapes[s];
            factors f = random_factors(shape, 1, lengths[l], 100 + 10 * s + l);
            const size_t row = (size_t)shape->heads * shape->head_dim;
            double *got = zero_array(row), *want = zero_array(row), *by_default = zero_array(row);
            for (int o = 0; o < 3; o++) {
                T6T_OK(NULL, t6_ref_decode(shape, options[o], lengths[l], f.a_q, f.b_q, f.a_k, f.b_k, f.a_v, f.b_v,
                                           got));
                materialized_route(shape, options[o], lengths[l], f.a_q, f.b_q, &f, want);
                ASSERT_CLOSE(got, want, row, 1e-12, "shape %zu length %d options %d", s, lengths[l], o);
                if (o == 0) {
                    memcpy(by_default, got, row * sizeof *got);
                } else { /* the scales are used, not ignored */
                    ck_assert_msg(t6i_relative_error_double(got, by_default, row) > 1e-3, "options %d change nothing",
                                  o);
                }
            }
            /* Fields left 0 are the defaults. */
            const t6_attention_options zeros = T6_ATTENTION_OPTIONS_INIT;
            T6T_OK(NULL, t6_ref_decode(shape, &zeros, lengths[l], f.a_q, f.b_q, f.a_k, f.b_k, f.a_v, f.b_v, got));
            ck_assert_mem_eq(got, by_default, row * sizeof *got);
            free(got);
            free(want);
            free(by_default);
            free_factors(&f);
        }
}
END_TEST

START_TEST(prefill_rows_match_decode)
{
    static const t6_ref_shape shapes[] = {{3, 32, 2, 3, 1}, {4, 96, 5, 2, 3}};
    static const int starts[] = {0, 4};
    enum { COUNT = 5 };
    const t6_attention_options custom = {sizeof(t6_attention_options), 0.9f, 0.0f, 1.1f, 0.3f, T6_ATTENTION_FACTORIZED,
                                         T6_PRECISION_DEFAULT};
    for (int s = 0; s < 2; s++)
        for (int st = 0; st < 2; st++) {
            const t6_ref_shape *shape = &shapes[s];
            const int start = starts[st], length = start + COUNT;
            factors f = random_factors(shape, COUNT, length, 200 + 10 * s + st);
            const size_t row = (size_t)shape->heads * shape->head_dim;
            const size_t a_q_row = (size_t)shape->heads * shape->rank_q;
            const size_t b_q_row = (size_t)shape->rank_q * shape->head_dim;
            double *out = zero_array(COUNT * row), *decoded = zero_array(row), *want = zero_array(row);
            T6T_OK(NULL, t6_ref_prefill(shape, &custom, start, COUNT, f.a_q, f.b_q, f.a_k, f.b_k, f.a_v, f.b_v, out));
            for (int i = 0; i < COUNT; i++) {
                const double *a_q = f.a_q + i * a_q_row, *b_q = f.b_q + i * b_q_row;
                T6T_OK(NULL, t6_ref_decode(shape, &custom, start + i + 1, a_q, b_q, f.a_k, f.b_k, f.a_v, f.b_v,
                                           decoded));
                ck_assert_mem_eq(out + i * row, decoded, row * sizeof *decoded);
                materialized_route(shape, &custom, start + i + 1, a_q, b_q, &f, want);
                ASSERT_CLOSE(out + i * row, want, row, 1e-12, "shape %d start %d row %d", s, start, i);
            }
            /* Causality: row 0 must not equal attention over the whole cache. */
            T6T_OK(NULL, t6_ref_decode(shape, &custom, length, f.a_q, f.b_q, f.a_k, f.b_k, f.a_v, f.b_v, decoded));
            ck_assert(t6i_relative_error_double(out, decoded, row) > 1e-3);
            free(out);
            free(decoded);
            free(want);
            free_factors(&f);
        }
}
END_TEST

/* ---- arguments ---- */

#define REJECTED(expr, fragment)                                                                                 \
    do {                                                                                                         \
        T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, expr);                                                       \
        ck_assert_msg(strstr(t6_context_last_error(NULL), (fragment)) != NULL, "%s: message \"%s\" lacks \"%s\"", \
                      #expr, t6_context_last_error(NULL), (fragment));                                           \
    } while (0)

START_TEST(invalid_arguments_are_rejected)
{
    double x[512] = {1.0}, out[512];
    const double *w[6] = {x, x, x, x, x, x};
    const double *w_missing[6] = {x, x, x, x, NULL, x};
    const int positions[2] = {0, 1}, negative[2] = {0, -1};
    const t6_layer_config good = {sizeof(t6_layer_config), 2, 2, 32, 2, 1, 1, T6_ROPE_HALF, 10000.0f, T6_F32};
    t6_layer_config bad;
    T6T_OK(NULL, t6_ref_project(&good, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL));
    REJECTED(t6_ref_project(NULL, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "config");
    REJECTED(t6_ref_project(&good, NULL, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "weights");
    REJECTED(t6_ref_project(&good, w_missing, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "W_B_k");
    REJECTED(t6_ref_project(&good, w, 0, x, positions, out, NULL, NULL, NULL, NULL, NULL), "rows");
    REJECTED(t6_ref_project(&good, w, 1, NULL, positions, out, NULL, NULL, NULL, NULL, NULL), "hidden");
    REJECTED(t6_ref_project(&good, w, 1, x, NULL, out, NULL, NULL, NULL, NULL, NULL), "positions");
    REJECTED(t6_ref_project(&good, w, 2, x, negative, out, NULL, NULL, NULL, NULL, NULL), "positions[1]");
    bad = good, bad.model_dim = 0;
    REJECTED(t6_ref_project(&bad, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "model_dim");
    bad = good, bad.heads = 0;
    REJECTED(t6_ref_project(&bad, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "heads");
    bad = good, bad.head_dim = 48;
    REJECTED(t6_ref_project(&bad, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "head_dim");
    bad = good, bad.rank_q = 17;
    REJECTED(t6_ref_project(&bad, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "rank_q");
    bad = good, bad.rank_v = 0;
    REJECTED(t6_ref_project(&bad, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "rank_v");
    bad = good, bad.rope_style = (t6_rope_style)7;
    REJECTED(t6_ref_project(&bad, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "rope_style");
    bad = good, bad.rope_base = 1.0f;
    REJECTED(t6_ref_project(&bad, w, 1, x, positions, out, NULL, NULL, NULL, NULL, NULL), "rope_base");

    REJECTED(t6_ref_rope((t6_rope_style)2, 10000.0, 4, 0, x), "t6_ref_rope: style");
    REJECTED(t6_ref_rope(T6_ROPE_HALF, 0.5, 4, 0, x), "base");
    REJECTED(t6_ref_rope(T6_ROPE_HALF, NAN, 4, 0, x), "base");
    REJECTED(t6_ref_rope(T6_ROPE_HALF, 10000.0, 5, 0, x), "head_dim");
    REJECTED(t6_ref_rope(T6_ROPE_HALF, 10000.0, 0, 0, x), "head_dim");
    REJECTED(t6_ref_rope(T6_ROPE_HALF, 10000.0, 4, -1, x), "position");
    REJECTED(t6_ref_rope(T6_ROPE_HALF, 10000.0, 4, 0, NULL), "vec");

    const t6_ref_shape shape = {2, 32, 2, 1, 1};
    const t6_ref_shape bad_shapes[] = {{0, 32, 2, 1, 1}, {2, 31, 2, 1, 1}, {2, 32, 0, 1, 1}, {2, 32, 2, 17, 1}};
    const t6_attention_options infinite = {sizeof(t6_attention_options), 0.0f, INFINITY, 0.0f, 0.0f,
                                           T6_ATTENTION_FACTORIZED, T6_PRECISION_DEFAULT};
    T6T_OK(NULL, t6_ref_materialize(&shape, NULL, 1, x, x, NULL, NULL, NULL, NULL, out, NULL, NULL));
    REJECTED(t6_ref_materialize(NULL, NULL, 1, x, x, x, x, x, x, out, out, out), "t6_ref_materialize: shape");
    REJECTED(t6_ref_materialize(&shape, NULL, 0, x, x, x, x, x, x, out, out, out), "length");
    REJECTED(t6_ref_materialize(&shape, NULL, 1, x, NULL, x, x, x, x, out, out, out), "b_q");
    REJECTED(t6_ref_materialize(&shape, NULL, 1, x, x, x, x, NULL, x, out, out, out), "a_v");
    REJECTED(t6_ref_materialize(&shape, &infinite, 1, x, x, x, x, x, x, out, out, out), "scale_k");
    for (int s = 0; s < 4; s++) {
        REJECTED(t6_ref_materialize(&bad_shapes[s], NULL, 1, x, x, x, x, x, x, out, out, out), "t6_ref_materialize");
        REJECTED(t6_ref_decode(&bad_shapes[s], NULL, 1, x, x, x, x, x, x, out), "t6_ref_decode");
        REJECTED(t6_ref_prefill(&bad_shapes[s], NULL, 0, 1, x, x, x, x, x, x, out), "t6_ref_prefill");
    }

    T6T_OK(NULL, t6_ref_attention(4, 2, 32, 0.0, 1, x, x, x, out));
    REJECTED(t6_ref_attention(0, 1, 32, 0.0, 1, x, x, x, out), "heads");
    REJECTED(t6_ref_attention(4, 3, 32, 0.0, 1, x, x, x, out), "kv_heads");
    REJECTED(t6_ref_attention(4, 0, 32, 0.0, 1, x, x, x, out), "kv_heads");
    REJECTED(t6_ref_attention(4, 2, 33, 0.0, 1, x, x, x, out), "head_dim");
    REJECTED(t6_ref_attention(4, 2, 32, INFINITY, 1, x, x, x, out), "scale");
    REJECTED(t6_ref_attention(4, 2, 32, 0.0, 0, x, x, x, out), "length");
    REJECTED(t6_ref_attention(4, 2, 32, 0.0, 1, x, NULL, x, out), "t6_ref_attention");

    T6T_OK(NULL, t6_ref_decode(&shape, NULL, 1, x, x, x, x, x, x, out));
    REJECTED(t6_ref_decode(NULL, NULL, 1, x, x, x, x, x, x, out), "shape");
    REJECTED(t6_ref_decode(&shape, NULL, 0, x, x, x, x, x, x, out), "length");
    REJECTED(t6_ref_decode(&shape, NULL, 1, x, x, x, x, x, NULL, out), "t6_ref_decode");
    REJECTED(t6_ref_decode(&shape, &infinite, 1, x, x, x, x, x, x, out), "scale_k");

    T6T_OK(NULL, t6_ref_prefill(&shape, NULL, 0, 1, x, x, x, x, x, x, out));
    REJECTED(t6_ref_prefill(&shape, NULL, -1, 1, x, x, x, x, x, x, out), "start");
    REJECTED(t6_ref_prefill(&shape, NULL, 0, 0, x, x, x, x, x, x, out), "count");
    REJECTED(t6_ref_prefill(&shape, NULL, 0, 1, NULL, x, x, x, x, x, out), "t6_ref_prefill");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("reference");
    TCase *rope = tcase_create("rope");
    tcase_add_test(rope, rope_at_position_zero_is_identity);
    tcase_add_test(rope, rope_of_a_d4_vector_by_hand);
    tcase_add_test(rope, rope_preserves_the_norm_of_each_pair);
    tcase_add_test(rope, rope_scores_depend_on_relative_position_only);
    suite_add_tcase(suite, rope);
    TCase *ops = tcase_create("ops");
    tcase_add_test(ops, tiny_projection_by_hand);
    tcase_add_test(ops, attention_over_one_key_returns_its_value);
    tcase_add_test(ops, attention_averages_values_of_equal_scores);
    tcase_add_test(ops, attention_softmax_is_stable_and_exact);
    suite_add_tcase(suite, ops);
    TCase *identities = tcase_create("identities");
    tcase_add_test(identities, mha_gqa_mqa_as_tpa_match_standard_attention);
    tcase_add_test(identities, factorized_decode_matches_materialized_attention);
    tcase_add_test(identities, prefill_rows_match_decode);
    suite_add_tcase(suite, identities);
    TCase *arguments = tcase_create("arguments");
    tcase_add_test(arguments, invalid_arguments_are_rejected);
    suite_add_tcase(suite, arguments);
    return t6t_run(suite);
}
