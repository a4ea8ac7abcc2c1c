/* bench_attention.c — `t6-bench attention`: factorized TPA decode over the factor cache against the bytes it
 * must read (the fraction of the measured copy bandwidth), against MHA and GQA decode over a K/V cache at the
 * same H and D, and causal prefill (factorized, materialized, MHA).
 *
 * Shapes: the paper's decoding benchmark (H=32, D=64, ranks 16,1,1) and T6-medium's attention (H=47, D=64,
 * ranks 6,2,2). Bytes that must be read per cached position: (Rk+Rv)(H+D) factor elements for TPA, 2·kv_heads·D
 * K/V elements for MHA/GQA. Caches are filled on the device (t6_project of random hidden states through a
 * small random layer; t6_kv_cache_append of random rows), and every timed run follows a write of a buffer
 * larger than the last-level cache, so each run reads its cache from DRAM as a model's layers would. */
#include "bench.h"
#include "runtime/numerics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_LIST = 16, FILL_MODEL_DIM = 64, GQA_KV_HEADS = 4, PREFILL_RUNS_MAX = 3 };

typedef struct attention_shape {
    const char *name;
    int heads, head_dim, rank_q, rank_k, rank_v;
} attention_shape;

static const attention_shape shapes[] = {
    {"paper", 32, 64, 16, 1, 1},
    {"medium", 47, 64, 6, 2, 2},
};
enum { SHAPE_COUNT = sizeof shapes / sizeof shapes[0] };

void t6b_usage_attention(FILE *out)
{
    fprintf(out,
            "usage: t6-bench attention [options] [common options]\n"
            "\n"
            "Factorized TPA decode at long contexts: device time, GB/s on the bytes that must be read\n"
            "(factors for TPA, K and V for MHA/GQA) and the fraction of the measured copy bandwidth; MHA (kv\n"
            "heads = H) and GQA (4 kv heads) decode at the same H and D; causal prefill of T new tokens after M\n"
            "cached ones, factorized against the materialized baseline and MHA.\n"
            "Shapes: paper (H=32 D=64 ranks 16,1,1), medium (T6-medium: H=47 D=64 ranks 6,2,2; no GQA: 47 is prime).\n"
            "\n"
            "  --models LIST     paper, medium (default both)\n"
            "  --caches LIST     f32, f16, bf16 (default f16,bf16; --quick: f16)\n"
            "  --slots LIST      sequences per call (default 1,8; --quick: 1,2)\n"
            "  --lengths LIST    cached positions M (default 4096,16384,65536,262144,524288; --quick: 1024,8192)\n"
            "  --baselines LIST  mha, gqa, or none (default mha,gqa)\n"
            "  --prefill T,M     prefill T tokens after M cached (default 4096,61440; --quick 128,1024), or none\n"
            "  --param NAME=VAL  set a tunable of any op (t6-info lists them); repeatable\n");
}

/* ---- argument parsing ---- */

static int parse_ints(const char *text, int *values, int max)
{
    int count = 0;
    for (const char *at = text; *at && count < max;) {
        char *end = NULL;
        long value = strtol(at, &end, 10);
        if (end == at || value < 0 || value > (1 << 26) || (*end && *end != ',')) return 0;
        values[count++] = (int)value;
        at = *end ? end + 1 : end;
    }
    return count;
}

/* Whether `name` is in the comma-separated `list`. */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *at = list; at && *at;) {
        const char *end = strchr(at, ',');
        size_t length = end ? (size_t)(end - at) : strlen(at);
        if (length == n && strncmp(at, name, n) == 0) return 1;
        at = end ? end + 1 : NULL;
    }
    return 0;
}

static int set_param(t6_context *ctx, const char *assignment)
{
    char name[64];
    const char *equals = strchr(assignment, '=');
    if (!equals || (size_t)(equals - assignment) >= sizeof name) return 0;
    memcpy(name, assignment, (size_t)(equals - assignment));
    name[equals - assignment] = '\0';
    for (int op = 0; op < T6_OP_COUNT; op++)
        for (int i = 0; i < t6_op_param_count((t6_op)op); i++) {
            t6_param_info info;
            if (t6_op_param_info((t6_op)op, i, &info) == T6_SUCCESS && strcmp(info.name, name) == 0)
                return t6_context_set_param(ctx, (t6_op)op, name, atoi(equals + 1)) == T6_SUCCESS;
        }
    return 0;
}

/* ---- caches filled on the device ---- */

static t6_status upload_random(t6_context *ctx, size_t n, uint64_t seed, cl_mem *out)
{
    float *host = malloc(n * sizeof *host);
    if (!host) return T6_ERROR_OUT_OF_HOST_MEMORY;
    t6i_rng rng = t6i_rng_make(seed, 0);
    t6i_fill_uniform(&rng, host, n, 1.0);
    t6_status status = t6_buffer_create(ctx, T6_F32, n, out);
    if (status == T6_SUCCESS) status = t6_buffer_upload(ctx, *out, T6_F32, 0, n, host);
    free(host);
    return status;
}

/* Fills `length` positions of slots 0..slots−1 by projecting random hidden states through a random layer of
 * model width FILL_MODEL_DIM (cheap: the projection is a small GEMM; the cost is writing the cache). */
static t6_status fill_factor_cache(t6_context *ctx, t6_cache *cache, const attention_shape *s, int slots,
                                   int length, int chunk)
{
    t6_status status = T6_SUCCESS;
    t6_layer *layer = NULL;
    cl_mem hidden = NULL, query = NULL;
    int *slot_of = NULL, *position = NULL;
    float *weights[6] = {NULL};
    const int c = FILL_MODEL_DIM;
    const int rows[6] = {s->heads * s->rank_q, s->heads * s->rank_k, s->heads * s->rank_v,
                         s->rank_q * s->head_dim, s->rank_k * s->head_dim, s->rank_v * s->head_dim};
    t6i_rng rng = t6i_rng_make(17, 0);
    for (int w = 0; w < 6; w++) {
        weights[w] = malloc((size_t)rows[w] * c * sizeof(float));
        if (!weights[w]) {
            status = T6_ERROR_OUT_OF_HOST_MEMORY;
            goto done;
        }
        t6i_fill_uniform(&rng, weights[w], (size_t)rows[w] * c, 0.125); /* ~1/√C: factors O(1) */
    }
    const t6_layer_config config = {sizeof(t6_layer_config), c, s->heads, s->head_dim, s->rank_q, s->rank_k, s->rank_v,
                                    T6_ROPE_HALF, 10000.0f, T6_F32};
    const t6_layer_weights host = {weights[0], weights[1], weights[2], weights[3], weights[4], weights[5]};
    if ((status = t6_layer_create(ctx, &config, &host, &layer)) != T6_SUCCESS) goto done;
    if ((status = upload_random(ctx, (size_t)chunk * c, 23, &hidden)) != T6_SUCCESS) goto done;
    if ((status = t6_buffer_create(ctx, T6_F32, (size_t)chunk * t6_query_row_size(&config), &query)) != T6_SUCCESS)
        goto done;
    slot_of = malloc((size_t)chunk * sizeof *slot_of);
    position = malloc((size_t)chunk * sizeof *position);
    if (!slot_of || !position) {
        status = T6_ERROR_OUT_OF_HOST_MEMORY;
        goto done;
    }
    for (int slot = 0; slot < slots && status == T6_SUCCESS; slot++)
        for (int first = 0; first < length && status == T6_SUCCESS; first += chunk) {
            const int count = length - first < chunk ? length - first : chunk;
            for (int i = 0; i < count; i++) {
                slot_of[i] = slot;
                position[i] = first + i;
            }
            status = t6_project(layer, cache, count, hidden, 0, slot_of, position, query, 0, NULL);
        }
    if (status == T6_SUCCESS) status = t6_context_finish(ctx);
done:
    for (int w = 0; w < 6; w++) free(weights[w]);
    free(slot_of);
    free(position);
    if (hidden) clReleaseMemObject(hidden);
    if (query) clReleaseMemObject(query);
    t6_layer_destroy(layer);
    return status;
}

/* Fills `length` positions of slots 0..slots−1 with random K/V rows (one chunk of rows, appended repeatedly). */
static t6_status fill_kv_cache(t6_context *ctx, t6_kv_cache *cache, int kv_heads, int head_dim, int slots,
                               int length, int chunk)
{
    t6_status status = T6_SUCCESS;
    cl_mem k = NULL, v = NULL;
    int *slot_of = malloc((size_t)chunk * sizeof *slot_of), *position = malloc((size_t)chunk * sizeof *position);
    if (!slot_of || !position) {
        status = T6_ERROR_OUT_OF_HOST_MEMORY;
        goto done;
    }
    if ((status = upload_random(ctx, (size_t)chunk * kv_heads * head_dim, 29, &k)) != T6_SUCCESS) goto done;
    if ((status = upload_random(ctx, (size_t)chunk * kv_heads * head_dim, 31, &v)) != T6_SUCCESS) goto done;
    for (int slot = 0; slot < slots && status == T6_SUCCESS; slot++)
        for (int first = 0; first < length && status == T6_SUCCESS; first += chunk) {
            const int count = length - first < chunk ? length - first : chunk;
            for (int i = 0; i < count; i++) {
                slot_of[i] = slot;
                position[i] = first + i;
            }
            status = t6_kv_cache_append(cache, count, k, 0, v, 0, slot_of, position);
        }
    if (status == T6_SUCCESS) status = t6_context_finish(ctx);
done:
    free(slot_of);
    free(position);
    if (k) clReleaseMemObject(k);
    if (v) clReleaseMemObject(v);
    return status;
}

/* ---- the timed operations ---- */

typedef struct timed_call {
    t6_context *ctx;
    const t6b_flush *flush;
    t6_cache *cache;
    t6_kv_cache *kv;
    int rank_q, heads, batch;
    int slots[MAX_LIST], lengths[MAX_LIST], starts[MAX_LIST], counts[MAX_LIST];
    cl_mem query, out;
    t6_attention_options options;
} timed_call;

static t6_status tpa_decode(void *arg)
{
    timed_call *c = arg;
    t6_status status = t6b_flush_enqueue(c->ctx, c->flush);
    if (status != T6_SUCCESS) return status;
    return t6_attention_decode(c->cache, c->rank_q, c->batch, c->slots, c->lengths, c->query, 0, c->out, 0,
                               &c->options);
}

static t6_status mha_decode(void *arg)
{
    timed_call *c = arg;
    t6_status status = t6b_flush_enqueue(c->ctx, c->flush);
    if (status != T6_SUCCESS) return status;
    return t6_mha_decode(c->kv, c->heads, c->batch, c->slots, c->lengths, c->query, 0, c->out, 0, 0.0f);
}

static t6_status tpa_prefill(void *arg)
{
    timed_call *c = arg;
    t6_status status = t6b_flush_enqueue(c->ctx, c->flush);
    if (status != T6_SUCCESS) return status;
    return t6_attention_prefill(c->cache, c->rank_q, c->batch, c->slots, c->starts, c->counts, c->query, 0, c->out,
                                0, &c->options);
}

static t6_status mha_prefill(void *arg)
{
    timed_call *c = arg;
    t6_status status = t6b_flush_enqueue(c->ctx, c->flush);
    if (status != T6_SUCCESS) return status;
    return t6_mha_prefill(c->kv, c->heads, c->batch, c->slots, c->starts, c->counts, c->query, 0, c->out, 0, 0.0f);
}

/* ---- the table ---- */

typedef struct bench {
    t6_context *ctx;
    const t6b_options *options;
    t6b_table table;
    t6b_flush flush;
    double copy_gbps, fma_per_ns; /* measured ceilings */
    int fill_chunk;
} bench;

static const char *const column_names[] = {"op",   "model",  "attention", "cache", "slots",   "M",     "T",
                                           "us",   "spread", "MB_read",   "GB/s",  "of_copy", "of_fma", "x_TPA"};
enum { COLUMNS = sizeof column_names / sizeof column_names[0] };

/* FMAs per cached position and query of factorized decode (the cheaper of S1 + head mixing and per-head
 * queries, then A_K, A_V and the value product), and of MHA/GQA (q·k and p·v per query head). */
static double tpa_fmas(const attention_shape *s)
{
    const double staged = (double)s->rank_q * s->rank_k * s->head_dim + (double)s->heads * s->rank_q * s->rank_k;
    const double per_head = (double)s->heads * s->rank_k * s->head_dim;
    return (staged < per_head ? staged : per_head) + (double)s->heads * (s->rank_k + s->rank_v) +
           (double)s->heads * s->rank_v * s->head_dim;
}

static double mha_fmas(const attention_shape *s) { return 2.0 * s->heads * s->head_dim; }

/* One row; bytes = 0 leaves the bandwidth columns empty, fmas = 0 the arithmetic one, tpa_us = 0 the ratio. */
static void print_row(const bench *b, const char *op, const attention_shape *s, const char *attention,
                      t6_dtype dtype, int slots, int length, int tokens, const t6b_stats *stats, double bytes,
                      double fmas, double tpa_us)
{
    char slots_text[16], length_text[16], tokens_text[16];
    snprintf(slots_text, sizeof slots_text, "%d", slots);
    snprintf(length_text, sizeof length_text, "%d", length);
    snprintf(tokens_text, sizeof tokens_text, "%d", tokens);
    const double us = stats->median_ns / 1e3, gbps = bytes / stats->median_ns;
    const char *cells[COLUMNS] = {op,
                                  s->name,
                                  attention,
                                  t6_dtype_name(dtype),
                                  slots_text,
                                  length_text,
                                  tokens ? tokens_text : "-",
                                  t6b_num(us, 1),
                                  t6b_num(stats->spread, 2),
                                  bytes > 0 ? t6b_num(bytes / 1e6, 1) : "-",
                                  bytes > 0 ? t6b_num(gbps, 0) : "-",
                                  bytes > 0 && b->copy_gbps > 0 ? t6b_num(gbps / b->copy_gbps, 2) : "-",
                                  fmas > 0 && b->fma_per_ns > 0 ? t6b_num(fmas / stats->median_ns / b->fma_per_ns, 2)
                                                                : "-",
                                  tpa_us > 0 ? t6b_num(us / tpa_us, 1) : "-"};
    t6b_table_row(&b->table, cells);
    fflush(stdout);
}

static t6_status make_queries(bench *b, timed_call *c, size_t row, int rows, size_t out_row)
{
    t6_status status = upload_random(b->ctx, row * (size_t)rows, 37, &c->query);
    if (status == T6_SUCCESS) status = t6_buffer_create(b->ctx, T6_F32, out_row * (size_t)rows, &c->out);
    return status;
}

static void release_call(timed_call *c)
{
    if (c->query) clReleaseMemObject(c->query);
    if (c->out) clReleaseMemObject(c->out);
    t6_cache_destroy(c->cache);
    t6_kv_cache_destroy(c->kv);
    memset(c, 0, sizeof *c);
}

/* TPA decode, then each baseline, for one shape and storage type. tpa_us[slots][length] feeds x_TPA. */
static int bench_decode(bench *b, const attention_shape *s, t6_dtype dtype, const int *slot_list, int slot_count,
                        const int *lengths, int length_count, const char *baselines)
{
    int longest = 0;
    for (int i = 0; i < length_count; i++) longest = lengths[i] > longest ? lengths[i] : longest;
    double tpa_us[MAX_LIST][MAX_LIST] = {{0}};
    const int kinds = 3; /* tpa, mha, gqa */
    for (int kind = 0; kind < kinds; kind++) {
        const int kv_heads = kind == 1 ? s->heads : GQA_KV_HEADS;
        const char *name = kind == 0 ? "tpa" : kind == 1 ? "mha" : "gqa";
        if (kind > 0 && !listed(baselines, name)) continue;
        if (kind == 2 && s->heads % GQA_KV_HEADS != 0) continue;
        for (int si = 0; si < slot_count; si++) {
            const int slots = slot_list[si];
            timed_call c = {.ctx = b->ctx, .flush = &b->flush, .rank_q = s->rank_q, .heads = s->heads,
                            .batch = slots, .options = T6_ATTENTION_OPTIONS_INIT};
            t6_status status = T6_SUCCESS;
            size_t bytes_per_position = 0;
            const char *what = name;
            if (kind == 0) {
                const t6_cache_config config = {sizeof(t6_cache_config), s->heads, s->head_dim, s->rank_k, s->rank_v,
                                                slots, longest, dtype};
                bytes_per_position = (size_t)(s->rank_k + s->rank_v) * (size_t)(s->heads + s->head_dim) *
                                     t6_dtype_size(dtype);
                if ((status = t6_cache_create(b->ctx, &config, &c.cache)) == T6_SUCCESS)
                    status = fill_factor_cache(b->ctx, c.cache, s, slots, longest, b->fill_chunk);
                if (status == T6_SUCCESS)
                    status = make_queries(b, &c, (size_t)s->heads * s->rank_q + (size_t)s->rank_q * s->head_dim,
                                          slots, (size_t)s->heads * s->head_dim);
            } else {
                const t6_kv_cache_config config = {sizeof(t6_kv_cache_config), kv_heads, s->head_dim, slots, longest,
                                                   dtype};
                bytes_per_position = 2 * (size_t)kv_heads * (size_t)s->head_dim * t6_dtype_size(dtype);
                if ((status = t6_kv_cache_create(b->ctx, &config, &c.kv)) == T6_SUCCESS)
                    status = fill_kv_cache(b->ctx, c.kv, kv_heads, s->head_dim, slots, longest, b->fill_chunk);
                if (status == T6_SUCCESS)
                    status = make_queries(b, &c, (size_t)s->heads * s->head_dim, slots, (size_t)s->heads * s->head_dim);
            }
            if (status != T6_SUCCESS) {
                /* A baseline cache too large for the device is a row of its own, not the end of the table. */
                fprintf(stderr, "t6-bench: %s %s %s %d slots × %d: %s: %s\n", s->name, name, t6_dtype_name(dtype),
                        slots, longest, t6_status_string(status), t6_context_last_error(b->ctx));
                release_call(&c);
                if (kind == 0) return 1;
                continue;
            }
            for (int li = 0; li < length_count && status == T6_SUCCESS; li++) {
                for (int i = 0; i < slots; i++) {
                    c.slots[i] = i;
                    c.lengths[i] = lengths[li];
                }
                t6b_stats stats;
                status = t6b_time(b->ctx, kind == 0 ? tpa_decode : mha_decode, &c, b->options->warmup,
                                  b->options->runs, &stats);
                if (status != T6_SUCCESS) break;
                if (kind == 0) tpa_us[si][li] = stats.median_ns / 1e3;
                char attention[24];
                snprintf(attention, sizeof attention, kind == 0 ? "%s" : "%s(kv=%d)", what, kv_heads);
                const double positions = (double)lengths[li] * slots;
                print_row(b, "decode", s, attention, dtype, slots, lengths[li], 0, &stats,
                          (double)bytes_per_position * positions, positions * (kind == 0 ? tpa_fmas(s) : mha_fmas(s)),
                          kind == 0 ? 0.0 : tpa_us[si][li]);
            }
            release_call(&c);
            if (status != T6_SUCCESS) return t6b_report_failure(b->ctx, name, status);
        }
    }
    return 0;
}

/* Causal prefill of `tokens` new positions after `cached` ones, 1 sequence: factorized, materialized, MHA. */
static int bench_prefill(bench *b, const attention_shape *s, t6_dtype dtype, int tokens, int cached)
{
    const int length = cached + tokens;
    double tpa_us = 0.0;
    const int runs = b->options->runs < PREFILL_RUNS_MAX ? b->options->runs : PREFILL_RUNS_MAX;
    for (int kind = 0; kind < 3; kind++) {
        timed_call c = {.ctx = b->ctx, .flush = &b->flush, .rank_q = s->rank_q, .heads = s->heads, .batch = 1,
                        .options = T6_ATTENTION_OPTIONS_INIT};
        c.starts[0] = cached;
        c.counts[0] = tokens;
        t6_status status = T6_SUCCESS;
        if (kind < 2) {
            const t6_cache_config config = {sizeof(t6_cache_config), s->heads, s->head_dim, s->rank_k, s->rank_v, 1,
                                            length, dtype};
            if ((status = t6_cache_create(b->ctx, &config, &c.cache)) == T6_SUCCESS)
                status = fill_factor_cache(b->ctx, c.cache, s, 1, length, b->fill_chunk);
            if (status == T6_SUCCESS)
                status = make_queries(b, &c, (size_t)s->heads * s->rank_q + (size_t)s->rank_q * s->head_dim, tokens,
                                      (size_t)s->heads * s->head_dim);
            c.options.method = kind == 0 ? T6_ATTENTION_FACTORIZED : T6_ATTENTION_MATERIALIZED;
        } else {
            const t6_kv_cache_config config = {sizeof(t6_kv_cache_config), s->heads, s->head_dim, 1, length, dtype};
            if ((status = t6_kv_cache_create(b->ctx, &config, &c.kv)) == T6_SUCCESS)
                status = fill_kv_cache(b->ctx, c.kv, s->heads, s->head_dim, 1, length, b->fill_chunk);
            if (status == T6_SUCCESS)
                status = make_queries(b, &c, (size_t)s->heads * s->head_dim, tokens, (size_t)s->heads * s->head_dim);
        }
        t6b_stats stats;
        if (status == T6_SUCCESS)
            status = t6b_time(b->ctx, kind == 2 ? mha_prefill : tpa_prefill, &c, 1, runs, &stats);
        release_call(&c);
        const char *name = kind == 0 ? "tpa" : kind == 1 ? "materialized" : "mha";
        if (status != T6_SUCCESS) {
            if (kind == 0) return t6b_report_failure(b->ctx, "prefill", status);
            fprintf(stderr, "t6-bench: prefill %s: %s: %s\n", name, t6_status_string(status),
                    t6_context_last_error(b->ctx));
            continue;
        }
        if (kind == 0) tpa_us = stats.median_ns / 1e3;
        /* Query i sees cached + i + 1 positions. */
        const double pairs = (double)tokens * cached + (double)tokens * (tokens + 1) / 2.0;
        print_row(b, "prefill", s, name, dtype, 1, cached, tokens, &stats, 0.0,
                  kind == 2 ? pairs * mha_fmas(s) : kind == 0 ? pairs * tpa_fmas(s) : 0.0, kind == 0 ? 0.0 : tpa_us);
    }
    return 0;
}

int t6b_bench_attention(t6_context *ctx, const t6b_options *options, int argc, char **argv)
{
    const char *models = "paper,medium", *caches = options->quick ? "f16" : "f16,bf16", *baselines = "mha,gqa";
    int slot_list[MAX_LIST] = {1, 8}, slot_count = 2;
    int lengths[MAX_LIST] = {4096, 16384, 65536, 262144, 524288}, length_count = 5;
    int prefill[2] = {4096, 61440}, prefill_on = 1;
    if (options->quick) {
        slot_list[1] = 2;
        lengths[0] = 1024;
        lengths[1] = 8192;
        length_count = 2;
        prefill[0] = 128;
        prefill[1] = 1024;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = value != NULL;
        if (ok && strcmp(arg, "--models") == 0) models = value;
        else if (ok && strcmp(arg, "--caches") == 0) caches = value;
        else if (ok && strcmp(arg, "--baselines") == 0) baselines = value;
        else if (ok && strcmp(arg, "--slots") == 0) ok = (slot_count = parse_ints(value, slot_list, MAX_LIST)) > 0;
        else if (ok && strcmp(arg, "--lengths") == 0) ok = (length_count = parse_ints(value, lengths, MAX_LIST)) > 0;
        else if (ok && strcmp(arg, "--prefill") == 0) {
            prefill_on = strcmp(value, "none") != 0;
            ok = !prefill_on || (parse_ints(value, prefill, 2) == 2 && prefill[0] > 0);
        } else if (ok && strcmp(arg, "--param") == 0) {
            ok = set_param(ctx, value);
        } else {
            ok = 0;
        }
        if (!ok) {
            fprintf(stderr, "t6-bench attention: bad option '%s'%s%s\n", arg, value ? " " : "", value ? value : "");
            t6b_usage_attention(stderr);
            return 2;
        }
        i++;
    }
    for (int i = 0; i < slot_count; i++)
        if (slot_list[i] < 1 || slot_list[i] > MAX_LIST) {
            fprintf(stderr, "t6-bench attention: slots must be 1..%d\n", MAX_LIST);
            return 2;
        }
    for (int i = 0; i < length_count; i++)
        if (lengths[i] < 1) {
            fprintf(stderr, "t6-bench attention: lengths must be ≥ 1\n");
            return 2;
        }

    bench b = {.ctx = ctx, .options = options, .fill_chunk = options->quick ? 1024 : 8192};
    t6b_ceilings ceilings;
    t6_status status = t6b_measure_ceilings(ctx, options->quick, &ceilings);
    if (status != T6_SUCCESS) return t6b_report_failure(ctx, "t6b_measure_ceilings", status);
    b.copy_gbps = ceilings.copy_gbps;
    b.fma_per_ns = ceilings.fma_gflops / 2.0;
    if ((status = t6b_flush_create(ctx, &b.flush)) != T6_SUCCESS) return t6b_report_failure(ctx, "flush", status);
    printf("copy %.0f GB/s, fp32 FMA %.0f GFLOP/s (of_copy: GB/s read over copy; of_fma: FMA rate over the FMA "
           "probe's); each timed run follows a %.0f MB flush write; median of %d runs\n",
           ceilings.copy_gbps, ceilings.fma_gflops, (double)b.flush.bytes / 1e6, options->runs);
    int widths[COLUMNS] = {7, 6, 12, 5, 5, 7, 5, 9, 6, 8, 6, 7, 6, 5};
    t6b_table_begin(&b.table, COLUMNS, column_names, widths, options->csv);

    int code = 0;
    for (int m = 0; m < SHAPE_COUNT && code == 0; m++) {
        if (!listed(models, shapes[m].name)) continue;
        for (int d = T6_F32; d <= T6_BF16 && code == 0; d++)
            if (listed(caches, t6_dtype_name((t6_dtype)d)))
                code = bench_decode(&b, &shapes[m], (t6_dtype)d, slot_list, slot_count, lengths, length_count,
                                    baselines);
    }
    /* Prefill in the first listed storage type only: it is compute-bound, the type hardly matters. */
    int prefill_dtype = -1;
    for (int d = T6_BF16; d >= T6_F32; d--)
        if (listed(caches, t6_dtype_name((t6_dtype)d))) prefill_dtype = d;
    for (int m = 0; m < SHAPE_COUNT && code == 0 && prefill_on && prefill_dtype >= 0; m++)
        if (listed(models, shapes[m].name))
            code = bench_prefill(&b, &shapes[m], (t6_dtype)prefill_dtype, prefill[0], prefill[1]);
    t6b_flush_release(&b.flush);
    return code;
}
