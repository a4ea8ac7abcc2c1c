/* bench_timing.c — timing of operations (t6's own and raw OpenCL events), cache flushing and tables for
 * t6-bench and t6-tune. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, int n, double fraction)
{
    int index = (int)(fraction * (double)(n - 1) + 0.5);
    return sorted[index < 0 ? 0 : index >= n ? n - 1 : index];
}

static void summarize(double *times, int runs, t6b_stats *out)
{
    qsort(times, (size_t)runs, sizeof *times, compare_double);
    out->runs = runs;
    out->min_ns = times[0];
    out->max_ns = times[runs - 1];
    out->median_ns = runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
    out->spread = (percentile(times, runs, 0.9) - percentile(times, runs, 0.1)) / out->median_ns;
}

t6_status t6b_time(t6_context *ctx, t6b_run_fn fn, void *arg, int warmup, int runs, t6b_stats *out)
{
    if (!ctx || !fn || !out || runs < 1 || runs > T6B_MAX_RUNS || warmup < 0) return T6_ERROR_INVALID_ARGUMENT;
    double times[T6B_MAX_RUNS];
    t6_status status = t6_context_set_timing(ctx, 1);
    for (int i = 0; i < warmup && status == T6_SUCCESS; i++) status = fn(arg);
    for (int i = 0; i < runs && status == T6_SUCCESS; i++) {
        uint64_t ns = 0;
        status = fn(arg);
        if (status == T6_SUCCESS) status = t6_context_last_op_time(ctx, &ns);
        if (status == T6_SUCCESS && ns == 0) status = T6_ERROR_UNSUPPORTED;
        times[i] = (double)ns;
    }
    if (status != T6_SUCCESS) return status;
    summarize(times, runs, out);
    return T6_SUCCESS;
}

/* Device time from the start of `first` to the end of `last`, once both have finished. */
static t6_status span_ns(cl_event first, cl_event last, double *ns)
{
    cl_ulong start = 0, end = 0;
    if (clWaitForEvents(1, &last) != CL_SUCCESS ||
        clGetEventProfilingInfo(first, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(last, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) != CL_SUCCESS)
        return T6_ERROR_OPENCL;
    *ns = end > start ? (double)(end - start) : 0.0;
    return T6_SUCCESS;
}

t6_status t6b_time_events(t6_context *ctx, t6b_enqueue_fn enqueue, void *arg, int warmup, int runs,
                          t6b_stats *out)
{
    if (!ctx || !enqueue || !out || runs < 1 || runs > T6B_MAX_RUNS || warmup < 0) return T6_ERROR_INVALID_ARGUMENT;
    double times[T6B_MAX_RUNS];
    for (int i = 0; i < warmup + runs; i++) {
        cl_event first = NULL, last = NULL;
        double ns = 0.0;
        t6_status status = enqueue(arg, &first, &last);
        if (status == T6_SUCCESS) status = span_ns(first, last, &ns);
        if (first) clReleaseEvent(first);
        if (last) clReleaseEvent(last);
        if (status != T6_SUCCESS) return status;
        if (i < warmup) continue;
        if (ns <= 0.0) return T6_ERROR_UNSUPPORTED;
        times[i - warmup] = ns;
    }
    summarize(times, runs, out);
    return T6_SUCCESS;
}

/* ---- flushing ---- */

t6_status t6b_flush_create(t6_context *ctx, t6b_flush *flush)
{
    memset(flush, 0, sizeof *flush);
    cl_ulong cache_bytes = 0;
    t6_device_info info = T6_DEVICE_INFO_INIT;
    t6_status status = t6_context_device_info(ctx, &info);
    if (status != T6_SUCCESS) return status;
    if (clGetDeviceInfo(t6_context_cl_device(ctx), CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache_bytes, &cache_bytes,
                        NULL) != CL_SUCCESS)
        cache_bytes = 0;
    /* Drivers disagree on which cache CL_DEVICE_GLOBAL_MEM_CACHE_SIZE reports (some give L1): GPUs get at
     * least 256 MiB, several times any current L2 (50 MB on an H100). */
    size_t bytes = (size_t)cache_bytes * 4, least = (size_t)(info.is_gpu ? 256 : 64) << 20;
    if (bytes < least) bytes = least;
    if (bytes > info.max_alloc_bytes / 4) bytes = (size_t)(info.max_alloc_bytes / 4);
    bytes &= ~(size_t)63;
    cl_int err = CL_SUCCESS;
    flush->buffer = clCreateBuffer(t6_context_cl_context(ctx), CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        flush->buffer = NULL;
        return T6_ERROR_OPENCL;
    }
    flush->bytes = bytes;
    return T6_SUCCESS;
}

t6_status t6b_flush_enqueue(t6_context *ctx, const t6b_flush *flush)
{
    static const cl_uint pattern = 0x5A5A5A5Au;
    if (!flush->buffer) return T6_SUCCESS;
    cl_int err = clEnqueueFillBuffer(t6_context_cl_queue(ctx), flush->buffer, &pattern, sizeof pattern, 0,
                                     flush->bytes, 0, NULL, NULL);
    return err == CL_SUCCESS ? T6_SUCCESS : T6_ERROR_OPENCL;
}

void t6b_flush_release(t6b_flush *flush)
{
    if (flush->buffer) clReleaseMemObject(flush->buffer);
    flush->buffer = NULL;
    flush->bytes = 0;
}

/* ---- tables ---- */

void t6b_table_begin(t6b_table *table, int columns, const char *const *names, const int *widths, FILE *csv)
{
    static FILE *csv_with_header;
    memset(table, 0, sizeof *table);
    table->columns = columns < T6B_MAX_COLUMNS ? columns : T6B_MAX_COLUMNS;
    table->csv = csv;
    for (int i = 0; i < table->columns; i++) {
        int name_width = (int)strlen(names[i]);
        table->names[i] = names[i];
        table->widths[i] = widths[i] > name_width ? widths[i] : name_width;
        printf("%s%*s", i ? "  " : "", table->widths[i], names[i]);
    }
    printf("\n");
    if (csv && csv != csv_with_header) {
        for (int i = 0; i < table->columns; i++) fprintf(csv, "%s%s", i ? "," : "", names[i]);
        fprintf(csv, "\n");
        csv_with_header = csv;
    }
}

void t6b_table_row(const t6b_table *table, const char *const *cells)
{
    for (int i = 0; i < table->columns; i++) printf("%s%*s", i ? "  " : "", table->widths[i], cells[i]);
    printf("\n");
    fflush(stdout);
    if (table->csv) {
        for (int i = 0; i < table->columns; i++) fprintf(table->csv, "%s%s", i ? "," : "", cells[i]);
        fprintf(table->csv, "\n");
        fflush(table->csv);
    }
}

const char *t6b_num(double value, int decimals)
{
    static char ring[T6B_MAX_COLUMNS][32];
    static int next;
    char *buffer = ring[next];
    next = (next + 1) % T6B_MAX_COLUMNS;
    snprintf(buffer, sizeof ring[0], "%.*f", decimals, value);
    return buffer;
}

int t6b_report_failure(t6_context *ctx, const char *what, t6_status status)
{
    fprintf(stderr, "t6-bench: %s: %s: %s\n", what, t6_status_string(status), t6_context_last_error(ctx));
    return 1;
}
