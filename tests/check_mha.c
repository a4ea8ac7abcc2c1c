/* check_mha.c — the conventional K/V cache and MHA/GQA/MQA decode and prefill against t6_ref_attention, fed
 * exactly the values the cache stored, in every storage type, GQA group size and odd shape; split decoding
 * against a single split; prefill against decode and against itself in chunks; argument validation. */
#include "kv_problem.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MHA, GQA (12 query heads over 4 and over 3 kv heads) and MQA (12 over 1: more than the default head block
 * of 8, so two work-groups share the group), each storage type among them. Shapes are shared with the other
 * tests so that kernel builds are too (they dominate the suite's time on a CPU device). */
START_TEST(decode_mha_gqa_mqa_every_dtype)
{
    static const struct {
        int kv_heads, heads;
        t6_dtype dtype;
    } shapes[4] = {{4, 4, T6_F32}, {4, 12, T6_F16}, {3, 12, T6_BF16}, {1, 12, T6_F16}};
    t6_context *ctx = t6t_context();
    for (int i = 0; i < 4; i++) {
        kv_case c;
        kv_case_open(&c, ctx, shapes[i].kv_heads, 64, 2, 300, shapes[i].dtype);
        kv_case_fill(&c, 0, 0, 300, 1 + (uint64_t)i);
        kv_case_fill(&c, 1, 0, 37, 11 + (uint64_t)i);
        const int slots[3] = {0, 1, 0}, lengths[3] = {300, 37, 1};
        char what[96];
        snprintf(what, sizeof what, "decode, %d heads over %d, %s cache", shapes[i].heads, shapes[i].kv_heads,
                 t6_dtype_name(shapes[i].dtype));
        free(kv_check_decode(&c, shapes[i].heads, 3, slots, lengths, 0.0f, what));
        strcat(what, ", scale 0.3");
        free(kv_check_decode(&c, shapes[i].heads, 3, slots, lengths, 0.3f, what));
        kv_case_close(&c);
    }
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(decode_odd_shapes)
{
    t6_context *ctx = t6t_context();
    /* The GPU kernel and geometry (one kv head per work-group) wherever the suite runs; the CPU default
     * (whole rows, all kv heads) is what the other decode tests run on a CPU device. */
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_KERNEL", 1));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_KV_BLOCK", 1));
    /* D=80 with 5 heads (MHA), and the other head dims with small odd groups. */
    static const struct {
        int kv_heads, heads, head_dim;
        t6_dtype dtype;
    } shapes[4] = {{5, 5, 80, T6_F16}, {1, 3, 32, T6_F16}, {2, 6, 96, T6_BF16}, {3, 3, 128, T6_F32}};
    for (int i = 0; i < 4; i++) {
        kv_case c;
        kv_case_open(&c, ctx, shapes[i].kv_heads, shapes[i].head_dim, 1, 133, shapes[i].dtype);
        kv_case_fill(&c, 0, 0, 133, 30 + (uint64_t)i);
        const int slots[2] = {0, 0}, lengths[2] = {133, 18};
        char what[64];
        snprintf(what, sizeof what, "decode, %d heads over %d, D=%d", shapes[i].heads, shapes[i].kv_heads,
                 shapes[i].head_dim);
        free(kv_check_decode(&c, shapes[i].heads, 2, slots, lengths, 0.0f, what));
        kv_case_close(&c);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* Lengths 1, 7, 1000 and 1500 in one batch, with one split and with many: the merge must not change the
 * result, and splits past a short entry's end must contribute nothing. */
START_TEST(decode_mixed_lengths_and_splits)
{
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, 3, 64, 3, 1500, T6_BF16);
    kv_case_fill(&c, 0, 0, 1500, 40);
    kv_case_fill(&c, 1, 0, 1000, 41);
    kv_case_fill(&c, 2, 0, 7, 42);
    const int slots[4] = {1, 2, 1, 0}, lengths[4] = {1, 7, 1000, 1500};
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_SPLIT_MAX", 1));
    float *single = kv_check_decode(&c, 12, 4, slots, lengths, 0.0f, "decode, one split");
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_SPLIT_MAX", 4096));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_SPLIT_MIN", 64));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_GROUPS_PER_CU", 256));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_KERNEL", 1)); /* as on a GPU */
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_KV_BLOCK", 1));
    float *split = kv_check_decode(&c, 12, 4, slots, lengths, 0.0f, "decode, many splits");
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_KERNEL", 2)); /* as on a CPU */
    float *split_rows = kv_check_decode(&c, 12, 4, slots, lengths, 0.0f, "decode, many splits, row kernel");
    double *single_ref = t6t_to_double(single, 4 * 12 * 64);
    T6T_CLOSE(split, single_ref, 4 * 12 * 64, 1e-5, "many splits against one");
    T6T_CLOSE(split_rows, single_ref, 4 * 12 * 64, 1e-5, "many splits of the row kernel against one");
    free(single_ref);
    free(single);
    free(split);
    free(split_rows);
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

/* Every decode kernel variant a profile may pick computes the same thing. */
START_TEST(decode_tunable_variants)
{
    static const struct {
        int kernel, vec, wg_size, unroll, kv_block, head_block, half_math;
    } variants[4] = {{1, 2, 64, 1, 1, 1, 1}, {1, 16, 512, 3, 0, 8, 0}, {1, 4, 1, 16, 2, 2, 1}, {2, 4, 1, 3, 1, 2, 1}};
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, 2, 80, 1, 300, T6_F16);
    kv_case_fill(&c, 0, 0, 300, 50);
    const int slots[2] = {0, 0}, lengths[2] = {300, 77};
    for (int i = 0; i < 4; i++) {
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_KERNEL", variants[i].kernel));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_VEC", variants[i].vec));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_WG_SIZE", variants[i].wg_size));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_KV_BLOCK", variants[i].kv_block));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_UNROLL", variants[i].unroll));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_HEAD_BLOCK", variants[i].head_block));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_HALF_MATH", variants[i].half_math));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_SPLIT_MIN", 16 << i));
        char what[96];
        snprintf(what, sizeof what, "decode variant %d (kernel %d vec %d wg %d unroll %d kv block %d head block %d)",
                 i, variants[i].kernel, variants[i].vec, variants[i].wg_size, variants[i].unroll,
                 variants[i].kv_block, variants[i].head_block);
        free(kv_check_decode(&c, 6, 2, slots, lengths, 0.0f, what));
    }
    /* A combination the kernel cannot run is refused at the call, not at build time. */
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_VEC", 3));
    cl_mem q = NULL, out = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 2 * 6 * 80, &q));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 2 * 6 * 80, &out));
    T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS, t6_mha_decode(c.cache, 6, 2, slots, lengths, q, 0, out, 0, 0.0f));
    clReleaseMemObject(q);
    clReleaseMemObject(out);
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

/* fp16 at its edges, through both conversions: subnormal and largest-magnitude K, subnormal V. */
START_TEST(decode_half_extremes)
{
    t6_context *ctx = t6t_context();
    for (int half_math = 0; half_math < 2; half_math++) {
        kv_case c;
        kv_case_open(&c, ctx, 1, 32, 1, 40, T6_F16);
        kv_case_fill(&c, 0, 0, 40, 60);
        float k[32], v[32];
        for (int d = 0; d < 32; d++) {
            k[d] = d % 2 ? 6e-8f * (float)(d + 1) : -65504.0f;
            v[d] = d % 3 ? 5.9e-5f : 1000.0f;
        }
        T6T_OK(ctx, t6_kv_cache_write(c.cache, 0, 17, 1, k, v));
        for (int d = 0; d < 32; d++) {
            c.k_ref[0][17 * 32 + d] = t6_round_to_dtype(T6_F16, k[d]);
            c.v_ref[0][17 * 32 + d] = t6_round_to_dtype(T6_F16, v[d]);
        }
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_DECODE, "T6_MHD_HALF_MATH", half_math));
        const int slots[1] = {0}, lengths[1] = {40};
        free(kv_check_decode(&c, 3, 1, slots, lengths, 1e-4f, half_math ? "fp16 bit math" : "fp16 vload_half"));
        kv_case_close(&c);
    }
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(prefill_matches_reference)
{
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, 3, 80, 2, 300, T6_F16);
    kv_case_fill(&c, 0, 0, 300, 70);
    kv_case_fill(&c, 1, 0, 45, 71);
    /* A long prompt, a short one at a late start (a second chunk), and a single query; through the GPU
     * kernel (1) and the CPU kernel (2) whatever the device. */
    const int slots[3] = {0, 1, 0}, starts[3] = {0, 40, 121}, counts[3] = {300, 5, 1};
    for (int kernel = 1; kernel <= 2; kernel++) {
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_KERNEL", kernel));
        char what[64];
        snprintf(what, sizeof what, "prefill kernel %d, 12 heads over 3, D=80", kernel);
        free(kv_check_prefill(&c, 12, 3, slots, starts, counts, 72, what));
    }
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_MHA_PREFILL));
    kv_case_close(&c);

    kv_case_open(&c, ctx, 5, 64, 1, 70, T6_F16);
    kv_case_fill(&c, 0, 0, 70, 73);
    const int slot = 0, start = 0, count = 70;
    free(kv_check_prefill(&c, 5, 1, &slot, &start, &count, 74, "prefill, MHA 5 heads"));
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(prefill_tunable_variants)
{
    /* The GPU kernel (1) in two shapes, the CPU kernel (2) in one, whatever the device. */
    static const struct {
        int kernel, queries, keys, thread_queries, columns, vec;
    } variants[3] = {{1, 64, 64, 4, 8, 8}, {1, 6, 5, 3, 1, 8}, {2, 5, 3, 2, 16, 4}};
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, 2, 32, 1, 150, T6_F32);
    kv_case_fill(&c, 0, 0, 150, 80);
    const int slot = 0, start = 11, count = 139;
    for (int i = 0; i < 3; i++) {
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_KERNEL", variants[i].kernel));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_VEC", variants[i].vec));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_QUERIES", variants[i].queries));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_KEYS", variants[i].keys));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_THREAD_QUERIES", variants[i].thread_queries));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_COLUMNS", variants[i].columns));
        char what[64];
        snprintf(what, sizeof what, "prefill variant %d", i);
        free(kv_check_prefill(&c, 4, 1, &slot, &start, &count, 81, what));
    }
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_KERNEL", 1));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_COLUMNS", 3)); /* does not divide 32 */
    cl_mem q = NULL, out = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 139 * 4 * 32, &q));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 139 * 4 * 32, &out));
    T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS, t6_mha_prefill(c.cache, 4, 1, &slot, &start, &count, q, 0, out, 0, 0.0f));
    clReleaseMemObject(q);
    clReleaseMemObject(out);
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

/* A query at position p gives the same result from prefill as from decode of length p+1, and a prompt
 * prefilled in two chunks gives what one call gives. */
START_TEST(prefill_agrees_with_decode_and_chunks)
{
    enum { HEADS = 12, D = 64, COUNT = 90, PER_QUERY = HEADS * D };
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, 4, D, 1, COUNT, T6_F16);
    kv_case_fill(&c, 0, 0, COUNT, 90);
    float q_host[COUNT * PER_QUERY];
    t6i_rng rng = t6t_rng_make(91);
    t6i_fill_normal(&rng, q_host, COUNT * PER_QUERY, 1.0);
    cl_mem q = NULL, whole = NULL, chunked = NULL, decoded = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, COUNT * PER_QUERY, &q));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, COUNT * PER_QUERY, &whole));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, COUNT * PER_QUERY, &chunked));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, COUNT * PER_QUERY, &decoded));
    T6T_OK(ctx, t6_buffer_upload(ctx, q, T6_F32, 0, COUNT * PER_QUERY, q_host));

    const int slot = 0, zero = 0, count = COUNT, first = 37, rest = COUNT - 37;
    T6T_OK(ctx, t6_mha_prefill(c.cache, HEADS, 1, &slot, &zero, &count, q, 0, whole, 0, 0.0f));
    T6T_OK(ctx, t6_mha_prefill(c.cache, HEADS, 1, &slot, &zero, &first, q, 0, chunked, 0, 0.0f));
    T6T_OK(ctx, t6_mha_prefill(c.cache, HEADS, 1, &slot, &first, &rest, q, first * PER_QUERY, chunked,
                               first * PER_QUERY, 0.0f));
    /* Decode of every position in one batch: entry p has length p+1. */
    int slots[COUNT], lengths[COUNT];
    for (int p = 0; p < COUNT; p++) {
        slots[p] = 0;
        lengths[p] = p + 1;
    }
    T6T_OK(ctx, t6_mha_decode(c.cache, HEADS, COUNT, slots, lengths, q, 0, decoded, 0, 0.0f));
    float *whole_host = kv_download(ctx, whole, 0, COUNT * PER_QUERY);
    float *chunked_host = kv_download(ctx, chunked, 0, COUNT * PER_QUERY);
    float *decoded_host = kv_download(ctx, decoded, 0, COUNT * PER_QUERY);
    double *whole_ref = t6t_to_double(whole_host, COUNT * PER_QUERY);
    T6T_CLOSE(chunked_host, whole_ref, COUNT * PER_QUERY, 1e-6, "prefill in two chunks against one");
    T6T_CLOSE(decoded_host, whole_ref, COUNT * PER_QUERY, KV_TOLERANCE, "decode at every position against prefill");
    free(whole_ref);
    free(whole_host);
    free(chunked_host);
    free(decoded_host);
    clReleaseMemObject(q);
    clReleaseMemObject(whole);
    clReleaseMemObject(chunked);
    clReleaseMemObject(decoded);
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

/* Device-side append stores what host writes store, notes lengths, and refuses positions past capacity. */
START_TEST(append_stores_rows)
{
    enum { KV = 3, D = 64, ROWS = 5, ROW = KV * D };
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, KV, D, 2, 12, T6_BF16);
    kv_case_fill(&c, 0, 0, 9, 100);
    float k[ROWS * ROW], v[ROWS * ROW];
    t6i_rng rng = t6t_rng_make(101);
    t6i_fill_normal(&rng, k, ROWS * ROW, 1.0);
    t6i_fill_normal(&rng, v, ROWS * ROW, 1.0);
    cl_mem k_buffer = NULL, v_buffer = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 7 + ROWS * ROW, &k_buffer));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, ROWS * ROW, &v_buffer));
    T6T_OK(ctx, t6_buffer_upload(ctx, k_buffer, T6_F32, 7, ROWS * ROW, k));
    T6T_OK(ctx, t6_buffer_upload(ctx, v_buffer, T6_F32, 0, ROWS * ROW, v));
    /* Slot 0 grows to 11 (position 10 written, 9 a gap filled by the host below); slot 1 gets 0..2. */
    const int slots[ROWS] = {0, 1, 1, 0, 1}, positions[ROWS] = {10, 0, 2, 9, 1};
    T6T_OK(ctx, t6_kv_cache_append(c.cache, ROWS, k_buffer, 7, v_buffer, 0, slots, positions));
    for (int r = 0; r < ROWS; r++)
        for (int i = 0; i < ROW; i++) {
            c.k_ref[slots[r]][positions[r] * ROW + i] = t6_round_to_dtype(T6_BF16, k[r * ROW + i]);
            c.v_ref[slots[r]][positions[r] * ROW + i] = t6_round_to_dtype(T6_BF16, v[r * ROW + i]);
        }
    int length = 0;
    T6T_OK(ctx, t6_kv_cache_length(c.cache, 0, &length));
    ck_assert_int_eq(length, 11);
    T6T_OK(ctx, t6_kv_cache_length(c.cache, 1, &length));
    ck_assert_int_eq(length, 3);
    const int decode_slots[2] = {0, 1}, lengths[2] = {11, 3};
    free(kv_check_decode(&c, 12, 2, decode_slots, lengths, 0.0f, "decode after append"));

    /* Capacity is 12: position 12 is refused and nothing is noted. */
    const int late_slot = 1, late_position = 12;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT,
               t6_kv_cache_append(c.cache, 1, k_buffer, 0, v_buffer, 0, &late_slot, &late_position));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "capacity") != NULL, "%s", t6_context_last_error(ctx));
    T6T_OK(ctx, t6_kv_cache_length(c.cache, 1, &length));
    ck_assert_int_eq(length, 3);
    const int bad_slot = 2, position = 0;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT,
               t6_kv_cache_append(c.cache, 1, k_buffer, 0, v_buffer, 0, &bad_slot, &position));
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL,
               t6_kv_cache_append(c.cache, ROWS, k_buffer, 8, v_buffer, 0, slots, positions));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_kv_cache_write(c.cache, 0, 10, 3, k, v));
    /* Extreme positions: refused, and the message's arithmetic does not overflow (the sanitizer build checks). */
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_kv_cache_write(c.cache, 0, INT_MAX, INT_MAX, k, v));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "2147483647..4294967293"), "%s", t6_context_last_error(ctx));
    T6T_OK(ctx, t6_kv_cache_reset(c.cache, 1));
    T6T_OK(ctx, t6_kv_cache_length(c.cache, 1, &length));
    ck_assert_int_eq(length, 0);
    clReleaseMemObject(k_buffer);
    clReleaseMemObject(v_buffer);
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

/* Many appends in a row with nothing waited for in between, more than the context keeps host copies of
 * their metadata (T6I_META_RING, 64), one of them large enough to grow the device buffer while earlier writes
 * may be in flight: each row must land at its own position. */
START_TEST(appends_in_a_row_keep_their_positions)
{
    enum { KV = 2, D = 32, CAPACITY = 200, BIG = 40, ROW = KV * D };
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, KV, D, 1, CAPACITY, T6_F32);
    float *k = malloc((size_t)CAPACITY * ROW * sizeof *k), *v = malloc((size_t)CAPACITY * ROW * sizeof *v);
    ck_assert(k && v);
    t6i_rng rng = t6t_rng_make(103);
    t6i_fill_normal(&rng, k, (size_t)CAPACITY * ROW, 1.0);
    t6i_fill_normal(&rng, v, (size_t)CAPACITY * ROW, 1.0);
    cl_mem k_buffer = NULL, v_buffer = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, (size_t)CAPACITY * ROW, &k_buffer));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, (size_t)CAPACITY * ROW, &v_buffer));
    T6T_OK(ctx, t6_buffer_upload(ctx, k_buffer, T6_F32, 0, (size_t)CAPACITY * ROW, k));
    T6T_OK(ctx, t6_buffer_upload(ctx, v_buffer, T6_F32, 0, (size_t)CAPACITY * ROW, v));
    /* Single rows, then (call 100) one call of BIG rows, then single rows again. Single rows swap places in
     * pairs (source p goes to position p ^ 1), so a row stored with another call's metadata lands wrong. */
    int slots[BIG] = {0}, positions[BIG];
    int position = 0;
    for (int call = 0; position < CAPACITY; call++) {
        const int rows = call == 100 ? BIG : 1;
        for (int r = 0; r < rows; r++) positions[r] = rows == 1 ? position ^ 1 : position + r;
        T6T_OK(ctx, t6_kv_cache_append(c.cache, rows, k_buffer, (size_t)position * ROW, v_buffer,
                                       (size_t)position * ROW, slots, positions));
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < ROW; i++) {
                c.k_ref[0][(size_t)positions[r] * ROW + i] = k[(size_t)(position + r) * ROW + i];
                c.v_ref[0][(size_t)positions[r] * ROW + i] = v[(size_t)(position + r) * ROW + i];
            }
        position += rows;
    }
    ck_assert_int_eq(position, CAPACITY); /* 100 single rows, 40, then 60: every pair swapped within itself */
    const int decode_slot = 0;
    free(kv_check_decode(&c, 4, 1, &decode_slot, &position, 0.0f, "decode after many appends"));
    clReleaseMemObject(k_buffer);
    clReleaseMemObject(v_buffer);
    free(k);
    free(v);
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(invalid_arguments_are_rejected)
{
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, 2, 64, 2, 50, T6_F16);
    kv_case_fill(&c, 0, 0, 20, 110);
    cl_mem q = NULL, out = NULL, small = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 6 * 4 * 64, &q)); /* room for the prefill's 6 query rows */
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 6 * 4 * 64, &out));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 4 * 64, &small));
    const int slots[2] = {0, 0}, lengths[2] = {20, 5};
    const int e = T6_ERROR_INVALID_ARGUMENT;
    T6T_STATUS(ctx, e, t6_mha_decode(c.cache, 5, 2, slots, lengths, q, 0, out, 0, 0.0f)); /* 5 % 2 */
    ck_assert_msg(strstr(t6_context_last_error(ctx), "heads=5") != NULL, "%s", t6_context_last_error(ctx));
    T6T_STATUS(ctx, e, t6_mha_decode(c.cache, 4, 0, slots, lengths, q, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, e, t6_mha_decode(c.cache, 4, 2, NULL, lengths, q, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, e, t6_mha_decode(c.cache, 4, 2, slots, lengths, q, 0, out, 0, NAN));
    const int bad_slots[2] = {0, 2}, zero_lengths[2] = {20, 0}, long_lengths[2] = {20, 21};
    T6T_STATUS(ctx, e, t6_mha_decode(c.cache, 4, 2, bad_slots, lengths, q, 0, out, 0, 0.0f));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "slots[1]=2") != NULL, "%s", t6_context_last_error(ctx));
    T6T_STATUS(ctx, e, t6_mha_decode(c.cache, 4, 2, slots, zero_lengths, q, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, e, t6_mha_decode(c.cache, 4, 2, slots, long_lengths, q, 0, out, 0, 0.0f)); /* past written */
    const int unwritten_slot[1] = {1}, one[1] = {1};
    T6T_STATUS(ctx, e, t6_mha_decode(c.cache, 4, 1, unwritten_slot, one, q, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, t6_mha_decode(c.cache, 4, 2, slots, lengths, small, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, t6_mha_decode(c.cache, 4, 2, slots, lengths, q, 0, small, 0, 0.0f));
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, t6_mha_decode(c.cache, 4, 2, slots, lengths, q, 1025, out, 0, 0.0f));
    T6T_STATUS(NULL, e, t6_mha_decode(NULL, 4, 2, slots, lengths, q, 0, out, 0, 0.0f));

    const int starts[2] = {0, 15}, counts[2] = {1, 5}, late[2] = {0, 16}, zero_counts[2] = {1, 0};
    const int negative[2] = {-1, 0};
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, /* 6 query rows do not fit in `small` */
               t6_mha_prefill(c.cache, 4, 2, slots, starts, counts, q, 0, small, 0, 0.0f));
    T6T_STATUS(ctx, e, t6_mha_prefill(c.cache, 4, 2, slots, late, counts, q, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, e, t6_mha_prefill(c.cache, 4, 2, slots, starts, zero_counts, q, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, e, t6_mha_prefill(c.cache, 4, 2, slots, negative, counts, q, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, e, t6_mha_prefill(c.cache, 3, 1, slots, starts, counts, q, 0, out, 0, 0.0f));
    T6T_STATUS(ctx, e, t6_mha_prefill(c.cache, 4, 2, slots, NULL, counts, q, 0, out, 0, 0.0f));

    t6_kv_cache *cache = NULL;
    t6_kv_cache_config bad = {sizeof(t6_kv_cache_config), 2, 48, 1, 10, T6_F32};
    T6T_STATUS(ctx, e, t6_kv_cache_create(ctx, &bad, &cache));
    bad = (t6_kv_cache_config){sizeof(t6_kv_cache_config), 0, 64, 1, 10, T6_F32};
    T6T_STATUS(ctx, e, t6_kv_cache_create(ctx, &bad, &cache));
    bad = (t6_kv_cache_config){sizeof(t6_kv_cache_config), 2, 64, 0, 10, T6_F32};
    T6T_STATUS(ctx, e, t6_kv_cache_create(ctx, &bad, &cache));
    bad = (t6_kv_cache_config){sizeof(t6_kv_cache_config), 2, 64, 1, 0, T6_F32};
    T6T_STATUS(ctx, e, t6_kv_cache_create(ctx, &bad, &cache));
    bad = (t6_kv_cache_config){sizeof(t6_kv_cache_config), 2, 64, 1, 10, (t6_dtype)9};
    T6T_STATUS(ctx, e, t6_kv_cache_create(ctx, &bad, &cache));
    bad = (t6_kv_cache_config){sizeof(t6_kv_cache_config), 4096, 128, 1, 1 << 20, T6_F16}; /* 2^39 elements per slot */
    T6T_STATUS(ctx, e, t6_kv_cache_create(ctx, &bad, &cache));
    ck_assert_ptr_null(cache);
    int length = 0;
    T6T_STATUS(ctx, e, t6_kv_cache_length(c.cache, 2, &length));
    T6T_STATUS(ctx, e, t6_kv_cache_reset(c.cache, -1));
    T6T_STATUS(ctx, e, t6_kv_cache_write(c.cache, 0, 0, 1, NULL, NULL));
    t6_kv_cache_destroy(NULL);
    clReleaseMemObject(q);
    clReleaseMemObject(out);
    clReleaseMemObject(small);
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

/* ---- prefill on tensor cores (kernel 3): its emulation (T6_MHP_MMA 2) on any device, PTX where the probe passes ---- */

static void use_tensor_cores(t6_context *ctx, int mma, int stage, int stages, int warps)
{
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_KERNEL", 3));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_MMA", mma));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_STAGE", stage));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_STAGES", stages));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_WARPS", warps));
}

/* TPA.md's bounds against the reference fed the stored values: strict 1e-4, fast 1e-3 (fp16) and 5e-3 (bf16). */
static double mode_bound(t6_precision mode, t6_dtype dtype)
{
    return mode == T6_PRECISION_STRICT ? 1e-4 : dtype == T6_BF16 ? 5e-3 : 1e-3;
}

/* Every prompt of `c` below through kernel 3 in both modes, with queries of σ 1 (flat) and, where `peaked`, 8 and
 * 32 (logits of about ±20 and ±85). */
static void tensor_core_modes(kv_case *c, int heads, int batch, const int *slots, const int *starts,
                              const int *counts, bool peaked, const char *shape)
{
    static const double sigmas[3] = {1.0, 8.0, 32.0};
    for (int m = 0; m < 2; m++) {
        const t6_precision mode = m == 0 ? T6_PRECISION_STRICT : T6_PRECISION_FAST;
        T6T_OK(c->ctx, t6_context_set_precision(c->ctx, mode));
        for (int i = 0; i < (peaked ? 3 : 1); i++) {
            char what[160];
            snprintf(what, sizeof what, "tensor-core prefill, %s, %s, queries σ %g", shape, t6_precision_name(mode),
                     sigmas[i]);
            free(kv_check_prefill_within(c, heads, batch, slots, starts, counts, 500 + (uint64_t)(10 * m + i), sigmas[i],
                                      mode_bound(mode, c->config.dtype), what));
        }
    }
    T6T_OK(c->ctx, t6_context_set_precision(c->ctx, T6_PRECISION_STRICT));
}

/* Kernel 3's tiling, masking and pipeline, emulated (mma = 2) and, where the probe passes, on tensor cores (1):
 * GQA, MHA and MQA; D 32, 64, 80 (padded rows) and 128; fp16 and bf16; prompts that start mid-stage, are shorter
 * than one stage, span several work-groups and warps; stages of 16, 32 and 64, 2 to 4 deep; 1, 2 and 4 warps. */
START_TEST(prefill_on_tensor_cores)
{
    t6_context *ctx = t6t_context();
    const bool ptx = t6i_mma_probe(ctx, 1, T6_F16) == NULL;
    for (int mma = 2; mma >= (ptx ? 1 : 2); mma--) {
        kv_case c;
        kv_case_open(&c, ctx, 3, 80, 2, 90, T6_F16);
        kv_case_fill(&c, 0, 0, 90, 90);
        kv_case_fill(&c, 1, 0, 50, 91);
        const int slots[3] = {0, 1, 0}, starts[3] = {0, 37, 61}, counts[3] = {70, 13, 1};
        use_tensor_cores(ctx, mma, 16, 4, 2);
        tensor_core_modes(&c, 12, 3, slots, starts, counts, false, "GQA 12 over 3, D 80, fp16, stage 16 × 4, 2 warps");
        kv_case_close(&c);

        kv_case_open(&c, ctx, 5, 64, 1, 45, T6_BF16);
        kv_case_fill(&c, 0, 0, 45, 92);
        const int slot = 0, start = 0, count = 45;
        use_tensor_cores(ctx, mma, 64, 2, 1);
        tensor_core_modes(&c, 5, 1, &slot, &start, &count, true, "MHA 5, D 64, bf16, one stage of 64, 1 warp");
        kv_case_close(&c);

        kv_case_open(&c, ctx, 1, 32, 1, 100, T6_F16);
        kv_case_fill(&c, 0, 0, 100, 93);
        const int late = 17, rest = 83;
        use_tensor_cores(ctx, mma, 32, 3, 4);
        tensor_core_modes(&c, 7, 1, &slot, &late, &rest, true, "MQA 7 over 1, D 32, fp16, stage 32 × 3, 4 warps");
        kv_case_close(&c);

        kv_case_open(&c, ctx, 2, 128, 1, 40, T6_BF16);
        kv_case_fill(&c, 0, 0, 40, 94);
        const int tail = 38, two = 2;
        use_tensor_cores(ctx, mma, 16, 2, 1);
        tensor_core_modes(&c, 4, 1, &slot, &tail, &two, false, "GQA 4 over 2, D 128, bf16, two queries at 38");
        kv_case_close(&c);
    }
    if (ptx) {
        /* A longer prompt on the device itself, at the defaults (by device: kernel 3 on tensor cores). */
        kv_case c;
        T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_MHA_PREFILL));
        kv_case_open(&c, ctx, 8, 64, 1, 1024, T6_F16);
        kv_case_fill(&c, 0, 0, 1024, 95);
        const int slot = 0, start = 0, count = 1024;
        tensor_core_modes(&c, 8, 1, &slot, &start, &count, true, "MHA 8, D 64, fp16, 1024 tokens, by device");
        kv_case_close(&c);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* Kernel 3 asked for where it cannot serve — fp32 K/V, no tensor cores (the probe fails off NVIDIA, or
 * T6_MHP_MMA 0) — falls back to kernel 1 and computes the right numbers; bad values are refused. */
START_TEST(prefill_tensor_cores_fall_back)
{
    t6_context *ctx = t6t_context();
    kv_case c;
    kv_case_open(&c, ctx, 2, 64, 1, 60, T6_F32);
    kv_case_fill(&c, 0, 0, 60, 96);
    const int slot = 0, start = 5, count = 55;
    use_tensor_cores(ctx, 2, 32, 3, 4);
    free(kv_check_prefill(&c, 4, 1, &slot, &start, &count, 97, "kernel 3 asked for, fp32 K/V"));
    kv_case_close(&c);
    kv_case_open(&c, ctx, 2, 64, 1, 60, T6_F16);
    kv_case_fill(&c, 0, 0, 60, 98);
    for (int mma = 0; mma < 2; mma++) {
        if (mma == 1 && t6i_mma_probe(ctx, 1, T6_F16) == NULL) continue; /* it would serve */
        use_tensor_cores(ctx, mma, 32, 3, 4);
        free(kv_check_prefill(&c, 4, 1, &slot, &start, &count, 99, "kernel 3 asked for, no tensor cores"));
    }
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_MHA_PREFILL, "T6_MHP_STAGE", 48));
    cl_mem q = NULL, out = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 55 * 4 * 64, &q));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 55 * 4 * 64, &out));
    T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS, t6_mha_prefill(c.cache, 4, 1, &slot, &start, &count, q, 0, out, 0, 0.0f));
    ck_assert_ptr_nonnull(strstr(t6_context_last_error(ctx), "T6_MHP_STAGE=48"));
    clReleaseMemObject(q);
    clReleaseMemObject(out);
    kv_case_close(&c);
    t6_context_destroy(ctx);
}
END_TEST

int main(void)
{
    /* Three CTest entries (tests/CMakeLists.txt), so that ctest -j builds their programs in parallel. */
    Suite *suite = suite_create("mha");
    TCase *decode = tcase_create("decode"), *prefill = tcase_create("prefill");
    TCase *tensor_cores = tcase_create("tensor_cores");
    tcase_add_test(decode, decode_mha_gqa_mqa_every_dtype);
    tcase_add_test(decode, decode_odd_shapes);
    tcase_add_test(decode, decode_mixed_lengths_and_splits);
    tcase_add_test(decode, decode_tunable_variants);
    tcase_add_test(decode, decode_half_extremes);
    tcase_add_test(decode, append_stores_rows);
    tcase_add_test(decode, appends_in_a_row_keep_their_positions);
    tcase_add_test(decode, invalid_arguments_are_rejected);
    tcase_add_test(prefill, prefill_matches_reference);
    tcase_add_test(prefill, prefill_tunable_variants);
    tcase_add_test(prefill, prefill_agrees_with_decode_and_chunks);
    tcase_add_test(tensor_cores, prefill_on_tensor_cores);
    tcase_add_test(tensor_cores, prefill_tensor_cores_fall_back);
    TCase *cases[3] = {decode, prefill, tensor_cores};
    for (int i = 0; i < 3; i++) {
        tcase_set_timeout(cases[i], 900);
        suite_add_tcase(suite, cases[i]);
    }
    return t6t_run(suite);
}
