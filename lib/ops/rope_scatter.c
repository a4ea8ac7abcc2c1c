/* rope_scatter.c — the epilogue of a projection whose GEMM ran as a kernel of its own (kernels_cl/
 * rope_scatter.cl): after CLBlast's SGEMM, and after the fused tiles kernel split over C. Adds the ranges'
 * partial sums, rotates B_Q and B_K and scatters every factor to the query output and the cache. */
#include "ops/projection.h"

#include <string.h>

static t6_status rope_scatter_with(t6_context *ctx, const t6i_projection_call *call, cl_mem product, int ranges,
                                   const t6i_params *params)
{
    static const char name[] = "t6_rope_scatter";
    t6_status status = T6_SUCCESS;
    const t6_layer *layer = call->layer;
    const t6_cache *cache = call->cache;
    const t6_layer_config *c = &layer->config;
    const int group = t6i_param(params, T6I_RS_WG_SIZE); /* within the device's limit: t6i_params_check */
    /* Only the macros rope_scatter.cl reads: layers of any width and weight dtype share its programs. */
    char options[512] = "";
    t6i_define(options, sizeof options, "T6_HEADS", c->heads);
    t6i_define(options, sizeof options, "T6_HEAD_DIM", c->head_dim);
    t6i_define(options, sizeof options, "T6_RANK_Q", c->rank_q);
    t6i_define(options, sizeof options, "T6_RANK_K", c->rank_k);
    t6i_define(options, sizeof options, "T6_RANK_V", c->rank_v);
    t6i_define(options, sizeof options, "T6_CACHE_DTYPE", cache->config.dtype);
    t6i_define(options, sizeof options, "T6_ROPE_STYLE", c->rope_style);
    t6i_params_append_options(params, "rope_scatter", options, sizeof options);
    cl_kernel kernel = NULL;
    T6I_TRY(t6i_get_kernel(ctx, "rope_scatter", options, name, &kernel));

    t6i_arg args[] = {T6I_ARG_MEM(product),
                      T6I_ARG_UINT(call->rows),
                      T6I_ARG_UINT(ranges),
                      T6I_ARG_MEM(layer->inv_freq),
                      T6I_ARG_MEM(call->meta),
                      T6I_ARG_MEM(call->query),
                      T6I_ARG_UINT(call->query_offset),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_A_K]),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_A_V]),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_B_K]),
                      T6I_ARG_MEM(cache->factor[T6_FACTOR_B_V])};
    T6I_TRY(t6i_set_args(ctx, kernel, name, args, 11));
    const size_t local = (size_t)group;
    const size_t global = t6i_round_up((size_t)call->rows * ((size_t)layer->columns / 2), local);
    T6I_TRY(t6i_launch(ctx, kernel, name, 1, &global, &local));
cleanup:
    return status;
}

t6_status t6i_rope_scatter(t6_context *ctx, const t6i_projection_call *call, cl_mem product, int ranges)
{
    t6_status status = T6_SUCCESS;
    const t6_layer_config *c = &call->layer->config;
    t6i_params params;
    t6i_shape shape;
    memset(&shape, 0, sizeof shape);
    shape.f[T6I_F_HEADS] = c->heads;
    shape.f[T6I_F_HEAD_DIM] = c->head_dim;
    shape.f[T6I_F_RANK_Q] = c->rank_q;
    shape.f[T6I_F_RANK_K] = c->rank_k;
    shape.f[T6I_F_RANK_V] = c->rank_v;
    shape.f[T6I_F_DTYPE] = call->cache->config.dtype;
    shape.f[T6I_F_ROWS] = call->rows;
    T6I_TRY(t6i_params_resolve(ctx, T6_OP_ROPE_SCATTER, &shape, &params));
    do {
        status = rope_scatter_with(ctx, call, product, ranges, &params);
    } while (t6i_params_fall_back(ctx, &status, &shape, &params));
cleanup:
    return status;
}
