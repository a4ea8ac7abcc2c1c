/*
 * runtime.h — the runtime layer (lib/runtime/): errors and logging, the context and its lock, devices, programs
 * and their caches, launching, buffers, storage types. What every other layer of the library builds on; it
 * uses only the public header. Never installed; tests may include it.
 *
 * Error handling follows one pattern everywhere: a function keeps `t6_status status = T6_SUCCESS`, uses the
 * T6I_* macros below (each records the detail in the context and jumps to `cleanup`), and ends with
 * `cleanup:` releasing what it owns and returning `status`.
 */
#ifndef T6_RUNTIME_H
#define T6_RUNTIME_H

#include "t6.h"

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
/** Appends one " -DNAME=value" to `buf`. */
void t6i_define(char *buf, size_t cap, const char *name, long long value);
/** Releases the context's memory cache of programs and kernels (its destruction). */
void t6i_programs_release(t6_context *ctx);

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

/** t6_context_create_with_options of the runtime: the context with its device, OpenCL objects and options,
 *  without the tuning layer's state (the public constructors, in tuning/tuning.c, add it). The same arguments,
 *  checks and statuses. */
t6_status t6i_context_create(const t6_context_options *options, t6_context **out);

/** The context's reference count (t6.h, Context, "Lifetime"): every object made from a context retains it when
 *  made and releases it when destroyed; t6_context_destroy releases the application's reference. The last
 *  release frees the context. */
void t6i_context_retain(t6_context *ctx);
void t6i_context_release(t6_context *ctx);

/* ---- the context (context.c) ---- */

typedef struct t6i_program_entry t6i_program_entry;

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

    /* The tuning layer's state of this context (tuning/tuning.h: its profiles, the parameters set with
     * t6_context_set_param), which that layer makes on first use, under the lock, and frees through the
     * destructor it stores beside it. The runtime never looks inside: it only calls tuning_free at the end. */
    void *tuning;
    void (*tuning_free)(void *tuning);

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

#endif /* T6_RUNTIME_H */
