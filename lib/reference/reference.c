/* reference.c — the double-precision reference of ../shared/TPA.md that every kernel is judged by. Plain loops in
 * double on purpose: nothing here may share a shortcut (or a bug) with the kernels. No state: thread safe.
 * Decode follows the factorized formula and materialize + attention the definition through full tensors, so
 * tests can hold the two routes against each other. */
#include "runtime/runtime.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

/* Scales in double: the defaults are exact reciprocals here, not their fp32 roundings. */
typedef struct ref_scales {
    double q, k, v, softmax;
} ref_scales;

static bool head_dim_supported(int head_dim)
{
    return head_dim == 32 || head_dim == 64 || head_dim == 80 || head_dim == 96 || head_dim == 128;
}

static t6_status check_shape(const char *fn, int heads, int head_dim, int rank_q, int rank_k, int rank_v)
{
    if (heads < 1) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: heads=%d must be ≥ 1", fn, heads);
    if (!head_dim_supported(head_dim))
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: head_dim=%d must be 32, 64, 80, 96 or 128", fn,
                        head_dim);
    const int ranks[3] = {rank_q, rank_k, rank_v};
    static const char *const names[3] = {"rank_q", "rank_k", "rank_v"};
    for (int i = 0; i < 3; i++)
        if (ranks[i] < 1 || ranks[i] > 16)
            return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: %s=%d must be 1..16", fn, names[i], ranks[i]);
    return T6_SUCCESS;
}

static t6_status check_ref_shape(const char *fn, const t6_ref_shape *shape)
{
    if (!shape) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: shape is NULL", fn);
    return check_shape(fn, shape->heads, shape->head_dim, shape->rank_q, shape->rank_k, shape->rank_v);
}

/* TPA.md's defaults for fields left 0; a NULL `options` means all defaults. */
static t6_status resolve_scales(const char *fn, const t6_ref_shape *shape, const t6_attention_options *options,
                                ref_scales *out)
{
    *out = (ref_scales){1.0 / shape->rank_q, 1.0 / shape->rank_k, 1.0 / shape->rank_v, 1.0 / sqrt(shape->head_dim)};
    if (!options) return T6_SUCCESS;
    t6_attention_options read;
    const t6_status status = T6I_STRUCT_IN(NULL, t6_attention_options, options, &read);
    if (status != T6_SUCCESS) return status;
    const float given[4] = {read.scale_q, read.scale_k, read.scale_v, read.scale_softmax};
    double *const resolved[4] = {&out->q, &out->k, &out->v, &out->softmax};
    static const char *const names[4] = {"scale_q", "scale_k", "scale_v", "scale_softmax"};
    for (int i = 0; i < 4; i++) {
        if (!isfinite(given[i]))
            return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: %s=%g is not finite", fn, names[i],
                            (double)given[i]);
        if (given[i] != 0.0f) *resolved[i] = given[i];
    }
    return T6_SUCCESS;
}

/* out[i] = Σ_c w[i][c]·x[c] for `count` rows of a row-major count × width matrix. */
static void matvec(const double *w, int count, int width, const double *x, double *out)
{
    for (int i = 0; i < count; i++) {
        double sum = 0.0;
        for (int c = 0; c < width; c++) sum += w[(size_t)i * (size_t)width + (size_t)c] * x[c];
        out[i] = sum;
    }
}

/* out[h][d] = scale·Σ_r a[h][r]·b[r][d]: one full head vector per head from its factors (TPA.md, "Attention"). */
static void combine_factors(const double *a, const double *b, int heads, int rank, int head_dim, double scale,
                            double *out)
{
    for (int h = 0; h < heads; h++)
        for (int d = 0; d < head_dim; d++) {
            double sum = 0.0;
            for (int r = 0; r < rank; r++) sum += a[h * rank + r] * b[(size_t)r * (size_t)head_dim + (size_t)d];
            out[(size_t)h * (size_t)head_dim + (size_t)d] = scale * sum;
        }
}

/* Softmax of `count` scores in place; subtracting the maximum keeps every exp() ≤ 1. */
static void softmax_in_place(double *scores, int count)
{
    double max = scores[0];
    for (int m = 1; m < count; m++) max = fmax(max, scores[m]);
    double sum = 0.0;
    for (int m = 0; m < count; m++) {
        scores[m] = exp(scores[m] - max);
        sum += scores[m];
    }
    for (int m = 0; m < count; m++) scores[m] /= sum;
}

t6_status t6_ref_rope(t6_rope_style style, double base, int head_dim, int position, double *vec)
{
    static const char fn[] = "t6_ref_rope";
    if (style != T6_ROPE_HALF && style != T6_ROPE_INTERLEAVED)
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: style %d is unknown", fn, (int)style);
    if (!(base > 1.0) || !isfinite(base))
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: base=%g must be finite and > 1", fn, base);
    if (head_dim < 2 || head_dim % 2 != 0)
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: head_dim=%d must be even and ≥ 2", fn, head_dim);
    if (position < 0)
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: position=%d must be ≥ 0", fn, position);
    if (!vec) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: vec is NULL", fn);
    const int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        /* The kernels' angle rule (t6.h): inv_freq rounded once to fp32, the angle the fp32 product of the
         * position and inv_freq. The product of two floats is exact in double, so rounding it once gives the
         * fp32 product whatever the host's FLT_EVAL_METHOD. */
        const float inv_freq = (float)(1.0 / pow(base, 2.0 * i / head_dim));
        const float angle = (float)((double)(float)position * (double)inv_freq);
        const double cos_a = cos((double)angle), sin_a = sin((double)angle);
        const int lo = style == T6_ROPE_HALF ? i : 2 * i;
        const int hi = style == T6_ROPE_HALF ? i + half : 2 * i + 1;
        const double x_lo = vec[lo], x_hi = vec[hi];
        if (style == T6_ROPE_HALF) { /* T6.py's sign convention: trained weights depend on it */
            vec[lo] = x_lo * cos_a + x_hi * sin_a;
            vec[hi] = -x_lo * sin_a + x_hi * cos_a;
        } else {
            vec[lo] = x_lo * cos_a - x_hi * sin_a;
            vec[hi] = x_lo * sin_a + x_hi * cos_a;
        }
    }
    return T6_SUCCESS;
}

t6_status t6_ref_project(const t6_layer_config *config, const double *const weights[6], int rows,
                         const double *hidden, const int *positions, double *a_q, double *b_q, double *a_k,
                         double *b_k, double *a_v, double *b_v)
{
    static const char fn[] = "t6_ref_project";
    static const char *const weight_names[6] = {"W_A_q", "W_A_k", "W_A_v", "W_B_q", "W_B_k", "W_B_v"};
    t6_status status = T6_SUCCESS;
    T6I_REQUIRE(NULL, config, "%s: config is NULL", fn);
    t6_layer_config read;
    T6I_TRY(T6I_STRUCT_IN(NULL, t6_layer_config, config, &read));
    config = &read;
    T6I_TRY(check_shape(fn, config->heads, config->head_dim, config->rank_q, config->rank_k, config->rank_v));
    T6I_REQUIRE(NULL, config->model_dim >= 1, "%s: model_dim=%d must be ≥ 1", fn, config->model_dim);
    T6I_REQUIRE(NULL, config->rope_style == T6_ROPE_HALF || config->rope_style == T6_ROPE_INTERLEAVED,
                "%s: rope_style %d is unknown", fn, (int)config->rope_style);
    T6I_REQUIRE(NULL, config->rope_base > 1.0f && isfinite(config->rope_base),
                "%s: rope_base=%g must be finite and > 1", fn, (double)config->rope_base);
    T6I_REQUIRE(NULL, weights, "%s: weights is NULL", fn);
    for (int i = 0; i < 6; i++) T6I_REQUIRE(NULL, weights[i], "%s: weights[%d] (%s) is NULL", fn, i, weight_names[i]);
    T6I_REQUIRE(NULL, rows >= 1, "%s: rows=%d must be ≥ 1", fn, rows);
    T6I_REQUIRE(NULL, hidden, "%s: hidden is NULL", fn);
    T6I_REQUIRE(NULL, positions, "%s: positions is NULL", fn);
    for (int row = 0; row < rows; row++)
        T6I_REQUIRE(NULL, positions[row] >= 0, "%s: positions[%d]=%d must be ≥ 0", fn, row, positions[row]);

    const int heads = config->heads, head_dim = config->head_dim, width = config->model_dim;
    const int ranks[3] = {config->rank_q, config->rank_k, config->rank_v};
    double *const a_out[3] = {a_q, a_k, a_v}, *const b_out[3] = {b_q, b_k, b_v};
    for (int row = 0; row < rows; row++) {
        const double *x = hidden + (size_t)row * (size_t)width;
        for (int f = 0; f < 3; f++) {
            const size_t a_size = (size_t)heads * (size_t)ranks[f], b_size = (size_t)ranks[f] * (size_t)head_dim;
            if (a_out[f]) matvec(weights[f], heads * ranks[f], width, x, a_out[f] + (size_t)row * a_size);
            if (!b_out[f]) continue;
            double *b = b_out[f] + (size_t)row * b_size;
            matvec(weights[3 + f], ranks[f] * head_dim, width, x, b);
            if (f == 2) continue; /* RoPE rotates B_Q and B_K only, never B_V (TPA.md) */
            for (int r = 0; r < ranks[f]; r++)
                T6I_TRY(t6_ref_rope(config->rope_style, config->rope_base, head_dim, positions[row],
                                    b + (size_t)r * (size_t)head_dim));
        }
    }
cleanup:
    return status;
}

t6_status t6_ref_materialize(const t6_ref_shape *shape, const t6_attention_options *scales, int length,
                             const double *a_q, const double *b_q, const double *a_k, const double *b_k,
                             const double *a_v, const double *b_v, double *q, double *k, double *v)
{
    static const char fn[] = "t6_ref_materialize";
    t6_status status = T6_SUCCESS;
    ref_scales s;
    T6I_TRY(check_ref_shape(fn, shape));
    T6I_TRY(resolve_scales(fn, shape, scales, &s));
    T6I_REQUIRE(NULL, length >= 1, "%s: length=%d must be ≥ 1", fn, length);
    T6I_REQUIRE(NULL, !q || (a_q && b_q), "%s: q needs a_q and b_q", fn);
    T6I_REQUIRE(NULL, !k || (a_k && b_k), "%s: k needs a_k and b_k", fn);
    T6I_REQUIRE(NULL, !v || (a_v && b_v), "%s: v needs a_v and b_v", fn);

    const int heads = shape->heads, head_dim = shape->head_dim, rank_k = shape->rank_k, rank_v = shape->rank_v;
    const size_t row = (size_t)heads * (size_t)head_dim;
    if (q) combine_factors(a_q, b_q, heads, shape->rank_q, head_dim, s.q, q);
    for (int m = 0; m < length; m++) {
        if (k)
            combine_factors(a_k + (size_t)m * (size_t)heads * (size_t)rank_k,
                            b_k + (size_t)m * (size_t)rank_k * (size_t)head_dim, heads, rank_k, head_dim, s.k,
                            k + (size_t)m * row);
        if (v)
            combine_factors(a_v + (size_t)m * (size_t)heads * (size_t)rank_v,
                            b_v + (size_t)m * (size_t)rank_v * (size_t)head_dim, heads, rank_v, head_dim, s.v,
                            v + (size_t)m * row);
    }
cleanup:
    return status;
}

t6_status t6_ref_attention(int heads, int kv_heads, int head_dim, double scale, int length, const double *q,
                           const double *k, const double *v, double *out)
{
    static const char fn[] = "t6_ref_attention";
    t6_status status = T6_SUCCESS;
    double *probs = NULL;
    T6I_REQUIRE(NULL, heads >= 1, "%s: heads=%d must be ≥ 1", fn, heads);
    T6I_REQUIRE(NULL, kv_heads >= 1 && heads % kv_heads == 0, "%s: kv_heads=%d must be ≥ 1 and divide heads=%d", fn,
                kv_heads, heads);
    T6I_REQUIRE(NULL, head_dim_supported(head_dim), "%s: head_dim=%d must be 32, 64, 80, 96 or 128", fn, head_dim);
    T6I_REQUIRE(NULL, isfinite(scale), "%s: scale=%g is not finite", fn, scale);
    T6I_REQUIRE(NULL, length >= 1, "%s: length=%d must be ≥ 1", fn, length);
    T6I_REQUIRE(NULL, q && k && v && out, "%s: q, k, v and out must not be NULL", fn);
    T6I_ALLOC(NULL, probs, length);

    if (scale == 0.0) scale = 1.0 / sqrt(head_dim);
    const int group = heads / kv_heads;
    const size_t kv_row = (size_t)kv_heads * (size_t)head_dim;
    for (int h = 0; h < heads; h++) {
        const double *q_h = q + (size_t)h * (size_t)head_dim;
        const size_t kv_offset = (size_t)(h / group) * (size_t)head_dim;
        for (int m = 0; m < length; m++) {
            const double *k_m = k + (size_t)m * kv_row + kv_offset;
            double dot = 0.0;
            for (int d = 0; d < head_dim; d++) dot += q_h[d] * k_m[d];
            probs[m] = scale * dot;
        }
        softmax_in_place(probs, length);
        for (int d = 0; d < head_dim; d++) {
            double sum = 0.0;
            for (int m = 0; m < length; m++) sum += probs[m] * v[(size_t)m * kv_row + kv_offset + (size_t)d];
            out[(size_t)h * (size_t)head_dim + (size_t)d] = sum;
        }
    }
cleanup:
    free(probs);
    return status;
}

t6_status t6_ref_decode(const t6_ref_shape *shape, const t6_attention_options *scales, int length,
                        const double *a_q, const double *b_q, const double *a_k, const double *b_k,
                        const double *a_v, const double *b_v, double *out)
{
    static const char fn[] = "t6_ref_decode";
    t6_status status = T6_SUCCESS;
    double *s1 = NULL, *probs = NULL;
    ref_scales s;
    T6I_TRY(check_ref_shape(fn, shape));
    T6I_TRY(resolve_scales(fn, shape, scales, &s));
    T6I_REQUIRE(NULL, length >= 1, "%s: length=%d must be ≥ 1", fn, length);
    T6I_REQUIRE(NULL, a_q && b_q && a_k && b_k && a_v && b_v && out,
                "%s: a_q, b_q, a_k, b_k, a_v, b_v and out must not be NULL", fn);

    const int heads = shape->heads, head_dim = shape->head_dim;
    const int rank_q = shape->rank_q, rank_k = shape->rank_k, rank_v = shape->rank_v;
    const size_t rank_pairs = (size_t)rank_q * (size_t)rank_k;
    T6I_ALLOC(NULL, s1, (size_t)length * rank_pairs);
    T6I_ALLOC(NULL, probs, length);

    /* S1[m][r][s] = B_Q[r]·B_K(m)[s]: shared by every head. */
    for (int m = 0; m < length; m++)
        for (int r = 0; r < rank_q; r++)
            for (int t = 0; t < rank_k; t++) {
                const double *bq = b_q + (size_t)r * (size_t)head_dim;
                const double *bk = b_k + ((size_t)m * (size_t)rank_k + (size_t)t) * (size_t)head_dim;
                double dot = 0.0;
                for (int d = 0; d < head_dim; d++) dot += bq[d] * bk[d];
                s1[(size_t)m * rank_pairs + (size_t)r * (size_t)rank_k + (size_t)t] = dot;
            }

    const double c = s.q * s.k * s.softmax;
    for (int h = 0; h < heads; h++) {
        /* score[h][m] = c·Σ_{r,s} A_Q[h][r]·A_K(m)[h][s]·S1[m][r][s] */
        for (int m = 0; m < length; m++) {
            const double *ak = a_k + ((size_t)m * (size_t)heads + (size_t)h) * (size_t)rank_k;
            double sum = 0.0;
            for (int r = 0; r < rank_q; r++)
                for (int t = 0; t < rank_k; t++)
                    sum += a_q[h * rank_q + r] * ak[t] * s1[(size_t)m * rank_pairs + (size_t)r * (size_t)rank_k + t];
            probs[m] = c * sum;
        }
        softmax_in_place(probs, length);
        /* out[h][e] = scale_v·Σ_s Σ_m P[h][m]·A_V(m)[h][s]·B_V(m)[s][e] */
        for (int e = 0; e < head_dim; e++) {
            double sum = 0.0;
            for (int t = 0; t < rank_v; t++)
                for (int m = 0; m < length; m++)
                    sum += probs[m] * a_v[((size_t)m * (size_t)heads + (size_t)h) * (size_t)rank_v + (size_t)t] *
                           b_v[((size_t)m * (size_t)rank_v + (size_t)t) * (size_t)head_dim + (size_t)e];
            out[(size_t)h * (size_t)head_dim + (size_t)e] = s.v * sum;
        }
    }
cleanup:
    free(s1);
    free(probs);
    return status;
}

t6_status t6_ref_prefill(const t6_ref_shape *shape, const t6_attention_options *scales, int start, int count,
                         const double *a_q, const double *b_q, const double *a_k, const double *b_k,
                         const double *a_v, const double *b_v, double *out)
{
    static const char fn[] = "t6_ref_prefill";
    t6_status status = T6_SUCCESS;
    ref_scales s;
    T6I_TRY(check_ref_shape(fn, shape));
    T6I_TRY(resolve_scales(fn, shape, scales, &s));
    T6I_REQUIRE(NULL, start >= 0, "%s: start=%d must be ≥ 0", fn, start);
    T6I_REQUIRE(NULL, count >= 1 && count <= INT_MAX - start, "%s: count=%d must be ≥ 1 and start+count ≤ INT_MAX",
                fn, count);
    T6I_REQUIRE(NULL, a_q && b_q && a_k && b_k && a_v && b_v && out,
                "%s: a_q, b_q, a_k, b_k, a_v, b_v and out must not be NULL", fn);

    const size_t a_q_row = (size_t)shape->heads * (size_t)shape->rank_q;
    const size_t b_q_row = (size_t)shape->rank_q * (size_t)shape->head_dim;
    const size_t out_row = (size_t)shape->heads * (size_t)shape->head_dim;
    /* Causal: the query at position start+i sees positions 0 .. start+i of the cache. */
    for (int i = 0; i < count; i++)
        T6I_TRY(t6_ref_decode(shape, scales, start + i + 1, a_q + (size_t)i * a_q_row, b_q + (size_t)i * b_q_row,
                              a_k, b_k, a_v, b_v, out + (size_t)i * out_row));
cleanup:
    return status;
}
