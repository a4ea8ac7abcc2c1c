/* buffer.c — creating, filling and reading device buffers in any storage type, for samples, tests and the
 * host-facing parts of the cache objects. */
#include "runtime/runtime.h"

#include <stdint.h>
#include <stdlib.h>

t6_status t6_buffer_create(t6_context *ctx, t6_dtype dtype, size_t count, cl_mem *out)
{
    t6_status status = T6_SUCCESS;
    cl_int err = CL_SUCCESS;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_buffer_create: ctx is NULL");
    t6i_lock(ctx);
    T6I_REQUIRE(ctx, out, "t6_buffer_create: out is NULL");
    *out = NULL;
    T6I_REQUIRE(ctx, t6i_dtype_valid(dtype), "t6_buffer_create: unknown dtype %d", (int)dtype);
    T6I_REQUIRE(ctx, count > 0, "t6_buffer_create: count is 0");
    T6I_REQUIRE(ctx, count <= SIZE_MAX / t6_dtype_size(dtype) && count * t6_dtype_size(dtype) <= ctx->info.max_alloc_bytes,
                "t6_buffer_create: %zu %s elements exceed the device's largest allocation (%llu bytes)", count,
                t6_dtype_name(dtype), ctx->info.max_alloc_bytes);
    *out = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, count * t6_dtype_size(dtype), NULL, &err);
    if (err != CL_SUCCESS) *out = NULL;
    T6I_CHECK_CL(ctx, err, "clCreateBuffer");
cleanup:
    t6i_unlock(ctx);
    return status;
}

/* Conversions go through a host staging copy in storage format. Large transfers are split so the staging
 * copy stays small. */
#define STAGING_ELEMENTS ((size_t)1 << 20)

t6_status t6i_transfer(t6_context *ctx, cl_mem buffer, t6_dtype dtype, size_t offset, size_t count, float *host,
                          bool upload, const char *what)
{
    t6_status status = T6_SUCCESS;
    unsigned char *staging = NULL;
    T6I_REQUIRE(ctx, t6i_dtype_valid(dtype), "%s: unknown dtype %d", what, (int)dtype);
    T6I_REQUIRE(ctx, host || count == 0, "%s: host is NULL", what);
    T6I_TRY(t6i_check_buffer(ctx, buffer, dtype, offset, count, "buffer"));
    size_t element = t6_dtype_size(dtype);
    if (dtype == T6_F32) {
        if (count == 0) goto cleanup;
        cl_int err = upload ? clEnqueueWriteBuffer(ctx->queue, buffer, CL_TRUE, offset * element, count * element,
                                                   host, 0, NULL, NULL)
                            : clEnqueueReadBuffer(ctx->queue, buffer, CL_TRUE, offset * element, count * element,
                                                  host, 0, NULL, NULL);
        T6I_CHECK_CL(ctx, err, upload ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer");
        t6i_count_commands(ctx, 1);
        goto cleanup;
    }
    size_t chunk = count < STAGING_ELEMENTS ? count : STAGING_ELEMENTS;
    T6I_ALLOC(ctx, staging, chunk * element);
    for (size_t done = 0; done < count; done += chunk) {
        size_t n = count - done < chunk ? count - done : chunk;
        size_t byte_offset = (offset + done) * element;
        if (upload) {
            t6i_pack(dtype, host + done, staging, n);
            T6I_CHECK_CL(ctx,
                         clEnqueueWriteBuffer(ctx->queue, buffer, CL_TRUE, byte_offset, n * element, staging, 0,
                                              NULL, NULL),
                         "clEnqueueWriteBuffer");
            t6i_count_commands(ctx, 1);
        } else {
            T6I_CHECK_CL(ctx,
                         clEnqueueReadBuffer(ctx->queue, buffer, CL_TRUE, byte_offset, n * element, staging, 0, NULL,
                                             NULL),
                         "clEnqueueReadBuffer");
            t6i_count_commands(ctx, 1);
            t6i_unpack(dtype, staging, host + done, n);
        }
    }
cleanup:
    free(staging);
    return status;
}

t6_status t6_buffer_upload(t6_context *ctx, cl_mem buffer, t6_dtype dtype, size_t offset, size_t count,
                           const float *host)
{
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_buffer_upload: ctx is NULL");
    t6i_lock(ctx);
    /* transfer() only reads host when uploading. */
    t6_status status = t6i_transfer(ctx, buffer, dtype, offset, count, (float *)host, true, "t6_buffer_upload");
    t6i_unlock(ctx);
    return status;
}

t6_status t6_buffer_download(t6_context *ctx, cl_mem buffer, t6_dtype dtype, size_t offset, size_t count,
                             float *host)
{
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_buffer_download: ctx is NULL");
    t6i_lock(ctx);
    t6_status status = t6i_transfer(ctx, buffer, dtype, offset, count, host, false, "t6_buffer_download");
    t6i_unlock(ctx);
    return status;
}
