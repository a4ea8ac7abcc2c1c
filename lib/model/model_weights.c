/* model_weights.c — the model's weights on the device, from a checkpoint or random: dense matrices stored in
 * the weight dtype itself (t6_model_gemv reads fp16 and bf16 as such: half the bytes of fp32 per step),
 * attention through t6 layers (which store theirs the same way) and caches. */
#include "model/model.h"
#include "runtime/numerics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where weights come from: a checkpoint already checked by t6i_model_config_from_checkpoint, or random. */
typedef struct weight_source {
    const t6i_safetensors *st;
    uint64_t seed;
} weight_source;

/* Uniform in ±√(3/fan_in): variance 1/fan_in, so every product keeps activations of order one. The stream
 * of a tensor depends on the seed and its name only, so a shape change elsewhere leaves it unchanged. */
static void fill_random(uint64_t seed, const char *name, size_t rows, size_t cols, float *out)
{
    t6i_rng rng = {t6i_hash64(name, strlen(name), seed) | 1u};
    t6i_fill_uniform(&rng, out, rows * cols, sqrt(3.0 / (double)cols));
}

/* A NaN or an infinity in one weight makes every logit NaN, silently (argmax then picks token 0): a checkpoint's
 * tensor is refused unless the application asked for it as it is. A finite value that rounds to infinity in the
 * weight dtype (70000 as fp16) is refused too. */
static t6_status check_finite(const t6_model *model, const weight_source *source, const char *name, size_t cols,
                              const float *values, size_t count, bool rounded)
{
    if (model->config.allow_nonfinite_weights) return T6_SUCCESS;
    for (size_t i = 0; i < count; i++) {
        if (isfinite(values[i])) continue;
        if (rounded)
            return t6i_fail(model->ctx, T6_ERROR_FORMAT, "%s: tensor '%s' at row %zu, column %zu overflows %s "
                            "(weight_dtype); refused (allow_nonfinite_weights loads it anyway)", source->st->label,
                            name, i / cols, i % cols, t6_dtype_name(model->config.weight_dtype));
        return t6i_fail(model->ctx, T6_ERROR_FORMAT, "%s: tensor '%s' holds %s at row %zu, column %zu; refused "
                        "(allow_nonfinite_weights loads it anyway)", source->st->label, name,
                        isnan(values[i]) ? "NaN" : values[i] > 0 ? "+Inf" : "-Inf", i / cols, i % cols);
    }
    return T6_SUCCESS;
}

/* rows × cols floats of tensor `name` into `out`, rounded to the model's weight dtype. */
static t6_status fetch(t6_model *model, const weight_source *source, const char *name, size_t rows, size_t cols,
                       float *out)
{
    t6_status status = T6_SUCCESS;
    if (source->st) {
        const t6i_st_tensor *tensor = t6i_safetensors_find(source->st, name);
        if (!tensor || tensor->elements != rows * cols)
            return t6i_fail(model->ctx, T6_ERROR_FORMAT, "%s: tensor '%s' is missing or of the wrong size",
                            source->st->label, name);
        T6I_TRY(t6i_safetensors_read(model->ctx, source->st, tensor, out));
        T6I_TRY(check_finite(model, source, name, cols, out, rows * cols, false));
    } else {
        fill_random(source->seed, name, rows, cols, out);
    }
    for (size_t i = 0; i < rows * cols; i++) out[i] = t6_round_to_dtype(model->config.weight_dtype, out[i]);
    if (source->st) T6I_TRY(check_finite(model, source, name, cols, out, rows * cols, true));
cleanup:
    return status;
}

/* A dense weight buffer of `rows` × cols in the weight dtype, made of the listed tensors stacked by rows (each
 * parts_rows[i] rows), through `staging` (room for the largest part). */
static t6_status dense(t6_model *model, const weight_source *source, int parts, const char *const *names,
                       const size_t *part_rows, size_t cols, float *staging, cl_mem *out)
{
    t6_status status = T6_SUCCESS;
    size_t rows = 0;
    for (int p = 0; p < parts; p++) rows += part_rows[p];
    const t6_dtype dtype = model->config.weight_dtype;
    T6I_TRY(t6_buffer_create(model->ctx, dtype, rows * cols, out));
    model->weight_bytes += rows * cols * t6_dtype_size(dtype);
    size_t at = 0;
    for (int p = 0; p < parts; p++) {
        /* fetch rounded every value to the dtype already: storing it is exact. */
        T6I_TRY(fetch(model, source, names[p], part_rows[p], cols, staging));
        T6I_TRY(t6_buffer_upload(model->ctx, *out, dtype, at, part_rows[p] * cols, staging));
        at += part_rows[p] * cols;
    }
cleanup:
    return status;
}

static t6_status tpa_attention(t6_model *model, const weight_source *source, int layer)
{
    t6_status status = T6_SUCCESS;
    const t6_model_config *c = &model->config;
    static const char *const factors[6] = {"W_A_q", "W_A_k", "W_A_v", "W_B_q", "W_B_k", "W_B_v"};
    const int ranks[3] = {c->rank_q, c->rank_k, c->rank_v};
    float *w[6] = {NULL};
    for (int f = 0; f < 6; f++) {
        char suffix[64], name[128];
        snprintf(suffix, sizeof suffix, "attn.c_qkv.%s.weight", factors[f]);
        size_t rows = (size_t)(f < 3 ? c->heads : c->head_dim) * (size_t)ranks[f % 3];
        T6I_ALLOC(model->ctx, w[f], rows * (size_t)c->model_dim);
        T6I_TRY(fetch(model, source, t6i_model_tensor_name(name, sizeof name, layer, suffix), rows,
                      (size_t)c->model_dim, w[f]));
    }
    t6_layer_config layer_config = {sizeof(t6_layer_config), c->model_dim, c->heads, c->head_dim, c->rank_q, c->rank_k,
                                    c->rank_v, c->rope_style, c->rope_base, c->weight_dtype};
    t6_layer_weights weights = {w[0], w[1], w[2], w[3], w[4], w[5]};
    T6I_TRY(t6_layer_create(model->ctx, &layer_config, &weights, &model->layers[layer].tpa));
    t6_cache_config cache_config = {sizeof(t6_cache_config), c->heads, c->head_dim, c->rank_k, c->rank_v, c->slots,
                                    c->capacity, c->cache_dtype};
    T6I_TRY(t6_cache_create(model->ctx, &cache_config, &model->layers[layer].cache));
cleanup:
    for (int f = 0; f < 6; f++) free(w[f]);
    return status;
}

static t6_status mha_attention(t6_model *model, const weight_source *source, int layer, float *staging)
{
    t6_status status = T6_SUCCESS;
    const t6_model_config *c = &model->config;
    char names[3][128];
    const char *const parts[3] = {t6i_model_tensor_name(names[0], sizeof names[0], layer, "attn.c_q.weight"),
                                  t6i_model_tensor_name(names[1], sizeof names[1], layer, "attn.c_k.weight"),
                                  t6i_model_tensor_name(names[2], sizeof names[2], layer, "attn.c_v.weight")};
    const size_t width = (size_t)c->heads * (size_t)c->head_dim, rows[3] = {width, width, width};
    T6I_TRY(dense(model, source, 3, parts, rows, (size_t)c->model_dim, staging, &model->layers[layer].w_qkv));
    t6_kv_cache_config kv_config = {sizeof(t6_kv_cache_config), c->heads, c->head_dim, c->slots, c->capacity,
                                    c->cache_dtype};
    T6I_TRY(t6_kv_cache_create(model->ctx, &kv_config, &model->layers[layer].kv_cache));
cleanup:
    return status;
}

static t6_status load(t6_model *model, const weight_source *source)
{
    t6_status status = T6_SUCCESS;
    const t6_model_config *c = &model->config;
    const size_t C = (size_t)c->model_dim, F = (size_t)c->mlp_hidden, V = (size_t)c->vocab_size;
    const size_t width = (size_t)c->heads * (size_t)c->head_dim;
    float *staging = NULL;
    size_t largest = V * C;
    if (F * C > largest) largest = F * C;
    if (width * C > largest) largest = width * C;
    T6I_ALLOC(model->ctx, staging, largest);

    const char *wte_name = "transformer.wte.weight";
    T6I_TRY(dense(model, source, 1, &wte_name, &V, C, staging, &model->wte));
    if (source->st && t6i_safetensors_find(source->st, "lm_head.weight")) {
        const char *head_name = "lm_head.weight";
        T6I_TRY(dense(model, source, 1, &head_name, &V, C, staging, &model->lm_head));
    } else {
        model->lm_head = model->wte; /* tied, as in T6.py */
    }
    for (int i = 0; i < c->layers; i++) {
        t6i_model_layer *layer = &model->layers[i];
        T6I_TRY(c->attention == T6_MODEL_TPA ? tpa_attention(model, source, i)
                                             : mha_attention(model, source, i, staging));
        char names[3][128];
        const char *proj = t6i_model_tensor_name(names[0], sizeof names[0], i, "attn.c_proj.weight");
        T6I_TRY(dense(model, source, 1, &proj, &C, width, staging, &layer->w_attn_proj));
        const char *const fc[2] = {t6i_model_tensor_name(names[1], sizeof names[1], i, "mlp.c_fc1.weight"),
                                   t6i_model_tensor_name(names[2], sizeof names[2], i, "mlp.c_fc2.weight")};
        const size_t fc_rows[2] = {F, F};
        T6I_TRY(dense(model, source, 2, fc, fc_rows, C, staging, &layer->w_fc));
        const char *mlp_proj = t6i_model_tensor_name(names[0], sizeof names[0], i, "mlp.c_proj.weight");
        T6I_TRY(dense(model, source, 1, &mlp_proj, &C, F, staging, &layer->w_mlp_proj));
    }
cleanup:
    free(staging);
    return status;
}

t6_status t6i_model_load_weights(t6_model *model, const t6i_safetensors *st)
{
    weight_source source = {st, 0};
    return load(model, &source);
}

t6_status t6i_model_random_weights(t6_model *model, uint64_t seed)
{
    weight_source source = {NULL, seed};
    return load(model, &source);
}
