/* model_config.c — the model's configuration: defaults, validation, bytes per cached token, and resolving it
 * against a checkpoint's tensor shapes (TPA.md "Weights" and "The whole T6 model"). Host-only. */
#include "model/model.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

t6_status t6i_model_check_config(const t6_context *ctx, const t6_model_config *c, const char *what)
{
    if (!c) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: config is NULL", what);
    if (c->attention != T6_MODEL_TPA && c->attention != T6_MODEL_MHA)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: attention kind %d is unknown", what, (int)c->attention);
    if (c->vocab_size < 1 || c->model_dim < 1 || c->layers < 1 || c->mlp_hidden < 1)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT,
                        "%s: vocab_size=%d, model_dim=%d, layers=%d and mlp_hidden=%d must all be ≥ 1", what,
                        c->vocab_size, c->model_dim, c->layers, c->mlp_hidden);
    bool tpa = c->attention == T6_MODEL_TPA;
    t6_status status = t6i_check_attention_shape(ctx, c->heads, c->head_dim, tpa ? c->rank_q : 1,
                                                 tpa ? c->rank_k : 1, tpa ? c->rank_v : 1);
    if (status != T6_SUCCESS) {
        char detail[T6I_ERROR_TEXT]; /* the last error is also the destination of the new one */
        snprintf(detail, sizeof detail, "%s", t6_context_last_error(ctx));
        return t6i_fail(ctx, status, "%s: %s", what, detail);
    }
    /* Kernels index weights and activations with 32-bit element offsets. */
    double widest = fmax((double)c->vocab_size, fmax(3.0 * c->heads * c->head_dim, 2.0 * c->mlp_hidden));
    if (widest * (double)c->model_dim >= 4294967296.0)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: a weight matrix would exceed 2^32 elements", what);
    if (c->rope_style != T6_ROPE_HALF && c->rope_style != T6_ROPE_INTERLEAVED)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: rope_style %d is unknown", what, (int)c->rope_style);
    if (!(c->rope_base > 1.0f) || !isfinite(c->rope_base))
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: rope_base=%g must be finite and > 1", what,
                        (double)c->rope_base);
    if (!(c->norm_eps > 0.0f) || !isfinite(c->norm_eps))
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: norm_eps=%g must be finite and > 0", what,
                        (double)c->norm_eps);
    if (!t6i_dtype_valid(c->weight_dtype) || !t6i_dtype_valid(c->cache_dtype))
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: weight_dtype %d or cache_dtype %d is unknown", what,
                        (int)c->weight_dtype, (int)c->cache_dtype);
    if (c->slots < 1 || c->capacity < 1)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s: slots=%d and capacity=%d must be ≥ 1", what, c->slots,
                        c->capacity);
    return T6_SUCCESS;
}

size_t t6_model_cache_bytes_per_token(const t6_model_config *config)
{
    if (!config || config->struct_size < sizeof *config || config->layers < 1 || config->heads < 1 ||
        config->head_dim < 1 || !t6i_dtype_valid(config->cache_dtype))
        return 0;
    size_t heads = (size_t)config->heads, head_dim = (size_t)config->head_dim, per_layer = 0;
    if (config->attention == T6_MODEL_TPA) {
        if (config->rank_k < 1 || config->rank_k > 16 || config->rank_v < 1 || config->rank_v > 16) return 0;
        per_layer = ((size_t)config->rank_k + (size_t)config->rank_v) * (heads + head_dim); /* A_K, A_V, B_K, B_V */
    } else if (config->attention == T6_MODEL_MHA) {
        per_layer = 2 * heads * head_dim; /* K and V */
    }
    return (size_t)config->layers * per_layer * t6_dtype_size(config->cache_dtype);
}

const char *t6i_model_tensor_name(char *buf, size_t cap, int layer, const char *suffix)
{
    snprintf(buf, cap, "transformer.h.%d.%s", layer, suffix);
    return buf;
}

/* A 2-D readable tensor; rows/cols of −1 are not checked. Its shape goes to *out_rows, *out_cols. */
static t6_status need(const t6_context *ctx, const t6i_safetensors *st, const char *name, long long rows,
                      long long cols, long long *out_rows, long long *out_cols)
{
    const t6i_st_tensor *t = t6i_safetensors_find(st, name);
    if (!t) return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' is missing", st->label, name);
    if (!t->readable)
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' is %s; t6 reads F32, F16 and BF16", st->label, name,
                        t->dtype_name);
    if (t->rank != 2)
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' has rank %d; a weight matrix has rank 2", st->label,
                        name, t->rank);
    if (t->shape[0] == 0 || t->shape[1] == 0 || t->shape[0] > INT_MAX || t->shape[1] > INT_MAX)
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' has shape %llu × %llu", st->label, name,
                        (unsigned long long)t->shape[0], (unsigned long long)t->shape[1]);
    if ((rows >= 0 && (long long)t->shape[0] != rows) || (cols >= 0 && (long long)t->shape[1] != cols))
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' is %llu × %llu; the model needs %lld × %lld",
                        st->label, name, (unsigned long long)t->shape[0], (unsigned long long)t->shape[1],
                        rows >= 0 ? rows : (long long)t->shape[0], cols >= 0 ? cols : (long long)t->shape[1]);
    if (out_rows) *out_rows = (long long)t->shape[0];
    if (out_cols) *out_cols = (long long)t->shape[1];
    return T6_SUCCESS;
}

/* Sets *field from the checkpoint's `value`, or checks that a requested value agrees. */
static t6_status agree(const t6_context *ctx, const t6i_safetensors *st, int *field, long long value,
                       const char *what)
{
    if (value < 1 || value > INT_MAX)
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: the tensors' shapes give %s = %lld", st->label, what, value);
    if (*field != 0 && *field != value)
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: the checkpoint has %s = %lld, the config asks for %d", st->label,
                        what, value, *field);
    *field = (int)value;
    return T6_SUCCESS;
}

/* One past the highest layer index among "transformer.h.<i>." names; a gap shows up later as a missing tensor. */
static long long count_layers(const t6i_safetensors *st)
{
    static const char prefix[] = "transformer.h.";
    long long layers = 0;
    for (int i = 0; i < st->count; i++) {
        const char *name = st->tensors[i].name;
        if (strncmp(name, prefix, sizeof prefix - 1) != 0) continue;
        char *end = NULL;
        const char *digits = name + sizeof prefix - 1;
        if (*digits < '0' || *digits > '9') continue;
        long long index = strtoll(digits, &end, 10);
        if (*end == '.' && index >= 0 && index < INT_MAX && index + 1 > layers) layers = index + 1;
    }
    return layers;
}

/* H, D and Rq from W_A_q ((H·Rq) × C), W_B_q ((Rq·D) × C) and c_proj (C × (H·D)): (H·Rq)(H·D)/(Rq·D) = H². */
static t6_status solve_tpa_heads(const t6_context *ctx, const t6i_safetensors *st, t6_model_config *c,
                                 long long h_rq, long long rq_d, long long h_d)
{
    long long heads = c->heads, head_dim = c->head_dim;
    if (!heads && head_dim) heads = h_d / head_dim;
    if (!heads) heads = llround(sqrt((double)h_rq * (double)h_d / (double)rq_d));
    if (heads < 1 || h_d % heads || h_rq % heads)
        return t6i_fail(ctx, T6_ERROR_FORMAT,
                        "%s: W_A_q has %lld rows, W_B_q %lld and c_proj %lld columns: no head count fits them",
                        st->label, h_rq, rq_d, h_d);
    t6_status status = agree(ctx, st, &c->heads, heads, "heads");
    if (status == T6_SUCCESS) status = agree(ctx, st, &c->head_dim, h_d / heads, "head_dim");
    if (status == T6_SUCCESS) status = agree(ctx, st, &c->rank_q, h_rq / heads, "rank_q");
    if (status == T6_SUCCESS && (long long)c->rank_q * c->head_dim != rq_d)
        status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: W_B_q has %lld rows, not rank_q·head_dim = %d·%d", st->label,
                          rq_d, c->rank_q, c->head_dim);
    return status;
}

static t6_status resolve_tpa(const t6_context *ctx, const t6i_safetensors *st, t6_model_config *c)
{
    t6_status status = T6_SUCCESS;
    char name[128];
    long long h_rq = 0, rq_d = 0, h_d = 0, h_rk = 0, h_rv = 0;
    const long long C = c->model_dim;
    T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, 0, "attn.c_qkv.W_A_q.weight"), -1, C, &h_rq,
                 NULL));
    T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, 0, "attn.c_qkv.W_B_q.weight"), -1, C, &rq_d,
                 NULL));
    T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, 0, "attn.c_proj.weight"), C, -1, NULL, &h_d));
    T6I_TRY(solve_tpa_heads(ctx, st, c, h_rq, rq_d, h_d));
    T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, 0, "attn.c_qkv.W_A_k.weight"), -1, C, &h_rk,
                 NULL));
    T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, 0, "attn.c_qkv.W_A_v.weight"), -1, C, &h_rv,
                 NULL));
    if (h_rk % c->heads || h_rv % c->heads) {
        status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: W_A_k (%lld rows) or W_A_v (%lld) is not a multiple of %d heads",
                          st->label, h_rk, h_rv, c->heads);
        goto cleanup;
    }
    T6I_TRY(agree(ctx, st, &c->rank_k, h_rk / c->heads, "rank_k"));
    T6I_TRY(agree(ctx, st, &c->rank_v, h_rv / c->heads, "rank_v"));
cleanup:
    return status;
}

static t6_status resolve_mha(const t6_context *ctx, const t6i_safetensors *st, t6_model_config *c)
{
    t6_status status = T6_SUCCESS;
    char name[128];
    long long h_d = 0;
    T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, 0, "attn.c_q.weight"), -1, c->model_dim, &h_d,
                 NULL));
    if (!c->heads && !c->head_dim) {
        status = t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT,
                          "%s: an MHA checkpoint's shapes give only heads·head_dim = %lld: set head_dim or heads",
                          st->label, h_d);
        goto cleanup;
    }
    long long heads = c->heads ? c->heads : h_d / c->head_dim;
    if (heads < 1 || h_d % heads) {
        status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: c_q has %lld rows, not a multiple of the head count", st->label,
                          h_d);
        goto cleanup;
    }
    T6I_TRY(agree(ctx, st, &c->heads, heads, "heads"));
    T6I_TRY(agree(ctx, st, &c->head_dim, h_d / heads, "head_dim"));
cleanup:
    return status;
}

/* Every tensor of every layer, present, readable and of the resolved shape. */
static t6_status check_layers(const t6_context *ctx, const t6i_safetensors *st, const t6_model_config *c)
{
    t6_status status = T6_SUCCESS;
    char name[128];
    const long long C = c->model_dim, H = c->heads, D = c->head_dim, F = c->mlp_hidden;
    for (int i = 0; i < c->layers; i++) {
        if (c->attention == T6_MODEL_TPA) {
            static const char *const factors[6] = {"W_A_q", "W_A_k", "W_A_v", "W_B_q", "W_B_k", "W_B_v"};
            const long long ranks[3] = {c->rank_q, c->rank_k, c->rank_v};
            for (int f = 0; f < 6; f++) {
                char suffix[64];
                snprintf(suffix, sizeof suffix, "attn.c_qkv.%s.weight", factors[f]);
                long long rows = (f < 3 ? H : D) * ranks[f % 3];
                T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, i, suffix), rows, C, NULL, NULL));
            }
        } else {
            static const char *const projections[3] = {"attn.c_q.weight", "attn.c_k.weight", "attn.c_v.weight"};
            for (int p = 0; p < 3; p++)
                T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, i, projections[p]), H * D, C, NULL,
                             NULL));
        }
        T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, i, "attn.c_proj.weight"), C, H * D, NULL,
                     NULL));
        T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, i, "mlp.c_fc1.weight"), F, C, NULL, NULL));
        T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, i, "mlp.c_fc2.weight"), F, C, NULL, NULL));
        T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, i, "mlp.c_proj.weight"), C, F, NULL, NULL));
    }
cleanup:
    return status;
}

t6_status t6i_model_config_from_checkpoint(const t6_context *ctx, const t6i_safetensors *st,
                                           const t6_model_config *requested, t6_model_config *out)
{
    t6_status status = T6_SUCCESS;
    t6_model_config c = T6_MODEL_CONFIG_INIT;
    T6I_REQUIRE(ctx, st && out, "t6i_model_config_from_checkpoint: NULL argument");
    if (requested) T6I_TRY(T6I_STRUCT_IN(ctx, t6_model_config, requested, &c));
    T6I_REQUIRE(ctx, c.attention == T6_MODEL_TPA || c.attention == T6_MODEL_MHA, "attention kind %d is unknown",
                (int)c.attention);
    T6I_REQUIRE(ctx, c.vocab_size >= 0 && c.model_dim >= 0 && c.layers >= 0 && c.heads >= 0 && c.head_dim >= 0 &&
                         c.rank_q >= 0 && c.rank_k >= 0 && c.rank_v >= 0 && c.mlp_hidden >= 0,
                "%s: shape fields of the config must be ≥ 0 (0: from the checkpoint)", st->label);
    long long vocab = 0, width = 0, hidden = 0;
    T6I_TRY(need(ctx, st, "transformer.wte.weight", -1, -1, &vocab, &width));
    T6I_TRY(agree(ctx, st, &c.vocab_size, vocab, "vocab_size"));
    T6I_TRY(agree(ctx, st, &c.model_dim, width, "model_dim"));
    if (t6i_safetensors_find(st, "lm_head.weight"))
        T6I_TRY(need(ctx, st, "lm_head.weight", vocab, width, NULL, NULL));
    long long layers = count_layers(st);
    if (layers == 0) {
        status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: no tensor named transformer.h.<layer>.…", st->label);
        goto cleanup;
    }
    T6I_TRY(agree(ctx, st, &c.layers, layers, "layers"));
    char name[128];
    T6I_TRY(need(ctx, st, t6i_model_tensor_name(name, sizeof name, 0, "mlp.c_fc1.weight"), -1, width, &hidden,
                 NULL));
    T6I_TRY(agree(ctx, st, &c.mlp_hidden, hidden, "mlp_hidden"));
    T6I_TRY(c.attention == T6_MODEL_TPA ? resolve_tpa(ctx, st, &c) : resolve_mha(ctx, st, &c));
    if (c.attention == T6_MODEL_MHA) c.rank_q = c.rank_k = c.rank_v = 0;
    T6I_TRY(t6i_model_check_config(ctx, &c, st->label));
    T6I_TRY(check_layers(ctx, st, &c));
    *out = c;
cleanup:
    return status;
}
