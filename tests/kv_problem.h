/* kv_problem.h — a conventional K/V cache with random contents, and MHA/GQA decode and prefill checked against
 * t6_ref_attention fed the values the cache stored, shared by the MHA suites. */
#ifndef T6_TEST_KV_PROBLEM_H
#define T6_TEST_KV_PROBLEM_H

#include "support.h"

#define KV_MAX_SLOTS 4
#define KV_TOLERANCE 1e-4

/* A K/V cache filled with seeded random values, and the same values as the reference sees them. */
typedef struct kv_case {
    t6_context *ctx;
    t6_kv_cache *cache;
    t6_kv_cache_config config;
    double *k_ref[KV_MAX_SLOTS], *v_ref[KV_MAX_SLOTS]; /* capacity × kv_heads × D, rounded to the cache dtype */
} kv_case;

void kv_case_open(kv_case *c, t6_context *ctx, int kv_heads, int head_dim, int slots, int capacity, t6_dtype dtype);
void kv_case_close(kv_case *c);
/** Writes `count` random positions of `slot` from `first` on through the host path. */
void kv_case_fill(kv_case *c, int slot, int first, int count, uint64_t stream);

/** A device buffer of `n` random fp32 values after `pad` elements of padding (offsets are then exercised); their
 *  values as doubles in *host_ref (the caller frees it). */
cl_mem kv_random_buffer(t6_context *ctx, size_t pad, size_t n, uint64_t stream, double **host_ref);
/** The same with values of standard deviation `sigma` (8 and 32 give TPA.md's peaked logits as queries). */
cl_mem kv_random_buffer_sigma(t6_context *ctx, size_t pad, size_t n, uint64_t stream, double sigma, double **host_ref);
/** `n` floats of `buffer` from `offset` on, in a new malloc'ed array. */
float *kv_download(t6_context *ctx, cl_mem buffer, size_t offset, size_t n);

/** Runs decode and returns its output (batch × heads × D; the caller frees it); checks it against the reference
 *  (an output the kernel leaves unwritten is NaN and fails). */
float *kv_check_decode(kv_case *c, int heads, int batch, const int *slots, const int *lengths, float scale,
                       const char *what);
/** Runs prefill with query rows from stream `stream`; checks every row against the reference and returns the
 *  output (Σ counts × heads × D; the caller frees it). */
float *kv_check_prefill(kv_case *c, int heads, int batch, const int *slots, const int *starts, const int *counts,
                        uint64_t stream, const char *what);
/** The same with queries of standard deviation `q_sigma` and a bound of `tolerance`·max|ref|. */
float *kv_check_prefill_within(kv_case *c, int heads, int batch, const int *slots, const int *starts,
                               const int *counts, uint64_t stream, double q_sigma, double tolerance, const char *what);

#endif
