/*
 * tune.h — what t6-tune's files share (docs/TUNING.md describes the design).
 *
 * Two processes: the parent (t6_tune.c, tune_run.c, tune_strategy.c, tune_log.c, tune_profile.c) never
 * touches OpenCL; it plans, searches, logs and writes the profile. A worker (tune_worker.c, tune_ops.c), the
 * same binary started with --worker, owns the device: it builds each candidate, checks its output against the
 * double-precision reference and times it. They talk over pipes, one JSON object per line. A worker that
 * crashes or hangs costs one candidate (recorded as such) and is started again.
 *
 * Uses the public header only (plus cJSON for the log, the pipe protocol and the profile).
 */
#ifndef T6_TUNE_H
#define T6_TUNE_H

#include <t6.h>

#include <stdbool.h>
#include <stdio.h>

#define TUNE_MAX_PARAMS 24 /* tunables of one op that a space varies */
#define TUNE_MAX_VALUES 16 /* candidate values of one tunable */
#define TUNE_MAX_BUCKETS 64
#define TUNE_MAX_OP_PARAMS 24 /* every tunable of an op (the library's table) */

/* ---- ops as t6-tune sees them (tune_op_table.c; the work model in tune_ops.c) ---- */

/** The ops t6-tune can tune: the library's tunable ops, and a made-up one that needs no device (for testing
 *  t6-tune itself: strategies, crashes, resumption). */
typedef enum tune_op_id { TUNE_PROJECTION, TUNE_DECODE, TUNE_PREFILL, TUNE_SYNTHETIC, TUNE_OP_COUNT } tune_op_id;

/** A problem shape. Which fields an op reads is in tune_op_desc.features. */
typedef struct tune_shape {
    int model_dim, heads, head_dim, rank_q, rank_k, rank_v;
    t6_dtype dtype;        /* cache storage */
    t6_dtype weight_dtype; /* projection weights */
    int rows;              /* projection: tokens; prefill: new tokens per sequence */
    int batch;             /* decode and prefill: sequences */
    int length;            /* decode: context length; prefill: context length after the new tokens */
} tune_shape;

/* Shape features, named as in profile files (the library's t6i_feature names). */
enum {
    TUNE_F_MODEL_DIM = 1 << 0, TUNE_F_HEADS = 1 << 1, TUNE_F_HEAD_DIM = 1 << 2, TUNE_F_RANKS = 1 << 3,
    TUNE_F_DTYPE = 1 << 4, TUNE_F_WEIGHT_DTYPE = 1 << 5, TUNE_F_ROWS = 1 << 6, TUNE_F_BATCH = 1 << 7,
    TUNE_F_LENGTH = 1 << 8
};

typedef struct tune_op_desc {
    const char *name; /* as t6_op_name, or "synthetic" */
    t6_op op;         /* T6_OP_COUNT for the synthetic op */
    unsigned features; /* the shape features the library's op matches buckets on */
} tune_op_desc;

const tune_op_desc *tune_op(tune_op_id id);
bool tune_op_by_name(const char *name, tune_op_id *id);

/** Bytes an op moves and flops it does for one call of `shape` (a lower bound: what any kernel must do).
 *  Used for GB/s figures, time estimates and rejecting times faster than the device can be. */
void tune_op_work(tune_op_id id, const tune_shape *shape, double *bytes, double *flops);

/** Writes the shape's features of `id` as "name=value" pairs joined by ',' (the bucket key). */
void tune_shape_key(tune_op_id id, const tune_shape *shape, char *buf, size_t cap);

/* ---- devices, as the worker reports them ---- */

typedef struct tune_device {
    t6_device_info info;
    unsigned long long cache_bytes; /* CL_DEVICE_GLOBAL_MEM_CACHE_SIZE */
    double copy_gbps, fma_gflops;   /* measured ceilings */
    unsigned vector_width;          /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT */
    char hashes[T6_OP_COUNT + 1][17];
} tune_device;

/* ---- search spaces (tune_spaces.c) ---- */

typedef struct tune_param {
    const char *name;
    int count;
    int values[TUNE_MAX_VALUES];
} tune_param;

/** A configuration: for each parameter of the space, the index of its value. */
typedef struct tune_config {
    unsigned char index[TUNE_MAX_PARAMS];
} tune_config;

/** A space after pruning for one device and one bucket: every valid configuration, in enumeration order. */
typedef struct tune_space {
    tune_op_id op;
    int param_count;
    tune_param params[TUNE_MAX_PARAMS];
    long long full_size;      /* the product of the value counts, before constraints */
    int size;                 /* valid configurations */
    unsigned long long *keys; /* sorted mixed-radix keys of the valid configurations */
    tune_config defaults;     /* the built-in defaults (or the nearest valid configuration) */
    char pruned_by[256];      /* the constraints that removed configurations, for the plan table */
} tune_space;

/** Builds the space of `op` for `shape` on `device`. Parameters of the space that the library's table of
 *  the op lacks are an error (a space out of step with the kernels); the message goes to `error`. */
bool tune_space_build(tune_op_id op, const tune_shape *shape, const tune_device *device, tune_space *space,
                      char *error, size_t error_cap);
void tune_space_free(tune_space *space);
unsigned long long tune_config_key(const tune_space *space, const tune_config *config);
tune_config tune_config_from_key(const tune_space *space, unsigned long long key);
bool tune_space_contains(const tune_space *space, const tune_config *config);
int tune_config_value(const tune_space *space, const tune_config *config, int param);
/** "NAME=value NAME=value" for messages. */
void tune_config_text(const tune_space *space, const tune_config *config, char *buf, size_t cap);
/** The configuration tune_config_text wrote, if every value is one of the space's candidates. */
bool tune_config_parse(const tune_space *space, const char *text, tune_config *out);

/** Derived parameters for a vendor's GPUs (untuned profiles): the op's space parameters and the value each
 *  gets from the SIMD width of the vendor ("nvidia", "amd", "intel") or of one of its families ("amd/gfx11":
 *  RDNA's wavefront of 32). False for an unknown vendor or family or an op without a derivation. */
bool tune_space_vendor_defaults(tune_op_id op, const char *vendor, const char **names, int *values, int *count);

/* ---- evaluation (tune_run.c) and strategies (tune_strategy.c) ---- */

/** What evaluating one configuration gave. */
typedef enum tune_status {
    TUNE_OK, TUNE_WRONG, TUNE_BUILD, TUNE_INVALID, TUNE_LAUNCH, TUNE_ERROR, TUNE_BROKEN, TUNE_CRASH, TUNE_HANG,
    TUNE_LOST, TUNE_STATUS_COUNT
} tune_status;
const char *tune_status_name(tune_status status);
bool tune_status_from_name(const char *name, tune_status *status);

typedef struct tune_result {
    tune_status status;
    double median_ns, min_ns, max_ns, spread, error;
    int runs;
    bool problem_failed; /* the bucket's inputs could not be made: no candidate of it can run */
    double seconds;      /* wall time of the whole evaluation (compile, check, timing), in the parent */
    char message[256];
} tune_result;

/** Set by t6-tune's SIGINT handler: the candidate in flight is abandoned (not recorded) and the run stops. */
extern volatile int tune_interrupted;

/** The strategies' view of evaluation: returns the time in ns (INFINITY for a failed candidate) and sets
 *  *uncertainty to how far off that time may be, as a fraction of it (the standard error of a median of n runs,
 *  about (p90 − p10)/(2√n) relative to it: for normal noise p90 − p10 = 2.56σ and the error is 1.25σ/√n; 0 for
 *  an exact time); sets *stop when the budget or the time is used up (the strategy must return then). */
typedef double (*tune_eval_fn)(void *evaluator, const tune_config *config, double *uncertainty, bool *stop);

typedef enum tune_strategy { TUNE_LOCAL, TUNE_RANDOM, TUNE_EXHAUSTIVE } tune_strategy;
const char *tune_strategy_name(tune_strategy strategy);
bool tune_strategy_from_name(const char *name, tune_strategy *strategy);

/** Runs `strategy` over `space` from `starts` (the defaults first, then e.g. winners of similar buckets).
 *  Deterministic for a seed and the same evaluation results, which is what lets --resume replay a run. */
void tune_search(tune_strategy strategy, const tune_space *space, const tune_config *starts, int start_count,
                 unsigned long long seed, tune_eval_fn eval, void *evaluator);

/* ---- the result log (tune_log.c) ---- */

typedef struct tune_log tune_log;

/** Opens `path` for appending; with resume, first reads what an earlier run recorded (a truncated last line
 *  is ignored). A log written for another device identity or driver is refused; results of ops whose kernel
 *  sources changed since are not reused. */
tune_log *tune_log_open(const char *path, bool resume, const tune_device *device, const char *settings_json,
                        char *error, size_t error_cap);
void tune_log_close(tune_log *log);
/** The recorded result of (bucket, configuration as tune_config_text writes it, phase) or NULL. phase 0: the
 *  search, 1: re-timing of the best. */
const tune_result *tune_log_find(const tune_log *log, const char *bucket, const char *config, int phase);
/** How many times a candidate was started without a result (a run died while it ran). */
int tune_log_unfinished(const tune_log *log, const char *bucket, const char *config, int phase);
/** Appends "started" / a result, flushed to disk at once. */
void tune_log_start(tune_log *log, const char *bucket, const tune_space *space, const tune_config *config, int phase);
void tune_log_result(tune_log *log, const char *bucket, const tune_space *space, const tune_config *config, int phase,
                     const tune_result *result);
/** Calls `visit` for every result of `bucket` in `phase`, in the order they were recorded. */
typedef void (*tune_log_visit_fn)(void *arg, const char *config, const tune_result *result);
void tune_log_each(const tune_log *log, const char *bucket, int phase, tune_log_visit_fn visit, void *arg);

/* ---- the worker (tune_worker.c: both sides of the pipe) ---- */

typedef struct tune_worker tune_worker;

typedef struct tune_worker_options {
    const char *program;  /* argv[0]-style path of t6-tune itself */
    const char *device;   /* selector, or NULL */
    const char *stderr_path; /* where the worker's log goes */
    double timeout_s;     /* watchdog per candidate */
    bool flush;           /* flush the device cache between timed runs */
    bool verbose;
    t6_precision precision; /* the attention ops' mode: candidates are run and verified in it */
} tune_worker_options;

/** Starts a worker and waits for its hello (device description, hashes, ceilings, measured once and passed to
 *  later workers). NULL with the reason in `error`. */
tune_worker *tune_worker_start(const tune_worker_options *options, const tune_device *known, tune_device *device,
                               char *error, size_t error_cap);
/** Evaluates one candidate: compile, verify, time. Restarts the worker after a crash, a hang or a failure
 *  that may have poisoned its context. */
void tune_worker_evaluate(tune_worker **worker, const tune_worker_options *options, const tune_device *device,
                          tune_op_id op, const tune_shape *shape, const tune_space *space, const tune_config *config,
                          int warmup, int runs, tune_result *result);
void tune_worker_stop(tune_worker *worker);
/** The worker process's main loop (t6-tune --worker). ceilings: "COPY_GBPS,FMA_GFLOPS" already measured, or
 *  NULL to measure them. */
int tune_worker_main(const char *device, bool flush, const char *ceilings, t6_precision precision);

/** The bound a candidate's output must meet (TPA.md): 1e-4 of max|ref| in strict mode and for every op but
 *  attention; in fast mode 1e-3 for fp32 and fp16 caches, 5e-3 for bf16. */
double tune_tolerance(t6_precision precision, tune_op_id op, t6_dtype cache_dtype);

/* ---- worker side: problems (tune_ops.c) ---- */

typedef struct tune_problem tune_problem;
/** Builds the inputs and the reference of one call of `op`. */
t6_status tune_problem_create(t6_context *ctx, tune_op_id op, const tune_shape *shape, tune_problem **out,
                              char *message, size_t cap);
void tune_problem_destroy(tune_problem *problem);
/** Runs the op once with the context's current parameters and checks output, guards and NaN/Inf; then times
 *  it. `names`/`values`: every tunable of the op (the synthetic op reads them). */
void tune_problem_evaluate(tune_problem *problem, t6_context *ctx, const char *const *names, const int *values,
                           int count, int warmup, int runs, bool flush, tune_result *result);

/* ---- progress (tune_progress.c) ---- */

typedef struct tune_progress {
    bool terminal;
    double started, last_draw;
    char bucket[96];
    int done, planned;
    double best_ns, default_ns;
} tune_progress;

/** The whole run's planned evaluations, for the time left. */
void tune_progress_plan(int total_evaluations, double estimate_s);
/** A bucket starts: up to `planned` evaluations; default_ns 0 when the defaults are not timed yet. */
void tune_progress_begin(tune_progress *progress, const char *bucket, int planned, double default_ns);
/** One evaluation is done (`cached`: answered from the log, `seconds` it took otherwise). */
void tune_progress_update(tune_progress *progress, const char *config_text, const tune_result *result, bool cached,
                          double seconds);
void tune_progress_end(tune_progress *progress);
double tune_now(void);
void tune_format_time(double seconds, char *buf, size_t cap);
void tune_format_ns(double ns, char *buf, size_t cap);

/* ---- a run (tune_run.c) ---- */

typedef struct tune_settings {
    tune_strategy strategy;
    int budget;          /* evaluations per bucket (not for exhaustive) */
    double time_limit_s; /* the whole run; 0: none */
    unsigned long long seed;
    int warmup, runs;    /* per evaluation; re-timing uses twice the runs */
    int retime;          /* how many of the best are timed again */
    tune_worker_options worker;
} tune_settings;

typedef struct tune_bucket {
    tune_op_id op;
    char name[64];  /* "medium decode long" */
    tune_shape shape;
    /* planned */
    char key[256];  /* op and shape features: what the log and the profile know the bucket by */
    tune_space space;
    bool usable;
    char note[256]; /* why not usable */
    int planned;
    double estimate_s, bytes, flops;
    /* outcome */
    int evaluations;
    bool has_best;
    tune_config best;
    tune_result best_result, default_result; /* re-timed */
} tune_bucket;

/** Builds and prunes every bucket's space and estimates its cost. */
void tune_plan(tune_bucket *buckets, int count, const tune_device *device, const tune_settings *settings);
void tune_plan_print(const tune_bucket *buckets, int count, const tune_settings *settings);
/** Tunes every usable bucket, prints the outcome table. False when interrupted. */
bool tune_run(tune_bucket *buckets, int count, const tune_device *device, const tune_settings *settings,
              tune_log *log, tune_worker **worker);

/* ---- profiles (tune_profile.c) ---- */

/** Writes the profile of the tuned buckets, every logged result included; merges in the buckets of a fresh
 *  profile of the same device already at `path` that this run did not tune. */
bool tune_profile_write(const char *path, const tune_device *device, const tune_settings *settings,
                        double duration_s, const tune_bucket *buckets, int count, const tune_log *log, char *error,
                        size_t error_cap);
/** An untuned vendor-default profile with one shape-less bucket per op (t6-tune --derive VENDOR[/FAMILY]). */
bool tune_profile_write_vendor(const char *path, const char *vendor, char *error, size_t error_cap);
/** The file name t6-tune gives a device's profile: "<vendor>-<name>.json", lowercase, [a-z0-9-] only. */
void tune_profile_file_name(const t6_device_info *info, char *buf, size_t cap);
/** Where t6-tune writes a device's profile by default: the user folder the library reads. */
void tune_profile_default_path(const t6_device_info *info, char *buf, size_t cap);

/* ---- files t6-tune reads (tune_profile.c) ---- */

/** The whole file at `path` through the library's reader (t6_read_file): a FIFO, a device or a folder is refused
 *  at once, never waited on. NULL with *missing set when nothing is at `path`; NULL with the reason in `error`
 *  when it cannot be read. Release the text with t6_free. `what` names the file in the message ("log"). */
char *tune_read_file(const char *path, const char *what, bool *missing, char *error, size_t error_cap);
/** Whether what is at `path` may be replaced by a file t6-tune writes: nothing, or a regular file. Otherwise
 *  false, with the reason in `error` (a FIFO there would take what t6-tune writes, or hold it up). */
bool tune_writable_path(const char *path, const char *what, char *error, size_t error_cap);

/* ---- modes that tune nothing (tune_check.c) ---- */

/** t6-tune --check FILE: every bucket of a profile, once, through a worker. Exit code. */
int tune_check_main(const char *path, const tune_settings *settings);
/** t6-tune --export FILE. Exit code. */
int tune_export_main(const char *device, const char *output, const char *destination);

#endif /* T6_TUNE_H */
