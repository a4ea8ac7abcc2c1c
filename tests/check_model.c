/* check_model.c — the whole-model API on the test device: argument checks (bad batches refused before anything
 * is enqueued), prefill against token-by-token decode, batched against single decode, reset, MHA, weights in
 * fp16 and bf16, one timed operation and few commands per step; and the model's kernels against
 * double-precision references on random inputs: the GEMV with its folds (norm, SwiGLU, residual) in every
 * weight dtype, and the factor projection with the norm folded in. The model's numbers themselves are
 * checked end to end against a float64 numpy model by tests/run_model_e2e.py (CTest model_e2e). */
#include "model/model.h"
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void small_config(t6_model_config *c, t6_attention_kind kind)
{
    t6_model_config_init(c);
    c->attention = kind;
    c->vocab_size = 41;
    c->model_dim = 48;
    c->layers = 2;
    c->heads = 3;
    c->head_dim = 32;
    c->rank_q = 3;
    c->rank_k = 1;
    c->rank_v = 2;
    c->slots = 3;
    c->capacity = 24;
}

static t6_model *random_model(t6_context *ctx, t6_attention_kind kind)
{
    t6_model_config c;
    small_config(&c, kind);
    t6_model *model = NULL;
    T6T_OK(ctx, t6_model_create_random(ctx, &c, 11, &model));
    return model;
}

/* max |a − b| / max |b| over n floats, through the shared helper. */
static double relative(const float *a, const float *b, size_t n)
{
    double *ref = t6t_to_double(b, n);
    double error = t6i_relative_error(a, ref, n);
    free(ref);
    return error;
}

static uint64_t commands(t6_context *ctx)
{
    uint64_t count = 0;
    T6T_OK(ctx, t6_context_command_count(ctx, &count));
    return count;
}

static const int sequence[] = {5, 17, 3, 40, 0, 22, 9};
enum { SEQUENCE = 7, VOCAB = 41 };

/* Prefill of a whole sequence, prefill of all but its last token then a decode step, and decode from an
 * empty slot token by token: three paths through different kernels to the same logits. */
static void check_paths_agree(t6_attention_kind kind)
{
    t6_context *ctx = t6t_context();
    t6_model *model = random_model(ctx, kind);
    float whole[VOCAB], split[VOCAB], stepwise[VOCAB];
    T6T_OK(ctx, t6_model_prefill(model, 0, SEQUENCE, sequence, whole));
    T6T_OK(ctx, t6_model_prefill(model, 1, SEQUENCE - 1, sequence, NULL));
    const int slot1 = 1, slot2 = 2;
    T6T_OK(ctx, t6_model_decode(model, 1, &slot1, &sequence[SEQUENCE - 1], split));
    for (int i = 0; i < SEQUENCE; i++) T6T_OK(ctx, t6_model_decode(model, 1, &slot2, &sequence[i], stepwise));
    double scale = 0.0;
    for (int i = 0; i < VOCAB; i++) scale = fmax(scale, fabs(whole[i]));
    ck_assert_msg(scale > 1e-3 && isfinite(scale), "logits are degenerate (max %g)", scale);
    ck_assert_double_le(relative(split, whole, VOCAB), 1e-4);
    ck_assert_double_le(relative(stepwise, whole, VOCAB), 1e-4);
    for (int slot = 0; slot < 3; slot++) {
        int length = 0;
        T6T_OK(ctx, t6_model_length(model, slot, &length));
        ck_assert_int_eq(length, SEQUENCE);
    }

    /* After a reset the slot starts over and gives the same logits again. */
    T6T_OK(ctx, t6_model_reset(model, 0));
    int length = -1;
    T6T_OK(ctx, t6_model_length(model, 0, &length));
    ck_assert_int_eq(length, 0);
    float again[VOCAB];
    T6T_OK(ctx, t6_model_prefill(model, 0, SEQUENCE, sequence, again));
    ck_assert_double_le(relative(again, whole, VOCAB), 1e-6);

    /* The device buffer holds the last call's logits. */
    cl_mem buffer = NULL;
    T6T_OK(ctx, t6_model_logits(model, &buffer));
    float device[VOCAB];
    T6T_OK(ctx, t6_buffer_download(ctx, buffer, T6_F32, 0, VOCAB, device));
    ck_assert_mem_eq(device, again, sizeof device);
    t6_model_destroy(model);
    t6_context_destroy(ctx);
}

START_TEST(tpa_prefill_and_decode_agree) { check_paths_agree(T6_MODEL_TPA); }
END_TEST

START_TEST(mha_prefill_and_decode_agree) { check_paths_agree(T6_MODEL_MHA); }
END_TEST

START_TEST(batched_decode_matches_single_steps)
{
    t6_context *ctx = t6t_context();
    t6_model *model = random_model(ctx, T6_MODEL_TPA);
    /* Slots at different lengths: 4 tokens in slot 2, 2 in slot 0. */
    T6T_OK(ctx, t6_model_prefill(model, 2, 4, sequence, NULL));
    T6T_OK(ctx, t6_model_prefill(model, 0, 2, sequence + 4, NULL));
    const int slots[2] = {2, 0}, tokens[2] = {7, 31};
    float batched[2 * VOCAB], single[2 * VOCAB];
    T6T_OK(ctx, t6_model_decode(model, 2, slots, tokens, batched));
    for (int s = 0; s < 3; s++) T6T_OK(ctx, t6_model_reset(model, s));
    T6T_OK(ctx, t6_model_prefill(model, 2, 4, sequence, NULL));
    T6T_OK(ctx, t6_model_prefill(model, 0, 2, sequence + 4, NULL));
    T6T_OK(ctx, t6_model_decode(model, 1, &slots[0], &tokens[0], single));
    T6T_OK(ctx, t6_model_decode(model, 1, &slots[1], &tokens[1], single + VOCAB));
    ck_assert_double_le(relative(batched, single, VOCAB), 1e-5);
    ck_assert_double_le(relative(batched + VOCAB, single + VOCAB, VOCAB), 1e-5);
    ck_assert_double_gt(relative(batched, batched + VOCAB, VOCAB), 1e-3); /* two different predictions */
    t6_model_destroy(model);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(a_step_is_one_timed_operation)
{
    t6_context *ctx = t6t_context();
    t6_model *model = random_model(ctx, T6_MODEL_TPA);
    T6T_OK(ctx, t6_model_prefill(model, 0, 3, sequence, NULL));
    T6T_OK(ctx, t6_context_set_timing(ctx, 1));
    const int slot = 0;
    T6T_OK(ctx, t6_model_decode(model, 1, &slot, &sequence[3], NULL));
    /* The ops inside a step (projection, attention) join the step's operation instead of starting their own;
     * the nesting that arranges it is undone after success and after failure alike. */
    ck_assert_int_eq(ctx->op_nesting, 0);
    uint64_t step_ns = 0;
    T6T_OK(ctx, t6_context_last_op_time(ctx, &step_ns));
    ck_assert_uint_gt(step_ns, 0);
    cl_ulong first_start = 0, last_end = 0;
    ck_assert_int_eq(clGetEventProfilingInfo(ctx->op_first_event, CL_PROFILING_COMMAND_START, sizeof first_start,
                                             &first_start, NULL), CL_SUCCESS);
    ck_assert_int_eq(clGetEventProfilingInfo(ctx->op_last_event, CL_PROFILING_COMMAND_END, sizeof last_end,
                                             &last_end, NULL), CL_SUCCESS);
    ck_assert_uint_eq(last_end - first_start, step_ns);
    const int bad = -1;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 1, &slot, &bad, NULL));
    ck_assert_int_eq(ctx->op_nesting, 0);
    /* A plain op afterwards starts its own operation again. */
    t6_cache *cache = NULL;
    T6T_OK(ctx, t6_model_layer_cache(model, 0, &cache, NULL));
    ck_assert_ptr_nonnull(cache);
    int length = 0;
    T6T_OK(ctx, t6_model_length(model, 0, &length));
    ck_assert_int_eq(length, 4);
    t6_model_destroy(model);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(arguments_are_checked)
{
    t6_context *ctx = t6t_context();
    t6_model *model = random_model(ctx, T6_MODEL_TPA);
    float logits[3 * VOCAB];
    int bad_token = VOCAB, negative = -1;
    const int slot = 0, far_slot = 3;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_prefill(model, far_slot, 1, sequence, logits));
    ck_assert(strstr(t6_context_last_error(ctx), "slot 3") != NULL);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_prefill(model, 0, 0, sequence, logits));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_prefill(model, 0, 1, &bad_token, logits));
    ck_assert(strstr(t6_context_last_error(ctx), "token 41") != NULL);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 1, &slot, &negative, logits));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 1, &far_slot, sequence, logits));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 4, sequence, sequence, logits));
    const int twice[2] = {1, 1};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 2, twice, sequence, logits));
    ck_assert(strstr(t6_context_last_error(ctx), "twice") != NULL);
    /* A bad batch is refused before anything is enqueued: a repeated slot, an unknown one, a token past the
     * vocabulary, each with good entries before it. */
    const uint64_t before = commands(ctx);
    const int repeated[3] = {0, 2, 0}, unknown[3] = {0, 1, 3}, good[3] = {0, 1, 2}, past[3] = {1, 2, VOCAB};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 3, repeated, sequence, logits));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 3, unknown, sequence, logits));
    ck_assert(strstr(t6_context_last_error(ctx), "slots[2]=3") != NULL);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 3, good, past, logits));
    ck_assert(strstr(t6_context_last_error(ctx), "token 41 (entry 2)") != NULL);
    ck_assert_uint_eq(commands(ctx), before);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 1, NULL, sequence, logits));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(NULL, 1, &slot, sequence, logits));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_layer_cache(model, 2, NULL, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_reset(model, -1));
    int length = 0;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_length(model, 5, &length));

    /* Capacity: 24 positions. A prompt that would pass it is refused before anything runs. */
    int long_prompt[25] = {0};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_prefill(model, 0, 25, long_prompt, NULL));
    ck_assert(strstr(t6_context_last_error(ctx), "capacity") != NULL);
    T6T_OK(ctx, t6_model_prefill(model, 0, 24, long_prompt, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_decode(model, 1, &slot, sequence, NULL));
    ck_assert(strstr(t6_context_last_error(ctx), "full") != NULL);
    t6_model_destroy(model);
    t6_model_destroy(NULL);

    /* Configs the kernels cannot run are refused by name. */
    t6_model_config c;
    small_config(&c, T6_MODEL_TPA);
    c.head_dim = 48;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_create_random(ctx, &c, 1, &model));
    ck_assert(strstr(t6_context_last_error(ctx), "head_dim") != NULL);
    small_config(&c, T6_MODEL_TPA);
    c.rank_q = 17;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_create_random(ctx, &c, 1, &model));
    small_config(&c, T6_MODEL_TPA);
    c.vocab_size = 0;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_create_random(ctx, &c, 1, &model));
    small_config(&c, T6_MODEL_TPA);
    c.norm_eps = -1.0f;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_create_random(ctx, &c, 1, &model));
    ck_assert_ptr_null(model);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_create_random(ctx, NULL, 1, &model));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_model_create_random(NULL, &c, 1, &model));
    t6_context_destroy(ctx);
}
END_TEST

/* t6i_gemv against a double-precision product fed the very weights the device holds (rounded to the dtype): row
 * counts below, at and past a block of 8 (and past the norm's 128), row lengths that take each load width
 * (8, 4, 2, 1), outputs that leave a group partly empty, offsets into both buffers, and every fold (norm,
 * SwiGLU, accumulation) in each weight dtype; in both of the kernel's layouts, the GPUs' (teams of 32 lanes,
 * scalar sums) and the CPUs' (a work-item per column, vector sums), whatever the test device is. */
typedef struct gemv_case {
    int rows, k, n, in_offset, out_offset, accumulate, swiglu, norm;
} gemv_case;

static void check_gemv_case(t6_context *ctx, t6i_rng *rng, const gemv_case *g, t6_dtype dtype)
{
    const int rows = g->rows, k = g->k, n = g->n, w_rows = g->swiglu ? 2 * n : n;
    const size_t in_offset = (size_t)g->in_offset, out_offset = (size_t)g->out_offset;
    const size_t in_count = in_offset + (size_t)rows * k, out_count = out_offset + (size_t)rows * n;
    const size_t w_count = (size_t)w_rows * k;
    float *x = malloc(in_count * sizeof *x), *w = malloc(w_count * sizeof *w);
    float *y0 = malloc(out_count * sizeof *y0), *y = malloc(out_count * sizeof *y);
    double *ref = malloc((size_t)rows * n * sizeof *ref);
    ck_assert(x && w && y0 && y && ref);
    t6i_fill_normal(rng, x, in_count, 2.0);
    t6i_fill_normal(rng, w, w_count, 1.0 / sqrt(k));
    for (size_t i = 0; i < w_count; i++) w[i] = t6_round_to_dtype(dtype, w[i]);
    t6i_fill_normal(rng, y0, out_count, 1.0);
    cl_mem in = NULL, weight = NULL, out = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, in_count, &in));
    T6T_OK(ctx, t6_buffer_create(ctx, dtype, w_count, &weight));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, out_count, &out));
    T6T_OK(ctx, t6_buffer_upload(ctx, in, T6_F32, 0, in_count, x));
    T6T_OK(ctx, t6_buffer_upload(ctx, weight, dtype, 0, w_count, w));
    T6T_OK(ctx, t6_buffer_upload(ctx, out, T6_F32, 0, out_count, y0));
    const float eps = 1.1920929e-07f;
    const t6i_gemv_call call = {rows,      k,         n,     in,           weight,    out, in_offset,
                                out_offset, dtype, g->accumulate, g->swiglu, g->norm ? eps : 0.0f};
    T6T_OK(ctx, t6i_gemv(ctx, &call));
    T6T_OK(ctx, t6_buffer_download(ctx, out, T6_F32, 0, out_count, y));
    for (int r = 0; r < rows; r++) {
        const float *xr = x + in_offset + (size_t)r * k;
        double scale = 1.0;
        if (g->norm) {
            double squares = 0.0;
            for (int i = 0; i < k; i++) squares += (double)xr[i] * xr[i];
            scale = 1.0 / sqrt(squares / k + eps);
        }
        for (int j = 0; j < n; j++) {
            double a = 0.0, b = 0.0;
            for (int i = 0; i < k; i++) a += (double)xr[i] * w[(size_t)j * k + i];
            a *= scale;
            if (g->swiglu) {
                for (int i = 0; i < k; i++) b += (double)xr[i] * w[(size_t)(n + j) * k + i];
                a = a / (1.0 + exp(-a)) * (b * scale);
            }
            ref[(size_t)r * n + j] = (g->accumulate ? y0[out_offset + (size_t)r * n + j] : 0.0) + a;
        }
    }
    char what[160];
    snprintf(what, sizeof what, "gemv %s rows=%d k=%d n=%d accumulate=%d swiglu=%d norm=%d", t6_dtype_name(dtype),
             rows, k, n, g->accumulate, g->swiglu, g->norm);
    T6T_CLOSE(y + out_offset, ref, (size_t)rows * n, 2e-5, what);
    for (size_t i = 0; i < out_offset; i++) ck_assert_msg(y[i] == y0[i], "%s wrote before its output", what);
    clReleaseMemObject(in);
    clReleaseMemObject(weight);
    clReleaseMemObject(out);
    free(x);
    free(w);
    free(y0);
    free(y);
    free(ref);
}

START_TEST(gemv_matches_the_reference)
{
    t6_context *ctx = t6t_context();
    t6i_rng rng = t6t_rng_make(41);
    static const gemv_case cases[] = {
        {1, 1024, 1000, 0, 0, 0, 0, 0}, {1, 3008, 37, 0, 5, 1, 0, 0}, {3, 50, 61, 2, 0, 1, 0, 1},
        {8, 133, 9, 1, 3, 0, 1, 1},     {5, 2730, 17, 0, 0, 1, 0, 0}, {2, 7, 1, 3, 1, 0, 1, 0},
        {13, 100, 45, 4, 0, 0, 1, 1},   {1, 48, 33, 0, 0, 0, 1, 1},   {64, 36, 19, 0, 2, 1, 0, 1},
        {130, 24, 11, 0, 0, 0, 0, 0},
    };
    const int is_gpu = ctx->info.is_gpu;
    for (int layout = 0; layout < 2; layout++) {
        /* The layout follows the device kind: pose as the other kind, with the kernels found so far forgotten. */
        ctx->info.is_gpu = layout;
        memset(ctx->gemv_kernels, 0, sizeof ctx->gemv_kernels);
        for (int d = T6_F32; d <= T6_BF16; d++)
            for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++)
                check_gemv_case(ctx, &rng, &cases[t], (t6_dtype)d);
    }
    ctx->info.is_gpu = is_gpu;
    memset(ctx->gemv_kernels, 0, sizeof ctx->gemv_kernels);
    /* The norm holds at most T6I_GEMV_NORM_ROWS rows' scales; calls past it are an internal error. */
    const t6i_gemv_call too_many = {T6I_GEMV_NORM_ROWS + 1, 4, 4, NULL, NULL, NULL, 0, 0, T6_F32, false, false,
                                    1e-6f};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6i_gemv(ctx, &too_many));
    t6_context_destroy(ctx);
}
END_TEST

/* One weight dtype of projection_folds_the_norm, with the projection's tunables as the context has them. */
static void check_projection_norm(t6_context *ctx, t6i_rng *rng, t6_dtype dtype, int layout)
{
    enum { C = 100, H = 5, D = 32, RQ = 3, RK = 1, RV = 2, MAX_ROWS = 7, CAPACITY = 64 };
    const int sizes[6] = {H * RQ, H * RK, H * RV, RQ * D, RK * D, RV * D};
    const float eps = 1.1920929e-07f;
    const t6_layer_config config = {sizeof(t6_layer_config), C, H, D, RQ, RK, RV, T6_ROPE_HALF, 10000.0f, dtype};
    float *w[6];
    double *w_ref[6], *ref[6];
    for (int f = 0; f < 6; f++) {
        const size_t count = (size_t)sizes[f] * C;
        w[f] = malloc(count * sizeof *w[f]);
        w_ref[f] = malloc(count * sizeof *w_ref[f]);
        ref[f] = malloc((size_t)MAX_ROWS * sizes[f] * sizeof *ref[f]);
        t6i_fill_normal(rng, w[f], count, 0.1);
        for (size_t i = 0; i < count; i++) w_ref[f][i] = t6_round_to_dtype(dtype, w[f][i]);
    }
    const t6_layer_weights weights = {w[0], w[1], w[2], w[3], w[4], w[5]};
    t6_layer *layer = NULL;
    t6_cache *cache = NULL;
    T6T_OK(ctx, t6_layer_create(ctx, &config, &weights, &layer));
    const t6_cache_config cache_config = {sizeof(t6_cache_config), H, D, RK, RV, 2, CAPACITY, T6_F32};
    T6T_OK(ctx, t6_cache_create(ctx, &cache_config, &cache));
    const size_t query_row = t6_query_row_size(&config);
    float hidden[MAX_ROWS * C], got[MAX_ROWS * (H * RQ + RQ * D)];
    double normed[MAX_ROWS * C];
    cl_mem hidden_buffer = NULL, query_buffer = NULL, meta_buffer = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, MAX_ROWS * C, &hidden_buffer));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, MAX_ROWS * query_row, &query_buffer));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 2 * MAX_ROWS, &meta_buffer));
    static const int row_counts[] = {1, 3, MAX_ROWS};
    for (size_t t = 0; t < sizeof row_counts / sizeof row_counts[0]; t++) {
        const int rows = row_counts[t];
        int slots[MAX_ROWS], positions[MAX_ROWS];
        cl_uint meta[2 * MAX_ROWS];
        for (int i = 0; i < rows; i++) {
            slots[i] = i % 2;
            positions[i] = (int)(t * 17) + 3 * i;
            meta[2 * i] = (cl_uint)(slots[i] * CAPACITY + positions[i]);
            meta[2 * i + 1] = (cl_uint)positions[i];
        }
        t6i_fill_normal(rng, hidden, (size_t)rows * C, 3.0);
        for (int r = 0; r < rows; r++) {
            double squares = 0.0;
            for (int c = 0; c < C; c++) squares += (double)hidden[r * C + c] * hidden[r * C + c];
            for (int c = 0; c < C; c++) normed[r * C + c] = hidden[r * C + c] / sqrt(squares / C + eps);
        }
        T6T_OK(ctx, t6_buffer_upload(ctx, hidden_buffer, T6_F32, 0, (size_t)rows * C, hidden));
        ck_assert_int_eq(clEnqueueWriteBuffer(t6_context_cl_queue(ctx), meta_buffer, CL_TRUE, 0,
                                              2 * (size_t)rows * sizeof *meta, meta, 0, NULL, NULL),
                         CL_SUCCESS);
        t6i_lock(ctx);
        t6_status status = t6i_project_model(layer, cache, rows, hidden_buffer, meta_buffer, slots, positions,
                                             query_buffer, eps);
        t6i_unlock(ctx);
        T6T_OK(ctx, status);
        const double *const list[6] = {w_ref[0], w_ref[1], w_ref[2], w_ref[3], w_ref[4], w_ref[5]};
        T6T_OK(NULL, t6_ref_project(&config, list, rows, normed, positions, ref[0], ref[3], ref[1], ref[4], ref[2],
                                    ref[5]));
        T6T_OK(ctx, t6_buffer_download(ctx, query_buffer, T6_F32, 0, (size_t)rows * query_row, got));
        char what[96];
        for (int r = 0; r < rows; r++) {
            snprintf(what, sizeof what, "layout %d %s rows=%d row %d: A_Q", layout, t6_dtype_name(dtype),
                     rows, r);
            T6T_CLOSE(got + r * query_row, ref[0] + r * H * RQ, H * RQ, 1e-4, what);
            snprintf(what, sizeof what, "layout %d %s rows=%d row %d: B_Q", layout, t6_dtype_name(dtype),
                     rows, r);
            T6T_CLOSE(got + r * query_row + H * RQ, ref[3] + r * RQ * D, RQ * D, 1e-4, what);
        }
        for (int f = T6_FACTOR_A_K; f <= T6_FACTOR_B_V; f++) {
            const int matrix = f == T6_FACTOR_A_K ? 1 : f == T6_FACTOR_A_V ? 2 : f == T6_FACTOR_B_K ? 4 : 5;
            for (int r = 0; r < rows; r++) {
                float factor[RV * D];
                T6T_OK(ctx, t6_cache_read(cache, (t6_cache_factor)f, slots[r], positions[r], 1, factor));
                snprintf(what, sizeof what, "layout %d %s rows=%d row %d: cache factor %d", layout,
                         t6_dtype_name(dtype), rows, r, f);
                T6T_CLOSE(factor, ref[matrix] + (size_t)r * sizes[matrix], (size_t)sizes[matrix], 1e-4, what);
            }
        }
    }
    clReleaseMemObject(hidden_buffer);
    clReleaseMemObject(query_buffer);
    clReleaseMemObject(meta_buffer);
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    for (int f = 0; f < 6; f++) {
        free(w[f]);
        free(w_ref[f]);
        free(ref[f]);
    }
}

/* The factor projection with the RMSNorm folded in (t6i_project_model, the model's call) against
 * t6_ref_project of the normalized rows in double, fed the weights the layer holds (rounded to its dtype): an
 * odd shape (C = 100, H = 5, ranks 3, 1, 2), row counts of a decode step and of more, each in fp32 and bf16,
 * with the rows kernel shaped for the test device, then as the GPUs' defaults shape it (128 lanes splitting C,
 * vector and scalar sums). */
START_TEST(projection_folds_the_norm)
{
    t6_context *ctx = t6t_context();
    t6i_rng rng = t6t_rng_make(43);
    static const struct {
        const char *name;
        int value;
    } gpu_layout[] = {{"T6_PRJ_ROWS_MAX", 16}, {"T6_PRJ_RW_BLOCK", 16}, {"T6_PRJ_RW_LANES", 128},
                      {"T6_PRJ_RW_COLS", 4},   {"T6_PRJ_RW_VW", 4}};
    for (int layout = 0; layout < 3; layout++) {
        if (layout > 0) {
            for (size_t p = 0; p < sizeof gpu_layout / sizeof gpu_layout[0]; p++)
                T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, gpu_layout[p].name, gpu_layout[p].value));
            T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_RW_VACC", layout == 1));
        }
        check_projection_norm(ctx, &rng, T6_F32, layout);
        check_projection_norm(ctx, &rng, T6_BF16, layout);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* A decode step's commands: the step's row write, the embedding, the attention's rows (written once for every
 * layer) and the lm_head, then per layer the projection (its norm folded in), the attention (a merge of its
 * splits, where it splits) and the three products (residual adds, the second norm and SwiGLU folded in). */
START_TEST(a_decode_step_is_few_commands)
{
    t6_context *ctx = t6t_context();
    t6_model *model = random_model(ctx, T6_MODEL_TPA);
    const int slot = 0;
    const uint64_t layers = 2;
    T6T_OK(ctx, t6_model_prefill(model, 0, 3, sequence, NULL));
    uint64_t before = commands(ctx);
    T6T_OK(ctx, t6_model_decode(model, 1, &slot, &sequence[3], NULL));
    const uint64_t step = commands(ctx) - before;
    ck_assert_msg(step >= 4 + 5 * layers && step <= 4 + 6 * layers, "a decode step took %llu commands",
                  (unsigned long long)step);
    /* Reading the logits back is one more. */
    float logits[VOCAB];
    before = commands(ctx);
    T6T_OK(ctx, t6_model_decode(model, 1, &slot, &sequence[4], logits));
    ck_assert_uint_eq(commands(ctx) - before, step + 1);
    t6_model_destroy(model);
    t6_context_destroy(ctx);
}
END_TEST

/* Weights in their own dtype: fp16 and bf16 models take half the device bytes of fp32 (exactly: the same
 * matrices, two bytes an element), and their prefill and decode paths agree as the fp32 model's do. */
START_TEST(half_weights_take_half_the_bytes)
{
    t6_context *ctx = t6t_context();
    size_t bytes[3] = {0};
    for (int d = T6_F32; d <= T6_BF16; d++) {
        t6_model_config c;
        small_config(&c, T6_MODEL_TPA);
        c.weight_dtype = (t6_dtype)d;
        t6_model *model = NULL;
        T6T_OK(ctx, t6_model_create_random(ctx, &c, 11, &model));
        T6T_OK(ctx, t6_model_weight_bytes(model, &bytes[d]));
        float whole[VOCAB], stepwise[VOCAB];
        const int slot = 1;
        T6T_OK(ctx, t6_model_prefill(model, 0, SEQUENCE, sequence, whole));
        for (int i = 0; i < SEQUENCE; i++) T6T_OK(ctx, t6_model_decode(model, 1, &slot, &sequence[i], stepwise));
        ck_assert_double_le(relative(stepwise, whole, VOCAB), 1e-4);
        t6_model_destroy(model);
    }
    ck_assert_uint_gt(bytes[T6_F32], 0);
    ck_assert_uint_eq(bytes[T6_F16] * 2, bytes[T6_F32]);
    ck_assert_uint_eq(bytes[T6_BF16], bytes[T6_F16]);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_weight_bytes(NULL, &bytes[0]));
    t6_context_destroy(ctx);
}
END_TEST

/* The CLBlast products (a GPU's prefill with fp32 weights; every product where the GEMV fails its check at
 * creation), with the norm and SwiGLU as kernels of their own, against the GEMV's: prefill and decode. */
START_TEST(clblast_products_agree)
{
    t6_context *ctx = t6t_context();
    t6_model *model = random_model(ctx, T6_MODEL_TPA);
    float logits[2][2 * VOCAB];
    const int slots[2] = {0, 1}, tokens[2] = {7, 31};
    for (int path = 0; path < 2; path++) {
        model->gemv = path == 0;
        for (int s = 0; s < 2; s++) {
            T6T_OK(ctx, t6_model_reset(model, s));
            T6T_OK(ctx, t6_model_prefill(model, s, SEQUENCE - s, sequence, NULL));
        }
        T6T_OK(ctx, t6_model_decode(model, 2, slots, tokens, logits[path]));
    }
    ck_assert_double_le(relative(logits[1], logits[0], 2 * VOCAB), 1e-5);
    t6_model_destroy(model);
    t6_context_destroy(ctx);
}
END_TEST

/* The GEMV's check at model creation, made to see wrong products (a NaN ε leaves no product that matches):
 * 2-byte weights are refused with a status naming the fp32 fallback, fp32 weights fall back to CLBlast (in a
 * build without CLBlast, every weight type is refused, naming that); a sound ε passes. */
START_TEST(a_failed_gemv_check_names_the_fallback)
{
    t6_context *ctx = t6t_context();
    t6_model model;
    memset(&model, 0, sizeof model);
    model.ctx = ctx;
    small_config(&model.config, T6_MODEL_TPA);
    model.config.norm_eps = NAN;
    for (int d = T6_F16; d <= T6_BF16; d++) {
        model.config.weight_dtype = (t6_dtype)d;
        T6T_STATUS(ctx, T6_ERROR_UNSUPPORTED, t6i_model_check_gemv(&model));
        ck_assert_msg(strstr(t6_context_last_error(ctx), T6I_HAVE_CLBLAST ? "weight_dtype f32" : "no CLBlast") != NULL,
                      "%s", t6_context_last_error(ctx));
    }
    model.config.weight_dtype = T6_F32;
    model.gemv = true;
    if (T6I_HAVE_CLBLAST) {
        T6T_OK(ctx, t6i_model_check_gemv(&model));
        ck_assert(!model.gemv);
    } else {
        T6T_STATUS(ctx, T6_ERROR_UNSUPPORTED, t6i_model_check_gemv(&model));
        ck_assert_msg(strstr(t6_context_last_error(ctx), "no CLBlast") != NULL, "%s", t6_context_last_error(ctx));
    }
    model.config.norm_eps = 1.1920929e-07f;
    for (int d = T6_F32; d <= T6_BF16; d++) {
        model.config.weight_dtype = (t6_dtype)d;
        T6T_OK(ctx, t6i_model_check_gemv(&model));
        ck_assert(model.gemv);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* A step of more sequences than a block of the GEMV's rows (8) against the same steps one sequence at a time. */
START_TEST(a_large_batch_matches_single_steps)
{
    enum { BATCH = 11 };
    t6_context *ctx = t6t_context();
    t6_model_config c;
    small_config(&c, T6_MODEL_TPA);
    c.slots = 12;
    c.weight_dtype = T6_BF16;
    t6_model *model = NULL;
    T6T_OK(ctx, t6_model_create_random(ctx, &c, 5, &model));
    int slots[BATCH], tokens[BATCH];
    for (int i = 0; i < BATCH; i++) {
        slots[i] = (i * 5) % 12;
        tokens[i] = (i * 7 + 3) % VOCAB;
        T6T_OK(ctx, t6_model_prefill(model, slots[i], 1 + i % 3, sequence + i % 4, NULL));
    }
    float batched[BATCH * VOCAB], single[VOCAB];
    T6T_OK(ctx, t6_model_decode(model, BATCH, slots, tokens, batched));
    for (int i = 0; i < BATCH; i++) {
        T6T_OK(ctx, t6_model_reset(model, slots[i]));
        T6T_OK(ctx, t6_model_prefill(model, slots[i], 1 + i % 3, sequence + i % 4, NULL));
        T6T_OK(ctx, t6_model_decode(model, 1, &slots[i], &tokens[i], single));
        char what[32];
        snprintf(what, sizeof what, "batch entry %d", i);
        ck_assert_msg(relative(batched + i * VOCAB, single, VOCAB) <= 1e-5, "%s differs from its single step", what);
    }
    t6_model_destroy(model);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(checkpoint_files_are_checked)
{
    t6_context *ctx = t6t_context();
    t6_model *model = NULL;
    T6T_STATUS(ctx, T6_ERROR_IO, t6_model_create_from_file(ctx, "/nonexistent/model.safetensors", NULL, &model));
    ck_assert(strstr(t6_context_last_error(ctx), "/nonexistent/model.safetensors") != NULL);
    ck_assert_ptr_null(model);
    char path[] = "/tmp/t6-check-model-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static const char garbage[] = "\x10\0\0\0\0\0\0\0{\"a\":1}";
    ck_assert_int_eq(write(fd, garbage, sizeof garbage - 1), (ssize_t)(sizeof garbage - 1));
    close(fd);
    T6T_STATUS(ctx, T6_ERROR_FORMAT, t6_model_create_from_file(ctx, path, NULL, &model));
    unlink(path);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_create_from_file(ctx, NULL, NULL, &model));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_create_from_file(ctx, path, NULL, NULL));

    /* A FIFO in place of the checkpoint is refused at once (before, the open waited for a writer forever). */
    alarm(60);
    char dir[256], fifo[512];
    t6t_temp_dir("t6-check-model", dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/model.safetensors", dir);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    T6T_STATUS(ctx, T6_ERROR_IO, t6_model_create_from_file(ctx, fifo, NULL, &model));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "a FIFO"), "%s", t6_context_last_error(ctx));
    ck_assert_ptr_null(model);
    alarm(0);
    t6t_remove_tree(dir);
    t6_context_destroy(ctx);
}
END_TEST

/* A TPA checkpoint of F32 tensors at `path` (V=41, C=48, 2 layers, H=3, D=32, ranks 3/1/2, F=128), small random
 * weights; element 5 of the tensor `poison` (NULL: none) is set to `value`. */
static void write_checkpoint(const char *path, const char *poison, float value)
{
    enum { V = 41, C = 48, H = 3, D = 32, F = 128, LAYERS = 2 };
    const int ranks[3] = {3, 1, 2};
    struct {
        char name[96];
        int rows, cols;
    } tensors[1 + LAYERS * 10];
    int n = 0;
    snprintf(tensors[n].name, sizeof tensors[n].name, "transformer.wte.weight");
    tensors[n].rows = V;
    tensors[n++].cols = C;
    for (int l = 0; l < LAYERS; l++) {
        static const char *const factors[6] = {"W_A_q", "W_A_k", "W_A_v", "W_B_q", "W_B_k", "W_B_v"};
        for (int f = 0; f < 6; f++) {
            snprintf(tensors[n].name, sizeof tensors[n].name, "transformer.h.%d.attn.c_qkv.%s.weight", l, factors[f]);
            tensors[n].rows = (f < 3 ? H : D) * ranks[f % 3];
            tensors[n++].cols = C;
        }
        static const char *const dense[4] = {"attn.c_proj", "mlp.c_fc1", "mlp.c_fc2", "mlp.c_proj"};
        const int rows[4] = {C, F, F, C}, cols[4] = {H * D, C, C, F};
        for (int d = 0; d < 4; d++) {
            snprintf(tensors[n].name, sizeof tensors[n].name, "transformer.h.%d.%s.weight", l, dense[d]);
            tensors[n].rows = rows[d];
            tensors[n++].cols = cols[d];
        }
    }
    char header[8192];
    size_t at = 0, offset = 0;
    at += (size_t)snprintf(header + at, sizeof header - at, "{");
    for (int i = 0; i < n; i++) {
        const size_t bytes = (size_t)tensors[i].rows * (size_t)tensors[i].cols * sizeof(float);
        at += (size_t)snprintf(header + at, sizeof header - at,
                               "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                               i ? "," : "", tensors[i].name, tensors[i].rows, tensors[i].cols, offset, offset + bytes);
        offset += bytes;
    }
    at += (size_t)snprintf(header + at, sizeof header - at, "}");
    ck_assert_uint_lt(at, sizeof header);
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    const uint64_t length = at;
    ck_assert_uint_eq(fwrite(&length, sizeof length, 1, file), 1); /* little-endian hosts, as the format */
    ck_assert_uint_eq(fwrite(header, 1, at, file), at);
    t6i_rng rng = t6t_rng_make(77);
    for (int i = 0; i < n; i++) {
        const size_t count = (size_t)tensors[i].rows * (size_t)tensors[i].cols;
        float *values = malloc(count * sizeof *values);
        ck_assert_ptr_nonnull(values);
        t6i_fill_normal(&rng, values, count, 1.0 / sqrt((double)tensors[i].cols));
        if (poison && strcmp(poison, tensors[i].name) == 0) values[5] = value;
        ck_assert_uint_eq(fwrite(values, sizeof *values, count, file), count);
        free(values);
    }
    ck_assert_int_eq(fclose(file), 0);
}

/* A NaN or Inf weight made every logit NaN and greedy decoding print token 0 without a word (D5): the loader
 * refuses it naming the tensor, unless allow_nonfinite_weights asks for the tensors as they are. */
START_TEST(non_finite_weights_are_refused)
{
    t6_context *ctx = t6t_context();
    char dir[256], path[512];
    t6t_temp_dir("t6-check-model", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    t6_model *model = NULL;

    write_checkpoint(path, NULL, 0.0f);
    T6T_OK(ctx, t6_model_create_from_file(ctx, path, NULL, &model));
    const int prompt[3] = {1, 2, 3};
    float logits[41];
    T6T_OK(ctx, t6_model_prefill(model, 0, 3, prompt, logits));
    for (int i = 0; i < 41; i++) ck_assert(isfinite(logits[i]));
    t6_model_destroy(model);
    model = NULL;

    write_checkpoint(path, "transformer.h.0.mlp.c_fc1.weight", NAN);
    T6T_STATUS(ctx, T6_ERROR_FORMAT, t6_model_create_from_file(ctx, path, NULL, &model));
    ck_assert_ptr_null(model);
    ck_assert_msg(strstr(t6_context_last_error(ctx), "tensor 'transformer.h.0.mlp.c_fc1.weight' holds NaN at row 0, "
                                                    "column 5"),
                  "%s", t6_context_last_error(ctx));
    write_checkpoint(path, "transformer.wte.weight", INFINITY);
    T6T_STATUS(ctx, T6_ERROR_FORMAT, t6_model_create_from_file(ctx, path, NULL, &model));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "'transformer.wte.weight' holds +Inf"), "%s",
                  t6_context_last_error(ctx));
    /* finite in the file, infinite once rounded to fp16 */
    write_checkpoint(path, "transformer.h.1.mlp.c_fc2.weight", 1e6f);
    t6_model_config config;
    t6_model_config_init(&config);
    config.weight_dtype = T6_F16;
    T6T_STATUS(ctx, T6_ERROR_FORMAT, t6_model_create_from_file(ctx, path, &config, &model));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "'transformer.h.1.mlp.c_fc2.weight' at row 0, column 5 "
                                                    "overflows f16"),
                  "%s", t6_context_last_error(ctx));

    /* Asked for: loaded as it is, and the logits show it. */
    write_checkpoint(path, "transformer.h.0.mlp.c_fc1.weight", NAN);
    t6_model_config_init(&config);
    config.allow_nonfinite_weights = 1;
    T6T_OK(ctx, t6_model_create_from_file(ctx, path, &config, &model));
    T6T_OK(ctx, t6_model_prefill(model, 0, 3, prompt, logits));
    int nonfinite = 0;
    for (int i = 0; i < 41; i++) nonfinite += !isfinite(logits[i]);
    ck_assert_int_eq(nonfinite, 41);
    t6_model_destroy(model);
    t6t_remove_tree(dir);
    t6_context_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, tpa_prefill_and_decode_agree);
    tcase_add_test(tc, mha_prefill_and_decode_agree);
    tcase_add_test(tc, batched_decode_matches_single_steps);
    tcase_add_test(tc, a_step_is_one_timed_operation);
    tcase_add_test(tc, arguments_are_checked);
    tcase_add_test(tc, checkpoint_files_are_checked);
    tcase_add_test(tc, non_finite_weights_are_refused);
    tcase_add_test(tc, gemv_matches_the_reference);
    tcase_add_test(tc, projection_folds_the_norm);
    tcase_add_test(tc, a_decode_step_is_few_commands);
    tcase_add_test(tc, half_weights_take_half_the_bytes);
    tcase_add_test(tc, a_large_batch_matches_single_steps);
    if (T6I_HAVE_CLBLAST) tcase_add_test(tc, clblast_products_agree);
    tcase_add_test(tc, a_failed_gemv_check_names_the_fallback);
    suite_add_tcase(suite, tc);
    return t6t_run(suite);
}
