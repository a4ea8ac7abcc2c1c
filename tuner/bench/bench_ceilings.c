/* bench_ceilings.c — the device's measured ceilings: what a plain copy kernel, a kernel of independent FMA
 * chains and CLBlast's SGEMM reach on it, and the event time of a kernel that does nothing (the floor under
 * every small kernel). Benchmarks report their figures as fractions of these, so a table says how close a
 * kernel is to what the device can do, not to its data sheet. */
#include "bench.h"

#ifdef T6_WITH_CLBLAST
#include <clblast_c.h>
#endif
#include <stdlib.h>
#include <string.h>

/* Raw OpenCL on purpose: the probes must not depend on t6's kernels or tunables. The FMA kernel keeps 8
 * independent chains of 8-wide vectors per work-item: CPU drivers (PoCL) use their SIMD units only for
 * explicit vectors, and GPUs run them as 64 independent scalar chains, so FMA latency never limits it. */
static const char probe_source[] =
    "__kernel void t6b_empty(void) {}\n"
    "__kernel void t6b_copy(const __global float4 *src, __global float4 *dst) {\n"
    "    size_t i = get_global_id(0);\n"
    "    dst[i] = src[i];\n"
    "}\n"
    "__kernel void t6b_fma(__global float *out, float a_scalar, float b_scalar, int iterations) {\n"
    "    const float8 a = (float8)(a_scalar), b = (float8)(b_scalar);\n"
    "    float8 x0 = (float8)((float)get_global_id(0) * 1e-9f), x1 = x0 + 0.1f, x2 = x0 + 0.2f, x3 = x0 + 0.3f;\n"
    "    float8 x4 = x0 + 0.4f, x5 = x0 + 0.5f, x6 = x0 + 0.6f, x7 = x0 + 0.7f;\n"
    "    for (int i = 0; i < iterations; i++) {\n"
    "        x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);\n"
    "        x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);\n"
    "    }\n"
    "    const float8 s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;\n"
    "    out[get_global_id(0)] = s.s0 + s.s1 + s.s2 + s.s3 + s.s4 + s.s5 + s.s6 + s.s7;\n"
    "}\n";

enum { FMA_CHAINS = 8, FMA_WIDTH = 8 };

typedef struct probe {
    cl_command_queue queue;
    cl_kernel kernel;
    size_t global, local;
} probe;

static t6_status enqueue_probe(void *arg, cl_event *first, cl_event *last)
{
    probe *p = arg;
    cl_event event = NULL;
    cl_int err = clEnqueueNDRangeKernel(p->queue, p->kernel, 1, NULL, &p->global, p->local ? &p->local : NULL, 0,
                                        NULL, &event);
    if (err != CL_SUCCESS) return T6_ERROR_OPENCL;
    clRetainEvent(event);
    *first = *last = event;
    return T6_SUCCESS;
}

static cl_mem filled_buffer(t6_context *ctx, size_t bytes, float value, cl_int *err)
{
    cl_mem buffer = clCreateBuffer(t6_context_cl_context(ctx), CL_MEM_READ_WRITE, bytes, NULL, err);
    if (*err != CL_SUCCESS) return NULL;
    *err = clEnqueueFillBuffer(t6_context_cl_queue(ctx), buffer, &value, sizeof value, 0, bytes, 0, NULL, NULL);
    if (*err != CL_SUCCESS) {
        clReleaseMemObject(buffer);
        return NULL;
    }
    return buffer;
}

#ifdef T6_WITH_CLBLAST
typedef struct sgemm_probe {
    cl_command_queue queue;
    cl_mem a, b, c;
    size_t n;
} sgemm_probe;

/* CLBlast may run helper kernels (pads, transposes) before its GEMM kernel and returns the event of the last
 * one only; a marker in front opens the timed span. */
static t6_status enqueue_sgemm(void *arg, cl_event *first, cl_event *last)
{
    sgemm_probe *p = arg;
    if (clEnqueueMarkerWithWaitList(p->queue, 0, NULL, first) != CL_SUCCESS) return T6_ERROR_OPENCL;
    CLBlastStatusCode code = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, p->n, p->n,
                                          p->n, 1.0f, p->a, 0, p->n, p->b, 0, p->n, 0.0f, p->c, 0, p->n, &p->queue,
                                          last);
    if (code != CLBlastSuccess) {
        fprintf(stderr, "t6-bench: CLBlastSgemm(n=%zu) failed with status %d\n", p->n, (int)code);
        *last = NULL;
        return T6_ERROR_CLBLAST;
    }
    return T6_SUCCESS;
}

static t6_status measure_sgemm(t6_context *ctx, int quick, t6b_ceilings *out)
{
    sgemm_probe p = {t6_context_cl_queue(ctx), NULL, NULL, NULL, quick ? 1024 : 4096};
    size_t bytes = p.n * p.n * sizeof(float);
    cl_int err = CL_SUCCESS;
    t6_status status = T6_ERROR_OPENCL;
    t6b_stats stats;
    p.a = filled_buffer(ctx, bytes, 0.5f, &err);
    if (p.a) p.b = filled_buffer(ctx, bytes, 0.25f, &err);
    if (p.b) p.c = filled_buffer(ctx, bytes, 0.0f, &err);
    /* The first call compiles CLBlast's kernels: warm up twice. */
    if (p.c) status = t6b_time_events(ctx, enqueue_sgemm, &p, 2, quick ? 3 : 10, &stats);
    if (status == T6_SUCCESS) {
        out->sgemm_gflops = 2.0 * (double)p.n * (double)p.n * (double)p.n / stats.median_ns;
        out->sgemm_n = (int)p.n;
    }
    if (p.a) clReleaseMemObject(p.a);
    if (p.b) clReleaseMemObject(p.b);
    if (p.c) clReleaseMemObject(p.c);
    return status;
}
#endif

t6_status t6b_measure_ceilings(t6_context *ctx, int quick, t6b_ceilings *out)
{
    t6_status status = T6_SUCCESS;
    cl_int err = CL_SUCCESS;
    cl_program program = NULL;
    cl_kernel copy = NULL, fma_kernel = NULL, empty = NULL;
    cl_mem src = NULL, dst = NULL, sink = NULL;
    t6_device_info info = T6_DEVICE_INFO_INIT;
    t6b_stats stats;
    if (!ctx || !out) return T6_ERROR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    status = t6_context_device_info(ctx, &info);
    if (status != T6_SUCCESS) return status;
    cl_device_id device = t6_context_cl_device(ctx);
    cl_command_queue queue = t6_context_cl_queue(ctx);

    const char *text = probe_source;
    program = clCreateProgramWithSource(t6_context_cl_context(ctx), 1, &text, NULL, &err);
    if (err == CL_SUCCESS) err = clBuildProgram(program, 1, &device, "-cl-std=CL1.2", NULL, NULL);
    if (err == CL_SUCCESS) copy = clCreateKernel(program, "t6b_copy", &err);
    if (err == CL_SUCCESS) fma_kernel = clCreateKernel(program, "t6b_fma", &err);
    if (err == CL_SUCCESS) empty = clCreateKernel(program, "t6b_empty", &err);
    if (err != CL_SUCCESS) {
        status = T6_ERROR_BUILD_FAILED;
        goto cleanup;
    }

    /* Copy: buffers far larger than any cache, so the figure is DRAM's (bytes read + bytes written). */
    size_t bytes = quick ? ((size_t)64 << 20) : ((size_t)512 << 20);
    if (bytes > info.max_alloc_bytes / 2) bytes = (size_t)(info.max_alloc_bytes / 2);
    bytes &= ~(size_t)4095;
    src = filled_buffer(ctx, bytes, 1.0f, &err);
    if (src) dst = filled_buffer(ctx, bytes, 0.0f, &err);
    if (!dst) {
        status = T6_ERROR_OPENCL;
        goto cleanup;
    }
    probe copy_probe = {queue, copy, bytes / 16, info.max_work_group_size >= 256 ? 256 : 0};
    err = clSetKernelArg(copy, 0, sizeof src, &src);
    if (err == CL_SUCCESS) err = clSetKernelArg(copy, 1, sizeof dst, &dst);
    if (err != CL_SUCCESS) {
        status = T6_ERROR_OPENCL;
        goto cleanup;
    }
    status = t6b_time_events(ctx, enqueue_probe, &copy_probe, 2, quick ? 5 : 20, &stats);
    if (status != T6_SUCCESS) goto cleanup;
    out->copy_gbps = 2.0 * (double)bytes / stats.median_ns;

    /* FMA: enough work-items to fill every compute unit many times over. */
    size_t local = info.max_work_group_size >= 256 ? 256 : info.max_work_group_size;
    size_t global = (size_t)(info.compute_units ? info.compute_units : 1) * (quick ? 1024 : 8192);
    global = (global + local - 1) / local * local;
    int iterations = quick ? 256 : 512;
    float a = 0.999f, b = 0.001f;
    sink = clCreateBuffer(t6_context_cl_context(ctx), CL_MEM_WRITE_ONLY, global * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS) err = clSetKernelArg(fma_kernel, 0, sizeof sink, &sink);
    if (err == CL_SUCCESS) err = clSetKernelArg(fma_kernel, 1, sizeof a, &a);
    if (err == CL_SUCCESS) err = clSetKernelArg(fma_kernel, 2, sizeof b, &b);
    if (err == CL_SUCCESS) err = clSetKernelArg(fma_kernel, 3, sizeof iterations, &iterations);
    if (err != CL_SUCCESS) {
        status = T6_ERROR_OPENCL;
        goto cleanup;
    }
    probe fma_probe = {queue, fma_kernel, global, local};
    status = t6b_time_events(ctx, enqueue_probe, &fma_probe, 2, quick ? 5 : 20, &stats);
    if (status != T6_SUCCESS) goto cleanup;
    out->fma_gflops = 2.0 * FMA_CHAINS * FMA_WIDTH * (double)iterations * (double)global / stats.median_ns;

    /* Launch floor: what the driver's events report for a kernel that starts a group on every compute unit
     * and ends. No kernel call can take less; decode-sized calls are measured against floor + bytes / copy. */
    probe empty_probe = {queue, empty, (size_t)(info.compute_units ? info.compute_units : 1) * local, local};
    status = t6b_time_events(ctx, enqueue_probe, &empty_probe, 5, quick ? 10 : 50, &stats);
    if (status != T6_SUCCESS) goto cleanup;
    out->launch_ns = stats.median_ns;

#ifdef T6_WITH_CLBLAST
    /* A CLBlast failure leaves sgemm_gflops at 0 (the table then shows no SGEMM fraction). */
    if (measure_sgemm(ctx, quick, out) != T6_SUCCESS) out->sgemm_gflops = 0.0;
#endif
cleanup:
    if (src) clReleaseMemObject(src);
    if (dst) clReleaseMemObject(dst);
    if (sink) clReleaseMemObject(sink);
    if (copy) clReleaseKernel(copy);
    if (fma_kernel) clReleaseKernel(fma_kernel);
    if (empty) clReleaseKernel(empty);
    if (program) clReleaseProgram(program);
    return status;
}
