/* bench_model.c — `t6-bench model`: per-token decode latency and tokens per second of a whole T6-medium-sized
 * model (random weights) at long contexts and in batches, against an MHA model of the same width in the same
 * library, with the attention-cache bytes per token, the weights' device bytes, the commands a step enqueues,
 * and the host time of one step and of the ops inside it.
 *
 * T6-medium (TPA.md "Sizes"): C=1024, 24 layers, H=47, D=64, ranks 6,2,2, SwiGLU hidden floor(8C/3)=2730,
 * vocabulary 50304 (GPT-2's, padded as in T6.py). The MHA model keeps C, layers, MLP and vocabulary and has
 * 16 heads of 64 (C = H·D, the usual MHA layout): 352M parameters against TPA's 353M.
 *
 * A context of M tokens is made by writing random factors (or K/V) into every layer's cache up to M, in every
 * slot of the batch, which times the same as prefilling real prompts would leave it. One decode step is then
 * timed whole: embedding, every layer (projection, attention, products) and the lm_head, as one t6 operation
 * (device time, median of --runs), by the wall clock with the logits downloaded to the host (what an
 * application waits per token), and by the host alone (a step enqueued on an idle queue, until the call
 * returns). A batch of B sequences needs B slots of cache: it runs at the contexts M with B·M no more than
 * the longest context (or 8192), so that it holds no more tokens than batch 1 does. */
#include "bench.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void t6b_usage_model(FILE *out)
{
    fprintf(out,
            "usage: t6-bench model [--contexts M,M,...] [--batches B,B,...] [--models tpa,mha] [--cache DTYPE]\n"
            "                      [--weights DTYPE] [common options]\n"
            "\n"
            "Per-token decode latency and tokens/s of a T6-medium-sized model (C=1024, 24 layers, H=47, D=64,\n"
            "ranks 6,2,2) and of an MHA model of the same width (16 heads x 64), random weights, at each context\n"
            "length and batch, with the attention cache's bytes per token and the weights' device bytes.\n"
            "step_ms(device): the step's device time; step_ms(wall): until its logits are on the host;\n"
            "host_us(step): until the call returns when it enqueues a step on an idle queue without fetching the\n"
            "logits (near step_ms(device), the device waits for the host); commands/step: OpenCL commands t6\n"
            "enqueues for that step. A second table gives the host time of one t6_project, t6_attention_decode\n"
            "and model step of the TPA model (batch 1, the shortest context).\n"
            "\n"
            "  --contexts LIST  context lengths (default 1024,4096,16384,65536; --quick: 64,256)\n"
            "  --batches LIST   sequences per step (default 1,8,32); batch B runs at the contexts M with\n"
            "                   B*M <= the longest context (or 8192)\n"
            "  --models LIST    tpa, mha or both (default tpa,mha)\n"
            "  --cache DTYPE    cache storage: f32, f16 (default) or bf16\n"
            "  --weights DTYPE  weight storage on the device: f32 (default), f16 or bf16\n");
}

enum { MAX_LIST = 16, FILL_CHUNK = 2048, WALL_STEPS_MIN = 3, HOST_STEPS = 40, BATCH_TOKENS_MIN = 8192 };

typedef struct model_bench {
    t6_model *model;
    int batch;
    int slots[64], tokens[64];
} model_bench;

static t6_status decode_step(void *arg)
{
    model_bench *bench = arg;
    return t6_model_decode(bench->model, bench->batch, bench->slots, bench->tokens, NULL);
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

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return values[count / 2];
}

/* Writes random contents to positions [from, to) of slots 0..slots−1 of one factor cache (NULL: skip) or K/V
 * cache. `noise` holds enough floats for FILL_CHUNK positions of the widest factor (the same values are
 * reused: only the timing matters). */
static t6_status fill_cache(t6_cache *cache, t6_kv_cache *kv_cache, int slots, int from, int to, const float *noise)
{
    t6_status status = T6_SUCCESS;
    for (int slot = 0; slot < slots && status == T6_SUCCESS; slot++)
        for (int first = from; first < to && status == T6_SUCCESS; first += FILL_CHUNK) {
            int count = to - first < FILL_CHUNK ? to - first : FILL_CHUNK;
            if (cache) {
                for (int f = T6_FACTOR_A_K; f <= T6_FACTOR_B_V && status == T6_SUCCESS; f++)
                    status = t6_cache_write(cache, (t6_cache_factor)f, slot, first, count, noise);
            } else {
                status = t6_kv_cache_write(kv_cache, slot, first, count, noise, noise);
            }
        }
    return status;
}

static t6_status fill_context(t6_model *model, const t6_model_config *config, int slots, int from, int to,
                              const float *noise)
{
    t6_status status = T6_SUCCESS;
    for (int layer = 0; layer < config->layers && status == T6_SUCCESS; layer++) {
        t6_cache *cache = NULL;
        t6_kv_cache *kv_cache = NULL;
        status = t6_model_layer_cache(model, layer, &cache, &kv_cache);
        if (status == T6_SUCCESS) status = fill_cache(cache, kv_cache, slots, from, to, noise);
    }
    return status;
}

static void medium_config(t6_model_config *c, t6_attention_kind kind, int quick, int slots, int capacity,
                          t6_dtype cache, t6_dtype weights)
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
    c->slots = slots;
    c->capacity = capacity;
}

static int parse_list(const char *text, int *values, int max, int limit)
{
    int count = 0;
    for (const char *at = text; *at && count < max;) {
        char *end = NULL;
        long value = strtol(at, &end, 10);
        if (end == at || value < 1 || value > limit) return 0;
        values[count++] = (int)value;
        at = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return 0;
    }
    return count;
}

static void sort_ascending(int *values, int count)
{
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && values[j] < values[j - 1]; j--) {
            int swap = values[j];
            values[j] = values[j - 1];
            values[j - 1] = swap;
        }
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

/* What one bench run shares. */
typedef struct bench_setup {
    t6_context *ctx;
    const t6b_options *options;
    const t6b_table *table;
    const int *contexts;
    int context_count;
    t6_dtype cache_dtype, weight_dtype;
    float *noise; /* FILL_CHUNK positions of the widest factor or K/V row */
} bench_setup;

/* The host time of `fn` enqueued back to back, HOST_STEPS calls without waiting (the mean): the host's own
 * cost per call once the driver's threads are awake. */
static t6_status queued_time(t6_context *ctx, t6b_run_fn fn, void *arg, double *seconds)
{
    t6_status status = t6_context_finish(ctx);
    const double start = now_seconds();
    for (int s = 0; s < HOST_STEPS && status == T6_SUCCESS; s++) status = fn(arg);
    *seconds = (now_seconds() - start) / HOST_STEPS;
    if (status == T6_SUCCESS) status = t6_context_finish(ctx);
    return status;
}

/* The host time of `fn` on an idle queue (median of HOST_STEPS calls) and the commands of its last call. */
static t6_status host_time(t6_context *ctx, t6b_run_fn fn, void *arg, double *seconds, uint64_t *commands)
{
    double samples[HOST_STEPS];
    t6_status status = T6_SUCCESS;
    uint64_t before = 0, after = 0;
    for (int s = 0; s < HOST_STEPS && status == T6_SUCCESS; s++) {
        if ((status = t6_context_finish(ctx)) != T6_SUCCESS) break;
        if ((status = t6_context_command_count(ctx, &before)) != T6_SUCCESS) break;
        const double start = now_seconds();
        status = fn(arg);
        samples[s] = now_seconds() - start;
        if (status == T6_SUCCESS) status = t6_context_command_count(ctx, &after);
    }
    if (status == T6_SUCCESS) status = t6_context_finish(ctx);
    *seconds = median(samples, HOST_STEPS);
    *commands = after - before;
    return status;
}

/* Times one model at one batch size at every context it runs at; prints a row each. */
static int bench_batch(const bench_setup *setup, t6_attention_kind kind, int batch)
{
    t6_context *ctx = setup->ctx;
    const t6b_options *options = setup->options;
    const int longest_context = setup->contexts[setup->context_count - 1];
    const long long tokens = longest_context > BATCH_TOKENS_MIN ? longest_context : BATCH_TOKENS_MIN;
    int contexts[MAX_LIST], context_count = 0;
    for (int i = 0; i < setup->context_count; i++)
        if (batch == 1 || (long long)batch * setup->contexts[i] <= tokens)
            contexts[context_count++] = setup->contexts[i];
    if (context_count == 0) return 0;
    const int wall_steps = options->runs > WALL_STEPS_MIN ? options->runs : WALL_STEPS_MIN;
    /* Every timed step appends a token, so the cache holds the longest context plus all the steps. */
    const int steps_per_context = options->warmup + options->runs + wall_steps + HOST_STEPS;
    t6_model_config config;
    medium_config(&config, kind, options->quick, batch,
                  contexts[context_count - 1] + steps_per_context * context_count + 1, setup->cache_dtype,
                  setup->weight_dtype);
    const char *name = kind == T6_MODEL_TPA ? "TPA" : "MHA";
    model_bench bench = {NULL, batch, {0}, {0}};
    for (int i = 0; i < batch; i++) {
        bench.slots[i] = i;
        bench.tokens[i] = 1 + i;
    }
    float *logits = NULL;
    double *wall = NULL;
    int exit_code = 1;
    t6_status status = t6_model_create_random(ctx, &config, 6, &bench.model);
    if (status != T6_SUCCESS) return t6b_report_failure(ctx, "t6_model_create_random", status);
    size_t weight_bytes = 0;
    if ((status = t6_model_weight_bytes(bench.model, &weight_bytes)) != T6_SUCCESS) goto failed;
    logits = malloc((size_t)batch * (size_t)config.vocab_size * sizeof *logits);
    wall = malloc((size_t)wall_steps * sizeof *wall);
    if (!logits || !wall) {
        fprintf(stderr, "t6-bench: out of host memory\n");
        goto done;
    }
    const size_t bytes_per_token = t6_model_cache_bytes_per_token(&config);
    for (int i = 0; i < context_count; i++) {
        int filled = 0, length = 0;
        if ((status = t6_model_length(bench.model, 0, &filled)) != T6_SUCCESS) goto failed;
        if (contexts[i] > filled &&
            (status = fill_context(bench.model, &config, batch, filled, contexts[i], setup->noise)) != T6_SUCCESS)
            goto failed;
        if ((status = t6_model_length(bench.model, 0, &length)) != T6_SUCCESS) goto failed;
        t6b_stats stats;
        if ((status = t6b_time(ctx, decode_step, &bench, options->warmup, options->runs, &stats)) != T6_SUCCESS)
            goto failed;
        for (int s = 0; s < wall_steps; s++) {
            const double start = now_seconds();
            if ((status = t6_model_decode(bench.model, batch, bench.slots, bench.tokens, logits)) != T6_SUCCESS)
                goto failed;
            wall[s] = now_seconds() - start;
        }
        const double wall_median = median(wall, wall_steps);
        double host = 0.0;
        uint64_t commands = 0;
        if ((status = host_time(ctx, decode_step, &bench, &host, &commands)) != T6_SUCCESS) goto failed;
        char batch_text[8], context_text[16], bytes_text[24], weights_mb[24], cache_mb[32], device_ms[32],
            spread[32], wall_ms[32], host_us[32], commands_text[24], rate[32];
        snprintf(batch_text, sizeof batch_text, "%d", batch);
        snprintf(context_text, sizeof context_text, "%d", length);
        snprintf(bytes_text, sizeof bytes_text, "%zu", bytes_per_token);
        snprintf(weights_mb, sizeof weights_mb, "%.1f", (double)weight_bytes / 1e6);
        snprintf(cache_mb, sizeof cache_mb, "%.1f", (double)bytes_per_token * length * batch / 1e6);
        snprintf(device_ms, sizeof device_ms, "%.3f", stats.median_ns / 1e6);
        snprintf(spread, sizeof spread, "%.2f", stats.spread);
        snprintf(wall_ms, sizeof wall_ms, "%.3f", wall_median * 1e3);
        snprintf(host_us, sizeof host_us, "%.1f", host * 1e6);
        snprintf(commands_text, sizeof commands_text, "%llu", (unsigned long long)commands);
        snprintf(rate, sizeof rate, "%.1f", batch / wall_median);
        const char *cells[] = {name,      batch_text, context_text, bytes_text,    weights_mb, cache_mb,
                               device_ms, spread,     wall_ms,      host_us,       commands_text, rate};
        t6b_table_row(setup->table, cells);
    }
    exit_code = 0;
    goto done;
failed:
    exit_code = t6b_report_failure(ctx, name, status);
done:
    free(logits);
    free(wall);
    t6_model_destroy(bench.model);
    return exit_code;
}

/* ---- host time per op ---- */

typedef struct op_bench {
    t6_layer *layer;
    t6_cache *cache;
    cl_mem hidden, query, out;
    int slot, position, length, rank_q;
} op_bench;

/* Each call moves one position on and back, as a decode step's would: its row metadata must be written. */
static t6_status project_call(void *arg)
{
    op_bench *op = arg;
    op->position ^= 1;
    return t6_project(op->layer, op->cache, 1, op->hidden, 0, &op->slot, &op->position, op->query, 0, NULL);
}

static t6_status decode_call(void *arg)
{
    op_bench *op = arg;
    op->length ^= 1;
    return t6_attention_decode(op->cache, op->rank_q, 1, &op->slot, &op->length, op->query, 0, op->out, 0, NULL);
}

/* Host µs and commands of one t6_project, one t6_attention_decode (a TPA layer of the model's shape, the
 * shortest context) and one model step, as a table of its own. */
static int bench_ops(const bench_setup *setup)
{
    t6_context *ctx = setup->ctx;
    const int context = setup->contexts[0];
    t6_model_config config;
    medium_config(&config, T6_MODEL_TPA, setup->options->quick, 1, context + 3 * HOST_STEPS + 2, setup->cache_dtype,
                  setup->weight_dtype);
    const t6_layer_config layer_config = {sizeof(t6_layer_config), config.model_dim, config.heads, config.head_dim,
                                          config.rank_q, config.rank_k, config.rank_v, config.rope_style,
                                          config.rope_base, config.weight_dtype};
    const t6_cache_config cache_config = {sizeof(t6_cache_config), config.heads, config.head_dim, config.rank_k,
                                          config.rank_v, 1, config.capacity, config.cache_dtype};
    op_bench op = {NULL, NULL, NULL, NULL, NULL, 0, context, context, config.rank_q};
    model_bench step = {NULL, 1, {0}, {1}};
    float *weights[6] = {NULL};
    const char *failed_call = "t6-bench model (ops)";
    t6_status status = T6_SUCCESS;
    int exit_code = 1;
    const size_t C = (size_t)config.model_dim, A = (size_t)config.heads, D = (size_t)config.head_dim;
    const size_t ranks[3] = {(size_t)config.rank_q, (size_t)config.rank_k, (size_t)config.rank_v};
    const size_t rows[6] = {A * ranks[0], A * ranks[1], A * ranks[2], D * ranks[0], D * ranks[1], D * ranks[2]};
    for (int f = 0; f < 6; f++) {
        weights[f] = malloc(rows[f] * C * sizeof(float));
        if (!weights[f]) goto done;
        for (size_t i = 0; i < rows[f] * C; i++) weights[f][i] = setup->noise[i % FILL_CHUNK] * 0.03f;
    }
    const t6_layer_weights host_weights = {weights[0], weights[1], weights[2], weights[3], weights[4], weights[5]};
    const size_t query_row = t6_query_row_size(&layer_config);
    if ((status = t6_layer_create(ctx, &layer_config, &host_weights, &op.layer)) != T6_SUCCESS ||
        (status = t6_cache_create(ctx, &cache_config, &op.cache)) != T6_SUCCESS ||
        (status = t6_buffer_create(ctx, T6_F32, C, &op.hidden)) != T6_SUCCESS ||
        (status = t6_buffer_create(ctx, T6_F32, query_row, &op.query)) != T6_SUCCESS ||
        (status = t6_buffer_create(ctx, T6_F32, A * D, &op.out)) != T6_SUCCESS ||
        (status = t6_buffer_upload(ctx, op.hidden, T6_F32, 0, C, setup->noise)) != T6_SUCCESS ||
        (status = fill_cache(op.cache, NULL, 1, 0, context + 2, setup->noise)) != T6_SUCCESS ||
        (status = t6_model_create_random(ctx, &config, 6, &step.model)) != T6_SUCCESS ||
        (status = fill_context(step.model, &config, 1, 0, context, setup->noise)) != T6_SUCCESS)
        goto failed;
    static const char *const names[] = {"op", "context", "host_us(idle)", "host_us(queued)", "commands"};
    static const int widths[] = {22, 8, 13, 15, 9};
    t6b_table table;
    printf("\nhost time per call, TPA, batch 1: idle = on an idle queue, the median of %d calls; queued = the mean "
           "of %d calls enqueued back to back\n", HOST_STEPS, HOST_STEPS);
    t6b_table_begin(&table, 5, names, widths, setup->options->csv);
    struct {
        const char *name;
        t6b_run_fn fn;
        void *arg;
    } calls[] = {{"t6_project", project_call, &op}, {"t6_attention_decode", decode_call, &op},
                 {"t6_model_decode", decode_step, &step}};
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        double idle = 0.0, queued = 0.0;
        uint64_t commands = 0;
        failed_call = calls[c].name;
        if ((status = host_time(ctx, calls[c].fn, calls[c].arg, &idle, &commands)) != T6_SUCCESS ||
            (status = queued_time(ctx, calls[c].fn, calls[c].arg, &queued)) != T6_SUCCESS)
            goto failed;
        char context_text[16], idle_us[32], queued_us[32], commands_text[24];
        snprintf(context_text, sizeof context_text, "%d", context);
        snprintf(idle_us, sizeof idle_us, "%.1f", idle * 1e6);
        snprintf(queued_us, sizeof queued_us, "%.1f", queued * 1e6);
        snprintf(commands_text, sizeof commands_text, "%llu", (unsigned long long)commands);
        const char *cells[] = {calls[c].name, context_text, idle_us, queued_us, commands_text};
        t6b_table_row(&table, cells);
    }
    exit_code = 0;
    goto done;
failed:
    exit_code = t6b_report_failure(ctx, failed_call, status);
done:
    for (int f = 0; f < 6; f++) free(weights[f]);
    cl_mem buffers[] = {op.hidden, op.query, op.out};
    for (size_t b = 0; b < sizeof buffers / sizeof buffers[0]; b++)
        if (buffers[b]) clReleaseMemObject(buffers[b]);
    t6_cache_destroy(op.cache);
    t6_layer_destroy(op.layer);
    t6_model_destroy(step.model);
    return exit_code;
}

int t6b_bench_model(t6_context *ctx, const t6b_options *options, int argc, char **argv)
{
    int contexts[MAX_LIST] = {1024, 4096, 16384, 65536}, context_count = 4;
    int batches[MAX_LIST] = {1, 8, 32}, batch_count = 3;
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
            context_count = parse_list(argv[++i], contexts, MAX_LIST, 1 << 24);
            if (!context_count) {
                fprintf(stderr, "t6-bench model: --contexts needs a list of positive integers\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--batches") == 0 && value) {
            batch_count = parse_list(argv[++i], batches, MAX_LIST, 64);
            if (!batch_count) {
                fprintf(stderr, "t6-bench model: --batches needs a list of integers in 1..64\n");
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
    sort_ascending(contexts, context_count);
    sort_ascending(batches, batch_count);
    t6_device_info info = T6_DEVICE_INFO_INIT;
    t6_context_device_info(ctx, &info);
    printf("t6-bench model on %s: cache %s, weights %s%s; context = tokens in slot 0's cache when timed\n",
           info.name, t6_dtype_name(cache_dtype), t6_dtype_name(weight_dtype), options->quick ? " (quick sizes)" : "");
    static const char *const names[] = {"model",         "batch",  "context",       "cache_B/token",
                                        "weights_MB",    "cache_MB", "step_ms(device)", "spread",
                                        "step_ms(wall)", "host_us(step)", "commands/step", "tokens/s"};
    static const int widths[] = {5, 5, 8, 13, 10, 9, 15, 6, 13, 13, 13, 9};
    t6b_table table;
    t6b_table_begin(&table, 12, names, widths, options->csv);
    /* The widest factor, K or V row: MHA's H·D (TPA's factors are smaller). */
    float *noise = malloc((size_t)FILL_CHUNK * (options->quick ? 128 : 1024) * sizeof *noise);
    if (!noise) {
        fprintf(stderr, "t6-bench: out of host memory\n");
        return 1;
    }
    uint32_t state = 12345;
    for (size_t i = 0; i < (size_t)FILL_CHUNK * (options->quick ? 128 : 1024); i++) {
        state = state * 1664525u + 1013904223u;
        noise[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
    }
    const bench_setup setup = {ctx, options, &table, contexts, context_count, cache_dtype, weight_dtype, noise};
    int exit_code = 0;
    for (int kind = 0; kind < 2; kind++) {
        if (!(kind == 0 ? run_tpa : run_mha)) continue;
        for (int b = 0; b < batch_count; b++)
            exit_code |= bench_batch(&setup, kind == 0 ? T6_MODEL_TPA : T6_MODEL_MHA, batches[b]);
    }
    if (run_tpa) exit_code |= bench_ops(&setup);
    free(noise);
    return exit_code;
}
