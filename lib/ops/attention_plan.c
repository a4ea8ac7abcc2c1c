/* attention_plan.c — which attention kernel serves a call, and the FMA kernels' plan (attention_plan.h): pure
 * arithmetic, shared by the library and t6-tune. */
#include "ops/attention_plan.h"

#include <stdio.h>
#include <string.h>

static int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }

size_t t6i_split_partials_floats(int batch, int splits, int heads, int head_dim)
{
    size_t rows = (size_t)batch * (size_t)splits * (size_t)heads;
    return rows * (size_t)head_dim + 2 * rows;
}

bool t6i_is_nvidia_gpu(const t6_device_info *info)
{
    return info->is_gpu && strcmp(info->normalized_vendor, "nvidia") == 0;
}

int t6i_query_tiles(const t6i_attention_shape *s, int queries)
{
    int tiles = 0;
    for (int i = 0; i < s->batch; i++) tiles += ceil_div(s->counts ? s->counts[i] : 1, queries);
    return tiles;
}

void t6i_split_positions(const t6_device_info *info, const t6i_attention_shape *s, long long groups, int per_cu,
                         int min_split, int unit, unsigned long long most_floats, int *splits, int *split_length)
{
    const long long wanted = (long long)info->compute_units * per_cu;
    int n = groups >= wanted ? 1 : ceil_div(wanted, groups);
    const int most = ceil_div(s->max_end, min_split);
    if (n > most) n = most;
    if (n < 1) n = 1;
    *split_length = ceil_div(ceil_div(s->max_end, n), unit) * unit;
    *splits = ceil_div(s->max_end, *split_length);
    while (*splits > 1 && t6i_split_partials_floats(s->rows, *splits, s->heads, s->head_dim) > most_floats) {
        *split_length *= 2;
        *splits = ceil_div(s->max_end, *split_length);
    }
}

size_t t6i_fma_attention_local_bytes(const t6i_fma_attention_plan *p, const t6i_attention_shape *s)
{
    const size_t d = (size_t)s->head_dim, tile = (size_t)p->tile;
    const size_t rows = (size_t)p->queries * (size_t)p->group_heads;
    const size_t basis = p->stage_s1 ? (size_t)p->queries * (size_t)s->rank_q : rows;
    const size_t score_lanes = rows >= (size_t)p->wg_size ? 1 : (size_t)p->wg_size / rows;
    const size_t value_rows = (rows + (size_t)p->value_heads - 1) / (size_t)p->value_heads * (size_t)p->value_heads;
    const size_t value_units = value_rows / (size_t)p->value_heads * (d / 4);
    const size_t value_lanes = value_units >= (size_t)p->wg_size ? 1 : (size_t)p->wg_size / value_units;
    const size_t floats = basis * (d + 4) + (p->stage_s1 ? tile * (size_t)s->rank_k * basis : 0) +
                          tile * (size_t)(s->rank_k + s->rank_v) * d + tile * (size_t)s->rank_v * value_rows +
                          score_lanes * rows + value_rows + (value_lanes > 1 ? value_rows * d : 0);
    return floats * sizeof(float);
}

/* Private floats of attention_vector.cl's work-item, array by array. CPUs keep them on a thread's stack. */
static size_t private_floats(const t6i_fma_attention_plan *p, const t6i_attention_shape *s)
{
    const size_t d = (size_t)s->head_dim, tile = (size_t)p->tile, heads = ((size_t)s->heads + 15) / 16 * 16;
    const size_t ranks = (size_t)(s->rank_k + s->rank_v);
    return d * 16 + (size_t)s->rank_q * heads + 4 * heads + heads * d + tile * ranks * (d + heads) +
           tile * (size_t)s->rank_k * 16 + tile * heads;
}

/* Per cached position and group: S1 then head mixing, against one D-long dot product per row. */
static bool staging_s1_pays(const t6i_fma_attention_plan *p, const t6i_attention_shape *s)
{
    const long long rows = (long long)p->queries * p->group_heads;
    const long long staged = (long long)p->queries * s->rank_q * s->rank_k * s->head_dim + rows * s->rank_q * s->rank_k;
    const long long per_head = rows * s->rank_k * s->head_dim;
    return staged < per_head;
}

bool t6i_fma_attention_plan_make(const t6_device_info *info, const t6i_attention_shape *s,
                                 t6i_fma_attention_plan *p, char *why, size_t cap)
{
    /* 0 by device (CPUs vectorize within a work-item, not across); 3 and 4 come here when they cannot serve. */
    if (p->kernel != T6_KERNEL_TILES && p->kernel != T6_KERNEL_VECTORS)
        p->kernel = info->is_gpu ? T6_KERNEL_TILES : T6_KERNEL_VECTORS;
    if (p->kernel != T6_KERNEL_TILES) p->wg_size = 1;
    if (!s->prefill) p->queries = 1;
    const int stage_s1_asked = p->stage_s1;
    /* VECTOR and WG_SIZE are within what the kernels and the device take: t6i_params_check. */
    if (p->group_heads > s->heads || p->kernel == T6_KERNEL_VECTORS) p->group_heads = s->heads;
    if (p->queries > s->rows) p->queries = s->rows;

    /* Tile first (it only changes how often the group synchronizes), then queries and heads (they add loads). */
    for (; p->kernel == T6_KERNEL_TILES;) {
        p->stage_s1 = stage_s1_asked && staging_s1_pays(p, s);
        if (t6i_fma_attention_local_bytes(p, s) <= info->local_mem_bytes) break;
        if (p->tile > 8) p->tile /= 2;
        else if (p->queries > 1) p->queries /= 2;
        else if (p->group_heads > 1) p->group_heads = (p->group_heads + 1) / 2;
        else if (p->tile > 1) p->tile /= 2;
        else {
            snprintf(why, cap, "even one position and one head need %zu bytes of local memory, over the device's "
                     "%llu (lower WG_SIZE or VALUE_HEADS)", t6i_fma_attention_local_bytes(p, s),
                     (unsigned long long)info->local_mem_bytes);
            return false;
        }
    }
    /* A quarter of a MiB keeps the vector kernel's arrays within any CPU runtime's worker stack. */
    while (p->kernel == T6_KERNEL_VECTORS && p->tile > 1 && private_floats(p, s) > 65536) p->tile /= 2;
    if (p->tokens > p->tile) p->tokens = p->tile;
    p->head_groups = ceil_div(s->heads, p->group_heads);
    p->query_tiles = t6i_query_tiles(s, p->queries);
    /* A split is a whole number of tiles; partial rows are indexed with 32 bits. */
    t6i_split_positions(info, s, (long long)p->head_groups * p->query_tiles, p->groups_per_cu, p->min_split, p->tile,
                        4294967295ull, &p->splits, &p->split_length);
    return true;
}

/* Adds "kernel N: why" to the plan's list of kernels passed over. */
static void pass_over(t6i_attention_plan *plan, int kernel, const char *why)
{
    const size_t used = strlen(plan->passed_over);
    snprintf(plan->passed_over + used, sizeof plan->passed_over - used, "%skernel %d: %s", used ? "; " : "", kernel,
             why);
}

t6_status t6i_attention_plan_make(const t6_device_info *info, const t6i_attention_shape *s, unsigned refused,
                                  t6i_attention_plan *plan, char *why, size_t cap)
{
    const int asked = plan->kernel;
    const bool by_device_on_gpu = asked == T6_KERNEL_BY_DEVICE && info->is_gpu;
    char reason[256];
    plan->passed_over[0] = '\0';
    if (asked == T6_KERNEL_TENSOR_CORES || by_device_on_gpu) {
        t6_status status = T6_ERROR_UNSUPPORTED;
        if (refused & T6I_REFUSED_TENSOR_CORES) snprintf(reason, sizeof reason, "refused on this device");
        else status = t6i_mma_plan_make(info, s, &plan->mma, reason, sizeof reason);
        if (status == T6_SUCCESS) {
            plan->kernel = T6_KERNEL_TENSOR_CORES;
            return T6_SUCCESS;
        }
        if (status != T6_ERROR_UNSUPPORTED) {
            snprintf(why, cap, "%s", reason);
            return status;
        }
        pass_over(plan, T6_KERNEL_TENSOR_CORES, reason);
    }
    if (!s->prefill && (asked >= T6_KERNEL_STAGES || by_device_on_gpu)) {
        t6_status status = T6_ERROR_UNSUPPORTED;
        if (refused & T6I_REFUSED_STAGES) snprintf(reason, sizeof reason, "refused on this device");
        else status = t6i_stages_plan_make(info, s, 0, &plan->stages, reason, sizeof reason);
        if (status == T6_SUCCESS) {
            plan->kernel = T6_KERNEL_STAGES;
            return T6_SUCCESS;
        }
        if (asked == T6_KERNEL_STAGES) {
            snprintf(why, cap, "%s", reason);
            return status;
        }
        pass_over(plan, T6_KERNEL_STAGES, reason);
    }
    plan->fma.kernel = asked; /* 0, 3 and 4 mean "by device" there */
    if (!t6i_fma_attention_plan_make(info, s, &plan->fma, why, cap)) return T6_ERROR_INVALID_PARAMS;
    plan->kernel = plan->fma.kernel;
    return T6_SUCCESS;
}
