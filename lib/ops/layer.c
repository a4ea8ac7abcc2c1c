/* layer.c — the layer object: one TPA attention layer's configuration, its six factor weights packed for the
 * projection kernels, and its RoPE frequencies.
 *
 * Packed layout (what kernels_cl/projection.cl and rope_scatter.cl read). The six matrices become one matrix
 * of output columns, stored one column per row ("W transposed", C contiguous), so that the fused kernels read
 * each weight row with wide coalesced loads and the CLBlast path is one SGEMM (X · Wᵀ):
 *   row 0 ..                     A_Q rows (h·Rq + r), then A_K, then A_V, as in the T6 layout
 *   one zero row                 if H·(Rq+Rk+Rv) is odd, so that every B block starts at an even row
 *   B_Q, B_K                     per rank r, D rows reordered so that RoPE partners are adjacent: packed
 *                                offsets 2i and 2i+1 of the block hold the pair of angle i (style `half`:
 *                                dimensions i and i+D/2; `interleaved`: 2i and 2i+1, the T6 order)
 *   B_V                          the T6 order
 * `columns` rows in all, padded with zero rows to a multiple of 128 (the tiled kernel's largest tile reads
 * whole tiles without bounds checks); each row holds C weights padded with zeros to a multiple of 32 (`ld`),
 * so every row starts aligned for 8-wide loads and K chunks of 8, 16 or 32 never leave it. Weights are stored
 * in config.weight_dtype; arithmetic is fp32.
 */
#include "ops/projection.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYER_ROW_ALIGN 128
#define LAYER_LD_ALIGN 32

enum { MATRIX_A_Q, MATRIX_A_K, MATRIX_A_V, MATRIX_B_Q, MATRIX_B_K, MATRIX_B_V };
static const char *const matrix_names[6] = {"W_A_q", "W_A_k", "W_A_v", "W_B_q", "W_B_k", "W_B_v"};

/* Where each T6 matrix goes: its row count and the packed row of its first row. */
typedef struct layout {
    int rows[6], first[6];
    int columns, rows_allocated, ld;
} layout;

static layout layer_layout(const t6_layer_config *c)
{
    layout l;
    const int ranks[3] = {c->rank_q, c->rank_k, c->rank_v};
    int next = 0;
    for (int f = 0; f < 3; f++) {
        l.rows[f] = c->heads * ranks[f];
        l.first[f] = next;
        next += l.rows[f];
    }
    next += next & 1;
    for (int f = 0; f < 3; f++) {
        l.rows[3 + f] = ranks[f] * c->head_dim;
        l.first[3 + f] = next;
        next += l.rows[3 + f];
    }
    l.columns = next;
    l.rows_allocated = (int)t6i_round_up((size_t)next, LAYER_ROW_ALIGN);
    l.ld = (int)t6i_round_up((size_t)c->model_dim, LAYER_LD_ALIGN);
    return l;
}

/* Dimension d of a RoPE'd B row → its packed offset inside the D-block (layer_pack.cl does the same). */
static int rope_offset(t6_rope_style style, int head_dim, int d)
{
    if (style != T6_ROPE_HALF) return d;
    return d < head_dim / 2 ? 2 * d : 2 * (d - head_dim / 2) + 1;
}

/* Reads the application's config into *c (t6.h, "Structs that grow") and checks it. */
static t6_status read_config(t6_context *ctx, const t6_layer_config *config, const char *what, t6_layer_config *c)
{
    t6_status status = T6_SUCCESS;
    T6I_REQUIRE(ctx, config, "%s: config is NULL", what);
    T6I_TRY(T6I_STRUCT_IN(ctx, t6_layer_config, config, c));
    T6I_REQUIRE(ctx, c->model_dim >= 1 && c->model_dim <= (1 << 20), "%s: model_dim=%d must be 1..%d", what,
                c->model_dim, 1 << 20);
    T6I_TRY(t6i_check_attention_shape(ctx, c->heads, c->head_dim, c->rank_q, c->rank_k, c->rank_v));
    T6I_REQUIRE(ctx, c->rope_style == T6_ROPE_HALF || c->rope_style == T6_ROPE_INTERLEAVED,
                "%s: rope_style %d is unknown", what, (int)c->rope_style);
    T6I_REQUIRE(ctx, c->rope_base > 1.0f && isfinite(c->rope_base), "%s: rope_base=%g must be finite and > 1",
                what, (double)c->rope_base);
    T6I_REQUIRE(ctx, t6i_dtype_valid(c->weight_dtype), "%s: weight_dtype %d is unknown", what,
                (int)c->weight_dtype);
    layout l = layer_layout(c);
    /* Kernels index the packed weights with 32-bit element offsets. */
    double elements = (double)l.rows_allocated * (double)l.ld;
    T6I_REQUIRE(ctx, elements < 4294967296.0, "%s: %d packed rows × %d is over 2^32 weights", what, l.rows_allocated,
                l.ld);
    size_t bytes = (size_t)elements * t6_dtype_size(c->weight_dtype);
    T6I_REQUIRE(ctx, bytes <= ctx->info.max_alloc_bytes,
                "%s: the packed weights need %zu bytes, over the device's largest allocation (%llu bytes)", what,
                bytes, ctx->info.max_alloc_bytes);
cleanup:
    return status;
}

size_t t6_query_row_size(const t6_layer_config *config)
{
    /* The checks of t6i_check_attention_shape, without recording a failure: this is a query, not a call. */
    if (!config || config->struct_size < sizeof *config || config->heads < 1 || config->heads > 4096) return 0;
    const int d = config->head_dim;
    if (d != 32 && d != 64 && d != 80 && d != 96 && d != 128) return 0;
    const int ranks[3] = {config->rank_q, config->rank_k, config->rank_v};
    for (int i = 0; i < 3; i++)
        if (ranks[i] < 1 || ranks[i] > 16) return 0;
    return (size_t)config->heads * (size_t)config->rank_q + (size_t)config->rank_q * (size_t)d;
}

/* A layer with its configuration, layout and RoPE frequencies, and a weight buffer not yet filled. */
static t6_status new_layer(t6_context *ctx, const t6_layer_config *config, t6_layer **out)
{
    t6_status status = T6_SUCCESS;
    t6_layer *layer = NULL;
    float *inv_freq = NULL;
    cl_int err = CL_SUCCESS;
    T6I_ALLOC(ctx, layer, 1);
    layer->ctx = ctx;
    t6i_context_retain(ctx);
    layer->config = *config;
    layout l = layer_layout(config);
    layer->columns = l.columns;
    layer->rows_allocated = l.rows_allocated;
    layer->ld = l.ld;

    /* t6_ref_rope's rule: each frequency computed in double and rounded once; the device multiplies it by
     * the position in fp32. pow on the device would differ between drivers. */
    const int half = config->head_dim / 2;
    T6I_ALLOC(ctx, inv_freq, half);
    for (int i = 0; i < half; i++)
        inv_freq[i] = (float)(1.0 / pow((double)config->rope_base, 2.0 * i / config->head_dim));
    layer->inv_freq = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                     (size_t)half * sizeof(float), inv_freq, &err);
    if (err != CL_SUCCESS) layer->inv_freq = NULL;
    T6I_CHECK_CL(ctx, err, "clCreateBuffer(layer frequencies)");

    size_t bytes = (size_t)l.rows_allocated * (size_t)l.ld * t6_dtype_size(config->weight_dtype);
    layer->weights = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY, bytes, NULL, &err);
    if (err != CL_SUCCESS) layer->weights = NULL;
    T6I_CHECK_CL(ctx, err, "clCreateBuffer(layer weights)");
    *out = layer;
    layer = NULL;
cleanup:
    t6_layer_destroy(layer);
    free(inv_freq);
    return status;
}

t6_status t6_layer_create(t6_context *ctx, const t6_layer_config *config, const t6_layer_weights *weights,
                          t6_layer **out)
{
    t6_status status = T6_SUCCESS;
    t6_layer *layer = NULL;
    float *packed = NULL;
    void *stored = NULL;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_layer_create: ctx is NULL");
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, out, "t6_layer_create: out is NULL");
    *out = NULL;
    t6_layer_config checked;
    T6I_TRY(read_config(ctx, config, "t6_layer_create", &checked));
    config = &checked;
    T6I_REQUIRE(ctx, weights, "t6_layer_create: weights is NULL");
    const float *const sources[6] = {weights->w_a_q, weights->w_a_k, weights->w_a_v,
                                     weights->w_b_q, weights->w_b_k, weights->w_b_v};
    for (int f = 0; f < 6; f++)
        T6I_REQUIRE(ctx, sources[f], "t6_layer_create: weights->%s is NULL", matrix_names[f]);
    T6I_TRY(new_layer(ctx, config, &layer));

    layout l = layer_layout(config);
    const size_t ld = (size_t)l.ld, count = (size_t)l.rows_allocated * ld;
    T6I_ALLOC(ctx, packed, count);
    for (int f = 0; f < 6; f++) {
        const bool rope = f == MATRIX_B_Q || f == MATRIX_B_K;
        for (int i = 0; i < l.rows[f]; i++) {
            const int d = i % config->head_dim;
            const int row = rope ? i - d + rope_offset(config->rope_style, config->head_dim, d) : i;
            memcpy(packed + (size_t)(l.first[f] + row) * ld, sources[f] + (size_t)i * (size_t)config->model_dim,
                   (size_t)config->model_dim * sizeof(float));
        }
    }
    const size_t element = t6_dtype_size(config->weight_dtype);
    stored = malloc(count * element);
    if (!stored) {
        status = t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (packed weights)");
        goto cleanup;
    }
    t6i_pack(config->weight_dtype, packed, stored, count);
    T6I_CHECK_CL(ctx, clEnqueueWriteBuffer(ctx->queue, layer->weights, CL_TRUE, 0, count * element, stored, 0, NULL, NULL),
                 "clEnqueueWriteBuffer(layer weights)");
    t6i_count_commands(ctx, 1);
    *out = layer;
    layer = NULL;
cleanup:
    t6_layer_destroy(layer);
    free(packed);
    free(stored);
    t6i_unlock(ctx);
    return status;
}

t6_status t6_layer_create_from_buffers(t6_context *ctx, const t6_layer_config *config, const cl_mem weights[6],
                                       t6_layer **out)
{
    static const char what[] = "t6_layer_create_from_buffers";
    t6_status status = T6_SUCCESS;
    t6_layer *layer = NULL;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", what);
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, out, "%s: out is NULL", what);
    *out = NULL;
    t6_layer_config checked;
    T6I_TRY(read_config(ctx, config, what, &checked));
    config = &checked;
    T6I_REQUIRE(ctx, weights, "%s: weights is NULL", what);
    layout l = layer_layout(config);
    for (int f = 0; f < 6; f++) {
        char name[64];
        snprintf(name, sizeof name, "%s: weights[%d] (%s)", what, f, matrix_names[f]);
        T6I_TRY(t6i_check_buffer(ctx, weights[f], config->weight_dtype, 0,
                                 (size_t)l.rows[f] * (size_t)config->model_dim, name));
    }
    T6I_TRY(new_layer(ctx, config, &layer));

    /* Zero first: the padding rows and columns must read as zeros. */
    const cl_uint zero = 0;
    const size_t bytes = (size_t)l.rows_allocated * (size_t)l.ld * t6_dtype_size(config->weight_dtype);
    T6I_CHECK_CL(ctx, clEnqueueFillBuffer(ctx->queue, layer->weights, &zero, sizeof zero, 0, bytes, 0, NULL, NULL),
                 "clEnqueueFillBuffer(layer weights)");
    t6i_count_commands(ctx, 1);
    char options[160] = "";
    t6i_define(options, sizeof options, "T6_WEIGHT_DTYPE", config->weight_dtype);
    t6i_define(options, sizeof options, "T6_HEAD_DIM", config->head_dim);
    t6i_define(options, sizeof options, "T6_ROPE_STYLE", config->rope_style);
    cl_kernel kernel = NULL;
    T6I_TRY(t6i_get_kernel(ctx, "layer_pack", options, "t6_layer_pack", &kernel));
    for (int f = 0; f < 6; f++) {
        const bool rope = f == MATRIX_B_Q || f == MATRIX_B_K;
        t6i_arg args[] = {T6I_ARG_MEM(weights[f]), T6I_ARG_UINT(l.rows[f]), T6I_ARG_UINT(config->model_dim),
                          T6I_ARG_MEM(layer->weights), T6I_ARG_UINT(l.ld), T6I_ARG_UINT(l.first[f]),
                          T6I_ARG_UINT(rope)};
        T6I_TRY(t6i_set_args(ctx, kernel, "t6_layer_pack", args, 7));
        const size_t local[2] = {64, 1};
        const size_t global[2] = {t6i_round_up((size_t)config->model_dim, 64), (size_t)l.rows[f]};
        /* Not an operation: no event, so that t6_context_last_op_time keeps the last projection's time. */
        T6I_CHECK_CL(ctx, clEnqueueNDRangeKernel(ctx->queue, kernel, 2, NULL, global, local, 0, NULL, NULL),
                     "clEnqueueNDRangeKernel(t6_layer_pack)");
        t6i_count_commands(ctx, 1);
    }
    /* The caller may release its buffers as soon as this returns. */
    T6I_CHECK_CL(ctx, clFinish(ctx->queue), "clFinish(layer weights)");
    *out = layer;
    layer = NULL;
cleanup:
    t6_layer_destroy(layer);
    t6i_unlock(ctx);
    return status;
}

void t6_layer_destroy(t6_layer *layer)
{
    if (!layer) return;
    if (layer->weights) clReleaseMemObject(layer->weights);
    if (layer->weights_f32) clReleaseMemObject(layer->weights_f32);
    if (layer->inv_freq) clReleaseMemObject(layer->inv_freq);
    t6i_context_release(layer->ctx);
    free(layer);
}

t6_status t6_layer_get_config(const t6_layer *layer, t6_layer_config *config)
{
    if (!layer || !config)
        return t6i_fail(layer ? layer->ctx : NULL, T6_ERROR_INVALID_ARGUMENT, "t6_layer_get_config: NULL argument");
    return T6I_STRUCT_OUT(layer->ctx, t6_layer_config, config, &layer->config);
}

void t6i_layer_shape_options(const t6_layer *layer, t6_dtype cache_dtype, char *buf, size_t cap)
{
    const t6_layer_config *c = &layer->config;
    t6i_define(buf, cap, "T6_MODEL_DIM", c->model_dim);
    t6i_define(buf, cap, "T6_WEIGHT_LD", layer->ld);
    t6i_define(buf, cap, "T6_HEADS", c->heads);
    t6i_define(buf, cap, "T6_HEAD_DIM", c->head_dim);
    t6i_define(buf, cap, "T6_RANK_Q", c->rank_q);
    t6i_define(buf, cap, "T6_RANK_K", c->rank_k);
    t6i_define(buf, cap, "T6_RANK_V", c->rank_v);
    t6i_define(buf, cap, "T6_WEIGHT_DTYPE", c->weight_dtype);
    t6i_define(buf, cap, "T6_CACHE_DTYPE", cache_dtype);
    t6i_define(buf, cap, "T6_ROPE_STYLE", c->rope_style);
}

t6_status t6i_layer_weights_f32(t6_layer *layer, cl_mem *out)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = layer->ctx;
    cl_mem copy = NULL;
    cl_int err = CL_SUCCESS;
    if (layer->config.weight_dtype == T6_F32 || layer->weights_f32) {
        *out = layer->config.weight_dtype == T6_F32 ? layer->weights : layer->weights_f32;
        return T6_SUCCESS;
    }
    const size_t count = (size_t)layer->rows_allocated * (size_t)layer->ld;
    copy = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, count * sizeof(float), NULL, &err);
    if (err != CL_SUCCESS) copy = NULL;
    T6I_CHECK_CL(ctx, err, "clCreateBuffer(fp32 weights for CLBlast)");
    char options[96] = "";
    t6i_define(options, sizeof options, "T6_SRC_DTYPE", layer->config.weight_dtype);
    t6i_define(options, sizeof options, "T6_DST_DTYPE", T6_F32);
    cl_kernel kernel = NULL;
    T6I_TRY(t6i_get_kernel(ctx, "convert", options, "t6_convert", &kernel));
    t6i_arg args[] = {T6I_ARG_MEM(layer->weights), T6I_ARG_UINT(0), T6I_ARG_MEM(copy), T6I_ARG_UINT(0),
                      T6I_ARG_UINT(count)};
    T6I_TRY(t6i_set_args(ctx, kernel, "t6_convert", args, 5));
    size_t global = t6i_round_up(count < ((size_t)1 << 20) ? count : ((size_t)1 << 20), 64), local = 64;
    /* Made once per layer: no event, so that it is not timed as part of the first CLBlast projection. */
    T6I_CHECK_CL(ctx, clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, &local, 0, NULL, NULL),
                 "clEnqueueNDRangeKernel(t6_convert)");
    t6i_count_commands(ctx, 1);
    layer->weights_f32 = copy;
    copy = NULL;
    *out = layer->weights_f32;
cleanup:
    if (copy) clReleaseMemObject(copy);
    return status;
}
