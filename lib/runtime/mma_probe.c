/* mma_probe.c — whether this device runs the warp-level instructions of kernels_cl/mma.cl (mma.sync m16n8k16,
 * ldmatrix with and without .trans, cp.async, shuffles, vote, fp16x2/bf16x2 packing) as the PTX ISA's fragment
 * layouts say: the gate of every tensor-core kernel (attention_mma.c, mha.c), run once per context and type. In
 * the runtime, beside device.c: what it finds is a property of the device, kept in the context, and it needs
 * nothing but program building, so the ops' kernels share it without one op owning it. */
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

static bool is_nvidia_gpu(const t6_context *ctx)
{
    return ctx->info.is_gpu && strcmp(ctx->info.normalized_vendor, "nvidia") == 0;
}

/* The probe's inputs, built the same way by the kernel's host check: small integers, exact in fp16 and bf16. */
static float probe_value(unsigned i) { return (float)((int)((i * 7u) % 13u) - 6); }

const char *t6i_mma_probe(t6_context *ctx, int mma, t6_dtype dtype)
{
    enum { INPUTS = 3 * 256, OUTPUTS = 3 * 128 + 32 + 2 };
    const char *why = NULL;
    cl_kernel kernel = NULL;
    cl_mem in = NULL, out = NULL;
    cl_int err = CL_SUCCESS;
    cl_ushort bits[INPUTS];
    float got[OUTPUTS];
    char options[256] = "";
    t6i_define(options, sizeof options, "T6_MMA", mma);
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", dtype);
    if (t6i_get_kernel(ctx, "mma_probe", options, "t6_mma_probe", &kernel) != T6_SUCCESS)
        return ctx->last_error;
    for (unsigned i = 0; i < INPUTS; i++) {
        const float value = probe_value(i);
        bits[i] = dtype == T6_F16 ? t6i_float_to_half(value) : t6i_float_to_bf16(value);
    }
    why = "an OpenCL call failed";
    in = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof bits, bits, &err);
    if (err != CL_SUCCESS) goto done;
    out = clCreateBuffer(ctx->cl_ctx, CL_MEM_WRITE_ONLY, sizeof got, NULL, &err);
    const size_t size = 32;
    if (err != CL_SUCCESS || clSetKernelArg(kernel, 0, sizeof in, &in) != CL_SUCCESS ||
        clSetKernelArg(kernel, 1, sizeof out, &out) != CL_SUCCESS ||
        clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &size, &size, 0, NULL, NULL) != CL_SUCCESS ||
        clEnqueueReadBuffer(ctx->queue, out, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL) != CL_SUCCESS)
        goto done;
    /* Matrices (row-major 16 × 16 from the inputs): A = in[0..255], B = in[256..511] as [k][n], Bt = in[512..767]
     * as [n][k]. Outputs: A·B[:, 0:8], A·B[:, 8:16] (ldmatrix.trans operands), A·Bt[0:8]ᵀ (ldmatrix operands),
     * each 16 × 8 row-major; then per lane its xor-1 neighbour's id plus 100 × its xor-2 neighbour's; then
     * vote.any of (lane == 17) and of false; the last output is pack/unpack of 1 + 2^-12 (1 in both types). */
    why = "wrong results";
    for (int p = 0; p < 3; p++)
        for (int r = 0; r < 16; r++)
            for (int n = 0; n < 8; n++) {
                double want = 0.0;
                for (int k = 0; k < 16; k++) {
                    const double b = p < 2 ? probe_value(256u + (unsigned)(k * 16 + n + 8 * p))
                                           : probe_value(512u + (unsigned)(n * 16 + k));
                    want += probe_value((unsigned)(r * 16 + k)) * b;
                }
                if (got[p * 128 + r * 8 + n] != (float)want) goto done;
            }
    for (int lane = 0; lane < 32; lane++)
        if (got[384 + lane] != (float)((lane ^ 1) + 100 * (lane ^ 2))) goto done;
    if (got[416] != 1.0f || got[417] != 0.0f) goto done;
    why = NULL;
done:
    if (in) clReleaseMemObject(in);
    if (out) clReleaseMemObject(out);
    return why;
}

bool t6i_tensor_cores_work(t6_context *ctx, t6_dtype dtype)
{
    int *known = &ctx->mma16_probe[dtype == T6_BF16];
    if (*known != 0) return *known > 0;
    *known = -1;
    if (!is_nvidia_gpu(ctx)) return false;
    char saved_error[T6I_ERROR_TEXT];
    memcpy(saved_error, ctx->last_error, sizeof saved_error);
    const char *why = t6i_mma_probe(ctx, 1, dtype);
    char reason[320] = "";
    if (why) snprintf(reason, sizeof reason, "%.300s", why);
    memcpy(ctx->last_error, saved_error, sizeof saved_error);
    *known = why ? -1 : 1;
    if (why)
        t6i_log(T6_LOG_INFO, "tensor cores (mma.sync m16n8k16 %s) not used: %s", t6_dtype_name(dtype),
                reason);
    else t6i_log(T6_LOG_INFO, "tensor cores (mma.sync m16n8k16 %s) in use", t6_dtype_name(dtype));
    return *known > 0;
}

