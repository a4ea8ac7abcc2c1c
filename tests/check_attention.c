/* check_attention.c — factorized decode and causal prefill over the factor cache, against the double-precision
 * reference fed the values the cache stored (and the unrounded ones, within TPA.md's storage tolerances), in
 * every storage type and odd shapes; equivalences (MHA written as TPA, prefill of one query and decode, prefill
 * in chunks), tunables that must not change results, and the arguments that must be rejected. */
#include "attention_problem.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernels of the family: work-group tiles (GPUs) and vectors per work-item (CPUs); both run everywhere. */
static const int kernels[] = {1, 2};
enum { KERNELS = sizeof kernels / sizeof kernels[0] };

static void use_kernel(t6_context *ctx, int kernel)
{
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_KERNEL", kernel));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, "T6_PRE_KERNEL", kernel));
}

/* Decode has a third kernel (register-tiled stages, attention_decode.cl) with three ways to run its products:
 * tensor cores where their probe passes (on NVIDIA GPUs; fp32 FMAs elsewhere), fp32 FMAs, and the tensor-core
 * tiling emulated with FMAs, which checks that path's indexing on any device. Decode tests run each; the
 * emulation only where a test asks (each shape is a program to build). Kernel 4 (tensor cores, fp16 and bf16
 * caches) has its own suite, check_decode_mma.c; its emulation runs here where a test names it. */
static const struct {
    int kernel, merge, mma;
    const char *name;
} decoders[] = {
    {1, 0, 0, "kernel 1"},
    {2, 0, 0, "kernel 2"},
    {3, 0, 1, "kernel 3"},
    {3, 0, 0, "kernel 3, fp32 FMAs"},
    {3, 0, 2, "kernel 3, emulated tensor-core tiling"},
    {4, 1, 2, "kernel 4 emulated, merged by the last groups"},
};
enum { DECODERS = sizeof decoders / sizeof decoders[0], EMULATED = DECODERS - 2, KERNEL4 = DECODERS - 1 };

/* Prefill keeps kernel 1 when decode runs kernel 3 or 4. */
static void use_decoder(t6_context *ctx, int decoder)
{
    use_kernel(ctx, decoders[decoder].kernel >= 3 ? 1 : decoders[decoder].kernel);
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_KERNEL", decoders[decoder].kernel));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_MERGE", decoders[decoder].merge));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_MMA", decoders[decoder].mma));
}

START_TEST(decode_every_storage_type)
{
    t6_context *ctx = t6t_context();
    for (int d = 0; d < 3; d++) {
        problem p;
        const int written[2] = {300, 40};
        problem_make(&p, ctx, (t6_ref_shape){4, 64, 2, 2, 2}, (t6_dtype)d, 2, 320, written, 3, 100 + d);
        const int slots[3] = {0, 1, 0}, lengths[3] = {300, 33, 1};
        for (int k = 0; k < DECODERS; k++) {
            /* Kernel 3 reads fp16 and bf16 in decode_odd_shapes (each shape is a program to build). */
            if ((decoders[k].kernel == 3 && d != T6_F32) || k == EMULATED || k == KERNEL4) continue;
            use_decoder(ctx, k);
            char what[96];
            snprintf(what, sizeof what, "decode H=4 D=64 ranks 2,2,2, %s", decoders[k].name);
            problem_decode_and_check(&p, NULL, 3, slots, lengths, what);
        }
        problem_free(&p);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* Shapes with odd heads, every head_dim, ranks at 1 and above, Rq > H (per-head queries) and Rq < H (S1). */
START_TEST(decode_odd_shapes)
{
    static const struct {
        t6_ref_shape shape;
        t6_dtype dtype;
        int kernel3; /* 0 none, 1 its decoders, 2 also the emulated tiling (each shape a program to build) */
    } cases[] = {
        {{5, 32, 3, 1, 2}, T6_F16, 1},   {{3, 80, 1, 4, 2}, T6_BF16, 2},   {{1, 96, 16, 1, 1}, T6_F32, 0},
        {{7, 128, 2, 3, 5}, T6_F16, 1},  {{47, 64, 6, 2, 2}, T6_F16, 2},   {{2, 64, 16, 16, 16}, T6_F32, 1},
    };
    t6_context *ctx = t6t_context();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        problem p;
        const int written[2] = {45, 130};
        problem_make(&p, ctx, cases[c].shape, cases[c].dtype, 2, 130, written, 3, 200 + c);
        const int slots[3] = {1, 0, 1}, lengths[3] = {130, 45, 2};
        for (int k = 0; k < DECODERS; k++) {
            if ((decoders[k].kernel == 3 && !cases[c].kernel3) || (k == EMULATED && cases[c].kernel3 < 2) ||
                k == KERNEL4)
                continue;
            use_decoder(ctx, k);
            char what[96];
            snprintf(what, sizeof what, "decode H=%d D=%d ranks %d,%d,%d, %s", cases[c].shape.heads,
                     cases[c].shape.head_dim, cases[c].shape.rank_q, cases[c].shape.rank_k, cases[c].shape.rank_v,
                     decoders[k].name);
            problem_decode_and_check(&p, NULL, 3, slots, lengths, what);
        }
        problem_free(&p);
    }
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(decode_batch_of_mixed_lengths)
{
    t6_context *ctx = t6t_context();
    problem p;
    const int written[4] = {1, 7, 1000, 4097};
    problem_make(&p, ctx, (t6_ref_shape){3, 32, 2, 1, 1}, T6_F16, 4, 4100, written, 4, 300);
    const int slots[4] = {0, 1, 2, 3}, lengths[4] = {1, 7, 1000, 4097};
    for (int k = 0; k < DECODERS; k++) {
        use_decoder(ctx, k);
        char what[96];
        snprintf(what, sizeof what, "decode lengths 1, 7, 1000, 4097, %s", decoders[k].name);
        problem_decode_and_check(&p, NULL, 4, slots, lengths, what);
    }
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(decode_custom_scales)
{
    t6_context *ctx = t6t_context();
    problem p;
    const int written[1] = {77};
    problem_make(&p, ctx, (t6_ref_shape){4, 64, 2, 2, 2}, T6_F32, 1, 100, written, 1, 400);
    const t6_attention_options options = {sizeof(t6_attention_options), 0.7f, 0.0f, 2.5f, 0.05f,
                                          T6_ATTENTION_FACTORIZED, T6_PRECISION_DEFAULT};
    const int slot = 0, length = 77;
    for (int k = 0; k < KERNEL4; k++) { /* kernel 4 would fall back to kernel 3 on an fp32 cache */
        use_decoder(ctx, k);
        problem_decode_and_check(&p, &options, 1, &slot, &length, decoders[k].name);
    }
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Non-default tunables (split and direct paths, per-head queries, several head groups, every load width, work-item
 * tiles that do not divide the tile) give the reference's result too. */
START_TEST(decode_tunables_keep_results)
{
    static const struct {
        const char *name;
        int value;
    } settings[][3] = {
        {{"T6_DEC_GROUPS_PER_CU", 64}, {"T6_DEC_MIN_SPLIT", 8}, {"T6_DEC_TILE", 8}},
        {{"T6_DEC_GROUPS_PER_CU", 1}, {"T6_DEC_MIN_SPLIT", 1 << 20}, {"T6_DEC_VECTOR", 1}},
        {{"T6_DEC_STAGE_S1", 0}, {"T6_DEC_HEADS", 2}, {"T6_DEC_VECTOR", 2}},
        {{"T6_DEC_WG_SIZE", 64}, {"T6_DEC_VALUE_HEADS", 1}, {"T6_DEC_TOKENS", 3}},
        {{"T6_DEC_WG_SIZE", 32}, {"T6_DEC_VALUE_HEADS", 8}, {"T6_DEC_VECTOR", 4}},
        {{"T6_DEC_TILE", 128}, {"T6_DEC_HEADS", 3}, {"T6_DEC_TOKENS", 16}},
        /* the vector kernel: tiles that do not divide the split, splits and none */
        {{"T6_DEC_KERNEL", 2}, {"T6_DEC_TILE", 7}, {"T6_DEC_GROUPS_PER_CU", 64}},
        {{"T6_DEC_KERNEL", 2}, {"T6_DEC_TILE", 128}, {"T6_DEC_GROUPS_PER_CU", 1}},
    };
    t6_context *ctx = t6t_context();
    {
        problem p;
        const int written[2] = {250, 19};
        problem_make(&p, ctx, (t6_ref_shape){5, 32, 3, 2, 1}, T6_F16, 2, 250, written, 2, 500);
        for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
            T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_DECODE));
            use_kernel(ctx, 1);
            for (int i = 0; i < 3; i++) T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, settings[s][i].name,
                                                                       settings[s][i].value));
            const int slots[2] = {0, 1}, lengths[2] = {250, 19};
            char what[96];
            snprintf(what, sizeof what, "decode with setting %zu", s);
            problem_decode_and_check(&p, NULL, 2, slots, lengths, what);
        }
        problem_free(&p);
    }
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_VECTOR", 3));
    problem p;
    const int written[1] = {5};
    problem_make(&p, ctx, (t6_ref_shape){2, 32, 1, 1, 1}, T6_F32, 1, 8, written, 1, 600);
    const int slot = 0, length = 5;
    T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS,
               t6_attention_decode(p.cache, 1, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Kernel 3's own tunables: many splits merged by the merge pass, every register tile of the value product, small
 * groups, tiles that are not powers of two (126 becomes 128), every load width, the tensor-core tiling (emulated)
 * with two warps. Shapes it cannot fit and tunables it cannot run are reported. */
START_TEST(decode_kernel3_tunables_keep_results)
{
    static const struct {
        const char *name;
        int value;
    } settings[][6] = {
        {{"T6_DEC_CU_GROUPS", 64}, {"T6_DEC_MIN_SPLIT", 8}, {"T6_DEC_TILE", 8}, {"T6_DEC_VECTOR", 1},
         {"T6_DEC_ACC_HEADS", 16}},
        {{"T6_DEC_CU_GROUPS", 64}, {"T6_DEC_MIN_SPLIT", 8}, {"T6_DEC_TILE", 8}, {"T6_DEC_VECTOR", 1},
         {"T6_DEC_ACC_HEADS", 8}},
        {{"T6_DEC_CU_GROUPS", 1}, {"T6_DEC_MIN_SPLIT", 1 << 20}, {"T6_DEC_VECTOR", 4}},
        {{"T6_DEC_WG_SIZE", 32}, {"T6_DEC_ACC_HEADS", 4}, {"T6_DEC_TILE", 126}, {"T6_DEC_VECTOR", 2}},
        {{"T6_DEC_MMA", 2}, {"T6_DEC_WG_SIZE", 64}, {"T6_DEC_TILE", 16}, {"T6_DEC_CU_GROUPS", 64},
         {"T6_DEC_MIN_SPLIT", 16}},
    };
    t6_context *ctx = t6t_context();
    problem p;
    const int written[2] = {250, 19};
    problem_make(&p, ctx, (t6_ref_shape){5, 32, 3, 2, 1}, T6_F16, 2, 250, written, 2, 550);
    const int slots[2] = {0, 1}, lengths[2] = {250, 19};
    for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
        T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_DECODE));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_KERNEL", 3));
        for (int i = 0; i < 6 && settings[s][i].name; i++)
            T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, settings[s][i].name, settings[s][i].value));
        char what[96];
        snprintf(what, sizeof what, "kernel 3 with setting %zu", s);
        problem_decode_and_check(&p, NULL, 2, slots, lengths, what);
    }
    problem_free(&p);

    /* A value product of 47 × 128 outputs needs more than 64 work-items; ACC_HEADS must be a multiple of 4. */
    problem_make(&p, ctx, (t6_ref_shape){47, 128, 2, 1, 1}, T6_F32, 1, 8, (const int[]){5}, 1, 560);
    const int slot = 0, length = 5;
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_DECODE));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_KERNEL", 3));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_WG_SIZE", 64));
    T6T_STATUS(ctx, T6_ERROR_UNSUPPORTED, t6_attention_decode(p.cache, 2, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    ck_assert(strstr(t6_context_last_error(ctx), "do not fit") != NULL);
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_WG_SIZE", 256));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_ACC_HEADS", 6));
    T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS,
               t6_attention_decode(p.cache, 2, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Configurations of kernel 1 that t6-tune found wrong on PoCL (issue 17), at the paper's decode shape with ranks
 * 16/1/1: 512 work-items, tiles of 16 positions, groups of 16 heads, value rows in fours, 4-element loads, with
 * one, two and four splits. PoCL ran one work-item's side of the first tile's loads for the whole group, so no
 * split saw its first tile (docs/ATTENTION.md). Then the neighbours one parameter away that were right (WG_SIZE
 * 256, TILE 32, HEADS 8, VALUE_HEADS 2, VECTOR 8) and two that were wrong too (VALUE_HEADS 8, WG_SIZE 1024). */
START_TEST(decode_kernel1_configurations_found_wrong)
{
    static const struct {
        int wg_size, tile, heads, value_heads, vector, groups_per_cu;
    } configs[] = {
        {512, 16, 16, 4, 4, 1}, {512, 16, 16, 4, 4, 2}, {512, 16, 16, 4, 4, 4}, {256, 16, 16, 4, 4, 2},
        {512, 32, 16, 4, 4, 2}, {512, 16, 8, 4, 4, 2},  {512, 16, 16, 2, 4, 2}, {512, 16, 16, 4, 8, 2},
        {512, 16, 16, 8, 4, 2}, {1024, 16, 16, 4, 4, 2},
    };
    t6_context *ctx = t6t_context();
    problem p;
    enum { LENGTH = 256 };
    const int written[1] = {LENGTH};
    problem_make(&p, ctx, (t6_ref_shape){32, 64, 16, 1, 1}, T6_F16, 1, LENGTH, written, 1, 580);
    const int slot = 0, length = LENGTH;
    int ran = 0;
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        const struct {
            const char *name;
            int value;
        } settings[] = {{"T6_DEC_KERNEL", 1},
                        {"T6_DEC_WG_SIZE", configs[c].wg_size},
                        {"T6_DEC_TILE", configs[c].tile},
                        {"T6_DEC_HEADS", configs[c].heads},
                        {"T6_DEC_VALUE_HEADS", configs[c].value_heads},
                        {"T6_DEC_VECTOR", configs[c].vector},
                        {"T6_DEC_GROUPS_PER_CU", configs[c].groups_per_cu}};
        T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_DECODE));
        for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
            T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, settings[i].name, settings[i].value));
        char what[160];
        snprintf(what, sizeof what,
                 "decode H=32 D=64 ranks 16,1,1, kernel 1, WG_SIZE=%d TILE=%d HEADS=%d VALUE_HEADS=%d VECTOR=%d "
                 "GROUPS_PER_CU=%d",
                 configs[c].wg_size, configs[c].tile, configs[c].heads, configs[c].value_heads, configs[c].vector,
                 configs[c].groups_per_cu);
        /* A device whose compiled kernel runs fewer work-items per group (the H200: 256 for this kernel at these
         * shapes) refuses the larger groups at plan time, with a status and a message: a refusal, not a wrong
         * result. Every configuration it runs must be right, and it must run some. */
        const t6_status status =
            t6_attention_decode(p.cache, p.shape.rank_q, 1, &slot, &length, p.query, 0, p.out, 0, NULL);
        if (status == T6_ERROR_INVALID_PARAMS &&
            strstr(t6_context_last_error(ctx), "work-items this kernel can run per group")) {
            fprintf(stderr, "%s: refused by this device: %s\n", what, t6_context_last_error(ctx));
            continue;
        }
        ck_assert_msg(status == T6_SUCCESS, "%s: %s", what, t6_context_last_error(ctx));
        const int position = length - 1;
        problem_check_rows(&p, NULL, 1, &slot, &position, 1e-4, true, what);
        ran++;
    }
    ck_assert_msg(ran > 0, "the device refused every configuration");
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Scores that grow along the sequence move each head's softmax reference again and again, in every split: what
 * was summed against an old reference must be rescaled (and a split whose reference is far below another's
 * must weigh little in the merge). A_K grows with the position. */
START_TEST(decode_rising_scores)
{
    t6_context *ctx = t6t_context();
    enum { LENGTH = 400 };
    /* fp32 for the fp32 kernels; fp16 for kernel 4 (tensor cores take fp16 and bf16 caches). */
    for (int d = 0; d < 2; d++) {
        problem p;
        const int written[1] = {LENGTH};
        problem_make(&p, ctx, (t6_ref_shape){4, 64, 2, 2, 2}, d ? T6_F16 : T6_F32, 1, LENGTH, written, 1, 570);
        const size_t row = t6_cache_factor_size(&p.config, T6_FACTOR_A_K);
        float *a_k = malloc(LENGTH * row * sizeof *a_k);
        ck_assert_ptr_nonnull(a_k);
        for (int m = 0; m < LENGTH; m++)
            for (size_t i = 0; i < row; i++) {
                a_k[m * row + i] = t6_round_to_dtype(p.config.dtype, (float)(p.exact[T6_FACTOR_A_K][0][m * row + i] *
                                                                             (1.0 + m / 10.0)));
                p.exact[T6_FACTOR_A_K][0][m * row + i] = a_k[m * row + i];
                p.stored[T6_FACTOR_A_K][0][m * row + i] = a_k[m * row + i];
            }
        T6T_OK(ctx, t6_cache_write(p.cache, T6_FACTOR_A_K, 0, 0, LENGTH, a_k));
        free(a_k);
        const int slot = 0, length = LENGTH;
        for (int k = 0; k < DECODERS; k++) {
            if ((k == KERNEL4) != (d == 1)) continue;
            use_decoder(ctx, k);
            problem_decode_and_check(&p, NULL, 1, &slot, &length, decoders[k].name);
        }
        problem_free(&p);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* Prefill of several entries: one in the middle of its sequence, one from position 0. */
START_TEST(prefill_matches_reference)
{
    static const struct {
        t6_ref_shape shape;
        t6_dtype dtype;
    } cases[] = {
        {{5, 32, 3, 1, 2}, T6_F16}, {{4, 64, 2, 2, 2}, T6_F32}, {{3, 80, 16, 4, 2}, T6_BF16}, {{47, 64, 6, 2, 2}, T6_F16},
    };
    t6_context *ctx = t6t_context();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        problem p;
        const int written[2] = {90, 23};
        problem_make(&p, ctx, cases[c].shape, cases[c].dtype, 2, 96, written, 30, 700 + c);
        const int slots[2] = {0, 1}, starts[2] = {71, 0}, counts[2] = {19, 11};
        for (int k = 0; k < KERNELS; k++) {
            use_kernel(ctx, kernels[k]);
            char what[96];
            snprintf(what, sizeof what, "prefill H=%d D=%d ranks %d,%d,%d, kernel %d", cases[c].shape.heads,
                     cases[c].shape.head_dim, cases[c].shape.rank_q, cases[c].shape.rank_k, cases[c].shape.rank_v,
                     kernels[k]);
            problem_prefill_and_check(&p, NULL, 2, slots, starts, counts, 1e-4, true, what);
        }
        problem_free(&p);
    }
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(prefill_tunables_keep_results)
{
    static const struct {
        const char *name;
        int value;
    } settings[][3] = {
        {{"T6_PRE_QUERIES", 1}, {"T6_PRE_GROUPS_PER_CU", 64}, {"T6_PRE_MIN_SPLIT", 8}},
        {{"T6_PRE_QUERIES", 7}, {"T6_PRE_HEADS", 2}, {"T6_PRE_STAGE_S1", 0}},
        {{"T6_PRE_QUERIES", 64}, {"T6_PRE_WG_SIZE", 64}, {"T6_PRE_VALUE_HEADS", 3}},
        {{"T6_PRE_TILE", 5}, {"T6_PRE_TOKENS", 2}, {"T6_PRE_VECTOR", 2}},
        {{"T6_PRE_KERNEL", 2}, {"T6_PRE_QUERIES", 3}, {"T6_PRE_TILE", 9}},
        {{"T6_PRE_KERNEL", 2}, {"T6_PRE_GROUPS_PER_CU", 64}, {"T6_PRE_MIN_SPLIT", 8}},
    };
    t6_context *ctx = t6t_context();
    problem p;
    const int written[1] = {120};
    problem_make(&p, ctx, (t6_ref_shape){5, 32, 3, 2, 1}, T6_BF16, 1, 128, written, 40, 800);
    for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
        T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_PREFILL));
        use_kernel(ctx, 1);
        for (int i = 0; i < 3; i++)
            T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PREFILL, settings[s][i].name, settings[s][i].value));
        const int slot = 0, start = 80, count = 40;
        T6T_OK(ctx, t6_attention_prefill(p.cache, 3, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
        int slots[40], positions[40];
        for (int i = 0; i < 40; i++) {
            slots[i] = 0;
            positions[i] = start + i;
        }
        char what[96];
        snprintf(what, sizeof what, "prefill with setting %zu", s);
        problem_check_rows(&p, NULL, 40, slots, positions, 1e-4, true, what);
    }
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(prefill_of_one_query_equals_decode)
{
    t6_context *ctx = t6t_context();
    problem p;
    const int written[1] = {500};
    problem_make(&p, ctx, (t6_ref_shape){47, 64, 6, 2, 2}, T6_F16, 1, 500, written, 1, 900);
    const size_t n = problem_out_row(&p);
    float *decoded = malloc(n * sizeof *decoded), *prefilled = malloc(n * sizeof *prefilled);
    ck_assert(decoded && prefilled);
    for (int k = 0; k < 2 * DECODERS; k++) {
        if (k % DECODERS == KERNEL4) continue; /* fp16 products: it agrees with prefill to 1e-4, not 1e-5 */
        use_decoder(ctx, k % DECODERS);
        const int length = k < DECODERS ? 1 : 500, slot = 0, start = length - 1, count = 1;
        T6T_OK(ctx, t6_attention_decode(p.cache, p.shape.rank_q, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
        T6T_OK(ctx, t6_buffer_download(ctx, p.out, T6_F32, 0, n, decoded));
        T6T_OK(ctx, t6_attention_prefill(p.cache, p.shape.rank_q, 1, &slot, &start, &count, p.query, 0, p.out, 0,
                                         NULL));
        T6T_OK(ctx, t6_buffer_download(ctx, p.out, T6_F32, 0, n, prefilled));
        double *as_ref = t6t_to_double(decoded, n);
        T6T_CLOSE(prefilled, as_ref, n, 1e-5, "prefill of one query against decode");
        free(as_ref);
    }
    free(decoded);
    free(prefilled);
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(prefill_in_two_chunks_equals_one)
{
    t6_context *ctx = t6t_context();
    problem p;
    const int written[1] = {150};
    problem_make(&p, ctx, (t6_ref_shape){5, 32, 3, 1, 2}, T6_F16, 1, 150, written, 150, 1000);
    const size_t n = 150 * problem_out_row(&p);
    float *whole = malloc(n * sizeof *whole), *chunked = malloc(n * sizeof *chunked);
    ck_assert(whole && chunked);
    const int slot = 0;
    int start = 0, count = 150;
    T6T_OK(ctx, t6_attention_prefill(p.cache, 3, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    T6T_OK(ctx, t6_buffer_download(ctx, p.out, T6_F32, 0, n, whole));
    /* Chunks of 61 and 89 rows: query and output offsets select the rows. */
    count = 61;
    T6T_OK(ctx, t6_attention_prefill(p.cache, 3, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    start = 61;
    count = 89;
    T6T_OK(ctx, t6_attention_prefill(p.cache, 3, 1, &slot, &start, &count, p.query, 61 * problem_query_row(&p), p.out,
                                     61 * problem_out_row(&p), NULL));
    T6T_OK(ctx, t6_buffer_download(ctx, p.out, T6_F32, 0, n, chunked));
    double *as_ref = t6t_to_double(whole, n);
    T6T_CLOSE(chunked, as_ref, n, 1e-5, "prefill in two chunks against one");
    free(as_ref);
    int slots[150], positions[150];
    for (int i = 0; i < 150; i++) {
        slots[i] = 0;
        positions[i] = i;
    }
    problem_check_rows(&p, NULL, 150, slots, positions, 1e-4, true, "prefill in two chunks");
    free(whole);
    free(chunked);
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* TPA.md: MHA is TPA with Rk = Rv = Rq = H, A(m)[h][s] = H·δ_hs and B[s] = the head's vector. */
START_TEST(mha_written_as_tpa_equals_mha)
{
    enum { H = 4, D = 64, LENGTH = 333 };
    t6_context *ctx = t6t_context();
    t6i_rng rng = t6t_rng_make(1100);
    float *k = malloc(LENGTH * H * D * sizeof *k), *v = malloc(LENGTH * H * D * sizeof *v);
    float *a = calloc(LENGTH * H * H, sizeof *a), *q = malloc(H * D * sizeof *q);
    float *query_row_host = calloc(H * H + H * D, sizeof *query_row_host);
    float *tpa = malloc(H * D * sizeof *tpa), *mha = malloc(H * D * sizeof *mha);
    ck_assert(k && v && a && q && query_row_host && tpa && mha);
    t6i_fill_normal(&rng, k, LENGTH * H * D, 1.0);
    t6i_fill_normal(&rng, v, LENGTH * H * D, 1.0);
    t6i_fill_normal(&rng, q, H * D, 1.0);
    for (int m = 0; m < LENGTH; m++)
        for (int h = 0; h < H; h++) a[(m * H + h) * H + h] = (float)H;
    for (int h = 0; h < H; h++) query_row_host[h * H + h] = (float)H;
    memcpy(query_row_host + H * H, q, H * D * sizeof *q);

    t6_cache *cache = NULL;
    const t6_cache_config config = {sizeof(t6_cache_config), H, D, H, H, 1, LENGTH, T6_F16};
    T6T_OK(ctx, t6_cache_create(ctx, &config, &cache));
    T6T_OK(ctx, t6_cache_write(cache, T6_FACTOR_A_K, 0, 0, LENGTH, a));
    T6T_OK(ctx, t6_cache_write(cache, T6_FACTOR_A_V, 0, 0, LENGTH, a));
    T6T_OK(ctx, t6_cache_write(cache, T6_FACTOR_B_K, 0, 0, LENGTH, k)); /* B_K[m][s] = k_s(m): [m][h][d] */
    T6T_OK(ctx, t6_cache_write(cache, T6_FACTOR_B_V, 0, 0, LENGTH, v));
    t6_kv_cache *kv = NULL;
    const t6_kv_cache_config kv_config = {sizeof(t6_kv_cache_config), H, D, 1, LENGTH, T6_F16};
    T6T_OK(ctx, t6_kv_cache_create(ctx, &kv_config, &kv));
    T6T_OK(ctx, t6_kv_cache_write(kv, 0, 0, LENGTH, k, v));

    cl_mem query = NULL, q_buffer = NULL, out = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, H * H + H * D, &query));
    T6T_OK(ctx, t6_buffer_upload(ctx, query, T6_F32, 0, H * H + H * D, query_row_host));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, H * D, &q_buffer));
    T6T_OK(ctx, t6_buffer_upload(ctx, q_buffer, T6_F32, 0, H * D, q));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, H * D, &out));
    for (int length = 1; length <= LENGTH; length += LENGTH - 1) {
        const int slot = 0;
        T6T_OK(ctx, t6_attention_decode(cache, H, 1, &slot, &length, query, 0, out, 0, NULL));
        T6T_OK(ctx, t6_buffer_download(ctx, out, T6_F32, 0, H * D, tpa));
        T6T_OK(ctx, t6_mha_decode(kv, H, 1, &slot, &length, q_buffer, 0, out, 0, 0.0f));
        T6T_OK(ctx, t6_buffer_download(ctx, out, T6_F32, 0, H * D, mha));
        double *as_ref = t6t_to_double(mha, H * D);
        T6T_CLOSE(tpa, as_ref, H * D, 1e-4, "MHA as TPA against the MHA baseline");
        free(as_ref);
    }
    clReleaseMemObject(query);
    clReleaseMemObject(q_buffer);
    clReleaseMemObject(out);
    t6_kv_cache_destroy(kv);
    t6_cache_destroy(cache);
    free(k);
    free(v);
    free(a);
    free(q);
    free(query_row_host);
    free(tpa);
    free(mha);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(invalid_arguments_are_rejected)
{
    t6_context *ctx = t6t_context();
    problem p;
    const int written[3] = {10, 0, 4};
    problem_make(&p, ctx, (t6_ref_shape){3, 32, 2, 1, 1}, T6_F32, 3, 12, written, 4, 1200);
    const int rq = 2;
    int slot = 0, length = 10, start = 0, count = 4;
#define DECODE(...) t6_attention_decode(__VA_ARGS__)
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, DECODE(NULL, rq, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, 0, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, 17, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 0, &slot, &length, p.query, 0, p.out, 0, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, NULL, &length, p.query, 0, p.out, 0, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, NULL, p.query, 0, p.out, 0, NULL));
    slot = 3; /* out of range */
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    ck_assert(strstr(t6_context_last_error(ctx), "slots[0]=3") != NULL);
    slot = -1;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    slot = 1; /* an empty cache slot */
    length = 1;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    ck_assert(strstr(t6_context_last_error(ctx), "past the 0 positions written") != NULL);
    slot = 2; /* past what was written, and past capacity */
    length = 5;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    slot = 0;
    length = 13;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    length = 0;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, NULL));
    length = 10;
    const int slots5[5] = {0, 0, 0, 0, 0}, lengths5[5] = {10, 10, 10, 10, 10};
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, DECODE(p.cache, rq, 5, slots5, lengths5, p.query, 0, p.out, 0, NULL));
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL,
               DECODE(p.cache, rq, 1, &slot, &length, p.query, 4 * problem_query_row(&p), p.out, 0, NULL));
    /* out holds the problem's rows and a guard row: an offset of all of them leaves no room. */
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL,
               DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 5 * problem_out_row(&p), NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, NULL, 0, p.out, 0, NULL));
    t6_attention_options options = {sizeof(t6_attention_options), NAN, 0, 0, 0, T6_ATTENTION_FACTORIZED,
                                    T6_PRECISION_DEFAULT};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, &options));
    options = (t6_attention_options){sizeof(t6_attention_options), 0, 0, INFINITY, 0, T6_ATTENTION_FACTORIZED,
                                     T6_PRECISION_DEFAULT};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, &options));
    options = (t6_attention_options){sizeof(t6_attention_options), 0, 0, 0, 0, (t6_attention_method)7,
                                     T6_PRECISION_DEFAULT};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, &options));
    options = (t6_attention_options){sizeof(t6_attention_options), 0, 0, 0, 0, T6_ATTENTION_FACTORIZED,
                                     (t6_precision)3};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, DECODE(p.cache, rq, 1, &slot, &length, p.query, 0, p.out, 0, &options));
    ck_assert_ptr_nonnull(strstr(t6_context_last_error(ctx), "precision 3"));
#undef DECODE

#define PREFILL(...) t6_attention_prefill(__VA_ARGS__)
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, PREFILL(NULL, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, PREFILL(p.cache, rq, 1, &slot, NULL, &count, p.query, 0, p.out, 0, NULL));
    start = -1;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, PREFILL(p.cache, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    start = 7; /* 7 + 4 > 10 written */
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, PREFILL(p.cache, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    start = 6;
    count = 0;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, PREFILL(p.cache, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    slot = 1; /* empty */
    start = 0;
    count = 1;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, PREFILL(p.cache, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    slot = 7;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, PREFILL(p.cache, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    slot = 0;
    count = 5; /* 5 query rows, the buffers hold 4 */
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, PREFILL(p.cache, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    start = count = INT_MAX; /* refused, and the message's arithmetic does not overflow (the sanitizer build) */
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, PREFILL(p.cache, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "2147483647..4294967293"), "%s", t6_context_last_error(ctx));
    start = 0;
    count = 4; /* and the valid call still works after all that */
    T6T_OK(ctx, PREFILL(p.cache, rq, 1, &slot, &start, &count, p.query, 0, p.out, 0, NULL));
#undef PREFILL

    /* Host access to the cache at extreme positions (D3: first + count − 1 overflowed in the message). */
    float host[64] = {0};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_cache_write(p.cache, T6_FACTOR_A_K, 0, INT_MAX, INT_MAX, host));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "positions 2147483647..4294967293 are outside the capacity 12"),
                  "%s", t6_context_last_error(ctx));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_cache_read(p.cache, T6_FACTOR_B_V, 2, INT_MAX, 1, host));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_cache_write(p.cache, T6_FACTOR_A_V, 0, 1, INT_MAX, host));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_cache_write(p.cache, T6_FACTOR_A_V, 0, INT_MIN, 1, host));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_cache_write(p.cache, T6_FACTOR_A_V, 0, 0, INT_MIN, host));
    problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* The query's layout follows rank_q, which the cache does not hold: a decode or prefill with another rank_q
 * than the layer's that projected into the slot read the query wrong and succeeded (D7). The slot records the
 * layer's rank_q; factors written from the host (t6_cache_write) or a reset leave nothing to check against. A
 * query buffer of another OpenCL context is refused too (D6). */
START_TEST(rank_q_must_match_the_projecting_layer)
{
    enum { C = 64, H = 4, D = 32, RQ = 2 };
    t6_context *ctx = t6t_context();
    const t6_layer_config config = {sizeof(t6_layer_config), C, H, D, RQ, 1, 1, T6_ROPE_HALF, 10000.0f, T6_F32};
    const int sizes[6] = {H * RQ, H, H, RQ * D, D, D};
    float *w[6];
    t6i_rng rng = t6t_rng_make(1300);
    for (int f = 0; f < 6; f++) {
        w[f] = malloc((size_t)sizes[f] * C * sizeof *w[f]);
        t6i_fill_normal(&rng, w[f], (size_t)sizes[f] * C, 0.1);
    }
    const t6_layer_weights weights = {w[0], w[1], w[2], w[3], w[4], w[5]};
    t6_layer *layer = NULL;
    T6T_OK(ctx, t6_layer_create(ctx, &config, &weights, &layer));
    const t6_cache_config cc = {sizeof(t6_cache_config), H, D, 1, 1, 2, 8, T6_F32};
    t6_cache *cache = NULL;
    T6T_OK(ctx, t6_cache_create(ctx, &cc, &cache));
    float hidden_host[C];
    t6i_fill_normal(&rng, hidden_host, C, 1.0);
    cl_mem hidden = NULL, query = NULL, out = NULL;
    const size_t widest_row = (size_t)H * 3 + 3 * D; /* a query row of rank 3, the wrong one below */
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, C, &hidden));
    T6T_OK(ctx, t6_buffer_upload(ctx, hidden, T6_F32, 0, C, hidden_host));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, widest_row, &query));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, H * D, &out));
    int slot = 0, position = 0, length = 1, start = 0, count = 1;
    T6T_OK(ctx, t6_project(layer, cache, 1, hidden, 0, &slot, &position, query, 0, NULL));
    T6T_OK(ctx, t6_attention_decode(cache, RQ, 1, &slot, &length, query, 0, out, 0, NULL));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT,
               t6_attention_decode(cache, 3, 1, &slot, &length, query, 0, out, 0, NULL));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "rank_q=3, but slot 0 was last written by t6_project with a "
                                                    "layer of rank_q=2"),
                  "%s", t6_context_last_error(ctx));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT,
               t6_attention_prefill(cache, 1, 1, &slot, &start, &count, query, 0, out, 0, NULL));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "rank_q=1") && strstr(t6_context_last_error(ctx), "rank_q=2"),
                  "%s", t6_context_last_error(ctx));
    const t6_attention_options materialized = {sizeof(t6_attention_options), 0, 0, 0, 0, T6_ATTENTION_MATERIALIZED,
                                               T6_PRECISION_DEFAULT};
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT,
               t6_attention_decode(cache, 3, 1, &slot, &length, query, 0, out, 0, &materialized));
    /* One slot of a batch projected by the layer, the other written from the host. */
    float factors[64] = {0};
    const int other = 1, both[2] = {0, 1}, lengths[2] = {1, 1};
    for (int f = 0; f < 4; f++) T6T_OK(ctx, t6_cache_write(cache, (t6_cache_factor)f, other, 0, 1, factors));
    T6T_OK(ctx, t6_attention_decode(cache, 3, 1, &other, &length, query, 0, out, 0, NULL));
    cl_mem query2 = NULL, out2 = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 2 * widest_row, &query2));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 2 * H * D, &out2));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT,
               t6_attention_decode(cache, 3, 2, both, lengths, query2, 0, out2, 0, NULL));
    /* Host writes (or a reset) leave nothing to check against: any rank_q is the caller's word. */
    T6T_OK(ctx, t6_cache_write(cache, T6_FACTOR_A_K, slot, 0, 1, factors));
    T6T_OK(ctx, t6_attention_decode(cache, 3, 1, &slot, &length, query, 0, out, 0, NULL));
    T6T_OK(ctx, t6_project(layer, cache, 1, hidden, 0, &slot, &position, query, 0, NULL));
    T6T_OK(ctx, t6_cache_reset(cache, slot));
    T6T_OK(ctx, t6_cache_write(cache, T6_FACTOR_A_K, slot, 0, 1, factors));
    T6T_OK(ctx, t6_attention_decode(cache, 3, 1, &slot, &length, query, 0, out, 0, NULL));

    /* A query buffer of another OpenCL context. */
    t6_context *other_ctx = t6t_context();
    cl_mem foreign = NULL;
    T6T_OK(other_ctx, t6_buffer_create(other_ctx, T6_F32, widest_row, &foreign));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT,
               t6_attention_decode(cache, 3, 1, &slot, &length, foreign, 0, out, 0, NULL));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "query belongs to another OpenCL context"), "%s",
                  t6_context_last_error(ctx));
    clReleaseMemObject(foreign);
    t6_context_destroy(other_ctx);

    clReleaseMemObject(hidden);
    clReleaseMemObject(query);
    clReleaseMemObject(out);
    clReleaseMemObject(query2);
    clReleaseMemObject(out2);
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    for (int f = 0; f < 6; f++) free(w[f]);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(self_test_passes)
{
    t6_context *ctx = t6t_context();
    T6T_OK(ctx, t6i_self_test_decode(ctx));
    T6T_OK(ctx, t6i_self_test_prefill(ctx));
    t6_context_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("attention");
    TCase *decode = tcase_create("decode");
    tcase_set_timeout(decode, 300);
    tcase_add_test(decode, decode_every_storage_type);
    tcase_add_test(decode, decode_odd_shapes);
    tcase_add_test(decode, decode_batch_of_mixed_lengths);
    tcase_add_test(decode, decode_custom_scales);
    tcase_add_test(decode, decode_tunables_keep_results);
    tcase_add_test(decode, decode_kernel3_tunables_keep_results);
    tcase_add_test(decode, decode_rising_scores);
    tcase_add_test(decode, mha_written_as_tpa_equals_mha);
    suite_add_tcase(suite, decode);
    TCase *found = tcase_create("found_by_tuning");
    tcase_set_timeout(found, 300);
    tcase_add_test(found, decode_kernel1_configurations_found_wrong);
    suite_add_tcase(suite, found);
    TCase *prefill = tcase_create("prefill");
    tcase_set_timeout(prefill, 300);
    tcase_add_test(prefill, prefill_matches_reference);
    tcase_add_test(prefill, prefill_tunables_keep_results);
    tcase_add_test(prefill, prefill_of_one_query_equals_decode);
    tcase_add_test(prefill, prefill_in_two_chunks_equals_one);
    suite_add_tcase(suite, prefill);
    TCase *arguments = tcase_create("arguments");
    tcase_set_timeout(arguments, 300);
    tcase_add_test(arguments, invalid_arguments_are_rejected);
    tcase_add_test(arguments, rank_q_must_match_the_projecting_layer);
    tcase_add_test(arguments, self_test_passes);
    suite_add_tcase(suite, arguments);
    return t6t_run(suite);
}
