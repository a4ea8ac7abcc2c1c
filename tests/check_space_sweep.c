/* check_space_sweep.c — every configuration of every op's tuning space computes what the double-precision
 * reference computes (issue 17), on the test device at small odd shapes, in both precision modes.
 *
 * The spaces are t6-tune's own: tuner/tune/tune_spaces.c, enumerated and pruned for this device by tune_space_build, as
 * t6-tune does before it tunes a bucket. Kernels 3 and 4 are GPU kernels, which t6-tune enumerates only for a GPU
 * (kernel 3 as the decode space's KERNEL 0, "by device" on a GPU that is not NVIDIA's; kernel 4 on NVIDIA's): the sweep
 * enumerates those spaces for this device described as such a GPU and runs their configurations as KERNEL 3 and 4, the
 * tensor-core instructions emulated (MMA 2) off NVIDIA GPUs. The baselines (MHA decode and prefill, the materialized
 * method), which t6-tune does not tune, get grids declared here.
 *
 * Each view (one kernel of one op's space, or a baseline's grid) groups its configurations by the program they
 * build (the values of the tunables that the kernel's source names, which become its build options); groups take
 * the op's shapes in turn, so that every cache type and geometry meets every value and no program is built twice
 * (a PoCL build takes 1-5 s, 25-30 s for kernel 4's emulation). Every
 * configuration runs in strict and fast mode, on flat queries and on queries with A_Q × 32 (TPA.md's peaked
 * inputs), with NaN in every output element beforehand, and is checked against the reference through the
 * suites' helpers (problem_check_rows, projection_check, kv_check_*): relative error within TPA.md's bound of the
 * mode, nothing left unwritten, nothing written past the call's rows or outside its cache positions.
 *
 * By default each view runs a sample of one or two program groups drawn with the run's seed (T6_TEST_SEED; the
 * sample's configurations are printed), none of kernel 4's, whose builds would double the sample's time.
 * T6_SWEEP=list prints the sample without running it; T6_SWEEP=full runs every configuration (the CTest label
 * `sweep`: `ctest -C sweep -L sweep`; docs/TUNING.md says how long each takes). */
#include "attention_problem.h"
#include "kv_problem.h"
#include "projection_problem.h"
#include "tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_SHAPES = 3, MAX_CONFIGS = 1 << 14, LABEL = 1024 };

/* ---- the shapes ---- */

/* Odd heads (17: a group of 16 heads leaves one over), head dimensions that are not powers of two, ranks above 1
 * and unequal, an fp16 and a bf16 cache; and the paper's ranks 16/1/1, at which PoCL 3.1 miscompiled kernel 1
 * before its barrier fix (issue 17; it shows at 17 heads and D=64 too). The shapes of an op have the same heads
 * and rows; its space depends on them and the device, and where a planner lowers a value to fit (kernel 3's tile
 * at the ranks of the first shape) on D and the ranks too: a configuration runs at the shapes whose space holds
 * it. */
enum { ATTENTION_SHAPES = 3, LAYER_SHAPES = 2, KV_SHAPES = 2 };
static const struct {
    t6_ref_shape ref;
    t6_dtype dtype;
} attention_shapes[ATTENTION_SHAPES] = {
    {{17, 80, 3, 2, 3}, T6_F16}, {{17, 96, 2, 3, 2}, T6_BF16}, {{17, 64, 16, 1, 1}, T6_F16}};
/* Decode: two sequences of different lengths. Prefill: the last 9 positions of the first, the first 7 of the
 * second (rows 9 is the space's shape). */
enum { WRITTEN0 = 70, WRITTEN1 = 33, PREFILL_ROWS = 16 };
static const int decode_slots[2] = {0, 1}, decode_lengths[2] = {WRITTEN0, WRITTEN1};
static const int prefill_starts[2] = {WRITTEN0 - 9, 0}, prefill_counts[2] = {9, 7};

/* The projection: weights and cache in fp16, then in bf16; 7 rows (one group of the rows kernel) and 17 (one
 * more than the rows kernel takes: the tiles kernel's space; taller tiles than 32 rows enter it at 33 and 65). */
static const t6_layer_config layer_shapes[LAYER_SHAPES] = {
    {sizeof(t6_layer_config), 100, 17, 80, 3, 2, 3, T6_ROPE_HALF, 10000.0f, T6_F16},
    {sizeof(t6_layer_config), 100, 17, 96, 2, 3, 2, T6_ROPE_HALF, 10000.0f, T6_BF16}};
enum { ROWS_FEW = 7, ROWS_MANY = 17, PROJECTION_SLOTS = 2, PROJECTION_CAPACITY = 20 };

/* MHA: 9 query heads over 3 kv heads. */
static const struct {
    int kv_heads, heads, head_dim;
    t6_dtype dtype;
} kv_shapes[KV_SHAPES] = {{3, 9, 80, T6_F16}, {3, 9, 96, T6_BF16}};
static const int mha_starts[2] = {40, 0}, mha_counts[2] = {30, 9};

/* ---- the baselines' grids ---- */

/* A grid: every combination of its values, less those `valid` refuses (parameters a kernel ignores keep their
 * first value, as in t6-tune's spaces; combinations mha.c refuses at every call). */
typedef struct grid {
    t6_op op;
    int count;
    tune_param params[TUNE_MAX_PARAMS];
    bool (*valid)(const int *values);
} grid;

#define PARAM(name, ...)                                                                                         \
    {                                                                                                            \
        name, sizeof((int[]){__VA_ARGS__}) / sizeof(int), { __VA_ARGS__ }                                        \
    }

enum { MHD_KERNEL, MHD_VEC, MHD_WG_SIZE, MHD_UNROLL, MHD_KV_BLOCK, MHD_HEAD_BLOCK, MHD_HALF_MATH, MHD_GROUPS };
/* Kernel 2 (rows per work-item) runs one work-item per group. */
static bool mha_decode_valid(const int *v) { return v[MHD_KERNEL] == 1 || v[MHD_WG_SIZE] == 32; }
/* Every load width, groups smaller and larger than a head's lanes, one and three kv heads per group, one and two
 * query heads per block (9 / 3 = 3: a partial block), both fp16 conversions, one split and many (SPLIT_MIN 16). */
static const grid mha_decode_grid = {
    T6_OP_MHA_DECODE,
    9,
    {PARAM("T6_MHD_KERNEL", 1, 2), PARAM("T6_MHD_VEC", 2, 4, 8, 16), PARAM("T6_MHD_WG_SIZE", 32, 256),
     PARAM("T6_MHD_UNROLL", 1, 3), PARAM("T6_MHD_KV_BLOCK", 0, 1), PARAM("T6_MHD_HEAD_BLOCK", 1, 2),
     PARAM("T6_MHD_HALF_MATH", 0, 1), PARAM("T6_MHD_GROUPS_PER_CU", 1, 64), PARAM("T6_MHD_SPLIT_MIN", 16)},
    mha_decode_valid,
};

enum { MHP_KERNEL, MHP_QUERIES, MHP_KEYS, MHP_THREAD_QUERIES, MHP_COLUMNS, MHP_VEC };
/* Kernel 1 (work-group tiles) ignores VEC; kernel 2 (rows per work-item) THREAD_QUERIES and COLUMNS, and takes
 * at most 4096 values of a key tile (mha.c): KEYS × the larger head dimension. */
static bool mha_prefill_valid(const int *v)
{
    if (v[MHP_KERNEL] == 1) return v[MHP_VEC] == 2;
    return v[MHP_THREAD_QUERIES] == 1 && v[MHP_COLUMNS] == 8 && v[MHP_KEYS] * kv_shapes[1].head_dim <= 4096;
}
static const grid mha_prefill_grid = {
    T6_OP_MHA_PREFILL,
    6,
    {PARAM("T6_MHP_KERNEL", 1, 2), PARAM("T6_MHP_QUERIES", 8, 32, 64), PARAM("T6_MHP_KEYS", 16, 32, 64),
     PARAM("T6_MHP_THREAD_QUERIES", 1, 2, 4), PARAM("T6_MHP_COLUMNS", 8, 16), PARAM("T6_MHP_VEC", 2, 4, 8, 16)},
    mha_prefill_valid,
};

/* Kernel 3 of the MHA prefill (tensor cores, mha_mma.cl) on its emulation, which compiles for ~10 s a program on
 * PoCL: four configurations that between them take every stage length, the shallowest and deepest pipelines and
 * 1 to 8 warps (a work-group's vectors in one warp, across warps, and past the prompt); the view runs each in
 * both precision modes. */
enum { MHPM_KERNEL, MHPM_MMA, MHPM_STAGE, MHPM_STAGES, MHPM_WARPS };
static bool mha_prefill_mma_valid(const int *v)
{
    static const int chosen[4][3] = {{16, 4, 2}, {32, 2, 1}, {32, 3, 4}, {64, 2, 8}};
    for (int i = 0; i < 4; i++)
        if (v[MHPM_STAGE] == chosen[i][0] && v[MHPM_STAGES] == chosen[i][1] && v[MHPM_WARPS] == chosen[i][2])
            return true;
    return false;
}
static const grid mha_prefill_mma_grid = {
    T6_OP_MHA_PREFILL,
    5,
    {PARAM("T6_MHP_KERNEL", 3), PARAM("T6_MHP_MMA", 2), PARAM("T6_MHP_STAGE", 16, 32, 64),
     PARAM("T6_MHP_STAGES", 2, 3, 4), PARAM("T6_MHP_WARPS", 1, 2, 4, 8)},
    mha_prefill_mma_valid,
};

/* The materialize kernel: one work-item per group up to the largest group, heads formed one at a time up to all. */
static const grid materialize_grid = {
    T6_OP_MATERIALIZE,
    2,
    {PARAM("T6_MAT_WG_SIZE", 1, 32, 64, 256, 1024), PARAM("T6_MAT_HEAD_CHUNK", 1, 3, 8, 64)},
    NULL,
};

/* ---- views ---- */

typedef enum run_kind {
    RUN_PROJECTION, RUN_DECODE, RUN_PREFILL, RUN_MHA_DECODE, RUN_MHA_PREFILL, RUN_MATERIALIZED
} run_kind;

typedef struct view {
    const char *name; /* also the TCase's, so CK_RUN_CASE=name runs this view alone */
    run_kind run;
    /* a space of t6-tune: */
    tune_op_id op;
    int kernel;            /* the space's KERNEL value the view keeps; -1: all of the space */
    const char *as_gpu_of; /* enumerate for this device described as a GPU of this vendor; NULL: as it is */
    int run_kernel;        /* run with this KERNEL instead of the space's value; 0: the space's */
    const char *mma;       /* the op's tensor-core switch: 1 (tensor cores) runs emulated (2) off NVIDIA GPUs */
    const char *source;    /* the kernel source whose tunables become build options */
    /* or a baseline's grid: */
    const grid *grid;
    int sample; /* program groups in the default run */
} view;

static const view views[] = {
    {"projection_rows", RUN_PROJECTION, TUNE_PROJECTION, -1, NULL, 0, NULL, "projection", NULL, 1},
    {"projection_tiles", RUN_PROJECTION, TUNE_PROJECTION, -1, NULL, 0, NULL, "projection", NULL, 1},
    {"decode_kernel1", RUN_DECODE, TUNE_DECODE, 1, NULL, 0, NULL, "attention", NULL, 2},
    {"decode_kernel2", RUN_DECODE, TUNE_DECODE, 2, NULL, 0, NULL, "attention_vector", NULL, 1},
    {"decode_kernel3", RUN_DECODE, TUNE_DECODE, 0, "amd", 3, "T6_DEC_MMA", "attention_decode", NULL, 2},
    {"decode_kernel4", RUN_DECODE, TUNE_DECODE, 4, "nvidia", 0, "T6_DEC_MMA", "attention_mma", NULL, 0},
    {"prefill_kernel1", RUN_PREFILL, TUNE_PREFILL, 1, NULL, 0, NULL, "attention", NULL, 2},
    {"prefill_kernel2", RUN_PREFILL, TUNE_PREFILL, 2, NULL, 0, NULL, "attention_vector", NULL, 1},
    {"prefill_kernel4", RUN_PREFILL, TUNE_PREFILL, 4, "nvidia", 0, "T6_PRE_MMA", "attention_mma", NULL, 0},
    {"mha_decode", RUN_MHA_DECODE, TUNE_OP_COUNT, -1, NULL, 0, NULL, NULL, &mha_decode_grid, 2},
    {"mha_prefill", RUN_MHA_PREFILL, TUNE_OP_COUNT, -1, NULL, 0, NULL, NULL, &mha_prefill_grid, 2},
    {"mha_prefill_mma", RUN_MHA_PREFILL, TUNE_OP_COUNT, -1, NULL, 0, NULL, NULL, &mha_prefill_mma_grid, 0},
    {"materialized", RUN_MATERIALIZED, TUNE_OP_COUNT, -1, NULL, 0, NULL, NULL, &materialize_grid, 1},
};
enum { VIEWS = sizeof views / sizeof views[0] };

static int shape_count(const view *v)
{
    return v->run == RUN_PROJECTION ? LAYER_SHAPES
           : v->run == RUN_MHA_DECODE || v->run == RUN_MHA_PREFILL ? KV_SHAPES
                                                                   : ATTENTION_SHAPES;
}

/* T6_SWEEP: unset, the sample; "full", every configuration; "list", the sample's configurations, not run. */
static bool sweep_mode(const char *name)
{
    const char *mode = getenv("T6_SWEEP");
    return mode && strcmp(mode, name) == 0;
}

/* ---- enumeration ---- */

/* The tunables a view varies (a space's or a grid's) and its configurations. */
typedef struct config {
    int values[TUNE_MAX_PARAMS];
    unsigned shapes;           /* bit s: shape s admits it (its space at that shape holds it) */
    unsigned long long program; /* hash of the values that become build options */
    int shape;                 /* the shape it runs at */
} config;

typedef struct sweep {
    const view *view;
    int param_count;
    tune_param params[TUNE_MAX_PARAMS];
    t6_op op;
    int space_size[MAX_SHAPES]; /* t6-tune's space at each shape, every kernel */
    int count;
    config *configs;
} sweep;

static tune_shape space_shape(const view *v, int s)
{
    tune_shape shape;
    memset(&shape, 0, sizeof shape);
    if (v->run == RUN_PROJECTION) {
        const t6_layer_config *c = &layer_shapes[s];
        shape = (tune_shape){c->model_dim, c->heads, c->head_dim, c->rank_q, c->rank_k, c->rank_v, c->weight_dtype,
                             c->weight_dtype, strcmp(v->name, "projection_rows") == 0 ? ROWS_FEW : ROWS_MANY, 1, 1};
    } else {
        const t6_ref_shape *r = &attention_shapes[s].ref;
        shape = (tune_shape){0, r->heads, r->head_dim, r->rank_q, r->rank_k, r->rank_v, attention_shapes[s].dtype,
                             T6_F32, v->run == RUN_PREFILL ? prefill_counts[0] : 1, 2, WRITTEN0};
    }
    return shape;
}

static int param_index(const sweep *w, const char *name)
{
    for (int i = 0; i < w->param_count; i++)
        if (strcmp(w->params[i].name, name) == 0) return i;
    return -1;
}

/* Adds configuration `values` admitted by shape `s`, or marks the one already there. */
static void add_config(sweep *w, const int *values, int s)
{
    for (int i = 0; i < w->count; i++)
        if (memcmp(w->configs[i].values, values, sizeof w->configs[i].values) == 0) {
            w->configs[i].shapes |= 1u << s;
            return;
        }
    ck_assert_int_lt(w->count, MAX_CONFIGS);
    config *c = &w->configs[w->count++];
    memset(c, 0, sizeof *c);
    memcpy(c->values, values, sizeof c->values);
    c->shapes = 1u << s;
}

static void enumerate_space(sweep *w, t6_context *ctx)
{
    const view *v = w->view;
    tune_device device;
    memset(&device, 0, sizeof device);
    device.info = (t6_device_info)T6_DEVICE_INFO_INIT;
    T6T_OK(ctx, t6_context_device_info(ctx, &device.info));
    if (v->as_gpu_of) {
        device.info.is_gpu = 1;
        snprintf(device.info.normalized_vendor, sizeof device.info.normalized_vendor, "%s", v->as_gpu_of);
    }
    w->op = tune_op(v->op)->op;
    for (int s = 0; s < shape_count(v); s++) {
        const tune_shape shape = space_shape(v, s);
        tune_space space;
        char error[512];
        ck_assert_msg(tune_space_build(v->op, &shape, &device, &space, error, sizeof error), "%s: %s", v->name, error);
        w->space_size[s] = space.size;
        w->param_count = space.param_count;
        memcpy(w->params, space.params, sizeof w->params);
        const int kernel = v->kernel >= 0 ? param_index(w, tune_op(v->op)->op == T6_OP_DECODE ? "T6_DEC_KERNEL"
                                                                                               : "T6_PRE_KERNEL")
                                          : -1;
        for (int k = 0; k < space.size; k++) {
            const tune_config cfg = tune_config_from_key(&space, space.keys[k]);
            int values[TUNE_MAX_PARAMS] = {0};
            for (int i = 0; i < space.param_count; i++) values[i] = tune_config_value(&space, &cfg, i);
            if (kernel < 0 || values[kernel] == v->kernel) add_config(w, values, s);
        }
        tune_space_free(&space);
    }
}

static void enumerate_grid(sweep *w)
{
    const grid *g = w->view->grid;
    w->op = g->op;
    w->param_count = g->count;
    memcpy(w->params, g->params, sizeof w->params);
    long long total = 1;
    for (int i = 0; i < g->count; i++) total *= g->params[i].count;
    for (long long key = 0; key < total; key++) {
        int values[TUNE_MAX_PARAMS] = {0};
        long long rest = key;
        for (int i = g->count - 1; i >= 0; i--) {
            values[i] = g->params[i].values[rest % g->params[i].count];
            rest /= g->params[i].count;
        }
        if (!g->valid || g->valid(values))
            for (int s = 0; s < shape_count(w->view); s++) add_config(w, values, s);
    }
    for (int s = 0; s < shape_count(w->view); s++) w->space_size[s] = w->count;
}

/* FNV-1a over the values of the tunables that `source` names (every tunable for a grid: mha.c picks its build
 * options itself). */
static unsigned long long program_key(const sweep *w, const config *c)
{
    size_t length = 0;
    const char *text = w->view->source ? t6i_embedded_source(w->view->source, &length) : NULL;
    unsigned long long h = 1469598103934665603ull;
    for (int i = 0; i < w->param_count; i++) {
        if (text && !t6i_source_mentions(text, length, w->params[i].name)) continue;
        h = (h ^ (unsigned)c->values[i]) * 1099511628211ull;
        h = (h ^ (unsigned)i) * 1099511628211ull;
    }
    return h;
}

static int by_program(const void *a, const void *b)
{
    const config *x = a, *y = b;
    if (x->program != y->program) return x->program < y->program ? -1 : 1;
    return memcmp(x->values, y->values, sizeof x->values);
}

/* Groups the configurations by program and gives each group a shape, in turn among those that admit it. Returns
 * the number of groups; first[g] is where group g starts (first[groups] == count). */
static int group_configs(sweep *w, int *first)
{
    for (int i = 0; i < w->count; i++) w->configs[i].program = program_key(w, &w->configs[i]);
    qsort(w->configs, (size_t)w->count, sizeof *w->configs, by_program);
    const int shapes = shape_count(w->view);
    int groups = 0;
    for (int i = 0; i < w->count; i++) {
        if (i == 0 || w->configs[i].program != w->configs[i - 1].program) first[groups++] = i;
        int shape = (groups - 1) % shapes;
        while (!(w->configs[i].shapes & (1u << shape))) shape = (shape + 1) % shapes;
        w->configs[i].shape = shape;
    }
    first[groups] = w->count;
    return groups;
}

/* ---- running one configuration ---- */

typedef struct bench {
    t6_context *ctx;
    int mma; /* what MMA 1 runs as: 1 on NVIDIA GPUs, else 2 (emulated) */
    problem attention[ATTENTION_SHAPES];
    projection_problem projection[LAYER_SHAPES];
    t6_layer *layer[LAYER_SHAPES];
    t6_cache *projection_cache[LAYER_SHAPES];
    kv_case kv[KV_SHAPES];
} bench;

static void bench_open(bench *b, const view *v)
{
    memset(b, 0, sizeof *b);
    b->ctx = t6t_context();
    t6_device_info info = T6_DEVICE_INFO_INIT;
    T6T_OK(b->ctx, t6_context_device_info(b->ctx, &info));
    b->mma = info.is_gpu && strcmp(info.normalized_vendor, "nvidia") == 0 ? 1 : 2;
    for (int s = 0; s < shape_count(v); s++) switch (v->run) {
        case RUN_PROJECTION: {
            const int rows = strcmp(v->name, "projection_rows") == 0 ? ROWS_FEW : ROWS_MANY;
            b->projection[s] = projection_problem_make(layer_shapes[s], rows, 17000 + (uint64_t)s);
            /* Rows over both slots, two positions apart: a row written one position off lands on a sentinel. */
            for (int r = 0; r < rows; r++) {
                b->projection[s].slots[r] = r % PROJECTION_SLOTS;
                b->projection[s].positions[r] = 1 + 2 * (r / PROJECTION_SLOTS);
            }
            b->layer[s] = projection_layer(b->ctx, &b->projection[s]);
            b->projection_cache[s] = projection_cache(b->ctx, &layer_shapes[s], PROJECTION_SLOTS,
                                                      PROJECTION_CAPACITY, layer_shapes[s].weight_dtype);
            break;
        }
        case RUN_MHA_DECODE:
        case RUN_MHA_PREFILL:
            kv_case_open(&b->kv[s], b->ctx, kv_shapes[s].kv_heads, kv_shapes[s].head_dim, 2, WRITTEN0,
                         kv_shapes[s].dtype);
            kv_case_fill(&b->kv[s], 0, 0, WRITTEN0, 17100 + (uint64_t)s);
            kv_case_fill(&b->kv[s], 1, 0, WRITTEN1, 17110 + (uint64_t)s);
            break;
        default: {
            const int written[2] = {WRITTEN0, WRITTEN1};
            problem_make(&b->attention[s], b->ctx, attention_shapes[s].ref, attention_shapes[s].dtype, 2, WRITTEN0,
                         written, PREFILL_ROWS, 17200 + (uint64_t)s);
        }
        }
}

static void bench_close(bench *b, const view *v)
{
    for (int s = 0; s < shape_count(v); s++) switch (v->run) {
        case RUN_PROJECTION:
            t6_cache_destroy(b->projection_cache[s]);
            t6_layer_destroy(b->layer[s]);
            projection_problem_free(&b->projection[s]);
            break;
        case RUN_MHA_DECODE:
        case RUN_MHA_PREFILL: kv_case_close(&b->kv[s]); break;
        default: problem_free(&b->attention[s]);
        }
    t6_context_destroy(b->ctx);
}

static void set_param(t6_context *ctx, t6_op op, const char *name, int value, const char *label)
{
    const t6_status status = t6_context_set_param(ctx, op, name, value);
    ck_assert_msg(status == T6_SUCCESS, "%s: %s=%d: %s", label, name, value, t6_context_last_error(ctx));
}

/* As t6-tune's worker: every tunable of the op at its table default, then the configuration's values, so that
 * neither a profile nor the device's own defaults change what runs. */
static void apply(const bench *b, const sweep *w, const config *c, const char *label)
{
    const view *v = w->view;
    T6T_OK(b->ctx, t6_context_clear_params(b->ctx, T6_OP_COUNT));
    for (int i = 0; i < t6_op_param_count(w->op); i++) {
        t6_param_info info;
        T6T_OK(NULL, t6_op_param_info(w->op, i, &info));
        set_param(b->ctx, w->op, info.name, info.default_value, label);
    }
    for (int i = 0; i < w->param_count; i++) {
        const char *name = w->params[i].name;
        int value = c->values[i];
        if (v->run_kernel && strstr(name, "_KERNEL")) value = v->run_kernel;
        if (v->mma && strcmp(name, v->mma) == 0 && value == 1) value = b->mma;
        set_param(b->ctx, w->op, name, value, label);
    }
    if (v->mma && param_index(w, v->mma) < 0) set_param(b->ctx, w->op, v->mma, b->mma, label);
}

static double tolerance(t6_precision precision, t6_dtype dtype)
{
    if (precision == T6_PRECISION_STRICT) return 1e-4;
    return dtype == T6_BF16 ? 5e-3 : 1e-3;
}

/* Decode, prefill or the materialized method on shape `s`, both modes, flat and peaked queries. */
static void run_attention(bench *b, const view *v, int s, const char *label)
{
    problem *p = &b->attention[s];
    const bool prefill = v->run == RUN_PREFILL;
    int rows = 0, slots[PREFILL_ROWS], positions[PREFILL_ROWS];
    static const double peaks[] = {1.0, 32.0};
    for (int mode = T6_PRECISION_STRICT; mode <= T6_PRECISION_FAST; mode++)
        for (size_t k = 0; k < sizeof peaks / sizeof peaks[0]; k++) {
            const t6_attention_options options = {sizeof(t6_attention_options), 0, 0, 0, 0,
                                                  v->run == RUN_MATERIALIZED ? T6_ATTENTION_MATERIALIZED
                                                                             : T6_ATTENTION_FACTORIZED,
                                                  (t6_precision)mode};
            for (int call = 0; call < (v->run == RUN_MATERIALIZED ? 2 : 1); call++) {
                const bool as_prefill = prefill || call == 1;
                char what[LABEL + 96];
                snprintf(what, sizeof what, "%s%s, %s, A_Q × %g", label, as_prefill && !prefill ? " (prefill)" : "",
                         t6_precision_name((t6_precision)mode), peaks[k]);
                if (peaks[k] != 1.0) problem_scale_query_a(p, peaks[k]);
                problem_poison_out(p);
                t6_status status;
                if (as_prefill) {
                    status = t6_attention_prefill(p->cache, p->shape.rank_q, 2, decode_slots, prefill_starts,
                                                  prefill_counts, p->query, 0, p->out, 0, &options);
                    rows = 0;
                    for (int e = 0; e < 2; e++)
                        for (int q = 0; q < prefill_counts[e]; q++, rows++) {
                            slots[rows] = decode_slots[e];
                            positions[rows] = prefill_starts[e] + q;
                        }
                } else {
                    status = t6_attention_decode(p->cache, p->shape.rank_q, 2, decode_slots, decode_lengths, p->query,
                                                 0, p->out, 0, &options);
                    rows = 2;
                    for (int i = 0; i < 2; i++) {
                        slots[i] = decode_slots[i];
                        positions[i] = decode_lengths[i] - 1;
                    }
                }
                ck_assert_msg(status == T6_SUCCESS, "%s: %s: %s", what, t6_status_string(status),
                              t6_context_last_error(b->ctx));
                problem_check_rows(p, &options, rows, slots, positions, tolerance((t6_precision)mode, p->config.dtype),
                                   peaks[k] == 1.0, what);
                problem_check_untouched(p, rows, what);
                if (peaks[k] != 1.0) problem_scale_query_a(p, 1.0 / peaks[k]);
            }
        }
}

/* "<view> at <shape>: NAME=value ...", what a failure names. */
static void config_label(const bench *b, const sweep *w, const config *c, char *label, size_t cap)
{
    const view *v = w->view;
    const int s = c->shape;
    char shape_text[96];
    if (v->run == RUN_PROJECTION) {
        const t6_layer_config *l = &layer_shapes[s];
        snprintf(shape_text, sizeof shape_text, "C=%d H=%d D=%d ranks %d/%d/%d %s, %d rows", l->model_dim, l->heads,
                 l->head_dim, l->rank_q, l->rank_k, l->rank_v, t6_dtype_name(l->weight_dtype),
                 b->projection[s].rows);
    } else if (v->run == RUN_MHA_DECODE || v->run == RUN_MHA_PREFILL) {
        snprintf(shape_text, sizeof shape_text, "%d heads over %d, D=%d %s", kv_shapes[s].heads, kv_shapes[s].kv_heads,
                 kv_shapes[s].head_dim, t6_dtype_name(kv_shapes[s].dtype));
    } else {
        const t6_ref_shape *r = &attention_shapes[s].ref;
        snprintf(shape_text, sizeof shape_text, "H=%d D=%d ranks %d/%d/%d %s", r->heads, r->head_dim, r->rank_q,
                 r->rank_k, r->rank_v, t6_dtype_name(attention_shapes[s].dtype));
    }
    size_t used = (size_t)snprintf(label, cap, "%s at %s:", v->name, shape_text);
    for (int i = 0; i < w->param_count && used < cap; i++)
        used += (size_t)snprintf(label + used, cap - used, " %s=%d", w->params[i].name, c->values[i]);
}

static void run_config(bench *b, const sweep *w, const config *c)
{
    const view *v = w->view;
    const int s = c->shape;
    char label[LABEL];
    config_label(b, w, c, label, sizeof label);
    apply(b, w, c, label);
    switch (v->run) {
    case RUN_PROJECTION:
        projection_cache_fill(b->projection_cache[s]);
        projection_check(b->ctx, b->layer[s], b->projection_cache[s], &b->projection[s], T6_PROJECTION_FUSED, label,
                         false);
        break;
    case RUN_MHA_DECODE:
        free(kv_check_decode(&b->kv[s], kv_shapes[s].heads, 2, decode_slots, decode_lengths, 0.0f, label));
        break;
    case RUN_MHA_PREFILL:
        if (v->grid != &mha_prefill_mma_grid) {
            free(kv_check_prefill(&b->kv[s], kv_shapes[s].heads, 2, decode_slots, mha_starts, mha_counts, 17300,
                                  label));
            break;
        }
        /* Tensor cores follow the context's mode: TPA.md's bounds, strict 1e-4, fast 1e-3 (5e-3 with bf16). */
        for (int mode = T6_PRECISION_STRICT; mode <= T6_PRECISION_FAST; mode++) {
            T6T_OK(b->ctx, t6_context_set_precision(b->ctx, (t6_precision)mode));
            const double bound = mode == T6_PRECISION_STRICT ? 1e-4 : kv_shapes[s].dtype == T6_BF16 ? 5e-3 : 1e-3;
            free(kv_check_prefill_within(&b->kv[s], kv_shapes[s].heads, 2, decode_slots, mha_starts, mha_counts,
                                         17300, 1.0, bound, label));
        }
        T6T_OK(b->ctx, t6_context_set_precision(b->ctx, T6_PRECISION_STRICT));
        break;
    default: run_attention(b, v, s, label);
    }
}

/* ---- the test ---- */

START_TEST(sweep_view)
{
    const view *v = &views[_i];
    const bool full = sweep_mode("full"), list = sweep_mode("list");
    bench b;
    if (getenv("T6_SWEEP_LOG")) t6_set_log_callback(t6_log_to_stderr, T6_LOG_DEBUG, NULL);
    bench_open(&b, v);
    sweep w;
    memset(&w, 0, sizeof w);
    w.view = v;
    w.configs = malloc(MAX_CONFIGS * sizeof *w.configs);
    int *first = malloc((MAX_CONFIGS + 1) * sizeof *first);
    ck_assert(w.configs && first);
    if (v->grid) enumerate_grid(&w);
    else enumerate_space(&w, b.ctx);
    ck_assert_msg(w.count > 0, "%s: no configuration to run", v->name);
    const int groups = group_configs(&w, first);

    /* The groups to run: all, or a sample drawn with the run's seed (a partial Fisher-Yates shuffle). */
    int *order = malloc((size_t)groups * sizeof *order);
    ck_assert_ptr_nonnull(order);
    for (int g = 0; g < groups; g++) order[g] = g;
    const int chosen = full || v->sample >= groups ? groups : v->sample;
    t6i_rng rng = t6t_rng_make(17400 + (uint64_t)_i);
    for (int g = 0; g < chosen && !full; g++) {
        const int other = g + (int)(t6i_uniform(&rng) * (groups - g));
        const int kept = order[g];
        order[g] = order[other];
        order[other] = kept;
    }
    int runs = 0;
    for (int g = 0; g < chosen; g++) runs += first[order[g] + 1] - first[order[g]];
    char sizes[64] = "";
    for (int s = 0, used = 0; s < shape_count(v); s++)
        used += snprintf(sizes + used, sizeof sizes - (size_t)used, "%s%d", s ? ", " : "", w.space_size[s]);
    printf("%s: %d configurations in %d programs (the whole space at each shape: %s); %s: %d configurations in %d "
           "programs (seed %llu)\n",
           v->name, w.count, groups, sizes, full ? "running all" : "a sample", runs, chosen,
           (unsigned long long)t6t_seed());
    fflush(stdout);
    const time_t started = time(NULL);
    for (int g = 0; g < chosen; g++)
        for (int i = first[order[g]]; i < first[order[g] + 1]; i++) {
            if (!full) { /* the sample's configurations, to replay or compare */
                char label[LABEL];
                config_label(&b, &w, &w.configs[i], label, sizeof label);
                printf("  %s\n", label);
                fflush(stdout);
            }
            if (!list) run_config(&b, &w, &w.configs[i]);
        }
    if (!list) printf("%s: %d configurations right in %lld s\n", v->name, runs, (long long)(time(NULL) - started));
    free(order);
    free(first);
    free(w.configs);
    bench_close(&b, v);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("space_sweep");
    for (int i = 0; i < VIEWS; i++) {
        TCase *tc = tcase_create(views[i].name);
        /* The whole sweep of a view takes up to an hour on 2 CPU cores (docs/TUNING.md). */
        tcase_set_timeout(tc, sweep_mode("full") ? 4 * 3600 : 300);
        tcase_add_loop_test(tc, sweep_view, i, i + 1);
        suite_add_tcase(suite, tc);
    }
    return t6t_run(suite);
}
