/* program.c — building kernels from kernels_cl/: their options (t6i_define), source lookup (embedded or
 * T6_KERNEL_DIR), the in-memory cache per (source, options), and the disk cache of binaries. */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T6I_MAX_KERNELS_PER_PROGRAM 8
#define T6I_BUILD_LOG_HEAD 1200
#define T6I_MAX_PROGRAM_FILES 8

struct t6i_program_entry {
    char *source_name;
    char *options;
    cl_program program;
    char *kernel_names[T6I_MAX_KERNELS_PER_PROGRAM];
    cl_kernel kernels[T6I_MAX_KERNELS_PER_PROGRAM];
    t6i_program_entry *next;
};

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

void t6i_programs_release(t6_context *ctx)
{
    t6i_program_entry *entry = ctx->programs;
    while (entry) {
        t6i_program_entry *next = entry->next;
        for (int i = 0; i < T6I_MAX_KERNELS_PER_PROGRAM; i++) {
            if (entry->kernels[i]) clReleaseKernel(entry->kernels[i]);
            free(entry->kernel_names[i]);
        }
        if (entry->program) clReleaseProgram(entry->program);
        free(entry->source_name);
        free(entry->options);
        free(entry);
        entry = next;
    }
    ctx->programs = NULL;
}

/* Kernel sources are far below this; a larger file under T6_KERNEL_DIR is a mistake. */
#define KERNEL_SOURCE_MAX_BYTES (16u << 20)

/* The text of kernels_cl/<name>.cl: from the context's kernel folder when it has one (t6_context_options
 * .kernel_dir or T6_KERNEL_DIR; development: edit .cl files without rebuilding the library), else embedded.
 * Caller frees. */
static t6_status load_source(const t6_context *ctx, const char *name, char **text, size_t *length)
{
    const char *dir = ctx->kernel_dir;
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.cl", dir, name);
        /* The reason goes to the thread's record first, then into the context's with the setting named. */
        t6_status status = t6i_read_regular(NULL, path, "kernel source", KERNEL_SOURCE_MAX_BYTES, text, length);
        if (status != T6_SUCCESS)
            return t6i_fail(ctx, status, "the kernel folder (kernel_dir, T6_KERNEL_DIR) is set but %s",
                            t6_context_last_error(NULL));
        return T6_SUCCESS;
    }
    const char *embedded = t6i_embedded_source(name, length);
    if (!embedded) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "no kernel source named '%s'", name);
    *text = malloc(*length + 1);
    if (!*text) return t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (kernel source)");
    memcpy(*text, embedded, *length + 1);
    return T6_SUCCESS;
}

/* A program's source: its files of kernels_cl/ (programs.txt, compiled in as t6i_program_files) one after the
 * other, a newline between. */
static t6_status assemble_source(const t6_context *ctx, const char *name, char **text, size_t *length)
{
    t6_status status = T6_SUCCESS;
    const char *const *files = t6i_program_files(name);
    if (!files) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "no kernel program named '%s'", name);
    char *parts[T6I_MAX_PROGRAM_FILES] = {NULL};
    size_t lengths[T6I_MAX_PROGRAM_FILES] = {0}, total = 0;
    int count = 0;
    for (; files[count]; count++) {
        if (count == T6I_MAX_PROGRAM_FILES) {
            status = t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "kernel program '%s' has over %d files", name,
                              T6I_MAX_PROGRAM_FILES);
            goto cleanup;
        }
        T6I_TRY(load_source(ctx, files[count], &parts[count], &lengths[count]));
        total += lengths[count] + 1;
    }
    *length = total - 1;
    *text = malloc(total);
    if (!*text) {
        status = t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (kernel source)");
        goto cleanup;
    }
    for (int i = 0, at = 0; i < count; at += (int)lengths[i] + 1, i++) {
        memcpy(*text + at, parts[i], lengths[i]);
        (*text)[at + lengths[i]] = i + 1 < count ? '\n' : '\0';
    }
cleanup:
    for (int i = 0; i < count; i++) free(parts[i]);
    return status;
}

/* The build identity of the disk cache: anything that changes the binary is in it. */
static char *cache_key(const t6_context *ctx, const char *source, size_t source_length, const char *options,
                       size_t *key_length)
{
    size_t length = strlen(ctx->info.platform_name) + strlen(ctx->info.name) + strlen(ctx->info.driver_version) +
                    strlen(T6_VERSION_STRING) + strlen(options) + source_length + 16;
    char *key = malloc(length);
    if (!key) return NULL;
    int n = snprintf(key, length, "%s\n%s\n%s\n%s\n%s\n", ctx->info.platform_name, ctx->info.name,
                     ctx->info.driver_version, T6_VERSION_STRING, options);
    memcpy(key + n, source, source_length);
    *key_length = (size_t)n + source_length;
    return key;
}

static t6_status build_failure(t6_context *ctx, cl_program program, const char *name, cl_int err)
{
    size_t log_size = 0;
    char log_head[T6I_BUILD_LOG_HEAD + 1] = "";
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size) == CL_SUCCESS &&
        log_size > 0) {
        char *log = malloc(log_size + 1);
        if (log && clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, log_size, log, NULL) ==
                       CL_SUCCESS) {
            log[log_size] = '\0';
            snprintf(log_head, sizeof log_head, "%s", log);
        }
        free(log);
    }
    return t6i_fail(ctx, T6_ERROR_BUILD_FAILED, "clBuildProgram(%s) failed: %s (%d): %s", name,
                    t6i_cl_error_name(err), (int)err, log_head);
}

static bool try_binary(t6_context *ctx, const unsigned char *binary, size_t size, const char *options,
                       cl_program *out)
{
    cl_int err = CL_SUCCESS, binary_status = CL_SUCCESS;
    cl_program program =
        clCreateProgramWithBinary(ctx->cl_ctx, 1, &ctx->device, &size, &binary, &binary_status, &err);
    if (err != CL_SUCCESS || binary_status != CL_SUCCESS) {
        if (program) clReleaseProgram(program);
        return false;
    }
    if (clBuildProgram(program, 1, &ctx->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(program);
        return false;
    }
    *out = program;
    return true;
}

static void save_binary(t6_context *ctx, cl_program program, const char *key, size_t key_length)
{
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0)
        return;
    unsigned char *binary = malloc(size);
    if (!binary) return;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL) == CL_SUCCESS)
        t6i_disk_cache_save(ctx, key, key_length, binary, size);
    free(binary);
}

static t6_status build_program(t6_context *ctx, const char *name, const char *options, cl_program *out)
{
    t6_status status = T6_SUCCESS;
    char *source = NULL, *key = NULL, *full_options = NULL;
    unsigned char *binary = NULL;
    size_t source_length = 0, key_length = 0, binary_size = 0;
    cl_program program = NULL;
    cl_int err = CL_SUCCESS;

    T6I_TRY(assemble_source(ctx, name, &source, &source_length));
    /* -cl-std=CL1.2 holds every driver to the portable language; kernels must not need more. */
    size_t options_length = strlen(options) + 32;
    T6I_ALLOC(ctx, full_options, options_length);
    snprintf(full_options, options_length, "-cl-std=CL1.2%s", options);

    key = cache_key(ctx, source, source_length, full_options, &key_length);
    if (key && t6i_disk_cache_load(ctx, key, key_length, &binary, &binary_size) &&
        try_binary(ctx, binary, binary_size, full_options, &program)) {
        t6i_log(T6_LOG_DEBUG, "kernel %s loaded from the disk cache", name);
        *out = program;
        goto cleanup;
    }

    const char *text = source;
    program = clCreateProgramWithSource(ctx->cl_ctx, 1, &text, &source_length, &err);
    T6I_CHECK_CL(ctx, err, "clCreateProgramWithSource");
    err = clBuildProgram(program, 1, &ctx->device, full_options, NULL, NULL);
    char *large_grf = err != CL_SUCCESS ? strstr(full_options, T6I_LARGE_GRF_OPTION) : NULL;
    if (large_grf) {
        /* A driver that reports DPAS but refuses the large register file: build at 128 registers, and when that
         * works, stop asking for it in this context. */
        const size_t option_length = strlen(T6I_LARGE_GRF_OPTION);
        memmove(large_grf, large_grf + option_length, strlen(large_grf + option_length) + 1);
        const cl_int refused = err;
        err = clBuildProgram(program, 1, &ctx->device, full_options, NULL, NULL);
        if (err == CL_SUCCESS) {
            t6i_log(T6_LOG_WARN, "kernel %s: the driver refused%s (%s); built without it, as every kernel of this "
                    "context will be", name, T6I_LARGE_GRF_OPTION, t6i_cl_error_name(refused));
            ctx->large_grf = false;
            free(key);
            key = cache_key(ctx, source, source_length, full_options, &key_length);
        }
    }
    if (err != CL_SUCCESS) {
        status = build_failure(ctx, program, name, err);
        goto cleanup;
    }
    t6i_log(T6_LOG_DEBUG, "kernel %s built with '%s'", name, full_options);
    if (key) save_binary(ctx, program, key, key_length);
    *out = program;
    program = NULL;
cleanup:
    if (status != T6_SUCCESS && program) clReleaseProgram(program);
    free(source);
    free(key);
    free(binary);
    free(full_options);
    return status;
}

static char *duplicate(const char *text)
{
    size_t n = strlen(text) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, text, n);
    return copy;
}

void t6i_large_register_file(const t6_context *ctx, char *options, size_t cap)
{
    const size_t used = strlen(options);
    if (ctx->large_grf && used + strlen(T6I_LARGE_GRF_OPTION) < cap)
        snprintf(options + used, cap - used, "%s", T6I_LARGE_GRF_OPTION);
}

t6_status t6i_get_kernel(t6_context *ctx, const char *source, const char *options, const char *kernel_name,
                         cl_kernel *out)
{
    t6_status status = T6_SUCCESS;
    t6i_program_entry *entry = ctx->programs;
    while (entry && (strcmp(entry->source_name, source) != 0 || strcmp(entry->options, options) != 0))
        entry = entry->next;
    if (!entry) {
        cl_program program = NULL;
        T6I_TRY(build_program(ctx, source, options, &program));
        entry = calloc(1, sizeof *entry);
        char *source_copy = duplicate(source), *options_copy = duplicate(options);
        if (!entry || !source_copy || !options_copy) {
            free(entry);
            free(source_copy);
            free(options_copy);
            clReleaseProgram(program);
            return t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (program cache)");
        }
        entry->source_name = source_copy;
        entry->options = options_copy;
        entry->program = program;
        entry->next = ctx->programs;
        ctx->programs = entry;
    }
    int slot = -1;
    for (int i = 0; i < T6I_MAX_KERNELS_PER_PROGRAM; i++) {
        if (entry->kernel_names[i] && strcmp(entry->kernel_names[i], kernel_name) == 0) {
            *out = entry->kernels[i];
            return T6_SUCCESS;
        }
        if (!entry->kernel_names[i] && slot < 0) slot = i;
    }
    if (slot < 0) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "too many kernels in program %s", source);
    cl_int err = CL_SUCCESS;
    cl_kernel kernel = clCreateKernel(entry->program, kernel_name, &err);
    if (err != CL_SUCCESS) {
        char call[160];
        snprintf(call, sizeof call, "clCreateKernel(%s)", kernel_name);
        return t6i_fail_cl(ctx, err, call);
    }
    /* A planner's local-memory estimate can fall a few bytes short of what the compiler allocates (alignment,
     * its own spills); a kernel over the device's local memory would fail at launch, so it fails here, where
     * callers can plan smaller or fall back. Drivers that cannot answer are trusted. */
    cl_ulong local_bytes = 0;
    if (clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local_bytes, &local_bytes,
                                 NULL) == CL_SUCCESS &&
        ctx->info.local_mem_bytes > 0 && local_bytes > ctx->info.local_mem_bytes) {
        clReleaseKernel(kernel);
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                        "kernel %s (%s) needs %llu bytes of local memory, over the %llu of the device", kernel_name,
                        options, (unsigned long long)local_bytes, ctx->info.local_mem_bytes);
    }
    entry->kernel_names[slot] = duplicate(kernel_name);
    if (!entry->kernel_names[slot]) {
        clReleaseKernel(kernel);
        return t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (kernel cache)");
    }
    entry->kernels[slot] = kernel;
    *out = kernel;
cleanup:
    return status;
}
