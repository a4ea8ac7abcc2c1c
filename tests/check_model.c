/* check_model.c — the whole-model API on the test device: argument checks, prefill against token-by-token
 * decode, batched against single decode, reset, MHA, and one timed operation per step; and the decode step's
 * GEMV kernel (which the model uses on GPUs only) against a double-precision product on any device. The
 * model's numbers themselves are checked end to end against a float64 numpy model by tests/run_model_e2e.py
 * (CTest model_e2e). */
#include "model.h"
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
    double error = t6t_relative_error(a, ref, n);
    free(ref);
    return error;
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

/* t6i_gemv against a double-precision product: rows 1..8, row lengths that take each load width (4, 2, 1),
 * outputs that leave a group partly empty, offsets into both buffers, with and without accumulation. */
START_TEST(gemv_matches_the_reference)
{
    t6_context *ctx = t6t_context();
    t6t_rng rng = t6t_rng_make(41);
    const struct {
        int rows, k, n, in_offset, out_offset, accumulate;
    } cases[] = {{1, 1024, 1000, 0, 0, 0}, {1, 3008, 37, 0, 5, 1}, {3, 50, 61, 2, 0, 1},
                 {8, 133, 9, 1, 3, 0},     {5, 2730, 17, 0, 0, 1}, {2, 7, 1, 3, 1, 0}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int rows = cases[t].rows, k = cases[t].k, n = cases[t].n;
        const size_t in_offset = (size_t)cases[t].in_offset, out_offset = (size_t)cases[t].out_offset;
        const size_t in_count = in_offset + (size_t)rows * k, out_count = out_offset + (size_t)rows * n;
        float *x = malloc(in_count * sizeof *x), *w = malloc((size_t)n * k * sizeof *w);
        float *y0 = malloc(out_count * sizeof *y0), *y = malloc(out_count * sizeof *y);
        t6t_fill_normal(&rng, x, in_count, 1.0);
        t6t_fill_normal(&rng, w, (size_t)n * k, 1.0);
        t6t_fill_normal(&rng, y0, out_count, 1.0);
        cl_mem in = NULL, weight = NULL, out = NULL;
        T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, in_count, &in));
        T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, (size_t)n * k, &weight));
        T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, out_count, &out));
        T6T_OK(ctx, t6_buffer_upload(ctx, in, T6_F32, 0, in_count, x));
        T6T_OK(ctx, t6_buffer_upload(ctx, weight, T6_F32, 0, (size_t)n * k, w));
        T6T_OK(ctx, t6_buffer_upload(ctx, out, T6_F32, 0, out_count, y0));
        bool used = false;
        T6T_OK(ctx, t6i_gemv(ctx, rows, in, in_offset, k, weight, n, out, out_offset, cases[t].accumulate, &used));
        ck_assert_msg(used, "the test device cannot run t6_model_gemv's work-group");
        T6T_OK(ctx, t6_buffer_download(ctx, out, T6_F32, 0, out_count, y));
        double *ref = malloc((size_t)rows * n * sizeof *ref);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) {
                double sum = cases[t].accumulate ? y0[out_offset + (size_t)r * n + j] : 0.0;
                for (int i = 0; i < k; i++) sum += (double)x[in_offset + (size_t)r * k + i] * w[(size_t)j * k + i];
                ref[(size_t)r * n + j] = sum;
            }
        char what[96];
        snprintf(what, sizeof what, "gemv rows=%d k=%d n=%d", rows, k, n);
        T6T_CLOSE(y + out_offset, ref, (size_t)rows * n, 1e-5, what);
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
    bool used = true;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6i_gemv(ctx, T6I_GEMV_ROWS + 1, NULL, 0, 4, NULL, 4, NULL, 0, false,
                                                        &used));
    ck_assert(!used);
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
    t6t_rng rng = t6t_rng_make(77);
    for (int i = 0; i < n; i++) {
        const size_t count = (size_t)tensors[i].rows * (size_t)tensors[i].cols;
        float *values = malloc(count * sizeof *values);
        ck_assert_ptr_nonnull(values);
        t6t_fill_normal(&rng, values, count, 1.0 / sqrt((double)tensors[i].cols));
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
    suite_add_tcase(suite, tc);
    return t6t_run(suite);
}
