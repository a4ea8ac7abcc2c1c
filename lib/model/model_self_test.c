/* model_self_test.c — the self-test of kernels_cl/model.cl (t6_context_self_test): embedding gather, RMSNorm,
 * SwiGLU and the MHA baseline's RoPE split, each once on a tiny random model against the double-precision
 * formulas of TPA.md ("The whole T6 model"; t6_ref_rope for the rotation). */
#include "model/model.h"
#include "runtime/numerics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { VOCAB = 13, WIDTH = 40, HIDDEN = 106, HEADS = 2, HEAD_DIM = 32, ROWS = 3 };

static t6_status compare(t6_context *ctx, const char *what, const float *got, const double *expected, size_t n)
{
    double error = t6i_relative_error(got, expected, n);
    if (error <= 1e-5) return T6_SUCCESS;
    return t6i_fail(ctx, T6_ERROR_WRONG_RESULT, "self-test model %s: relative error %g > 1e-5", what, error);
}

t6_status t6i_self_test_model(t6_context *ctx)
{
    t6_status status = T6_SUCCESS;
    t6_model *model = NULL;
    float *host = NULL, *out = NULL;
    double *expected = NULL;
    t6i_rng rng = t6i_rng_make(7, 0); /* a fixed seed: the self-test must be repeatable */
    t6_model_config config;
    t6_model_config_init(&config);
    config.attention = T6_MODEL_MHA;
    config.vocab_size = VOCAB;
    config.model_dim = WIDTH;
    config.layers = 1;
    config.heads = HEADS;
    config.head_dim = HEAD_DIM;
    config.mlp_hidden = HIDDEN;
    config.capacity = 8;
    T6I_TRY(t6_model_create_random(ctx, &config, 1, &model));
    const size_t qkv_row = 3 * HEADS * HEAD_DIM;
    const size_t largest = (size_t)ROWS * (qkv_row > 2 * HIDDEN ? qkv_row : 2 * HIDDEN);
    T6I_ALLOC(ctx, host, (size_t)VOCAB * WIDTH > largest ? (size_t)VOCAB * WIDTH : largest);
    T6I_ALLOC(ctx, out, largest);
    T6I_ALLOC(ctx, expected, largest);
    const int slots[ROWS] = {0, 0, 0}, tokens[ROWS] = {12, 0, 5}, positions[ROWS] = {0, 3, 1000};
    T6I_TRY(t6i_model_upload_rows(model, ROWS, slots, tokens, positions));

    /* Embedding: rows of wte, exactly. */
    T6I_TRY(t6i_model_embed(model, ROWS));
    T6I_TRY(t6i_transfer(ctx, model->wte, T6_F32, 0, (size_t)VOCAB * WIDTH, host, false, "self-test model"));
    T6I_TRY(t6i_transfer(ctx, model->x, T6_F32, 0, (size_t)ROWS * WIDTH, out, false, "self-test model"));
    for (int r = 0; r < ROWS; r++)
        if (memcmp(out + r * WIDTH, host + tokens[r] * WIDTH, WIDTH * sizeof(float)) != 0) {
            status = t6i_fail(ctx, T6_ERROR_WRONG_RESULT, "self-test model embed: row %d is not wte[%d]", r, tokens[r]);
            goto cleanup;
        }

    /* RMSNorm: x / sqrt(mean(x²) + ε). */
    t6i_fill_uniform(&rng, host, (size_t)ROWS * WIDTH, 3.0);
    T6I_TRY(t6i_transfer(ctx, model->x, T6_F32, 0, (size_t)ROWS * WIDTH, host, true, "self-test model"));
    T6I_TRY(t6i_model_rmsnorm(model, 0, ROWS, model->x, model->normed));
    T6I_TRY(t6i_transfer(ctx, model->normed, T6_F32, 0, (size_t)ROWS * WIDTH, out, false, "self-test model"));
    for (int r = 0; r < ROWS; r++) {
        double sum = 0.0;
        for (int c = 0; c < WIDTH; c++) sum += (double)host[r * WIDTH + c] * host[r * WIDTH + c];
        double scale = 1.0 / sqrt(sum / WIDTH + (double)config.norm_eps);
        for (int c = 0; c < WIDTH; c++) expected[r * WIDTH + c] = host[r * WIDTH + c] * scale;
    }
    T6I_TRY(compare(ctx, "rmsnorm", out, expected, (size_t)ROWS * WIDTH));

    /* SwiGLU: silu(a)·b with a, b the two halves of each fc row. */
    t6i_fill_uniform(&rng, host, (size_t)ROWS * 2 * HIDDEN, 4.0);
    T6I_TRY(t6i_transfer(ctx, model->fc, T6_F32, 0, (size_t)ROWS * 2 * HIDDEN, host, true, "self-test model"));
    T6I_TRY(t6i_model_swiglu(model, ROWS));
    T6I_TRY(t6i_transfer(ctx, model->act, T6_F32, 0, (size_t)ROWS * HIDDEN, out, false, "self-test model"));
    for (int r = 0; r < ROWS; r++)
        for (int j = 0; j < HIDDEN; j++) {
            double a = host[r * 2 * HIDDEN + j], b = host[r * 2 * HIDDEN + HIDDEN + j];
            expected[r * HIDDEN + j] = a / (1.0 + exp(-a)) * b;
        }
    T6I_TRY(compare(ctx, "swiglu", out, expected, (size_t)ROWS * HIDDEN));

    /* The MHA split: q and k rotated at each row's position (TPA.md's rule, t6_ref_rope), v copied. */
    t6i_fill_uniform(&rng, host, (size_t)ROWS * qkv_row, 1.0);
    T6I_TRY(t6i_transfer(ctx, model->qkv, T6_F32, 0, (size_t)ROWS * qkv_row, host, true, "self-test model"));
    T6I_TRY(t6i_model_split_rope(model, ROWS));
    const size_t width = HEADS * HEAD_DIM;
    cl_mem parts[3] = {model->query, model->key, model->value};
    static const char *const names[3] = {"rope q", "rope k", "split v"};
    for (int part = 0; part < 3; part++) {
        T6I_TRY(t6i_transfer(ctx, parts[part], T6_F32, 0, ROWS * width, out, false, "self-test model"));
        for (int r = 0; r < ROWS; r++)
            for (int h = 0; h < HEADS; h++) {
                double *vec = expected + r * width + h * HEAD_DIM;
                for (int d = 0; d < HEAD_DIM; d++) vec[d] = host[r * qkv_row + part * width + h * HEAD_DIM + d];
                if (part < 2) T6I_TRY(t6_ref_rope(T6_ROPE_HALF, config.rope_base, HEAD_DIM, positions[r], vec));
            }
        T6I_TRY(compare(ctx, names[part], out, expected, ROWS * width));
    }
    t6i_log(T6_LOG_INFO, "self-test model: embed, rmsnorm, swiglu and the MHA RoPE split match");
cleanup:
    t6_model_destroy(model);
    free(host);
    free(out);
    free(expected);
    return status;
}
