/* attention_stages_plan.c — kernel 3's plan (attention_plan.h): the tile, the work division and the local memory
 * of kernels_cl/attention_decode.cl, as pure arithmetic. */
#include "ops/attention_plan.h"

#include <stdio.h>

/* Registers of a compute unit on every NVIDIA GPU since Kepler: what -cl-nv-maxrregcount divides. */
#define NVIDIA_REGISTERS_PER_CU 65536
/* Bytes of local memory planned beyond the arrays' sum (see local_bytes_of). */
#define LOCAL_MARGIN_BYTES 256

static int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }

/* The local memory of the plan, as attention_decode.cl declares it, array by array; false when the value
 * product's teams do not fit the group. */
static bool local_bytes_of(const t6i_stages_plan *p, const t6i_attention_shape *s, size_t *bytes)
{
    const size_t dim4 = (size_t)s->head_dim / 4, rqp = (size_t)ceil_div(s->rank_q, p->mma ? 8 : 4) * (p->mma ? 8 : 4);
    const size_t rq4 = rqp / 4;
    const size_t key_rows = (size_t)p->tile * (size_t)s->rank_k, value_rows = (size_t)p->tile * (size_t)s->rank_v;
    const int head_slots = ceil_div(s->heads, p->score_h), position_blocks = p->tile / p->score_t;
    size_t value_heads = 0, value_stride4 = dim4, reduce4 = 0;
    if (p->mma) {
        value_heads = (size_t)ceil_div(s->heads, 16) * 16;
        value_stride4 = dim4 + 2;
    } else {
        value_heads = (size_t)ceil_div(s->heads, p->acc_heads) * (size_t)p->acc_heads;
        const int team_size = (int)(value_heads / (size_t)p->acc_heads * dim4), teams = p->wg_size / team_size;
        if (teams < 1) return false;
        reduce4 = (size_t)(teams / 2) * (size_t)team_size * (size_t)p->acc_heads;
    }
    const size_t bq4 = rqp * (dim4 + 1) * (p->mma ? 2 : 1), aq4 = (size_t)head_slots * (size_t)p->score_h * (rq4 + 1);
    const size_t tile4 = key_rows * (dim4 + 1) + value_rows * value_stride4 + key_rows * (rq4 + 1) +
                         value_rows * (value_heads / 4 + 2);
    const size_t sums4 = ((size_t)position_blocks * (size_t)s->heads + 3) / 4;
    size_t union4 = tile4 > reduce4 ? tile4 : reduce4;
    if (sums4 > union4) union4 = sums4;
    /* bq (and its low parts), aq, the union, then reference, row_sum, merge_totals (2H), tile_max and 2 flags.
     * Compilers align and pad the arrays: clang for amdgcn allocated 8-36 bytes more than this sum on 12 of 13
     * shapes (docs/PORTABILITY.md); the margin keeps a plan near the limit from failing its build. */
    *bytes = ((bq4 + aq4 + union4) * 4 + 5 * (size_t)s->heads + 2) * sizeof(float) + LOCAL_MARGIN_BYTES;
    return true;
}

/* The work division for a tile: positions per score unit first (a unit per work-item), then heads. */
static void divide_work(t6i_stages_plan *p, const t6i_attention_shape *s, int acc_heads_asked)
{
    const int rqp = ceil_div(s->rank_q, 4) * 4, dim4 = s->head_dim / 4;
    /* Two positions per unit halve the Â_Q reads, unless their A factors would crowd the registers. */
    p->score_t = 2 * (1 + s->rank_k + s->rank_v) <= 24 ? 2 : 1;
    while (p->tile / p->score_t > p->wg_size) p->score_t *= 2;
    p->score_h = ceil_div(s->heads, p->wg_size / (p->tile / p->score_t));
    p->s1_ranks = 1;
    while (p->s1_ranks < 4 && p->tile * s->rank_k * rqp / p->s1_ranks > p->wg_size) p->s1_ranks *= 2;
    if (p->mma) {
        p->acc_heads = 4; /* unused: warps own tensor-core tiles of the output */
        return;
    }
    if (acc_heads_asked > 0) {
        p->acc_heads = acc_heads_asked;
        return;
    }
    /* The register tile that keeps the most work-items busy in the value product; on ties the one that pads
     * fewer heads, then the larger (fewer teams, fewer W reads per FMA). */
    int best_busy = -1, best_padding = 0;
    p->acc_heads = 16;
    for (int a = 16; a >= 4; a -= 4) {
        const int team = ceil_div(s->heads, a) * dim4, padding = ceil_div(s->heads, a) * a - s->heads;
        const int busy = team <= p->wg_size ? p->wg_size / team * team : 0;
        if (busy > best_busy || (busy == best_busy && padding < best_padding)) {
            best_busy = busy;
            best_padding = padding;
            p->acc_heads = a;
        }
    }
}

/* The largest tile, from the asked one down, whose registers and local memory fit; false when none does. */
static bool fit_tile(const t6_device_info *info, const t6i_attention_shape *s, int asked_tile, int max_tile,
                     int acc_heads_asked, t6i_stages_plan *p)
{
    const int align = p->mma ? 16 : 4;
    p->tile = ceil_div(asked_tile, align) * align;
    if (max_tile > 0 && p->tile > max_tile) p->tile = max_tile;
    for (;; p->tile /= 2) {
        p->tile = p->tile / align * align;
        if (p->tile < align) return false;
        divide_work(p, s, acc_heads_asked);
        size_t bytes = 0;
        /* Registers per work-item: the scores with their A factors (the value tile is checked by its teams). */
        const int score_registers = p->score_t * p->score_h * (1 + s->rank_k + s->rank_v);
        if (!local_bytes_of(p, s, &bytes) || score_registers > 48) continue;
        if (bytes <= info->local_mem_bytes) return true;
    }
}

t6_status t6i_stages_plan_make(const t6_device_info *info, const t6i_attention_shape *s, int max_tile,
                               t6i_stages_plan *p, char *why, size_t cap)
{
    const int asked_tile = p->tile, acc_heads_asked = p->acc_heads;
    /* Tensor cores where B operands are exact in tf32 and a warp owns each of their tiles. */
    if (!(s->dtype == T6_F16 || s->dtype == T6_BF16) || p->wg_size % 32 != 0 || (p->mma == 1 && !t6i_is_nvidia_gpu(info)))
        p->mma = 0;
    if (!fit_tile(info, s, asked_tile, max_tile, acc_heads_asked, p) &&
        !(p->mma && (p->mma = 0, fit_tile(info, s, asked_tile, max_tile, acc_heads_asked, p)))) {
        snprintf(why, cap, "H=%d D=%d ranks %d,%d,%d do not fit a group of %d work-items and %llu bytes of local "
                 "memory", s->heads, s->head_dim, s->rank_q, s->rank_k, s->rank_v, p->wg_size,
                 (unsigned long long)info->local_mem_bytes);
        return T6_ERROR_UNSUPPORTED;
    }
    if (p->registers == 0) {
        p->registers = NVIDIA_REGISTERS_PER_CU / (p->wg_size * p->cu_groups) / 8 * 8;
        if (p->registers > 255) p->registers = 255;
    }

    /* A group per row and split, a split a whole number of tiles; partial rows are indexed with 32 bits. */
    t6i_split_positions(info, s, s->rows, p->cu_groups, p->min_split, p->tile, 4294967295ull, &p->splits,
                        &p->split_length);
    return T6_SUCCESS;
}
