/*
 * t6.h — Tensor Product Attention on any OpenCL device.
 *
 * This header is the manual. t6 runs the attention of the T6 transformer (Tensor Product Attention, TPA,
 * arXiv:2501.06425) on OpenCL 1.2+ devices: the fused factor projection that writes the factorized KV cache,
 * factorized decode and causal prefill over that cache, and the conventional baselines (attention through
 * materialized K/V, MHA/GQA/MQA over a K/V cache). Kernel parameters come from JSON device profiles tuned by
 * `t6-tune`, picked at run time by device identity.
 *
 * Conventions that hold for every declaration below:
 * - Every fallible call returns a t6_status: T6_SUCCESS (0) or a negative error. Nothing is printed, nothing
 *   aborts; the detail of a context's last failure (the OpenCL call and its cl_int, the head of a build log,
 *   the argument that was wrong) is kept for t6_context_last_error().
 * - Handles are opaque and come in create/destroy pairs. Every destroy accepts NULL. Objects made from a
 *   context keep a reference to it, so they may be destroyed before or after it (see Context, "Lifetime").
 * - Buffers are the application's cl_mem objects; every offset and count is in elements of the buffer's storage
 *   type, never in bytes. A buffer smaller than the shape needs is rejected with T6_ERROR_BUFFER_TOO_SMALL
 *   before any kernel runs, and one created in another OpenCL context than the t6 context's (CL_MEM_CONTEXT)
 *   with T6_ERROR_INVALID_ARGUMENT naming the argument.
 * - Operations are enqueued on the context's in-order command queue and return without waiting; results are
 *   ready once the queue is finished (clFinish) or after a blocking download through this library. Work of the
 *   application's own is ordered with t6's through that queue (see Context).
 * - Thread safety: distinct contexts may be used from distinct threads at the same time. One context, and
 *   everything made from it, is safe to use from several threads: calls on it are serialized by a lock it owns.
 *   The log callback of t6_set_log_callback and the global settings below are process-wide; set them before
 *   creating contexts (a context's own log, t6_context_options.log_fn, is fixed when it is created).
 *   When threads share a context: give each its own cache slots (or caches) and its own buffers, since the
 *   operations of all threads go to the one in-order queue in the order their calls took the lock, and a
 *   thread's results are ready once its own blocking download returns; t6_context_last_error() then holds the
 *   failure of whichever thread failed last, so read it right after the failing call; and destroy nothing that
 *   another thread may still be using (t6_context_destroy gives up the handle every thread shares: call it when
 *   no thread will pass that handle again).
 *   tests/check_threads.c exercises both patterns.
 *
 * Layouts (all row-major, as in the T6 reference code and ../shared/TPA.md):
 * - Layer weights as PyTorch nn.Linear: W_A_q (H·Rq)×C with row h·Rq+r, W_B_q (Rq·D)×C with row r·D+d, likewise
 *   for K (Rk) and V (Rv).
 * - Query factors of one token (the output of t6_project, the input of attention): A_Q[h][r] (H·Rq floats)
 *   followed by B_Q[r][d] (Rq·D floats, RoPE applied); t6_query_row_size() floats per token, fp32.
 * - Attention output of one token: out[h][d], H·D floats, fp32.
 */
#ifndef T6_H
#define T6_H

#include <stddef.h>
#include <stdint.h>

/* t6 declares nothing past OpenCL 1.0's types, so the application picks its OpenCL headers' target: define
 * CL_TARGET_OPENCL_VERSION before including t6.h (or any OpenCL header), or leave it to the headers' default. t6
 * itself is built with CL_TARGET_OPENCL_VERSION=120 and runs on any OpenCL 1.2 or later device. */
#ifdef __APPLE__
#include <OpenCL/cl.h>
#else
#include <CL/cl.h>
#endif

#if defined(_WIN32) && defined(T6_BUILDING_SHARED)
#define T6_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(T6_BUILDING_SHARED)
#define T6_API __attribute__((visibility("default")))
#else
#define T6_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------------------------- */
/*
 * Compatibility: from 1.0 on, the ABI holds within a major version (the shared library's soname is libt6.so.MAJOR).
 * Before 1.0 a minor release may break the API and the ABI, so the soname is libt6.so.0.MINOR: a program built
 * against 0.2 never loads a 0.3 library. The structs an application fills grow without breaking it (see "Structs
 * that grow" below); check the library's version at run time with t6_version_number() when it matters.
 */
#define T6_VERSION_MAJOR 0
#define T6_VERSION_MINOR 2
#define T6_VERSION_PATCH 0
#define T6_VERSION_STRING "0.2.0"
/** MAJOR·10000 + MINOR·100 + PATCH (0.2.0 is 200), for comparisons in the preprocessor. */
#define T6_VERSION_NUMBER (T6_VERSION_MAJOR * 10000 + T6_VERSION_MINOR * 100 + T6_VERSION_PATCH)

/** The library's version as "MAJOR.MINOR.PATCH"; may differ from T6_VERSION_STRING when the header and the
 *  shared library come from different builds. Static storage, never NULL. */
T6_API const char *t6_version_string(void);
/** The library's T6_VERSION_NUMBER, which may differ from the header's in the same way. */
T6_API unsigned t6_version_number(void);

/* ---------------------------------------------------------------------------------------------------------
 * Status codes. Values are fixed forever; a retired value is never reused.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum t6_status {
    T6_SUCCESS = 0,
    T6_ERROR_INVALID_ARGUMENT = -1,   /**< NULL, out-of-range or inconsistent argument; nothing was enqueued */
    T6_ERROR_OUT_OF_HOST_MEMORY = -2, /**< malloc failed */
    T6_ERROR_OPENCL = -3,             /**< an OpenCL call failed; the last error names the call and its cl_int */
    T6_ERROR_DEVICE_NOT_FOUND = -4,   /**< no OpenCL device, or none matching the selector */
    T6_ERROR_DEVICE_UNSUPPORTED = -5, /**< the device is below OpenCL 1.2 or lacks something t6 needs */
    T6_ERROR_BUILD_FAILED = -6,       /**< a kernel did not compile; the last error holds the head of the log */
    T6_ERROR_BUFFER_TOO_SMALL = -7,   /**< a cl_mem is smaller than offset + the elements the shape needs */
    T6_ERROR_INVALID_PARAMS = -8,     /**< kernel parameters the device cannot run (set explicitly: a profile's
                                           values that fail give way to the next level, see Profiles) */
    T6_ERROR_IO = -9,                 /**< a file could not be read or written */
    T6_ERROR_FORMAT = -10,            /**< a file (profile, checkpoint) is malformed */
    T6_ERROR_CLBLAST = -11,           /**< a CLBlast routine failed; the last error holds its status */
    T6_ERROR_UNSUPPORTED = -12,       /**< a valid request this device or build cannot serve */
    T6_ERROR_OUT_OF_DEVICE_MEMORY = -13, /**< the device could not allocate memory for a buffer or a command
                                              (CL_MEM_OBJECT_ALLOCATION_FAILURE; CL_OUT_OF_RESOURCES from a
                                              buffer allocation): free device memory (shrink a cache, evict a
                                              sequence) and try again */
    T6_ERROR_WRONG_RESULT = -14       /**< a self-test check computed numbers that disagree with the
                                           double-precision reference: the device or its driver is not to be
                                           trusted with that kernel; the last error names the check */
} t6_status;

/** A short static English text for a status ("invalid argument"); "unknown status" for other values. */
T6_API const char *t6_status_string(t6_status status);

/* ---------------------------------------------------------------------------------------------------------
 * Structs that grow. Every struct that carries options or a configuration into t6, or a description out of it
 * (t6_context_options, t6_device_info, t6_layer_config, t6_cache_config, t6_project_options,
 * t6_attention_options, t6_kv_cache_config, t6_model_config), starts with `size_t struct_size`: the struct's
 * size as the application was compiled. Start every such struct from its initializer, which sets struct_size
 * and every other field to its default, then set the fields you need:
 *     t6_cache_config config = T6_CACHE_CONFIG_INIT;
 *     config.heads = 8;  ...
 * (or `config = (t6_cache_config)T6_CACHE_CONFIG_INIT;` in C for a struct declared earlier). Later versions add
 * fields only at the end, each with 0 meaning what the version before did. So:
 * - a library newer than the application reads the fields the application knows and takes the defaults for
 *   the others: an application keeps working, unchanged and not recompiled, with later libraries (of its
 *   soname: see Compatibility);
 * - a library older than the application refuses its larger struct with T6_ERROR_UNSUPPORTED naming the
 *   struct (it cannot honour fields it does not know);
 * - a struct_size below the struct's first version's (0: the initializer was forgotten) is
 *   T6_ERROR_INVALID_ARGUMENT naming the struct;
 * - a struct t6 fills (t6_device_info, t6_layer_get_config, ...) is written whole: the fields this library
 *   knows with their values, any others with 0, struct_size kept. Set its struct_size before the call.
 * t6_layer_weights and t6_ref_shape hold what the mathematics fixes and do not grow. t6_param_info belongs to
 * the tuning interface (ops, parameters, profiles), which may still change with any minor version before 1.0.
 * ------------------------------------------------------------------------------------------------------- */

/* ---------------------------------------------------------------------------------------------------------
 * Logging. Silent by default. The callback may be called from any thread that uses t6; it must not call back
 * into t6. The process-wide log below is not thread safe: install it before creating contexts. A context can
 * have a log of its own instead (t6_context_options.log_fn), which receives the messages of the calls on it.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum t6_log_level { T6_LOG_DEBUG = 0, T6_LOG_INFO = 1, T6_LOG_WARN = 2, T6_LOG_ERROR = 3 } t6_log_level;
typedef void (*t6_log_fn)(t6_log_level level, const char *message, void *user_data);

/** Installs `fn` (NULL: silent) to receive messages of `min_level` and above. `user_data` is passed through. */
T6_API void t6_set_log_callback(t6_log_fn fn, t6_log_level min_level, void *user_data);

/** A ready-made callback that writes "t6 <level>: <message>" lines to stderr, for programs and tests. */
T6_API void t6_log_to_stderr(t6_log_level level, const char *message, void *user_data);

/* ---------------------------------------------------------------------------------------------------------
 * Files. Everything t6 reads from outside (checkpoints, profiles, cached binaries, kernel sources) goes through
 * one reader that refuses anything but a regular file without waiting on it; programs built on t6 (t6-tune
 * reads its logs and profiles with it) can use the same.
 * ------------------------------------------------------------------------------------------------------- */

/** Reads the whole file at `path` into a new buffer, with a NUL after its bytes. `what` names the file in the
 *  message ("profile"; NULL reads "file"); `max_bytes` bounds the size. On success *text (release it with
 *  t6_free) holds *length bytes; on failure *text is NULL and t6_context_last_error(NULL) says why. A FIFO, a
 *  socket, a device or a folder under the name is refused at once, never waited on. Thread safe.
 *  Returns T6_SUCCESS, T6_ERROR_INVALID_ARGUMENT (NULL path, text or length), T6_ERROR_IO (missing, unreadable,
 *  or not a regular file), T6_ERROR_FORMAT (over `max_bytes`), T6_ERROR_OUT_OF_HOST_MEMORY. */
T6_API t6_status t6_read_file(const char *path, const char *what, size_t max_bytes, char **text, size_t *length);

/** Releases memory t6 returned to the caller (t6_read_file's text). NULL is accepted. */
T6_API void t6_free(void *memory);

/* ---------------------------------------------------------------------------------------------------------
 * Storage types. Arithmetic is always fp32; these are how caches, weights and buffers are stored.
 * fp16 goes through vload_half/vstore_half (no cl_khr_fp16 needed); bf16 is the upper 16 bits of an fp32,
 * rounded to nearest even on store.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum t6_dtype { T6_F32 = 0, T6_F16 = 1, T6_BF16 = 2 } t6_dtype;

/** Bytes per element: 4, 2, 2; 0 for an unknown type. */
T6_API size_t t6_dtype_size(t6_dtype dtype);
/** "f32", "f16", "bf16"; "unknown" otherwise. */
T6_API const char *t6_dtype_name(t6_dtype dtype);
/** `value` after a round trip through `dtype` storage, exactly as the device stores it (round to nearest even;
 *  overflow to ±inf, NaN stays NaN). Lets tests feed a reference the values t6 stored. */
T6_API float t6_round_to_dtype(t6_dtype dtype, float value);

/* ---------------------------------------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------------------------------------- */
#define T6_INFO_TEXT 256

/** What t6 knows of a device. Strings are NUL-terminated and truncated to fit. */
typedef struct t6_device_info {
    size_t struct_size;                 /**< sizeof(t6_device_info): T6_DEVICE_INFO_INIT */
    char platform_name[T6_INFO_TEXT];
    char platform_vendor[T6_INFO_TEXT];
    char platform_version[T6_INFO_TEXT];
    char vendor[T6_INFO_TEXT];          /**< CL_DEVICE_VENDOR */
    unsigned vendor_id;                 /**< CL_DEVICE_VENDOR_ID (0x10DE NVIDIA, 0x1002 AMD, 0x8086 Intel) */
    char name[T6_INFO_TEXT];            /**< CL_DEVICE_NAME, raw */
    char driver_version[T6_INFO_TEXT];  /**< CL_DRIVER_VERSION */
    char device_version[T6_INFO_TEXT];  /**< CL_DEVICE_VERSION ("OpenCL 3.0 CUDA") */
    char opencl_c_version[T6_INFO_TEXT];
    int is_gpu;                         /**< 1 when CL_DEVICE_TYPE_GPU */
    unsigned compute_units;
    unsigned clock_mhz;
    unsigned long long global_mem_bytes;
    unsigned long long max_alloc_bytes;
    unsigned long long local_mem_bytes;
    size_t max_work_group_size;
    size_t preferred_work_group_multiple; /**< warp/wavefront/SIMD width as the driver reports it for a kernel */
    int has_fp16;                       /**< cl_khr_fp16 (t6 never needs it) */
    int has_fp64;                       /**< cl_khr_fp64 */
    char normalized_vendor[64];         /**< "nvidia", "amd", "intel", "pocl", or the lowercased raw vendor */
    char normalized_name[T6_INFO_TEXT]; /**< trimmed name, PoCL's "pthread-"/"cpu-" prefixes stripped */
    char family[64];                    /**< architecture family, or "": "sm_90"; "gfx9" (GCN/CDNA, wave64),
                                             "gfx10"-"gfx12" (RDNA, wave32); "xe-hpc", "xe-hpg", "xe2-hpg",
                                             "xe-lp", "gen9"; "x86-avx512" */
    char identity[2 * T6_INFO_TEXT];    /**< the key profiles match on: "<normalized_vendor>/<normalized_name>" */
} t6_device_info;

/** An empty t6_device_info with its struct_size set, to be filled by t6_device_describe or
 *  t6_context_device_info. */
#define T6_DEVICE_INFO_INIT                                                                                      \
    {sizeof(t6_device_info), "", "", "", "", 0u, "", "", "", "", 0, 0u, 0u, 0ull, 0ull, 0ull, 0u, 0u, 0, 0, "", \
     "", "", ""}

/** Number of OpenCL devices on all platforms, in the order t6 numbers them. 0 is not an error. */
T6_API t6_status t6_device_count(int *count);
/** Describes device `index` (0-based, same order as t6_device_count) without creating a t6 context. `info`'s
 *  struct_size must be set (T6_DEVICE_INFO_INIT). */
T6_API t6_status t6_device_describe(int index, t6_device_info *info);

/* ---------------------------------------------------------------------------------------------------------
 * Context: a device, an OpenCL context and an in-order command queue (with profiling enabled when t6 made it),
 * compiled kernels, the device's tuning profile and the last error.
 *
 * Lifetime: layers, caches, K/V caches and models each hold a reference to the context they were made from.
 * t6_context_destroy gives up the application's reference: pass the handle to no call after it. The objects
 * made from the context stay usable, and the context's OpenCL objects and compiled kernels are released when
 * the last of them is destroyed. Objects may therefore be destroyed in any order. Buffers (cl_mem) the
 * application creates, even through t6_buffer_create, are the application's: they keep the OpenCL context
 * alive by OpenCL's own reference counting, not the t6 context.
 *
 * Ordering with the application's own OpenCL work: t6 enqueues every operation on the context's one in-order
 * queue (t6_context_cl_queue), in call order, and waits for nothing enqueued elsewhere. Work the application
 * enqueues on that queue before a t6 call runs before it, and work enqueued after runs after it; no event is
 * needed. For work on another queue, use OpenCL's own means on that boundary: make the context's queue wait
 * for the other's events (clEnqueueBarrierWithWaitList on t6_context_cl_queue()), or take an event of t6's
 * work (clEnqueueMarkerWithWaitList on it) for the other queue to wait on. t6_context_set_queue moves the
 * context to another queue, for example to follow the application's current stream.
 * ------------------------------------------------------------------------------------------------------- */
typedef struct t6_context t6_context;

/**
 * What only the environment set before: the device, the disk cache of compiled kernels, the profile search
 * path, the kernel sources, and a log of the context's own. Start from T6_CONTEXT_OPTIONS_INIT. A NULL string
 * (the default) takes the environment variable named beside it, as t6_context_create does; "" turns the
 * thing off or empties it.
 */
typedef struct t6_context_options {
    size_t struct_size;    /**< sizeof(t6_context_options): T6_CONTEXT_OPTIONS_INIT */
    const char *device;    /**< a device selector (see t6_context_create); NULL or "": T6_DEVICE if set, else
                                the first GPU, else the first device */
    cl_context opencl_context;    /**< the application's OpenCL objects to wrap, all three or none (see
                                       t6_context_create_from_cl); `device` is then ignored */
    cl_device_id opencl_device;
    cl_command_queue opencl_queue;
    const char *cache_dir;  /**< folder of compiled kernel binaries, created when missing. NULL: T6_CACHE_DIR if
                                 set, else $XDG_CACHE_HOME/t6, else ~/.cache/t6; "": no disk cache */
    const char *profile_path; /**< colon-separated profile files or folders, searched before the user folder and
                                   the installed profiles (see Profiles). NULL: T6_PROFILE_PATH; "": none */
    const char *kernel_dir; /**< read kernels_cl/<name>.cl from this folder instead of the embedded copies
                                 (kernel development). NULL: T6_KERNEL_DIR; "": the embedded copies */
    int ignore_environment; /**< nonzero: read no environment variable at all. NULL fields then take the
                                 defaults without one: the first GPU, no disk cache, no profile path and no user
                                 profile folder (the installed profiles only), the embedded kernels */
    t6_log_fn log_fn;       /**< this context's log: the messages of its creation and of every call on it and
                                 on the objects made from it; NULL: the process-wide log (t6_set_log_callback) */
    t6_log_level log_level; /**< the least level log_fn receives */
    void *log_user_data;    /**< passed to log_fn */
} t6_context_options;

/** The defaults: every string NULL (the environment decides), no OpenCL objects, the process-wide log. */
#define T6_CONTEXT_OPTIONS_INIT                                                                                  \
    {sizeof(t6_context_options), NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, T6_LOG_INFO, NULL}

/**
 * Creates a context as `options` say (NULL: the defaults, the same as t6_context_create(NULL, out)). With
 * opencl_context, opencl_device and opencl_queue it wraps them as t6_context_create_from_cl does; otherwise it
 * creates its own on the selected device. The options are read during the call only: the strings may be
 * freed after it. The environment is read during the call only too; later changes to it do not reach the
 * context. Statuses as t6_context_create's and t6_context_create_from_cl's, and T6_ERROR_INVALID_ARGUMENT for
 * a struct_size out of range (see "Structs that grow"), some but not all of the OpenCL objects, or a log level
 * outside T6_LOG_DEBUG..T6_LOG_ERROR.
 */
T6_API t6_status t6_context_create_with_options(const t6_context_options *options, t6_context **out);

/**
 * Creates a context on a device picked by `device_selector`: NULL or "" means the environment variable
 * T6_DEVICE if set, else the first GPU of OpenCL 1.2 or later, else the first device. A selector is a device
 * index ("1") or a case-insensitive substring of "<platform name> <device name>" ("nvidia", "pthread",
 * "llvmpipe" for Mesa's rusticl on the CPU, which lists it with RUSTICL_ENABLE=llvmpipe). An unknown selector
 * is T6_ERROR_DEVICE_NOT_FOUND, a device below OpenCL 1.2 T6_ERROR_DEVICE_UNSUPPORTED; the reason is in
 * t6_context_last_error(NULL) on this thread. Loads tuning profiles (see Profiles). `*out` is set on success.
 * The disk cache, the profile path and the kernel sources follow the environment (see t6_context_options).
 */
T6_API t6_status t6_context_create(const char *device_selector, t6_context **out);

/**
 * Wraps the application's own OpenCL objects: `context` must contain `device`, and `queue` must be an
 * in-order queue of that context and device. t6 retains all three (clRetainContext, clRetainDevice,
 * clRetainCommandQueue) for as long as the t6 context lives and releases them when it goes, so the
 * application may release its own references at any time. When the queue lacks CL_QUEUE_PROFILING_ENABLE,
 * t6_context_set_timing and t6_context_last_op_time return T6_ERROR_UNSUPPORTED.
 */
T6_API t6_status t6_context_create_from_cl(cl_context context, cl_device_id device, cl_command_queue queue,
                                           t6_context **out);

/** Gives up the application's reference (see Lifetime above). When no object made from the context is left,
 *  waits for the queue and releases everything the context holds; otherwise that happens when the last such
 *  object is destroyed. NULL is fine. */
T6_API void t6_context_destroy(t6_context *ctx);

/**
 * Makes `queue` the context's command queue for every later operation. It must be an in-order queue of the
 * context's OpenCL context and device (T6_ERROR_INVALID_ARGUMENT otherwise, naming what differs). The
 * operations already enqueued on the old queue come first: t6 puts a marker on the old queue and, on the new
 * one, a barrier that waits for it (two commands, without blocking the host). The new queue is retained and the
 * old one released. With timing on (t6_context_set_timing), a queue without CL_QUEUE_PROFILING_ENABLE is
 * T6_ERROR_UNSUPPORTED and the context keeps its queue. Thread safe; the application orders its own work on
 * the queues as the Context section says.
 */
T6_API t6_status t6_context_set_queue(t6_context *ctx, cl_command_queue queue);

/**
 * The detail of the last failure on `ctx` ("clBuildProgram(decode) = -11: <log head>"), or "" if none.
 * With ctx NULL: the last failure of a call on this thread that had no context to keep it (context creation,
 * device queries). The text stays valid until the next failing call on the same context or thread.
 */
T6_API const char *t6_context_last_error(const t6_context *ctx);

/** Fills `info` (its struct_size set: T6_DEVICE_INFO_INIT) with the context's device description. */
T6_API t6_status t6_context_device_info(const t6_context *ctx, t6_device_info *info);

/** The context's OpenCL objects (not retained for the caller: do not release them). The queue is the one
 *  operations go to now (see t6_context_set_queue). */
T6_API cl_context t6_context_cl_context(const t6_context *ctx);
T6_API cl_device_id t6_context_cl_device(const t6_context *ctx);
T6_API cl_command_queue t6_context_cl_queue(const t6_context *ctx);

/** Blocks until everything enqueued through the context has finished. */
T6_API t6_status t6_context_finish(t6_context *ctx);

/**
 * Runs every embedded kernel once on a small random problem and compares it with the double-precision
 * reference. Writes a line per check to the log (info level). T6_SUCCESS when all pass; T6_ERROR_WRONG_RESULT
 * when a check ran but its numbers are off; otherwise the status that stopped the first failing check (a build
 * failure, T6_ERROR_OUT_OF_DEVICE_MEMORY, ...). The detail is in the last error. Used by `t6-info --self-test`.
 */
T6_API t6_status t6_context_self_test(t6_context *ctx);

/* ---------------------------------------------------------------------------------------------------------
 * Buffers: helpers to create, fill and read cl_mem buffers in any storage type. Blocking.
 * ------------------------------------------------------------------------------------------------------- */

/** Creates a read-write buffer of `count` elements of `dtype`. The caller owns it (clReleaseMemObject). */
T6_API t6_status t6_buffer_create(t6_context *ctx, t6_dtype dtype, size_t count, cl_mem *out);

/** Converts `count` floats from `host` to `dtype` and writes them at element `offset` of `buffer`. */
T6_API t6_status t6_buffer_upload(t6_context *ctx, cl_mem buffer, t6_dtype dtype, size_t offset, size_t count,
                                  const float *host);

/** Reads `count` elements of `dtype` at element `offset` of `buffer` into `host` as floats. */
T6_API t6_status t6_buffer_download(t6_context *ctx, cl_mem buffer, t6_dtype dtype, size_t offset, size_t count,
                                    float *host);

/* ---------------------------------------------------------------------------------------------------------
 * Layer: one TPA attention layer's configuration and its six factor weight matrices on the device.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum t6_rope_style {
    T6_ROPE_HALF = 0,        /**< pairs (i, i+D/2), as T6.py: y_i = x_i cos + x_{i+D/2} sin */
    T6_ROPE_INTERLEAVED = 1  /**< pairs (2i, 2i+1), as T6_infer.py */
} t6_rope_style;

typedef struct t6_layer_config {
    size_t struct_size;       /**< sizeof(t6_layer_config): T6_LAYER_CONFIG_INIT */
    int model_dim;            /**< C, ≥ 1 */
    int heads;                /**< H, ≥ 1 */
    int head_dim;             /**< D: 32, 64, 80, 96 or 128 */
    int rank_q, rank_k, rank_v; /**< Rq, Rk, Rv: 1..16 each */
    t6_rope_style rope_style;
    float rope_base;          /**< θ_i = p·base^(−2i/D); 10000 for T6.py, 500000 for T6_infer.py; > 1 */
    t6_dtype weight_dtype;    /**< storage of the weights on the device */
} t6_layer_config;

/** T6.py's layer settings (RoPE half, base 10000, fp32 weights) with every shape field 0: set them. */
#define T6_LAYER_CONFIG_INIT {sizeof(t6_layer_config), 0, 0, 0, 0, 0, 0, T6_ROPE_HALF, 10000.0f, T6_F32}

/** Host weights in the T6 checkpoint layout (see the top of this header), fp32. None may be NULL. */
typedef struct t6_layer_weights {
    const float *w_a_q, *w_a_k, *w_a_v; /**< (H·R)×C each */
    const float *w_b_q, *w_b_k, *w_b_v; /**< (R·D)×C each */
} t6_layer_weights;

typedef struct t6_layer t6_layer;

/** Checks `config`, uploads the weights once (rounded to config->weight_dtype) and returns the layer. */
T6_API t6_status t6_layer_create(t6_context *ctx, const t6_layer_config *config, const t6_layer_weights *weights,
                                 t6_layer **out);

/**
 * Like t6_layer_create, but the six weights are device buffers in the T6 layout, stored as
 * config->weight_dtype, in the order W_A_q, W_A_k, W_A_v, W_B_q, W_B_k, W_B_v. They are copied into the
 * layer's own layout: the caller keeps ownership of `weights` and may release them after the call.
 */
T6_API t6_status t6_layer_create_from_buffers(t6_context *ctx, const t6_layer_config *config,
                                              const cl_mem weights[6], t6_layer **out);

T6_API void t6_layer_destroy(t6_layer *layer);
/** The configuration the layer was created with. */
T6_API t6_status t6_layer_get_config(const t6_layer *layer, t6_layer_config *config);

/** Floats per token of query factors: H·Rq + Rq·D. 0 for an invalid config. */
T6_API size_t t6_query_row_size(const t6_layer_config *config);

/* ---------------------------------------------------------------------------------------------------------
 * Factor cache: per sequence slot and position, A_K (H·Rk), A_V (H·Rv), B_K (Rk·D, rotated) and B_V (Rv·D).
 * ------------------------------------------------------------------------------------------------------- */
typedef struct t6_cache_config {
    size_t struct_size;                  /**< sizeof(t6_cache_config): T6_CACHE_CONFIG_INIT */
    int heads, head_dim, rank_k, rank_v; /**< must match the layers that write it */
    int slots;                           /**< sequences held at once, ≥ 1 */
    int capacity;                        /**< positions per slot, ≥ 1 */
    t6_dtype dtype;                      /**< storage type */
} t6_cache_config;

/** One slot of fp32 storage, every shape field and the capacity 0: set them. */
#define T6_CACHE_CONFIG_INIT {sizeof(t6_cache_config), 0, 0, 0, 0, 1, 0, T6_F32}

typedef enum t6_cache_factor { T6_FACTOR_A_K = 0, T6_FACTOR_A_V = 1, T6_FACTOR_B_K = 2, T6_FACTOR_B_V = 3 } t6_cache_factor;

typedef struct t6_cache t6_cache;

T6_API t6_status t6_cache_create(t6_context *ctx, const t6_cache_config *config, t6_cache **out);
T6_API void t6_cache_destroy(t6_cache *cache);
T6_API t6_status t6_cache_get_config(const t6_cache *cache, t6_cache_config *config);

/** Elements of one factor per position: H·Rk, H·Rv, Rk·D or Rv·D. */
T6_API size_t t6_cache_factor_size(const t6_cache_config *config, t6_cache_factor factor);

/**
 * The number of positions of `slot` written so far: one past the highest position any write reached
 * (t6_project, t6_cache_write). Attention over more positions than this is rejected.
 */
T6_API t6_status t6_cache_length(const t6_cache *cache, int slot, int *length);

/** Forgets the contents of `slot` (its length becomes 0, and the rank_q it recorded), so it can hold a new
 *  sequence. */
T6_API t6_status t6_cache_reset(t6_cache *cache, int slot);

/**
 * Writes `count` positions of one factor from `first` on, from host floats (count × factor size), rounded to
 * the cache's storage type. Positions past capacity are rejected. Blocking. The slot forgets the rank_q that
 * t6_project recorded (see t6_attention_decode): its queries are the application's affair from then on.
 */
T6_API t6_status t6_cache_write(t6_cache *cache, t6_cache_factor factor, int slot, int first, int count,
                                const float *host);

/** Reads `count` positions of one factor from `first` on into host floats (count × factor size). Blocking. */
T6_API t6_status t6_cache_read(t6_cache *cache, t6_cache_factor factor, int slot, int first, int count, float *host);

/* ---------------------------------------------------------------------------------------------------------
 * Factor projection (TPA.md, "Factor projection"): for `rows` tokens, each with its own slot and absolute
 * position, computes A_Q, B_Q, A_K, B_K, A_V, B_V from the hidden states, applies RoPE to B_Q and B_K, writes
 * A_K, A_V, B_K, B_V into `cache` at (slot, position), and the query factors to `query`.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum t6_projection_method {
    T6_PROJECTION_FUSED = 0,  /**< one tuned kernel family: GEMM, RoPE and cache scatter in one pass */
    T6_PROJECTION_CLBLAST = 1 /**< CLBlast GEMM into scratch, then a small RoPE-and-scatter kernel; a build of
                                   t6 without CLBlast (CMake's T6_WITH_CLBLAST) has T6_ERROR_UNSUPPORTED */
} t6_projection_method;

typedef struct t6_project_options {
    size_t struct_size;          /**< sizeof(t6_project_options): T6_PROJECT_OPTIONS_INIT */
    t6_projection_method method; /**< T6_PROJECTION_FUSED unless set */
} t6_project_options;

#define T6_PROJECT_OPTIONS_INIT {sizeof(t6_project_options), T6_PROJECTION_FUSED}

/**
 * hidden: rows × C fp32 at element `hidden_offset`. slots, positions: host arrays of `rows` entries; each
 * position must be < the cache's capacity and ≤ 2^24 (RoPE angles are the fp32 product of the position and a
 * frequency: integers are exact up to 2^24), each slot < its slot count. Two rows with the same slot and
 * position write the same cache entry; which one lands is unspecified. query: rows × t6_query_row_size()
 * fp32 at `query_offset`. options: NULL for defaults (fused). The cache's shape must match the layer's.
 * Every argument is checked before anything is enqueued (T6_ERROR_INVALID_ARGUMENT naming it,
 * T6_ERROR_BUFFER_TOO_SMALL, T6_ERROR_UNSUPPORTED for the CLBlast method in a build without CLBlast); tunables
 * the device cannot run give T6_ERROR_INVALID_PARAMS, a failing CLBlast call T6_ERROR_CLBLAST. Enqueued; the
 * cache lengths are updated at once, and each slot written records the layer's rank_q, which attention over
 * the slot must then be called with.
 */
T6_API t6_status t6_project(t6_layer *layer, t6_cache *cache, int rows, cl_mem hidden, size_t hidden_offset,
                            const int *slots, const int *positions, cl_mem query, size_t query_offset,
                            const t6_project_options *options);

/* ---------------------------------------------------------------------------------------------------------
 * Attention over the factor cache (TPA.md, "Attention" and "Factorized decode").
 * ------------------------------------------------------------------------------------------------------- */
/** The factorized attention kernels: the values of the tunables T6_DEC_KERNEL and T6_PRE_KERNEL (profiles store
 *  the numbers). docs/ATTENTION.md describes each. */
typedef enum t6_attention_kernel {
    T6_KERNEL_BY_DEVICE = 0,   /**< tensor cores where they serve, then (decode) stages, else tiles; CPUs vectors */
    T6_KERNEL_TILES = 1,       /**< work-group tiles (attention.cl), any GPU */
    T6_KERNEL_VECTORS = 2,     /**< vectors per work-item (attention_vector.cl), CPUs */
    T6_KERNEL_STAGES = 3,      /**< register-tiled stages (attention_decode.cl), decode on GPUs */
    T6_KERNEL_TENSOR_CORES = 4 /**< mma.sync on fp16/bf16 caches (attention_mma.cl), NVIDIA sm_80 and later */
} t6_attention_kernel;

typedef enum t6_attention_method {
    T6_ATTENTION_FACTORIZED = 0, /**< never forms K or V (FlashTPA decoding); the fast path */
    T6_ATTENTION_MATERIALIZED = 1 /**< builds K and V from the factors in scratch, then standard attention */
} t6_attention_method;

/**
 * Precision modes (TPA.md, "Numerical tolerance and precision modes"). Both hold on flat and on peaked inputs,
 * measured against the double-precision reference fed the values the cache stores:
 * - strict: max |t6 − ref| ≤ 1e-4·max|ref|. Matrix units take fp16/bf16 operands only with every operand that is
 *   not a stored cache value (the per-head query, the softmax weights) split into parts that sum to it.
 * - fast: ≤ 1e-3·max|ref| (fp32 and fp16 caches), ≤ 5e-3 (bf16 caches): the query is still split, the softmax
 *   weights may be rounded once before the value product. Only the tensor-core decode (NVIDIA) has a cheaper
 *   fast variant today; every other path runs strict in both modes.
 */
typedef enum t6_precision {
    T6_PRECISION_DEFAULT = 0, /**< in options: the context's mode (t6_context_set_precision; strict unless set) */
    T6_PRECISION_STRICT = 1,  /**< 1e-4 of max|ref| */
    T6_PRECISION_FAST = 2     /**< 1e-3 (fp32, fp16 caches), 5e-3 (bf16 caches) of max|ref| */
} t6_precision;

/** "default", "strict", "fast"; NULL for other values. */
T6_API const char *t6_precision_name(t6_precision precision);

/** Sets the precision of the context's later attention calls whose options leave `precision` at
 *  T6_PRECISION_DEFAULT (T6_PRECISION_DEFAULT here means strict). T6_ERROR_INVALID_ARGUMENT for an unknown
 *  value or a NULL ctx. Thread safe. */
T6_API t6_status t6_context_set_precision(t6_context *ctx, t6_precision precision);

/** The context's precision for calls that do not choose one: T6_PRECISION_STRICT or T6_PRECISION_FAST. */
T6_API t6_status t6_context_get_precision(t6_context *ctx, t6_precision *precision);

/** Scales; a field left 0 takes its default: scale_q 1/Rq, scale_k 1/Rk, scale_v 1/Rv, scale_softmax 1/√D.
 *  precision: T6_PRECISION_DEFAULT (0, what a zeroed struct holds) takes the context's mode. */
typedef struct t6_attention_options {
    size_t struct_size; /**< sizeof(t6_attention_options): T6_ATTENTION_OPTIONS_INIT */
    float scale_q, scale_k, scale_v, scale_softmax;
    t6_attention_method method;
    t6_precision precision;
} t6_attention_options;

/** Every scale at its default, factorized, the context's precision. */
#define T6_ATTENTION_OPTIONS_INIT                                                                                 \
    {sizeof(t6_attention_options), 0.0f, 0.0f, 0.0f, 0.0f, T6_ATTENTION_FACTORIZED, T6_PRECISION_DEFAULT}

/**
 * Decode: one query per batch entry. Entry i attends over positions 0 .. lengths[i]−1 of slot slots[i]
 * (the query's own position is lengths[i]−1: project it into the cache first). query: batch ×
 * (H·Rq + Rq·D) fp32 at `query_offset`, as t6_project writes it. out: batch × H·D fp32 at `out_offset`.
 * Each length must be ≥ 1 and ≤ the slot's cache length. Slots may repeat. options: NULL for defaults.
 * Offsets plus the rows they address must stay below 2^32 elements. rank_q is the query's rank: where
 * t6_project last wrote a slot (and no t6_cache_write or t6_cache_reset came since), it must be that layer's
 * rank_q, else the query would be read with the wrong layout. Returns T6_ERROR_INVALID_ARGUMENT (NULL,
 * rank_q out of range or not the projecting layer's (both named), batch, a slot or length out of range, a
 * non-finite scale, an unknown method or precision),
 * T6_ERROR_BUFFER_TOO_SMALL, T6_ERROR_INVALID_PARAMS (tunables the device cannot run), T6_ERROR_BUILD_FAILED or
 * T6_ERROR_OPENCL.
 */
T6_API t6_status t6_attention_decode(t6_cache *cache, int rank_q, int batch, const int *slots, const int *lengths,
                                     cl_mem query, size_t query_offset, cl_mem out, size_t out_offset,
                                     const t6_attention_options *options);

/**
 * Causal prefill: batch entry i holds counts[i] queries at positions starts[i] .. starts[i]+counts[i]−1 of
 * slot slots[i]; the query at position p attends over positions 0 .. p. Query rows are concatenated in batch
 * order (Σ counts rows), and so are the output rows. starts[i]+counts[i] must be ≤ the slot's cache length.
 * A query at position p gives the same result as t6_attention_decode with length p+1. Statuses and limits as
 * t6_attention_decode's (starts ≥ 0, counts ≥ 1).
 */
T6_API t6_status t6_attention_prefill(t6_cache *cache, int rank_q, int batch, const int *slots, const int *starts,
                                      const int *counts, cl_mem query, size_t query_offset, cl_mem out,
                                      size_t out_offset, const t6_attention_options *options);

/* ---------------------------------------------------------------------------------------------------------
 * Conventional K/V cache and MHA/GQA/MQA attention: the baselines a user would otherwise run.
 * K and V rows hold kv_heads × head_dim values, [kv_head][d]. Query head h reads kv head h / (heads/kv_heads).
 * ------------------------------------------------------------------------------------------------------- */
typedef struct t6_kv_cache_config {
    size_t struct_size; /**< sizeof(t6_kv_cache_config): T6_KV_CACHE_CONFIG_INIT */
    int kv_heads, head_dim, slots, capacity;
    t6_dtype dtype;
} t6_kv_cache_config;

/** One slot of fp32 storage, kv_heads, head_dim and capacity 0: set them. */
#define T6_KV_CACHE_CONFIG_INIT {sizeof(t6_kv_cache_config), 0, 0, 1, 0, T6_F32}

typedef struct t6_kv_cache t6_kv_cache;

T6_API t6_status t6_kv_cache_create(t6_context *ctx, const t6_kv_cache_config *config, t6_kv_cache **out);
T6_API void t6_kv_cache_destroy(t6_kv_cache *cache);
T6_API t6_status t6_kv_cache_length(const t6_kv_cache *cache, int slot, int *length);
T6_API t6_status t6_kv_cache_reset(t6_kv_cache *cache, int slot);

/** Writes `count` positions from `first` on: k and v are count × kv_heads × head_dim host floats. Blocking. */
T6_API t6_status t6_kv_cache_write(t6_kv_cache *cache, int slot, int first, int count, const float *k,
                                   const float *v);

/** Device-side append: rows of K and V (rows × kv_heads × head_dim fp32) stored at (slots[i], positions[i]). */
T6_API t6_status t6_kv_cache_append(t6_kv_cache *cache, int rows, cl_mem k, size_t k_offset, cl_mem v,
                                    size_t v_offset, const int *slots, const int *positions);

/**
 * MHA/GQA/MQA decode: `heads` query heads (a multiple of kv_heads); q is batch × heads × head_dim fp32, out the
 * same shape. scale: 0 for 1/√D. Lengths as in t6_attention_decode.
 */
T6_API t6_status t6_mha_decode(t6_kv_cache *cache, int heads, int batch, const int *slots, const int *lengths,
                               cl_mem q, size_t q_offset, cl_mem out, size_t out_offset, float scale);

/**
 * MHA/GQA/MQA causal prefill, with the row conventions of t6_attention_prefill. On NVIDIA GPUs with fp16 or bf16
 * K/V it runs on tensor cores (FlashAttention-2 style, behind the same probe as the attention calls) in the
 * context's precision mode (t6_context_set_precision): strict splits the query and the softmax weights into
 * fp16/bf16 parts, fast rounds the weights once; elsewhere, and for fp32 K/V, on FMA units in fp32.
 */
T6_API t6_status t6_mha_prefill(t6_kv_cache *cache, int heads, int batch, const int *slots, const int *starts,
                                const int *counts, cl_mem q, size_t q_offset, cl_mem out, size_t out_offset,
                                float scale);

/* ---------------------------------------------------------------------------------------------------------
 * Model: a whole T6 transformer (TPA.md, "The whole T6 model") on the device, for applications, samples and
 * benchmarks. Per layer: x += c_proj(attention(rmsnorm(x))); x += c_proj(silu(c_fc1·x) ⊙ c_fc2·x) on
 * rmsnorm(x); then logits = lm_head · rmsnorm(x). RMSNorm has no weight. The attention is TPA (t6 layers and
 * factor caches) or, as a same-library baseline, standard MHA (q/k/v projections, RoPE on q and k, a
 * t6_kv_cache). Every weight is stored on the device in weight_dtype (fp16 and bf16: two bytes each, read as
 * such). The dense products run on the library's GEMV kernel, with the RMSNorm before them, SwiGLU and the
 * residual adds folded in, so that a decode step enqueues few commands (t6_context_command_count; TPA: five a
 * layer); on GPUs a prefill's many rows of fp32 weights run on CLBlast's SGEMM instead. A device on which that
 * kernel fails its check at creation runs fp32 weights on CLBlast; fp16 or bf16 weights are then
 * T6_ERROR_UNSUPPORTED, the message naming weight_dtype f32 as the fallback. In a build without CLBlast every
 * product runs on the GEMV, and a device that fails its check is T6_ERROR_UNSUPPORTED for every weight_dtype.
 *
 * Checkpoints are safetensors files with the T6 names (F32, F16 or BF16 tensors; C = model width, F = MLP
 * hidden size, L = layers):
 *   transformer.wte.weight                          V × C, the embedding; also the lm_head unless
 *   lm_head.weight                                  V × C is present (an untied head)
 *   transformer.h.{i}.attn.c_qkv.W_A_q.weight      (H·Rq) × C   (likewise W_A_k, W_A_v, W_B_q, W_B_k, W_B_v:
 *                                                   the layouts at the top of this header)
 *   transformer.h.{i}.attn.c_proj.weight            C × (H·D)
 *   transformer.h.{i}.mlp.c_fc1.weight, c_fc2.weight   F × C
 *   transformer.h.{i}.mlp.c_proj.weight             C × F
 * An MHA checkpoint has transformer.h.{i}.attn.c_q.weight, c_k.weight, c_v.weight ((H·D) × C each) in place
 * of c_qkv.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum t6_attention_kind {
    T6_MODEL_TPA = 0, /**< Tensor Product Attention over a factor cache */
    T6_MODEL_MHA = 1  /**< standard multi-head attention over a K/V cache (the baseline) */
} t6_attention_kind;

typedef struct t6_model_config {
    size_t struct_size;         /**< sizeof(t6_model_config): T6_MODEL_CONFIG_INIT */
    t6_attention_kind attention;
    int vocab_size;             /**< V */
    int model_dim;              /**< C */
    int layers;                 /**< L */
    int heads;                  /**< H */
    int head_dim;               /**< D: 32, 64, 80, 96 or 128 */
    int rank_q, rank_k, rank_v; /**< TPA ranks, 1..16; ignored for MHA */
    int mlp_hidden;             /**< F; T6.py uses floor(8C/3) */
    t6_rope_style rope_style;   /**< T6.py: T6_ROPE_HALF */
    float rope_base;            /**< T6.py: 10000 */
    float norm_eps;             /**< RMSNorm ε; T6.py: fp32 machine epsilon, 1.1920929e-07 */
    t6_dtype weight_dtype;      /**< every weight is rounded to this and stored so on the device */
    t6_dtype cache_dtype;       /**< storage of the attention cache */
    int slots;                  /**< sequences held at once, ≥ 1 */
    int capacity;               /**< positions per sequence, ≥ 1 */
    int allow_nonfinite_weights; /**< 0 (T6_MODEL_CONFIG_INIT): a checkpoint tensor holding NaN or ±Inf, or a
                                     value that overflows weight_dtype, is refused; nonzero: loaded as it is
                                     (every logit is then likely NaN) */
} t6_model_config;

/** T6.py's settings: TPA, RoPE half with base 10000, ε = 1.1920929e-07, fp32 weights and cache, 1 slot of
 *  capacity 2048, every shape field 0 (taken from the checkpoint), non-finite weights refused. */
#define T6_MODEL_CONFIG_INIT                                                                                     \
    {sizeof(t6_model_config), T6_MODEL_TPA, 0, 0, 0, 0, 0, 0, 0, 0, 0, T6_ROPE_HALF, 10000.0f, 1.1920929e-07f,   \
     T6_F32, T6_F32, 1, 2048, 0}

/** Sets `*config` to T6_MODEL_CONFIG_INIT (compiled into the application, so struct_size is its own). */
static inline void t6_model_config_init(t6_model_config *config)
{
    const t6_model_config init = T6_MODEL_CONFIG_INIT;
    *config = init;
}

typedef struct t6_model t6_model;

/**
 * Loads a safetensors checkpoint at `path`. Shape fields of `config` that are 0 are taken from the file
 * (for TPA every one can be: H, D and Rq follow from the shapes of W_A_q, W_B_q and c_proj; an MHA checkpoint
 * needs head_dim); fields that are set must agree with it. config NULL: t6_model_config_init's settings. A file
 * that cannot be read (missing, or not a regular file: a FIFO or a device is refused without waiting on it) is
 * T6_ERROR_IO; a malformed one, a missing tensor, a shape that disagrees, or (unless
 * config->allow_nonfinite_weights) a weight that is NaN or ±Inf, as stored or once rounded to weight_dtype, is
 * T6_ERROR_FORMAT naming the tensor. The file is only read during the call.
 */
T6_API t6_status t6_model_create_from_file(t6_context *ctx, const char *path, const t6_model_config *config,
                                           t6_model **out);

/**
 * A model with random weights (uniform, scaled by 1/√fan_in so activations stay O(1)), repeatable for a
 * `seed`, for benchmarks. Every shape field of `config` must be set (mlp_hidden 0 means floor(8C/3)).
 */
T6_API t6_status t6_model_create_random(t6_context *ctx, const t6_model_config *config, uint64_t seed,
                                        t6_model **out);

/** Releases the model's device memory. NULL is fine. */
T6_API void t6_model_destroy(t6_model *model);

/** The configuration in use, with every field resolved. */
T6_API t6_status t6_model_get_config(const t6_model *model, t6_model_config *config);

/**
 * Runs `count` tokens of one sequence through the model at the next positions of `slot` (from its current
 * length on; a new sequence starts at 0), filling every layer's cache. Long prompts are processed in chunks.
 * logits: NULL, or V floats that receive the logits after the last token (blocking then). Token ids must be
 * in 0..V−1 and length + count ≤ capacity.
 */
T6_API t6_status t6_model_prefill(t6_model *model, int slot, int count, const int *tokens, float *logits);

/**
 * One decode step for `batch` sequences: token tokens[i] goes to slot slots[i] at that slot's next position,
 * and row i of the logits (batch × V floats, NULL to keep them on the device only) is the prediction after it.
 * The products read each weight once per step for the whole batch. Slots must be distinct within a step; a
 * repeated or unknown slot, a full one or a token outside 0..V−1 is T6_ERROR_INVALID_ARGUMENT naming the
 * entry, with nothing enqueued. The logits stay in t6_model_logits until the next call.
 */
T6_API t6_status t6_model_decode(t6_model *model, int batch, const int *slots, const int *tokens, float *logits);

/** The device buffer with the logits of the last prefill (row 0) or decode step (row i for entry i), fp32, V
 *  per row. Owned by the model; valid until it is destroyed. */
T6_API t6_status t6_model_logits(const t6_model *model, cl_mem *buffer);

/** The number of positions of `slot` the model has processed (its next position). */
T6_API t6_status t6_model_length(const t6_model *model, int slot, int *length);

/** Forgets the sequence in `slot` in every layer, so it can hold a new one. */
T6_API t6_status t6_model_reset(t6_model *model, int slot);

/**
 * The attention cache of `layer` (0..L−1): *cache for TPA, *kv_cache for MHA; the other is set to NULL.
 * Either pointer may be NULL. Owned by the model. Benchmarks fill them to a long context with
 * t6_cache_write / t6_kv_cache_write; the model's length of a slot is that of layer 0's cache.
 */
T6_API t6_status t6_model_layer_cache(t6_model *model, int layer, t6_cache **cache, t6_kv_cache **kv_cache);

/** The device memory the model's weights take, in bytes: every matrix in weight_dtype (the factor projections'
 *  packed and padded), plus any fp32 copy made for CLBlast projections. */
T6_API t6_status t6_model_weight_bytes(const t6_model *model, size_t *bytes);

/** Bytes of attention cache per token over all layers: L·(Rk+Rv)(H+D) elements for TPA, L·2·H·D for MHA, times
 *  the cache dtype's size. 0 for an invalid config. */
T6_API size_t t6_model_cache_bytes_per_token(const t6_model_config *config);

/* ---------------------------------------------------------------------------------------------------------
 * Kernel parameters. Each operation's kernels have named integer tunables (the -D macros of kernels_cl/).
 * Their values come, in increasing priority, from the built-in defaults, the device profile's bucket nearest
 * the call's shape, and values set explicitly here.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum t6_op {
    T6_OP_PROJECTION = 0,  /**< fused factor projection */
    T6_OP_ROPE_SCATTER = 1,/**< RoPE and cache scatter after the CLBlast GEMM */
    T6_OP_DECODE = 2,      /**< factorized decode (split pass and merge pass) */
    T6_OP_PREFILL = 3,     /**< factorized causal prefill */
    T6_OP_MATERIALIZE = 4, /**< K/V materialization for the materialized baseline */
    T6_OP_MHA_DECODE = 5,  /**< MHA/GQA/MQA decode (also the materialized baseline's attention) */
    T6_OP_MHA_PREFILL = 6, /**< MHA/GQA/MQA causal prefill */
    T6_OP_COUNT = 7
} t6_op;

/** "projection", "rope_scatter", "decode", "prefill", "materialize", "mha_decode", "mha_prefill"; NULL otherwise. */
T6_API const char *t6_op_name(t6_op op);
/** The op named `name`, or T6_ERROR_INVALID_ARGUMENT. */
T6_API t6_status t6_op_from_name(const char *name, t6_op *op);

typedef struct t6_param_info {
    const char *name;        /**< the macro, e.g. "T6_DEC_WG_SIZE"; static storage */
    int default_value;       /**< the built-in default, the same as the #define in the .cl file */
    int min_value, max_value;/**< the range the kernel accepts */
    const char *description; /**< one line; static storage */
} t6_param_info;

/** Number of tunables of `op`. */
T6_API int t6_op_param_count(t6_op op);
/** The `index`-th tunable of `op`. */
T6_API t6_status t6_op_param_info(t6_op op, int index, t6_param_info *info);

/** Sets a tunable for every later call of `op` on `ctx`, overriding the profile. Unknown names and values out
 *  of range are T6_ERROR_INVALID_ARGUMENT; combinations the device cannot run fail at the call with
 *  T6_ERROR_INVALID_PARAMS. */
T6_API t6_status t6_context_set_param(t6_context *ctx, t6_op op, const char *name, int value);
/** Removes every explicit tunable of `op` (T6_OP_COUNT: of every op). */
T6_API t6_status t6_context_clear_params(t6_context *ctx, t6_op op);

/* ---------------------------------------------------------------------------------------------------------
 * Profiles: tuned kernel parameters per device, JSON files written by `t6-tune` (docs/TUNING.md has the format).
 *
 * When a context is created, t6 reads every *.json file of, in this order: each entry of the profile path
 * (t6_context_options.profile_path, else the environment variable T6_PROFILE_PATH; colon-separated files or
 * folders), the user folder ($XDG_CONFIG_HOME/t6/profiles, else ~/.config/t6/profiles; not with
 * t6_context_options.ignore_environment), the installed folder (<prefix>/share/t6/profiles), and last, for the
 * library of a build tree only, the source tree's profiles/ folder, so that an uninstalled build finds the
 * shipped profiles (the installed library names no source tree). For each op it keeps the profile
 * that matches the device best, by level:
 *   same identity and driver version > same identity (t6_device_info.identity) > same vendor and architecture
 *   family > the vendor default (untuned, derived from the architecture) > none (built-in defaults),
 * and among equals the one found first. The choice is made per op, so a profile whose part for one op is stale
 * still serves the others. A file that is not a regular file (a FIFO is refused without waiting on it),
 * malformed, of another schema or version, or that was tuned against other kernel sources than this library's
 * (see t6_kernel_hash) is skipped with a warning in the log, never an error; so is a bucket whose values are in
 * range but that its op refuses on the device (T6_DEC_VECTOR=3, tiles that do not divide, a work-group over the
 * device's limit), the warning naming the file, the bucket and the parameter. Each call then uses the profile's
 * bucket whose shape is nearest its own; parameters set with t6_context_set_param win over any profile. When a
 * call fails with a profile's values all the same (a plan that does not fit its shape, a build the driver
 * refuses: T6_ERROR_INVALID_PARAMS or T6_ERROR_BUILD_FAILED), it is run again with the next level's values, in
 * the end the built-in defaults; once a lower level has worked, the failing bucket is logged as a warning and
 * skipped from then on. The call fails only when the built-in defaults (with the explicit parameters) fail too.
 * ------------------------------------------------------------------------------------------------------- */
#define T6_PROFILE_SCHEMA "t6-profile" /**< the value of a profile's "schema" field */
#define T6_PROFILE_SCHEMA_VERSION 1    /**< the "schema_version" this library reads */

typedef enum t6_profile_level {
    T6_PROFILE_BUILTIN = 0, /**< no profile matched: the built-in defaults */
    T6_PROFILE_VENDOR = 1,  /**< a vendor default (untuned) for the device's vendor */
    T6_PROFILE_FAMILY = 2,  /**< tuned on another device of the same vendor and architecture family */
    T6_PROFILE_NAME = 3,    /**< tuned on this device model under another driver version */
    T6_PROFILE_EXACT = 4,   /**< tuned on this device model and driver version */
    T6_PROFILE_EXPLICIT = 5 /**< loaded with t6_context_load_profile */
} t6_profile_level;

/** "built-in", "vendor", "family", "name", "exact", "explicit"; NULL for other values. */
T6_API const char *t6_profile_level_name(t6_profile_level level);

/**
 * Which profile serves `op` on `ctx`: its level, and its file path copied into `path` (capacity `path_cap`,
 * truncated to fit; "" at T6_PROFILE_BUILTIN). `path` may be NULL when path_cap is 0. Thread safe.
 */
T6_API t6_status t6_context_profile(t6_context *ctx, t6_op op, t6_profile_level *level, char *path,
                                    size_t path_cap);

/**
 * Loads the profile file at `path` for `ctx`, above every profile the search found, whatever device the file
 * names (a warning is logged when it names another). Its stale op parts are skipped with a warning.
 * T6_ERROR_IO when the file cannot be read or is not a regular file, T6_ERROR_FORMAT when it is malformed, of
 * another schema, or stale for every op it has, or has no bucket its ops accept on this device; the context
 * keeps its previous profiles then.
 */
T6_API t6_status t6_context_load_profile(t6_context *ctx, const char *path);

/**
 * Whether `ctx` refuses the values that a profile of this device and driver records as computing wrong results
 * (t6-tune's "wrong" in a bucket's "results": the configuration failed its check against the reference). So
 * that the library never runs them, by default (refuse nonzero) a profile bucket whose values match one gives way
 * to the level below, and values set with t6_context_set_param that match one make the call fail with
 * T6_ERROR_INVALID_PARAMS naming the record. Only profiles of the exact level count (same identity and driver
 * version), found by the search or loaded with t6_context_load_profile, and only their parts that are not stale.
 * 0 runs such values all the same: t6-tune's workers do, since they check every candidate against the reference
 * themselves. Thread safe. T6_ERROR_INVALID_ARGUMENT for a NULL ctx.
 */
T6_API t6_status t6_context_set_refuse_known_wrong(t6_context *ctx, int refuse);

/**
 * The hash of the kernel sources of `op` as 16 hex digits and a NUL into `hash`: kernels_cl/common.cl and
 * every kernel file that uses one of the op's tunables. T6_OP_COUNT: the hash of every kernel source. A
 * profile records it per op; when the library's kernels change, the profile's part for that op is stale.
 */
T6_API t6_status t6_kernel_hash(t6_op op, char hash[17]);

/* ---------------------------------------------------------------------------------------------------------
 * Timing: the device time of the last operation, from OpenCL event profiling.
 * ------------------------------------------------------------------------------------------------------- */

/** Turns timing of operations on or off (off by default; it costs a little host time per call). */
T6_API t6_status t6_context_set_timing(t6_context *ctx, int enabled);

/**
 * Waits for the last timed operation and returns its device time in nanoseconds: from the start of its
 * first kernel to the end of its last. T6_ERROR_UNSUPPORTED when the queue has no profiling,
 * T6_ERROR_INVALID_ARGUMENT when no operation was timed.
 */
T6_API t6_status t6_context_last_op_time(t6_context *ctx, uint64_t *nanoseconds);

/**
 * The number of commands t6 has enqueued on the context's queue since the context was made: kernel launches,
 * buffer writes, reads and fills, markers. A CLBlast routine counts as one (it may enqueue helper kernels of
 * its own); the one-time probes of a device's tensor cores are not counted. What an operation costs the host
 * grows with its commands: read the count before and after a call (t6-bench model prints commands per decode
 * step).
 * T6_ERROR_INVALID_ARGUMENT for a NULL argument.
 */
T6_API t6_status t6_context_command_count(t6_context *ctx, uint64_t *count);

/* ---------------------------------------------------------------------------------------------------------
 * Double-precision reference of ../shared/TPA.md, on host arrays. What tests and t6-tune verify kernels
 * against. Slow and simple on purpose. Thread safe (no state).
 * Every function returns T6_SUCCESS, T6_ERROR_INVALID_ARGUMENT (a NULL, a size < 1, head_dim other than 32,
 * 64, 80, 96 or 128, a rank outside 1..16, a non-finite scale, a negative position) or
 * T6_ERROR_OUT_OF_HOST_MEMORY; the message naming the argument is in t6_context_last_error(NULL) on the
 * calling thread. Nothing is written to the outputs on an argument error.
 * Scales (`scales`, a t6_attention_options of which only the scale fields are read): NULL, or a field left
 * 0, means TPA.md's default: scale_q 1/Rq, scale_k 1/Rk, scale_v 1/Rv, scale_softmax 1/√D, in double.
 * ------------------------------------------------------------------------------------------------------- */

/** Sizes for the reference: the attention part of a layer. */
typedef struct t6_ref_shape {
    int heads, head_dim, rank_q, rank_k, rank_v;
} t6_ref_shape;

/**
 * Factor projection of `rows` tokens (TPA.md "Factor projection"), then RoPE (t6_ref_rope, with the config's
 * style and base) on every B_Q[r] and B_K[r] at the row's position; A factors and B_V are never rotated.
 * config: shape and RoPE; weight_dtype is ignored (round the weights yourself to compare with a device that
 * stores them rounded). weights: the six matrices as doubles in the order of t6_layer_create_from_buffers:
 * W_A_q, W_A_k, W_A_v, W_B_q, W_B_k, W_B_v. hidden: rows × C. positions: rows entries, each ≥ 0.
 * Outputs, rows × the per-row size each: a_q H·Rq ([h][r]), b_q Rq·D ([r][d], rotated), a_k H·Rk,
 * b_k Rk·D (rotated), a_v H·Rv, b_v Rv·D: the cache layout. Any output may be NULL to skip it.
 */
T6_API t6_status t6_ref_project(const t6_layer_config *config, const double *const weights[6], int rows,
                                const double *hidden, const int *positions, double *a_q, double *b_q, double *a_k,
                                double *b_k, double *a_v, double *b_v);

/**
 * RoPE on one vector of head_dim values, in place, at integer position `position` ≥ 0. base > 1. head_dim may
 * be any even number ≥ 2 here (not only TPA.md's sizes), so that small cases can be worked by hand.
 * Angles follow the rule the kernels follow, so that device and reference agree to ~1e-7 even at positions
 * ≥ 2^19: inv_freq_i = (float)(1.0 / pow(base, 2.0·i/D)) (computed in double, rounded once to float),
 * angle_i = the fp32 product (float)position · inv_freq_i, then cos and sin in double of that float angle.
 * - T6_ROPE_HALF, pairs (i, i+D/2): y_i = x_i cos + x_{i+D/2} sin ; y_{i+D/2} = −x_i sin + x_{i+D/2} cos.
 * - T6_ROPE_INTERLEAVED, pairs (2i, 2i+1): y_{2i} = x_{2i} cos − x_{2i+1} sin ; y_{2i+1} = x_{2i} sin + x_{2i+1} cos.
 */
T6_API t6_status t6_ref_rope(t6_rope_style style, double base, int head_dim, int position, double *vec);

/**
 * Forms the full tensors of TPA.md "Attention" from factors: q_h = scale_q Σ_r A_Q[h][r] B_Q[r] (q: H·D,
 * [h][d]); k_h(m) = scale_k Σ_s A_K(m)[h][s] B_K(m)[s] and v likewise with scale_v (k, v: length × H·D,
 * [m][h][d]). a_q, b_q: one token; a_k, b_k, a_v, b_v: `length` tokens each, in cache layout (per token A
 * [h][s], B [s][d]). Outputs may be NULL; the factors of a NULL output may be NULL too. length ≥ 1.
 */
T6_API t6_status t6_ref_materialize(const t6_ref_shape *shape, const t6_attention_options *scales, int length,
                                    const double *a_q, const double *b_q, const double *a_k, const double *b_k,
                                    const double *a_v, const double *b_v, double *q, double *k, double *v);

/**
 * Standard softmax attention of one query over `length` keys (numerically stable: the maximum score is
 * subtracted before exp): q is heads × D, k and v are length × kv_heads × D, out heads × D. Query head h reads
 * kv head h / (heads / kv_heads) (MHA, GQA, MQA); heads must be a multiple of kv_heads. scale: the softmax
 * scale (0: 1/√D).
 */
T6_API t6_status t6_ref_attention(int heads, int kv_heads, int head_dim, double scale, int length, const double *q,
                                  const double *k, const double *v, double *out);

/**
 * Factorized decode exactly as TPA.md "Factorized decode", for one query over `length` cached tokens:
 * S1[m][r][s] = B_Q[r]·B_K(m)[s] (shared by heads); score[h][m] = c Σ_{r,s} A_Q[h][r] A_K(m)[h][s] S1[m][r][s]
 * with c = scale_q·scale_k·scale_softmax; P = softmax over m; out[h][e] = scale_v Σ_s Σ_m P[h][m] A_V(m)[h][s]
 * B_V(m)[s][e]. Never forms K or V: t6_ref_materialize + t6_ref_attention is an independent route to the same
 * result. Factors as in t6_ref_materialize (none may be NULL). out: H·D.
 */
T6_API t6_status t6_ref_decode(const t6_ref_shape *shape, const t6_attention_options *scales, int length,
                               const double *a_q, const double *b_q, const double *a_k, const double *b_k,
                               const double *a_v, const double *b_v, double *out);

/**
 * Causal prefill of `count` ≥ 1 queries at positions start .. start+count−1 (start ≥ 0) over a sequence's
 * cache factors a_k, b_k, a_v, b_v (at least start+count positions): query i attends positions 0 .. start+i,
 * and its row is t6_ref_decode with length start+i+1. a_q: count × H·Rq, b_q: count × Rq·D. out: count × H·D.
 */
T6_API t6_status t6_ref_prefill(const t6_ref_shape *shape, const t6_attention_options *scales, int start, int count,
                                const double *a_q, const double *b_q, const double *a_k, const double *b_k,
                                const double *a_v, const double *b_v, double *out);

#ifdef __cplusplus
}
#endif
#endif /* T6_H */
