/* tune_spaces.c — the search space of each tunable op, declared once as data: which of the op's tunables
 * t6-tune varies, their candidate values, and the constraints that prune configurations a device cannot run
 * (work-group limits, local memory, the preferred work-group multiple) before anything is compiled. Also the
 * rules that derive untuned vendor defaults from each GPU architecture's SIMD width.
 *
 * A space names the library's tunables (lib/tuning/params.c): building one checks every name and value against the
 * library's table, so a space that fell out of step with the kernels fails loudly instead of tuning nothing.
 * Tunables of an op that its space does not list run at their defaults. */
#include "tune.h"

#include "ops/attention_plan.h"
#include "ops/projection_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The values of one configuration, in the order of the space's parameters, and what they are judged by. */
typedef struct view {
    const int *v;
    const tune_device *device;
    const tune_shape *shape;
} view;

typedef struct constraint {
    const char *why; /* shown in the plan table when it removed configurations */
    bool (*ok)(const view *c);
} constraint;

typedef struct space_decl {
    int count;
    tune_param params[TUNE_MAX_PARAMS];
    constraint constraints[8];
    /* Turns a library default that means "decided at run time" into the value the library then takes on
     * `device`, and parameters that this choice makes irrelevant into the values the space keeps for them
     * (NULL: the defaults are values already). */
    void (*resolve_defaults)(const tune_device *device, const tune_shape *shape, const tune_param *params,
                             int *defaults);
} space_decl;

#define PARAM(name, ...)                                                                                         \
    {                                                                                                            \
        name, sizeof((int[]){__VA_ARGS__}) / sizeof(int), { __VA_ARGS__ }                                        \
    }

static bool fits_group(const view *c, int items)
{
    return (size_t)items <= c->device->info.max_work_group_size &&
           (size_t)items % (c->device->info.preferred_work_group_multiple ? c->device->info.preferred_work_group_multiple : 1) == 0;
}

static bool fits_local(const view *c, size_t bytes) { return bytes <= c->device->info.local_mem_bytes; }

/* A candidate above `limit` that the library would cut down to `limit` runs exactly like the smallest candidate
 * at or above `limit`: only that one is kept. */
static bool not_clipped(const tune_param *p, int value, int limit)
{
    if (value <= limit) return true;
    for (int k = 0; k < p->count; k++)
        if (p->values[k] >= limit && p->values[k] < value) return false;
    return true;
}

/* ---- projection, few rows: t6_project_rows ---- */

enum { RW_LANES, RW_COLS, RW_VW, RW_VACC };

static bool rows_group(const view *c) { return fits_group(c, c->v[RW_LANES]); }

/* The library's own arithmetic (lib/ops/projection_plan.h), for the calls t6-tune measures (no norm) at
 * T6_PRJ_RW_BLOCK's table default, 16. */
static bool rows_local(const view *c)
{
    const int bound = t6i_projection_rows_bound(c->shape->rows, 16);
    return fits_local(c, t6i_projection_rows_local_bytes(c->v[RW_LANES], c->v[RW_COLS], bound, false));
}

static const space_decl projection_rows_space = {
    4,
    {PARAM("T6_PRJ_RW_LANES", 32, 64, 128, 256, 512, 1024), PARAM("T6_PRJ_RW_COLS", 2, 4, 8, 16),
     PARAM("T6_PRJ_RW_VW", 2, 4, 8), PARAM("T6_PRJ_RW_VACC", 0, 1)},
    {{"work-group limits", rows_group}, {"local memory", rows_local}},
    NULL,
};

/* ---- projection, many rows: t6_project_tiles, CLBlast-xgemm-like tiles ---- */

enum { MWG, NWG, KWG, MDIMC, NDIMC, VWM, VWN, SA, SB };

static bool tiles_shape(const view *c)
{
    return c->v[MWG] % (c->v[MDIMC] * c->v[VWM]) == 0 && c->v[NWG] % (c->v[NDIMC] * c->v[VWN]) == 0;
}

static bool tiles_group(const view *c) { return fits_group(c, c->v[MDIMC] * c->v[NDIMC]); }

/* The library builds and asks the driver; the space prunes before building, with the kernel's arrays as
 * lib/ops/projection_plan.h counts them. */
static bool tiles_local(const view *c)
{
    return fits_local(c, t6i_projection_tiles_local_bytes(c->v[KWG], c->v[MWG], c->v[NWG], c->v[VWM], c->v[VWN],
                                                          c->v[SA], c->v[SB]));
}

/* More than 64 accumulators per work-item spill on every GPU t6 targets, and a tile taller than the call has
 * rows only computes padding. */
static bool tiles_registers(const view *c)
{
    return (c->v[MWG] / c->v[MDIMC]) * (c->v[NWG] / c->v[NDIMC]) <= 64;
}

static bool tiles_rows(const view *c) { return c->v[MWG] <= 32 || c->v[MWG] / 2 < c->shape->rows; }

static const space_decl projection_tiles_space = {
    9,
    {PARAM("T6_PRJ_MWG", 32, 64, 128), PARAM("T6_PRJ_NWG", 32, 64, 128), PARAM("T6_PRJ_KWG", 8, 16, 32),
     PARAM("T6_PRJ_MDIMC", 8, 16, 32), PARAM("T6_PRJ_NDIMC", 8, 16, 32), PARAM("T6_PRJ_VWM", 1, 2, 4),
     PARAM("T6_PRJ_VWN", 2, 4), PARAM("T6_PRJ_SA", 0, 1), PARAM("T6_PRJ_SB", 0, 1)},
    {{"tile divisibility", tiles_shape},
     {"work-group limits", tiles_group},
     {"local memory", tiles_local},
     {"registers (over 64 accumulators)", tiles_registers},
     {"tile taller than the rows", tiles_rows}},
    NULL,
};

/* ---- factorized decode and prefill: kernels_cl/attention.cl ---- */

static int library_defaults(t6_op op, const char *name, int *value, int *min, int *max);

/* The index of tunable `name` among the space's parameters; -1 when the space does not vary it. */
static int space_index(const space_decl *decl, const char *name)
{
    for (int i = 0; i < decl->count; i++)
        if (strcmp(decl->params[i].name, name) == 0) return i;
    return -1;
}

/* The value a configuration gives tunable `name`: its own where the space varies it, else the library's default. */
static int tunable(const view *c, const space_decl *decl, t6_op op, const char *name)
{
    const int i = space_index(decl, name);
    if (i >= 0) return c->v[i];
    int value = 0, min = 0, max = 0;
    library_defaults(op, name, &value, &min, &max);
    return value;
}

/* The plan the library makes of a configuration (lib/ops/attention_plan.h): which kernel serves the bucket's
 * shape on this device, its probes and builds aside, and its tunables after every fitting. */
typedef struct attention_planned {
    int counts[64];
    t6i_attention_shape shape; /* its counts are the ones above */
    t6i_attention_plan asked, plan;
    t6_status status;
} attention_planned;

static void plan_configuration(const view *c, const space_decl *decl, bool prefill, attention_planned *out)
{
    const tune_shape *s = c->shape;
    const t6_op op = prefill ? T6_OP_PREFILL : T6_OP_DECODE;
#define ASKED(name) tunable(c, decl, op, prefill ? "T6_PRE_" name : "T6_DEC_" name)
    /* The fitting depends on the longest sequence, not on how many there are. */
    const int batch = s->batch < 64 ? s->batch : 64;
    for (int i = 0; i < batch; i++) out->counts[i] = prefill ? s->rows : 1;
    out->shape = (t6i_attention_shape){
        .heads = s->heads, .head_dim = s->head_dim, .rank_q = s->rank_q, .rank_k = s->rank_k, .rank_v = s->rank_v,
        .dtype = s->dtype, .precision = T6_PRECISION_STRICT, .prefill = prefill, .batch = batch,
        .counts = out->counts, .rows = prefill ? s->rows * batch : batch, .max_end = s->length};
    t6i_attention_plan *p = &out->asked;
    memset(p, 0, sizeof *p);
    p->kernel = ASKED("KERNEL");
    const int queries = prefill ? ASKED("QUERIES") : 1;
    p->fma = (t6i_fma_attention_plan){.kernel = p->kernel, .wg_size = ASKED("WG_SIZE"), .tile = ASKED("TILE"),
                                      .group_heads = ASKED("HEADS"), .queries = queries, .tokens = ASKED("TOKENS"),
                                      .value_heads = ASKED("VALUE_HEADS"), .vector = ASKED("VECTOR"),
                                      .stage_s1 = ASKED("STAGE_S1"), .groups_per_cu = ASKED("GROUPS_PER_CU"),
                                      .min_split = ASKED("MIN_SPLIT")};
    if (!prefill)
        p->stages = (t6i_stages_plan){.mma = ASKED("MMA"), .wg_size = ASKED("WG_SIZE"), .tile = ASKED("TILE"),
                                      .vector = ASKED("VECTOR"), .acc_heads = ASKED("ACC_HEADS"),
                                      .registers = ASKED("REGISTERS"), .cu_groups = ASKED("CU_GROUPS"),
                                      .min_split = ASKED("MIN_SPLIT")};
    p->mma = (t6i_mma_plan){.mma = ASKED("MMA"), .stage = ASKED("STAGE"), .stages = ASKED("STAGES"),
                            .queries = queries, .groups_per_cu = prefill ? ASKED("GROUPS_PER_CU") : ASKED("CU_GROUPS"),
                            .min_split = ASKED("MIN_SPLIT"), .merge = prefill ? 1 : ASKED("MERGE"),
                            .fanin = prefill ? 0 : ASKED("FANIN")};
#undef ASKED
    out->plan = out->asked;
    char why[256];
    out->status = t6i_attention_plan_make(&c->device->info, &out->shape, 0, &out->plan, why, sizeof why);
}

/* Heads and queries beyond the shape are the clipping rules' business: the planner's values are compared with the
 * asked ones after the same clip. */
static int clipped(int asked, int limit) { return asked < limit ? asked : limit; }

/* Whether the library runs a configuration as asked: the kernel it names (KERNEL 0 on GPUs: tensor cores where
 * they serve, else for decode the stages kernel), with the values of that kernel's tunables that the planners
 * lower to fit the device (the tile, the queries and heads per group, the stages). A configuration the planner
 * changes runs as a smaller one does, or not at all: only the one it runs is kept. */
static bool attention_runs_as_asked(const view *c, const space_decl *decl, bool prefill)
{
    attention_planned a;
    plan_configuration(c, decl, prefill, &a);
    if (a.status != T6_SUCCESS) return false;
    const t6i_attention_plan *asked = &a.asked, *plan = &a.plan;
    const int rows = prefill ? c->shape->rows : 1;
    switch (plan->kernel) {
    case T6_KERNEL_TENSOR_CORES:
        return (asked->kernel == T6_KERNEL_TENSOR_CORES || asked->kernel == T6_KERNEL_BY_DEVICE) &&
               plan->mma.stage == asked->mma.stage && plan->mma.stages == asked->mma.stages &&
               plan->mma.queries == clipped(asked->mma.queries, rows);
    case T6_KERNEL_STAGES:
        return (asked->kernel == T6_KERNEL_STAGES || asked->kernel == T6_KERNEL_BY_DEVICE) &&
               plan->stages.tile == asked->stages.tile;
    case T6_KERNEL_TILES:
        return asked->kernel == T6_KERNEL_TILES && plan->fma.tile == asked->fma.tile &&
               plan->fma.group_heads == clipped(asked->fma.group_heads, c->shape->heads) &&
               plan->fma.queries == clipped(asked->fma.queries, a.shape.rows);
    default: /* the vectors: one work-item runs every head */
        return asked->kernel != T6_KERNEL_TILES && plan->fma.tile == asked->fma.tile &&
               plan->fma.queries == clipped(asked->fma.queries, a.shape.rows);
    }
}

/* Sets the default of the space's tunable `name` (when the space varies it). */
static void set_default(const space_decl *decl, int *defaults, const char *name, int value)
{
    const int i = space_index(decl, name);
    if (i >= 0) defaults[i] = value;
}

/* The defaults as the library runs them: the values its planner lowers on this device and shape replace the asked
 * ones, so that the search starts from, and compares with, what an untuned call really runs. */
static void fit_attention_defaults(const tune_device *device, const tune_shape *shape, const space_decl *decl,
                                   bool prefill, int *defaults)
{
    attention_planned a;
    plan_configuration(&(view){defaults, device, shape}, decl, prefill, &a);
    if (a.status != T6_SUCCESS) return;
    const t6i_attention_plan *asked = &a.asked, *plan = &a.plan;
#define SET(name, value) set_default(decl, defaults, prefill ? "T6_PRE_" name : "T6_DEC_" name, value)
    switch (plan->kernel) {
    case T6_KERNEL_TENSOR_CORES:
        SET("STAGE", plan->mma.stage);
        SET("STAGES", plan->mma.stages);
        if (plan->mma.queries != clipped(asked->mma.queries, prefill ? shape->rows : 1))
            SET("QUERIES", plan->mma.queries);
        break;
    case T6_KERNEL_STAGES: SET("TILE", plan->stages.tile); break;
    default:
        SET("TILE", plan->fma.tile);
        if (plan->fma.group_heads != clipped(asked->fma.group_heads, shape->heads)) SET("HEADS", plan->fma.group_heads);
        if (prefill && plan->fma.queries != clipped(asked->fma.queries, a.shape.rows))
            SET("QUERIES", plan->fma.queries);
        break;
    }
#undef SET
}

/* Two kernels serve decode and prefill (KERNEL 1: work-group tiles, attention.cl; 2: vectors per work-item,
 * attention_vector.cl, the CPUs' default). The second reads only TILE (and, in prefill, QUERIES) and the
 * host's splitting: its configurations keep every other parameter at its first candidate, so each runs once.
 * Decode on GPUs has a third (register-tiled stages, attention_decode.cl), which the space names as KERNEL 0,
 * the library's "by device": kernel 3 where the shape fits it, else kernel 1. A profile then never carries a
 * kernel 3 that a nearby shape cannot fit; KERNEL=3 proper is for callers who want the error instead. */
static bool only_first(const view *c, const tune_param *params, const int *ignored, int count)
{
    for (int i = 0; i < count; i++)
        if (c->v[ignored[i]] != params[ignored[i]].values[0]) return false;
    return true;
}

enum {
    DEC_KERNEL, DEC_WG, DEC_TILE, DEC_HEADS, DEC_VALUE_HEADS, DEC_VECTOR, DEC_GROUPS, DEC_CU_GROUPS, DEC_MMA, DEC_STAGE,
    DEC_STAGES
};

static const space_decl decode_space;

static bool decode_group(const view *c) { return c->v[DEC_KERNEL] == 2 || fits_group(c, c->v[DEC_WG]); }
static bool decode_runs_as_asked(const view *c) { return attention_runs_as_asked(c, &decode_space, false); }
static bool decode_heads(const view *c)
{
    return not_clipped(&decode_space.params[DEC_HEADS], c->v[DEC_HEADS], c->shape->heads);
}
/* KERNEL 0 means 2 off GPUs (lib/ops/attention_factorized.c): there it would repeat kernel 2's configurations. */
static bool decode_kernel3_on_gpus(const view *c) { return c->v[DEC_KERNEL] != 0 || c->device->info.is_gpu; }
/* Kernel 4 runs mma.sync on fp16 and bf16 caches of NVIDIA GPUs (elsewhere the library would fall back to kernel
 * 3, repeating its configurations). */
static bool kernel4_serves(const view *c)
{
    return t6i_is_nvidia_gpu(&c->device->info) && c->shape->dtype != T6_F32;
}
static bool decode_kernel4_on_nvidia(const view *c) { return c->v[DEC_KERNEL] != 4 || kernel4_serves(c); }

/* Parameters each kernel ignores take the values their configurations keep (the first candidate), so that each
 * configuration runs once and the defaults are the configuration the library really runs. */
static const int decode_vector_ignores[] = {DEC_WG,       DEC_HEADS, DEC_VALUE_HEADS, DEC_VECTOR,
                                           DEC_CU_GROUPS, DEC_MMA,   DEC_STAGE,       DEC_STAGES};
static const int decode_tiles_ignores[] = {DEC_CU_GROUPS, DEC_MMA, DEC_STAGE, DEC_STAGES};
static const int decode_kernel3_ignores[] = {DEC_HEADS, DEC_VALUE_HEADS, DEC_GROUPS, DEC_STAGE, DEC_STAGES};
static const int decode_kernel4_ignores[] = {DEC_WG,     DEC_TILE,   DEC_HEADS, DEC_VALUE_HEADS,
                                            DEC_VECTOR, DEC_GROUPS, DEC_MMA};
#define COUNT(a) ((int)(sizeof a / sizeof a[0]))
static bool decode_ignored_parameters(const view *c)
{
    const tune_param *params = decode_space.params;
    switch (c->v[DEC_KERNEL]) {
    case 0: /* by device: kernel 4 where it can serve (its probe aside), else kernel 3 */
        if (kernel4_serves(c))
            return only_first(c, params, decode_kernel4_ignores, COUNT(decode_kernel4_ignores));
        /* tensor cores serve fp16 and bf16 caches only */
        return only_first(c, params, decode_kernel3_ignores, COUNT(decode_kernel3_ignores)) &&
               (c->shape->dtype != T6_F32 || c->v[DEC_MMA] == params[DEC_MMA].values[0]);
    case 1: return only_first(c, params, decode_tiles_ignores, COUNT(decode_tiles_ignores));
    case 4: return only_first(c, params, decode_kernel4_ignores, COUNT(decode_kernel4_ignores));
    default: return only_first(c, params, decode_vector_ignores, COUNT(decode_vector_ignores));
    }
}
static void decode_kernel_defaults(const tune_device *device, const tune_shape *shape, const tune_param *params,
                                   int *defaults)
{
    if (defaults[DEC_KERNEL] != 0) return; /* a library built with another default keeps it */
    const int *ignored = device->info.is_gpu ? decode_kernel3_ignores : decode_vector_ignores;
    const int count = device->info.is_gpu ? COUNT(decode_kernel3_ignores) : COUNT(decode_vector_ignores);
    if (!device->info.is_gpu) defaults[DEC_KERNEL] = 2;
    for (int i = 0; i < count; i++) defaults[ignored[i]] = params[ignored[i]].values[0];
    /* Where kernel 4 serves, what it ignores keeps the first values. */
    if (kernel4_serves(&(view){defaults, device, shape}))
        for (int i = 0; i < COUNT(decode_kernel4_ignores); i++)
            defaults[decode_kernel4_ignores[i]] = params[decode_kernel4_ignores[i]].values[0];
}
static void decode_defaults(const tune_device *device, const tune_shape *shape, const tune_param *params,
                            int *defaults)
{
    decode_kernel_defaults(device, shape, params, defaults);
    fit_attention_defaults(device, shape, &decode_space, false, defaults);
}

/* Memory-bound: what decides is which kernel, how the positions are split over the device (GROUPS_PER_CU,
 * CU_GROUPS for kernel 3, which also sets its register budget on NVIDIA), how wide the loads are, how many heads
 * share each staged tile, and tensor cores or FMAs. Small enough to search exhaustively on a GPU in minutes
 * (the check of the default strategy against the optimum needs that). */
static const space_decl decode_space = {
    11,
    {PARAM("T6_DEC_KERNEL", 0, 1, 2, 4), PARAM("T6_DEC_WG_SIZE", 64, 128, 256, 512), PARAM("T6_DEC_TILE", 16, 32, 64),
     PARAM("T6_DEC_HEADS", 16, 32, 64), PARAM("T6_DEC_VALUE_HEADS", 2, 4), PARAM("T6_DEC_VECTOR", 4, 8),
     PARAM("T6_DEC_GROUPS_PER_CU", 1, 2, 4), PARAM("T6_DEC_CU_GROUPS", 2, 1, 3, 4, 6), PARAM("T6_DEC_MMA", 1, 0),
     PARAM("T6_DEC_STAGE", 32, 16), PARAM("T6_DEC_STAGES", 3, 2, 4)},
    {{"work-group limits", decode_group},
     {"heads beyond H", decode_heads},
     {"kernel 3 off GPUs", decode_kernel3_on_gpus},
     {"kernel 4 on NVIDIA fp16/bf16 only", decode_kernel4_on_nvidia},
     {"parameters a kernel ignores", decode_ignored_parameters},
     {"values the planner lowers (local memory, registers)", decode_runs_as_asked}},
    decode_defaults,
};

/* KERNEL 0 means: 1 on GPUs, 2 elsewhere for prefill (lib/ops/attention_factorized.c); with 2, the parameters the
 * vector kernel ignores take the values its configurations keep. */
static void attention_kernel_default(const tune_device *device, const tune_param *params, int *defaults,
                                     const int *ignored, int ignored_count)
{
    if (defaults[0] == 0) defaults[0] = device->info.is_gpu ? 1 : 2;
    if (defaults[0] == 2)
        for (int i = 0; i < ignored_count; i++) defaults[ignored[i]] = params[ignored[i]].values[0];
}

enum {
    PRE_KERNEL, PRE_WG, PRE_TILE, PRE_HEADS, PRE_QUERIES, PRE_TOKENS, PRE_VALUE_HEADS, PRE_VECTOR, PRE_STAGE,
    PRE_STAGES
};

static const space_decl prefill_space;

/* Kernel 4's group: a warp per 16 heads and query. */
static bool prefill_group(const view *c)
{
    if (c->v[PRE_KERNEL] == 4) return fits_group(c, 32 * ((c->shape->heads + 15) / 16) * c->v[PRE_QUERIES]);
    return c->v[PRE_KERNEL] == 2 || fits_group(c, c->v[PRE_WG]);
}
static bool prefill_runs_as_asked(const view *c) { return attention_runs_as_asked(c, &prefill_space, true); }
static bool prefill_clipped(const view *c)
{
    return not_clipped(&prefill_space.params[PRE_HEADS], c->v[PRE_HEADS], c->shape->heads) &&
           not_clipped(&prefill_space.params[PRE_QUERIES], c->v[PRE_QUERIES], c->shape->rows);
}
static const int prefill_vector_ignores[] = {PRE_WG,         PRE_HEADS,  PRE_TOKENS, PRE_VALUE_HEADS,
                                            PRE_VECTOR,     PRE_STAGE,  PRE_STAGES};
static const int prefill_tiles_ignores[] = {PRE_STAGE, PRE_STAGES};
static const int prefill_kernel4_ignores[] = {PRE_WG, PRE_TILE, PRE_HEADS, PRE_TOKENS, PRE_VALUE_HEADS, PRE_VECTOR};
static bool prefill_ignored_parameters(const view *c)
{
    const tune_param *params = prefill_space.params;
    switch (c->v[PRE_KERNEL]) {
    case 1: return only_first(c, params, prefill_tiles_ignores, COUNT(prefill_tiles_ignores));
    case 4: return only_first(c, params, prefill_kernel4_ignores, COUNT(prefill_kernel4_ignores));
    default: return only_first(c, params, prefill_vector_ignores, COUNT(prefill_vector_ignores));
    }
}
static bool prefill_kernel4_on_nvidia(const view *c) { return c->v[PRE_KERNEL] != 4 || kernel4_serves(c); }
static void prefill_defaults(const tune_device *device, const tune_shape *shape, const tune_param *params,
                             int *defaults)
{
    /* KERNEL 0 means kernel 4 where it serves (its probe aside), else 1 on GPUs and 2 elsewhere. */
    if (defaults[PRE_KERNEL] == 0 && kernel4_serves(&(view){defaults, device, shape})) defaults[PRE_KERNEL] = 4;
    const int *ignored = prefill_tiles_ignores;
    int count = COUNT(prefill_tiles_ignores);
    if (defaults[PRE_KERNEL] == 4) {
        ignored = prefill_kernel4_ignores;
        count = COUNT(prefill_kernel4_ignores);
    } else {
        attention_kernel_default(device, params, defaults, prefill_vector_ignores, COUNT(prefill_vector_ignores));
    }
    for (int i = 0; i < count; i++) defaults[ignored[i]] = params[ignored[i]].values[0];
    fit_attention_defaults(device, shape, &prefill_space, true, defaults);
}

/* Compute-bound at long prompts: the register tiles (TOKENS, VALUE_HEADS) and how many queries share each
 * staged key tile matter as much as the loads. */
static const space_decl prefill_space = {
    10,
    {PARAM("T6_PRE_KERNEL", 1, 2, 4), PARAM("T6_PRE_WG_SIZE", 128, 256, 512), PARAM("T6_PRE_TILE", 16, 32, 64),
     PARAM("T6_PRE_HEADS", 16, 32, 64), PARAM("T6_PRE_QUERIES", 2, 4, 8, 16), PARAM("T6_PRE_TOKENS", 1, 2, 4),
     PARAM("T6_PRE_VALUE_HEADS", 2, 4, 8), PARAM("T6_PRE_VECTOR", 4, 8), PARAM("T6_PRE_STAGE", 32, 16),
     PARAM("T6_PRE_STAGES", 3, 2, 4)},
    {{"work-group limits", prefill_group},
     {"heads or queries beyond the shape", prefill_clipped},
     {"kernel 4 on NVIDIA fp16/bf16 only", prefill_kernel4_on_nvidia},
     {"parameters a kernel ignores", prefill_ignored_parameters},
     {"values the planner lowers (local memory, group)", prefill_runs_as_asked}},
    prefill_defaults,
};

/* ---- synthetic (tests of t6-tune itself; tune_ops.c has the landscape) ---- */

enum { SYN_A, SYN_B };

static bool synthetic_small_enough(const view *c) { return c->v[SYN_A] * c->v[SYN_B] <= 4096; }

static const space_decl synthetic_space = {
    4,
    {PARAM("T6_SYN_A", 1, 2, 4, 8, 16, 32, 64, 128, 256), PARAM("T6_SYN_B", 1, 2, 4, 8, 16),
     PARAM("T6_SYN_C", 1, 2, 3, 4), PARAM("T6_SYN_D", 0, 1)},
    {{"A*B <= 4096 (work-group size)", synthetic_small_enough}},
    NULL,
};

/* The rows kernel serves calls of up to T6_PRJ_ROWS_MAX rows (its default: profiles keep it): its space for
 * those buckets, the tiles kernel's for the others. */
static const space_decl *space_of(tune_op_id op, const tune_shape *shape)
{
    switch (op) {
    case TUNE_PROJECTION: {
        int rows_max = 16;
        for (int i = 0; i < t6_op_param_count(T6_OP_PROJECTION); i++) {
            t6_param_info info;
            if (t6_op_param_info(T6_OP_PROJECTION, i, &info) == T6_SUCCESS && strcmp(info.name, "T6_PRJ_ROWS_MAX") == 0)
                rows_max = info.default_value;
        }
        return shape->rows <= rows_max ? &projection_rows_space : &projection_tiles_space;
    }
    case TUNE_DECODE: return &decode_space;
    case TUNE_PREFILL: return &prefill_space;
    case TUNE_SYNTHETIC: return &synthetic_space;
    default: return NULL;
    }
}

/* ---- vendor defaults ---- */

typedef struct derived {
    const char *name;
    int value;
} derived;

/* Untuned values per GPU vendor, from the SIMD width the hardware schedules (32 NVIDIA warp, 64 AMD
 * wavefront, 16 Intel Xe subgroup): groups are whole multiples of it, big enough to hide memory latency
 * (8 warps, 4 wavefronts, 8 subgroups), no larger than 256 (what every driver of these vendors accepts);
 * loads are 16 bytes of fp16 where the memory system is wide (NVIDIA, AMD), 8 on Intel. */
static int derive(tune_op_id op, int simd, derived *out)
{
    const int group = simd == 16 ? 128 : 256, vector = simd == 16 ? 4 : 8;
    int n = 0;
    switch (op) {
    case TUNE_PROJECTION:
        /* The rows kernel streams weights: 4 warps of 4-element loads keep more loads in flight per group on
         * NVIDIA (H100: 7.8 vs 9.1 µs at 8 rows of T6-medium); wide 128-column tiles won every prefill shape
         * there (xl 4096 rows: 683 vs 781 µs). */
        out[n++] = (derived){"T6_PRJ_RW_LANES", simd == 16 ? 64 : 4 * simd};
        out[n++] = (derived){"T6_PRJ_RW_VW", simd == 32 ? 4 : vector};
        out[n++] = (derived){"T6_PRJ_MDIMC", simd == 16 ? 8 : 16};
        out[n++] = (derived){"T6_PRJ_NDIMC", simd == 16 ? 8 : 16};
        out[n++] = (derived){"T6_PRJ_MWG", simd == 16 ? 32 : 64};
        out[n++] = (derived){"T6_PRJ_NWG", simd == 16 ? 32 : 128};
        out[n++] = (derived){"T6_PRJ_VWN", simd == 16 ? 4 : 8};
        break;
    case TUNE_DECODE:
        out[n++] = (derived){"T6_DEC_WG_SIZE", group};
        out[n++] = (derived){"T6_DEC_VECTOR", vector};
        out[n++] = (derived){"T6_DEC_GROUPS_PER_CU", simd == 16 ? 2 : 4};
        break;
    case TUNE_PREFILL:
        out[n++] = (derived){"T6_PRE_WG_SIZE", group};
        out[n++] = (derived){"T6_PRE_VECTOR", vector};
        break;
    default: break;
    }
    return n;
}

/* ---- building ---- */

static int library_defaults(t6_op op, const char *name, int *value, int *min, int *max)
{
    int count = t6_op_param_count(op);
    for (int i = 0; i < count; i++) {
        t6_param_info info;
        if (t6_op_param_info(op, i, &info) == T6_SUCCESS && strcmp(info.name, name) == 0) {
            *value = info.default_value;
            *min = info.min_value;
            *max = info.max_value;
            return 1;
        }
    }
    return 0;
}

unsigned long long tune_config_key(const tune_space *space, const tune_config *config)
{
    unsigned long long key = 0;
    for (int i = 0; i < space->param_count; i++) key = key * (unsigned)space->params[i].count + config->index[i];
    return key;
}

tune_config tune_config_from_key(const tune_space *space, unsigned long long key)
{
    tune_config config;
    memset(&config, 0, sizeof config);
    for (int i = space->param_count - 1; i >= 0; i--) {
        config.index[i] = (unsigned char)(key % (unsigned)space->params[i].count);
        key /= (unsigned)space->params[i].count;
    }
    return config;
}

static int compare_keys(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return (x > y) - (x < y);
}

bool tune_space_contains(const tune_space *space, const tune_config *config)
{
    for (int i = 0; i < space->param_count; i++)
        if (config->index[i] >= space->params[i].count) return false;
    unsigned long long key = tune_config_key(space, config);
    return bsearch(&key, space->keys, (size_t)space->size, sizeof key, compare_keys) != NULL;
}

int tune_config_value(const tune_space *space, const tune_config *config, int param)
{
    return space->params[param].values[config->index[param]];
}

void tune_config_text(const tune_space *space, const tune_config *config, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < space->param_count && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s=%d", i ? " " : "", space->params[i].name,
                                 tune_config_value(space, config, i));
}

void tune_space_free(tune_space *space)
{
    free(space->keys);
    space->keys = NULL;
    space->size = 0;
}

/* Distance in value steps, to find the valid configuration nearest the defaults when they are pruned. */
static int steps(const tune_config *a, const tune_config *b, int count)
{
    int d = 0;
    for (int i = 0; i < count; i++) d += abs((int)a->index[i] - (int)b->index[i]);
    return d;
}

bool tune_space_build(tune_op_id op, const tune_shape *shape, const tune_device *device, tune_space *space,
                      char *error, size_t error_cap)
{
    memset(space, 0, sizeof *space);
    space->op = op;
    const space_decl *decl = space_of(op, shape);
    const tune_op_desc *desc = tune_op(op);
    if (!decl) {
        snprintf(error, error_cap, "op %s has no search space in this t6-tune (its tunables: %d)", desc->name,
                 desc->op < T6_OP_COUNT ? t6_op_param_count(desc->op) : 0);
        return false;
    }
    space->param_count = decl->count;
    int defaults[TUNE_MAX_PARAMS];
    for (int i = 0; i < decl->count; i++) {
        space->params[i] = decl->params[i];
        defaults[i] = decl->params[i].values[0];
        if (desc->op == T6_OP_COUNT) continue;
        int min = 0, max = 0;
        if (!library_defaults(desc->op, decl->params[i].name, &defaults[i], &min, &max)) {
            snprintf(error, error_cap, "the %s space names %s, which op %s does not have (lib/tuning/params.c)", desc->name,
                     decl->params[i].name, desc->name);
            return false;
        }
        for (int k = 0; k < decl->params[i].count; k++)
            if (decl->params[i].values[k] < min || decl->params[i].values[k] > max) {
                snprintf(error, error_cap, "the %s space tries %s=%d, outside the library's range %d..%d",
                         desc->name, decl->params[i].name, decl->params[i].values[k], min, max);
                return false;
            }
    }
    if (decl->resolve_defaults) decl->resolve_defaults(device, shape, decl->params, defaults);
    space->full_size = 1;
    for (int i = 0; i < decl->count; i++) space->full_size *= decl->params[i].count;
    if (space->full_size > 4000000) {
        snprintf(error, error_cap, "the %s space has %lld configurations before pruning; at most 4000000",
                 desc->name, space->full_size);
        return false;
    }
    space->keys = malloc((size_t)space->full_size * sizeof *space->keys);
    if (!space->keys) {
        snprintf(error, error_cap, "out of host memory (space of %lld)", space->full_size);
        return false;
    }
    long long removed[8] = {0};
    for (long long key = 0; key < space->full_size; key++) {
        tune_config config = tune_config_from_key(space, (unsigned long long)key);
        int values[TUNE_MAX_PARAMS];
        for (int i = 0; i < decl->count; i++) values[i] = tune_config_value(space, &config, i);
        view c = {values, device, shape};
        bool ok = true;
        for (int k = 0; k < 8 && decl->constraints[k].ok && ok; k++)
            if (!decl->constraints[k].ok(&c)) {
                ok = false;
                removed[k]++;
            }
        if (ok) space->keys[space->size++] = (unsigned long long)key;
    }
    size_t used = 0;
    for (int k = 0; k < 8 && decl->constraints[k].ok; k++)
        if (removed[k] && used < sizeof space->pruned_by)
            used += (size_t)snprintf(space->pruned_by + used, sizeof space->pruned_by - used, "%s%s (-%lld)",
                                     used ? ", " : "", decl->constraints[k].why, removed[k]);
    if (space->size == 0) {
        snprintf(error, error_cap, "no configuration of the %s space fits this device (%s)", desc->name,
                 space->pruned_by);
        tune_space_free(space);
        return false;
    }
    /* The defaults as a configuration: a default that is not among the candidate values, or a default
     * configuration the device cannot run, is replaced by the nearest valid one. */
    tune_config wanted;
    memset(&wanted, 0, sizeof wanted);
    for (int i = 0; i < decl->count; i++) {
        int best = 0;
        for (int k = 1; k < decl->params[i].count; k++)
            if (abs(decl->params[i].values[k] - defaults[i]) < abs(decl->params[i].values[best] - defaults[i])) best = k;
        wanted.index[i] = (unsigned char)best;
    }
    space->defaults = tune_config_from_key(space, space->keys[0]);
    for (int i = 0; i < space->size; i++) {
        tune_config candidate = tune_config_from_key(space, space->keys[i]);
        if (steps(&candidate, &wanted, decl->count) < steps(&space->defaults, &wanted, decl->count))
            space->defaults = candidate;
    }
    return true;
}

/* The SIMD width a vendor default derives from: NVIDIA's warp, AMD's wavefront (64 on GCN and CDNA, gfx9; 32 on
 * RDNA, gfx10-gfx12, which OpenCL compiles for wave32), Intel's subgroup; 0 for what has no derivation. */
static int simd_of(const char *vendor_family)
{
    static const struct {
        const char *name;
        int simd;
    } widths[] = {{"nvidia", 32}, {"amd", 64}, {"amd/gfx10", 32}, {"amd/gfx11", 32}, {"amd/gfx12", 32}, {"intel", 16}};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        if (strcmp(widths[i].name, vendor_family) == 0) return widths[i].simd;
    return 0;
}

bool tune_space_vendor_defaults(tune_op_id op, const char *vendor, const char **names, int *values, int *count)
{
    const int simd = simd_of(vendor);
    derived list[TUNE_MAX_PARAMS];
    *count = simd ? derive(op, simd, list) : 0;
    for (int i = 0; i < *count; i++) {
        names[i] = list[i].name;
        values[i] = list[i].value;
    }
    return *count > 0;
}

bool tune_config_parse(const tune_space *space, const char *text, tune_config *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < space->param_count; i++) {
        char pattern[80];
        snprintf(pattern, sizeof pattern, "%s=", space->params[i].name);
        const char *at = strstr(text, pattern);
        /* the name must start a token: T6_A= must not match inside T6_XT6_A= */
        while (at && at != text && at[-1] != ' ') at = strstr(at + 1, pattern);
        if (!at) return false;
        int value = atoi(at + strlen(pattern)), found = -1;
        for (int k = 0; k < space->params[i].count && found < 0; k++)
            if (space->params[i].values[k] == value) found = k;
        if (found < 0) return false;
        out->index[i] = (unsigned char)found;
    }
    return true;
}
