/* bench_projection.c — `t6-bench projection`: the fused factor projection against the CLBlast path (SGEMM +
 * RoPE/scatter) on the T6 layer shapes, per row count, as time, GB/s of weight bytes, GFLOP/s and the
 * fraction of the matching ceiling (copy bandwidth for decode-sized calls, CLBlast SGEMM for larger ones). */
#include "bench.h"
#include "runtime/numerics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* TPA.md's published T6 configurations: D = 64, Rq = 6, Rk = Rv = 2. */
static const struct {
    const char *name;
    int model_dim, heads;
} shapes[] = {{"small", 768, 34}, {"medium", 1024, 47}, {"large", 1280, 61}, {"xl", 1600, 78}};
enum { SHAPE_COUNT = sizeof shapes / sizeof shapes[0], HEAD_DIM = 64, RANK_Q = 6, RANK_K = 2, RANK_V = 2 };

static const int full_rows[] = {1, 8, 64, 512, 4096};
static const int quick_rows[] = {1, 8, 64, 512};
/* Calls of at most this many rows are weight-bound (decode): their ceiling is the copy bandwidth. */
enum { DECODE_ROWS = 16, MAX_ROW_COUNTS = 16, MAX_VARIANTS = 32 };

void t6b_usage_projection(FILE *out)
{
    fprintf(out,
            "usage: t6-bench projection [--shapes LIST] [--rows LIST] [--weights f32|f16|bf16] [--cache f32|f16|bf16]\n"
            "                           [--method both|fused|clblast] [--variant LIST]... [common options]\n"
            "\n"
            "Times t6_project on the T6 layers (D=64, Rq=6, Rk=Rv=2): small C=768 H=34, medium C=1024 H=47,\n"
            "large C=1280 H=61, xl C=1600 H=78, for each row count, with the fused kernels and with the CLBlast\n"
            "path (SGEMM into scratch + RoPE/scatter). Calls of at most %d rows put each row in its own sequence\n"
            "slot; larger calls are one sequence's positions 0..rows-1. Every timed run follows a fill of a buffer\n"
            "several times the device's cache (outside the timed region), so weights are read from DRAM.\n"
            "Columns: time (µs, median), GB/s of weight bytes, GFLOP/s (2·rows·N_out·C), %% of the matching\n"
            "ceiling (copy bandwidth up to %d rows, CLBlast SGEMM above), and fused/CLBlast speedup; 'diff' is\n"
            "the largest difference between the two methods' query outputs relative to their largest value.\n"
            "Up to %d rows also: ach_us, the least time a kernel reading the weights can take (the launch floor,\n"
            "an empty kernel's event time, plus weight bytes / copy bandwidth), and fused_%%ach = ach_us / fused_us.\n"
            "\n"
            "  --shapes LIST   comma-separated from small,medium,large,xl (default all; --quick: small,medium)\n"
            "  --rows LIST     comma-separated row counts (default 1,8,64,512,4096; --quick: 1,8,64,512)\n"
            "  --weights DT    weight storage (default f32)\n"
            "  --cache DT      cache storage (default f32)\n"
            "  --method M      both (default), fused or clblast (a t6 built without CLBlast has fused only)\n"
            "  --variant LIST  a set of tunables, NAME=VALUE separated by commas ('' for the defaults), set on top\n"
            "                  of --param for every row of a shape; repeatable: each shape runs every variant in\n"
            "                  turn, named in a last column (one process measures the ceilings once for all)\n"
            "\n"
            "Common options (t6-bench --help): --device, --quick, --runs, --warmup, --csv, --param, --verbose.\n",
            DECODE_ROWS, DECODE_ROWS, DECODE_ROWS);
}

static int parse_dtype(const char *text, t6_dtype *out)
{
    for (int d = 0; d < 3; d++)
        if (strcmp(text, t6_dtype_name((t6_dtype)d)) == 0) {
            *out = (t6_dtype)d;
            return 1;
        }
    return 0;
}

typedef struct run_arg {
    t6_context *ctx;
    t6_layer *layer;
    t6_cache *cache;
    int rows;
    cl_mem hidden, query;
    const int *slots, *positions;
    t6_project_options options;
    const t6b_flush *flush;
} run_arg;

static t6_status run_projection(void *arg)
{
    run_arg *a = arg;
    t6_status status = t6b_flush_enqueue(a->ctx, a->flush);
    if (status != T6_SUCCESS) return status;
    return t6_project(a->layer, a->cache, a->rows, a->hidden, 0, a->slots, a->positions, a->query, 0, &a->options);
}

typedef struct figures {
    double us, gbps, gflops, fraction, spread;
} figures;

static t6_status measure(t6_context *ctx, const t6b_options *options, run_arg *arg, double weight_bytes,
                         double flops, const t6b_ceilings *ceilings, figures *out)
{
    t6b_stats stats;
    t6_status status = t6b_time(ctx, run_projection, arg, options->warmup, options->runs, &stats);
    if (status != T6_SUCCESS) return status;
    out->us = stats.median_ns / 1e3;
    out->gbps = weight_bytes / stats.median_ns;
    out->gflops = flops / stats.median_ns;
    out->spread = stats.spread;
    if (arg->rows <= DECODE_ROWS)
        out->fraction = ceilings->copy_gbps > 0 ? out->gbps / ceilings->copy_gbps : 0;
    else
        out->fraction = ceilings->sgemm_gflops > 0 ? out->gflops / ceilings->sgemm_gflops : 0;
    return T6_SUCCESS;
}

/* The least time a call reading `weight_bytes` once can take on this device, in µs (0 if unknown): a kernel
 * launch that does nothing, then the bytes at the copy rate. Small calls cannot approach the copy rate itself
 * when the launch alone costs as much as moving their weights. */
static double achievable_us(const t6b_ceilings *ceilings, double weight_bytes)
{
    if (ceilings->copy_gbps <= 0) return 0;
    return (ceilings->launch_ns + weight_bytes / ceilings->copy_gbps) / 1e3;
}

typedef struct settings {
    int shape_enabled[SHAPE_COUNT];
    int rows[MAX_ROW_COUNTS], row_count;
    t6_dtype weights, cache;
    int fused, clblast;
    const char *variants[MAX_VARIANTS];
    int variant_count;
} settings;

static int parse_arguments(const t6b_options *options, int argc, char **argv, settings *s)
{
    memset(s, 0, sizeof *s);
    s->fused = 1;
#ifdef T6_WITH_CLBLAST
    s->clblast = 1;
#endif
    for (int i = 0; i < SHAPE_COUNT; i++) s->shape_enabled[i] = !options->quick || i < 2;
    const int *rows = options->quick ? quick_rows : full_rows;
    s->row_count = options->quick ? (int)(sizeof quick_rows / sizeof *quick_rows) : (int)(sizeof full_rows / sizeof *full_rows);
    memcpy(s->rows, rows, (size_t)s->row_count * sizeof *rows);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value) {
            fprintf(stderr, "t6-bench projection: '%s' needs a value (or is unknown)\n", arg);
            return 0;
        }
        i++;
        if (strcmp(arg, "--shapes") == 0) {
            memset(s->shape_enabled, 0, sizeof s->shape_enabled);
            char list[256];
            snprintf(list, sizeof list, "%s", value);
            for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
                int found = 0;
                for (int k = 0; k < SHAPE_COUNT; k++)
                    if (strcmp(name, shapes[k].name) == 0) found = s->shape_enabled[k] = 1;
                if (!found) {
                    fprintf(stderr, "t6-bench projection: unknown shape '%s'\n", name);
                    return 0;
                }
            }
        } else if (strcmp(arg, "--rows") == 0) {
            s->row_count = 0;
            char list[256];
            snprintf(list, sizeof list, "%s", value);
            for (char *item = strtok(list, ","); item; item = strtok(NULL, ",")) {
                int n = atoi(item);
                if (n < 1 || s->row_count == MAX_ROW_COUNTS) {
                    fprintf(stderr, "t6-bench projection: bad --rows '%s'\n", value);
                    return 0;
                }
                s->rows[s->row_count++] = n;
            }
        } else if (strcmp(arg, "--weights") == 0 || strcmp(arg, "--cache") == 0) {
            if (!parse_dtype(value, strcmp(arg, "--weights") == 0 ? &s->weights : &s->cache)) {
                fprintf(stderr, "t6-bench projection: unknown dtype '%s' (f32, f16, bf16)\n", value);
                return 0;
            }
        } else if (strcmp(arg, "--variant") == 0) {
            if (s->variant_count == MAX_VARIANTS) {
                fprintf(stderr, "t6-bench projection: at most %d --variant options\n", MAX_VARIANTS);
                return 0;
            }
            s->variants[s->variant_count++] = value;
        } else if (strcmp(arg, "--method") == 0) {
            s->fused = strcmp(value, "both") == 0 || strcmp(value, "fused") == 0;
            s->clblast = strcmp(value, "both") == 0 || strcmp(value, "clblast") == 0;
            if (!s->fused && !s->clblast) {
                fprintf(stderr, "t6-bench projection: unknown method '%s'\n", value);
                return 0;
            }
#ifndef T6_WITH_CLBLAST
            if (s->clblast) {
                fprintf(stderr, "t6-bench projection: this build has no CLBlast; --method fused only\n");
                return 0;
            }
#endif
        } else {
            fprintf(stderr, "t6-bench projection: unknown option '%s'\n", arg);
            return 0;
        }
    }
    return 1;
}

/* Everything one shape needs on the device. */
typedef struct bench_shape {
    t6_layer_config config;
    t6_layer *layer;
    t6_cache *cache;
    cl_mem hidden, query[2];
    int *slots, *positions;
    int max_rows;
} bench_shape;

static void release_shape(bench_shape *b)
{
    t6_layer_destroy(b->layer);
    t6_cache_destroy(b->cache);
    if (b->hidden) clReleaseMemObject(b->hidden);
    for (int m = 0; m < 2; m++)
        if (b->query[m]) clReleaseMemObject(b->query[m]);
    free(b->slots);
    free(b->positions);
    memset(b, 0, sizeof *b);
}

static t6_status setup_shape(t6_context *ctx, int index, const settings *s, bench_shape *b)
{
    t6_status status = T6_SUCCESS;
    float *host = NULL;
    memset(b, 0, sizeof *b);
    for (int i = 0; i < s->row_count; i++)
        if (s->rows[i] > b->max_rows) b->max_rows = s->rows[i];
    const t6_layer_config config = {sizeof(t6_layer_config), shapes[index].model_dim, shapes[index].heads, HEAD_DIM,
                                    RANK_Q, RANK_K, RANK_V, T6_ROPE_HALF, 10000.0f, s->weights};
    b->config = config;
    const int C = config.model_dim, H = config.heads;
    const size_t sizes[6] = {(size_t)H * RANK_Q, (size_t)H * RANK_K, (size_t)H * RANK_V,
                             (size_t)RANK_Q * HEAD_DIM, (size_t)RANK_K * HEAD_DIM, (size_t)RANK_V * HEAD_DIM};
    size_t total = 0;
    for (int f = 0; f < 6; f++) total += sizes[f] * (size_t)C;
    size_t hidden_count = (size_t)b->max_rows * (size_t)C;
    host = malloc((total > hidden_count ? total : hidden_count) * sizeof *host);
    b->slots = calloc((size_t)b->max_rows, sizeof(int));
    b->positions = calloc((size_t)b->max_rows, sizeof(int));
    if (!host || !b->slots || !b->positions) {
        status = T6_ERROR_OUT_OF_HOST_MEMORY;
        goto cleanup;
    }
    /* repeatable weights and hidden states (values need only be plausible) */
    t6i_rng rng = t6i_rng_make(42, (uint64_t)index);
    t6i_fill_uniform(&rng, host, total, 1.0 / sqrt((double)C));
    t6_layer_weights w;
    const float *next = host;
    const float **fields[6] = {&w.w_a_q, &w.w_a_k, &w.w_a_v, &w.w_b_q, &w.w_b_k, &w.w_b_v};
    for (int f = 0; f < 6; f++) {
        *fields[f] = next;
        next += sizes[f] * (size_t)C;
    }
    status = t6_layer_create(ctx, &config, &w, &b->layer);
    if (status != T6_SUCCESS) goto cleanup;

    /* Decode-sized calls: one row per slot at positions 500 + 7i; larger calls: one sequence from 0. */
    const int capacity = b->max_rows > 1024 ? b->max_rows : 1024;
    const t6_cache_config cache_config = {sizeof(t6_cache_config), H, HEAD_DIM, RANK_K, RANK_V, DECODE_ROWS, capacity,
                                          s->cache};
    status = t6_cache_create(ctx, &cache_config, &b->cache);
    if (status != T6_SUCCESS) goto cleanup;
    t6i_fill_uniform(&rng, host, hidden_count, 1.0);
    status = t6_buffer_create(ctx, T6_F32, hidden_count, &b->hidden);
    if (status == T6_SUCCESS) status = t6_buffer_upload(ctx, b->hidden, T6_F32, 0, hidden_count, host);
    const size_t query_count = (size_t)b->max_rows * t6_query_row_size(&config);
    for (int m = 0; m < 2 && status == T6_SUCCESS; m++) status = t6_buffer_create(ctx, T6_F32, query_count, &b->query[m]);
cleanup:
    free(host);
    if (status != T6_SUCCESS) release_shape(b);
    return status;
}

/* The projection's tunables of one variant: --param's values, then the variant's own. */
static t6_status apply_variant(t6_context *ctx, const t6b_options *options, const char *variant)
{
    t6_status status = t6_context_clear_params(ctx, T6_OP_PROJECTION);
    if (status == T6_SUCCESS) status = t6_context_clear_params(ctx, T6_OP_ROPE_SCATTER);
    for (int i = 0; i < options->param_count && status == T6_SUCCESS; i++)
        status = t6b_set_param(ctx, options->params[i]);
    char list[512];
    snprintf(list, sizeof list, "%s", variant);
    char *rest = NULL;
    for (char *item = strtok_r(list, ", ", &rest); item && status == T6_SUCCESS; item = strtok_r(NULL, ", ", &rest))
        status = t6b_set_param(ctx, item);
    return status;
}

static void place_rows(bench_shape *b, int rows)
{
    for (int i = 0; i < rows; i++) {
        b->slots[i] = rows <= DECODE_ROWS ? i : 0;
        b->positions[i] = rows <= DECODE_ROWS ? 500 + 7 * i : i;
    }
}

/* What one row of the table needs besides the shape. */
typedef struct row_context {
    const t6b_options *options;
    const settings *s;
    const t6b_ceilings *ceilings;
    const t6b_flush *flush;
    t6b_table *table;
} row_context;

/* Times `rows` rows of shape `shape` with each enabled method and prints the row (`variant` in the last
 * column, when there are variants). */
static t6_status bench_row(t6_context *ctx, const row_context *rc, bench_shape *b, int shape, int rows,
                           const char *variant)
{
    const settings *s = rc->s;
    place_rows(b, rows);
    const double outputs = (double)b->config.heads * (RANK_Q + RANK_K + RANK_V) + HEAD_DIM * (RANK_Q + RANK_K + RANK_V);
    const double weight_bytes = outputs * b->config.model_dim * (double)t6_dtype_size(s->weights);
    const double flops = 2.0 * rows * outputs * b->config.model_dim;
    figures got[2];
    memset(got, 0, sizeof got);
    const int enabled[2] = {s->fused, s->clblast};
    for (int m = 0; m < 2; m++) {
        if (!enabled[m]) continue;
        run_arg arg = {ctx, b->layer, b->cache, rows, b->hidden, b->query[m], b->slots, b->positions,
                       {sizeof(t6_project_options), (t6_projection_method)m}, rc->flush};
        t6_status status = measure(ctx, rc->options, &arg, weight_bytes, flops, rc->ceilings, &got[m]);
        if (status != T6_SUCCESS) {
            fprintf(stderr, "t6-bench: %s, %d rows, %s%s%s: ", shapes[shape].name, rows, m ? "clblast" : "fused",
                    variant ? ", " : "", variant ? variant : "");
            return status;
        }
    }
    double diff = NAN;
    if (s->fused && s->clblast) {
        const size_t n = (size_t)rows * t6_query_row_size(&b->config);
        float *a = malloc(n * sizeof *a), *c = malloc(n * sizeof *c);
        double *c_wide = malloc(n * sizeof *c_wide);
        if (a && c && c_wide && t6_buffer_download(ctx, b->query[0], T6_F32, 0, n, a) == T6_SUCCESS &&
            t6_buffer_download(ctx, b->query[1], T6_F32, 0, n, c) == T6_SUCCESS) {
            for (size_t i = 0; i < n; i++) c_wide[i] = c[i];
            diff = t6i_relative_error(a, c_wide, n); /* the fused query against CLBlast's */
        }
        free(a);
        free(c);
        free(c_wide);
    }
    char diff_text[32] = "-";
    if (!isnan(diff)) snprintf(diff_text, sizeof diff_text, "%.1e", diff);
    const double ach = rows <= DECODE_ROWS ? achievable_us(rc->ceilings, weight_bytes) : 0;
    const int show_ach = s->fused && ach > 0;
    const char *cells[T6B_MAX_COLUMNS] = {
        shapes[shape].name,
        t6b_num(rows, 0),
        s->fused ? t6b_num(got[0].us, 1) : "-",
        s->fused ? t6b_num(got[0].gbps, 1) : "-",
        s->fused ? t6b_num(got[0].gflops, 1) : "-",
        s->fused ? t6b_num(100 * got[0].fraction, 1) : "-",
        show_ach ? t6b_num(ach, 1) : "-",
        show_ach ? t6b_num(100 * ach / got[0].us, 1) : "-",
        s->fused ? t6b_num(got[0].spread, 2) : "-",
        s->clblast ? t6b_num(got[1].us, 1) : "-",
        s->clblast ? t6b_num(got[1].gbps, 1) : "-",
        s->clblast ? t6b_num(got[1].gflops, 1) : "-",
        s->clblast ? t6b_num(100 * got[1].fraction, 1) : "-",
        s->fused && s->clblast ? t6b_num(got[1].us / got[0].us, 2) : "-",
        diff_text,
        variant ? (*variant ? variant : "defaults") : "",
    };
    t6b_table_row(rc->table, cells);
    return T6_SUCCESS;
}

int t6b_bench_projection(t6_context *ctx, const t6b_options *options, int argc, char **argv)
{
    settings s;
    if (!parse_arguments(options, argc, argv, &s)) return 2;
    t6b_ceilings ceilings;
    t6_status status = t6b_measure_ceilings(ctx, options->quick, &ceilings);
    if (status != T6_SUCCESS) return t6b_report_failure(ctx, "measuring the ceilings", status);
    printf("ceilings: copy %.1f GB/s, fp32 FMA %.1f GFLOP/s, CLBlast SGEMM (n=%d) %.1f GFLOP/s, launch floor %.2f "
           "us (empty kernel)\n",
           ceilings.copy_gbps, ceilings.fma_gflops, ceilings.sgemm_n, ceilings.sgemm_gflops, ceilings.launch_ns / 1e3);
    t6b_flush flush;
    status = t6b_flush_create(ctx, &flush);
    if (status != T6_SUCCESS) return t6b_report_failure(ctx, "creating the flush buffer", status);
    printf("weights %s, cache %s; median of %d runs after %d warm-up runs; each run follows a %.0f MB fill "
           "(cache flush, untimed)\n",
           t6_dtype_name(s.weights), t6_dtype_name(s.cache), options->runs, options->warmup,
           (double)flush.bytes / 1e6);
    printf("%% = of copy bandwidth up to %d rows, of CLBlast SGEMM above; up to %d rows ach_us = launch floor + "
           "weight bytes / copy bandwidth, %%ach = ach_us / fused_us\n",
           DECODE_ROWS, DECODE_ROWS);

    static const char *const names[] = {"shape", "rows", "fused_us", "fused_GB/s", "fused_GFLOP/s", "fused_%",
                                        "ach_us", "fused_%ach", "spread", "clblast_us", "clblast_GB/s",
                                        "clblast_GFLOP/s", "clblast_%", "speedup", "diff", "variant"};
    static const int widths[] = {6, 5, 9, 8, 9, 7, 6, 7, 6, 10, 8, 9, 9, 7, 8, 0};
    enum { COLUMNS = sizeof names / sizeof names[0] };
    /* The variant column only with variants; without, one pass with the tunables --param set. */
    const int variant_count = s.variant_count ? s.variant_count : 1;
    t6b_table table;
    t6b_table_begin(&table, s.variant_count ? COLUMNS : COLUMNS - 1, names, widths, options->csv);
    const row_context rc = {options, &s, &ceilings, &flush, &table};

    /* A variant the device refuses (or that fails) is reported and skipped; the others still run. */
    int code = 0;
    for (int shape = 0; shape < SHAPE_COUNT; shape++) {
        if (!s.shape_enabled[shape]) continue;
        bench_shape b;
        status = setup_shape(ctx, shape, &s, &b);
        if (status != T6_SUCCESS) {
            code = t6b_report_failure(ctx, shapes[shape].name, status);
            break;
        }
        for (int v = 0; v < variant_count; v++) {
            const char *variant = s.variant_count ? s.variants[v] : NULL;
            status = variant ? apply_variant(ctx, options, variant) : T6_SUCCESS;
            if (status != T6_SUCCESS) fprintf(stderr, "t6-bench: variant '%s': ", variant);
            for (int r = 0; r < s.row_count && status == T6_SUCCESS; r++)
                status = bench_row(ctx, &rc, &b, shape, s.rows[r], variant);
            if (status != T6_SUCCESS) {
                fprintf(stderr, "%s: %s\n", t6_status_string(status), t6_context_last_error(ctx));
                code = 1;
                if (!variant) break;
            }
        }
        release_shape(&b);
        if (code && !s.variant_count) break;
    }
    t6b_flush_release(&flush);
    return code;
}
