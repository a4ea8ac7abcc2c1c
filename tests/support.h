/* support.h — what every test suite shares: seeded random inputs, a context on the test device, comparisons
 * with the double-precision reference, and assertions that print the library's last error. */
#ifndef T6_TEST_SUPPORT_H
#define T6_TEST_SUPPORT_H

#include "ops/ops.h"
#include "runtime/numerics.h"

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/** The seed of this run: T6_TEST_SEED if set, else a fixed default. Printed by every failing comparison. */
uint64_t t6t_seed(void);

/** The library's generator (runtime/numerics.h: t6i_uniform, t6i_normal, t6i_fill_normal) for `stream` (tests
 *  use distinct streams for distinct inputs) under the run's seed. */
t6i_rng t6t_rng_make(uint64_t stream);

/** A context on the test device (T6_DEVICE, else the default), failing the test with the reason if none. */
t6_context *t6t_context(void);
/** Exits the suite with 77 (skipped) unless the default device is a GPU. */
void t6t_require_gpu(void);

/** Converts floats to doubles (into a new malloc'ed array the caller frees). */
double *t6t_to_double(const float *values, size_t n);

/** Fails the test unless `expr` returns T6_SUCCESS, printing the status and the context's last error. */
#define T6T_OK(ctx, expr)                                                                                        \
    do {                                                                                                         \
        t6_status t6t_s_ = (expr);                                                                               \
        ck_assert_msg(t6t_s_ == T6_SUCCESS, "%s returned %s: %s", #expr, t6_status_string(t6t_s_),               \
                      t6_context_last_error(ctx));                                                               \
    } while (0)

/** Fails the test unless `expr` returns `expected`. */
#define T6T_STATUS(ctx, expected, expr)                                                                          \
    do {                                                                                                         \
        t6_status t6t_s_ = (expr);                                                                               \
        ck_assert_msg(t6t_s_ == (expected), "%s returned %s, expected %s (%s)", #expr, t6_status_string(t6t_s_), \
                      t6_status_string(expected), t6_context_last_error(ctx));                                   \
    } while (0)

/** Fails the test unless got matches ref within tol (t6i_relative_error: TPA.md's max|got − ref| ≤ tol·max|ref|),
 *  naming the seed. */
#define T6T_CLOSE(got, ref, n, tol, what)                                                                        \
    do {                                                                                                         \
        double t6t_e_ = t6i_relative_error((got), (ref), (n));                                                   \
        ck_assert_msg(t6t_e_ <= (tol), "%s: relative error %.3g > %.3g (seed %llu)", (what), t6t_e_,             \
                      (double)(tol), (unsigned long long)t6t_seed());                                            \
    } while (0)

/** Makes a fresh folder under /tmp named after `prefix` into `path` (capacity `cap`); fails the test if it
 *  cannot. t6t_remove_tree deletes it and everything in it (best effort). */
void t6t_temp_dir(const char *prefix, char *path, size_t cap);
void t6t_remove_tree(const char *path);

/** Runs `suite` with CK_NORMAL output and returns the process exit code. */
int t6t_run(Suite *suite);

#endif
