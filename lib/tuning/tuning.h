/*
 * tuning.h — the tuning layer (lib/tuning/): every op's tunable parameters (params_table.h), their resolution
 * for a call (defaults < the profile's nearest bucket < values set with t6_context_set_param), and the device
 * profiles they come from. It uses the runtime (runtime/runtime.h) and nothing above it; the ops use it. Never
 * installed; tests may include it.
 */
#ifndef T6_TUNING_H
#define T6_TUNING_H

#include "runtime/runtime.h"
#include "tuning/params_table.h"

/* ---- tunable parameters and profiles (params.c, profile.c) ---- */

#define T6I_MAX_PARAMS 24

typedef struct t6i_param_def {
    const char *name;
    int default_value, min_value, max_value;
    const char *description;
} t6i_param_def;

/** Where a resolved value came from, from the lowest level to the highest: the kernels' default, the device
 *  class's (t6i_device_class), a profile bucket, t6_context_set_param. */
typedef enum t6i_param_source {
    T6I_FROM_DEFAULT,
    T6I_FROM_DEVICE_CLASS,
    T6I_FROM_PROFILE,
    T6I_FROM_EXPLICIT
} t6i_param_source;

/** The classes of devices with defaults of their own (params.c's class_defaults). */
typedef enum t6i_device_class { T6I_CLASS_GPU, T6I_CLASS_CPU } t6i_device_class;
t6i_device_class t6i_device_class_of(const t6_device_info *info);

/** A profile bucket (profile_internal.h). */
typedef struct t6i_profile_bucket t6i_profile_bucket;

/** The resolved tunables of one op for one call, in the order of the op's table. */
typedef struct t6i_params {
    t6_op op;
    int count;
    const t6i_param_def *defs;
    int values[T6I_MAX_PARAMS];
    unsigned char source[T6I_MAX_PARAMS]; /* t6i_param_source of each value */
    t6_profile_level level;               /* of the profile bucket applied; T6_PROFILE_BUILTIN: none */
    t6i_profile_bucket *bucket;           /* that bucket, and the file it is from */
    const char *origin;
    /* t6i_params_fall_back's record of the buckets that failed during this call (at most one per level) */
    int failed_count;
    t6i_profile_bucket *failed[T6_PROFILE_EXPLICIT + 1];
    const char *failed_origin[T6_PROFILE_EXPLICIT + 1];
    char failure[256];
} t6i_params;

/** Shape features a profile bucket is matched on. Fields an op does not use stay 0. */
typedef enum t6i_feature {
    T6I_F_MODEL_DIM, T6I_F_HEADS, T6I_F_KV_HEADS, T6I_F_HEAD_DIM, T6I_F_RANK_Q, T6I_F_RANK_K, T6I_F_RANK_V,
    T6I_F_DTYPE, T6I_F_WEIGHT_DTYPE, T6I_F_ROWS, T6I_F_BATCH, T6I_F_LENGTH, T6I_F_COUNT
} t6i_feature;

typedef struct t6i_shape {
    long long f[T6I_F_COUNT];
} t6i_shape;

/** "model_dim", "heads", … : the JSON names of the features. */
const char *t6i_feature_name(t6i_feature feature);
/** Features that must match exactly for a bucket to apply (they change the kernel's code, not its speed). */
bool t6i_feature_is_exact(t6i_feature feature);

/** The table of `op`'s tunables and its length. */
const t6i_param_def *t6i_op_params(t6_op op, int *count);

/** The typed id of every tunable (params_table.h): T6I_ and the name without its T6_ prefix, e.g. T6I_DEC_TILE. */
#define T6I_PARAM_ID(name, ...) T6I_##name,
typedef enum t6i_param_id { T6I_ALL_PARAMS(T6I_PARAM_ID) T6I_PARAM_COUNT } t6i_param_id;
#undef T6I_PARAM_ID
/** Decode's or prefill's id of a tunable both have (T6_DEC_TILE, T6_PRE_TILE): a compile error unless both do. */
#define T6I_ATTENTION_PARAM(prefill, name) ((prefill) ? T6I_PRE_##name : T6I_DEC_##name)

/** The value of tunable `id` in `params` (which must be of the id's op: another op's id is a programming error,
 *  logged, and yields the first table entry's value; tests catch it). */
int t6i_param(const t6i_params *params, t6i_param_id id);
/** Replaces the value of `id` in `params` (a planner's fitted value, so that the options name the kernel exactly). */
void t6i_param_set(t6i_params *params, t6i_param_id id, int value);
/** Appends " -DT6_NAME=value" for tunable `id` of `params` to the options in `buf` (t6i_define). */
void t6i_define_param(char *buf, size_t cap, const t6i_params *params, t6i_param_id id);
/** "T6_DEC_TILE" for T6I_DEC_TILE: the name profiles, options and messages use. */
const char *t6i_param_name(t6i_param_id id);

/** `op`'s defaults for the device `info`, the two levels below the profiles: the table's, then its device
 *  class's in their place (params.c; source T6I_FROM_DEVICE_CLASS, the others T6I_FROM_DEFAULT). The level is
 *  T6_PROFILE_BUILTIN. */
void t6i_params_defaults(const t6_device_info *info, t6_op op, t6i_params *out);

/** Whether `op`'s kernels accept `params` whatever the call's shape (params_check.c): enumerated values,
 *  divisibility, work-groups within the device's limits (limits of 0 are not checked). When not, `why` gets
 *  the reason naming the parameter. What also depends on the call's shape the planners check. Pure. */
bool t6i_params_check(const t6_device_info *info, const t6i_params *params, char *why, size_t cap);

/** Resolves `op`'s tunables for a call of `shape`: the defaults, then the nearest bucket of the best profile
 *  level, then the values set with t6_context_set_param. Values t6i_params_check refuses are never handed
 *  out: a profile level that gives such values (with the explicit ones) is passed over for the level below;
 *  with none left, T6_ERROR_INVALID_PARAMS naming the parameter. */
t6_status t6i_params_resolve(t6_context *ctx, t6_op op, const t6i_shape *shape, t6i_params *out);

/**
 * The run-time fallback of tuned values. Call it after running an op with `params`, in a loop:
 *     while (run(..., &params) fails and t6i_params_fall_back(ctx, &status, &shape, &params)) retry;
 * When `*status` is a failure tuned values can cause (T6_ERROR_INVALID_PARAMS: a plan that does not fit,
 * T6_ERROR_BUILD_FAILED) and a profile bucket set some of the values, resolves them again from the profile
 * level below (in the end the built-in defaults) and returns true: run the op again. Otherwise returns false,
 * having set `*status` to the resolution's failure if there was one. After a success it marks every bucket
 * that failed on the way, so that later calls skip it, and logs a warning naming it.
 */
bool t6i_params_fall_back(t6_context *ctx, t6_status *status, const t6i_shape *shape, t6i_params *params);

/** Appends " -DNAME=value" for every tunable to `buf` (a NUL-terminated string of capacity `cap`). */
/** Appends " -DNAME=value" for each resolved tunable that kernels_cl/<source>.cl mentions, so that two plans
 *  that differ only in tunables a kernel ignores build one program. */
void t6i_params_append_options(const t6i_params *params, const char *source, char *buf, size_t cap);
/** Whether `name` occurs in `text` as a whole identifier (T6_DEC_WG must not match T6_DEC_WG_SIZE). */
bool t6i_source_mentions(const char *text, size_t length, const char *name);


/** The source tree's profiles/ folder when this is the build tree's library, else NULL (profile_source_dir.c). */
const char *t6i_source_profile_dir(void);

/** The profile layer: per context, the loaded profile of its device (profile.c). NULL when none matched. */
typedef struct t6i_profile t6i_profile;
/** Looks up the bucket of `op` nearest `shape` at the best level below `below` whose nearest bucket has not
 *  failed, copies its values into `params` (marking them T6I_FROM_PROFILE) and records the level, bucket and
 *  file there. Returns true when a bucket applied. */
bool t6i_profile_apply_below(t6i_profile *profile, t6_op op, const t6i_shape *shape, t6_profile_level below,
                             t6i_params *params);
/** t6i_profile_apply_below from the best level on. */
bool t6i_profile_apply(t6i_profile *profile, t6_op op, const t6i_shape *shape, t6i_params *params);
/** Loads the best-matching profile for the context's device (logs which level matched) from the context's
 *  search path; NULL when none matched. Never fails: a missing or broken profile means built-in defaults. */
t6i_profile *t6i_profile_load_for_context(const t6_context *ctx);
void t6i_profile_free(t6i_profile *profile);
/** One parsed profile file (profile_internal.h has its contents). */
typedef struct t6i_profile_file t6i_profile_file;
/** Parses a profile from `length` bytes of `text` (need not be NUL-terminated); `origin` names it in
 *  messages. T6_ERROR_FORMAT with the reason in the thread's last error. The entry point of the fuzzer. */
t6_status t6i_profile_parse(const char *text, size_t length, const char *origin, t6i_profile_file **out);
void t6i_profile_file_free(t6i_profile_file *file);
/** Hash of every embedded kernel source (profiles are stale when it changes), as 16 hex digits. */
const char *t6i_kernel_sources_hash(void);

/* ---- the tuning state of a context (tuning.c) ---- */

/**
 * What the tuning layer keeps per context, in the context's opaque slot (ctx->tuning, freed through
 * ctx->tuning_free): the profiles the search found for its device (plus those loaded with
 * t6_context_load_profile), the explicit parameters, and whether known-wrong configurations may run.
 */
typedef struct t6i_tuning {
    /* The values set with t6_context_set_param, by op and index in the op's table: the name is looked up once,
     * when it is set, not at every call. */
    bool explicit_set[T6_OP_COUNT][T6I_MAX_PARAMS];
    int explicit_value[T6_OP_COUNT][T6I_MAX_PARAMS];
    t6i_profile *profile;
    bool run_known_wrong; /* t6_context_set_refuse_known_wrong(ctx, 0): t6-tune's workers */
} t6i_tuning;

/** The tuning state of `ctx`, made on first use: the profile search for the context's device runs then (and
 *  logs which level serves each op). Takes the context's lock. NULL, with T6_ERROR_OUT_OF_HOST_MEMORY recorded
 *  in the context, when it cannot be allocated. The public constructors make it at once, so that a context
 *  reads its profiles when it is created (t6.h, Profiles). */
t6i_tuning *t6i_tuning_of(t6_context *ctx);

#endif /* T6_TUNING_H */
