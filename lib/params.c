/* params.c — the tunable parameters of every op: their tables (names, defaults, ranges, the same macros as the
 * #ifndef blocks of kernels_cl/), explicit overrides, and resolution for one call:
 * defaults < the profile's nearest bucket < values set with t6_context_set_param.
 *
 * Each table is owned by its op: change a default here and in the .cl file together (a test compares them). */
#include "t6_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- per-op tables ---- */

static const t6i_param_def projection_params[] = {
    {NULL, 0, 0, 0, NULL}, /* tunables come with the op */
};

static const t6i_param_def rope_scatter_params[] = {
    {NULL, 0, 0, 0, NULL}, /* tunables come with the op */
};

static const t6i_param_def decode_params[] = {
    {NULL, 0, 0, 0, NULL}, /* tunables come with the op */
};

static const t6i_param_def prefill_params[] = {
    {NULL, 0, 0, 0, NULL}, /* tunables come with the op */
};

static const t6i_param_def materialize_params[] = {
    {NULL, 0, 0, 0, NULL}, /* tunables come with the op */
};

static const t6i_param_def mha_decode_params[] = {
    {NULL, 0, 0, 0, NULL}, /* tunables come with the op */
};

static const t6i_param_def mha_prefill_params[] = {
    {NULL, 0, 0, 0, NULL}, /* tunables come with the op */
};

/* A table whose only entry has no name is empty (the op has no tunables yet). */
#define TABLE(t) {t, t[0].name ? (int)(sizeof t / sizeof t[0]) : 0}
static const struct {
    const t6i_param_def *defs;
    int count;
} tables[T6_OP_COUNT] = {
    [T6_OP_PROJECTION] = TABLE(projection_params),   [T6_OP_ROPE_SCATTER] = TABLE(rope_scatter_params),
    [T6_OP_DECODE] = TABLE(decode_params),           [T6_OP_PREFILL] = TABLE(prefill_params),
    [T6_OP_MATERIALIZE] = TABLE(materialize_params), [T6_OP_MHA_DECODE] = TABLE(mha_decode_params),
    [T6_OP_MHA_PREFILL] = TABLE(mha_prefill_params),
};
#undef TABLE

static const char *const op_names[T6_OP_COUNT] = {
    [T6_OP_PROJECTION] = "projection", [T6_OP_ROPE_SCATTER] = "rope_scatter", [T6_OP_DECODE] = "decode",
    [T6_OP_PREFILL] = "prefill",       [T6_OP_MATERIALIZE] = "materialize",   [T6_OP_MHA_DECODE] = "mha_decode",
    [T6_OP_MHA_PREFILL] = "mha_prefill",
};

static bool op_valid(t6_op op) { return (int)op >= 0 && op < T6_OP_COUNT; }

const char *t6_op_name(t6_op op) { return op_valid(op) ? op_names[op] : NULL; }

t6_status t6_op_from_name(const char *name, t6_op *op)
{
    if (!name || !op) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_op_from_name: NULL argument");
    for (int i = 0; i < T6_OP_COUNT; i++)
        if (strcmp(op_names[i], name) == 0) {
            *op = (t6_op)i;
            return T6_SUCCESS;
        }
    return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "no op named '%s'", name);
}

const t6i_param_def *t6i_op_params(t6_op op, int *count)
{
    *count = op_valid(op) ? tables[op].count : 0;
    return op_valid(op) ? tables[op].defs : NULL;
}

int t6_op_param_count(t6_op op) { return op_valid(op) ? tables[op].count : 0; }

t6_status t6_op_param_info(t6_op op, int index, t6_param_info *info)
{
    if (!op_valid(op) || !info || index < 0 || index >= tables[op].count)
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_op_param_info: no parameter %d of op %d", index, (int)op);
    const t6i_param_def *def = &tables[op].defs[index];
    info->name = def->name;
    info->default_value = def->default_value;
    info->min_value = def->min_value;
    info->max_value = def->max_value;
    info->description = def->description;
    return T6_SUCCESS;
}

static const t6i_param_def *find_def(t6_op op, const char *name, int *index)
{
    for (int i = 0; i < tables[op].count; i++)
        if (strcmp(tables[op].defs[i].name, name) == 0) {
            if (index) *index = i;
            return &tables[op].defs[i];
        }
    return NULL;
}

t6_status t6_context_set_param(t6_context *ctx, t6_op op, const char *name, int value)
{
    t6_status status = T6_SUCCESS;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_set_param: ctx is NULL");
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, op_valid(op), "t6_context_set_param: unknown op %d", (int)op);
    T6I_REQUIRE(ctx, name, "t6_context_set_param: name is NULL");
    const t6i_param_def *def = find_def(op, name, NULL);
    T6I_REQUIRE(ctx, def, "t6_context_set_param: op %s has no parameter %s", op_names[op], name);
    T6I_REQUIRE(ctx, value >= def->min_value && value <= def->max_value,
                "t6_context_set_param: %s=%d is outside %d..%d", name, value, def->min_value, def->max_value);
    int n = ctx->explicit_count[op];
    int slot = n;
    for (int i = 0; i < n; i++)
        if (strcmp(ctx->explicit_params[op][i].name, name) == 0) slot = i;
    T6I_REQUIRE(ctx, slot < T6I_MAX_PARAMS, "t6_context_set_param: too many parameters");
    snprintf(ctx->explicit_params[op][slot].name, sizeof ctx->explicit_params[op][slot].name, "%s", name);
    ctx->explicit_params[op][slot].value = value;
    if (slot == n) ctx->explicit_count[op] = n + 1;
cleanup:
    t6i_unlock(ctx);
    return status;
}

t6_status t6_context_clear_params(t6_context *ctx, t6_op op)
{
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_clear_params: ctx is NULL");
    if (!op_valid(op) && op != T6_OP_COUNT)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6_context_clear_params: unknown op %d", (int)op);
    t6i_lock(ctx);
    for (int i = 0; i < T6_OP_COUNT; i++)
        if (op == T6_OP_COUNT || (int)op == i) ctx->explicit_count[i] = 0;
    t6i_unlock(ctx);
    return T6_SUCCESS;
}

int t6i_param(const t6i_params *params, const char *name)
{
    for (int i = 0; i < params->count; i++)
        if (strcmp(params->defs[i].name, name) == 0) return params->values[i];
    t6i_log(T6_LOG_ERROR, "internal: op %s has no parameter %s", t6_op_name(params->op), name);
    return params->count > 0 ? params->values[0] : 0;
}

t6_status t6i_params_resolve(t6_context *ctx, t6_op op, const t6i_shape *shape, t6i_params *out)
{
    out->op = op;
    out->defs = tables[op].defs;
    out->count = tables[op].count;
    for (int i = 0; i < out->count; i++) out->values[i] = out->defs[i].default_value;
    if (ctx->profile) t6i_profile_apply(ctx->profile, op, shape, out);
    for (int i = 0; i < ctx->explicit_count[op]; i++) {
        int index = 0;
        if (find_def(op, ctx->explicit_params[op][i].name, &index)) out->values[index] = ctx->explicit_params[op][i].value;
    }
    return T6_SUCCESS;
}

void t6i_define(char *buf, size_t cap, const char *name, long long value)
{
    size_t used = strlen(buf);
    if (used < cap) snprintf(buf + used, cap - used, " -D%s=%lld", name, value);
}

void t6i_params_append_options(const t6i_params *params, char *buf, size_t cap)
{
    for (int i = 0; i < params->count; i++) t6i_define(buf, cap, params->defs[i].name, params->values[i]);
}

/* ---- shape features ---- */

static const char *const feature_names[T6I_F_COUNT] = {
    [T6I_F_MODEL_DIM] = "model_dim", [T6I_F_HEADS] = "heads",   [T6I_F_KV_HEADS] = "kv_heads",
    [T6I_F_HEAD_DIM] = "head_dim",   [T6I_F_RANK_Q] = "rank_q", [T6I_F_RANK_K] = "rank_k",
    [T6I_F_RANK_V] = "rank_v",       [T6I_F_DTYPE] = "dtype",   [T6I_F_WEIGHT_DTYPE] = "weight_dtype",
    [T6I_F_ROWS] = "rows",           [T6I_F_BATCH] = "batch",   [T6I_F_LENGTH] = "length",
};

const char *t6i_feature_name(t6i_feature feature)
{
    return (int)feature >= 0 && feature < T6I_F_COUNT ? feature_names[feature] : NULL;
}

bool t6i_feature_is_exact(t6i_feature feature)
{
    switch (feature) {
    case T6I_F_HEAD_DIM:
    case T6I_F_RANK_Q:
    case T6I_F_RANK_K:
    case T6I_F_RANK_V:
    case T6I_F_DTYPE:
    case T6I_F_WEIGHT_DTYPE: return true;
    default: return false;
    }
}
