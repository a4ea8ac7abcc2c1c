/* tune_ops.c — the ops t6-tune tunes, as problems a worker can run: inputs on the device, the
 * double-precision reference of the call computed once, and the check of every candidate's output (relative
 * error as ../shared/TPA.md states it, NaN/Inf, and guard values written after every output) before it is
 * timed. Also the work model (bytes and flops a call cannot avoid); the op table and bucket keys are in
 * tune_op_table.c. */
#include "bench.h"
#include "runtime/numerics.h"
#include "tune.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Written after every output and into unwritten cache positions; a candidate that changes it wrote out of
 * bounds. Exact in fp32, fp16 and bf16, and not a value any of these kernels produces from normal inputs. */
#define GUARD_VALUE (-1536.0f)
#define GUARD_COUNT 64

/* Per cached token, decode reads A_K, A_V (H·R each) and B_K, B_V (R·D each): TPA.md's (Rk+Rv)(H+D). The
 * flops are the fewest TPA.md's factorized decode can do: the scores either through S1 (Rq·Rk·D) and head
 * mixing (H·Rq·Rk), or through per-head queries formed once per call (H·Rk·D per token), whichever is cheaper
 * (the kernel chooses the same way); then the A_V weights (H·Rv) and the B_V sum (H·Rv·D); two flops per
 * multiply-add. */
static double token_bytes(const tune_shape *s)
{
    return (double)(s->rank_k + s->rank_v) * (double)(s->heads + s->head_dim) * (double)t6_dtype_size(s->dtype);
}

static double token_flops(const tune_shape *s)
{
    double staged = (double)s->rank_q * s->rank_k * s->head_dim + (double)s->heads * s->rank_q * s->rank_k;
    double per_head = (double)s->heads * s->rank_k * s->head_dim;
    return 2.0 * (fmin(staged, per_head) + (double)s->heads * s->rank_v + (double)s->heads * s->rank_v * s->head_dim);
}

static size_t query_row(const tune_shape *s)
{
    return (size_t)s->heads * (size_t)s->rank_q + (size_t)s->rank_q * (size_t)s->head_dim;
}

void tune_op_work(tune_op_id id, const tune_shape *s, double *bytes, double *flops)
{
    *bytes = *flops = 0.0;
    switch (id) {
    case TUNE_PROJECTION: {
        double outputs = (double)(s->heads + s->head_dim) * (s->rank_q + s->rank_k + s->rank_v);
        *bytes = outputs * s->model_dim * (double)t6_dtype_size(s->weight_dtype) + 4.0 * s->rows * s->model_dim +
                 4.0 * s->rows * outputs;
        *flops = 2.0 * s->rows * s->model_dim * outputs;
        break;
    }
    case TUNE_DECODE:
        *bytes = (double)s->batch * s->length * token_bytes(s) + 4.0 * s->batch * (double)query_row(s);
        *flops = (double)s->batch * s->length * token_flops(s);
        break;
    case TUNE_PREFILL: {
        double start = (double)(s->length - s->rows);
        *bytes = (double)s->batch * s->length * token_bytes(s) + 4.0 * s->batch * s->rows * (double)query_row(s);
        /* causal: query i sees start + i + 1 tokens */
        *flops = (double)s->batch * s->rows * (start + 0.5 * (s->rows + 1)) * token_flops(s);
        break;
    }
    case TUNE_SYNTHETIC:
    case TUNE_OP_COUNT: break;
    }
}

/* ---- problems ---- */

struct tune_problem {
    tune_op_id op;
    tune_shape shape;
    size_t qrow;
    /* projection */
    t6_layer_config layer_config;
    float *weights[6];
    int slot_count, capacity, first_position;
    /* attention */
    int *starts, *counts, *lengths;
    /* both */
    int *slots, *positions;
    int rows;
    t6_cache *cache;
    cl_mem input, output;
    size_t output_count; /* checked elements; GUARD_COUNT more follow */
    double *reference;   /* output_count values */
    double *reference_cache[4]; /* projection: the factors of every row, as the reference computes them */
    float *host;         /* output_count + GUARD_COUNT floats of scratch */
    t6_layer *layer;     /* projection */
    t6b_flush flush;
    bool flush_made;
};

/* n values of N(0, σ²) rounded to `round_to`, as the device will store them (malloc'ed; NULL if out of memory). */
static float *random_floats(t6i_rng *r, size_t n, double sigma, t6_dtype round_to)
{
    float *values = malloc((n ? n : 1) * sizeof *values);
    if (values) {
        t6i_fill_normal(r, values, n, sigma);
        for (size_t i = 0; i < n; i++) values[i] = t6_round_to_dtype(round_to, values[i]);
    }
    return values;
}

static double *to_double(const float *values, size_t n)
{
    double *out = malloc((n ? n : 1) * sizeof *out);
    if (out)
        for (size_t i = 0; i < n; i++) out[i] = values[i];
    return out;
}

void tune_problem_destroy(tune_problem *p)
{
    if (!p) return;
    for (int i = 0; i < 6; i++) free(p->weights[i]);
    for (int i = 0; i < 4; i++) free(p->reference_cache[i]);
    free(p->starts);
    free(p->counts);
    free(p->lengths);
    free(p->slots);
    free(p->positions);
    free(p->reference);
    free(p->host);
    t6_layer_destroy(p->layer);
    t6_cache_destroy(p->cache);
    if (p->input) clReleaseMemObject(p->input);
    if (p->output) clReleaseMemObject(p->output);
    if (p->flush_made) t6b_flush_release(&p->flush);
    free(p);
}

#define FAIL(...)                                                                                                \
    do {                                                                                                         \
        snprintf(message, cap, __VA_ARGS__);                                                                     \
        goto fail;                                                                                               \
    } while (0)
#define TRY(call)                                                                                                \
    do {                                                                                                         \
        t6_status s_ = (call);                                                                                   \
        if (s_ != T6_SUCCESS) FAIL("%s: %s: %s", #call, t6_status_string(s_), t6_context_last_error(ctx));      \
    } while (0)

/* Rows go to two slots at small positions (a few positions in, so a kernel that ignores positions fails);
 * the positions around them stay guard values. */
static t6_status create_projection(t6_context *ctx, tune_problem *p, t6i_rng *r, char *message, size_t cap)
{
    const tune_shape *s = &p->shape;
    double *wd[6] = {NULL}, *hidden_d = NULL, *out[6] = {NULL};
    float *hidden = NULL;
    t6_status status = T6_ERROR_INVALID_ARGUMENT;
    p->layer_config = (t6_layer_config){sizeof(t6_layer_config), s->model_dim, s->heads, s->head_dim, s->rank_q,
                                        s->rank_k, s->rank_v, T6_ROPE_HALF, 10000.0f, s->weight_dtype};
    int ranks[3] = {s->rank_q, s->rank_k, s->rank_v};
    for (int i = 0; i < 6; i++) {
        size_t n = (size_t)(i < 3 ? s->heads : s->head_dim) * (size_t)ranks[i % 3] * (size_t)s->model_dim;
        if (!(p->weights[i] = random_floats(r, n, 1.0 / sqrt((double)s->model_dim), s->weight_dtype)) ||
            !(wd[i] = to_double(p->weights[i], n)))
            FAIL("out of host memory (weights)");
    }
    p->rows = s->rows;
    p->slot_count = s->rows > 1 ? 2 : 1;
    p->first_position = 3;
    p->capacity = p->first_position + (s->rows + p->slot_count - 1) / p->slot_count + 2;
    p->slots = calloc((size_t)s->rows, sizeof *p->slots);
    p->positions = calloc((size_t)s->rows, sizeof *p->positions);
    if (!p->slots || !p->positions) FAIL("out of host memory (rows)");
    for (int i = 0; i < s->rows; i++) {
        p->slots[i] = i % p->slot_count;
        p->positions[i] = p->first_position + i / p->slot_count;
    }
    t6_cache_config cc = {sizeof(t6_cache_config), s->heads, s->head_dim, s->rank_k, s->rank_v, p->slot_count,
                          p->capacity, s->dtype};
    TRY(t6_cache_create(ctx, &cc, &p->cache));
    t6_layer_weights w = {p->weights[0], p->weights[1], p->weights[2], p->weights[3], p->weights[4], p->weights[5]};
    TRY(t6_layer_create(ctx, &p->layer_config, &w, &p->layer));
    size_t hidden_count = (size_t)s->rows * (size_t)s->model_dim;
    if (!(hidden = random_floats(r, hidden_count, 1.0, T6_F32)) || !(hidden_d = to_double(hidden, hidden_count)))
        FAIL("out of host memory (hidden)");
    TRY(t6_buffer_create(ctx, T6_F32, hidden_count, &p->input));
    TRY(t6_buffer_upload(ctx, p->input, T6_F32, 0, hidden_count, hidden));
    p->qrow = query_row(s);
    p->output_count = (size_t)s->rows * p->qrow;
    TRY(t6_buffer_create(ctx, T6_F32, p->output_count + GUARD_COUNT, &p->output));

    size_t sizes[6] = {(size_t)s->heads * s->rank_q, (size_t)s->rank_q * s->head_dim,
                       (size_t)s->heads * s->rank_k, (size_t)s->rank_k * s->head_dim,
                       (size_t)s->heads * s->rank_v, (size_t)s->rank_v * s->head_dim};
    for (int i = 0; i < 6; i++)
        if (!(out[i] = malloc((size_t)s->rows * sizes[i] * sizeof(double)))) FAIL("out of host memory (reference)");
    if (t6_ref_project(&p->layer_config, (const double *const *)wd, s->rows, hidden_d, p->positions, out[0], out[1],
                       out[2], out[3], out[4], out[5]) != T6_SUCCESS)
        FAIL("t6_ref_project: %s", t6_context_last_error(NULL));
    if (!(p->reference = malloc(p->output_count * sizeof(double)))) FAIL("out of host memory (reference)");
    for (int i = 0; i < s->rows; i++) {
        memcpy(p->reference + (size_t)i * p->qrow, out[0] + (size_t)i * sizes[0], sizes[0] * sizeof(double));
        memcpy(p->reference + (size_t)i * p->qrow + sizes[0], out[1] + (size_t)i * sizes[1], sizes[1] * sizeof(double));
    }
    /* cache factors in t6_cache_factor order: A_K, A_V, B_K, B_V */
    int from[4] = {2, 4, 3, 5};
    for (int f = 0; f < 4; f++) {
        p->reference_cache[f] = out[from[f]];
        out[from[f]] = NULL;
    }
    status = T6_SUCCESS;
fail:
    for (int i = 0; i < 6; i++) {
        free(wd[i]);
        free(out[i]);
    }
    free(hidden);
    free(hidden_d);
    return status;
}

/* Every slot holds `length` random positions, stored as the cache stores them; the reference is fed exactly
 * those values (TPA.md: then the tolerance is 1e-4 of max|ref| for every storage type). */
static t6_status create_attention(t6_context *ctx, tune_problem *p, t6i_rng *r, char *message, size_t cap)
{
    const tune_shape *s = &p->shape;
    t6_status status = T6_ERROR_INVALID_ARGUMENT;
    bool prefill = p->op == TUNE_PREFILL;
    int per_sequence = prefill ? s->rows : 1;
    int start = s->length - per_sequence;
    float *factors[4] = {NULL}, *query = NULL;
    double *factors_d[4] = {NULL}, *a_q = NULL, *b_q = NULL;
    t6_ref_shape rs = {s->heads, s->head_dim, s->rank_q, s->rank_k, s->rank_v};
    if (start < 0) FAIL("prefill rows=%d is more than length=%d", s->rows, s->length);

    t6_cache_config cc = {sizeof(t6_cache_config), s->heads, s->head_dim, s->rank_k, s->rank_v, s->batch, s->length,
                          s->dtype};
    TRY(t6_cache_create(ctx, &cc, &p->cache));
    p->rows = s->batch * per_sequence;
    p->qrow = query_row(s);
    p->output_count = (size_t)p->rows * (size_t)s->heads * (size_t)s->head_dim;
    p->slots = calloc((size_t)s->batch, sizeof *p->slots);
    p->lengths = calloc((size_t)s->batch, sizeof *p->lengths);
    p->starts = calloc((size_t)s->batch, sizeof *p->starts);
    p->counts = calloc((size_t)s->batch, sizeof *p->counts);
    p->reference = malloc(p->output_count * sizeof(double));
    if (!p->slots || !p->lengths || !p->starts || !p->counts || !p->reference) FAIL("out of host memory (batch)");
    size_t query_count = (size_t)p->rows * p->qrow;
    if (!(query = random_floats(r, query_count, 1.0, T6_F32))) FAIL("out of host memory (queries)");
    TRY(t6_buffer_create(ctx, T6_F32, query_count, &p->input));
    TRY(t6_buffer_upload(ctx, p->input, T6_F32, 0, query_count, query));
    TRY(t6_buffer_create(ctx, T6_F32, p->output_count + GUARD_COUNT, &p->output));

    size_t hq = (size_t)s->heads * s->rank_q, rq = (size_t)s->rank_q * s->head_dim;
    if (!(a_q = malloc((size_t)per_sequence * hq * sizeof *a_q)) || !(b_q = malloc((size_t)per_sequence * rq * sizeof *b_q)))
        FAIL("out of host memory (queries)");
    for (int b = 0; b < s->batch; b++) {
        p->slots[b] = b;
        p->lengths[b] = s->length;
        p->starts[b] = start;
        p->counts[b] = per_sequence;
        for (int f = 0; f < 4; f++) {
            size_t n = (size_t)s->length * t6_cache_factor_size(&cc, (t6_cache_factor)f);
            free(factors[f]);
            free(factors_d[f]);
            factors_d[f] = NULL;
            if (!(factors[f] = random_floats(r, n, 1.0, s->dtype)) || !(factors_d[f] = to_double(factors[f], n)))
                FAIL("out of host memory (cache)");
            TRY(t6_cache_write(p->cache, (t6_cache_factor)f, b, 0, s->length, factors[f]));
        }
        for (int q = 0; q < per_sequence; q++) {
            const float *row = query + ((size_t)b * per_sequence + q) * p->qrow;
            for (size_t i = 0; i < hq; i++) a_q[(size_t)q * hq + i] = row[i];
            for (size_t i = 0; i < rq; i++) b_q[(size_t)q * rq + i] = row[hq + i];
        }
        double *out = p->reference + (size_t)b * per_sequence * s->heads * s->head_dim;
        t6_status ref = prefill ? t6_ref_prefill(&rs, NULL, start, per_sequence, a_q, b_q, factors_d[0], factors_d[2],
                                                 factors_d[1], factors_d[3], out)
                                : t6_ref_decode(&rs, NULL, s->length, a_q, b_q, factors_d[0], factors_d[2],
                                                factors_d[1], factors_d[3], out);
        if (ref != T6_SUCCESS) FAIL("reference: %s", t6_context_last_error(NULL));
    }
    status = T6_SUCCESS;
fail:
    for (int f = 0; f < 4; f++) {
        free(factors[f]);
        free(factors_d[f]);
    }
    free(query);
    free(a_q);
    free(b_q);
    return status;
}

t6_status tune_problem_create(t6_context *ctx, tune_op_id op, const tune_shape *shape, tune_problem **out,
                              char *message, size_t cap)
{
    *out = NULL;
    tune_problem *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(message, cap, "out of host memory (problem)");
        return T6_ERROR_OUT_OF_HOST_MEMORY;
    }
    p->op = op;
    p->shape = *shape;
    t6i_rng r = t6i_rng_make(0x7436, (uint64_t)op);
    t6_status status = T6_SUCCESS;
    if (op == TUNE_PROJECTION) status = create_projection(ctx, p, &r, message, cap);
    else if (op == TUNE_DECODE || op == TUNE_PREFILL) status = create_attention(ctx, p, &r, message, cap);
    if (status == T6_SUCCESS && op != TUNE_SYNTHETIC) {
        if (!(p->host = malloc((p->output_count + GUARD_COUNT) * sizeof *p->host))) {
            snprintf(message, cap, "out of host memory (output)");
            status = T6_ERROR_OUT_OF_HOST_MEMORY;
        }
    }
    if (status != T6_SUCCESS) {
        tune_problem_destroy(p);
        return status;
    }
    *out = p;
    return T6_SUCCESS;
}

/* ---- one candidate ---- */

static t6_status call_op(tune_problem *p)
{
    switch (p->op) {
    case TUNE_PROJECTION:
        return t6_project(p->layer, p->cache, p->rows, p->input, 0, p->slots, p->positions, p->output, 0, NULL);
    case TUNE_DECODE:
        return t6_attention_decode(p->cache, p->shape.rank_q, p->shape.batch, p->slots, p->lengths, p->input, 0,
                                   p->output, 0, NULL);
    case TUNE_PREFILL:
        return t6_attention_prefill(p->cache, p->shape.rank_q, p->shape.batch, p->slots, p->starts, p->counts,
                                    p->input, 0, p->output, 0, NULL);
    default: return T6_ERROR_UNSUPPORTED;
    }
}

typedef struct timed_call {
    tune_problem *problem;
    t6_context *ctx;
    bool flush;
} timed_call;

static t6_status run_timed(void *arg)
{
    timed_call *call = arg;
    if (call->flush) {
        t6_status status = t6b_flush_enqueue(call->ctx, &call->problem->flush);
        if (status != T6_SUCCESS) return status;
    }
    return call_op(call->problem);
}

static tune_status classify(t6_status status)
{
    switch (status) {
    case T6_ERROR_BUILD_FAILED: return TUNE_BUILD;
    case T6_ERROR_INVALID_PARAMS: return TUNE_INVALID;
    case T6_ERROR_OPENCL: return TUNE_LAUNCH;
    default: return TUNE_ERROR;
    }
}

static bool guards_intact(const float *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&values[i], &(float){GUARD_VALUE}, sizeof(float)) != 0) return false;
    return true;
}

/* Fills the output's guard region and, for the projection, every cache position with the guard value. */
static t6_status arm_guards(tune_problem *p, t6_context *ctx)
{
    size_t total = p->output_count + GUARD_COUNT;
    for (size_t i = 0; i < total; i++) p->host[i] = GUARD_VALUE;
    t6_status status = t6_buffer_upload(ctx, p->output, T6_F32, 0, total, p->host);
    if (p->op != TUNE_PROJECTION) return status;
    t6_cache_config cc = T6_CACHE_CONFIG_INIT;
    t6_cache_get_config(p->cache, &cc);
    for (int f = 0; f < 4 && status == T6_SUCCESS; f++) {
        size_t n = (size_t)p->capacity * t6_cache_factor_size(&cc, (t6_cache_factor)f);
        float *fill = malloc(n * sizeof *fill);
        if (!fill) return T6_ERROR_OUT_OF_HOST_MEMORY;
        for (size_t i = 0; i < n; i++) fill[i] = GUARD_VALUE;
        for (int slot = 0; slot < p->slot_count && status == T6_SUCCESS; slot++)
            status = t6_cache_write(p->cache, (t6_cache_factor)f, slot, 0, p->capacity, fill);
        free(fill);
    }
    return status;
}

/* Storage rounding of the cache: TPA.md's tolerance against the unrounded reference. */
static double cache_tolerance(t6_dtype dtype) { return dtype == T6_F16 ? 5e-3 : dtype == T6_BF16 ? 2e-2 : 1e-4; }

/* The projection also wrote the cache: each row's factors where they belong, guards everywhere else. */
static bool check_cache(tune_problem *p, tune_result *result)
{
    t6_cache_config cc = T6_CACHE_CONFIG_INIT;
    t6_cache_get_config(p->cache, &cc);
    for (int f = 0; f < 4; f++) {
        size_t size = t6_cache_factor_size(&cc, (t6_cache_factor)f);
        float *values = malloc((size_t)p->capacity * size * sizeof *values);
        float *row_values = malloc((size_t)p->rows * size * sizeof *row_values);
        bool ok = values && row_values;
        for (int slot = 0; slot < p->slot_count && ok; slot++) {
            ok = t6_cache_read(p->cache, (t6_cache_factor)f, slot, 0, p->capacity, values) == T6_SUCCESS;
            for (int pos = 0; pos < p->capacity && ok; pos++) {
                int row = -1;
                for (int i = 0; i < p->rows && row < 0; i++)
                    if (p->slots[i] == slot && p->positions[i] == pos) row = i;
                if (row >= 0) memcpy(row_values + (size_t)row * size, values + (size_t)pos * size, size * sizeof(float));
                else if (!guards_intact(values + (size_t)pos * size, size)) {
                    snprintf(result->message, sizeof result->message,
                             "cache factor %d: slot %d position %d was written but no row goes there", f, slot, pos);
                    ok = false;
                }
            }
        }
        if (ok) {
            double error = t6i_relative_error(row_values, p->reference_cache[f], (size_t)p->rows * size);
            if (error > result->error) result->error = error;
            if (!(error <= cache_tolerance(cc.dtype))) {
                snprintf(result->message, sizeof result->message,
                         "cache factor %d: relative error %.3g > %.3g", f, error, cache_tolerance(cc.dtype));
                ok = false;
            }
        } else if (!result->message[0]) {
            snprintf(result->message, sizeof result->message, "cache factor %d could not be read", f);
        }
        free(values);
        free(row_values);
        if (!ok) return false;
    }
    return true;
}

/* A made-up landscape for testing t6-tune itself, with the shape of real ones: a smooth valley of log-sized
 * parameters with an interaction, a corner that fails to compile, one value that gives wrong results. The
 * optimum is A=64 B=4 C=2 D=0 (1 µs). Timings are exact unless T6_TUNE_TEST_NOISE=s: then each configuration's
 * median is off by a fixed draw, uniform in ±s, as if measured by 10 runs whose spread says so (the standard
 * error of their median, spread/(2√10), is the draw's standard deviation s/√3). */
static void evaluate_synthetic(const char *const *names, const int *values, int count, tune_result *result)
{
    double a = 1, b = 1, c = 1, d = 0;
    for (int i = 0; i < count; i++) {
        if (strcmp(names[i], "T6_SYN_A") == 0) a = values[i];
        if (strcmp(names[i], "T6_SYN_B") == 0) b = values[i];
        if (strcmp(names[i], "T6_SYN_C") == 0) c = values[i];
        if (strcmp(names[i], "T6_SYN_D") == 0) d = values[i];
    }
    if (a * b > 2048) {
        result->status = TUNE_BUILD;
        snprintf(result->message, sizeof result->message, "synthetic: A*B > 2048 does not compile");
        return;
    }
    if (c == 3) {
        result->status = TUNE_WRONG;
        result->error = 0.5;
        snprintf(result->message, sizeof result->message, "synthetic: C=3 gives wrong results");
        return;
    }
    double la = log2(a) - 6, lb = log2(b) - 2, lc = log2(c) - 1;
    double cost = 1.0 + 0.08 * la * la + 0.05 * lb * lb + 0.03 * lc * lc + 0.04 * la * lb + 0.02 * la * lb + 0.1 * d;
    result->status = TUNE_OK;
    result->median_ns = result->min_ns = result->max_ns = 1000.0 * cost;
    result->runs = 1;
    const char *noise_text = getenv("T6_TUNE_TEST_NOISE");
    const double noise = noise_text ? atof(noise_text) : 0.0;
    if (noise > 0.0) {
        const double index = a + 4096.0 * (b + 4096.0 * (c + 4096.0 * d)); /* one per configuration */
        unsigned long long h = 0x9E3779B97F4A7C15ull * (unsigned long long)index;
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
        const double u = (double)((h ^ (h >> 31)) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        result->median_ns *= 1.0 + noise * u;
        result->min_ns = result->median_ns * (1.0 - 2.0 * noise);
        result->max_ns = result->median_ns * (1.0 + 2.0 * noise);
        result->runs = 10;
        result->spread = 2.0 * sqrt(10.0) * noise / sqrt(3.0);
    }
}

double tune_tolerance(t6_precision precision, tune_op_id op, t6_dtype cache_dtype)
{
    if (precision != T6_PRECISION_FAST || (op != TUNE_DECODE && op != TUNE_PREFILL)) return 1e-4;
    return cache_dtype == T6_BF16 ? 5e-3 : 1e-3;
}

void tune_problem_evaluate(tune_problem *p, t6_context *ctx, const char *const *names, const int *values, int count,
                           int warmup, int runs, bool flush, tune_result *result)
{
    memset(result, 0, sizeof *result);
    if (p->op == TUNE_SYNTHETIC) {
        evaluate_synthetic(names, values, count, result);
        return;
    }
    t6_status status = arm_guards(p, ctx);
    if (status == T6_SUCCESS) status = call_op(p);
    if (status == T6_SUCCESS) status = t6_context_finish(ctx);
    if (status == T6_SUCCESS)
        status = t6_buffer_download(ctx, p->output, T6_F32, 0, p->output_count + GUARD_COUNT, p->host);
    if (status != T6_SUCCESS) {
        result->status = classify(status);
        snprintf(result->message, sizeof result->message, "%s: %s", t6_status_string(status),
                 t6_context_last_error(ctx));
        return;
    }
    result->error = t6i_relative_error(p->host, p->reference, p->output_count);
    if (!guards_intact(p->host + p->output_count, GUARD_COUNT)) {
        result->status = TUNE_WRONG;
        snprintf(result->message, sizeof result->message, "wrote past the end of the output");
        return;
    }
    t6_precision precision = T6_PRECISION_STRICT;
    t6_context_get_precision(ctx, &precision);
    const double tolerance = tune_tolerance(precision, p->op, p->shape.dtype);
    if (!(result->error <= tolerance)) {
        result->status = TUNE_WRONG;
        snprintf(result->message, sizeof result->message, "output: relative error %.3g > %g (%s)%s", result->error,
                 tolerance, t6_precision_name(precision), isinf(result->error) ? " (NaN or Inf)" : "");
        return;
    }
    if (p->op == TUNE_PROJECTION && !check_cache(p, result)) {
        result->status = TUNE_WRONG;
        return;
    }
    if (flush && !p->flush_made) {
        status = t6b_flush_create(ctx, &p->flush);
        p->flush_made = status == T6_SUCCESS;
        flush = p->flush_made;
    }
    timed_call call = {p, ctx, flush};
    t6b_stats stats;
    status = t6b_time(ctx, run_timed, &call, warmup, runs, &stats);
    if (status != T6_SUCCESS) {
        result->status = status == T6_ERROR_UNSUPPORTED ? TUNE_BROKEN : classify(status);
        snprintf(result->message, sizeof result->message, "timing: %s: %s", t6_status_string(status),
                 status == T6_ERROR_UNSUPPORTED ? "the device reported a zero time" : t6_context_last_error(ctx));
        return;
    }
    result->status = TUNE_OK;
    result->median_ns = stats.median_ns;
    result->min_ns = stats.min_ns;
    result->max_ns = stats.max_ns;
    result->spread = stats.spread;
    result->runs = stats.runs;
}
