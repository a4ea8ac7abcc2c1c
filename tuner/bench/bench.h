/*
 * bench.h — what t6-bench's subcommands (and t6-tune) share: timing of t6 operations through OpenCL event
 * profiling (warm-up, then the median of several runs), the device's measured ceilings (copy bandwidth, fp32
 * FMA rate, CLBlast SGEMM rate), cache flushing between timed runs, and plain-text/CSV tables.
 *
 * Uses the public header only (plus OpenCL and CLBlast directly for the ceiling probes).
 */
#ifndef T6_BENCH_H
#define T6_BENCH_H

#include <t6.h>

#include <stdio.h>

/* ---- timing ---- */

/** Device times of `runs` runs of one operation. spread = (p90 − p10) / median: above ~0.1 the figure is
 *  noisy (clock ramps, a shared device). */
typedef struct t6b_stats {
    double median_ns, min_ns, max_ns, spread;
    int runs;
} t6b_stats;

/** Enqueues ONE operation through t6 (timing is on when t6b_time calls it). May enqueue untimed work first
 *  (a cache flush) with raw OpenCL on the context's queue: only the t6 operation's kernels are timed. */
typedef t6_status (*t6b_run_fn)(void *arg);

/**
 * Turns timing on for `ctx` (and leaves it on), calls `fn` `warmup` times untimed, then `runs` times, each
 * timed with t6_context_last_op_time. A zero time is rejected (T6_ERROR_UNSUPPORTED: the driver's profiling
 * is broken) rather than turned into an infinite rate. runs must be 1..T6B_MAX_RUNS.
 */
#define T6B_MAX_RUNS 1000
t6_status t6b_time(t6_context *ctx, t6b_run_fn fn, void *arg, int warmup, int runs, t6b_stats *out);

/** The same statistics over raw OpenCL events (for work that is not a t6 operation: the ceiling probes).
 *  `enqueue` enqueues one run and sets the events of its first and last command (two references the caller
 *  releases; the same event twice, retained twice, when one command is the whole run). The run's time is from
 *  the start of the first to the end of the last. */
typedef t6_status (*t6b_enqueue_fn)(void *arg, cl_event *first, cl_event *last);
t6_status t6b_time_events(t6_context *ctx, t6b_enqueue_fn enqueue, void *arg, int warmup, int runs,
                          t6b_stats *out);

/* ---- ceilings ---- */

/** What the device measurably does at best: the fractions in benchmark tables are taken against these. */
typedef struct t6b_ceilings {
    double copy_gbps;    /**< device-to-device copy kernel, bytes read + written per second / 1e9 */
    double fma_gflops;   /**< independent fp32 FMA chains, 2 flops per FMA */
    double sgemm_gflops; /**< CLBlastSgemm, row-major, n × n × n (n = 4096; quick: 1024); 0 if CLBlast failed
                              or the tools were built without it */
    int sgemm_n;         /**< the n of sgemm_gflops */
    double launch_ns;    /**< event time of an empty kernel of one group per compute unit: the floor under any
                              kernel's measured time, so a kernel moving B bytes takes at least
                              launch_ns + B / copy_gbps */
} t6b_ceilings;

/** Measures the ceilings with small built-in probes. quick: smaller sizes (PoCL on a CPU). */
t6_status t6b_measure_ceilings(t6_context *ctx, int quick, t6b_ceilings *out);

/* ---- cache flushing ---- */

/** A buffer larger than the device's last-level cache; writing it evicts whatever an operation left there,
 *  so the next timed run reads its inputs from DRAM. */
typedef struct t6b_flush {
    cl_mem buffer;
    size_t bytes;
} t6b_flush;

/** Sizes the buffer at 4× the device's global memory cache (at least 256 MiB on GPUs, 64 MiB otherwise; at
 *  most a quarter of the largest allocation). */
t6_status t6b_flush_create(t6_context *ctx, t6b_flush *flush);
/** Enqueues a fill of the whole buffer on the context's queue (not part of any timed operation). */
t6_status t6b_flush_enqueue(t6_context *ctx, const t6b_flush *flush);
void t6b_flush_release(t6b_flush *flush);

/* ---- tables ---- */

#define T6B_MAX_COLUMNS 24

/** A table printed to stdout with right-aligned columns, and optionally to a CSV file (header + rows). */
typedef struct t6b_table {
    int columns;
    const char *names[T6B_MAX_COLUMNS];
    int widths[T6B_MAX_COLUMNS];
    FILE *csv;
} t6b_table;

/** Prints the header. `names` and `widths` have `columns` entries; a width of 0 fits the name. `csv` may be
 *  NULL; its header is written once per file (the first table written to it). */
void t6b_table_begin(t6b_table *table, int columns, const char *const *names, const int *widths, FILE *csv);
/** Prints one row of `columns` cells (already formatted). */
void t6b_table_row(const t6b_table *table, const char *const *cells);
/** Formats `value` with `decimals` decimals into a small static ring of buffers (enough for one row). */
const char *t6b_num(double value, int decimals);

/* ---- subcommands ---- */

/** Options common to every subcommand, parsed by t6-bench's main. */
#define T6B_MAX_SET_PARAMS 32
typedef struct t6b_options {
    const char *device; /**< --device: a selector as for t6_context_create (NULL: the default) */
    int quick;          /**< --quick: PoCL-sized shapes and probes */
    int verbose;        /**< --verbose: the library's log from debug up (else warnings and errors) */
    int runs;           /**< --runs: timed runs per figure (default 20; quick 5) */
    int warmup;         /**< untimed runs first (default 3; quick 1) */
    FILE *csv;          /**< --csv FILE: the rows also go there (NULL: not) */
    const char *params[T6B_MAX_SET_PARAMS]; /**< --param NAME=VALUE, already applied to the context */
    int param_count;
    t6_precision precision; /**< --precision: the context's attention mode, already applied */
} t6b_options;

/** A subcommand: parses its own arguments (argv[0] is its name), prints its table, returns the exit code. */
typedef int (*t6b_command_fn)(t6_context *ctx, const t6b_options *options, int argc, char **argv);

/** `t6-bench projection`: fused projection against the CLBlast path (bench_projection.c). */
int t6b_bench_projection(t6_context *ctx, const t6b_options *options, int argc, char **argv);
void t6b_usage_projection(FILE *out);

/** `t6-bench attention`: factorized decode and prefill against the copy bandwidth and the MHA/GQA and
 *  materialized baselines (bench_attention.c). */
int t6b_bench_attention(t6_context *ctx, const t6b_options *options, int argc, char **argv);
void t6b_usage_attention(FILE *out);

/** `t6-bench model`: per-token decode of a whole T6-medium-sized model against an MHA model of the same width,
 *  at contexts 1K..64K (bench_model.c). */
int t6b_bench_model(t6_context *ctx, const t6b_options *options, int argc, char **argv);
void t6b_usage_model(FILE *out);

/** Sets the tunable of a "NAME=VALUE" text (as --param takes it) for whichever op has a tunable of that name
 *  (t6_bench.c). T6_ERROR_INVALID_ARGUMENT for a malformed text, an unknown name or a value out of range. */
t6_status t6b_set_param(t6_context *ctx, const char *text);

/** Prints "t6-bench: <what>: <status>: <last error>" to stderr and returns 1. */
int t6b_report_failure(t6_context *ctx, const char *what, t6_status status);

#endif /* T6_BENCH_H */
