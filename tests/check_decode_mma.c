/* check_decode_mma.c — decode on tensor cores (kernel 4, attention_decode_mma.cl) through its emulation, which
 * runs every warp-level instruction with the PTX fragment layouts on any device, and the precision modes on
 * every decode path: strict and fast, every cache type, flat and peaked inputs (TPA.md's A_Q × 8 and × 32),
 * against the double-precision reference at the bounds TPA.md states. */
#include "ops/attention_internal.h"
#include "attention_problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_decode(t6_context *ctx, const char *name, int value)
{
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, name, value));
}

/* Kernel 4 for decode and prefill, on tensor cores (`mma` 1) or emulated (2); `merge` 1: the last groups merge
 * the splits, 0: the merge pass. */
static void use_kernel4_on(t6_context *ctx, int mma, int merge)
{
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_DECODE));
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_PREFILL));
    set_decode(ctx, "T6_DEC_KERNEL", T6_KERNEL_TENSOR_CORES);
    set_decode(ctx, "T6_DEC_MMA", mma);
    set_decode(ctx, "T6_DEC_MERGE", merge);
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_KERNEL", T6_KERNEL_TENSOR_CORES));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_MMA", mma));
}

static void use_kernel4(t6_context *ctx, int merge) { use_kernel4_on(ctx, 2, merge); }

static double tolerance(t6_precision precision, t6_dtype dtype)
{
    if (precision == T6_PRECISION_STRICT) return 1e-4;
    return dtype == T6_BF16 ? 5e-3 : 1e-3;
}

/* The probe that decides whether the GPU's tensor cores serve decode, run on its emulation: the host's model of
 * the fragment layouts and the kernel's emulated instructions agree. */
START_TEST(probe_passes_on_the_emulation)
{
    t6_context *ctx = t6t_context();
    const char *why = t6i_mma_probe(ctx, 2, T6_F16);
    ck_assert_msg(why == NULL, "fp16: %s", why);
    why = t6i_mma_probe(ctx, 2, T6_BF16);
    ck_assert_msg(why == NULL, "bf16: %s", why);
    t6_context_destroy(ctx);
}
END_TEST

/* Both precision modes on the given decode and prefill paths, every cache type, flat and peaked inputs, `length`
 * positions. Paths: the work-group tiles (1), vectors per work-item (2), register-tiled stages (3, fp32 FMAs off
 * NVIDIA; decode only) and tensor cores (4; an fp32 cache falls back), emulated unless `mma` is 1. */
static void precision_matrix(t6_context *ctx, const int *paths, int path_count, int mma, int length)
{
    static const double peaks[] = {1.0, 8.0, 32.0};
    for (int d = 0; d < 3; d++) {
        const t6_dtype dtype = (t6_dtype)d;
        for (size_t k = 0; k < sizeof peaks / sizeof peaks[0]; k++) {
            problem p;
            const int written[2] = {length, 37};
            problem_make(&p, ctx, (t6_ref_shape){20, 64, 16, 1, 1}, dtype, 2, length, written, 2, 1000 + 10 * d + k);
            problem_scale_query_a(&p, peaks[k]);
            const int slots[2] = {0, 1}, lengths[2] = {length, 37}, positions[2] = {length - 1, 36};
            for (int mode = T6_PRECISION_STRICT; mode <= T6_PRECISION_FAST; mode++)
                for (int path = 0; path < path_count; path++) {
                    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_DECODE));
                    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_PREFILL));
                    if (paths[path] == 4) use_kernel4_on(ctx, mma, 1);
                    else {
                        set_decode(ctx, "T6_DEC_KERNEL", paths[path]);
                        if (paths[path] < 3)
                            T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_KERNEL", paths[path]));
                    }
                    const t6_attention_options options = {sizeof(t6_attention_options), 0, 0, 0, 0,
                                                          T6_ATTENTION_FACTORIZED, (t6_precision)mode};
                    T6T_OK(ctx, t6_attention_decode(p.cache, 16, 2, slots, lengths, p.query, 0, p.out, 0, &options));
                    char what[128];
                    snprintf(what, sizeof what, "kernel %d, %s, A_Q × %g", paths[path],
                             t6_precision_name((t6_precision)mode), peaks[k]);
                    /* TPA.md: against the unrounded reference on flat inputs only. */
                    problem_check_rows(&p, &options, 2, slots, positions, tolerance((t6_precision)mode, dtype),
                                       peaks[k] == 1.0, what);
                    if (paths[path] == 3) continue;
                    /* Prefill: two queries at the end of slot 0. */
                    const int start = length - 2, count = 2, prefill_slots[2] = {0, 0};
                    const int prefill_positions[2] = {length - 2, length - 1};
                    T6T_OK(ctx, t6_attention_prefill(p.cache, 16, 1, slots, &start, &count, p.query, 0, p.out, 0,
                                                     &options));
                    snprintf(what, sizeof what, "prefill kernel %d, %s, A_Q × %g", paths[path],
                             t6_precision_name((t6_precision)mode), peaks[k]);
                    problem_check_rows(&p, &options, 2, prefill_slots, prefill_positions,
                                       tolerance((t6_precision)mode, dtype), peaks[k] == 1.0, what);
                }
            problem_free(&p);
        }
    }
}

START_TEST(precision_modes_hold_their_bounds)
{
    static const int paths[] = {1, 2, 3, 4};
    t6_context *ctx = t6t_context();
    precision_matrix(ctx, paths, 4, 2, 300);
    t6_context_destroy(ctx);
}
END_TEST

/* On a GPU whose tensor cores pass the probe (NVIDIA): kernel 4 itself, both modes, flat and peaked inputs, a
 * long sequence split over the device. Elsewhere the test says why it has nothing to run. */
START_TEST(tensor_cores_on_the_device)
{
    t6_context *ctx = t6t_context();
    const char *why = t6i_mma_probe(ctx, 1, T6_F16);
    if (why) {
        fprintf(stderr, "tensor_cores_on_the_device: nothing to run here (%.200s)\n", why);
        t6_context_destroy(ctx);
        return;
    }
    static const int paths[] = {4};
    precision_matrix(ctx, paths, 1, 1, 65536);
    t6_context_destroy(ctx);
}
END_TEST

/* The context's mode serves calls whose options leave it at DEFAULT; the call's own mode wins. */
START_TEST(context_precision_is_the_default)
{
    t6_context *ctx = t6t_context();
    t6_precision mode = T6_PRECISION_DEFAULT;
    T6T_OK(ctx, t6_context_get_precision(ctx, &mode));
    ck_assert_int_eq(mode, T6_PRECISION_STRICT);
    T6T_OK(ctx, t6_context_set_precision(ctx, T6_PRECISION_FAST));
    T6T_OK(ctx, t6_context_get_precision(ctx, &mode));
    ck_assert_int_eq(mode, T6_PRECISION_FAST);
    T6T_OK(ctx, t6_context_set_precision(ctx, T6_PRECISION_DEFAULT));
    T6T_OK(ctx, t6_context_get_precision(ctx, &mode));
    ck_assert_int_eq(mode, T6_PRECISION_STRICT);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_set_precision(ctx, (t6_precision)9));
    ck_assert_ptr_nonnull(strstr(t6_context_last_error(ctx), "precision 9"));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_context_set_precision(NULL, T6_PRECISION_FAST));
    ck_assert_str_eq(t6_precision_name(T6_PRECISION_FAST), "fast");
    ck_assert_ptr_null(t6_precision_name((t6_precision)-1));

    /* Fast by context, strict by call: a bf16 cache with peaked inputs tells them apart on kernel 4 (fast rounds
     * the weights once: ~1e-3; strict splits them: ≤ 1e-4). */
    problem p;
    const int written[1] = {200};
    problem_make(&p, ctx, (t6_ref_shape){16, 64, 4, 1, 1}, T6_BF16, 1, 200, written, 1, 1100);
    use_kernel4(ctx, 1);
    const int slot = 0, length = 200, position = 199;
    T6T_OK(ctx, t6_context_set_precision(ctx, T6_PRECISION_FAST));
    const t6_attention_options strict = {sizeof(t6_attention_options), 0, 0, 0, 0, T6_ATTENTION_FACTORIZED,
                                         T6_PRECISION_STRICT};
    T6T_OK(ctx, t6_attention_decode(p.cache, 4, 1, &slot, &length, p.query, 0, p.out, 0, &strict));
    problem_check_rows(&p, &strict, 1, &slot, &position, 1e-4, true, "strict by the call, fast by the context");
    T6T_OK(ctx, t6_attention_decode(p.cache, 4, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    problem_check_rows(&p, NULL, 1, &slot, &position, 5e-3, true, "fast by the context");
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Kernel 4 at every head size, odd head counts (padded warps), ranks above 1, both cache types, both stage
 * lengths and 2 to 4 stages, a batch of several lengths with a repeated slot (splits of different counts, some
 * empty), many splits merged by the last groups in one or two levels and by the merge pass. */
START_TEST(kernel4_shapes_and_splits)
{
    static const struct {
        t6_ref_shape shape;
        t6_dtype dtype;
        int stage, stages, merge, cu_groups, fanin;
    } cases[] = {
        {{32, 64, 16, 1, 1}, T6_F16, 32, 3, 1, 2, 0},  {{47, 64, 6, 2, 2}, T6_F16, 16, 3, 1, 64, 0},
        {{5, 32, 3, 1, 2}, T6_BF16, 32, 2, 1, 64, 2},  {{3, 80, 1, 4, 2}, T6_BF16, 16, 4, 0, 64, 0},
        {{17, 96, 2, 3, 1}, T6_F16, 32, 2, 1, 1, 0},   {{1, 128, 16, 2, 3}, T6_BF16, 16, 2, 1, 64, 4096},
    };
    t6_context *ctx = t6t_context();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        problem p;
        const int written[3] = {261, 16, 90};
        problem_make(&p, ctx, cases[c].shape, cases[c].dtype, 3, 270, written, 4, 1200 + c);
        use_kernel4(ctx, cases[c].merge);
        set_decode(ctx, "T6_DEC_STAGE", cases[c].stage);
        set_decode(ctx, "T6_DEC_STAGES", cases[c].stages);
        set_decode(ctx, "T6_DEC_CU_GROUPS", cases[c].cu_groups);
        set_decode(ctx, "T6_DEC_MIN_SPLIT", 16);
        set_decode(ctx, "T6_DEC_FANIN", cases[c].fanin);
        const int slots[4] = {0, 1, 2, 0}, lengths[4] = {261, 16, 77, 1};
        char what[128];
        snprintf(what, sizeof what, "kernel 4: H=%d D=%d ranks %d,%d,%d %s, stages %d × %d, merge %d",
                 cases[c].shape.heads, cases[c].shape.head_dim, cases[c].shape.rank_q, cases[c].shape.rank_k,
                 cases[c].shape.rank_v, t6_dtype_name(cases[c].dtype), cases[c].stages, cases[c].stage,
                 cases[c].merge);
        problem_decode_and_check(&p, NULL, 4, slots, lengths, what);
        problem_decode_and_check(&p, NULL, 4, slots, lengths, "the same again (the merge counters are back at 0)");
        problem_free(&p);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* Causal prefill on kernel 4 (emulated): queries that start mid-stage, a sequence from position 0, one shorter
 * than a stage, several queries per group (the last group of an entry partly idle), splits merged by the last
 * groups, both precision modes. */
/* Prefill on kernel 4 alone (tensor cores, `mma` 1, or their emulation, 2), with its stage, queries per group and
 * groups per compute unit, splits down to 16 positions. */
static void use_kernel4_prefill(t6_context *ctx, int mma, int stage, int queries, int groups_per_cu)
{
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_PREFILL));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_KERNEL", T6_KERNEL_TENSOR_CORES));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_MMA", mma));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_STAGE", stage));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_QUERIES", queries));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_GROUPS_PER_CU", groups_per_cu));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_MIN_SPLIT", 16));
}

/* The prefill cases on tensor cores (`mma` 1) or their emulation (2). T6-medium's 47 heads take three warps per
 * query: four queries per group are 384 work-items, more than NVIDIA's compiler lets the kernel run at once, so
 * the library lowers QUERIES there. */
static void kernel4_prefill_on(t6_context *ctx, int mma)
{
    static const struct {
        t6_ref_shape shape;
        t6_dtype dtype;
        int stage, queries, groups;
        t6_precision precision;
    } cases[] = {
        {{5, 32, 3, 1, 2}, T6_BF16, 32, 4, 64, T6_PRECISION_STRICT},
        {{47, 64, 6, 2, 2}, T6_F16, 16, 2, 2, T6_PRECISION_STRICT},
        {{47, 64, 6, 2, 2}, T6_F16, 16, 4, 2, T6_PRECISION_STRICT},
        {{16, 80, 16, 1, 1}, T6_F16, 16, 3, 64, T6_PRECISION_FAST},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        problem p;
        const int written[3] = {90, 11, 8};
        problem_make(&p, ctx, cases[c].shape, cases[c].dtype, 3, 96, written, 35, 1400 + c);
        use_kernel4_prefill(ctx, mma, cases[c].stage, cases[c].queries, cases[c].groups);
        const int slots[3] = {0, 1, 2}, starts[3] = {71, 0, 3}, counts[3] = {19, 11, 5};
        const t6_attention_options options = {sizeof(t6_attention_options), 0, 0, 0, 0, T6_ATTENTION_FACTORIZED,
                                              cases[c].precision};
        char what[128];
        snprintf(what, sizeof what, "kernel 4 prefill (MMA %d): H=%d D=%d ranks %d,%d,%d %s, %d queries per group, %s",
                 mma, cases[c].shape.heads, cases[c].shape.head_dim, cases[c].shape.rank_q, cases[c].shape.rank_k,
                 cases[c].shape.rank_v, t6_dtype_name(cases[c].dtype), cases[c].queries,
                 t6_precision_name(cases[c].precision));
        problem_prefill_and_check(&p, &options, 3, slots, starts, counts,
                                  tolerance(cases[c].precision, cases[c].dtype), true, what);
        problem_free(&p);
    }
}

START_TEST(kernel4_prefill)
{
    t6_context *ctx = t6t_context();
    kernel4_prefill_on(ctx, 2);
    t6_context_destroy(ctx);
}
END_TEST

/* The same on a GPU whose tensor cores pass the probe (NVIDIA); elsewhere the test says why it has nothing to
 * run. */
START_TEST(kernel4_prefill_on_the_device)
{
    t6_context *ctx = t6t_context();
    const char *why = t6i_mma_probe(ctx, 1, T6_F16);
    if (why) fprintf(stderr, "kernel4_prefill_on_the_device: nothing to run here (%.200s)\n", why);
    else kernel4_prefill_on(ctx, 1);
    t6_context_destroy(ctx);
}
END_TEST

/* Kernel 4's merge by the last groups in prefill, emulated: 32 queries from position 0, four to a group, over two
 * splits, so that a merging group merges four rows one after the other in local memory, and tiles of the first
 * split merge one partial while the others merge two. tests/check_races.cmake runs it under Oclgrind, whose
 * work-item schedule (unlike PoCL's, in lockstep between barriers) shows a data race in local memory, and on
 * Oclgrind's 132 compute units as t6 would on an H100. The race of 2026-12-05 gave relative errors of 0.48 there
 * (0.10 and 0.17 on an H100 at T6-medium's 47 heads). */
START_TEST(kernel4_prefill_merge)
{
    t6_context *ctx = t6t_context();
    problem p;
    const int written[1] = {32};
    problem_make(&p, ctx, (t6_ref_shape){5, 64, 6, 2, 2}, T6_F16, 1, 32, written, 32, 1500);
    use_kernel4_prefill(ctx, 2, 16, 4, 2);
    const int slots[1] = {0}, starts[1] = {0}, counts[1] = {32};
    const t6_attention_options options = {sizeof(t6_attention_options), 0, 0, 0, 0, T6_ATTENTION_FACTORIZED,
                                          T6_PRECISION_STRICT};
    problem_poison_out(&p);
    problem_prefill_and_check(&p, &options, 1, slots, starts, counts, 1e-4, true,
                              "kernel 4 prefill merged by the last groups");
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Kernel 4 asked for where it cannot serve: an fp32 cache falls back (to kernel 3) and still computes the right
 * numbers; without tensor cores (T6_DEC_MMA 1 off NVIDIA, 0 anywhere) likewise; a stage it cannot take is
 * refused naming the parameter. */
START_TEST(kernel4_falls_back_where_it_cannot_serve)
{
    t6_context *ctx = t6t_context();
    problem p;
    const int written[1] = {70};
    problem_make(&p, ctx, (t6_ref_shape){4, 64, 2, 1, 1}, T6_F32, 1, 70, written, 1, 1300);
    const int slot = 0, length = 70;
    use_kernel4(ctx, 1);
    problem_decode_and_check(&p, NULL, 1, &slot, &length, "kernel 4 asked for, fp32 cache");
    problem_free(&p);
    problem_make(&p, ctx, (t6_ref_shape){4, 64, 2, 1, 1}, T6_F16, 1, 70, written, 1, 1301);
    for (int mma = 0; mma < 2; mma++) {
        use_kernel4(ctx, 1);
        set_decode(ctx, "T6_DEC_MMA", mma);
        if (mma == 1 && strcmp(ctx->info.normalized_vendor, "nvidia") == 0) continue;
        problem_decode_and_check(&p, NULL, 1, &slot, &length, "kernel 4 asked for, no tensor cores");
    }
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_STAGE", 8));
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

int main(void)
{
    /* One TCase per CTest entry (tests/CMakeLists.txt), so that ctest -j builds their programs in parallel. */
    const struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"probe", probe_passes_on_the_emulation},
        {"shapes", kernel4_shapes_and_splits},
        {"prefill", kernel4_prefill},
        {"fallback", kernel4_falls_back_where_it_cannot_serve},
        {"precision", precision_modes_hold_their_bounds},
        {"context", context_precision_is_the_default},
        {"device", tensor_cores_on_the_device},
        {"device_prefill", kernel4_prefill_on_the_device},
        {"merge_races", kernel4_prefill_merge}, /* under Oclgrind only: tests/check_races.cmake */
    };
    Suite *suite = suite_create("decode_mma");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tcase = tcase_create(cases[i].name);
        tcase_set_timeout(tcase, 900);
        tcase_add_test(tcase, cases[i].test);
        suite_add_tcase(suite, tcase);
    }
    return t6t_run(suite);
}
