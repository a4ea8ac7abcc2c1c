/* params_check.c — which values of each op's tunables its kernels accept, whatever the call's shape: the
 * checks t6i_params_resolve makes before handing values to a planner, and the profile loader makes on every
 * bucket (so a file cannot carry a value the op would refuse at every call). What depends on the call (local
 * memory for a head dimension, tiles against a layer's padded rows) stays with the planners. Device limits
 * that are 0 (unknown, as for made-up devices in tests) are not checked. */
#include "tuning/tuning.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Records why the values are refused; returns false so checks read `return refuse(...)`. */
static bool refuse(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cap > 0) vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

static bool power_of_two(int value) { return value > 0 && (value & (value - 1)) == 0; }

static bool one_of(int value, const int *allowed, int count)
{
    for (int i = 0; i < count; i++)
        if (value == allowed[i]) return true;
    return false;
}

#define ONE_OF(value, ...)                                                                                       \
    one_of((value), (const int[]){__VA_ARGS__}, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)))

/* Work-items per group against the device's limit. */
static bool group_fits(const t6_device_info *info, size_t group)
{
    return info->max_work_group_size == 0 || group <= info->max_work_group_size;
}

/* Whether a kernel choice of `asked` (0: by device type) may run the GPU kernel `gpu_kernel`. */
static bool may_run(const t6_device_info *info, int asked, int gpu_kernel)
{
    return asked == gpu_kernel || (asked == 0 && info->is_gpu);
}

static bool check_projection(const t6_device_info *info, const t6i_params *p, char *why, size_t cap)
{
    const int vw = t6i_param(p, T6I_PRJ_RW_VW), cols = t6i_param(p, T6I_PRJ_RW_COLS);
    const int lanes = t6i_param(p, T6I_PRJ_RW_LANES);
    if (!ONE_OF(vw, 2, 4, 8)) return refuse(why, cap, "T6_PRJ_RW_VW=%d must be 2, 4 or 8", vw);
    if (!power_of_two(cols)) return refuse(why, cap, "T6_PRJ_RW_COLS=%d must be a power of two", cols);
    if (!group_fits(info, (size_t)lanes))
        return refuse(why, cap, "T6_PRJ_RW_LANES=%d is over the device's %zu work-items per group", lanes,
                      info->max_work_group_size);
    /* The tiles kernel: every value is checked even where the rows kernel serves every call, so that a
     * profile is either usable as a whole or refused. */
    const int mwg = t6i_param(p, T6I_PRJ_MWG), nwg = t6i_param(p, T6I_PRJ_NWG), kwg = t6i_param(p, T6I_PRJ_KWG);
    const int mdimc = t6i_param(p, T6I_PRJ_MDIMC), ndimc = t6i_param(p, T6I_PRJ_NDIMC);
    const int vwm = t6i_param(p, T6I_PRJ_VWM), vwn = t6i_param(p, T6I_PRJ_VWN);
    const int sa = t6i_param(p, T6I_PRJ_SA), sb = t6i_param(p, T6I_PRJ_SB);
    if (!ONE_OF(kwg, 8, 16, 32)) return refuse(why, cap, "T6_PRJ_KWG=%d must be 8, 16 or 32", kwg);
    if (!ONE_OF(vwm, 1, 2, 4, 8)) return refuse(why, cap, "T6_PRJ_VWM=%d must be 1, 2, 4 or 8", vwm);
    if (!ONE_OF(vwn, 2, 4, 8)) return refuse(why, cap, "T6_PRJ_VWN=%d must be 2, 4 or 8", vwn);
    if (mwg % (mdimc * vwm) != 0)
        return refuse(why, cap, "T6_PRJ_MWG=%d must be a multiple of T6_PRJ_MDIMC·T6_PRJ_VWM = %d·%d", mwg, mdimc,
                      vwm);
    if (nwg % (ndimc * vwn) != 0)
        return refuse(why, cap, "T6_PRJ_NWG=%d must be a multiple of T6_PRJ_NDIMC·T6_PRJ_VWN = %d·%d", nwg, ndimc,
                      vwn);
    if (!group_fits(info, (size_t)mdimc * (size_t)ndimc))
        return refuse(why, cap, "T6_PRJ_MDIMC·T6_PRJ_NDIMC = %d·%d is over the device's %zu work-items per group",
                      mdimc, ndimc, info->max_work_group_size);
    const size_t local_bytes =
        sizeof(float) * (size_t)kwg * ((sa ? (size_t)(mwg + vwm) : 0) + (sb ? (size_t)(nwg + vwn) : 0));
    if (info->local_mem_bytes && local_bytes > info->local_mem_bytes)
        return refuse(why, cap, "T6_PRJ_KWG=%d with T6_PRJ_MWG=%d and T6_PRJ_NWG=%d needs %zu bytes of local "
                      "memory; the device has %llu", kwg, mwg, nwg, local_bytes, info->local_mem_bytes);
    return true;
}

static bool check_rope_scatter(const t6_device_info *info, const t6i_params *p, char *why, size_t cap)
{
    const int group = t6i_param(p, T6I_RS_WG_SIZE);
    if (!group_fits(info, (size_t)group))
        return refuse(why, cap, "T6_RS_WG_SIZE=%d is over the device's %zu work-items per group", group,
                      info->max_work_group_size);
    return true;
}

static bool check_attention(const t6_device_info *info, const t6i_params *p, bool prefill, char *why, size_t cap)
{
    const t6i_param_id vector_id = T6I_ATTENTION_PARAM(prefill, VECTOR);
    const t6i_param_id group_id = T6I_ATTENTION_PARAM(prefill, WG_SIZE);
    const int vector = t6i_param(p, vector_id);
    if (!ONE_OF(vector, 1, 2, 4, 8))
        return refuse(why, cap, "%s=%d must be 1, 2, 4 or 8", t6i_param_name(vector_id), vector);
    const int kernel = t6i_param(p, T6I_ATTENTION_PARAM(prefill, KERNEL));
    const int group = t6i_param(p, group_id);
    const char *name = t6i_param_name(group_id);
    /* Work-group sizes matter to kernels 1 and 3; kernel 2 runs one work-item per group. */
    if ((may_run(info, kernel, 1) || (!prefill && may_run(info, kernel, 3))) && !group_fits(info, (size_t)group))
        return refuse(why, cap, "%s=%d is over the device's %zu work-items per group", name, group,
                      info->max_work_group_size);
    if (!prefill) {
        const int acc_heads = t6i_param(p, T6I_DEC_ACC_HEADS);
        if (!ONE_OF(acc_heads, 0, 4, 8, 12, 16))
            return refuse(why, cap, "T6_DEC_ACC_HEADS=%d must be 0, 4, 8, 12 or 16", acc_heads);
    }
    /* Kernel 4 (tensor cores) stages 16 or 32 positions. */
    const int stage = t6i_param(p, T6I_ATTENTION_PARAM(prefill, STAGE));
    if (!ONE_OF(stage, 16, 32))
        return refuse(why, cap, "%s=%d must be 16 or 32", t6i_param_name(T6I_ATTENTION_PARAM(prefill, STAGE)), stage);
    return true;
}

static bool check_materialize(const t6_device_info *info, const t6i_params *p, char *why, size_t cap)
{
    const int group = t6i_param(p, T6I_MAT_WG_SIZE);
    if (!group_fits(info, (size_t)group))
        return refuse(why, cap, "T6_MAT_WG_SIZE=%d is over the device's %zu work-items per group", group,
                      info->max_work_group_size);
    return true;
}

static bool check_mha_decode(const t6_device_info *info, const t6i_params *p, char *why, size_t cap)
{
    (void)info;
    const int vec = t6i_param(p, T6I_MHD_VEC);
    if (!ONE_OF(vec, 2, 4, 8, 16)) return refuse(why, cap, "T6_MHD_VEC=%d must be 2, 4, 8 or 16", vec);
    return true;
}

/* Kernel 1 (work-group tiles), kernel 2 (rows per work-item) and kernel 3 (tensor cores, falling back to 1) read
 * different tunables; each is checked where it may run. mha.c and mha_mma.c check what also depends on head_dim
 * and on local memory. */
static bool check_mha_prefill(const t6_device_info *info, const t6i_params *p, char *why, size_t cap)
{
    const int kernel = t6i_param(p, T6I_MHP_KERNEL);
    if (kernel == 2 || (kernel == 0 && !info->is_gpu)) {
        const int vec = t6i_param(p, T6I_MHP_VEC);
        if (!ONE_OF(vec, 2, 4, 8, 16)) return refuse(why, cap, "T6_MHP_VEC=%d must be 2, 4, 8 or 16", vec);
    }
    if (may_run(info, kernel, 3)) {
        const int stage = t6i_param(p, T6I_MHP_STAGE), warps = t6i_param(p, T6I_MHP_WARPS);
        if (!ONE_OF(stage, 16, 32, 64)) return refuse(why, cap, "T6_MHP_STAGE=%d must be 16, 32 or 64", stage);
        if (!ONE_OF(warps, 1, 2, 4, 8)) return refuse(why, cap, "T6_MHP_WARPS=%d must be 1, 2, 4 or 8", warps);
    }
    if (may_run(info, kernel, 1) || kernel == 3) {
        const int queries = t6i_param(p, T6I_MHP_QUERIES), keys = t6i_param(p, T6I_MHP_KEYS);
        const int thread_queries = t6i_param(p, T6I_MHP_THREAD_QUERIES), columns = t6i_param(p, T6I_MHP_COLUMNS);
        if (queries % thread_queries != 0)
            return refuse(why, cap, "T6_MHP_THREAD_QUERIES=%d must divide T6_MHP_QUERIES=%d", thread_queries,
                          queries);
        if (keys % columns != 0)
            return refuse(why, cap, "T6_MHP_COLUMNS=%d must divide T6_MHP_KEYS=%d", columns, keys);
        if (!group_fits(info, (size_t)(queries / thread_queries) * (size_t)columns))
            return refuse(why, cap, "T6_MHP_QUERIES/T6_MHP_THREAD_QUERIES·T6_MHP_COLUMNS = %d/%d·%d is over the "
                          "device's %zu work-items per group", queries, thread_queries, columns,
                          info->max_work_group_size);
    }
    return true;
}

bool t6i_params_check(const t6_device_info *info, const t6i_params *params, char *why, size_t cap)
{
    if (cap > 0) why[0] = '\0';
    switch (params->op) {
    case T6_OP_PROJECTION: return check_projection(info, params, why, cap);
    case T6_OP_ROPE_SCATTER: return check_rope_scatter(info, params, why, cap);
    case T6_OP_DECODE: return check_attention(info, params, false, why, cap);
    case T6_OP_PREFILL: return check_attention(info, params, true, why, cap);
    case T6_OP_MATERIALIZE: return check_materialize(info, params, why, cap);
    case T6_OP_MHA_DECODE: return check_mha_decode(info, params, why, cap);
    case T6_OP_MHA_PREFILL: return check_mha_prefill(info, params, why, cap);
    default: return refuse(why, cap, "unknown op %d", (int)params->op);
    }
}
