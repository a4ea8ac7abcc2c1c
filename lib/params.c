/* params.c — the tunable parameters of every op: their tables (names, defaults, ranges, the same macros as the
 * #ifndef blocks of kernels_cl/), explicit overrides, and resolution for one call:
 * defaults < the profile's nearest bucket < values set with t6_context_set_param;
 * and the fallback, level by level, when a profile's values fail at run time.
 *
 * Each table is owned by its op: change a default here and in the .cl file together (a test compares them). */
#include "profile_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- per-op tables ---- */

/* Fused projection (kernels_cl/projection.cl): RW_* shape the rows kernel (decode), the CLBlast-style names
 * the tiles kernel (prefill); ROWS_MAX picks between them. Combinations the host rejects (divisibility, local
 * memory) fail with T6_ERROR_INVALID_PARAMS. These defaults suit GPUs; cpu_defaults below replaces some on
 * other devices unless a profile or the application sets them. */
static const t6i_param_def projection_params[] = {
    {"T6_PRJ_ROWS_MAX", 16, 0, 1 << 24, "calls of at most this many rows use the rows kernel, more the tiles kernel"},
    {"T6_PRJ_RW_BLOCK", 16, 1, 64, "rows kernel: most rows per group; larger calls take several groups"},
    {"T6_PRJ_RW_LANES", 128, 1, 1024, "rows kernel: work-items per group, splitting C"},
    {"T6_PRJ_RW_COLS", 4, 2, 16, "rows kernel: packed columns per group (a power of two)"},
    {"T6_PRJ_RW_VW", 4, 2, 8, "rows kernel: elements per weight load (2, 4 or 8)"},
    {"T6_PRJ_RW_VACC", 1, 0, 1, "rows kernel: VW-wide partial sums (1) or scalar ones (0)"},
    {"T6_PRJ_MWG", 64, 8, 256, "tiles kernel: rows per group tile"},
    {"T6_PRJ_NWG", 128, 8, 128, "tiles kernel: packed columns per group tile"},
    {"T6_PRJ_KWG", 32, 8, 32, "tiles kernel: K chunk per step (8, 16 or 32)"},
    {"T6_PRJ_MDIMC", 16, 1, 64, "tiles kernel: work-items along rows"},
    {"T6_PRJ_NDIMC", 16, 1, 64, "tiles kernel: work-items along columns"},
    {"T6_PRJ_VWM", 4, 1, 8, "tiles kernel: contiguous rows per work-item chunk (1, 2, 4 or 8)"},
    {"T6_PRJ_VWN", 8, 2, 8, "tiles kernel: contiguous columns per work-item chunk (2, 4 or 8)"},
    {"T6_PRJ_SA", 1, 0, 1, "tiles kernel: stage the hidden-state tile in local memory"},
    {"T6_PRJ_SB", 1, 0, 1, "tiles kernel: stage the weight tile in local memory"},
    {"T6_PRJ_PREFETCH", 1, 0, 1, "tiles kernel: load the next K chunk while multiplying this one"},
    {"T6_PRJ_SPLIT_GROUPS", 4, 0, 64, "tiles kernel: split C below this many groups per compute unit; 0 never"},
    {"T6_PRJ_SPLIT_K_MIN", 128, 1, 1 << 20, "tiles kernel: fewest elements of C per split"},
};

/* RoPE and scatter after the CLBlast GEMM (kernels_cl/rope_scatter.cl). */
static const t6i_param_def rope_scatter_params[] = {
    {"T6_RS_WG_SIZE", 256, 32, 1024, "work-items per group, one per (row, column pair)"},
};

/* Factorized attention (kernels_cl/attention.cl): decode and prefill share the kernel, each with its own
 * tunables. The host lowers TILE, then QUERIES and HEADS, until the group's local memory fits. */
static const t6i_param_def decode_params[] = {
    {"T6_DEC_KERNEL", 0, 0, 4,
     "1: work-group tiles, 2: vectors per work-item (CPUs), 3: register-tiled stages (GPUs), 4: tensor cores "
     "(NVIDIA), 0: by device type"},
    {"T6_DEC_WG_SIZE", 256, 32, 1024, "work-items per group"},
    {"T6_DEC_TILE", 32, 1, 128, "cached positions staged in local memory per step"},
    {"T6_DEC_HEADS", 64, 1, 256, "heads per work-group (more share each B_K/B_V tile)"},
    {"T6_DEC_TOKENS", 2, 1, 16, "cached positions per work-item in the B_Q·B_K product"},
    {"T6_DEC_VALUE_HEADS", 4, 1, 16, "heads per work-item in the value product (× 4 dims)"},
    {"T6_DEC_VECTOR", 8, 1, 8, "elements per cache load: 1, 2, 4 or 8"},
    {"T6_DEC_STAGE_S1", 1, 0, 1, "stage S1 = B_Q·B_K in local memory when cheaper than per-head queries"},
    {"T6_DEC_GROUPS_PER_CU", 2, 1, 64, "split positions until about this many groups per compute unit"},
    {"T6_DEC_MIN_SPLIT", 64, 1, 1 << 20, "fewest cached positions per split"},
    /* kernel 3 (kernels_cl/attention_decode.cl, lib/attention_decode.c) */
    {"T6_DEC_MERGE", 2, 0, 2, "kernel 4: 0 merge pass after the splits, 1 or 2 (by device) the last groups merge"},
    {"T6_DEC_FANIN", 0, 0, 4096, "kernel 4: splits merged per block by the last group; 0: about the square root"},
    {"T6_DEC_CU_GROUPS", 2, 1, 64, "kernels 3, 4: split positions until about this many groups per compute unit"},
    {"T6_DEC_ACC_HEADS", 0, 0, 16, "kernel 3: heads per work-item in the value product (4, 8, 12, 16); 0 picks"},
    {"T6_DEC_MMA", 1, 0, 2, "kernels 3, 4: 1 tensor cores where a probe passes (fp16/bf16 caches), 0 never, 2 emulated"},
    {"T6_DEC_REGISTERS", 0, 0, 255, "kernel 3 on NVIDIA: registers per work-item; 0 fits CU_GROUPS groups per unit"},
    /* kernel 4 (kernels_cl/attention_mma.cl, lib/attention_mma.c) */
    {"T6_DEC_STAGE", 32, 16, 32, "kernel 4: cached positions per pipeline stage (16 or 32)"},
    {"T6_DEC_STAGES", 3, 2, 4, "kernel 4: stages in flight in local memory"},
};

static const t6i_param_def prefill_params[] = {
    {"T6_PRE_KERNEL", 0, 0, 4,
     "1: work-group tiles (GPUs), 2: vectors per work-item (CPUs), 4: tensor cores (NVIDIA, as decode's kernel 4), "
     "0: by device type"},
    {"T6_PRE_WG_SIZE", 256, 32, 1024, "work-items per group"},
    {"T6_PRE_TILE", 16, 1, 128, "cached positions staged in local memory per step"},
    {"T6_PRE_HEADS", 64, 1, 256, "heads per work-group (more share each B_K/B_V tile and S1)"},
    {"T6_PRE_QUERIES", 4, 1, 64, "consecutive queries per work-group, sharing each key tile"},
    {"T6_PRE_TOKENS", 2, 1, 16, "cached positions per work-item in the B_Q·B_K product"},
    {"T6_PRE_VALUE_HEADS", 4, 1, 16, "rows per work-item in the value product (× 4 dims)"},
    {"T6_PRE_VECTOR", 8, 1, 8, "elements per cache load: 1, 2, 4 or 8"},
    {"T6_PRE_STAGE_S1", 1, 0, 1, "stage S1 = B_Q·B_K in local memory when cheaper than per-head queries"},
    {"T6_PRE_GROUPS_PER_CU", 2, 1, 64, "split positions until about this many groups per compute unit"},
    {"T6_PRE_MIN_SPLIT", 256, 1, 1 << 20, "fewest cached positions per split"},
    /* kernel 4 (kernels_cl/attention_mma.cl, lib/attention_mma.c); QUERIES, GROUPS_PER_CU and MIN_SPLIT as above */
    {"T6_PRE_MMA", 1, 0, 2, "kernel 4: 1 tensor cores where a probe passes (fp16/bf16 caches), 0 never, 2 emulated"},
    {"T6_PRE_STAGE", 32, 16, 32, "kernel 4: cached positions per pipeline stage (16 or 32)"},
    {"T6_PRE_STAGES", 3, 2, 4, "kernel 4: stages in flight in local memory"},
};

static const t6i_param_def materialize_params[] = {
    {"T6_MAT_WG_SIZE", 64, 1, 1024, "work-items per group (each one position and element d)"},
    {"T6_MAT_HEAD_CHUNK", 8, 1, 64, "heads each work-item forms, reusing its B values"},
};

static const t6i_param_def mha_decode_params[] = {
    {"T6_MHD_KERNEL", 0, 0, 2, "0 automatic (GPU 1, otherwise 2), 1 lanes share positions, 2 rows per work-item"},
    {"T6_MHD_VEC", 8, 2, 16, "elements per vector load: 2, 4, 8 or 16"},
    {"T6_MHD_WG_SIZE", 128, 1, 1024, "work-items per group aimed at (whole positions, at least one)"},
    {"T6_MHD_UNROLL", 4, 1, 16, "positions each work-item loads per tile, all in flight"},
    {"T6_MHD_KV_BLOCK", 0, 0, 64, "most kv heads per work-group; 0 automatic: GPU 1, otherwise all"},
    {"T6_MHD_HEAD_BLOCK", 8, 1, 64, "most query heads per kv head in a work-group; larger groups are split"},
    {"T6_MHD_GROUPS_PER_CU", 4, 1, 256, "work-groups per compute unit the split count aims at"},
    {"T6_MHD_SPLIT_MIN", 256, 16, 1 << 20, "fewest positions per split"},
    {"T6_MHD_SPLIT_MAX", 64, 1, 4096, "most splits (the merge walks them all)"},
    {"T6_MHD_HALF_MATH", 0, 0, 1, "fp16 to fp32: 0 vload_half, 1 integer bit arithmetic"},
};

static const t6i_param_def mha_prefill_params[] = {
    {"T6_MHP_KERNEL", 0, 0, 2, "0 automatic (GPU 1, otherwise 2), 1 work-group tiles, 2 rows per work-item"},
    {"T6_MHP_VEC", 8, 2, 16, "kernel 2: elements per vector load: 2, 4, 8 or 16"},
    {"T6_MHP_QUERIES", 32, 1, 256, "query vectors ((position, head) pairs) per work-group"},
    {"T6_MHP_KEYS", 32, 1, 256, "keys per tile"},
    {"T6_MHP_THREAD_QUERIES", 2, 1, 16, "kernel 1: query vectors per work-item; must divide QUERIES"},
    {"T6_MHP_COLUMNS", 16, 1, 64, "kernel 1: work-items across keys and head_dim; must divide KEYS and head_dim"},
};

#define TABLE(t) {t, (int)(sizeof t / sizeof t[0])}
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

/* The built-in defaults suit GPUs. A CPU driver (PoCL) runs a work-group as a loop over its work-items and
 * uses SIMD only for explicit vector code, so on devices that are not GPUs these values replace them (a
 * profile bucket or t6_context_set_param still wins): the projection's rows kernel for every call, one
 * work-item per group, a register block of 4 rows × 4 columns × 8-wide vectors; and MHA decode in more,
 * shorter splits, because a CPU's cores share their work-groups unevenly when other processes run. */
static const struct {
    t6_op op;
    const char *name;
    int value;
} cpu_defaults[] = {
    {T6_OP_PROJECTION, "T6_PRJ_ROWS_MAX", 1 << 24}, {T6_OP_PROJECTION, "T6_PRJ_RW_BLOCK", 4},
    {T6_OP_PROJECTION, "T6_PRJ_RW_LANES", 1},       {T6_OP_PROJECTION, "T6_PRJ_RW_COLS", 4},
    {T6_OP_PROJECTION, "T6_PRJ_RW_VW", 8},          {T6_OP_MHA_DECODE, "T6_MHD_GROUPS_PER_CU", 8},
};

void t6i_params_defaults(const t6_device_info *info, t6_op op, t6i_params *out)
{
    memset(out, 0, sizeof *out);
    out->op = op;
    out->defs = tables[op].defs;
    out->count = tables[op].count;
    out->level = T6_PROFILE_BUILTIN;
    for (int i = 0; i < out->count; i++) out->values[i] = out->defs[i].default_value;
    if (info->is_gpu) return;
    for (size_t d = 0; d < sizeof cpu_defaults / sizeof cpu_defaults[0]; d++) {
        int index = 0;
        if (cpu_defaults[d].op == op && find_def(op, cpu_defaults[d].name, &index))
            out->values[index] = cpu_defaults[d].value;
    }
}

/* Resolution from the profile levels below `below` on: a level whose values (with the explicit ones) the op
 * refuses, or that t6-tune recorded as computing wrong results on this device, is passed over for the next. */
static t6_status resolve_below(t6_context *ctx, t6_op op, const t6i_shape *shape, t6_profile_level below,
                               t6i_params *out)
{
    for (;;) {
        t6i_params_defaults(&ctx->info, op, out);
        if (ctx->profile) t6i_profile_apply_below(ctx->profile, op, shape, below, out);
        for (int i = 0; i < ctx->explicit_count[op]; i++) {
            int index = 0;
            if (find_def(op, ctx->explicit_params[op][i].name, &index)) {
                out->values[index] = ctx->explicit_params[op][i].value;
                out->source[index] = T6I_FROM_EXPLICIT;
            }
        }
        char why[512];
        if (t6i_params_check(&ctx->info, out, why, sizeof why) &&
            (ctx->run_known_wrong || !t6i_profile_known_wrong(ctx->profile, out, why, sizeof why)))
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

void t6i_define(char *buf, size_t cap, const char *name, long long value)
{
    /* An op call builds its options from a few dozen of these: by hand rather than through snprintf, which
     * was a quarter of a decode step's host time on PoCL once the sources were no longer scanned per call. */
    const size_t used = strlen(buf), name_length = strlen(name);
    char digits[24];
    int count = 0;
    unsigned long long magnitude = value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
    do {
        digits[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    const size_t need = 3 + name_length + 1 + (value < 0) + (size_t)count;
    if (used + need >= cap) { /* what does not fit is cut, as snprintf would */
        if (used < cap) snprintf(buf + used, cap - used, " -D%s=%lld", name, value);
        return;
    }
    char *at = buf + used;
    memcpy(at, " -D", 3);
    memcpy(at + 3, name, name_length);
    at += 3 + name_length;
    *at++ = '=';
    if (value < 0) *at++ = '-';
    while (count) *at++ = digits[--count];
    *at = '\0';
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
    size_t length = 0;
    const char *text = t6i_embedded_source(source, &length);
    const uint32_t mask = text ? mentioned_params(params, text, length) : UINT32_MAX;
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
