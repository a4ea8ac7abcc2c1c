/* context.c — the context: its options, choosing a device, wrapping an application's OpenCL objects, its
 * lifetime and queue, launching kernels, timing operations, and the small per-context buffers (call metadata,
 * scratch). */
#include "runtime/runtime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void t6i_lock(t6_context *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    if (ctx->lock_depth++ == 0) ctx->log_outer = t6i_log_route(ctx);
}

void t6i_unlock(t6_context *ctx)
{
    if (--ctx->lock_depth == 0) t6i_log_route(ctx->log_outer);
    pthread_mutex_unlock(&ctx->lock);
}

size_t t6i_round_up(size_t value, size_t multiple) { return multiple ? (value + multiple - 1) / multiple * multiple : value; }

static bool contains_ci(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] && tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return true;
    }
    return n == 0;
}

static bool is_index(const char *text)
{
    if (!*text) return false;
    for (; *text; text++)
        if (!isdigit((unsigned char)*text)) return false;
    return true;
}

/* Picks the device for a selector (see t6_context_create). */
static t6_status select_device(const char *selector, cl_platform_id *platform, cl_device_id *device)
{
    t6_status status = T6_SUCCESS;
    cl_device_id *devices = NULL;
    cl_platform_id *platforms = NULL;
    int count = 0;
    T6I_TRY(t6i_list_devices(&devices, &platforms, &count));
    if (count == 0) {
        status = t6i_fail(NULL, T6_ERROR_DEVICE_NOT_FOUND,
                          "no OpenCL device found (is an ICD installed under /etc/OpenCL/vendors?)");
        goto cleanup;
    }
    int chosen = -1;
    if (selector && *selector && is_index(selector)) {
        long index = strtol(selector, NULL, 10);
        if (index >= count) {
            status = t6i_fail(NULL, T6_ERROR_DEVICE_NOT_FOUND, "device selector '%s': there are only %d devices",
                              selector, count);
            goto cleanup;
        }
        chosen = (int)index;
    } else if (selector && *selector) {
        for (int i = 0; i < count && chosen < 0; i++) {
            t6_device_info info;
            if (t6i_describe_device(NULL, platforms[i], devices[i], &info) != T6_SUCCESS) continue;
            char both[2 * T6_INFO_TEXT + 2];
            snprintf(both, sizeof both, "%s %s", info.platform_name, info.name);
            if (contains_ci(both, selector)) chosen = i;
        }
        if (chosen < 0) {
            status = t6i_fail(NULL, T6_ERROR_DEVICE_NOT_FOUND,
                              "device selector '%s' matches none of the %d devices (t6-info lists them)",
                              selector, count);
            goto cleanup;
        }
    } else {
        /* The first GPU t6 can run on: Mesa's Clover lists GPUs at OpenCL 1.1 beside the drivers that run them
         * at 1.2 or later (and beside PoCL where no other driver does). */
        for (int i = 0; i < count && chosen < 0; i++) {
            cl_device_type type = 0;
            char version[1024] = "";
            int major = 0, minor = 0;
            if (clGetDeviceInfo(devices[i], CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS ||
                !(type & CL_DEVICE_TYPE_GPU) ||
                clGetDeviceInfo(devices[i], CL_DEVICE_VERSION, sizeof version - 1, version, NULL) != CL_SUCCESS)
                continue;
            t6i_parse_cl_version(version, &major, &minor);
            if (major > 1 || (major == 1 && minor >= 2)) chosen = i;
        }
        if (chosen < 0) chosen = 0;
    }
    *platform = platforms[chosen];
    *device = devices[chosen];
cleanup:
    free(devices);
    free(platforms);
    return status;
}

static t6_status new_context(t6_context **out)
{
    t6_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return t6i_fail(NULL, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (context)");
    pthread_mutexattr_t attributes;
    bool locked = pthread_mutexattr_init(&attributes) == 0 &&
                  pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE) == 0 &&
                  pthread_mutex_init(&ctx->lock, &attributes) == 0;
    pthread_mutexattr_destroy(&attributes);
    if (!locked) {
        free(ctx);
        return t6i_fail(NULL, T6_ERROR_OUT_OF_HOST_MEMORY, "pthread_mutex_init failed");
    }
    atomic_init(&ctx->references, 1);
    ctx->precision = T6_PRECISION_STRICT;
    *out = ctx;
    return T6_SUCCESS;
}

/* A copy of `text` in *out; NULL stays NULL, and so does "" when `empty_is_none`. */
static t6_status copy_text(const char *text, bool empty_is_none, char **out)
{
    *out = NULL;
    if (!text || (empty_is_none && !*text)) return T6_SUCCESS;
    size_t length = strlen(text);
    *out = malloc(length + 1);
    if (!*out) return t6i_fail(NULL, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (context options)");
    memcpy(*out, text, length + 1);
    return T6_SUCCESS;
}

/* What the options leave NULL, the environment decides (unless the options say not to read it). */
static const char *option_or_environment(const char *option, const char *variable, bool environment)
{
    if (option) return option;
    return environment ? getenv(variable) : NULL;
}

/* The disk cache folder, kernel folder and profile path of t6_context_options, resolved once. */
static t6_status resolve_options(t6_context *ctx, const t6_context_options *options)
{
    t6_status status = T6_SUCCESS;
    const bool environment = !options->ignore_environment;
    const char *cache_dir = option_or_environment(options->cache_dir, "T6_CACHE_DIR", environment);
    if (cache_dir) T6I_TRY(copy_text(cache_dir, true, &ctx->cache_dir));
    else T6I_TRY(t6i_disk_cache_default_dir(environment, &ctx->cache_dir));
    T6I_TRY(copy_text(option_or_environment(options->kernel_dir, "T6_KERNEL_DIR", environment), true,
                      &ctx->kernel_dir));
    T6I_TRY(copy_text(option_or_environment(options->profile_path, "T6_PROFILE_PATH", environment), true,
                      &ctx->profile_path));
    ctx->user_profiles = environment;
    ctx->log_fn = options->log_fn;
    ctx->log_level = options->log_level;
    ctx->log_user_data = options->log_user_data;
cleanup:
    return status;
}

/* Describes the device and refuses what t6 cannot run on. Failures are copied to the thread's last error
 * because the caller never sees the half-made context. The caller routes the log to the context. */
static t6_status finish_context(t6_context *ctx)
{
    t6_status status = t6i_describe_device(ctx, ctx->platform, ctx->device, &ctx->info);
    if (status != T6_SUCCESS) return t6i_fail(NULL, status, "%s", ctx->last_error);
    int major = 0, minor = 0;
    t6i_parse_cl_version(ctx->info.device_version, &major, &minor);
    if (major < 1 || (major == 1 && minor < 2))
        return t6i_fail(NULL, T6_ERROR_DEVICE_UNSUPPORTED, "device '%s' reports '%s'; t6 needs OpenCL 1.2 or later",
                        ctx->info.name, ctx->info.device_version);
    ctx->nv_compiler_options = t6i_device_has_extension(ctx->device, "cl_nv_compiler_options");
    ctx->large_grf = t6i_device_has_large_grf(ctx->device, &ctx->info);
    t6i_log(T6_LOG_INFO, "context on '%s' (%s, driver %s)", ctx->info.name, ctx->info.platform_name,
            ctx->info.driver_version);
    return T6_SUCCESS;
}

/* t6_context_create_with_options' own OpenCL objects, on the device the selector picks. */
static t6_status create_own(t6_context *ctx, const char *device_selector)
{
    t6_status status = T6_SUCCESS;
    cl_int err = CL_SUCCESS;
    T6I_TRY(select_device(device_selector, &ctx->platform, &ctx->device));
    ctx->cl_ctx = clCreateContext(NULL, 1, &ctx->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        ctx->cl_ctx = NULL;
        status = t6i_fail_cl(NULL, err, "clCreateContext");
        goto cleanup;
    }
    /* clCreateCommandQueue is deprecated in 2.0 but is the one call every 1.2+ driver accepts. */
    ctx->queue = clCreateCommandQueue(ctx->cl_ctx, ctx->device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) {
        ctx->queue = NULL;
        status = t6i_fail_cl(NULL, err, "clCreateCommandQueue");
        goto cleanup;
    }
    ctx->queue_profiling = true;
cleanup:
    return status;
}

/* Checks that `queue` is an in-order queue of `context` and `device`; `what` names the call. Its profiling
 * flag in *profiling. */
static t6_status check_queue(const t6_context *ctx, const char *what, cl_context context, cl_device_id device,
                             cl_command_queue queue, bool *profiling)
{
    t6_status status = T6_SUCCESS;
    cl_context queue_context = NULL;
    cl_device_id queue_device = NULL;
    cl_command_queue_properties properties = 0;
    T6I_CHECK_CL(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof queue_context, &queue_context, NULL),
                 "clGetCommandQueueInfo(CONTEXT)");
    T6I_CHECK_CL(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof queue_device, &queue_device, NULL),
                 "clGetCommandQueueInfo(DEVICE)");
    T6I_CHECK_CL(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof properties, &properties, NULL),
                 "clGetCommandQueueInfo(PROPERTIES)");
    T6I_REQUIRE(ctx, queue_context == context, "%s: the queue belongs to another OpenCL context", what);
    T6I_REQUIRE(ctx, queue_device == device, "%s: the queue belongs to another device", what);
    T6I_REQUIRE(ctx, !(properties & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE), "%s: the queue must be in order", what);
    *profiling = (properties & CL_QUEUE_PROFILING_ENABLE) != 0;
cleanup:
    return status;
}

/* Takes the application's OpenCL objects: checks them, and retains the context and the queue (the device once
 * finish_context has seen it is OpenCL 1.2, where clRetainDevice exists). */
static t6_status wrap_application(t6_context *ctx, cl_context context, cl_device_id device, cl_command_queue queue)
{
    t6_status status = T6_SUCCESS;
    bool profiling = false;
    T6I_TRY(check_queue(NULL, "t6_context_create_from_cl", context, device, queue, &profiling));
    cl_platform_id platform = NULL;
    T6I_CHECK_CL(NULL, clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL),
                 "clGetDeviceInfo(PLATFORM)");
    T6I_CHECK_CL(NULL, clRetainContext(context), "clRetainContext");
    ctx->cl_ctx = context;
    T6I_CHECK_CL(NULL, clRetainCommandQueue(queue), "clRetainCommandQueue");
    ctx->queue = queue;
    ctx->device = device;
    ctx->platform = platform;
    ctx->queue_profiling = profiling;
cleanup:
    return status;
}

t6_status t6i_context_create(const t6_context_options *options, t6_context **out)
{
    t6_status status = T6_SUCCESS;
    t6_context *ctx = NULL;
    const t6_context *outer_log = NULL;
    bool routed = false;
    t6_context_options o = T6_CONTEXT_OPTIONS_INIT;
    T6I_REQUIRE(NULL, out, "t6_context_create_with_options: out is NULL");
    *out = NULL;
    if (options) T6I_TRY(T6I_STRUCT_IN(NULL, t6_context_options, options, &o));
    const int wrapped = (o.opencl_context != NULL) + (o.opencl_device != NULL) + (o.opencl_queue != NULL);
    T6I_REQUIRE(NULL, wrapped == 0 || wrapped == 3,
                "t6_context_options: opencl_context, opencl_device and opencl_queue go together (%d of 3 set)",
                wrapped);
    T6I_REQUIRE(NULL, o.log_level >= T6_LOG_DEBUG && o.log_level <= T6_LOG_ERROR,
                "t6_context_options: log_level %d is not a t6_log_level", (int)o.log_level);
    T6I_TRY(new_context(&ctx));
    T6I_TRY(resolve_options(ctx, &o));
    outer_log = t6i_log_route(ctx);
    routed = true;
    if (wrapped) {
        T6I_TRY(wrap_application(ctx, o.opencl_context, o.opencl_device, o.opencl_queue));
    } else {
        const char *selector = o.device && *o.device ? o.device : option_or_environment(NULL, "T6_DEVICE",
                                                                                          !o.ignore_environment);
        T6I_TRY(create_own(ctx, selector));
    }
    T6I_TRY(finish_context(ctx));
    if (wrapped) {
        T6I_CHECK_CL(NULL, clRetainDevice(ctx->device), "clRetainDevice");
        ctx->device_retained = true;
    }
    *out = ctx;
    ctx = NULL;
cleanup:
    if (routed) t6i_log_route(outer_log);
    t6_context_destroy(ctx);
    return status;
}

static void release_event(cl_event *event)
{
    if (*event) clReleaseEvent(*event);
    *event = NULL;
}

void t6i_context_retain(t6_context *ctx) { atomic_fetch_add(&ctx->references, 1); }

/* Releases what the context holds, once nothing refers to it any more. */
static void free_context(t6_context *ctx)
{
    if (ctx->queue) clFinish(ctx->queue);
    release_event(&ctx->op_first_event);
    release_event(&ctx->op_last_event);
    for (int i = 0; i < T6I_META_CHANNELS; i++) {
        for (int j = 0; j < T6I_META_RING; j++) {
            release_event(&ctx->meta_event[i][j]);
            free(ctx->meta_host[i][j]);
        }
        if (ctx->meta[i]) clReleaseMemObject(ctx->meta[i]);
    }
    for (int i = 0; i < T6I_SCRATCH_CHANNELS; i++)
        if (ctx->scratch[i]) clReleaseMemObject(ctx->scratch[i]);
    if (ctx->zeroed) clReleaseMemObject(ctx->zeroed);
    t6i_programs_release(ctx);
    if (ctx->tuning_free) ctx->tuning_free(ctx->tuning);
    if (ctx->queue) clReleaseCommandQueue(ctx->queue);
    if (ctx->device_retained) clReleaseDevice(ctx->device);
    if (ctx->cl_ctx) clReleaseContext(ctx->cl_ctx);
    free(ctx->cache_dir);
    free(ctx->kernel_dir);
    free(ctx->profile_path);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

void t6i_context_release(t6_context *ctx)
{
    if (ctx && atomic_fetch_sub(&ctx->references, 1) == 1) free_context(ctx);
}

void t6_context_destroy(t6_context *ctx) { t6i_context_release(ctx); }

t6_status t6_context_device_info(const t6_context *ctx, t6_device_info *info)
{
    if (!ctx || !info) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6_context_device_info: NULL argument");
    return T6I_STRUCT_OUT(ctx, t6_device_info, info, &ctx->info);
}

cl_context t6_context_cl_context(const t6_context *ctx) { return ctx ? ctx->cl_ctx : NULL; }
cl_device_id t6_context_cl_device(const t6_context *ctx) { return ctx ? ctx->device : NULL; }
cl_command_queue t6_context_cl_queue(const t6_context *ctx) { return ctx ? ctx->queue : NULL; }

t6_status t6_context_finish(t6_context *ctx)
{
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_finish: ctx is NULL");
    /* The queue of this moment (t6_context_set_queue may replace it), waited for without holding the lock, so
     * that other threads' calls go on meanwhile. */
    t6i_lock(ctx);
    cl_command_queue queue = ctx->queue;
    cl_int err = clRetainCommandQueue(queue);
    t6i_unlock(ctx);
    if (err == CL_SUCCESS) {
        err = clFinish(queue);
        clReleaseCommandQueue(queue);
    }
    return err == CL_SUCCESS ? T6_SUCCESS : t6i_fail_cl(ctx, err, "clFinish");
}

t6_status t6_context_set_queue(t6_context *ctx, cl_command_queue queue)
{
    t6_status status = T6_SUCCESS;
    cl_event marker = NULL;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_set_queue: ctx is NULL");
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, queue, "t6_context_set_queue: queue is NULL");
    bool profiling = false;
    T6I_TRY(check_queue(ctx, "t6_context_set_queue", ctx->cl_ctx, ctx->device, queue, &profiling));
    if (ctx->timing && !profiling) {
        status = t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "t6_context_set_queue: timing is on and the queue was created "
                                                     "without CL_QUEUE_PROFILING_ENABLE");
        goto cleanup;
    }
    if (queue != ctx->queue) {
        /* The old queue's commands (the application's results, t6's scratch and metadata writes) come first. The
         * flush submits the marker, so that the new queue's wait on it cannot stall. */
        T6I_CHECK_CL(ctx, clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &marker), "clEnqueueMarkerWithWaitList");
        T6I_CHECK_CL(ctx, clFlush(ctx->queue), "clFlush");
        T6I_CHECK_CL(ctx, clEnqueueBarrierWithWaitList(queue, 1, &marker, NULL), "clEnqueueBarrierWithWaitList");
        t6i_count_commands(ctx, 2);
        T6I_CHECK_CL(ctx, clRetainCommandQueue(queue), "clRetainCommandQueue");
        clReleaseCommandQueue(ctx->queue);
        ctx->queue = queue;
    }
    ctx->queue_profiling = profiling;
cleanup:
    release_event(&marker);
    t6i_unlock(ctx);
    return status;
}

/* ---- timing ---- */

t6_status t6_context_set_timing(t6_context *ctx, int enabled)
{
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_set_timing: ctx is NULL");
    if (enabled && !ctx->queue_profiling)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "t6_context_set_timing: the queue was created without "
                                                   "CL_QUEUE_PROFILING_ENABLE");
    t6i_lock(ctx);
    ctx->timing = enabled != 0;
    t6i_unlock(ctx);
    return T6_SUCCESS;
}

void t6i_op_begin(t6_context *ctx)
{
    if (ctx->op_nesting > 0) return;
    release_event(&ctx->op_first_event);
    release_event(&ctx->op_last_event);
}

void t6i_op_add_event(t6_context *ctx, cl_event event)
{
    if (!event) return;
    if (!ctx->timing) {
        clReleaseEvent(event);
        return;
    }
    if (!ctx->op_first_event) {
        ctx->op_first_event = event;
        clRetainEvent(event);
    }
    release_event(&ctx->op_last_event);
    ctx->op_last_event = event;
}

t6_status t6_context_last_op_time(t6_context *ctx, uint64_t *nanoseconds)
{
    t6_status status = T6_SUCCESS;
    if (!ctx || !nanoseconds)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6_context_last_op_time: NULL argument");
    t6i_lock(ctx);
    cl_ulong start = 0, end = 0;
    if (!ctx->queue_profiling) {
        status = t6i_fail(ctx, T6_ERROR_UNSUPPORTED, "t6_context_last_op_time: the queue has no profiling");
        goto cleanup;
    }
    T6I_REQUIRE(ctx, ctx->op_first_event && ctx->op_last_event,
                "t6_context_last_op_time: no operation was timed (call t6_context_set_timing first)");
    T6I_CHECK_CL(ctx, clWaitForEvents(1, &ctx->op_last_event), "clWaitForEvents");
    T6I_CHECK_CL(ctx, clGetEventProfilingInfo(ctx->op_first_event, CL_PROFILING_COMMAND_START, sizeof start, &start,
                                              NULL),
                 "clGetEventProfilingInfo(START)");
    T6I_CHECK_CL(ctx, clGetEventProfilingInfo(ctx->op_last_event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL),
                 "clGetEventProfilingInfo(END)");
    *nanoseconds = end > start ? (uint64_t)(end - start) : 0;
cleanup:
    t6i_unlock(ctx);
    return status;
}

void t6i_count_commands(t6_context *ctx, unsigned count) { ctx->commands += count; }

t6_status t6_context_command_count(t6_context *ctx, uint64_t *count)
{
    if (!ctx || !count) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6_context_command_count: NULL argument");
    t6i_lock(ctx);
    *count = ctx->commands;
    t6i_unlock(ctx);
    return T6_SUCCESS;
}

/* ---- launching ---- */

t6_status t6i_set_args(t6_context *ctx, cl_kernel kernel, const char *what, const t6i_arg *args, int count)
{
    for (int i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            char call[160];
            snprintf(call, sizeof call, "clSetKernelArg(%s, %d)", what, i);
            return t6i_fail_cl(ctx, err, call);
        }
    }
    return T6_SUCCESS;
}

t6_status t6i_launch(t6_context *ctx, cl_kernel kernel, const char *what, cl_uint dims, const size_t *global,
                     const size_t *local)
{
    cl_event event = NULL;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, dims, NULL, global, local, 0, NULL,
                                        ctx->timing ? &event : NULL);
    if (err != CL_SUCCESS) {
        char call[160];
        snprintf(call, sizeof call, "clEnqueueNDRangeKernel(%s)", what);
        return t6i_fail_cl(ctx, err, call);
    }
    t6i_count_commands(ctx, 1);
    t6i_op_add_event(ctx, event);
    return T6_SUCCESS;
}

/* ---- per-context buffers ---- */

t6_status t6i_upload_meta(t6_context *ctx, int channel, const void *data, size_t bytes, cl_mem *out)
{
    t6_status status = T6_SUCCESS;
    cl_int err = CL_SUCCESS;
    if (bytes == 0) bytes = 4;
    const int last = (ctx->meta_next[channel] + T6I_META_RING - 1) % T6I_META_RING;
    if (ctx->meta_last_bytes[channel] == bytes && memcmp(ctx->meta_host[channel][last], data, bytes) == 0) {
        *out = ctx->meta[channel];
        return T6_SUCCESS;
    }
    /* This call's host copy is the ring's oldest: its write, enqueued T6I_META_RING calls ago, is almost always
     * done. Waiting on the previous call's write instead would drain the queue whenever two ops of one step
     * share a channel, leaving the device idle while the host enqueues what follows. */
    const int slot = ctx->meta_next[channel];
    if (ctx->meta_event[channel][slot]) {
        T6I_CHECK_CL(ctx, clWaitForEvents(1, &ctx->meta_event[channel][slot]), "clWaitForEvents(metadata)");
        release_event(&ctx->meta_event[channel][slot]);
    }
    if (ctx->meta_host_capacity[channel][slot] < bytes) {
        const size_t capacity = t6i_round_up(bytes, 4096);
        void *host = realloc(ctx->meta_host[channel][slot], capacity);
        if (!host) return t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (call metadata)");
        ctx->meta_host[channel][slot] = host;
        ctx->meta_host_capacity[channel][slot] = capacity;
    }
    if (ctx->meta_capacity[channel] < bytes) {
        /* Commands already enqueued keep the old buffer alive (OpenCL retains what they use). */
        const size_t capacity = t6i_round_up(bytes, 4096);
        if (ctx->meta[channel]) clReleaseMemObject(ctx->meta[channel]);
        ctx->meta_capacity[channel] = 0;
        ctx->meta_last_bytes[channel] = 0;
        ctx->meta[channel] = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY, capacity, NULL, &err);
        T6I_CHECK_CL(ctx, err, "clCreateBuffer(call metadata)");
        ctx->meta_capacity[channel] = capacity;
    }
    memcpy(ctx->meta_host[channel][slot], data, bytes);
    T6I_CHECK_CL(ctx,
                 clEnqueueWriteBuffer(ctx->queue, ctx->meta[channel], CL_FALSE, 0, bytes, ctx->meta_host[channel][slot],
                                      0, NULL, &ctx->meta_event[channel][slot]),
                 "clEnqueueWriteBuffer(call metadata)");
    t6i_count_commands(ctx, 1);
    ctx->meta_last_bytes[channel] = bytes;
    ctx->meta_next[channel] = (slot + 1) % T6I_META_RING;
    *out = ctx->meta[channel];
cleanup:
    return status;
}

t6_status t6i_scratch(t6_context *ctx, int channel, size_t bytes, cl_mem *out)
{
    cl_int err = CL_SUCCESS;
    if (bytes == 0) bytes = 4;
    if (ctx->scratch_capacity[channel] < bytes) {
        if (ctx->scratch[channel]) clReleaseMemObject(ctx->scratch[channel]);
        ctx->scratch[channel] = NULL;
        ctx->scratch_capacity[channel] = 0;
        size_t capacity = t6i_round_up(bytes + bytes / 4, 1 << 16); /* grow with headroom: fewer reallocations */
        if (capacity > ctx->info.max_alloc_bytes && bytes <= ctx->info.max_alloc_bytes) capacity = bytes;
        ctx->scratch[channel] = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, capacity, NULL, &err);
        if (err != CL_SUCCESS) {
            ctx->scratch[channel] = NULL;
            return t6i_fail_cl(ctx, err, "clCreateBuffer(scratch)");
        }
        ctx->scratch_capacity[channel] = capacity;
        /* New memory may hold NaN bit patterns, and some BLAS kernels read their output even with beta = 0
         * (0·NaN = NaN): start every scratch buffer finite. */
        const cl_float zero = 0.0f;
        err = clEnqueueFillBuffer(ctx->queue, ctx->scratch[channel], &zero, sizeof zero, 0, capacity, 0, NULL, NULL);
        if (err != CL_SUCCESS) return t6i_fail_cl(ctx, err, "clEnqueueFillBuffer(scratch)");
        t6i_count_commands(ctx, 1);
    }
    *out = ctx->scratch[channel];
    return T6_SUCCESS;
}

t6_status t6i_zeroed(t6_context *ctx, size_t bytes, cl_mem *out)
{
    t6_status status = T6_SUCCESS;
    cl_int err = CL_SUCCESS;
    if (ctx->zeroed_capacity < bytes || !ctx->zeroed) {
        if (ctx->zeroed) clReleaseMemObject(ctx->zeroed);
        ctx->zeroed_capacity = 0;
        const size_t capacity = t6i_round_up(bytes > 0 ? bytes : 4, 4096);
        ctx->zeroed = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, capacity, NULL, &err);
        T6I_CHECK_CL(ctx, err, "clCreateBuffer(counters)");
        const cl_uint zero = 0;
        T6I_CHECK_CL(ctx, clEnqueueFillBuffer(ctx->queue, ctx->zeroed, &zero, sizeof zero, 0, capacity, 0, NULL, NULL),
                     "clEnqueueFillBuffer(counters)");
        t6i_count_commands(ctx, 1);
        ctx->zeroed_capacity = capacity;
    }
    *out = ctx->zeroed;
cleanup:
    return status;
}

t6_status t6i_check_buffer(const t6_context *ctx, cl_mem buffer, t6_dtype dtype, size_t offset, size_t count,
                           const char *name)
{
    if (!buffer) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s is NULL", name);
    size_t size = 0;
    cl_int err = clGetMemObjectInfo(buffer, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err != CL_SUCCESS) {
        char call[160];
        snprintf(call, sizeof call, "clGetMemObjectInfo(%s)", name);
        return t6i_fail_cl(ctx, err, call);
    }
    /* A buffer of another OpenCL context may even work on a driver whose contexts share memory (PoCL), and be
     * undefined behaviour on the next: refuse it by name. */
    cl_context owner = NULL;
    err = clGetMemObjectInfo(buffer, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err != CL_SUCCESS) {
        char call[160];
        snprintf(call, sizeof call, "clGetMemObjectInfo(%s, CONTEXT)", name);
        return t6i_fail_cl(ctx, err, call);
    }
    if (owner != ctx->cl_ctx)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "%s belongs to another OpenCL context than the t6 context's",
                        name);
    size_t element = t6_dtype_size(dtype);
    size_t limit = size / element;
    if (offset > limit || count > limit - offset)
        return t6i_fail(ctx, T6_ERROR_BUFFER_TOO_SMALL,
                        "%s holds %zu %s elements; the call needs %zu from offset %zu", name, limit,
                        t6_dtype_name(dtype), count, offset);
    return T6_SUCCESS;
}
