/* attention_problem.c — see attention_problem.h. */
#include "attention_problem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t problem_query_row(const problem *p)
{
    return (size_t)p->shape.heads * p->shape.rank_q + (size_t)p->shape.rank_q * p->shape.head_dim;
}
size_t problem_out_row(const problem *p) { return (size_t)p->shape.heads * p->shape.head_dim; }

/* Slots 0..slots−1 get written[i] random positions; `rows` random query rows are uploaded. */
void problem_make(problem *p, t6_context *ctx, t6_ref_shape shape, t6_dtype dtype, int slots, int capacity,
                  const int *written, int rows, uint64_t stream)
{
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    p->shape = shape;
    p->config = (t6_cache_config){sizeof(t6_cache_config), shape.heads, shape.head_dim, shape.rank_k, shape.rank_v,
                                  slots, capacity, dtype};
    T6T_OK(ctx, t6_cache_create(ctx, &p->config, &p->cache));
    t6i_rng rng = t6t_rng_make(stream);
    for (int f = 0; f < 4; f++)
        for (int s = 0; s < slots; s++) {
            if (written[s] == 0) continue;
            const size_t n = (size_t)written[s] * t6_cache_factor_size(&p->config, (t6_cache_factor)f);
            float *host = malloc(n * sizeof *host);
            ck_assert_ptr_nonnull(host);
            t6i_fill_normal(&rng, host, n, 1.0);
            p->exact[f][s] = t6t_to_double(host, n);
            T6T_OK(ctx, t6_cache_write(p->cache, (t6_cache_factor)f, s, 0, written[s], host));
            /* Read back what the device stored, and check it is what rounding on the host gives. */
            T6T_OK(ctx, t6_cache_read(p->cache, (t6_cache_factor)f, s, 0, written[s], host));
            p->stored[f][s] = t6t_to_double(host, n);
            for (size_t i = 0; i < n; i++)
                ck_assert_float_eq(host[i], t6_round_to_dtype(dtype, (float)p->exact[f][s][i]));
            free(host);
        }
    p->rows = rows;
    const size_t n = (size_t)rows * problem_query_row(p);
    float *host = malloc(n * sizeof *host);
    ck_assert_ptr_nonnull(host);
    t6i_fill_normal(&rng, host, n, 1.0);
    p->query_ref = t6t_to_double(host, n);
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, n, &p->query));
    T6T_OK(ctx, t6_buffer_upload(ctx, p->query, T6_F32, 0, n, host));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, (size_t)(rows + 1) * problem_out_row(p), &p->out));
    free(host);
}

void problem_free(problem *p)
{
    for (int f = 0; f < 4; f++)
        for (int s = 0; s < MAX_SLOTS; s++) {
            free(p->stored[f][s]);
            free(p->exact[f][s]);
        }
    free(p->query_ref);
    clReleaseMemObject(p->query);
    clReleaseMemObject(p->out);
    t6_cache_destroy(p->cache);
}

/* The reference output of query row `row` at position `position` of `slot` (decode with length position+1). */
static void reference_row(const problem *p, const t6_attention_options *options, int row, int slot, int position,
                          bool rounded, double *out)
{
    double *const(*f)[MAX_SLOTS] = rounded ? p->stored : p->exact;
    const double *q = p->query_ref + (size_t)row * problem_query_row(p);
    T6T_OK(NULL, t6_ref_decode(&p->shape, options, position + 1, q, q + p->shape.heads * p->shape.rank_q,
                               f[T6_FACTOR_A_K][slot], f[T6_FACTOR_B_K][slot], f[T6_FACTOR_A_V][slot],
                               f[T6_FACTOR_B_V][slot], out));
}

void problem_poison_out(const problem *p)
{
    const size_t n = (size_t)(p->rows + 1) * problem_out_row(p);
    float *host = malloc(n * sizeof *host);
    ck_assert_ptr_nonnull(host);
    for (size_t i = 0; i < n; i++) host[i] = NAN;
    T6T_OK(p->ctx, t6_buffer_upload(p->ctx, p->out, T6_F32, 0, n, host));
    free(host);
}

void problem_check_untouched(const problem *p, int first, const char *what)
{
    const size_t row = problem_out_row(p), n = (size_t)(p->rows + 1 - first) * row;
    float *host = malloc(n * sizeof *host);
    ck_assert_ptr_nonnull(host);
    T6T_OK(p->ctx, t6_buffer_download(p->ctx, p->out, T6_F32, (size_t)first * row, n, host));
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(isnan(host[i]), "%s: output row %zu (past the call's %d rows) was written (seed %llu)", what,
                      (size_t)first + i / row, first, (unsigned long long)t6t_seed());
    free(host);
}

void problem_scale_query_a(problem *p, double factor)
{
    const size_t row = problem_query_row(p), a_q = (size_t)p->shape.heads * (size_t)p->shape.rank_q;
    const size_t n = (size_t)p->rows * row;
    float *host = malloc(n * sizeof *host);
    ck_assert_ptr_nonnull(host);
    for (int r = 0; r < p->rows; r++)
        for (size_t i = 0; i < a_q; i++) p->query_ref[(size_t)r * row + i] *= factor;
    for (size_t i = 0; i < n; i++) host[i] = (float)p->query_ref[i];
    T6T_OK(p->ctx, t6_buffer_upload(p->ctx, p->query, T6_F32, 0, n, host));
    free(host);
}

static double tolerance_unrounded(t6_dtype dtype) { return dtype == T6_F16 ? 5e-3 : dtype == T6_BF16 ? 2e-2 : 1e-4; }

/* Downloads `rows` output rows and checks them against both references. positions[i], slots[i] per row. */
void problem_check_rows(const problem *p, const t6_attention_options *options, int rows, const int *slots,
                        const int *positions, double tolerance, bool unrounded, const char *what)
{
    const size_t n = (size_t)rows * problem_out_row(p);
    float *got = malloc(n * sizeof *got);
    double *ref = malloc(n * sizeof *ref), *ref_exact = malloc(n * sizeof *ref_exact);
    ck_assert(got && ref && ref_exact);
    T6T_OK(p->ctx, t6_buffer_download(p->ctx, p->out, T6_F32, 0, n, got));
    for (int i = 0; i < rows; i++) {
        reference_row(p, options, i, slots[i], positions[i], true, ref + (size_t)i * problem_out_row(p));
        reference_row(p, options, i, slots[i], positions[i], false, ref_exact + (size_t)i * problem_out_row(p));
    }
    char label[1200];
    snprintf(label, sizeof label, "%s (%s cache, stored values)", what, t6_dtype_name(p->config.dtype));
    T6T_CLOSE(got, ref, n, tolerance, label);
    snprintf(label, sizeof label, "%s (%s cache, unrounded values)", what, t6_dtype_name(p->config.dtype));
    if (unrounded) T6T_CLOSE(got, ref_exact, n, tolerance_unrounded(p->config.dtype), label);
    free(got);
    free(ref);
    free(ref_exact);
}

/* Decode of `batch` entries (slots[i], lengths[i]) with query rows 0..batch−1, checked. */
void problem_prefill_and_check(problem *p, const t6_attention_options *options, int batch, const int *slots,
                               const int *starts, const int *counts, double tolerance, bool unrounded,
                               const char *what)
{
    T6T_OK(p->ctx, t6_attention_prefill(p->cache, p->shape.rank_q, batch, slots, starts, counts, p->query, 0, p->out,
                                        0, options));
    int row_slots[64], positions[64], rows = 0;
    for (int e = 0; e < batch; e++)
        for (int q = 0; q < counts[e]; q++, rows++) {
            ck_assert_int_lt(rows, 64);
            row_slots[rows] = slots[e];
            positions[rows] = starts[e] + q;
        }
    problem_check_rows(p, options, rows, row_slots, positions, tolerance, unrounded, what);
}

void problem_decode_and_check(problem *p, const t6_attention_options *options, int batch, const int *slots,
                              const int *lengths, const char *what)
{
    T6T_OK(p->ctx, t6_attention_decode(p->cache, p->shape.rank_q, batch, slots, lengths, p->query, 0, p->out, 0,
                                       options));
    int positions[16];
    ck_assert_int_le(batch, 16);
    for (int i = 0; i < batch; i++) positions[i] = lengths[i] - 1;
    problem_check_rows(p, options, batch, slots, positions, 1e-4, true, what);
}

