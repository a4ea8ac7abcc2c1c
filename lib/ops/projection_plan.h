/* projection_plan.h — the projection kernels' local memory (kernels_cl/projection.cl), as pure arithmetic: the
 * library checks a rows plan with it (projection.c) and t6-tune's projection spaces prune with it
 * (tuner/tune/tune_spaces.c, through the t6_plans target), so that the two cannot drift apart. */
#ifndef T6_PROJECTION_PLAN_H
#define T6_PROJECTION_PLAN_H

#include <stdbool.h>
#include <stddef.h>

/** The rows one group of t6_project_rows computes: the call's rows rounded up to a power of two, at most `block`
 *  (T6_PRJ_RW_BLOCK). */
int t6i_projection_rows_bound(int rows, int block);

/** Local memory of t6_project_rows: `lanes` work-items over `cols` packed columns × `bound` rows (RW_VALUES, and
 *  each row's sum of squares with the norm). */
size_t t6i_projection_rows_local_bytes(int lanes, int cols, int bound, bool norm);

/** Local memory of t6_project_tiles: the staged K chunks of the row tile (SA) and the weight tile (SB), k-major
 *  at their padded pitches, as the kernel declares them. */
size_t t6i_projection_tiles_local_bytes(int kwg, int mwg, int nwg, int vwm, int vwn, bool sa, bool sb);

#endif
