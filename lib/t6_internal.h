/*
 * t6_internal.h — what the library's files share with each other. Never installed; tests may include it.
 *
 * Error handling follows one pattern everywhere: a function keeps `t6_status status = T6_SUCCESS`, uses the
 * T6I_* macros below (each records the detail in the context and jumps to `cleanup`), and ends with
 * `cleanup:` releasing what it owns and returning `status`.
 */
#ifndef T6_INTERNAL_H
#define T6_INTERNAL_H

#include "t6.h"
#include "params_table.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

/* ---- errors and logging (status.c) ---- */

#define T6I_ERROR_TEXT 2048

/** Records a failure: formats the message into ctx's last error (the thread's when ctx is NULL), logs it at
 *  debug level and returns `status` so callers can `return t6i_fail(...)`. */
t6_status t6i_fail(const t6_context *ctx, t6_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Records a failed OpenCL call: "<what> failed: <CL_ERROR_NAME> (<code>)". Returns T6_ERROR_OPENCL, or
 *  T6_ERROR_OUT_OF_HOST_MEMORY / T6_ERROR_INVALID_PARAMS where the code means that, and
 *  T6_ERROR_OUT_OF_DEVICE_MEMORY for CL_MEM_OBJECT_ALLOCATION_FAILURE, or CL_OUT_OF_RESOURCES when `what`
 *  starts with "clCreateBuffer" (name the call first, as every caller does). */
t6_status t6i_fail_cl(const t6_context *ctx, cl_int err, const char *what);
/** The name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *t6i_cl_error_name(cl_int err);
/** Logs a message to the log of the context this thread is working for (t6i_log_route), when that context has
 *  a log of its own, else to the process-wide log. */
void t6i_log(t6_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Makes `ctx` (NULL: none) the context this thread's messages belong to, and returns the one before, to be
 *  restored when the work for `ctx` ends. t6i_lock and t6i_unlock do it for every call on a context, so that
 *  code which has no context at hand (profile parsing, parameter resolution) logs to the right place. */
const t6_context *t6i_log_route(const t6_context *ctx);

#define T6I_TRY(expr)                                                                                            \
    do {                                                                                                         \
        status = (expr);                                                                                         \
        if (status != T6_SUCCESS) goto cleanup;                                                                  \
    } while (0)

#define T6I_CHECK_CL(ctx, call, what)                                                                            \
    do {                                                                                                         \
        cl_int t6i_err_ = (call);                                                                                \
        if (t6i_err_ != CL_SUCCESS) {                                                                            \
            status = t6i_fail_cl((ctx), t6i_err_, (what));                                                       \
            goto cleanup;                                                                                        \
        }                                                                                                        \
    } while (0)

/** Fails with T6_ERROR_INVALID_ARGUMENT and a printf-style message unless `cond` holds. */
#define T6I_REQUIRE(ctx, cond, ...)                                                                              \
    do {                                                                                                         \
        if (!(cond)) {                                                                                           \
            status = t6i_fail((ctx), T6_ERROR_INVALID_ARGUMENT, __VA_ARGS__);                                    \
            goto cleanup;                                                                                        \
        }                                                                                                        \
    } while (0)

/** Allocation that records T6_ERROR_OUT_OF_HOST_MEMORY on failure. */
#define T6I_ALLOC(ctx, ptr, count)                                                                               \
    do {                                                                                                         \
        (ptr) = calloc((count) > 0 ? (size_t)(count) : 1u, sizeof *(ptr));                                           \
        if (!(ptr)) {                                                                                            \
            status = t6i_fail((ctx), T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (%s)", #ptr);             \
            goto cleanup;                                                                                        \
        }                                                                                                        \
    } while (0)

/* ---- what this build has ---- */

/** 1 when the library is built with CLBlast (T6_WITH_CLBLAST, CMake's T6_WITH_CLBLAST option): the CLBlast
 *  projection and the model's CLBlast products exist. Without it they are T6_ERROR_UNSUPPORTED. */
#ifdef T6_WITH_CLBLAST
#define T6I_HAVE_CLBLAST 1
#else
#define T6I_HAVE_CLBLAST 0
#endif

/* ---- structs that grow (struct_size.c; t6.h, "Structs that grow") ---- */

/**
 * Reads a struct the application passed: `src` declares its size in its leading size_t; `dst` is this library's
 * struct of `size` bytes, which gets src's fields, zeros past them (the defaults of fields an older application
 * does not know), and struct_size = size. T6_ERROR_INVALID_ARGUMENT when the declared size is below
 * `first_size` (the struct's first version), T6_ERROR_UNSUPPORTED when it is above `size` (a newer
 * application's). `name` names the struct in the message.
 */
t6_status t6i_struct_in(const t6_context *ctx, const char *name, const void *src, size_t first_size, void *dst,
                        size_t size);
/** Writes this library's struct `src` of `size` bytes into the application's `dst`, whose leading size_t says
 *  its size: the known fields copied, any beyond `size` zeroed, dst's struct_size kept. Statuses as above. */
t6_status t6i_struct_out(const t6_context *ctx, const char *name, void *dst, size_t first_size, const void *src,
                         size_t size);
/* Every growing struct is at its first version: its first size is its size. A struct that gains a field passes
 * the first version's size (offsetof the new field) as first_size from then on. */
#define T6I_STRUCT_IN(ctx, type, src, dst) t6i_struct_in((ctx), #type, (src), sizeof(type), (dst), sizeof(type))
#define T6I_STRUCT_OUT(ctx, type, dst, src) t6i_struct_out((ctx), #type, (dst), sizeof(type), (src), sizeof(type))

/* ---- files from outside (file_read.c) ---- */

/** Opens `path` for reading when it is a regular file, without blocking on anything else (a FIFO, a device):
 *  the descriptor in *fd (the caller closes it) and the file's size in *size. T6_ERROR_IO naming `what`
 *  ("checkpoint", "profile", …), the path and what it is otherwise. Every reader of a file uses it. */
t6_status t6i_open_regular(const t6_context *ctx, const char *path, const char *what, int *fd, size_t *size);
/** The whole regular file at `path` (t6i_open_regular) in a new buffer with a NUL after its `length` bytes;
 *  the caller frees *text. T6_ERROR_FORMAT when it is over `max_bytes`. */
t6_status t6i_read_regular(const t6_context *ctx, const char *path, const char *what, size_t max_bytes, char **text,
                           size_t *length);

/* ---- host-side storage conversion (dtype.c) ---- */

uint16_t t6i_float_to_half(float value);
float t6i_half_to_float(uint16_t bits);
uint16_t t6i_float_to_bf16(float value);
float t6i_bf16_to_float(uint16_t bits);
/** Converts `count` floats to `dtype` storage in `dst` (count × t6_dtype_size bytes). */
void t6i_pack(t6_dtype dtype, const float *src, void *dst, size_t count);
/** Converts `count` elements of `dtype` storage to floats. */
void t6i_unpack(t6_dtype dtype, const void *src, float *dst, size_t count);
bool t6i_dtype_valid(t6_dtype dtype);

/* ---- tunable parameters and profiles (params.c, profile.c) ---- */

#define T6I_MAX_PARAMS 24

typedef struct t6i_param_def {
    const char *name;
    int default_value, min_value, max_value;
    const char *description;
} t6i_param_def;

/** Where a resolved value came from. */
typedef enum t6i_param_source { T6I_FROM_DEFAULT, T6I_FROM_PROFILE, T6I_FROM_EXPLICIT } t6i_param_source;

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

/** `op`'s built-in defaults for the device `info`: the table's, with the values devices that are not GPUs get
 *  in their place (params.c). Every source is T6I_FROM_DEFAULT, the level T6_PROFILE_BUILTIN. */
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

/** Appends one " -DNAME=value" to `buf`. */
void t6i_define(char *buf, size_t cap, const char *name, long long value);

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
/** Loads the best-matching profile for the context's device (logs which level matched). Never fails: a
 *  missing or broken profile means built-in defaults. */
void t6i_profile_load_for_context(t6_context *ctx);
void t6i_profile_free(t6i_profile *profile);
/** One parsed profile file (profile_internal.h has its contents). */
typedef struct t6i_profile_file t6i_profile_file;
/** Parses a profile from `length` bytes of `text` (need not be NUL-terminated); `origin` names it in
 *  messages. T6_ERROR_FORMAT with the reason in the thread's last error. The entry point of the fuzzer. */
t6_status t6i_profile_parse(const char *text, size_t length, const char *origin, t6i_profile_file **out);
void t6i_profile_file_free(t6i_profile_file *file);

/* ---- the tensor-core probe (mma_probe.c) ---- */

/** Runs kernels_cl/mma.cl's probe built with T6_MMA `mma` (1 PTX, 2 emulated) for an fp16 or bf16 cache; NULL
 *  when every instruction gave what the PTX ISA's fragment layouts say, else the reason. */
const char *t6i_mma_probe(t6_context *ctx, int mma, t6_dtype dtype);
/** Whether the device runs the tensor-core instructions for `dtype` (an NVIDIA GPU whose probe passes). Run once
 *  per context and type and logged; a failure is not an error: the callers fall back to their FMA kernels. */
bool t6i_tensor_cores_work(t6_context *ctx, t6_dtype dtype);

/* ---- programs and kernels (program.c, disk_cache.c, kernels_embedded.c) ---- */

/** The embedded source of kernels_cl/<name>.cl, or NULL. */
const char *t6i_embedded_source(const char *name, size_t *length);
/** The index-th embedded source (name without ".cl"), or NULL past the end. */
const char *t6i_embedded_source_at(size_t index, const char **name, size_t *length);
/* The files of kernels_cl/ a program is put together from, in order (kernels_cl/programs.txt), NULL-terminated;
 * NULL for an unknown program. _at walks the table (NULL past its end). */
const char *const *t6i_program_files(const char *name);
const char *const *t6i_program_files_at(size_t index);

/**
 * A kernel from kernels_cl/<source>.cl (with common.cl in front), built with `options` (the -D macros),
 * cached in memory per (source, options) and on disk. The kernel belongs to the context: do not release it.
 * Build failures return T6_ERROR_BUILD_FAILED with the head of the log in the last error; a kernel whose
 * CL_KERNEL_LOCAL_MEM_SIZE is over the device's local memory returns T6_ERROR_UNSUPPORTED (plan smaller).
 */
t6_status t6i_get_kernel(t6_context *ctx, const char *source, const char *options, const char *kernel_name,
                         cl_kernel *out);
/** The build option of Intel's large register file (256 GRF per thread instead of 128, half the threads). */
#define T6I_LARGE_GRF_OPTION " -cl-intel-256-GRF-per-thread"
/** Appends T6I_LARGE_GRF_OPTION to `options` where the device has the large register file (ctx->large_grf).
 *  Called for the kernels that spill at 128 registers on Xe-HPG and Xe-HPC in the offline compile and not at
 *  256 (docs/PORTABILITY.md): kernel 3, the projection's tiles, kernel 1's prefill, the tensor-core kernel. */
void t6i_large_register_file(const t6_context *ctx, char *options, size_t cap);

/** The disk cache's folder when neither the options nor T6_CACHE_DIR name one: $XDG_CACHE_HOME/t6, else
 *  ~/.cache/t6; none (NULL) when `environment` is false or neither variable is set. The caller frees *dir. */
t6_status t6i_disk_cache_default_dir(bool environment, char **dir);
/** Disk cache of program binaries (disk_cache.c), in ctx->cache_dir. `key` is the full build identity. Both
 *  are best-effort: load returns NULL-ish (false) on any problem, save ignores failures (logging a warning). */
bool t6i_disk_cache_load(const t6_context *ctx, const char *key_text, size_t key_length, unsigned char **binary,
                         size_t *binary_size);
void t6i_disk_cache_save(const t6_context *ctx, const char *key_text, size_t key_length,
                         const unsigned char *binary, size_t binary_size);
/** 64-bit FNV-1a, used for cache keys and source hashes. */
uint64_t t6i_hash64(const void *data, size_t length, uint64_t seed);
/** Hash of every embedded kernel source (profiles are stale when it changes), as 16 hex digits. */
const char *t6i_kernel_sources_hash(void);

/* ---- launching (context.c) ---- */

typedef struct t6i_arg {
    size_t size;
    const void *value; /* NULL with a size: local memory of that many bytes */
} t6i_arg;

#define T6I_ARG_MEM(m) ((t6i_arg){sizeof(cl_mem), &(m)})
#define T6I_ARG_INT(v) ((t6i_arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define T6I_ARG_UINT(v) ((t6i_arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(v)}})
#define T6I_ARG_FLOAT(v) ((t6i_arg){sizeof(cl_float), &(cl_float){(cl_float)(v)}})
#define T6I_ARG_LOCAL(bytes) ((t6i_arg){(bytes), NULL})

/** Sets `count` arguments of `kernel` in order. `what` names the kernel in errors. */
t6_status t6i_set_args(t6_context *ctx, cl_kernel kernel, const char *what, const t6i_arg *args, int count);

/** Starts an operation: forgets the events of the previous one (for t6_context_last_op_time). */
void t6i_op_begin(t6_context *ctx);

/** Enqueues an NDRange (local may be NULL) and keeps its event when timing is on. */
t6_status t6i_launch(t6_context *ctx, cl_kernel kernel, const char *what, cl_uint dims, const size_t *global,
                     const size_t *local);

/** Records an event made outside t6i_launch (a CLBlast call) as part of the current operation. Takes
 *  ownership of `event`. */
void t6i_op_add_event(t6_context *ctx, cl_event event);

/** Counts `count` commands enqueued on the context's queue outside t6i_launch and t6i_upload_meta (writes,
 *  reads, fills, markers, a CLBlast routine as one), for t6_context_command_count. */
void t6i_count_commands(t6_context *ctx, unsigned count);

/** Rounds `value` up to a multiple of `multiple`. */
size_t t6i_round_up(size_t value, size_t multiple);

/**
 * Uploads small per-call metadata (row slots and positions, batch lengths) to a device buffer owned by the
 * context, without a blocking write: the host copy lives in the context until the write has completed.
 * `*out` stays valid for the commands enqueued before the next call of t6i_upload_meta with the same `channel`
 * (0..T6I_META_CHANNELS-1): the queue is in order, so the next write runs after them. Data equal to the
 * channel's last upload enqueues nothing: the buffer holds it already (every layer of a model step sends its
 * attention the same rows, so the step writes them once).
 */
#define T6I_META_CHANNELS 5 /* 0 projection, MHA decode; 1 MHA prefill; 2 attention; 3 K/V append; 4 model step */
/* Host copies per channel. A call waits only for the write of T6I_META_RING calls before it, so the host can
 * enqueue a whole model step (two uploads per layer on one channel) ahead of the device. */
#define T6I_META_RING 64
t6_status t6i_upload_meta(t6_context *ctx, int channel, const void *data, size_t bytes, cl_mem *out);

/** A scratch buffer of at least `bytes` owned by the context, reused across calls (grown as needed).
 *  `channel` separates scratch buffers that must coexist within one operation. */
#define T6I_SCRATCH_CHANNELS 4
t6_status t6i_scratch(t6_context *ctx, int channel, size_t bytes, cl_mem *out);

/** A buffer of at least `bytes` owned by the context that holds zeros when handed out, for counters that a
 *  kernel increments and resets to zero before it ends (fused split merges). Zero-filled when it grows. */
t6_status t6i_zeroed(t6_context *ctx, size_t bytes, cl_mem *out);

/** Blocking host<->device copy with conversion between floats and `dtype` storage (buffer.c). The caller
 *  holds the context's lock. `what` names the public call in errors. */
t6_status t6i_transfer(t6_context *ctx, cl_mem buffer, t6_dtype dtype, size_t offset, size_t count, float *host,
                       bool upload, const char *what);

/** The check of every cl_mem an application passes: T6_ERROR_INVALID_ARGUMENT when `buffer` is NULL or belongs
 *  to another OpenCL context than ctx's, T6_ERROR_BUFFER_TOO_SMALL unless it holds offset + count elements of
 *  `dtype`. `name` names the argument in the message. */
t6_status t6i_check_buffer(const t6_context *ctx, cl_mem buffer, t6_dtype dtype, size_t offset, size_t count,
                           const char *name);

/** Serializes calls on a context (see the thread-safety note in t6.h). The lock is recursive, so a public
 *  call may make other public calls on the same context. The outermost lock routes the thread's log to the
 *  context (t6i_log_route) and the matching unlock restores it. */
void t6i_lock(t6_context *ctx);
void t6i_unlock(t6_context *ctx);

/** The context's reference count (t6.h, Context, "Lifetime"): every object made from a context retains it when
 *  made and releases it when destroyed; t6_context_destroy releases the application's reference. The last
 *  release frees the context. */
void t6i_context_retain(t6_context *ctx);
void t6i_context_release(t6_context *ctx);

/* ---- the context (context.c) ---- */

typedef struct t6i_program_entry t6i_program_entry;

typedef struct t6i_explicit_param {
    char name[64];
    int value;
} t6i_explicit_param;

struct t6_context {
    atomic_int references; /* t6i_context_retain: the application's handle and each object made from it */
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl_ctx;
    cl_command_queue queue; /* where every command goes; t6_context_set_queue replaces it */
    bool queue_profiling;
    bool device_retained; /* the application's device, retained (t6_context_create_from_cl) */
    t6_device_info info;
    char last_error[T6I_ERROR_TEXT];
    pthread_mutex_t lock;
    int lock_depth;                /* t6i_lock's nesting on the thread that holds the lock */
    const t6_context *log_outer;   /* the thread's log route before the outermost t6i_lock */

    /* t6_context_options, resolved against the environment at creation */
    char *cache_dir;     /* the disk cache's folder; NULL: no disk cache */
    char *kernel_dir;    /* kernel sources are read from here; NULL: the embedded ones */
    char *profile_path;  /* profile files or folders searched first, colon-separated; NULL: none */
    bool user_profiles;  /* search the user's profile folder ($XDG_CONFIG_HOME/t6/profiles, ~/.config/...) */
    t6_log_fn log_fn;    /* the context's own log; NULL: the process-wide one */
    t6_log_level log_level;
    void *log_user_data;

    t6i_program_entry *programs; /* memory cache of built programs */

    t6i_explicit_param explicit_params[T6_OP_COUNT][T6I_MAX_PARAMS];
    int explicit_count[T6_OP_COUNT];
    t6i_profile *profile;
    bool run_known_wrong; /* t6_context_set_refuse_known_wrong(ctx, 0): t6-tune's workers */

    bool timing;
    cl_event op_first_event, op_last_event;
    uint64_t commands; /* commands enqueued on `queue` (t6_context_command_count): t6i_count_commands */
    int op_nesting; /* > 0 inside a composite operation (a model step): inner ops do not start their own */

    cl_mem meta[T6I_META_CHANNELS];
    size_t meta_capacity[T6I_META_CHANNELS];
    /* t6i_upload_meta's host copies, a ring per channel, each kept until its write has completed */
    void *meta_host[T6I_META_CHANNELS][T6I_META_RING];
    size_t meta_host_capacity[T6I_META_CHANNELS][T6I_META_RING];
    cl_event meta_event[T6I_META_CHANNELS][T6I_META_RING];
    int meta_next[T6I_META_CHANNELS];
    size_t meta_last_bytes[T6I_META_CHANNELS]; /* of the last write, in the ring slot before meta_next; 0: none */

    cl_mem scratch[T6I_SCRATCH_CHANNELS];
    size_t scratch_capacity[T6I_SCRATCH_CHANNELS];
    cl_mem zeroed; /* t6i_zeroed */
    size_t zeroed_capacity;
    bool nv_compiler_options; /* the device lists cl_nv_compiler_options: -cl-nv-maxrregcount is accepted */
    bool large_grf; /* t6i_device_has_large_grf, until a build refuses T6I_LARGE_GRF_OPTION (program.c) */
    int decode_mma; /* kernel 3's tensor-core probe (attention_decode.c): 0 not run, 1 passed, -1 failed */
    int mma16_probe[2]; /* the tensor-core kernels' probe per cache type, fp16 then bf16 (attention_mma.c): the same */
    t6_precision precision; /* the default of attention calls: strict or fast, never T6_PRECISION_DEFAULT */
    /* model_kernels.c's t6_model_gemv per (weight dtype, log2 vector width, log2 row block, norm, SwiGLU):
     * found without building an options string, a decode step's largest host cost in t6 after the sources'
     * scans. Owned by the program cache. */
    cl_kernel gemv_kernels[3][4][4][2][2];
};

/* ---- devices (device.c) ---- */

/** The OpenCL devices of all platforms in t6's numbering. Caller frees *devices and *platforms. */
t6_status t6i_list_devices(cl_device_id **devices, cl_platform_id **platforms, int *count);
/** Fills `info` for `device`. `ctx` may be NULL (errors go to the thread's last error). */
t6_status t6i_describe_device(const t6_context *ctx, cl_platform_id platform, cl_device_id device,
                              t6_device_info *info);
/** Whether `device` lists the extension `name` (a whole word of CL_DEVICE_EXTENSIONS); false when it cannot
 * be read. */
bool t6i_device_has_extension(cl_device_id device, const char *name);
/** Whether `device` (described by `info`) is an Intel GPU with the large register file: one that reports DPAS
 *  through cl_intel_device_attribute_query, as every Xe-HPG, Xe-HPC and Xe2 GPU does (Xe-LP has neither). */
bool t6i_device_has_large_grf(cl_device_id device, const t6_device_info *info);
/** The normalized vendor, name and family from raw strings (exposed for tests with made-up devices). */
void t6i_normalize_identity(t6_device_info *info);
/** Major and minor OpenCL version from a CL_DEVICE_VERSION string; 0.0 when unparseable. */
void t6i_parse_cl_version(const char *text, int *major, int *minor);

/* ---- objects shared between op files ---- */

struct t6_cache {
    t6_context *ctx;
    t6_cache_config config;
    cl_mem factor[4];   /* by t6_cache_factor: [slot][position][factor size] */
    int *length;        /* per slot: one past the highest position written */
    int *rank_q;        /* per slot: rank_q of the layer whose t6_project wrote it last; 0 when none did, or
                           t6_cache_write or t6_cache_reset came since (then attention cannot check it) */
};

/** Marks positions as written after a device-side write, for t6_cache_length. */
void t6i_cache_note_written(t6_cache *cache, int slot, int end_position);
/** Records that t6_project with a layer of `rank_q` wrote `slot` (0: written otherwise, nothing to check). */
void t6i_cache_note_rank_q(t6_cache *cache, int slot, int rank_q);

/** Validates the shape fields shared by layers and caches (heads, head_dim, ranks). */
t6_status t6i_check_attention_shape(const t6_context *ctx, int heads, int head_dim, int rank_q, int rank_k,
                                    int rank_v);

/* The layer (layer.c; its header describes the packed weight layout the projection kernels read). */
struct t6_layer {
    t6_context *ctx;
    t6_layer_config config;
    int columns;        /* packed output columns: H(Rq+Rk+Rv) rounded up to even, then (Rq+Rk+Rv)·D */
    int rows_allocated; /* packed rows held: columns rounded up to 128, the extra rows zero */
    int ld;             /* elements per packed row: C rounded up to 32, the extra elements zero */
    cl_mem weights;     /* rows_allocated × ld in config.weight_dtype */
    cl_mem inv_freq;    /* D/2 floats, (float)(1 / base^(2i/D)) computed in double */
    cl_mem weights_f32; /* fp32 copy of `weights` for CLBlast, made on first use when weight_dtype ≠ f32 */
};

/**
 * t6_project as the whole model calls it (model.c; the context locked): rows of `hidden` and `query` from
 * element 0, slots and positions the model has checked against the cache, the rows' metadata already on the
 * device (`meta`: a cl_uint2 (slot·capacity + position, position) per row from element 0, written once per
 * step for every layer), the fused method, and with norm_eps > 0 each hidden row RMSNorm'd inside the product
 * (the model's rmsnorm(x) before attention, one command fewer). T6_ERROR_UNSUPPORTED, with nothing enqueued,
 * when the call takes the tiles kernel (many rows on GPUs), which has no norm: normalize first then.
 */
t6_status t6i_project_model(t6_layer *layer, t6_cache *cache, int rows, cl_mem hidden, cl_mem meta,
                            const int *slots, const int *positions, cl_mem query, float norm_eps);

/** The projection's self-test: a small odd layer through both methods against t6_ref_project (projection.c). */
t6_status t6i_self_test_projection(t6_context *ctx);

/* ---- split decoding and attention baselines (decode_merge.c, attention_materialized.c) ---- */

/**
 * Split decoding writes partial results for (batch, split, head) rows into one float buffer: acc (rows × D,
 * unnormalized Σ e^(s − max)·value with value scales applied), then max (rows; −INFINITY for a split with no
 * positions), then sum (rows: Σ e^(s − max)), rows ordered [batch][split][head]. This is its size in floats.
 */
size_t t6i_split_partials_floats(int batch, int splits, int heads, int head_dim);
/** Merges such partials by log-sum-exp into out (batch × heads × D fp32 at out_offset). */
t6_status t6i_merge_splits(t6_context *ctx, int batch, int heads, int head_dim, int splits, cl_mem partials,
                           cl_mem out, size_t out_offset);

/**
 * The materialized baseline (T6_ATTENTION_MATERIALIZED): forms K and V from the cache's factors in scratch, Q
 * from the query factors, then runs standard attention. Called by t6_attention_decode/prefill after they have
 * validated every argument, with the context locked; same argument meanings as those calls.
 */
typedef struct t6i_scales t6i_scales;
t6_status t6i_attention_materialized_decode(t6_cache *cache, int rank_q, int batch, const int *slots,
                                            const int *lengths, cl_mem query, size_t query_offset, cl_mem out,
                                            size_t out_offset, const t6i_scales *scales);
t6_status t6i_attention_materialized_prefill(t6_cache *cache, int rank_q, int batch, const int *slots,
                                             const int *starts, const int *counts, cl_mem query,
                                             size_t query_offset, cl_mem out, size_t out_offset,
                                             const t6i_scales *scales);

/** Resolved attention scales (defaults filled in). */
struct t6i_scales {
    float q, k, v, softmax;
};
t6i_scales t6i_resolve_scales(const t6_attention_options *options, int rank_q, int rank_k, int rank_v,
                              int head_dim);

/** Self-test checks of factorized attention (attention_self_test.c): decode and prefill against
 *  t6_ref_decode/t6_ref_prefill on a small odd shape. */
t6_status t6i_self_test_decode(t6_context *ctx);
t6_status t6i_self_test_prefill(t6_context *ctx);

/* ---- conventional K/V cache and MHA/GQA/MQA attention (kv_cache.c, mha.c) ---- */

struct t6_kv_cache {
    t6_context *ctx;
    t6_kv_cache_config config;
    cl_mem k, v;  /* [slot][position][kv_head][d] in config.dtype */
    int *length;  /* per slot: one past the highest position written */
};

/** K and V as MHA reads them: any pair of buffers laid out [slot][position][kv_head][d], slot_stride elements
 *  apart, starting at element 0. The K/V cache is one; the materialized baseline's scratch is another. Within
 *  a slot, element indices must stay below 2^32. */
typedef struct t6i_kv_view {
    cl_mem k, v;
    t6_dtype dtype;
    int kv_heads, head_dim;
    size_t slot_stride;
} t6i_kv_view;

/** MHA decode and causal prefill over a view, for arguments the caller has validated (context locked; the
 *  caller starts the operation with t6i_op_begin). Same meanings as t6_mha_decode/t6_mha_prefill; scale is
 *  the softmax scale itself (not 0). q/out offsets plus extents must fit in 32 bits. Uses scratch channel 3
 *  and metadata channels 0 and 1. */
t6_status t6i_mha_decode_view(t6_context *ctx, const t6i_kv_view *kv, int heads, int batch, const int *slots,
                              const int *lengths, cl_mem q, size_t q_offset, cl_mem out, size_t out_offset,
                              float scale);
t6_status t6i_mha_prefill_view(t6_context *ctx, const t6i_kv_view *kv, int heads, int batch, const int *slots,
                               const int *starts, const int *counts, cl_mem q, size_t q_offset, cl_mem out,
                               size_t out_offset, float scale);
/** The prefill on tensor cores (kernels_cl/mha_mma.cl; T6_MHP_KERNEL 3, or automatic on GPUs) with the entries
 *  (slot, start, count, first row per batch entry) already on the device. T6_ERROR_UNSUPPORTED when the device,
 *  the K/V type or the shape does not suit it: the caller falls back to its FMA kernels. */
t6_status t6i_mha_prefill_mma(t6_context *ctx, const t6i_params *params, const t6i_kv_view *kv, int heads, int batch,
                              cl_mem entries, int max_count, cl_mem q, size_t q_offset, cl_mem out, size_t out_offset,
                              float scale);

/** Self-test checks (self_test.c's table): MHA decode/prefill against t6_ref_attention, and the materialized
 *  baseline against t6_ref_decode. */
t6_status t6i_self_test_mha(t6_context *ctx);
t6_status t6i_self_test_materialized(t6_context *ctx);

/** Self-test check of the whole model's kernels (model_self_test.c): embedding, RMSNorm, SwiGLU, MHA RoPE. */
t6_status t6i_self_test_model(t6_context *ctx);

#endif /* T6_INTERNAL_H */
