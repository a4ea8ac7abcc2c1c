/* tune_run.c — planning and running the buckets of a tuning run: each bucket's space is pruned for the device
 * and its cost estimated before anything compiles; then the strategy searches it through the worker, every
 * result going to the log as it arrives; then the best few are timed again, with more runs, and the fastest of
 * those wins. Results faster than the device can be (above its measured ceilings) are rejected as broken. */
#include "tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- planning ---- */

/* Seconds one evaluation costs: a compile (the disk cache makes repeats cheaper; not counted on), the check
 * against the reference, and warm-up plus timed runs at a plausible half of the device's ceilings. */
static double evaluation_seconds(const tune_bucket *b, const tune_device *d, const tune_settings *s)
{
    if (b->op == TUNE_SYNTHETIC) return 0.001;
    double compile_s = d->info.is_gpu ? 0.6 : 3.0;
    double call_s = 0.0;
    if (d->copy_gbps > 0) call_s = fmax(call_s, b->bytes / (0.5 * d->copy_gbps * 1e9));
    if (d->fma_gflops > 0) call_s = fmax(call_s, b->flops / (0.3 * d->fma_gflops * 1e9));
    return compile_s + (1 + s->warmup + s->runs) * (call_s + 2e-5);
}

void tune_plan(tune_bucket *buckets, int count, const tune_device *device, const tune_settings *settings)
{
    for (int i = 0; i < count; i++) {
        tune_bucket *b = &buckets[i];
        tune_op_work(b->op, &b->shape, &b->bytes, &b->flops);
        tune_shape_key(b->op, &b->shape, b->key, sizeof b->key);
        b->usable = tune_space_build(b->op, &b->shape, device, &b->space, b->note, sizeof b->note);
        if (!b->usable) continue;
        b->planned = settings->strategy == TUNE_EXHAUSTIVE || settings->budget > b->space.size ? b->space.size
                                                                                               : settings->budget;
        /* the reference of the bucket's call, in double on the host, and the re-timing of the best */
        double reference_s = 0.5 + b->flops / 5e8;
        double retime_s = (settings->retime + 1) * evaluation_seconds(b, device, settings) * 0.5;
        b->estimate_s = reference_s + b->planned * evaluation_seconds(b, device, settings) + retime_s;
    }
}

void tune_plan_print(const tune_bucket *buckets, int count, const tune_settings *settings)
{
    double total_s = 0.0;
    int total = 0;
    printf("%-28s %10s %8s %6s %9s\n", "bucket", "space", "valid", "evals", "estimate");
    for (int i = 0; i < count; i++) {
        const tune_bucket *b = &buckets[i];
        char estimate[32];
        if (!b->usable) {
            printf("%-28s skipped: %s\n", b->name, b->note);
            continue;
        }
        tune_format_time(b->estimate_s, estimate, sizeof estimate);
        printf("%-28s %10lld %8d %6d %9s\n    %s\n", b->name, b->space.full_size, b->space.size, b->planned, estimate,
               b->key);
        if (b->space.pruned_by[0]) printf("    pruned: %s\n", b->space.pruned_by);
        total_s += b->estimate_s;
        total += b->planned;
    }
    char estimate[32];
    tune_format_time(total_s, estimate, sizeof estimate);
    printf("%-28s %10s %8s %6d %9s   (strategy %s, seed %llu%s)\n", "total", "", "", total, estimate,
           tune_strategy_name(settings->strategy), settings->seed,
           settings->time_limit_s > 0 ? ", within the time limit" : "");
    fflush(stdout);
}

/* ---- evaluation ---- */

/* A configuration this search evaluated, with its search-phase result. */
typedef struct visited {
    tune_config config;
    tune_result result;
} visited;

typedef struct evaluator {
    tune_bucket *bucket;
    const tune_device *device;
    const tune_settings *settings;
    tune_log *log;
    tune_worker **worker;
    tune_progress progress;
    int evaluations;
    visited *seen; /* what this search evaluated (a resumed or merged log may hold more) */
    double deadline;
    bool fatal; /* the worker cannot be started again, or the bucket's problem cannot be built */
} evaluator;

/* Rejects a time the device cannot achieve: the op's unavoidable bytes or flops at more than the measured
 * ceilings allow. The margins cover measurement noise and, on GPUs, nothing else: the probes reach their
 * peaks there. On CPUs the FMA probe is not vectorized by every OpenCL compiler, so the flops bound is scaled
 * by the SIMD width, and memory bandwidth varies with what else the machine runs. */
static void check_ceilings(const evaluator *e, tune_result *r)
{
    if (r->status != TUNE_OK) return;
    if (!(r->median_ns > 0)) {
        r->status = TUNE_BROKEN;
        snprintf(r->message, sizeof r->message, "a zero time");
        return;
    }
    const tune_device *d = e->device;
    double gbps = e->bucket->bytes / r->median_ns, gflops = e->bucket->flops / r->median_ns;
    double copy_limit = d->copy_gbps * (d->info.is_gpu ? 1.5 : 4.0);
    double fma_limit = d->fma_gflops * 1.2 * (d->info.is_gpu ? 1.0 : (d->vector_width ? d->vector_width : 16));
    if (d->copy_gbps > 0 && e->settings->worker.flush && gbps > copy_limit) {
        r->status = TUNE_BROKEN;
        snprintf(r->message, sizeof r->message, "%.0f GB/s is beyond the device's copy ceiling (%.0f GB/s, limit %.0f)",
                 gbps, d->copy_gbps, copy_limit);
    } else if (d->fma_gflops > 0 && gflops > fma_limit) {
        r->status = TUNE_BROKEN;
        snprintf(r->message, sizeof r->message,
                 "%.0f GFLOP/s is beyond the device's FMA ceiling (%.0f GFLOP/s, limit %.0f)", gflops, d->fma_gflops,
                 fma_limit);
    }
}

/* Evaluates in `phase` (0 search, 1 re-timing) unless the log has the answer. Returns false when the run
 * must stop (interrupted, no worker). */
static bool evaluate(evaluator *e, const tune_config *config, int phase, tune_result *result, bool *cached)
{
    tune_bucket *b = e->bucket;
    char text[512];
    tune_config_text(&b->space, config, text, sizeof text);
    const tune_result *logged = tune_log_find(e->log, b->key, text, phase);
    *cached = logged != NULL;
    if (logged) {
        *result = *logged;
        return true;
    }
    if (tune_log_unfinished(e->log, b->key, text, phase) >= 2) {
        /* started twice by runs that never came back: it takes the process (or the machine) down */
        memset(result, 0, sizeof *result);
        result->status = TUNE_LOST;
        snprintf(result->message, sizeof result->message, "started twice by runs that died; not tried again");
        tune_log_result(e->log, b->key, &b->space, config, phase, result);
        return true;
    }
    if (!*e->worker || tune_interrupted) return false;
    tune_log_start(e->log, b->key, &b->space, config, phase);
    int runs = phase == 0 ? e->settings->runs : 2 * e->settings->runs;
    double started = tune_now();
    tune_worker_evaluate(e->worker, &e->settings->worker, e->device, b->op, &b->shape, &b->space, config,
                         e->settings->warmup, runs, result);
    result->seconds = tune_now() - started;
    if (tune_interrupted) return false;
    check_ceilings(e, result);
    tune_log_result(e->log, b->key, &b->space, config, phase, result);
    if (result->problem_failed || !*e->worker) e->fatal = true;
    return true;
}

static double search_eval(void *arg, const tune_config *config, double *uncertainty, bool *stop)
{
    evaluator *e = arg;
    *uncertainty = 0.0;
    if (e->fatal || e->evaluations >= e->progress.planned || tune_interrupted ||
        (e->deadline > 0 && tune_now() > e->deadline)) {
        *stop = true;
        return INFINITY;
    }
    tune_result result;
    bool cached = false;
    if (!evaluate(e, config, 0, &result, &cached)) {
        *stop = true;
        return INFINITY;
    }
    e->seen[e->evaluations].config = *config;
    e->seen[e->evaluations].result = result;
    e->evaluations++;
    char text[512];
    tune_config_text(&e->bucket->space, config, text, sizeof text);
    tune_progress_update(&e->progress, text, &result, cached, result.seconds);
    if (e->evaluations >= e->progress.planned || e->fatal) *stop = true;
    if (result.status != TUNE_OK) return INFINITY;
    if (result.runs > 0) *uncertainty = result.spread / (2.0 * sqrt((double)result.runs)); /* tune.h */
    return result.median_ns;
}

/* ---- re-timing and the winner ---- */

static int by_time(const void *a, const void *b)
{
    const tune_result *x = &((const visited *)a)->result, *y = &((const visited *)b)->result;
    double tx = x->status == TUNE_OK ? x->median_ns : INFINITY, ty = y->status == TUNE_OK ? y->median_ns : INFINITY;
    return (tx > ty) - (tx < ty);
}

static bool same_config(const tune_space *space, const tune_config *a, const tune_config *b)
{
    return tune_config_key(space, a) == tune_config_key(space, b);
}

static void consider(tune_bucket *b, const tune_config *config, const tune_result *result)
{
    if (same_config(&b->space, config, &b->space.defaults)) b->default_result = *result;
    if (result->status == TUNE_OK && (!b->has_best || result->median_ns < b->best_result.median_ns)) {
        b->has_best = true;
        b->best = *config;
        b->best_result = *result;
    }
}

/* Times the best few of this search and the defaults again with twice the runs, in one sitting, so the winner
 * is chosen between measurements taken under the same conditions rather than at different moments of the
 * search. With --retime 0 the search's own best wins. */
static void retime(evaluator *e)
{
    tune_bucket *b = e->bucket;
    qsort(e->seen, (size_t)e->evaluations, sizeof *e->seen, by_time);
    if (e->settings->retime == 0) {
        for (int i = 0; i < e->evaluations; i++) consider(b, &e->seen[i].config, &e->seen[i].result);
        return;
    }
    tune_config chosen[16];
    int n = 0;
    bool defaults_ok = false, defaults_listed = false;
    for (int i = 0; i < e->evaluations; i++) {
        bool ok = e->seen[i].result.status == TUNE_OK;
        bool defaults = same_config(&b->space, &e->seen[i].config, &b->space.defaults);
        defaults_ok = defaults_ok || (ok && defaults);
        if (ok && n < e->settings->retime) {
            chosen[n++] = e->seen[i].config;
            defaults_listed = defaults_listed || defaults;
        }
    }
    if (defaults_ok && !defaults_listed) chosen[n++] = b->space.defaults;
    for (int i = 0; i < n && !tune_interrupted; i++) {
        tune_result result;
        bool cached = false;
        if (!evaluate(e, &chosen[i], 1, &result, &cached)) break;
        consider(b, &chosen[i], &result);
    }
}

/* ---- the run ---- */

static void print_outcome(const tune_bucket *b)
{
    char best[32], base[32] = "-", gain[16] = "-", text[512];
    if (!b->has_best) {
        printf("%-24s no configuration ran correctly (see the log)\n", b->name);
        return;
    }
    tune_format_ns(b->best_result.median_ns, best, sizeof best);
    if (b->default_result.status == TUNE_OK) {
        tune_format_ns(b->default_result.median_ns, base, sizeof base);
        snprintf(gain, sizeof gain, "x%.2f", b->default_result.median_ns / b->best_result.median_ns);
    }
    tune_config_text(&b->space, &b->best, text, sizeof text);
    printf("%-24s %12s %12s  %-6s %8.1f GB/s  %s\n", b->name, base, best, gain, b->bytes / b->best_result.median_ns,
           text);
}

bool tune_run(tune_bucket *buckets, int count, const tune_device *device, const tune_settings *settings,
              tune_log *log, tune_worker **worker)
{
    double started = tune_now();
    int remaining = 0, total = 0;
    double estimate = 0.0;
    for (int i = 0; i < count; i++)
        if (buckets[i].usable) {
            remaining++;
            total += buckets[i].planned;
            estimate += buckets[i].estimate_s;
        }
    tune_progress_plan(total, estimate);
    for (int i = 0; i < count && !tune_interrupted && *worker; i++) {
        tune_bucket *b = &buckets[i];
        if (!b->usable) continue;
        evaluator e = {b, device, settings, log, worker, {0}, 0, calloc((size_t)b->planned + 1, sizeof(visited)), 0.0,
                       false};
        if (!e.seen) {
            fprintf(stderr, "t6-tune: out of host memory\n");
            return false;
        }
        if (settings->time_limit_s > 0) {
            double left = settings->time_limit_s - (tune_now() - started);
            e.deadline = tune_now() + fmax(left, 0.0) / remaining;
        }
        remaining--;
        /* Start from the defaults, then from what won similar buckets already tuned in this run. */
        tune_config starts[TUNE_MAX_BUCKETS + 1];
        int start_count = 0;
        starts[start_count++] = b->space.defaults;
        for (int j = 0; j < i; j++)
            if (buckets[j].op == b->op && buckets[j].has_best) {
                char text[512];
                tune_config_text(&buckets[j].space, &buckets[j].best, text, sizeof text);
                if (tune_config_parse(&b->space, text, &starts[start_count]) &&
                    tune_space_contains(&b->space, &starts[start_count]))
                    start_count++;
            }
        tune_progress_begin(&e.progress, b->name, b->planned, 0.0);
        tune_search(settings->strategy, &b->space, starts, start_count, settings->seed, search_eval, &e);
        tune_progress_end(&e.progress);
        b->evaluations = e.evaluations;
        if (e.fatal)
            fprintf(stderr, "t6-tune: %s stopped: %s\n", b->name,
                    *worker ? "its problem could not be set up (see the worker's log)" : "no worker");
        else if (!tune_interrupted)
            retime(&e);
        free(e.seen);
    }
    if (tune_interrupted) return false;
    printf("\n%-24s %12s %12s  %-6s %13s  %s\n", "bucket", "default", "tuned", "gain", "bandwidth", "parameters");
    for (int i = 0; i < count; i++)
        if (buckets[i].usable) print_outcome(&buckets[i]);
    char took[32];
    tune_format_time(tune_now() - started, took, sizeof took);
    printf("tuning took %s\n", took);
    return true;
}
