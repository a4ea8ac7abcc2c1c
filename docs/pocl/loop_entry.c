/* loop_entry.c — PoCL 3.1 runs one work-item's side of a branch that depends on the work-item, for the whole
 * work-group, where that branch joins at the entry of a loop holding barriers (docs/ATTENTION.md, "PoCL and code
 * that depends on the work-item before a loop with barriers"). Found as kernel 1's wrong decode results (issue
 * 17); this is that kernel cut down to what still shows it.
 *
 * The kernel prefetches a tile of fp16 keys and values into registers (work-items 0..255 of 512 load, the others
 * keep zeros), then walks the tiles: stage the registers in local memory, prefetch the next tile, compute. Each
 * work-item reports what it read back of the first staged tile. Built once as it is and once with a barrier
 * between the prefetch and the loop (-DBARRIER_BEFORE_LOOP); on PoCL 3.1 (LLVM 15, Debian 12) the first reads
 * zeros everywhere: no work-item loaded the first tile. The same kernel minus any of several unrelated lines
 * (the unused `n`, the zeroing of `weights`, the dead accumulator loop) is compiled right, so this is fragile
 * by nature; the pass at fault looks like the one pocl/pocl#2235 fixed (an implicit barrier placed below a
 * condition that depends on the work-item).
 *   cc -std=c11 -O2 -DCL_TARGET_OPENCL_VERSION=120 loop_entry.c -lOpenCL -lm && ./a.out
 * Exit status: 0 when both builds are right, 1 when the one without the barrier is wrong (the bug), 2 else. */
#include <CL/cl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *source =
    "#define WG 512\n"
    "#define TILE 16\n"
    "#define LOADS (TILE * 64 / 4) /* uint2 loads per tile: fewer than WG */\n"
    "inline void stage_raw(__local float *dst, uint2 raw)\n"
    "{\n"
    "    uint2 bits = raw;\n"
    "    vstore4(vload_half4(0, (const __private half *)&bits), 0, dst);\n"
    "}\n"
    "__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))\n"
    "void first_tile(const __global half *b_k, const __global half *b_v, uint length, uint split_length,\n"
    "                __global float *out)\n"
    "{\n"
    "    __local float4 keys[LOADS];\n"
    "    __local float4 values[LOADS];\n"
    "    __local float weights[256];\n"
    "    const uint lid = get_local_id(0);\n"
    "    const uint first = get_group_id(0) * split_length;\n"
    "    const uint end = length;\n"
    "    if (lid < 256) weights[lid] = 0.0f;\n"
    "    float4 acc[4];\n"
    "    for (uint i = 0; i < 4; i++) acc[i] = (float4)(0.0f);\n"
    "    uint2 key_raw = (uint2)(0), value_raw = (uint2)(0);\n"
    "    float captured = 0.0f;\n"
    "    if (first < end) {\n"
    "        const uint n = min((uint)TILE, end - first);\n"
    "        if (lid < LOADS && lid * 4 < (end - first) * 64) key_raw = ((const __global uint2 *)b_k)[first * 16 + lid];\n"
    "        if (lid < LOADS && lid * 4 < (end - first) * 64) value_raw = ((const __global uint2 *)b_v)[first * 16 + lid];\n"
    "    }\n"
    "#ifdef BARRIER_BEFORE_LOOP\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "#endif\n"
    "    for (uint base = first; base < end; base += TILE) {\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "        if (lid < LOADS) stage_raw((__local float *)keys + lid * 4, key_raw);\n"
    "        if (lid < LOADS) stage_raw((__local float *)values + lid * 4, value_raw);\n"
    "        if (base + TILE < end) {\n"
    "            const uint next = base + TILE, n_next = min((uint)TILE, end - next);\n"
    "            value_raw = (uint2)(0);\n"
    "            if (lid < LOADS && lid * 4 < n_next * 64) value_raw = ((const __global uint2 *)b_v)[next * 16 + lid];\n"
    "        }\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "        if (base == first) captured = ((__local float *)values)[lid] + ((__local float *)keys)[lid + 1];\n"
    "        for (uint i = 0; i < 4; i++) acc[i] = mad((float4)(weights[(lid + i) % 256]), values[lid % 256], acc[i]);\n"
    "    }\n"
    "    out[lid] = captured;\n"
    "}\n";

enum { WG = 512, LENGTH = 16, ELEMENTS = LENGTH * 64 };

#define CHECK(x)                                                                                                 \
    do {                                                                                                         \
        cl_int e_ = (x);                                                                                         \
        if (e_ != CL_SUCCESS) {                                                                                  \
            fprintf(stderr, "%s:%d: %s: OpenCL error %d\n", __FILE__, __LINE__, #x, (int)e_);                    \
            exit(2);                                                                                             \
        }                                                                                                        \
    } while (0)

static float half_to_float(unsigned short h)
{
    const int e = (h >> 10) & 31, m = h & 1023;
    const float v = e == 0 ? ldexpf((float)m, -24) : ldexpf((float)(1024 + m), e - 25);
    return (h & 0x8000) ? -v : v;
}

/* Builds the kernel with `options`, runs one group over LENGTH positions and returns how many outputs differ
 * from values[i] + keys[i + 1] of the first tile. */
static int wrong_outputs(cl_context ctx, cl_device_id device, cl_command_queue queue, const char *options,
                         cl_mem keys, cl_mem values, const unsigned short *k, const unsigned short *v)
{
    cl_int err;
    cl_program program = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
    CHECK(err);
    if (clBuildProgram(program, 1, &device, options, NULL, NULL) != CL_SUCCESS) {
        char log[8192] = "";
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        fprintf(stderr, "build failed:\n%s\n", log);
        exit(2);
    }
    cl_kernel kernel = clCreateKernel(program, "first_tile", &err);
    CHECK(err);
    cl_mem out = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, WG * sizeof(float), NULL, &err);
    CHECK(err);
    const cl_uint length = LENGTH, split_length = LENGTH;
    CHECK(clSetKernelArg(kernel, 0, sizeof keys, &keys));
    CHECK(clSetKernelArg(kernel, 1, sizeof values, &values));
    CHECK(clSetKernelArg(kernel, 2, sizeof length, &length));
    CHECK(clSetKernelArg(kernel, 3, sizeof split_length, &split_length));
    CHECK(clSetKernelArg(kernel, 4, sizeof out, &out));
    const size_t size = WG;
    CHECK(clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &size, &size, 0, NULL, NULL));
    float got[WG];
    CHECK(clEnqueueReadBuffer(queue, out, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL));
    int wrong = 0;
    for (int i = 0; i < WG; i++) {
        const float expected = half_to_float(v[i]) + half_to_float(k[i + 1]);
        if (got[i] != expected) {
            if (wrong < 2) printf("  out[%d] = %g, expected %g\n", i, got[i], expected);
            wrong++;
        }
    }
    clReleaseMemObject(out);
    clReleaseKernel(kernel);
    clReleaseProgram(program);
    return wrong;
}

int main(void)
{
    cl_platform_id platform;
    cl_device_id device;
    cl_int err;
    CHECK(clGetPlatformIDs(1, &platform, NULL));
    CHECK(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL));
    char name[256] = "", version[256] = "";
    clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL);
    clGetDeviceInfo(device, CL_DRIVER_VERSION, sizeof version, version, NULL);
    printf("device: %s, driver %s\n", name, version);
    cl_context ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CHECK(err);
    cl_command_queue queue = clCreateCommandQueue(ctx, device, 0, &err);
    CHECK(err);
    static unsigned short k[ELEMENTS], v[ELEMENTS]; /* fp16 1 + i/1024 and 2 + i/512: exact as float */
    for (int i = 0; i < ELEMENTS; i++) {
        k[i] = (unsigned short)(0x3c00 + i % 1000);
        v[i] = (unsigned short)(0x4000 + i % 1000);
    }
    cl_mem keys = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof k, k, &err);
    CHECK(err);
    cl_mem values = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof v, v, &err);
    CHECK(err);
    const int plain = wrong_outputs(ctx, device, queue, "", keys, values, k, v);
    printf("prefetch joined at the loop entry: %d of %d outputs wrong\n", plain, WG);
    const int fenced = wrong_outputs(ctx, device, queue, "-DBARRIER_BEFORE_LOOP", keys, values, k, v);
    printf("a barrier between the prefetch and the loop: %d of %d outputs wrong\n", fenced, WG);
    clReleaseMemObject(keys);
    clReleaseMemObject(values);
    clReleaseCommandQueue(queue);
    clReleaseContext(ctx);
    return fenced != 0 ? 2 : plain != 0 ? 1 : 0;
}
