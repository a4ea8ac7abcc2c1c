/* self_test.c — t6_context_self_test: every embedded kernel once, on small random inputs, against the
 * double-precision reference (or, for pure data movement, against the host's exact conversion). In model/, the
 * top layer, because its table runs the checks of every layer below (each layer's own checks live with it). */
#include "model/model.h"
#include "runtime/numerics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* convert.cl: every pair of storage types must round exactly as the host does. */
static t6_status check_convert(t6_context *ctx)
{
    t6_status status = T6_SUCCESS;
    enum { N = 1031 };
    float *in = NULL, *out = NULL;
    cl_mem src = NULL, dst = NULL;
    t6i_rng rng = t6i_rng_make(1, 0); /* a fixed seed: the self-test must be repeatable */
    T6I_ALLOC(ctx, in, N);
    T6I_ALLOC(ctx, out, N);
    for (int i = 0; i < N; i++) in[i] = (float)(100.0 * t6i_normal(&rng));
    for (int s = 0; s < 3; s++)
        for (int d = 0; d < 3; d++) {
            char options[96] = "";
            t6i_define(options, sizeof options, "T6_SRC_DTYPE", s);
            t6i_define(options, sizeof options, "T6_DST_DTYPE", d);
            cl_kernel kernel = NULL;
            T6I_TRY(t6i_get_kernel(ctx, "convert", options, "t6_convert", &kernel));
            T6I_TRY(t6_buffer_create(ctx, (t6_dtype)s, N, &src));
            T6I_TRY(t6_buffer_create(ctx, (t6_dtype)d, N, &dst));
            T6I_TRY(t6_buffer_upload(ctx, src, (t6_dtype)s, 0, N, in));
            t6i_arg args[] = {T6I_ARG_MEM(src), T6I_ARG_UINT(0), T6I_ARG_MEM(dst), T6I_ARG_UINT(0), T6I_ARG_UINT(N)};
            T6I_TRY(t6i_set_args(ctx, kernel, "t6_convert", args, 5));
            size_t global = 256, local = 64;
            T6I_TRY(t6i_launch(ctx, kernel, "t6_convert", 1, &global, &local));
            T6I_TRY(t6_buffer_download(ctx, dst, (t6_dtype)d, 0, N, out));
            for (int i = 0; i < N; i++) {
                float expected = t6_round_to_dtype((t6_dtype)d, t6_round_to_dtype((t6_dtype)s, in[i]));
                if (memcmp(&expected, &out[i], sizeof expected) != 0) {
                    status = t6i_fail(ctx, T6_ERROR_WRONG_RESULT,
                                      "self-test convert %s→%s: element %d is %g, expected %g",
                                      t6_dtype_name((t6_dtype)s), t6_dtype_name((t6_dtype)d), i, (double)out[i],
                                      (double)expected);
                    goto cleanup;
                }
            }
            clReleaseMemObject(src);
            clReleaseMemObject(dst);
            src = dst = NULL;
        }
    t6i_log(T6_LOG_INFO, "self-test convert: 9 storage pairs exact");
cleanup:
    if (src) clReleaseMemObject(src);
    if (dst) clReleaseMemObject(dst);
    free(in);
    free(out);
    return status;
}

typedef t6_status (*self_check)(t6_context *ctx);

static const struct {
    const char *name;
    self_check run;
} checks[] = {
    {"convert", check_convert},
    {"projection", t6i_self_test_projection},
    {"mha", t6i_self_test_mha},
    {"materialized", t6i_self_test_materialized},
    {"decode", t6i_self_test_decode},
    {"prefill", t6i_self_test_prefill},
    {"model", t6i_self_test_model},
};

t6_status t6_context_self_test(t6_context *ctx)
{
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_self_test: ctx is NULL");
    t6i_lock(ctx);
    t6_status status = T6_SUCCESS;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0] && status == T6_SUCCESS; i++) {
        status = checks[i].run(ctx);
        if (status != T6_SUCCESS) t6i_log(T6_LOG_ERROR, "self-test %s failed: %s", checks[i].name, ctx->last_error);
    }
    t6i_unlock(ctx);
    return status;
}
