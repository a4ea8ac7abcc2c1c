/* attention_problem.h — a factor cache filled with random factors, a query buffer, and checks of attention
 * outputs against the double-precision reference (fed the stored values and the unrounded ones), shared by the
 * attention suites. */
#ifndef T6_TEST_ATTENTION_PROBLEM_H
#define T6_TEST_ATTENTION_PROBLEM_H

#include "support.h"

enum { MAX_SLOTS = 4 };

typedef struct problem {
    t6_context *ctx;
    t6_cache_config config;
    t6_ref_shape shape;
    t6_cache *cache;
    double *stored[4][MAX_SLOTS]; /* per factor and slot: the values as the cache holds them */
    double *exact[4][MAX_SLOTS];  /* the values before rounding to the storage type */
    cl_mem query, out; /* out: rows + 1 rows, the last a guard */
    double *query_ref; /* rows × query row */
    int rows;
} problem;

size_t problem_query_row(const problem *p);
size_t problem_out_row(const problem *p);

/** Slots 0..slots−1 get written[i] random N(0, 1) positions; `rows` random query rows are uploaded. */
void problem_make(problem *p, t6_context *ctx, t6_ref_shape shape, t6_dtype dtype, int slots, int capacity,
                  const int *written, int rows, uint64_t stream);
void problem_free(problem *p);

/** Fills every row of the output buffer, the guard row after the `rows` included, with NaN: what a call leaves
 *  unwritten then fails problem_check_rows, and problem_check_untouched sees what it wrote past its rows. */
void problem_poison_out(const problem *p);
/** Fails unless output rows `first`..rows (the guard row included) are still NaN since problem_poison_out. */
void problem_check_untouched(const problem *p, int first, const char *what);

/** Multiplies every A_Q of the query rows by `factor` (TPA.md's peaked inputs: × 8 and × 32) and uploads them. */
void problem_scale_query_a(problem *p, double factor);

/** Downloads `rows` output rows and checks them: within `tolerance` of max|ref| against the reference fed the
 *  stored values, and (unless `unrounded` is false) within TPA.md's storage tolerance against the unrounded
 *  ones. positions[i], slots[i] per row. */
void problem_check_rows(const problem *p, const t6_attention_options *options, int rows, const int *slots,
                        const int *positions, double tolerance, bool unrounded, const char *what);

/** Causal prefill of `batch` entries (counts[i] queries of slot slots[i] from position starts[i], the rows in
 *  entry order, at most 64), checked as problem_check_rows does. */
void problem_prefill_and_check(problem *p, const t6_attention_options *options, int batch, const int *slots,
                               const int *starts, const int *counts, double tolerance, bool unrounded,
                               const char *what);

/** Decode of `batch` entries (slots[i], lengths[i]) with query rows 0..batch−1, checked at 1e-4 (strict). */
void problem_decode_and_check(problem *p, const t6_attention_options *options, int batch, const int *slots,
                              const int *lengths, const char *what);

#endif
