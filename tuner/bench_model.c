/* bench_model.c — `t6-bench model`: per-token decode latency and tokens per second of a whole T6-medium-sized
 * model (random weights) at long contexts, against an MHA model of the same width in the same library, and the
 * attention-cache bytes per token of each.
 *
 * T6-medium (TPA.md "Sizes"): C=1024, 24 layers, H=47, D=64, ranks 6,2,2, SwiGLU hidden floor(8C/3)=2730,
 * vocabulary 50304 (GPT-2's, padded as in T6.py). The MHA model keeps C, layers, MLP and vocabulary and has
 * 16 heads of 64 (C = H·D, the usual MHA layout): 352M parameters against TPA's 353M.
 *
 * A context of M tokens is made by writing random factors (or K/V) into every layer's cache up to M, which
 * times the same as prefilling a real prompt would leave it. One decode step is then timed whole: embedding,
 * every layer (projection, attention, products, norms) and the lm_head, as one t6 operation (device time,
 * median of --runs), and also by the wall clock with the logits downloaded to the host (what an application
 * waits per token). */
#include "bench.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void t6b_usage_model(FILE *out)
{
    fprintf(out,
            "usage: t6-bench model [--contexts M,M,...] [--models tpa,mha] [--cache DTYPE] [common options]\n"
            "\n"
            "Per-token decode latency and tokens/s of a T6-medium-sized model (C=1024, 24 layers, H=47, D=64,\n"
            "ranks 6,2,2) and of an MHA model of the same width (16 heads x 64), random weights, batch 1, at\n"
            "each context length, with the attention cache's bytes per token. step_ms(device): the step's\n"
            "device time; step_ms(wall): until its logits are on the host; step_ms(host): until the call\n"
            "returns when it enqueues a step without fetching the logits (near step_ms(device), the device\n"
            "waits for the host); commands/step: OpenCL commands t6 enqueues for that step.\n"
            "\n"
            "  --contexts LIST  context lengths (default 1024,4096,16384,65536; --quick: 64,256)\n"
            "  --models LIST    tpa, mha or both (default tpa,mha)\n"
            "  --cache DTYPE    cache storage: f32, f16 (default) or bf16\n"
            "  --weights DTYPE  weight values rounded to f32 (default), f16 or bf16\n");
}

enum { MAX_CONTEXTS = 16, FILL_CHUNK = 2048, WALL_STEPS_MIN = 3 };

typedef struct model_bench {
    t6_model *model;
    int slot, token;
} model_bench;

static t6_status decode_step(void *arg)
{
    model_bench *bench = arg;
    return t6_model_decode(bench->model, 1, &bench->slot, &bench->token, NULL);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Writes random cache contents to every layer for positions [from, to) of slot 0. `noise` holds enough floats
 * for FILL_CHUNK positions of the widest factor (the same values are reused: only the timing matters). */
static t6_status fill_context(t6_model *model, const t6_model_config *config, int from, int to, const float *noise)
{
    t6_status status = T6_SUCCESS;
    for (int layer = 0; layer < config->layers && status == T6_SUCCESS; layer++) {
        t6_cache *cache = NULL;
        t6_kv_cache *kv_cache = NULL;
        status = t6_model_layer_cache(model, layer, &cache, &kv_cache);
        for (int first = from; first < to && status == T6_SUCCESS; first += FILL_CHUNK) {
            int count = to - first < FILL_CHUNK ? to - first : FILL_CHUNK;
            if (cache) {
                for (int f = T6_FACTOR_A_K; f <= T6_FACTOR_B_V && status == T6_SUCCESS; f++)
                    status = t6_cache_write(cache, (t6_cache_factor)f, 0, first, count, noise);
            } else {
                status = t6_kv_cache_write(kv_cache, 0, first, count, noise, noise);
            }
        }
    }
    return status;
}

static void medium_config(t6_model_config *c, t6_attention_kind kind, int quick, int capacity, t6_dtype cache,
                          t6_dtype weights)
{
    t6_model_config_init(c);
    c->attention = kind;
    c->vocab_size = quick ? 512 : 50304;
    c->model_dim = quick ? 128 : 1024;
    c->layers = quick ? 2 : 24;
    c->head_dim = quick ? 32 : 64;
    c->heads = kind == T6_MODEL_TPA ? (quick ? 6 : 47) : c->model_dim / c->head_dim;
    c->rank_q = 6;
    c->rank_k = c->rank_v = 2;
    c->cache_dtype = cache;
    c->weight_dtype = weights;
    c->capacity = capacity;
}

static int parse_list(const char *text, int *values, int max)
{
    int count = 0;
    for (const char *at = text; *at && count < max;) {
        char *end = NULL;
        long value = strtol(at, &end, 10);
        if (end == at || value < 1 || value > (1 << 24)) return 0;
        values[count++] = (int)value;
        at = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return 0;
    }
    return count;
}

static int parse_dtype(const char *text, t6_dtype *out)
{
    for (int d = T6_F32; d <= T6_BF16; d++)
        if (strcmp(text, t6_dtype_name((t6_dtype)d)) == 0) {
            *out = (t6_dtype)d;
            return 1;
        }
    return 0;
}

/* Times one model at every context; prints a row each. */
static int bench_one(t6_context *ctx, const t6b_options *options, const t6b_table *table, t6_attention_kind kind,
                     const int *contexts, int context_count, t6_dtype cache_dtype, t6_dtype weight_dtype)
{
    int wall_steps = options->runs > WALL_STEPS_MIN ? options->runs : WALL_STEPS_MIN;
    int longest = 0;
    for (int i = 0; i < context_count; i++) longest = contexts[i] > longest ? contexts[i] : longest;
    /* Every timed step appends a token, so the cache holds the longest context plus all the steps. */
    int steps_per_context = options->warmup + options->runs + 1 + 2 * wall_steps; /* timed, wall, host */
    t6_model_config config;
    medium_config(&config, kind, options->quick, longest + steps_per_context * context_count + 1, cache_dtype,
                  weight_dtype);
    const char *name = kind == T6_MODEL_TPA ? "TPA" : "MHA";
    model_bench bench = {NULL, 0, 1};
    float *noise = NULL, *logits = NULL;
    double *wall = NULL;
    int exit_code = 1;
    t6_status status = t6_model_create_random(ctx, &config, 6, &bench.model);
    if (status != T6_SUCCESS) return t6b_report_failure(ctx, "t6_model_create_random", status);
    size_t widest = (size_t)config.heads * (size_t)config.head_dim; /* MHA rows; TPA factors are smaller */
    noise = malloc((size_t)FILL_CHUNK * widest * sizeof *noise);
    logits = malloc((size_t)config.vocab_size * sizeof *logits);
    wall = malloc((size_t)wall_steps * sizeof *wall);
    if (!noise || !logits || !wall) {
        fprintf(stderr, "t6-bench: out of host memory\n");
        goto done;
    }
    uint32_t state = 12345;
    for (size_t i = 0; i < (size_t)FILL_CHUNK * widest; i++) {
        state = state * 1664525u + 1013904223u;
        noise[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
    }
    const size_t bytes_per_token = t6_model_cache_bytes_per_token(&config);
    int length = 0;
    for (int i = 0; i < context_count; i++) {
        int filled = 0;
        if ((status = t6_model_length(bench.model, 0, &filled)) != T6_SUCCESS) goto failed;
        if (contexts[i] > filled && (status = fill_context(bench.model, &config, filled, contexts[i], noise)) !=
                                        T6_SUCCESS)
            goto failed;
        if ((status = t6_model_length(bench.model, 0, &length)) != T6_SUCCESS) goto failed;
        t6b_stats stats;
        if ((status = t6b_time(ctx, decode_step, &bench, options->warmup, options->runs, &stats)) != T6_SUCCESS)
            goto failed;
        for (int s = 0; s < wall_steps; s++) {
            double start = now_seconds();
            if ((status = t6_model_decode(bench.model, 1, &bench.slot, &bench.token, logits)) != T6_SUCCESS)
                goto failed;
            wall[s] = now_seconds() - start;
        }
        qsort(wall, (size_t)wall_steps, sizeof *wall, compare_doubles);
        double wall_median = wall[wall_steps / 2];
        /* Host time alone: a step enqueued on an idle queue, without the logits, until the call returns. Near
         * step_ms(device), the device is waiting for the host. */
        uint64_t commands_before = 0, commands_after = 0;
        for (int s = 0; s < wall_steps; s++) {
            if ((status = t6_context_finish(ctx)) != T6_SUCCESS) goto failed;
            if ((status = t6_context_command_count(ctx, &commands_before)) != T6_SUCCESS) goto failed;
            double start = now_seconds();
            if ((status = t6_model_decode(bench.model, 1, &bench.slot, &bench.token, NULL)) != T6_SUCCESS)
                goto failed;
            wall[s] = now_seconds() - start;
            if ((status = t6_context_command_count(ctx, &commands_after)) != T6_SUCCESS) goto failed;
        }
        if ((status = t6_context_finish(ctx)) != T6_SUCCESS) goto failed;
        qsort(wall, (size_t)wall_steps, sizeof *wall, compare_doubles);
        double host_median = wall[wall_steps / 2];
        char context_text[16], bytes_text[24];
        snprintf(context_text, sizeof context_text, "%d", length);
        snprintf(bytes_text, sizeof bytes_text, "%zu", bytes_per_token);
        char cache_mb[32];
        snprintf(cache_mb, sizeof cache_mb, "%.1f", (double)bytes_per_token * length / 1e6);
        char device_ms[32], spread[32], wall_ms[32], host_ms[32], rate[32], commands[24];
        snprintf(commands, sizeof commands, "%llu", (unsigned long long)(commands_after - commands_before));
        snprintf(device_ms, sizeof device_ms, "%.3f", stats.median_ns / 1e6);
        snprintf(spread, sizeof spread, "%.2f", stats.spread);
        snprintf(wall_ms, sizeof wall_ms, "%.3f", wall_median * 1e3);
        snprintf(host_ms, sizeof host_ms, "%.3f", host_median * 1e3);
        snprintf(rate, sizeof rate, "%.1f", 1.0 / wall_median);
        const char *cells[] = {name,   context_text, bytes_text, cache_mb, device_ms,
                               spread, wall_ms,      host_ms,    commands, rate};
        t6b_table_row(table, cells);
    }
    exit_code = 0;
    goto done;
failed:
    exit_code = t6b_report_failure(ctx, name, status);
done:
    free(noise);
    free(logits);
    free(wall);
    t6_model_destroy(bench.model);
    return exit_code;
}

int t6b_bench_model(t6_context *ctx, const t6b_options *options, int argc, char **argv)
{
    int contexts[MAX_CONTEXTS] = {1024, 4096, 16384, 65536}, context_count = 4;
    if (options->quick) {
        contexts[0] = 64;
        contexts[1] = 256;
        context_count = 2;
    }
    int run_tpa = 1, run_mha = 1;
    t6_dtype cache_dtype = T6_F16, weight_dtype = T6_F32;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--contexts") == 0 && value) {
            context_count = parse_list(argv[++i], contexts, MAX_CONTEXTS);
            if (!context_count) {
                fprintf(stderr, "t6-bench model: --contexts needs a list of positive integers\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--models") == 0 && value) {
            run_tpa = strstr(value, "tpa") != NULL;
            run_mha = strstr(value, "mha") != NULL;
            i++;
        } else if (strcmp(argv[i], "--cache") == 0 && value && parse_dtype(value, &cache_dtype)) {
            i++;
        } else if (strcmp(argv[i], "--weights") == 0 && value && parse_dtype(value, &weight_dtype)) {
            i++;
        } else {
            fprintf(stderr, "t6-bench model: unknown argument '%s'\n\n", argv[i]);
            t6b_usage_model(stderr);
            return 2;
        }
    }
    /* Ascending, so each context only adds to the cache the previous one left. */
    for (int i = 1; i < context_count; i++)
        for (int j = i; j > 0 && contexts[j] < contexts[j - 1]; j--) {
            int swap = contexts[j];
            contexts[j] = contexts[j - 1];
            contexts[j - 1] = swap;
        }
    t6_device_info info;
    t6_context_device_info(ctx, &info);
    printf("t6-bench model on %s: batch 1, cache %s, weights %s%s; context = tokens in the cache when timed\n",
           info.name, t6_dtype_name(cache_dtype), t6_dtype_name(weight_dtype), options->quick ? " (quick sizes)" : "");
    static const char *const names[] = {"model",  "context",       "cache_B/token", "cache_MB",      "step_ms(device)",
                                        "spread", "step_ms(wall)", "step_ms(host)", "commands/step", "tokens/s"};
    static const int widths[] = {5, 8, 13, 9, 15, 6, 13, 13, 13, 9};
    t6b_table table;
    t6b_table_begin(&table, 10, names, widths, options->csv);
    int exit_code = 0;
    if (run_tpa)
        exit_code |= bench_one(ctx, options, &table, T6_MODEL_TPA, contexts, context_count, cache_dtype,
                               weight_dtype);
    if (run_mha)
        exit_code |= bench_one(ctx, options, &table, T6_MODEL_MHA, contexts, context_count, cache_dtype,
                               weight_dtype);
    return exit_code;
}
