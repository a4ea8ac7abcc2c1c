/* numerics.c — the relative error of TPA.md and the seeded generator (numerics.h). */
#include "numerics.h"

#include <math.h>

double t6i_relative_error(const float *got, const double *ref, size_t n)
{
    double max_ref = 0.0, max_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(ref[i])) return INFINITY;
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_diff = fmax(max_diff, fabs((double)got[i] - ref[i]));
    }
    return max_ref > 0.0 ? max_diff / max_ref : INFINITY;
}

double t6i_relative_error_double(const double *got, const double *ref, size_t n)
{
    double max_ref = 0.0, max_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(ref[i])) return INFINITY;
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_diff = fmax(max_diff, fabs(got[i] - ref[i]));
    }
    return max_ref > 0.0 ? max_diff / max_ref : INFINITY;
}

t6i_rng t6i_rng_make(uint64_t seed, uint64_t stream)
{
    t6i_rng rng = {seed * 0x9E3779B97F4A7C15ull + stream * 0xD1B54A32D192ED03ull + 1};
    if (rng.state == 0) rng.state = 0x9E3779B97F4A7C15ull; /* the one state xorshift never leaves */
    for (int i = 0; i < 4; i++) t6i_rng_next(&rng);
    return rng;
}

uint64_t t6i_rng_next(t6i_rng *rng)
{
    rng->state ^= rng->state >> 12;
    rng->state ^= rng->state << 25;
    rng->state ^= rng->state >> 27;
    return rng->state * 0x2545F4914F6CDD1Dull;
}

double t6i_uniform(t6i_rng *rng) { return (double)(t6i_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0); }

int t6i_below(t6i_rng *rng, int n) { return n > 0 ? (int)(t6i_rng_next(rng) % (uint64_t)n) : 0; }

double t6i_normal(t6i_rng *rng)
{
    double u = t6i_uniform(rng), v = t6i_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v); /* 1 − u in (0, 1]: the log is finite */
}

void t6i_fill_normal(t6i_rng *rng, float *out, size_t n, double sigma)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)(sigma * t6i_normal(rng));
}

void t6i_fill_uniform(t6i_rng *rng, float *out, size_t n, double half_width)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)((t6i_uniform(rng) - 0.5) * (2.0 * half_width));
}
