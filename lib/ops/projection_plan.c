/* projection_plan.c — the projection kernels' local memory (projection_plan.h). */
#include "ops/projection_plan.h"

int t6i_projection_rows_bound(int rows, int block)
{
    int bound = 1;
    while (bound < rows && bound < block) bound *= 2;
    return bound > block ? block : bound;
}

size_t t6i_projection_rows_local_bytes(int lanes, int cols, int bound, bool norm)
{
    /* projection.cl's RW_VALUES: the outputs, and each row's sum of squares with the norm. */
    const int values = cols * bound + (norm ? bound : 0);
    const int parts = lanes >= values ? lanes / values : 1;
    return sizeof(float) * ((size_t)lanes * (size_t)(values + 1) + (size_t)(parts * values));
}

size_t t6i_projection_tiles_local_bytes(int kwg, int mwg, int nwg, int vwm, int vwn, bool sa, bool sb)
{
    /* TL_A_PITCH = MWG + VWM and TL_B_PITCH = NWG + VWN floats per k. */
    const size_t floats = (size_t)kwg * ((sa ? (size_t)(mwg + vwm) : 0) + (sb ? (size_t)(nwg + vwn) : 0));
    return sizeof(float) * floats;
}
