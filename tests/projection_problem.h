/* projection_problem.h — a layer's random weights and a call's rows, and the check of t6_project against
 * t6_ref_project (query rows, every cache factor at the rows' slots and positions, nothing written elsewhere),
 * shared by the projection suites. */
#ifndef T6_TEST_PROJECTION_PROBLEM_H
#define T6_TEST_PROJECTION_PROBLEM_H

#include "support.h"

/* A projection problem: a layer's host weights (rounded to the weight dtype) and the call's rows. */
typedef struct projection_problem {
    t6_layer_config config;
    float *weights[6];  /* T6 layout, values representable in config.weight_dtype */
    double *weights_ref[6];
    int rows;
    float *hidden;
    double *hidden_ref;
    int *slots, *positions;
} projection_problem;

/** Filled into every cache position before a call (exact in every storage type): writes outside the call's rows
 *  show up. */
#define PROJECTION_SENTINEL 1536.0f

/** Rows of T6 weight matrix `f` (A_Q, A_K, A_V, B_Q, B_K, B_V). */
int projection_matrix_rows(const t6_layer_config *c, int f);
/** Weights N(0, 1/C) rounded to config.weight_dtype and `rows` N(0, 1) hidden rows; slots and positions zero. */
projection_problem projection_problem_make(t6_layer_config config, int rows, uint64_t stream);
void projection_problem_free(projection_problem *p);
/** A layer from p's host weights. */
t6_layer *projection_layer(t6_context *ctx, const projection_problem *p);
/** A factor cache for the layer's shape. */
t6_cache *projection_cache(t6_context *ctx, const t6_layer_config *c, int slots, int capacity, t6_dtype dtype);
/** Fills every position of every slot with PROJECTION_SENTINEL and resets the slots. */
void projection_cache_fill(t6_cache *cache);

/** Projects p's rows through `layer` into `cache` with `method` and checks the query rows and every cache factor
 *  at the rows' (slot, position) against t6_ref_project, and that nothing else was written. The cache must have
 *  been filled with projection_cache_fill. With `may_refuse`, tunables this device cannot run
 *  (T6_ERROR_INVALID_PARAMS) return false instead of failing, once it is checked that the refused call wrote
 *  nothing. */
bool projection_check(t6_context *ctx, t6_layer *layer, t6_cache *cache, const projection_problem *p,
                      t6_projection_method method, const char *label, bool may_refuse);

#endif
