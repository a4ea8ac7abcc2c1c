/* model.c — the whole T6 model: creation, the forward pass of prefill and decode (TPA.md, "The whole T6
 * model"), and the public t6_model_* calls. Weights: model_weights.c; shapes: model_config.c; the steps around
 * attention: model_kernels.c. */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void release(cl_mem *buffer)
{
    if (*buffer) clReleaseMemObject(*buffer);
    *buffer = NULL;
}

void t6_model_destroy(t6_model *model)
{
    if (!model) return;
    for (int i = 0; model->layers && i < model->config.layers; i++) {
        t6i_model_layer *layer = &model->layers[i];
        t6_layer_destroy(layer->tpa);
        t6_cache_destroy(layer->cache);
        t6_kv_cache_destroy(layer->kv_cache);
        release(&layer->w_qkv);
        release(&layer->w_attn_proj);
        release(&layer->w_fc);
        release(&layer->w_mlp_proj);
    }
    free(model->layers);
    if (model->lm_head == model->wte) model->lm_head = NULL;
    cl_mem *buffers[] = {&model->wte,   &model->lm_head, &model->inv_freq, &model->x,   &model->normed,
                         &model->qkv,   &model->query,   &model->key,      &model->value, &model->attn,
                         &model->fc,    &model->act,     &model->logits};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) release(buffers[i]);
    free(model->row_meta_host);
    free(model->lengths);
    t6i_context_release(model->ctx);
    free(model);
}

/* The activation buffers, sized for max_rows rows. */
static t6_status create_activations(t6_model *model)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = model->ctx;
    const t6_model_config *c = &model->config;
    const size_t rows = (size_t)model->max_rows, C = (size_t)c->model_dim, F = (size_t)c->mlp_hidden;
    const size_t width = (size_t)c->heads * (size_t)c->head_dim;
    size_t query_row = width;
    if (c->attention == T6_MODEL_TPA) {
        t6_layer_config layer_config = {sizeof(t6_layer_config), c->model_dim, c->heads, c->head_dim, c->rank_q,
                                        c->rank_k, c->rank_v, c->rope_style, c->rope_base, c->weight_dtype};
        query_row = t6_query_row_size(&layer_config);
    } else {
        T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * 3 * width, &model->qkv));
        T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * width, &model->key));
        T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * width, &model->value));
        const int pairs = c->head_dim / 2;
        float inv_freq[64];
        for (int i = 0; i < pairs; i++) /* the kernels' angle rule (t6.h): inv_freq rounded once to fp32 */
            inv_freq[i] = (float)(1.0 / pow((double)c->rope_base, 2.0 * i / c->head_dim));
        T6I_TRY(t6_buffer_create(ctx, T6_F32, (size_t)pairs, &model->inv_freq));
        T6I_TRY(t6_buffer_upload(ctx, model->inv_freq, T6_F32, 0, (size_t)pairs, inv_freq));
    }
    T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * C, &model->x));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * C, &model->normed));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * query_row, &model->query));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * width, &model->attn));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * 2 * F, &model->fc));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, rows * F, &model->act));
    T6I_TRY(t6_buffer_create(ctx, T6_F32, (size_t)c->slots * (size_t)c->vocab_size, &model->logits));
    /* CLBlast reads its output even with beta = 0 (0·NaN is NaN): outputs must never hold garbage. */
    cl_mem outputs[] = {model->qkv, model->fc, model->logits};
    const float zero = 0.0f;
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        size_t bytes = 0;
        if (!outputs[i]) continue;
        T6I_CHECK_CL(ctx, clGetMemObjectInfo(outputs[i], CL_MEM_SIZE, sizeof bytes, &bytes, NULL),
                     "clGetMemObjectInfo(model activations)");
        T6I_CHECK_CL(ctx, clEnqueueFillBuffer(ctx->queue, outputs[i], &zero, sizeof zero, 0, bytes, 0, NULL, NULL),
                     "clEnqueueFillBuffer(model activations)");
        t6i_count_commands(ctx, 1);
    }
    T6I_ALLOC(ctx, model->row_meta_host, T6I_MODEL_META_SIZE(model->max_rows));
    T6I_ALLOC(ctx, model->lengths, model->max_rows);
cleanup:
    return status;
}

/* A model of a resolved, checked config, with weights from `st` or from `seed`. */
static t6_status create(t6_context *ctx, const t6_model_config *config, const t6i_safetensors *st, uint64_t seed,
                        t6_model **out)
{
    t6_status status = T6_SUCCESS;
    t6_model *model = NULL;
    T6I_ALLOC(ctx, model, 1);
    model->ctx = ctx;
    t6i_context_retain(ctx);
    model->config = *config;
    model->max_rows = config->slots > T6I_MODEL_PREFILL_ROWS ? config->slots : T6I_MODEL_PREFILL_ROWS;
    T6I_ALLOC(ctx, model->layers, config->layers);
    T6I_TRY(t6i_model_check_gemv(model));
    T6I_TRY(create_activations(model));
    T6I_TRY(st ? t6i_model_load_weights(model, st) : t6i_model_random_weights(model, seed));
    *out = model;
    model = NULL;
cleanup:
    t6_model_destroy(model);
    return status;
}

t6_status t6_model_create_from_file(t6_context *ctx, const char *path, const t6_model_config *config,
                                    t6_model **out)
{
    t6_status status = T6_SUCCESS;
    t6i_safetensors *st = NULL;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_model_create_from_file: ctx is NULL");
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, out, "t6_model_create_from_file: out is NULL");
    *out = NULL;
    T6I_REQUIRE(ctx, path, "t6_model_create_from_file: path is NULL");
    T6I_TRY(t6i_safetensors_open(ctx, path, &st));
    t6_model_config resolved;
    T6I_TRY(t6i_model_config_from_checkpoint(ctx, st, config, &resolved));
    T6I_TRY(create(ctx, &resolved, st, 0, out));
cleanup:
    t6i_safetensors_close(st);
    t6i_unlock(ctx);
    return status;
}

t6_status t6_model_create_random(t6_context *ctx, const t6_model_config *config, uint64_t seed, t6_model **out)
{
    t6_status status = T6_SUCCESS;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_model_create_random: ctx is NULL");
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, out, "t6_model_create_random: out is NULL");
    *out = NULL;
    T6I_REQUIRE(ctx, config, "t6_model_create_random: config is NULL");
    t6_model_config resolved;
    T6I_TRY(T6I_STRUCT_IN(ctx, t6_model_config, config, &resolved));
    if (resolved.mlp_hidden == 0) resolved.mlp_hidden = 8 * resolved.model_dim / 3;
    if (resolved.attention == T6_MODEL_MHA) resolved.rank_q = resolved.rank_k = resolved.rank_v = 0;
    T6I_TRY(t6i_model_check_config(ctx, &resolved, "t6_model_create_random"));
    T6I_TRY(create(ctx, &resolved, NULL, seed, out));
cleanup:
    t6i_unlock(ctx);
    return status;
}

t6_status t6_model_get_config(const t6_model *model, t6_model_config *config)
{
    if (!model || !config)
        return t6i_fail(model ? model->ctx : NULL, T6_ERROR_INVALID_ARGUMENT, "t6_model_get_config: NULL argument");
    return T6I_STRUCT_OUT(model->ctx, t6_model_config, config, &model->config);
}

static t6_status slot_length(const t6_model *model, int slot, int *length)
{
    const t6i_model_layer *first = &model->layers[0];
    return first->cache ? t6_cache_length(first->cache, slot, length)
                        : t6_kv_cache_length(first->kv_cache, slot, length);
}

/* rmsnorm(x) of `rows` rows into model->normed, as a kernel of its own. */
static t6_status normalize(t6_model *model, int rows)
{
    return t6i_model_rmsnorm(model, 0, rows, model->x, model->normed);
}

/* Attention of rmsnorm(x) for `rows` rows (their metadata already in row_meta) into model->attn. A prefill is
 * one sequence: slots[0] from positions[0] on. The norm folds into the product that reads x (the factor
 * projection, or MHA's q/k/v product) where that can take it. */
static t6_status attention(t6_model *model, t6i_model_layer *layer, int rows, const int *slots,
                           const int *positions, const int *lengths, bool prefill)
{
    t6_status status = T6_SUCCESS;
    const t6_model_config *c = &model->config;
    if (c->attention == T6_MODEL_TPA) {
        status = t6i_project_model(layer->tpa, layer->cache, rows, model->x, model->row_meta, slots, positions,
                                   model->query, c->norm_eps);
        if (status == T6_ERROR_UNSUPPORTED) {
            /* Many rows on a GPU take the projection's tiles kernel, which has no norm. */
            T6I_TRY(normalize(model, rows));
            T6I_TRY(t6i_project_model(layer->tpa, layer->cache, rows, model->normed, model->row_meta, slots,
                                      positions, model->query, 0.0f));
        }
        T6I_TRY(status);
        if (prefill)
            T6I_TRY(t6_attention_prefill(layer->cache, c->rank_q, 1, slots, positions, &rows, model->query, 0,
                                         model->attn, 0, NULL));
        else
            T6I_TRY(t6_attention_decode(layer->cache, c->rank_q, rows, slots, lengths, model->query, 0, model->attn,
                                        0, NULL));
    } else {
        const int width = c->heads * c->head_dim;
        const t6i_gemv_call qkv = {rows, c->model_dim, 3 * width, model->x, layer->w_qkv, model->qkv, 0, 0,
                                   c->weight_dtype, false, false, c->norm_eps};
        T6I_TRY(t6i_model_product(model, &qkv));
        T6I_TRY(t6i_model_split_rope(model, rows));
        T6I_TRY(t6_kv_cache_append(layer->kv_cache, rows, model->key, 0, model->value, 0, slots, positions));
        if (prefill)
            T6I_TRY(t6_mha_prefill(layer->kv_cache, c->heads, 1, slots, positions, &rows, model->query, 0,
                                   model->attn, 0, 0.0f));
        else
            T6I_TRY(t6_mha_decode(layer->kv_cache, c->heads, rows, slots, lengths, model->query, 0, model->attn, 0,
                                  0.0f));
    }
cleanup:
    return status;
}

/*
 * One pass of `rows` rows through every layer. Decode: row i is slot slots[i] at positions[i]. Prefill: every
 * row belongs to slots[0], at consecutive positions from positions[0]. When `logits_from` ≥ 0, rows
 * logits_from..rows−1 get logits (into rows 0.. of model->logits).
 */
static t6_status forward(t6_model *model, int rows, const int *slots, const int *tokens, const int *positions,
                         bool prefill, int logits_from)
{
    t6_status status = T6_SUCCESS;
    const t6_model_config *c = &model->config;
    const int C = c->model_dim, F = c->mlp_hidden, width = c->heads * c->head_dim;
    int *lengths = model->lengths;
    const t6_dtype dtype = c->weight_dtype;
    const float eps = c->norm_eps;
    for (int i = 0; i < rows; i++) lengths[i] = positions[i] + 1;
    T6I_TRY(t6i_model_upload_rows(model, rows, slots, tokens, positions));
    T6I_TRY(t6i_model_embed(model, rows));
    for (int i = 0; i < c->layers; i++) {
        t6i_model_layer *layer = &model->layers[i];
        /* A decode step's layer is five commands: the projection (with the norm), attention, then three
         * products with the residual adds, the second norm and SwiGLU folded in (t6i_model_product). */
        T6I_TRY(attention(model, layer, rows, slots, positions, lengths, prefill));
        const t6i_gemv_call attn_proj = {rows, width, C, model->attn, layer->w_attn_proj, model->x, 0, 0, dtype,
                                         true, false, 0.0f};
        const t6i_gemv_call fc = {rows, C, F, model->x, layer->w_fc, model->act, 0, 0, dtype, false, true, eps};
        const t6i_gemv_call mlp_proj = {rows, F, C, model->act, layer->w_mlp_proj, model->x, 0, 0, dtype, true,
                                        false, 0.0f};
        T6I_TRY(t6i_model_product(model, &attn_proj));
        T6I_TRY(t6i_model_product(model, &fc));
        T6I_TRY(t6i_model_product(model, &mlp_proj));
    }
    if (logits_from >= 0) {
        const t6i_gemv_call head = {rows - logits_from, C, c->vocab_size, model->x, model->lm_head, model->logits,
                                    (size_t)logits_from * (size_t)C, 0, dtype, false, false, eps};
        T6I_TRY(t6i_model_product(model, &head));
    }
cleanup:
    return status;
}

static t6_status check_tokens(const t6_model *model, int count, const int *tokens, const char *what)
{
    for (int i = 0; i < count; i++)
        if (tokens[i] < 0 || tokens[i] >= model->config.vocab_size)
            return t6i_fail(model->ctx, T6_ERROR_INVALID_ARGUMENT, "%s: token %d (entry %d) is outside 0..%d", what,
                            tokens[i], i, model->config.vocab_size - 1);
    return T6_SUCCESS;
}

/* The model's calls are one operation each for t6_context_last_op_time: the ops they make inside do not
 * start operations of their own. */
static void begin_operation(t6_context *ctx)
{
    t6i_op_begin(ctx);
    ctx->op_nesting++;
}

static void end_operation(t6_context *ctx) { ctx->op_nesting--; }

t6_status t6_model_prefill(t6_model *model, int slot, int count, const int *tokens, float *logits)
{
    static const char what[] = "t6_model_prefill";
    t6_status status = T6_SUCCESS;
    int *slots = NULL, *positions = NULL;
    if (!model) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: model is NULL", what);
    t6_context *ctx = model->ctx;
    t6i_lock(ctx);
    begin_operation(ctx);
    const t6_model_config *c = &model->config;
    T6I_REQUIRE(ctx, slot >= 0 && slot < c->slots, "%s: slot %d is outside 0..%d", what, slot, c->slots - 1);
    T6I_REQUIRE(ctx, count >= 1, "%s: count=%d must be ≥ 1", what, count);
    T6I_REQUIRE(ctx, tokens, "%s: tokens is NULL", what);
    T6I_TRY(check_tokens(model, count, tokens, what));
    int start = 0;
    T6I_TRY(slot_length(model, slot, &start));
    T6I_REQUIRE(ctx, count <= c->capacity - start, "%s: %d tokens after %d would pass the capacity %d", what, count,
                start, c->capacity);
    T6I_ALLOC(ctx, slots, model->max_rows);
    T6I_ALLOC(ctx, positions, model->max_rows);
    for (int i = 0; i < model->max_rows; i++) slots[i] = slot;
    for (int done = 0; done < count; done += model->max_rows) {
        int rows = count - done < model->max_rows ? count - done : model->max_rows;
        for (int i = 0; i < rows; i++) positions[i] = start + done + i;
        bool last = done + rows == count;
        T6I_TRY(forward(model, rows, slots, tokens + done, positions, true, last ? rows - 1 : -1));
    }
    if (logits)
        T6I_TRY(t6i_transfer(ctx, model->logits, T6_F32, 0, (size_t)c->vocab_size, logits, false, what));
cleanup:
    free(slots);
    free(positions);
    end_operation(ctx);
    t6i_unlock(ctx);
    return status;
}

t6_status t6_model_decode(t6_model *model, int batch, const int *slots, const int *tokens, float *logits)
{
    static const char what[] = "t6_model_decode";
    t6_status status = T6_SUCCESS;
    int *positions = NULL;
    if (!model) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "%s: model is NULL", what);
    t6_context *ctx = model->ctx;
    t6i_lock(ctx);
    begin_operation(ctx);
    const t6_model_config *c = &model->config;
    T6I_REQUIRE(ctx, batch >= 1 && batch <= c->slots, "%s: batch=%d must be 1..%d (the slots)", what, batch,
                c->slots);
    T6I_REQUIRE(ctx, slots && tokens, "%s: slots or tokens is NULL", what);
    T6I_TRY(check_tokens(model, batch, tokens, what));
    T6I_ALLOC(ctx, positions, batch);
    for (int i = 0; i < batch; i++) {
        T6I_REQUIRE(ctx, slots[i] >= 0 && slots[i] < c->slots, "%s: slots[%d]=%d is outside 0..%d", what, i,
                    slots[i], c->slots - 1);
        for (int j = 0; j < i; j++)
            T6I_REQUIRE(ctx, slots[j] != slots[i], "%s: slot %d appears twice in one step", what, slots[i]);
        T6I_TRY(slot_length(model, slots[i], &positions[i]));
        T6I_REQUIRE(ctx, positions[i] < c->capacity, "%s: slot %d is full (capacity %d)", what, slots[i],
                    c->capacity);
    }
    T6I_TRY(forward(model, batch, slots, tokens, positions, false, 0));
    if (logits)
        T6I_TRY(t6i_transfer(ctx, model->logits, T6_F32, 0, (size_t)batch * (size_t)c->vocab_size, logits, false,
                             what));
cleanup:
    free(positions);
    end_operation(ctx);
    t6i_unlock(ctx);
    return status;
}

t6_status t6_model_logits(const t6_model *model, cl_mem *buffer)
{
    if (!model || !buffer)
        return t6i_fail(model ? model->ctx : NULL, T6_ERROR_INVALID_ARGUMENT, "t6_model_logits: NULL argument");
    *buffer = model->logits;
    return T6_SUCCESS;
}

t6_status t6_model_length(const t6_model *model, int slot, int *length)
{
    if (!model || !length)
        return t6i_fail(model ? model->ctx : NULL, T6_ERROR_INVALID_ARGUMENT, "t6_model_length: NULL argument");
    if (slot < 0 || slot >= model->config.slots)
        return t6i_fail(model->ctx, T6_ERROR_INVALID_ARGUMENT, "t6_model_length: slot %d is outside 0..%d", slot,
                        model->config.slots - 1);
    return slot_length(model, slot, length);
}

t6_status t6_model_reset(t6_model *model, int slot)
{
    t6_status status = T6_SUCCESS;
    if (!model) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_model_reset: model is NULL");
    t6i_lock(model->ctx);
    T6I_REQUIRE(model->ctx, slot >= 0 && slot < model->config.slots, "t6_model_reset: slot %d is outside 0..%d",
                slot, model->config.slots - 1);
    for (int i = 0; i < model->config.layers; i++)
        T6I_TRY(model->layers[i].cache ? t6_cache_reset(model->layers[i].cache, slot)
                                       : t6_kv_cache_reset(model->layers[i].kv_cache, slot));
cleanup:
    t6i_unlock(model->ctx);
    return status;
}

t6_status t6_model_weight_bytes(const t6_model *model, size_t *bytes)
{
    if (!model || !bytes)
        return t6i_fail(model ? model->ctx : NULL, T6_ERROR_INVALID_ARGUMENT, "t6_model_weight_bytes: NULL argument");
    size_t total = model->weight_bytes;
    for (int i = 0; i < model->config.layers; i++) {
        const t6_layer *tpa = model->layers[i].tpa;
        if (!tpa) continue;
        const size_t elements = (size_t)tpa->rows_allocated * (size_t)tpa->ld;
        total += elements * t6_dtype_size(tpa->config.weight_dtype);
        if (tpa->weights_f32) total += elements * sizeof(float); /* made for CLBlast projections only */
    }
    *bytes = total;
    return T6_SUCCESS;
}

t6_status t6_model_layer_cache(t6_model *model, int layer, t6_cache **cache, t6_kv_cache **kv_cache)
{
    if (!model) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_model_layer_cache: model is NULL");
    if (layer < 0 || layer >= model->config.layers)
        return t6i_fail(model->ctx, T6_ERROR_INVALID_ARGUMENT, "t6_model_layer_cache: layer %d is outside 0..%d",
                        layer, model->config.layers - 1);
    if (cache) *cache = model->layers[layer].cache;
    if (kv_cache) *kv_cache = model->layers[layer].kv_cache;
    return T6_SUCCESS;
}
