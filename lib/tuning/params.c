/* params.c — the tunable parameters of every op: their tables (built from params_table.h's lists: names,
 * defaults, ranges, the same macros as the #ifndef blocks of kernels_cl/), explicit overrides, and resolution for
 * one call: defaults < the profile's nearest bucket < values set with t6_context_set_param; and the fallback,
 * level by level, when a profile's values fail at run time.
 *
 * Each list is owned by its op: change a default there and in the .cl file together (a test compares them). */
#include "tuning/profile_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- per-op tables (params_table.h) ---- */

#define ROW(name, default_value, min_value, max_value, description)                                                \
    {"T6_" #name, default_value, min_value, max_value, description},
static const t6i_param_def all_params[] = {T6I_ALL_PARAMS(ROW)};
#undef ROW

/* Each op's run of all_params: its length, and where it starts (the lengths of the ops before it). */
#define ONE(...) +1
#define COUNT(list) (0 list(ONE))
enum {
    FIRST_PROJECTION = 0,
    FIRST_ROPE_SCATTER = FIRST_PROJECTION + COUNT(T6I_PROJECTION_PARAMS),
    FIRST_DECODE = FIRST_ROPE_SCATTER + COUNT(T6I_ROPE_SCATTER_PARAMS),
    FIRST_PREFILL = FIRST_DECODE + COUNT(T6I_DECODE_PARAMS),
    FIRST_MATERIALIZE = FIRST_PREFILL + COUNT(T6I_PREFILL_PARAMS),
    FIRST_MHA_DECODE = FIRST_MATERIALIZE + COUNT(T6I_MATERIALIZE_PARAMS),
    FIRST_MHA_PREFILL = FIRST_MHA_DECODE + COUNT(T6I_MHA_DECODE_PARAMS),
};
_Static_assert(FIRST_MHA_PREFILL + COUNT(T6I_MHA_PREFILL_PARAMS) == T6I_PARAM_COUNT, "the ids follow the lists");

#define RUN(op, list) {all_params + FIRST_##op, COUNT(list)}
static const struct {
    const t6i_param_def *defs;
    int count;
} tables[T6_OP_COUNT] = {
    [T6_OP_PROJECTION] = RUN(PROJECTION, T6I_PROJECTION_PARAMS),
    [T6_OP_ROPE_SCATTER] = RUN(ROPE_SCATTER, T6I_ROPE_SCATTER_PARAMS),
    [T6_OP_DECODE] = RUN(DECODE, T6I_DECODE_PARAMS),
    [T6_OP_PREFILL] = RUN(PREFILL, T6I_PREFILL_PARAMS),
    [T6_OP_MATERIALIZE] = RUN(MATERIALIZE, T6I_MATERIALIZE_PARAMS),
    [T6_OP_MHA_DECODE] = RUN(MHA_DECODE, T6I_MHA_DECODE_PARAMS),
    [T6_OP_MHA_PREFILL] = RUN(MHA_PREFILL, T6I_MHA_PREFILL_PARAMS),
};
#undef RUN

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
    int index = 0;
    const t6i_param_def *def = find_def(op, name, &index);
    T6I_REQUIRE(ctx, def, "t6_context_set_param: op %s has no parameter %s", op_names[op], name);
    T6I_REQUIRE(ctx, value >= def->min_value && value <= def->max_value,
                "t6_context_set_param: %s=%d is outside %d..%d", name, value, def->min_value, def->max_value);
    t6i_tuning *tuning = t6i_tuning_of(ctx);
    if (!tuning) {
        status = T6_ERROR_OUT_OF_HOST_MEMORY;
        goto cleanup;
    }
    tuning->explicit_set[op][index] = true;
    tuning->explicit_value[op][index] = value;
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
    t6i_tuning *tuning = t6i_tuning_of(ctx);
    for (int i = 0; tuning && i < T6_OP_COUNT; i++)
        if (op == T6_OP_COUNT || (int)op == i)
            memset(tuning->explicit_set[i], 0, sizeof tuning->explicit_set[i]);
    t6i_unlock(ctx);
    return tuning ? T6_SUCCESS : T6_ERROR_OUT_OF_HOST_MEMORY;
}

/* The index of tunable `id` in the op table `params` holds (the ids are contiguous per op); -1 when it is
 * another op's. */
static long index_in(const t6i_params *params, t6i_param_id id)
{
    const long index = (long)((all_params + id) - params->defs);
    return index >= 0 && index < params->count ? index : -1;
}

int t6i_param(const t6i_params *params, t6i_param_id id)
{
    const long index = index_in(params, id);
    if (index >= 0) return params->values[index];
    t6i_log(T6_LOG_ERROR, "internal: op %s has no parameter %s", t6_op_name(params->op), all_params[id].name);
    return params->count > 0 ? params->values[0] : 0;
}

void t6i_param_set(t6i_params *params, t6i_param_id id, int value)
{
    const long index = index_in(params, id);
    if (index >= 0) params->values[index] = value;
    else t6i_log(T6_LOG_ERROR, "internal: op %s has no parameter %s", t6_op_name(params->op), all_params[id].name);
}

void t6i_define_param(char *buf, size_t cap, const t6i_params *params, t6i_param_id id)
{
    t6i_define(buf, cap, all_params[id].name, t6i_param(params, id));
}

const char *t6i_param_name(t6i_param_id id) { return id >= 0 && id < T6I_PARAM_COUNT ? all_params[id].name : NULL; }

t6i_device_class t6i_device_class_of(const t6_device_info *info)
{
    return info->is_gpu ? T6I_CLASS_GPU : T6I_CLASS_CPU;
}

/* The level between the kernels' defaults and the profiles: values a whole class of devices gets in place of
 * the table's (which suit GPUs). A CPU driver (PoCL) runs a work-group as a loop over its work-items and uses
 * SIMD only for explicit vector code, so a CPU gets the projection's rows kernel for every call, one work-item
 * per group, a register block of 4 rows × 4 columns × 8-wide vectors; and MHA decode in more, shorter splits,
 * because a CPU's cores share their work-groups unevenly when other processes run. Typed ids: an entry for a
 * tunable that does not exist does not compile. */
static const struct {
    t6i_device_class device_class;
    t6i_param_id id;
    int value;
} class_defaults[] = {
    {T6I_CLASS_CPU, T6I_PRJ_ROWS_MAX, 1 << 24}, {T6I_CLASS_CPU, T6I_PRJ_RW_BLOCK, 4},
    {T6I_CLASS_CPU, T6I_PRJ_RW_LANES, 1},       {T6I_CLASS_CPU, T6I_PRJ_RW_COLS, 4},
    {T6I_CLASS_CPU, T6I_PRJ_RW_VW, 8},          {T6I_CLASS_CPU, T6I_MHD_GROUPS_PER_CU, 8},
};

void t6i_params_defaults(const t6_device_info *info, t6_op op, t6i_params *out)
{
    memset(out, 0, sizeof *out);
    out->op = op;
    out->defs = tables[op].defs;
    out->count = tables[op].count;
    out->level = T6_PROFILE_BUILTIN;
    for (int i = 0; i < out->count; i++) out->values[i] = out->defs[i].default_value;
    const t6i_device_class device_class = t6i_device_class_of(info);
    for (size_t d = 0; d < sizeof class_defaults / sizeof class_defaults[0]; d++) {
        const long index = index_in(out, class_defaults[d].id);
        if (class_defaults[d].device_class != device_class || index < 0) continue;
        out->values[index] = class_defaults[d].value;
        out->source[index] = T6I_FROM_DEVICE_CLASS;
    }
}

/* Resolution from the profile levels below `below` on: a level whose values (with the explicit ones) the op
 * refuses, or that t6-tune recorded as computing wrong results on this device, is passed over for the next. */
static t6_status resolve_below(t6_context *ctx, t6_op op, const t6i_shape *shape, t6_profile_level below,
                               t6i_params *out)
{
    const t6i_tuning *tuning = t6i_tuning_of(ctx);
    if (!tuning) return T6_ERROR_OUT_OF_HOST_MEMORY;
    for (;;) {
        t6i_params_defaults(&ctx->info, op, out);
        if (tuning->profile) t6i_profile_apply_below(tuning->profile, op, shape, below, out);
        for (int i = 0; i < out->count; i++)
            if (tuning->explicit_set[op][i]) {
                out->values[i] = tuning->explicit_value[op][i];
                out->source[i] = T6I_FROM_EXPLICIT;
            }
        char why[512];
        if (t6i_params_check(&ctx->info, out, why, sizeof why) &&
            (tuning->run_known_wrong || !t6i_profile_known_wrong(tuning->profile, out, why, sizeof why)))
            return T6_SUCCESS;
        if (out->level == T6_PROFILE_BUILTIN)
            return t6i_fail(ctx, T6_ERROR_INVALID_PARAMS, "%s: %s", op_names[op], why);
        t6i_log(T6_LOG_DEBUG, "%s: profile %s (level %s) with the explicit values: %s; trying the level below",
                op_names[op], out->origin, t6_profile_level_name(out->level), why);
        below = out->level;
    }
}

t6_status t6i_params_resolve(t6_context *ctx, t6_op op, const t6i_shape *shape, t6i_params *out)
{
    return resolve_below(ctx, op, shape, (t6_profile_level)(T6_PROFILE_EXPLICIT + 1), out);
}

bool t6i_params_fall_back(t6_context *ctx, t6_status *status, const t6i_shape *shape, t6i_params *params)
{
    const char *op = op_names[params->op];
    if (*status == T6_SUCCESS) {
        /* The level below worked: the buckets above it are what failed, so later calls skip them. */
        for (int i = 0; i < params->failed_count; i++) {
            t6i_profile_bucket *bucket = params->failed[i];
            bucket->failed = true;
            t6i_log(T6_LOG_WARN, "profile %s: the %s bucket [%d]%s%s%s fails on this device (%s); the calls it "
                    "served use the %s level from now on", params->failed_origin[i], op, bucket->position,
                    bucket->name[0] ? " \"" : "", bucket->name, bucket->name[0] ? "\"" : "", params->failure,
                    t6_profile_level_name(params->level));
        }
        params->failed_count = 0;
        return false;
    }
    if (*status != T6_ERROR_INVALID_PARAMS && *status != T6_ERROR_BUILD_FAILED) return false;
    bool tuned = false;
    for (int i = 0; i < params->count; i++) tuned = tuned || params->source[i] == T6I_FROM_PROFILE;
    if (params->level == T6_PROFILE_BUILTIN || !tuned || params->failed_count > T6_PROFILE_EXPLICIT) return false;

    if (params->failed_count == 0)
        snprintf(params->failure, sizeof params->failure, "%s", t6_context_last_error(ctx));
    params->failed[params->failed_count] = params->bucket;
    params->failed_origin[params->failed_count] = params->origin;
    t6i_log(T6_LOG_DEBUG, "%s: the values of profile %s (level %s) failed: %s; trying the level below", op,
            params->origin, t6_profile_level_name(params->level), t6_context_last_error(ctx));
    /* Resolution starts the record afresh: keep it across. */
    t6i_params kept = *params;
    kept.failed_count++;
    t6_status resolved = resolve_below(ctx, params->op, shape, params->level, params);
    params->failed_count = kept.failed_count;
    memcpy(params->failed, kept.failed, sizeof params->failed);
    memcpy(params->failed_origin, kept.failed_origin, sizeof params->failed_origin);
    memcpy(params->failure, kept.failure, sizeof params->failure);
    if (resolved != T6_SUCCESS) {
        *status = resolved;
        return false;
    }
    return true;
}

/* Which of an op's tunables an embedded source mentions, one bit each, found once per (source, op) for the
 * process: scanning the source every call took half of a decode step's host time on PoCL (perf: 19% of the
 * step's samples in t6i_source_mentions, from t6_attention_decode). Sources and tables never change. */
typedef struct mention_entry {
    const char *text; /* the embedded source (a stable pointer) */
    t6_op op;
    uint32_t mask;
} mention_entry;

#define MENTION_ENTRIES 64
static mention_entry mention_cache[MENTION_ENTRIES];
static int mention_count;
static pthread_mutex_t mention_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t mentioned_params(const t6i_params *params, const char *text, size_t length)
{
    uint32_t mask = 0;
    pthread_mutex_lock(&mention_lock);
    for (int i = 0; i < mention_count; i++)
        if (mention_cache[i].text == text && mention_cache[i].op == params->op) {
            mask = mention_cache[i].mask;
            pthread_mutex_unlock(&mention_lock);
            return mask;
        }
    for (int i = 0; i < params->count && i < 32; i++)
        if (t6i_source_mentions(text, length, params->defs[i].name)) mask |= 1u << i;
    if (mention_count < MENTION_ENTRIES) mention_cache[mention_count++] = (mention_entry){text, params->op, mask};
    pthread_mutex_unlock(&mention_lock);
    return mask;
}

void t6i_params_append_options(const t6i_params *params, const char *source, char *buf, size_t cap)
{
    /* Every file of the program (kernels_cl/programs.txt) counts: a prelude may read a tunable too. */
    const char *const *files = t6i_program_files(source);
    uint32_t mask = files ? 0 : UINT32_MAX;
    for (int f = 0; files && files[f]; f++) {
        size_t length = 0;
        const char *text = t6i_embedded_source(files[f], &length);
        mask |= text ? mentioned_params(params, text, length) : UINT32_MAX;
    }
    for (int i = 0; i < params->count; i++)
        if (mask & (1u << i)) t6i_define(buf, cap, params->defs[i].name, params->values[i]);
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
