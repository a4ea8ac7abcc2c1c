/* gemv_probe.c — where a T6-medium decode step's dense products spend their time (docs/BENCHMARKS.md, "Whole
 * model"): CLBlast's SGEMV at the model's shapes, enqueued back to back as the model does, against the
 * library's t6_model_gemv (kernels_cl/model.cl, read from the working directory: run from the repository root). Per shape it prints the device time of one call, the device span of 100 calls in a row (gaps
 * between kernels show up here: host overhead per call that the GPU waits for), and the host time per call.
 * `gemv_probe copy` makes the buffers with CL_MEM_COPY_HOST_PTR instead of writing them through the queue.
 * A diagnostic for the GPU machine (the gemv step of tuner/gpu/reproduce.sh builds and runs it), not part of
 * the library.
 *   cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 gemv_probe.c -lclblast -lOpenCL */
#include <CL/cl.h>
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x)                                                                                                 \
    do {                                                                                                         \
        cl_int e_ = (x);                                                                                         \
        if (e_ != CL_SUCCESS) {                                                                                  \
            fprintf(stderr, "%s:%d: %s: OpenCL error %d\n", __FILE__, __LINE__, #x, (int)e_);                    \
            exit(1);                                                                                             \
        }                                                                                                        \
    } while (0)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double event_us(cl_event first, cl_event last)
{
    cl_ulong start = 0, end = 0;
    CHECK(clGetEventProfilingInfo(first, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL));
    CHECK(clGetEventProfilingInfo(last, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL));
    return (end - start) * 1e-3;
}

enum { CALLS = 100 };

int main(int argc, char **argv)
{
    const int copy_host_ptr = argc > 1 && strcmp(argv[1], "copy") == 0;
    /* The first GPU of any platform (the GPU machine lists PoCL's CPU device first), else the first device. */
    cl_platform_id platforms[8];
    cl_uint platform_count = 0;
    cl_device_id device = NULL;
    cl_int err;
    CHECK(clGetPlatformIDs(8, platforms, &platform_count));
    for (cl_uint p = 0; p < platform_count && !device; p++)
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_GPU, 1, &device, NULL) != CL_SUCCESS) device = NULL;
    if (!device) CHECK(clGetDeviceIDs(platforms[0], CL_DEVICE_TYPE_ALL, 1, &device, NULL));
    char name[256] = "";
    CHECK(clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL));
    printf("device: %s\n", name);
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CHECK(err);
    cl_command_queue queue = clCreateCommandQueue(context, device, CL_QUEUE_PROFILING_ENABLE, &err);
    CHECK(err);
    /* common.cl then model.cl, as the library puts them together. */
    static char source[1 << 17];
    size_t source_length = 0;
    static const char *const files[] = {"kernels_cl/common.cl", "kernels_cl/model.cl"};
    for (int f = 0; f < 2; f++) {
        FILE *file = fopen(files[f], "rb");
        if (!file) {
            fprintf(stderr, "%s: cannot open (run from the repository root)\n", files[f]);
            return 1;
        }
        source_length += fread(source + source_length, 1, sizeof source - 1 - source_length, file);
        source[source_length++] = '\n';
        fclose(file);
    }
    /* T6-medium's products in one decode step (bench_model.c): n outputs × k inputs. */
    const struct {
        const char *name;
        int n, k;
    } shapes[] = {{"attn out (H·D→C)", 1024, 3008}, {"mlp fc (C→2F)", 5460, 1024}, {"mlp proj (F→C)", 1024, 2730},
                  {"lm_head (C→V)", 50304, 1024}};
    printf("%-18s %7s %6s | %9s %9s %9s %7s | %9s %9s %7s\n", "shape", "n", "k", "1 call", "span/call", "host/call",
           "GB/s", "t6 1", "t6 span", "GB/s");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s].n, k = shapes[s].k;
        const size_t kp = (size_t)k;
        float *values = malloc((size_t)n * kp * sizeof *values);
        for (size_t i = 0; i < (size_t)n * kp; i++) values[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
        /* Plain device buffers written by the queue, as the library makes them; with copy_host_ptr (argument
         * "copy"), buffers initialized by CL_MEM_COPY_HOST_PTR instead, to see whether the driver places those
         * elsewhere. */
        const cl_mem_flags init = copy_host_ptr ? CL_MEM_COPY_HOST_PTR : 0;
        void *from = copy_host_ptr ? values : NULL;
        cl_mem w = clCreateBuffer(context, CL_MEM_READ_ONLY | init, (size_t)n * kp * 4, from, &err);
        CHECK(err);
        cl_mem x = clCreateBuffer(context, CL_MEM_READ_ONLY | init, kp * 4, from, &err);
        CHECK(err);
        cl_mem y = clCreateBuffer(context, CL_MEM_READ_WRITE | init, (size_t)n * 4, from, &err);
        CHECK(err);
        if (!copy_host_ptr) {
            CHECK(clEnqueueWriteBuffer(queue, w, CL_TRUE, 0, (size_t)n * kp * 4, values, 0, NULL, NULL));
            CHECK(clEnqueueWriteBuffer(queue, x, CL_TRUE, 0, kp * 4, values, 0, NULL, NULL));
            CHECK(clEnqueueWriteBuffer(queue, y, CL_TRUE, 0, (size_t)n * 4, values, 0, NULL, NULL));
        }
        free(values);
        cl_event events[CALLS];
        /* CLBlast: warm-up (its kernels compile on the first call), then one call, then CALLS in a row. */
        for (int i = 0; i < 3; i++)
            if (CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, n, k, 1.0f, w, 0, kp, x, 0, 1, 0.0f, y, 0, 1,
                             &queue, NULL) != CLBlastSuccess) {
                fprintf(stderr, "CLBlastSgemv failed\n");
                return 1;
            }
        CHECK(clFinish(queue));
        const double t0 = now_s();
        for (int i = 0; i < CALLS; i++)
            CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, n, k, 1.0f, w, 0, kp, x, 0, 1, 0.0f, y, 0, 1,
                         &queue, &events[i]);
        const double host_s = (now_s() - t0) / CALLS;
        CHECK(clFinish(queue));
        const double one = event_us(events[CALLS / 2], events[CALLS / 2]);
        const double span = event_us(events[0], events[CALLS - 1]) / CALLS;
        for (int i = 0; i < CALLS; i++) clReleaseEvent(events[i]);
        /* The library's kernel, the same way, built as the library builds it for one row of fp32 weights. */
        const int vec = k % 4 == 0 ? 4 : k % 2 == 0 ? 2 : 1;
        char options[96];
        snprintf(options, sizeof options, "-DT6_GEMV_VEC=%d -DT6_GEMV_BLOCK=1", vec);
        const char *text = source;
        cl_program program = clCreateProgramWithSource(context, 1, &text, &source_length, &err);
        CHECK(err);
        CHECK(clBuildProgram(program, 1, &device, options, NULL, NULL));
        cl_kernel kernel = clCreateKernel(program, "t6_model_gemv", &err);
        CHECK(err);
        const cl_uint zero = 0, one_row = 1, kk = (cl_uint)k, nn = (cl_uint)n;
        CHECK(clSetKernelArg(kernel, 0, sizeof x, &x));
        CHECK(clSetKernelArg(kernel, 1, sizeof zero, &zero));
        CHECK(clSetKernelArg(kernel, 2, sizeof one_row, &one_row));
        CHECK(clSetKernelArg(kernel, 3, sizeof kk, &kk));
        CHECK(clSetKernelArg(kernel, 4, sizeof w, &w));
        CHECK(clSetKernelArg(kernel, 5, sizeof nn, &nn));
        CHECK(clSetKernelArg(kernel, 6, sizeof y, &y));
        CHECK(clSetKernelArg(kernel, 7, sizeof zero, &zero));
        CHECK(clSetKernelArg(kernel, 8, sizeof zero, &zero));
        const cl_float no_norm = 0.0f;
        CHECK(clSetKernelArg(kernel, 9, sizeof no_norm, &no_norm));
        const size_t global = (size_t)(n + 7) / 8 * 256, local = 256; /* model.cl: 8 columns per group of 256 */
        for (int i = 0; i < CALLS; i++)
            CHECK(clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &global, &local, 0, NULL, &events[i]));
        CHECK(clFinish(queue));
        const double own = event_us(events[CALLS / 2], events[CALLS / 2]);
        const double own_span = event_us(events[0], events[CALLS - 1]) / CALLS;
        for (int i = 0; i < CALLS; i++) clReleaseEvent(events[i]);
        clReleaseKernel(kernel);
        clReleaseProgram(program);
        const double bytes = (double)n * k * 4;
        printf("%-18s %7d %6d | %7.1f us %7.1f us %7.1f us %7.0f | %7.1f us %7.1f us %7.0f\n", shapes[s].name, n, k,
               one, span, host_s * 1e6, bytes / one * 1e-3, own, own_span, bytes / own * 1e-3);
        clReleaseMemObject(w);
        clReleaseMemObject(x);
        clReleaseMemObject(y);
    }
    return 0;
}
