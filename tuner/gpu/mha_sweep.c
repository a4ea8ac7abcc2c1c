/* mha_sweep.c — MHA and GQA decode at the paper's shape (H=32, D=64; GQA with 4 kv heads) against the device's
 * copy bandwidth: the built-in defaults, then a sweep of the decode tunables, each case's cache filled once.
 * Built and run by run_mha.sh; uses the public header only. Prints one table.
 *
 *   mha_sweep [--quick] [--lengths M,M...] [--slots S,S...]
 *
 * GB/s counts the K and V bytes decode must read (2·kv_heads·D·dtype size per cached position); "copy" is a
 * device-to-device clEnqueueCopyBuffer of 1 GiB counted as bytes read plus written, so 100% means decode
 * streams K and V as fast as a copy moves data. */
#include <t6.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(ctx, expr)                                                                                         \
    do {                                                                                                         \
        t6_status s_ = (expr);                                                                                   \
        if (s_ != T6_SUCCESS) {                                                                                  \
            fprintf(stderr, "%s: %s (%s)\n", #expr, t6_status_string(s_), t6_context_last_error(ctx));         \
            exit(1);                                                                                             \
        }                                                                                                        \
    } while (0)

enum { HEADS = 32, HEAD_DIM = 64, RUNS = 7, FILL_ROWS = 4096, MAX_LIST = 8 };

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median device time of RUNS decodes after two untimed ones, in microseconds; negative if the parameters are
 * refused (the sweep skips them). */
static double time_decode(t6_context *ctx, t6_kv_cache *cache, int slots, const int *slot_ids, const int *lengths,
                          cl_mem q, cl_mem out)
{
    double times[RUNS];
    for (int r = -2; r < RUNS; r++) {
        t6_status status = t6_mha_decode(cache, HEADS, slots, slot_ids, lengths, q, 0, out, 0, 0.0f);
        if (status == T6_ERROR_INVALID_PARAMS) return -1.0;
        CHECK(ctx, status);
        uint64_t ns = 0;
        CHECK(ctx, t6_context_last_op_time(ctx, &ns));
        if (r >= 0) times[r] = (double)ns / 1e3;
    }
    qsort(times, RUNS, sizeof times[0], compare_doubles);
    return times[RUNS / 2];
}

static double copy_gbps(t6_context *ctx)
{
    const size_t bytes = (size_t)1 << 30;
    cl_int err = CL_SUCCESS;
    cl_mem a = clCreateBuffer(t6_context_cl_context(ctx), CL_MEM_READ_WRITE, bytes, NULL, &err);
    cl_mem b = clCreateBuffer(t6_context_cl_context(ctx), CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) return 0.0;
    cl_command_queue queue = t6_context_cl_queue(ctx);
    const float zero = 0.0f;
    clEnqueueFillBuffer(queue, a, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
    double best = 0.0;
    for (int r = 0; r < 5; r++) {
        cl_event event = NULL;
        cl_ulong start = 0, end = 0;
        clEnqueueCopyBuffer(queue, a, b, 0, 0, bytes, 0, NULL, &event);
        clWaitForEvents(1, &event);
        clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
        clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
        clReleaseEvent(event);
        double gbps = end > start ? 2.0 * (double)bytes / (double)(end - start) : 0.0;
        best = gbps > best ? gbps : best;
    }
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    return best;
}

/* Fills every slot of the cache to `length` with device-side appends of one random block of rows. */
static void fill(t6_context *ctx, t6_kv_cache *cache, int kv_heads, int slots, int length)
{
    const size_t row = (size_t)kv_heads * HEAD_DIM, n = (size_t)FILL_ROWS * row;
    float *host = malloc(n * sizeof *host);
    int *slot_ids = malloc(FILL_ROWS * sizeof *slot_ids), *positions = malloc(FILL_ROWS * sizeof *positions);
    if (!host || !slot_ids || !positions) exit(1);
    uint64_t state = 12345;
    for (size_t i = 0; i < n; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        host[i] = (float)((double)(state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    cl_mem rows = NULL;
    CHECK(ctx, t6_buffer_create(ctx, T6_F32, n, &rows));
    CHECK(ctx, t6_buffer_upload(ctx, rows, T6_F32, 0, n, host));
    for (int s = 0; s < slots; s++)
        for (int first = 0; first < length; first += FILL_ROWS) {
            int count = length - first < FILL_ROWS ? length - first : FILL_ROWS;
            for (int i = 0; i < count; i++) {
                slot_ids[i] = s;
                positions[i] = first + i;
            }
            CHECK(ctx, t6_kv_cache_append(cache, count, rows, 0, rows, 0, slot_ids, positions));
        }
    CHECK(ctx, t6_context_finish(ctx));
    clReleaseMemObject(rows);
    free(host);
    free(slot_ids);
    free(positions);
}

static const struct {
    const char *name;
    int values[4];
    int count;
} sweep[] = {
    {"T6_MHD_VEC", {4, 8, 16}, 3},
    {"T6_MHD_WG_SIZE", {64, 128, 256}, 3},
    {"T6_MHD_UNROLL", {2, 4, 8}, 3},
    {"T6_MHD_GROUPS_PER_CU", {2, 4, 8}, 3},
};
enum { SWEPT = sizeof sweep / sizeof sweep[0], TOP = 3 };

static int parse_list(const char *text, int *values)
{
    int count = 0;
    for (char *end = NULL; *text && count < MAX_LIST; text = *end ? end + 1 : end) values[count++] = (int)strtol(text, &end, 10);
    return count;
}

int main(int argc, char **argv)
{
    int quick = 0, lengths[MAX_LIST] = {65536, 524288}, slot_counts[MAX_LIST] = {1, 8};
    int length_count = 2, slot_count = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--lengths") == 0 && i + 1 < argc) length_count = parse_list(argv[++i], lengths);
        else if (strcmp(argv[i], "--slots") == 0 && i + 1 < argc) slot_count = parse_list(argv[++i], slot_counts);
    }
    t6_context *ctx = NULL;
    CHECK(NULL, t6_context_create(NULL, &ctx));
    t6_device_info info = T6_DEVICE_INFO_INIT;
    CHECK(ctx, t6_context_device_info(ctx, &info));
    CHECK(ctx, t6_context_set_timing(ctx, 1));
    const double copy = copy_gbps(ctx);
    printf("device %s, %u compute units; copy %.0f GB/s (read + write)\n", info.name, info.compute_units, copy);
    printf("%-4s %-4s %5s %7s  %-40s %10s %8s %6s\n", "kind", "type", "slots", "M", "parameters", "time us", "GB/s",
           "%copy");

    static const t6_dtype dtypes[2] = {T6_F16, T6_BF16};
    for (int kind = 0; kind < 2; kind++)
        for (int t = 0; t < 2; t++)
            for (int si = 0; si < slot_count; si++) {
                const int kv_heads = kind == 0 ? HEADS : 4, slots = slot_counts[si];
                int longest = 0;
                for (int li = 0; li < length_count; li++) longest = lengths[li] > longest ? lengths[li] : longest;
                t6_kv_cache *cache = NULL;
                t6_kv_cache_config config = {sizeof(t6_kv_cache_config), kv_heads, HEAD_DIM, slots, longest, dtypes[t]};
                if (t6_kv_cache_create(ctx, &config, &cache) != T6_SUCCESS) {
                    printf("%-4s %-4s %5d %7d  cache does not fit: %s\n", kind ? "gqa" : "mha",
                           t6_dtype_name(dtypes[t]), slots, longest, t6_context_last_error(ctx));
                    continue;
                }
                fill(ctx, cache, kv_heads, slots, longest);
                cl_mem q = NULL, out = NULL;
                CHECK(ctx, t6_buffer_create(ctx, T6_F32, (size_t)slots * HEADS * HEAD_DIM, &q));
                CHECK(ctx, t6_buffer_create(ctx, T6_F32, (size_t)slots * HEADS * HEAD_DIM, &out));
                float *q_host = calloc((size_t)slots * HEADS * HEAD_DIM, sizeof *q_host);
                for (int i = 0; i < slots * HEADS * HEAD_DIM; i++) q_host[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
                CHECK(ctx, t6_buffer_upload(ctx, q, T6_F32, 0, (size_t)slots * HEADS * HEAD_DIM, q_host));
                free(q_host);
                int slot_ids[64];
                for (int s = 0; s < slots && s < 64; s++) slot_ids[s] = s;
                for (int li = 0; li < length_count; li++) {
                    int lens[64];
                    for (int s = 0; s < slots && s < 64; s++) lens[s] = lengths[li];
                    const double bytes = 2.0 * slots * (double)lengths[li] * kv_heads * HEAD_DIM * t6_dtype_size(dtypes[t]);
                    CHECK(ctx, t6_context_clear_params(ctx, T6_OP_MHA_DECODE));
                    double us = time_decode(ctx, cache, slots, slot_ids, lens, q, out);
                    printf("%-4s %-4s %5d %7d  %-40s %10.1f %8.0f %5.0f%%\n", kind ? "gqa" : "mha",
                           t6_dtype_name(dtypes[t]), slots, lengths[li], "defaults", us, bytes / us / 1e3,
                           100.0 * bytes / us / 1e3 / copy);
                    if (quick || lengths[li] != longest || t != 0) continue;
                    /* The sweep: every combination, fp16 at the longest length; the best TOP printed. */
                    struct {
                        double us;
                        int values[SWEPT];
                    } best[TOP];
                    for (int b = 0; b < TOP; b++) best[b].us = 1e30;
                    int index[SWEPT] = {0};
                    for (;;) {
                        CHECK(ctx, t6_context_clear_params(ctx, T6_OP_MHA_DECODE));
                        for (int p = 0; p < SWEPT; p++)
                            CHECK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, sweep[p].name,
                                                            sweep[p].values[index[p]]));
                        double swept = time_decode(ctx, cache, slots, slot_ids, lens, q, out);
                        for (int b = 0; swept > 0 && b < TOP; b++)
                            if (swept < best[b].us) {
                                memmove(&best[b + 1], &best[b], (size_t)(TOP - 1 - b) * sizeof best[0]);
                                best[b].us = swept;
                                for (int p = 0; p < SWEPT; p++) best[b].values[p] = sweep[p].values[index[p]];
                                break;
                            }
                        int p = 0;
                        while (p < SWEPT && ++index[p] == sweep[p].count) index[p++] = 0;
                        if (p == SWEPT) break;
                    }
                    for (int b = 0; b < TOP && best[b].us < 1e30; b++) {
                        char text[64];
                        snprintf(text, sizeof text, "vec %d wg %d unroll %d groups/cu %d", best[b].values[0],
                                 best[b].values[1], best[b].values[2], best[b].values[3]);
                        printf("%-4s %-4s %5d %7d  %-40s %10.1f %8.0f %5.0f%%\n", kind ? "gqa" : "mha",
                               t6_dtype_name(dtypes[t]), slots, lengths[li], text, best[b].us,
                               bytes / best[b].us / 1e3, 100.0 * bytes / best[b].us / 1e3 / copy);
                    }
                }
                clReleaseMemObject(q);
                clReleaseMemObject(out);
                t6_kv_cache_destroy(cache);
            }
    t6_context_destroy(ctx);
    return 0;
}
