/* numerics.h — what "correct" and "random" mean everywhere in t6: the relative error every kernel is judged by
 * (the library's self-tests, t6-tune's candidate check, the test suites) and the one seeded generator of
 * random inputs (self-tests, the model's random weights, tests, t6-tune, t6-bench). Standard C only, so that
 * the programs of tuner/ can link the same source (the t6_numerics target) without the library's internals. */
#ifndef T6_NUMERICS_H
#define T6_NUMERICS_H

#include <stddef.h>
#include <stdint.h>

/** TPA.md, "Numerical tolerance and precision modes": a result passes a tolerance `tol` when
 *  max |got − ref| ≤ tol · max |ref|. This returns max |got − ref| / max |ref| over the n values, and +∞ when
 *  a value of either array is NaN or infinite or when the reference is all zeros (which would prove nothing),
 *  so that `error <= tol` is false for every result that cannot be trusted. */
double t6i_relative_error(const float *got, const double *ref, size_t n);

/** The same metric for a result computed in double precision (the reference checked against itself). */
double t6i_relative_error_double(const double *got, const double *ref, size_t n);

/** A small deterministic generator (xorshift64*, Vigna 2016): 64 bits of state, any nonzero value valid. The
 *  model's random weights set the state directly (t6_model_create_random promises the same weights for a seed),
 *  everything else seeds it with t6i_rng_make. */
typedef struct t6i_rng {
    uint64_t state;
} t6i_rng;

/** A generator for stream `stream` under `seed` (distinct inputs of one run take distinct streams), its first
 *  draws discarded so that nearby seeds give unrelated sequences. */
t6i_rng t6i_rng_make(uint64_t seed, uint64_t stream);
/** The next 64 random bits. */
uint64_t t6i_rng_next(t6i_rng *rng);
/** Uniform in [0, 1), 53 random bits. */
double t6i_uniform(t6i_rng *rng);
/** Uniform in {0, …, n − 1}; 0 when n ≤ 0. */
int t6i_below(t6i_rng *rng, int n);
/** Standard normal N(0, 1), by Box–Muller. */
double t6i_normal(t6i_rng *rng);
/** n values of N(0, σ²). */
void t6i_fill_normal(t6i_rng *rng, float *out, size_t n, double sigma);
/** n values uniform in [−half_width, half_width). */
void t6i_fill_uniform(t6i_rng *rng, float *out, size_t n, double half_width);

#endif
