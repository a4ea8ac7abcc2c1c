/* t6-tune — tunes t6's kernels for the device at hand and writes its profile (docs/TUNING.md). The parent
 * process never touches OpenCL (except for --export, which tunes nothing): a worker process owns the device. */
#include "tune.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

volatile int tune_interrupted;

static const char *const status_names[TUNE_STATUS_COUNT] = {
    [TUNE_OK] = "ok",         [TUNE_WRONG] = "wrong",   [TUNE_BUILD] = "build",   [TUNE_INVALID] = "invalid",
    [TUNE_LAUNCH] = "launch", [TUNE_ERROR] = "error",   [TUNE_BROKEN] = "broken", [TUNE_CRASH] = "crash",
    [TUNE_HANG] = "hang",     [TUNE_LOST] = "lost",
};

const char *tune_status_name(tune_status status) { return status < TUNE_STATUS_COUNT ? status_names[status] : "?"; }

bool tune_status_from_name(const char *name, tune_status *status)
{
    for (int i = 0; i < TUNE_STATUS_COUNT; i++)
        if (strcmp(status_names[i], name) == 0) {
            *status = (tune_status)i;
            return true;
        }
    return false;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: t6-tune [options]\n"
            "\n"
            "Tunes t6's kernels (factor projection, factorized decode and prefill) on one device, over shape\n"
            "buckets, and writes the device's profile, which t6 picks up at run time. Each candidate is\n"
            "compiled, checked against the double-precision reference (relative error as TPA.md states it,\n"
            "NaN/Inf, guard values after every output) and only then timed with OpenCL event profiling. It runs\n"
            "in a separate worker process with a watchdog: a candidate that crashes or hangs the driver is\n"
            "recorded as such and the run goes on. Every result is appended to a log at once; --resume\n"
            "continues a run that was killed without repeating a finished candidate.\n"
            "\n"
            "What to tune:\n"
            "  --device SELECTOR   an index or a name substring, as t6-info lists them (default: T6_DEVICE, else\n"
            "                      the first GPU, else the first device)\n"
            "  --preset LIST       comma-separated: small, medium, large, xl (the T6 models of TPA.md: C = 768,\n"
            "                      1024, 1280, 1600, H = 34, 47, 61, 78, D = 64, ranks 6/2/2), paper (the paper's\n"
            "                      decode benchmark: C = 2048, H = 32, D = 64, ranks 16/1/1), all. Default:\n"
            "                      medium,paper. Each T6 model gives the buckets: projection at 1 and 8 rows\n"
            "                      (decode) and 512 rows (prefill), decode of 8 sequences at 1K, of 1 at 32K\n"
            "                      and of 8 at 64K, prefill of 512 tokens; paper gives decode of 1 sequence at\n"
            "                      4K and at 64K and of 8 at 64K.\n"
            "  --shape SPEC        a bucket of your own (repeatable; replaces the presets unless --preset is\n"
            "                      also given): OP:key=value,... with OP projection, decode or prefill and keys\n"
            "                      model_dim, heads, head_dim, ranks=Q/K/V, dtype, weight_dtype (f32, f16,\n"
            "                      bf16), rows, batch, length. Example:\n"
            "                      decode:heads=47,head_dim=64,ranks=6/2/2,dtype=f16,batch=1,length=16384\n"
            "  --ops LIST          only these ops of the presets (default projection,decode,prefill)\n"
            "  --dtype T           cache storage of the presets (default f16)\n"
            "  --weight-dtype T    weight storage of the presets (default f16)\n"
            "  --quick             preset shapes small enough for a CPU (PoCL): contexts and rows / 16\n"
            "\n"
            "How to search:\n"
            "  --strategy S        local (default: greedy iterated local search from the built-in defaults),\n"
            "                      random, or exhaustive (every configuration; ignores --budget)\n"
            "  --budget N          evaluations per bucket (default 40)\n"
            "  --time-limit S      seconds for the whole run, shared among the buckets still to tune; the\n"
            "                      profile is written from what was measured\n"
            "  --seed N            of the search (default 1); a run is repeatable for a seed\n"
            "  --timeout S         watchdog per candidate: compile, check and timing (default 120)\n"
            "  --warmup N          untimed runs before timing (default 3)\n"
            "  --runs N            timed runs; the median counts (default 10; the best are re-timed with 2N)\n"
            "  --retime N          how many of the best are re-timed before the winner is chosen (default 3)\n"
            "  --no-flush          do not evict the device cache between timed runs\n"
            "  --precision P       strict (default) or fast: the attention ops' mode (t6.h, t6_precision), in\n"
            "                      which every candidate runs and is verified (fast: 1e-3 of max|ref|, 5e-3\n"
            "                      with bf16 caches; strict: 1e-4)\n"
            "  --ceilings C,F      the device's copy GB/s and FMA GFLOP/s, to skip measuring them\n"
            "\n"
            "Files:\n"
            "  --log FILE          the result log (default ./t6-tune-<device>.jsonl; the worker's own messages\n"
            "                      go to FILE.stderr)\n"
            "  --resume            continue the run recorded in --log; finished candidates are not run again,\n"
            "                      and one that two runs died on is recorded as lost\n"
            "  --output FILE       the profile to write (default: the user folder t6 reads,\n"
            "                      $XDG_CONFIG_HOME/t6/profiles or ~/.config/t6/profiles, <device>.json; a\n"
            "                      folder: <device>.json in it); a fresh profile of the same device there is\n"
            "                      merged, its other buckets kept\n"
            "  --plan              print the buckets, space sizes and estimated time, then stop\n"
            "\n"
            "Other modes:\n"
            "  --export FILE       tune nothing: check that the profile of this device (--output, or the default\n"
            "                      path) is current and loads, and copy it to FILE to send in (README: \"Tuning a\n"
            "                      new device\")\n"
            "  --check FILE        tune nothing: run every bucket of the profile FILE once on this device, at\n"
            "                      the bucket's exact features and small sizes, and check the results; exit 1 if\n"
            "                      a driver refuses or miscomputes one, or if a tuned part is stale (its kernels\n"
            "                      changed since: the library skips it) (used on the shipped profiles)\n"
            "  --derive VENDOR     write the untuned default profile of nvidia, amd or intel GPUs to --output;\n"
            "                      amd/gfx10, amd/gfx11, amd/gfx12: of AMD's RDNA families (wavefronts of 32)\n"
            "  --verbose           the library's log (kernel builds, profile choice) on stderr\n"
            "  --help              this text\n"
            "\n"
            "Test hooks (environment): T6_TUNE_TEST_CRASH=NAME=VALUE crashes the worker on candidates with that\n"
            "value, T6_TUNE_TEST_HANG=NAME=VALUE hangs it. --preset synthetic tunes a made-up op that needs no\n"
            "kernels (for testing t6-tune itself); T6_TUNE_TEST_NOISE=S puts each of its timings off by a fixed\n"
            "draw within +-S, with the spread of its runs saying so.\n");
}

static void on_interrupt(int sig)
{
    (void)sig;
    tune_interrupted = 1;
}

/* ---- buckets ---- */

typedef struct model {
    const char *name;
    int model_dim, heads, rank_q, rank_k, rank_v;
} model;

static const model models[] = {
    {"small", 768, 34, 6, 2, 2},  {"medium", 1024, 47, 6, 2, 2}, {"large", 1280, 61, 6, 2, 2},
    {"xl", 1600, 78, 6, 2, 2},    {"paper", 2048, 32, 16, 1, 1},
};

typedef struct options {
    const char *device, *log, *output, *export_to, *check, *derive, *ceilings;
    char presets[256];
    unsigned ops; /* bit per tune_op_id */
    t6_dtype dtype, weight_dtype;
    bool quick, resume, plan_only, verbose;
    tune_settings settings;
    tune_bucket buckets[TUNE_MAX_BUCKETS];
    int bucket_count;
} options;

static bool add_bucket(options *o, tune_op_id op, const char *name, tune_shape shape)
{
    if (!(o->ops & (1u << op)) && op != TUNE_SYNTHETIC) return true;
    if (o->bucket_count == TUNE_MAX_BUCKETS) {
        fprintf(stderr, "t6-tune: more than %d buckets\n", TUNE_MAX_BUCKETS);
        return false;
    }
    tune_bucket *b = &o->buckets[o->bucket_count++];
    memset(b, 0, sizeof *b);
    b->op = op;
    snprintf(b->name, sizeof b->name, "%s", name);
    b->shape = shape;
    return true;
}

static bool add_model(options *o, const model *m)
{
    int q = o->quick ? 16 : 1;
    tune_shape s = {m->model_dim, m->heads, 64, m->rank_q, m->rank_k, m->rank_v, o->dtype, o->weight_dtype, 1, 1, 1};
    char name[64];
    bool ok = true;
    if (strcmp(m->name, "paper") != 0) {
        s.rows = 1;
        snprintf(name, sizeof name, "%s projection 1", m->name);
        ok = ok && add_bucket(o, TUNE_PROJECTION, name, s);
        /* A decode step of 8 sequences: the nearest of 1 and 512 rows serves it badly (PoCL: 0.13-0.16 of copy
         * bandwidth at 8 rows with the 1-row and 32-row winners). */
        s.rows = 8;
        snprintf(name, sizeof name, "%s projection 8", m->name);
        ok = ok && add_bucket(o, TUNE_PROJECTION, name, s);
        s.rows = 512 / q;
        snprintf(name, sizeof name, "%s projection %d", m->name, s.rows);
        ok = ok && add_bucket(o, TUNE_PROJECTION, name, s);
        s.rows = 1;
        s.batch = o->quick ? 2 : 8;
        s.length = 1024 / q;
        snprintf(name, sizeof name, "%s decode short", m->name);
        ok = ok && add_bucket(o, TUNE_DECODE, name, s);
        s.batch = 1;
        s.length = 32768 / q;
        snprintf(name, sizeof name, "%s decode long", m->name);
        ok = ok && add_bucket(o, TUNE_DECODE, name, s);
        /* Many sequences at a long context want other splits than either (H200: the 8 x 1K winner took 1.5x
         * the default's time at 8 x 16K, an 8 x 16K winner 1.3x at 8 x 64K..512K). */
        s.batch = o->quick ? 2 : 8;
        s.length = 65536 / q;
        snprintf(name, sizeof name, "%s decode batch", m->name);
        ok = ok && add_bucket(o, TUNE_DECODE, name, s);
        s.batch = 1;
        s.rows = 512 / q;
        s.length = 512 / q;
        snprintf(name, sizeof name, "%s prefill", m->name);
        ok = ok && add_bucket(o, TUNE_PREFILL, name, s);
    } else {
        s.length = 4096 / q;
        snprintf(name, sizeof name, "paper decode short");
        ok = ok && add_bucket(o, TUNE_DECODE, name, s);
        s.length = 65536 / q;
        snprintf(name, sizeof name, "paper decode long");
        ok = ok && add_bucket(o, TUNE_DECODE, name, s);
        s.batch = o->quick ? 2 : 8;
        snprintf(name, sizeof name, "paper decode batch");
        ok = ok && add_bucket(o, TUNE_DECODE, name, s);
    }
    return ok;
}

static bool add_presets(options *o, const char *list)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save = NULL, *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        bool known = false;
        for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
            if (strcmp(name, models[i].name) == 0 || (strcmp(name, "all") == 0)) {
                known = true;
                if (!add_model(o, &models[i])) return false;
            }
        if (strcmp(name, "synthetic") == 0) {
            known = true;
            tune_shape s = {0, 0, 0, 0, 0, 0, T6_F32, T6_F32, 1, 1, 1};
            add_bucket(o, TUNE_SYNTHETIC, "synthetic", s);
        }
        if (!known) {
            fprintf(stderr, "t6-tune: unknown preset '%s' (small, medium, large, xl, paper, all)\n", name);
            return false;
        }
    }
    return true;
}

static bool parse_dtype(const char *text, t6_dtype *out)
{
    for (int d = T6_F32; d <= T6_BF16; d++)
        if (strcmp(text, t6_dtype_name((t6_dtype)d)) == 0) {
            *out = (t6_dtype)d;
            return true;
        }
    fprintf(stderr, "t6-tune: unknown storage type '%s' (f32, f16, bf16)\n", text);
    return false;
}

/* OP:key=value,... */
static bool parse_shape(options *o, const char *spec)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", spec);
    char *colon = strchr(copy, ':');
    tune_op_id op;
    if (!colon || (*colon = '\0', !tune_op_by_name(copy, &op))) {
        fprintf(stderr, "t6-tune: --shape '%s': expected OP:key=value,... with OP projection, decode or prefill\n",
                spec);
        return false;
    }
    tune_shape s = {1024, 16, 64, 1, 1, 1, o->dtype, o->weight_dtype, 1, 1, 1};
    char *save = NULL, *kv = NULL;
    for (kv = strtok_r(colon + 1, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) goto bad;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(kv, "model_dim") == 0) s.model_dim = atoi(v);
        else if (strcmp(kv, "heads") == 0) s.heads = atoi(v);
        else if (strcmp(kv, "head_dim") == 0) s.head_dim = atoi(v);
        else if (strcmp(kv, "ranks") == 0) {
            if (sscanf(v, "%d/%d/%d", &s.rank_q, &s.rank_k, &s.rank_v) != 3) goto bad;
        } else if (strcmp(kv, "dtype") == 0) {
            if (!parse_dtype(v, &s.dtype)) return false;
        } else if (strcmp(kv, "weight_dtype") == 0) {
            if (!parse_dtype(v, &s.weight_dtype)) return false;
        } else if (strcmp(kv, "rows") == 0) s.rows = atoi(v);
        else if (strcmp(kv, "batch") == 0) s.batch = atoi(v);
        else if (strcmp(kv, "length") == 0) s.length = atoi(v);
        else goto bad;
    }
    if (s.model_dim < 1 || s.heads < 1 || s.rows < 1 || s.batch < 1 || s.length < 1 ||
        (op == TUNE_PREFILL && s.rows > s.length)) {
        fprintf(stderr, "t6-tune: --shape '%s': sizes must be ≥ 1 (and prefill rows ≤ length)\n", spec);
        return false;
    }
    char name[64];
    snprintf(name, sizeof name, "shape %d %s", o->bucket_count + 1, tune_op(op)->name);
    unsigned keep = o->ops;
    o->ops |= 1u << op; /* an explicit shape is tuned whatever --ops says */
    bool ok = add_bucket(o, op, name, s);
    o->ops = keep;
    return ok;
bad:
    fprintf(stderr, "t6-tune: --shape '%s': cannot read '%s'\n", spec, kv);
    return false;
}

static bool parse_ops(options *o, const char *list)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", list);
    o->ops = 0;
    for (char *save = NULL, *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        tune_op_id op;
        if (!tune_op_by_name(name, &op) || op == TUNE_SYNTHETIC) {
            fprintf(stderr, "t6-tune: unknown op '%s' (projection, decode, prefill)\n", name);
            return false;
        }
        o->ops |= 1u << op;
    }
    return true;
}

/* ---- the main modes ---- */

static char *settings_json(const options *o)
{
    static char text[1024];
    snprintf(text, sizeof text,
             "{\"strategy\":\"%s\",\"seed\":%llu,\"budget\":%d,\"time_limit_s\":%g,\"warmup\":%d,\"runs\":%d,"
             "\"retime\":%d,\"flush\":%s,\"presets\":\"%s\",\"precision\":\"%s\"}",
             tune_strategy_name(o->settings.strategy), o->settings.seed, o->settings.budget,
             o->settings.time_limit_s, o->settings.warmup, o->settings.runs, o->settings.retime,
             o->settings.worker.flush ? "true" : "false", o->presets, t6_precision_name(o->settings.worker.precision));
    return text;
}

static int tune_main(options *o)
{
    tune_device device;
    char error[1024];
    tune_device known;
    memset(&known, 0, sizeof known);
    if (o->ceilings && sscanf(o->ceilings, "%lf,%lf", &known.copy_gbps, &known.fma_gflops) != 2) {
        fprintf(stderr, "t6-tune: --ceilings expects COPY_GBPS,FMA_GFLOPS\n");
        return 2;
    }
    char log_path[4096], stderr_path[4200], output[4096];
    /* The worker's messages go next to the log, whose name needs the device: a first worker tells it. */
    o->settings.worker.stderr_path = NULL;
    tune_worker *worker = tune_worker_start(&o->settings.worker, &known, &device, error, sizeof error);
    if (!worker) {
        fprintf(stderr, "t6-tune: %s\n", error);
        return 1;
    }
    char slug[600];
    tune_profile_file_name(&device.info, slug, sizeof slug);
    slug[strlen(slug) - 5] = '\0';
    if (o->log) snprintf(log_path, sizeof log_path, "%s", o->log);
    else snprintf(log_path, sizeof log_path, "t6-tune-%s.jsonl", slug);
    snprintf(stderr_path, sizeof stderr_path, "%s.stderr", log_path);
    o->settings.worker.stderr_path = stderr_path;
    struct stat st;
    if (o->output && stat(o->output, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(output, sizeof output, "%s/%s.json", o->output, slug);
    else if (o->output) snprintf(output, sizeof output, "%s", o->output);
    else tune_profile_default_path(&device.info, output, sizeof output);
    /* Refused before the search (and before a worker writes <log>.stderr beside a device) rather than after it:
     * a FIFO there would take the log or the profile, or hold them up. */
    if (!tune_writable_path(log_path, "log", error, sizeof error) ||
        !tune_writable_path(output, "profile", error, sizeof error)) {
        tune_worker_stop(worker);
        fprintf(stderr, "t6-tune: %s\n", error);
        return 1;
    }

    printf("t6-tune %s on %s (%s, driver %s)\n", t6_version_string(), device.info.name, device.info.identity,
           device.info.driver_version);
    if (device.copy_gbps > 0)
        printf("ceilings: copy %.1f GB/s, fp32 FMA %.1f GFLOP/s (pass --ceilings %.6g,%.6g to skip measuring)\n",
               device.copy_gbps, device.fma_gflops, device.copy_gbps, device.fma_gflops);
    tune_plan(o->buckets, o->bucket_count, &device, &o->settings);
    tune_plan_print(o->buckets, o->bucket_count, &o->settings);
    bool any = false;
    for (int i = 0; i < o->bucket_count; i++) any = any || o->buckets[i].usable;
    if (o->plan_only || !any) {
        tune_worker_stop(worker);
        for (int i = 0; i < o->bucket_count; i++) tune_space_free(&o->buckets[i].space);
        if (!any) fprintf(stderr, "t6-tune: nothing to tune\n");
        return any ? 0 : 1;
    }
    /* From here on the worker logs to its file: restart it so the first one's messages are not lost either. */
    tune_worker_stop(worker);
    worker = tune_worker_start(&o->settings.worker, &device, &device, error, sizeof error);
    tune_log *log = worker ? tune_log_open(log_path, o->resume, &device, settings_json(o), error, sizeof error) : NULL;
    int code = 0;
    if (!worker || !log) {
        fprintf(stderr, "t6-tune: %s\n", error);
        code = 1;
    } else {
        printf("log: %s%s; profile: %s\n", log_path, o->resume ? " (resumed)" : "", output);
        fflush(stdout);
        double started = tune_now();
        if (!tune_run(o->buckets, o->bucket_count, &device, &o->settings, log, &worker)) {
            fprintf(stderr, "\nt6-tune: interrupted; run again with --resume --log %s to continue\n", log_path);
            code = 130;
        } else if (!tune_profile_write(output, &device, &o->settings, tune_now() - started, o->buckets,
                                       o->bucket_count, log, error, sizeof error)) {
            bool synthetic_only = true;
            for (int i = 0; i < o->bucket_count; i++) synthetic_only = synthetic_only && o->buckets[i].op == TUNE_SYNTHETIC;
            if (!synthetic_only) {
                fprintf(stderr, "t6-tune: %s\n", error);
                code = 1;
            }
        } else {
            printf("profile written: %s\n", output);
        }
    }
    tune_log_close(log);
    tune_worker_stop(worker);
    for (int i = 0; i < o->bucket_count; i++) tune_space_free(&o->buckets[i].space);
    return code;
}

static bool need(int i, int argc, const char *flag)
{
    if (i + 1 < argc) return true;
    fprintf(stderr, "t6-tune: %s needs a value\n", flag);
    return false;
}

int main(int argc, char **argv)
{
    static options o;
    o.ops = (1u << TUNE_PROJECTION) | (1u << TUNE_DECODE) | (1u << TUNE_PREFILL);
    o.dtype = T6_F16;
    o.weight_dtype = T6_F16;
    o.settings = (tune_settings){TUNE_LOCAL, 40, 0.0, 1, 3, 10, 3,
                                 {argv[0], NULL, NULL, 120.0, true, false, T6_PRECISION_STRICT}};
    bool worker = false, explicit_presets = false;
    const char *shapes[TUNE_MAX_BUCKETS];
    int shape_count = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--worker") == 0) worker = true;
        else if (strcmp(a, "--no-flush") == 0) o.settings.worker.flush = false;
        else if (strcmp(a, "--quick") == 0) o.quick = true;
        else if (strcmp(a, "--resume") == 0) o.resume = true;
        else if (strcmp(a, "--plan") == 0) o.plan_only = true;
        else if (strcmp(a, "--verbose") == 0) o.verbose = o.settings.worker.verbose = true;
        else if (!need(i, argc, a)) return 2;
        else if (strcmp(a, "--device") == 0) o.device = o.settings.worker.device = argv[++i];
        else if (strcmp(a, "--preset") == 0) {
            snprintf(o.presets, sizeof o.presets, "%s", argv[++i]);
            explicit_presets = true;
        } else if (strcmp(a, "--shape") == 0) {
            if (shape_count == TUNE_MAX_BUCKETS) return 2;
            shapes[shape_count++] = argv[++i];
        } else if (strcmp(a, "--ops") == 0) {
            if (!parse_ops(&o, argv[++i])) return 2;
        } else if (strcmp(a, "--dtype") == 0) {
            if (!parse_dtype(argv[++i], &o.dtype)) return 2;
        } else if (strcmp(a, "--weight-dtype") == 0) {
            if (!parse_dtype(argv[++i], &o.weight_dtype)) return 2;
        } else if (strcmp(a, "--strategy") == 0) {
            if (!tune_strategy_from_name(argv[++i], &o.settings.strategy)) {
                fprintf(stderr, "t6-tune: unknown strategy '%s' (local, random, exhaustive)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--precision") == 0) {
            const char *mode = argv[++i];
            if (strcmp(mode, "strict") == 0) o.settings.worker.precision = T6_PRECISION_STRICT;
            else if (strcmp(mode, "fast") == 0) o.settings.worker.precision = T6_PRECISION_FAST;
            else {
                fprintf(stderr, "t6-tune: unknown precision '%s' (strict, fast)\n", mode);
                return 2;
            }
        } else if (strcmp(a, "--budget") == 0) o.settings.budget = atoi(argv[++i]);
        else if (strcmp(a, "--time-limit") == 0) o.settings.time_limit_s = atof(argv[++i]);
        else if (strcmp(a, "--seed") == 0) o.settings.seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--timeout") == 0) o.settings.worker.timeout_s = atof(argv[++i]);
        else if (strcmp(a, "--warmup") == 0) o.settings.warmup = atoi(argv[++i]);
        else if (strcmp(a, "--runs") == 0) o.settings.runs = atoi(argv[++i]);
        else if (strcmp(a, "--retime") == 0) o.settings.retime = atoi(argv[++i]);
        else if (strcmp(a, "--ceilings") == 0) o.ceilings = argv[++i];
        else if (strcmp(a, "--log") == 0) o.log = argv[++i];
        else if (strcmp(a, "--output") == 0) o.output = argv[++i];
        else if (strcmp(a, "--export") == 0) o.export_to = argv[++i];
        else if (strcmp(a, "--check") == 0) o.check = argv[++i];
        else if (strcmp(a, "--derive") == 0) o.derive = argv[++i];
        else {
            fprintf(stderr, "t6-tune: unknown argument '%s' (--help lists them)\n", a);
            return 2;
        }
    }
    if (worker) return tune_worker_main(o.device, o.settings.worker.flush, o.ceilings, o.settings.worker.precision);
    if (o.settings.budget < 1 || o.settings.runs < 1 || o.settings.runs > 500 || o.settings.warmup < 0 ||
        o.settings.retime < 0 || o.settings.retime > 15 || !(o.settings.worker.timeout_s > 0)) {
        fprintf(stderr, "t6-tune: --budget ≥ 1, --runs 1..500, --warmup ≥ 0, --retime 0..15, --timeout > 0\n");
        return 2;
    }
    if (o.verbose) t6_set_log_callback(t6_log_to_stderr, T6_LOG_DEBUG, NULL);
    if (o.derive) {
        char error[512];
        if (!o.output) {
            fprintf(stderr, "t6-tune: --derive needs --output FILE\n");
            return 2;
        }
        if (!tune_profile_write_vendor(o.output, o.derive, error, sizeof error)) {
            fprintf(stderr, "t6-tune: %s\n", error);
            return 1;
        }
        printf("vendor default for %s written: %s\n", o.derive, o.output);
        return 0;
    }
    if (o.export_to) return tune_export_main(o.device, o.output, o.export_to);
    signal(SIGPIPE, SIG_IGN); /* a worker that died while we write to it is noticed by its answer missing */
    if (o.check) return tune_check_main(o.check, &o.settings);
    if (!explicit_presets && shape_count == 0) snprintf(o.presets, sizeof o.presets, "medium,paper");
    if (o.presets[0] && !add_presets(&o, o.presets)) return 2;
    for (int i = 0; i < shape_count; i++)
        if (!parse_shape(&o, shapes[i])) return 2;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    return tune_main(&o);
}
