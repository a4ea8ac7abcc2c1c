/* status.c — status texts, the last-error record and the log hook. */
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

static t6_log_fn log_fn;
static t6_log_level log_min_level = T6_LOG_INFO;
static void *log_user_data;

/* Failures of calls that have no context to keep them (creation, device queries). */
static _Thread_local char thread_last_error[T6I_ERROR_TEXT];

/* The context this thread is working for (t6i_log_route): its log, if it has one, gets the thread's messages. */
static _Thread_local const t6_context *thread_log_context;

const t6_context *t6i_log_route(const t6_context *ctx)
{
    const t6_context *before = thread_log_context;
    thread_log_context = ctx;
    return before;
}

/* Whether the log that messages for `ctx` go to (its own, else the process-wide one) takes `level`. */
static bool log_wants(const t6_context *ctx, t6_log_level level)
{
    if (ctx && ctx->log_fn) return level >= ctx->log_level;
    return log_fn && level >= log_min_level;
}

static void log_text(const t6_context *ctx, t6_log_level level, const char *message)
{
    if (ctx && ctx->log_fn) ctx->log_fn(level, message, ctx->log_user_data);
    else log_fn(level, message, log_user_data);
}

const char *t6_version_string(void) { return T6_VERSION_STRING; }
unsigned t6_version_number(void) { return T6_VERSION_NUMBER; }

const char *t6_status_string(t6_status status)
{
    switch (status) {
    case T6_SUCCESS: return "success";
    case T6_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case T6_ERROR_OUT_OF_HOST_MEMORY: return "out of host memory";
    case T6_ERROR_OPENCL: return "OpenCL error";
    case T6_ERROR_DEVICE_NOT_FOUND: return "device not found";
    case T6_ERROR_DEVICE_UNSUPPORTED: return "device unsupported";
    case T6_ERROR_BUILD_FAILED: return "kernel build failed";
    case T6_ERROR_BUFFER_TOO_SMALL: return "buffer too small";
    case T6_ERROR_INVALID_PARAMS: return "invalid kernel parameters";
    case T6_ERROR_IO: return "I/O error";
    case T6_ERROR_FORMAT: return "malformed file";
    case T6_ERROR_CLBLAST: return "CLBlast error";
    case T6_ERROR_UNSUPPORTED: return "unsupported";
    case T6_ERROR_OUT_OF_DEVICE_MEMORY: return "out of device memory";
    case T6_ERROR_WRONG_RESULT: return "wrong result";
    }
    return "unknown status";
}

void t6_set_log_callback(t6_log_fn fn, t6_log_level min_level, void *user_data)
{
    log_fn = fn;
    log_min_level = min_level;
    log_user_data = user_data;
}

void t6_log_to_stderr(t6_log_level level, const char *message, void *user_data)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    (void)user_data;
    const char *name = (level >= T6_LOG_DEBUG && level <= T6_LOG_ERROR) ? names[level] : "log";
    fprintf(stderr, "t6 %s: %s\n", name, message);
}

void t6i_log(t6_log_level level, const char *fmt, ...)
{
    const t6_context *ctx = thread_log_context;
    if (!log_wants(ctx, level)) return;
    char message[T6I_ERROR_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    log_text(ctx, level, message);
}

t6_status t6i_fail(const t6_context *ctx, t6_status status, const char *fmt, ...)
{
    /* The context's record is written through a const pointer on purpose: recording a failure is not a
     * change of the context's meaning, and callers that only read a context can still report. */
    char *dst = ctx ? (char *)((t6_context *)ctx)->last_error : thread_last_error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, T6I_ERROR_TEXT, fmt, ap);
    va_end(ap);
    const t6_context *log_ctx = ctx ? ctx : thread_log_context;
    if (log_wants(log_ctx, T6_LOG_DEBUG)) {
        char message[T6I_ERROR_TEXT + 64];
        snprintf(message, sizeof message, "%s (%s)", dst, t6_status_string(status));
        log_text(log_ctx, T6_LOG_DEBUG, message);
    }
    return status;
}

const char *t6_context_last_error(const t6_context *ctx)
{
    return ctx ? ctx->last_error : thread_last_error;
}

const char *t6i_cl_error_name(cl_int err)
{
    switch (err) {
#define T6I_CL_ERR(name) case name: return #name;
    T6I_CL_ERR(CL_SUCCESS)
    T6I_CL_ERR(CL_DEVICE_NOT_FOUND)
    T6I_CL_ERR(CL_DEVICE_NOT_AVAILABLE)
    T6I_CL_ERR(CL_COMPILER_NOT_AVAILABLE)
    T6I_CL_ERR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    T6I_CL_ERR(CL_OUT_OF_RESOURCES)
    T6I_CL_ERR(CL_OUT_OF_HOST_MEMORY)
    T6I_CL_ERR(CL_PROFILING_INFO_NOT_AVAILABLE)
    T6I_CL_ERR(CL_MEM_COPY_OVERLAP)
    T6I_CL_ERR(CL_IMAGE_FORMAT_MISMATCH)
    T6I_CL_ERR(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    T6I_CL_ERR(CL_BUILD_PROGRAM_FAILURE)
    T6I_CL_ERR(CL_MAP_FAILURE)
    T6I_CL_ERR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    T6I_CL_ERR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    T6I_CL_ERR(CL_COMPILE_PROGRAM_FAILURE)
    T6I_CL_ERR(CL_LINKER_NOT_AVAILABLE)
    T6I_CL_ERR(CL_LINK_PROGRAM_FAILURE)
    T6I_CL_ERR(CL_DEVICE_PARTITION_FAILED)
    T6I_CL_ERR(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    T6I_CL_ERR(CL_INVALID_VALUE)
    T6I_CL_ERR(CL_INVALID_DEVICE_TYPE)
    T6I_CL_ERR(CL_INVALID_PLATFORM)
    T6I_CL_ERR(CL_INVALID_DEVICE)
    T6I_CL_ERR(CL_INVALID_CONTEXT)
    T6I_CL_ERR(CL_INVALID_QUEUE_PROPERTIES)
    T6I_CL_ERR(CL_INVALID_COMMAND_QUEUE)
    T6I_CL_ERR(CL_INVALID_HOST_PTR)
    T6I_CL_ERR(CL_INVALID_MEM_OBJECT)
    T6I_CL_ERR(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    T6I_CL_ERR(CL_INVALID_IMAGE_SIZE)
    T6I_CL_ERR(CL_INVALID_SAMPLER)
    T6I_CL_ERR(CL_INVALID_BINARY)
    T6I_CL_ERR(CL_INVALID_BUILD_OPTIONS)
    T6I_CL_ERR(CL_INVALID_PROGRAM)
    T6I_CL_ERR(CL_INVALID_PROGRAM_EXECUTABLE)
    T6I_CL_ERR(CL_INVALID_KERNEL_NAME)
    T6I_CL_ERR(CL_INVALID_KERNEL_DEFINITION)
    T6I_CL_ERR(CL_INVALID_KERNEL)
    T6I_CL_ERR(CL_INVALID_ARG_INDEX)
    T6I_CL_ERR(CL_INVALID_ARG_VALUE)
    T6I_CL_ERR(CL_INVALID_ARG_SIZE)
    T6I_CL_ERR(CL_INVALID_KERNEL_ARGS)
    T6I_CL_ERR(CL_INVALID_WORK_DIMENSION)
    T6I_CL_ERR(CL_INVALID_WORK_GROUP_SIZE)
    T6I_CL_ERR(CL_INVALID_WORK_ITEM_SIZE)
    T6I_CL_ERR(CL_INVALID_GLOBAL_OFFSET)
    T6I_CL_ERR(CL_INVALID_EVENT_WAIT_LIST)
    T6I_CL_ERR(CL_INVALID_EVENT)
    T6I_CL_ERR(CL_INVALID_OPERATION)
    T6I_CL_ERR(CL_INVALID_GL_OBJECT)
    T6I_CL_ERR(CL_INVALID_BUFFER_SIZE)
    T6I_CL_ERR(CL_INVALID_MIP_LEVEL)
    T6I_CL_ERR(CL_INVALID_GLOBAL_WORK_SIZE)
    T6I_CL_ERR(CL_INVALID_PROPERTY)
    T6I_CL_ERR(CL_INVALID_IMAGE_DESCRIPTOR)
    T6I_CL_ERR(CL_INVALID_COMPILER_OPTIONS)
    T6I_CL_ERR(CL_INVALID_LINKER_OPTIONS)
    T6I_CL_ERR(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef T6I_CL_ERR
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    }
    return "unknown OpenCL error";
}

t6_status t6i_fail_cl(const t6_context *ctx, cl_int err, const char *what)
{
    t6_status status = T6_ERROR_OPENCL;
    if (err == CL_OUT_OF_HOST_MEMORY) status = T6_ERROR_OUT_OF_HOST_MEMORY;
    /* An allocation that failed, now (clCreateBuffer) or when a command first used the buffer: something the
     * application can act on (free device memory). CL_OUT_OF_RESOURCES means that only from an allocation; from
     * a launch it is as often a kernel the device cannot run (registers, a fault). */
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
        (err == CL_OUT_OF_RESOURCES && strncmp(what, "clCreateBuffer", strlen("clCreateBuffer")) == 0))
        status = T6_ERROR_OUT_OF_DEVICE_MEMORY;
    /* Launch-shape errors come from kernel parameters the device cannot run (a tuning candidate, a foreign
     * profile); the tuner needs to tell them from broken drivers. */
    if (err == CL_INVALID_WORK_GROUP_SIZE || err == CL_INVALID_WORK_ITEM_SIZE) status = T6_ERROR_INVALID_PARAMS;
    return t6i_fail(ctx, status, "%s failed: %s (%d)", what, t6i_cl_error_name(err), (int)err);
}
