/* check_projection.c — layers and t6_project: both kernels of the fused method (rows and tiles, the latter
 * whole and split over C) and the CLBlast method against the double reference (t6_ref_project fed the weights
 * as the layer stores them), for every storage type and both RoPE styles, odd shapes, positions ≥ 2^19,
 * several slots per call; the cache compared element by element (and untouched elsewhere); layers from device
 * buffers; tunables, and which of defaults, profiles and explicit values wins; invalid calls. */
#include "projection_problem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_projection(t6_context *ctx, t6_layer *layer, t6_cache *cache, const projection_problem *p,
                             t6_projection_method method, const char *label)
{
    projection_check(ctx, layer, cache, p, method, label, false);
}

/* The ways t6_project can run: the fused rows kernel, the fused tiles kernel (forced whatever the row count)
 * over all of C or split over C into as many ranges as it has K chunks (rope_scatter.c adds them), and the
 * CLBlast path. Sets the context's tunables for it and returns the method. */
enum { PATH_ROWS, PATH_TILES, PATH_SPLIT, PATH_CLBLAST, PATH_COUNT };
static const char *const path_names[PATH_COUNT] = {"fused rows kernel", "fused tiles kernel",
                                                   "fused tiles kernel split over C", "clblast"};

static t6_projection_method use_path(t6_context *ctx, int path)
{
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_PROJECTION));
    if (path == PATH_CLBLAST) return T6_PROJECTION_CLBLAST;
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_ROWS_MAX", path == PATH_ROWS ? 1 << 24 : 0));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_SPLIT_GROUPS", path == PATH_SPLIT ? 64 : 0));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_SPLIT_K_MIN", 1));
    return T6_PROJECTION_FUSED;
}

/* Rows spread over `slots` slots at distinct positions below `capacity`. */
static void spread_rows(projection_problem *p, int slots, int capacity, uint64_t stream)
{
    t6i_rng rng = t6t_rng_make(stream);
    for (int row = 0; row < p->rows; row++) {
        int slot, position, taken;
        do {
            slot = (int)(t6i_uniform(&rng) * slots);
            position = (int)(t6i_uniform(&rng) * capacity);
            taken = 0;
            for (int other = 0; other < row; other++)
                taken |= p->slots[other] == slot && p->positions[other] == position;
        } while (taken);
        p->slots[row] = slot;
        p->positions[row] = position;
    }
}

static const t6_layer_config odd_config = {sizeof(t6_layer_config), 100, 5, 32, 3, 1, 2, T6_ROPE_HALF, 10000.0f,
                                           T6_F32};

/* The odd shape, fp32 everywhere, both RoPE styles and bases, every path; 7 rows (one group of the
 * rows kernel, a partial tile) and 41 (several row blocks or tiles, partial row and column tiles). */
START_TEST(odd_shape_both_styles_every_path)
{
    t6_context *ctx = t6t_context();
    static const int row_counts[2] = {7, 41};
    for (int style = 0; style < 2; style++) {
        for (int r = 0; r < 2; r++) {
            t6_layer_config config = odd_config;
            config.rope_style = (t6_rope_style)style;
            config.rope_base = style == T6_ROPE_HALF ? 10000.0f : 500000.0f;
            projection_problem p = projection_problem_make(config, row_counts[r], 10 + (uint64_t)(2 * style + r));
            spread_rows(&p, 3, 64, 20 + (uint64_t)r);
            t6_layer *layer = projection_layer(ctx, &p);
            for (int path = 0; path < PATH_COUNT; path++) {
                if (path == PATH_CLBLAST && !T6I_HAVE_CLBLAST) continue;
                t6_cache *cache = projection_cache(ctx, &config, 3, 64, T6_F32);
                projection_cache_fill(cache);
                char label[96];
                snprintf(label, sizeof label, "style %d, %d rows, %s", style, p.rows, path_names[path]);
                check_projection(ctx, layer, cache, &p, use_path(ctx, path), label);
                t6_cache_destroy(cache);
            }
            t6_layer_destroy(layer);
            projection_problem_free(&p);
        }
    }
    t6_context_destroy(ctx);
}
END_TEST

/* Every weight dtype × cache dtype through the rows kernel; the tiles kernel (whole and split: one program)
 * and the CLBlast path each see every weight dtype and every cache dtype once (each combination is a kernel
 * build: keep them few). */
START_TEST(every_storage_type)
{
    t6_context *ctx = t6t_context();
    for (int wd = 0; wd < 3; wd++) {
        for (int cd = 0; cd < 3; cd++) {
            t6_layer_config config = {sizeof(t6_layer_config), 72, 3, 64, 2, 2, 1, (t6_rope_style)((wd + cd) % 2),
                                      10000.0f, (t6_dtype)wd};
            const int rows = (wd + cd) % 2 ? 5 : 23;
            projection_problem p = projection_problem_make(config, rows, 100 + (uint64_t)(3 * wd + cd));
            spread_rows(&p, 2, 32, 200 + (uint64_t)(3 * wd + cd));
            t6_layer *layer = projection_layer(ctx, &p);
            for (int path = 0; path < PATH_COUNT; path++) {
                const bool tiles = path == PATH_TILES || path == PATH_SPLIT;
                if ((tiles && cd != wd) || (path == PATH_CLBLAST && (cd != (wd + 1) % 3 || !T6I_HAVE_CLBLAST)))
                    continue;
                t6_cache *cache = projection_cache(ctx, &config, 2, 32, (t6_dtype)cd);
                projection_cache_fill(cache);
                char label[96];
                snprintf(label, sizeof label, "weights %s, cache %s, %d rows, %s", t6_dtype_name((t6_dtype)wd),
                         t6_dtype_name((t6_dtype)cd), rows, path_names[path]);
                check_projection(ctx, layer, cache, &p, use_path(ctx, path), label);
                t6_cache_destroy(cache);
            }
            t6_layer_destroy(layer);
            projection_problem_free(&p);
        }
    }
    t6_context_destroy(ctx);
}
END_TEST

/* The default path for small calls, for every power-of-two block the rows kernel compiles for, and past the
 * GPU default's switch to the tiles kernel. */
START_TEST(every_small_row_count)
{
    t6_context *ctx = t6t_context();
    static const int row_counts[] = {1, 2, 3, 8, 13, 16, 17};
    t6_layer_config config = {sizeof(t6_layer_config), 48, 2, 32, 1, 2, 1, T6_ROPE_INTERLEAVED, 500000.0f, T6_F32};
    for (size_t i = 0; i < sizeof row_counts / sizeof row_counts[0]; i++) {
        projection_problem p = projection_problem_make(config, row_counts[i], 300 + i);
        spread_rows(&p, 1, 24, 400 + i);
        t6_layer *layer = projection_layer(ctx, &p);
        t6_cache *cache = projection_cache(ctx, &config, 1, 24, T6_F32);
        projection_cache_fill(cache);
        char label[64];
        snprintf(label, sizeof label, "%d rows", p.rows);
        check_projection(ctx, layer, cache, &p, T6_PROJECTION_FUSED, label);
        t6_cache_destroy(cache);
        t6_layer_destroy(layer);
        projection_problem_free(&p);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* Positions ≥ 2^19 (one slot, a cache just large enough): the angles must come from the exact integer. */
START_TEST(large_positions)
{
    t6_context *ctx = t6t_context();
    enum { CAPACITY = (1 << 20) + 8 };
    static const int positions[6] = {1 << 19, (1 << 19) + 1, 999999, (1 << 20) + 7, 3, (1 << 20) - 1};
    for (int style = 0; style < 2; style++) {
        t6_layer_config config = {sizeof(t6_layer_config), 40, 1, 32, 2, 1, 1, (t6_rope_style)style,
                                  style ? 500000.0f : 10000.0f, T6_F32};
        projection_problem p = projection_problem_make(config, 6, 500 + (uint64_t)style);
        memcpy(p.positions, positions, sizeof positions);
        t6_layer *layer = projection_layer(ctx, &p);
        t6_cache *cache = projection_cache(ctx, &config, 1, CAPACITY, T6_F32);

        cl_mem hidden = NULL, query = NULL;
        const size_t row_size = t6_query_row_size(&config);
        T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 6 * 40, &hidden));
        T6T_OK(ctx, t6_buffer_upload(ctx, hidden, T6_F32, 0, 6 * 40, p.hidden));
        T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 6 * row_size, &query));
        double b_q[6 * 64], b_k[6 * 32];
        const double *const w[6] = {p.weights_ref[0], p.weights_ref[1], p.weights_ref[2],
                                    p.weights_ref[3], p.weights_ref[4], p.weights_ref[5]};
        T6T_OK(NULL, t6_ref_project(&config, w, 6, p.hidden_ref, p.positions, NULL, b_q, NULL, b_k, NULL, NULL));
        for (int path = 0; path < PATH_COUNT; path++) {
            if (path == PATH_CLBLAST && !T6I_HAVE_CLBLAST) continue;
            const t6_project_options options = {sizeof(t6_project_options), use_path(ctx, path)};
            T6T_OK(ctx, t6_project(layer, cache, 6, hidden, 0, p.slots, p.positions, query, 0, &options));
            float got[6 * 66];
            T6T_OK(ctx, t6_buffer_download(ctx, query, T6_F32, 0, 6 * row_size, got));
            for (int row = 0; row < 6; row++) {
                char what[96];
                snprintf(what, sizeof what, "style %d, %s, position %d: B_Q", style, path_names[path], positions[row]);
                T6T_CLOSE(got + row * row_size + 2, b_q + row * 64, 64, 1e-4, what);
                float k[32];
                T6T_OK(ctx, t6_cache_read(cache, T6_FACTOR_B_K, 0, positions[row], 1, k));
                snprintf(what, sizeof what, "style %d, %s, position %d: B_K", style, path_names[path], positions[row]);
                T6T_CLOSE(k, b_k + row * 32, 32, 1e-4, what);
            }
        }
        int length = 0;
        T6T_OK(ctx, t6_cache_length(cache, 0, &length));
        ck_assert_int_eq(length, (1 << 20) + 8);
        clReleaseMemObject(hidden);
        clReleaseMemObject(query);
        t6_cache_destroy(cache);
        t6_layer_destroy(layer);
        projection_problem_free(&p);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* A layer made from device buffers (in the weight dtype) projects exactly as one made from host arrays. */
START_TEST(layer_from_buffers_matches_host_layer)
{
    t6_context *ctx = t6t_context();
    for (int wd = 0; wd < 3; wd++) {
        t6_layer_config config = odd_config;
        config.weight_dtype = (t6_dtype)wd;
        config.rope_style = (t6_rope_style)(wd % 2);
        projection_problem p = projection_problem_make(config, 9, 600 + (uint64_t)wd);
        spread_rows(&p, 2, 16, 700 + (uint64_t)wd);
        cl_mem buffers[6];
        for (int f = 0; f < 6; f++) {
            size_t n = (size_t)projection_matrix_rows(&config, f) * (size_t)config.model_dim;
            T6T_OK(ctx, t6_buffer_create(ctx, config.weight_dtype, n, &buffers[f]));
            T6T_OK(ctx, t6_buffer_upload(ctx, buffers[f], config.weight_dtype, 0, n, p.weights[f]));
        }
        t6_layer *from_buffers = NULL;
        T6T_OK(ctx, t6_layer_create_from_buffers(ctx, &config, buffers, &from_buffers));
        for (int f = 0; f < 6; f++) clReleaseMemObject(buffers[f]); /* the layer holds its own copy */
        t6_layer_config back = T6_LAYER_CONFIG_INIT;
        T6T_OK(ctx, t6_layer_get_config(from_buffers, &back));
        ck_assert_mem_eq(&back, &config, sizeof config);

        t6_cache *cache = projection_cache(ctx, &config, 2, 16, T6_F32);
        projection_cache_fill(cache);
        check_projection(ctx, from_buffers, cache, &p, T6_PROJECTION_FUSED, "layer from buffers");
        float a[32], b[32];
        t6_layer *from_host = projection_layer(ctx, &p);
        t6_cache *other = projection_cache(ctx, &config, 2, 16, T6_F32);
        projection_cache_fill(other);
        check_projection(ctx, from_host, other, &p, T6_PROJECTION_FUSED, "layer from host");
        for (int row = 0; row < p.rows; row++) {
            T6T_OK(ctx, t6_cache_read(cache, T6_FACTOR_B_K, p.slots[row], p.positions[row], 1, a));
            T6T_OK(ctx, t6_cache_read(other, T6_FACTOR_B_K, p.slots[row], p.positions[row], 1, b));
            ck_assert_mem_eq(a, b, sizeof a);
        }
        t6_cache_destroy(cache);
        t6_cache_destroy(other);
        t6_layer_destroy(from_buffers);
        t6_layer_destroy(from_host);
        projection_problem_free(&p);
    }
    t6_context_destroy(ctx);
}
END_TEST

/* Other values of the tunables give the same results; combinations the kernels cannot run are refused. Some
 * variants need more local memory than a GPU has (128 lanes × 16 columns × 16 rows: 130 KiB): those must be
 * refused before anything runs, and most variants must run. */
START_TEST(tunables_change_speed_not_results)
{
    t6_context *ctx = t6t_context();
    static const struct {
        const char *name;
        int value;
    } variants[][10] = {
        {{"T6_PRJ_RW_LANES", 32}, {"T6_PRJ_RW_COLS", 2}, {"T6_PRJ_RW_VW", 8}},
        {{"T6_PRJ_RW_LANES", 128}, {"T6_PRJ_RW_COLS", 16}, {"T6_PRJ_RW_VW", 2}},
        {{"T6_PRJ_ROWS_MAX", 1 << 24}, {"T6_PRJ_RW_BLOCK", 2}, {"T6_PRJ_RW_LANES", 1}, {"T6_PRJ_RW_VACC", 0}},
        {{"T6_PRJ_ROWS_MAX", 1 << 24}, {"T6_PRJ_RW_BLOCK", 4}, {"T6_PRJ_RW_LANES", 16}, {"T6_PRJ_RW_COLS", 8}},
        {{"T6_PRJ_ROWS_MAX", 0}, {"T6_PRJ_SA", 0}, {"T6_PRJ_SB", 0}, {"T6_PRJ_VWM", 1}},
        /* Split into ranges of C of 64 and 36 (K_MIN 40), and of 40, 40 and 20 (K_MIN 30, 8-wide chunks). */
        {{"T6_PRJ_ROWS_MAX", 0}, {"T6_PRJ_MWG", 32}, {"T6_PRJ_NWG", 128}, {"T6_PRJ_KWG", 32}, {"T6_PRJ_MDIMC", 8},
         {"T6_PRJ_VWN", 8}, {"T6_PRJ_SPLIT_GROUPS", 64}, {"T6_PRJ_SPLIT_K_MIN", 40}},
        {{"T6_PRJ_ROWS_MAX", 0}, {"T6_PRJ_MWG", 16}, {"T6_PRJ_NWG", 16}, {"T6_PRJ_KWG", 8}, {"T6_PRJ_MDIMC", 8},
         {"T6_PRJ_NDIMC", 4}, {"T6_PRJ_VWM", 2}, {"T6_PRJ_PREFETCH", 0}, {"T6_PRJ_SPLIT_GROUPS", 64},
         {"T6_PRJ_SPLIT_K_MIN", 30}},
        /* Fewer staging loads than work-items (8 × 32 / 4 of 128), rows tiles of 8, split: partial tiles of rows,
         * columns and K at once. */
        {{"T6_PRJ_ROWS_MAX", 0}, {"T6_PRJ_MWG", 8}, {"T6_PRJ_MDIMC", 8}, {"T6_PRJ_VWM", 1}, {"T6_PRJ_NDIMC", 16},
         {"T6_PRJ_SPLIT_GROUPS", 64}, {"T6_PRJ_SPLIT_K_MIN", 40}, {"T6_PRJ_SA", 1}, {"T6_PRJ_SB", 0}},
    };
    enum { VARIANTS = sizeof variants / sizeof variants[0] };
    t6_layer_config config = odd_config;
    config.weight_dtype = T6_BF16;
    projection_problem p = projection_problem_make(config, 11, 800);
    spread_rows(&p, 2, 16, 801);
    t6_layer *layer = projection_layer(ctx, &p);
    int ran = 0;
    for (size_t v = 0; v < VARIANTS; v++) {
        T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_PROJECTION));
        for (int i = 0; i < 10 && variants[v][i].name; i++)
            T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, variants[v][i].name, variants[v][i].value));
        t6_cache *cache = projection_cache(ctx, &config, 2, 16, T6_F16);
        projection_cache_fill(cache);
        char label[64];
        snprintf(label, sizeof label, "variant %zu", v);
        ran += projection_check(ctx, layer, cache, &p, T6_PROJECTION_FUSED, label, true);
        t6_cache_destroy(cache);
    }
    ck_assert_msg(2 * ran >= VARIANTS, "only %d of %d variants ran", ran, (int)VARIANTS);
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_PROJECTION));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_ROPE_SCATTER, "T6_RS_WG_SIZE", 32));
    t6_cache *cache = projection_cache(ctx, &config, 2, 16, T6_F16);
    projection_cache_fill(cache);
    check_projection(ctx, layer, cache, &p, T6_PROJECTION_CLBLAST, "rope_scatter groups of 32");

    /* Refused before anything runs: the cache stays empty. */
    cl_mem hidden = NULL, query = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, (size_t)p.rows * 100, &hidden));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, (size_t)p.rows * t6_query_row_size(&config), &query));
    T6T_OK(ctx, t6_cache_reset(cache, 0));
    T6T_OK(ctx, t6_cache_reset(cache, 1));
    static const struct {
        const char *name;
        int value;
    } refused[] = {{"T6_PRJ_RW_VW", 3}, {"T6_PRJ_RW_COLS", 6}, {"T6_PRJ_MWG", 48}, {"T6_PRJ_KWG", 24}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_PROJECTION));
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, refused[i].name, refused[i].value));
        if (strncmp(refused[i].name, "T6_PRJ_RW", 9) != 0)
            T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_ROWS_MAX", 0));
        T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS,
                   t6_project(layer, cache, p.rows, hidden, 0, p.slots, p.positions, query, 0, NULL));
        ck_assert_msg(strstr(t6_context_last_error(ctx), refused[i].name) != NULL, "message: %s",
                      t6_context_last_error(ctx));
    }
    for (int s = 0; s < 2; s++) {
        int length = -1;
        T6T_OK(ctx, t6_cache_length(cache, s, &length));
        ck_assert_int_eq(length, 0);
    }
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_MWG", 1000));
    clReleaseMemObject(hidden);
    clReleaseMemObject(query);
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    projection_problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Where the tunables come from: the built-in defaults (on CPUs, params.c's CPU values in their place) lose
 * to a profile's bucket, which loses to values set explicitly. A bucket with values the op refuses is dropped
 * when the profile loads (here the one nearer the call, with T6_PRJ_MWG=48); explicit values it refuses fail
 * the call. On a CPU only the profile's T6_PRJ_ROWS_MAX=0 gives these calls the tiles kernel. */
START_TEST(profiles_and_explicit_values_beat_device_defaults)
{
    t6_context *ctx = t6t_context();
    t6_device_info info = T6_DEVICE_INFO_INIT;
    T6T_OK(ctx, t6_context_device_info(ctx, &info));
    char dir[256], path[512], text[1024];
    t6t_temp_dir("t6-check-projection", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/profile.json", dir);
    snprintf(text, sizeof text,
             "{\"schema\":\"%s\",\"schema_version\":%d,\"t6_version\":\"%s\",\"tuned\":false,"
             "\"device\":{\"normalized_vendor\":\"%s\",\"vendor_default\":true,\"is_gpu\":%s},"
             "\"ops\":{\"projection\":{\"buckets\":[{\"name\":\"every shape\",\"shape\":{},"
             "\"params\":{\"T6_PRJ_ROWS_MAX\":0,\"T6_PRJ_MWG\":32,\"T6_PRJ_MDIMC\":8}},"
             "{\"name\":\"refused\",\"shape\":{\"rows\":9},\"params\":{\"T6_PRJ_ROWS_MAX\":0,\"T6_PRJ_MWG\":48}}]}}}",
             T6_PROFILE_SCHEMA, T6_PROFILE_SCHEMA_VERSION, T6_VERSION_STRING, info.normalized_vendor,
             info.is_gpu ? "true" : "false");
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    ck_assert(fputs(text, file) >= 0 && fclose(file) == 0);
    T6T_OK(ctx, t6_context_load_profile(ctx, path));
    t6t_remove_tree(dir);

    projection_problem p = projection_problem_make(odd_config, 9, 1200);
    spread_rows(&p, 2, 16, 1201);
    t6_layer *layer = projection_layer(ctx, &p);
    t6_cache *cache = projection_cache(ctx, &odd_config, 2, 16, T6_F32);
    projection_cache_fill(cache);
    t6i_shape shape = {{0}};
    shape.f[T6I_F_ROWS] = p.rows;
    t6i_params defaults, resolved;
    t6i_params_defaults(&info, T6_OP_PROJECTION, &defaults);
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_PROJECTION, &shape, &resolved));
    ck_assert_int_eq(t6i_param(&resolved, T6I_PRJ_ROWS_MAX), 0);
    ck_assert_int_eq(t6i_param(&resolved, T6I_PRJ_MWG), 32);
    ck_assert_int_eq(t6i_param(&resolved, T6I_PRJ_MDIMC), 8);
    ck_assert_int_eq(t6i_param(&resolved, T6I_PRJ_RW_VW), t6i_param(&defaults, T6I_PRJ_RW_VW));
    check_projection(ctx, layer, cache, &p, T6_PROJECTION_FUSED, "profile");

    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_MWG", 64));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_MDIMC", 16));
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_PROJECTION, &shape, &resolved));
    ck_assert_int_eq(t6i_param(&resolved, T6I_PRJ_ROWS_MAX), 0);
    ck_assert_int_eq(t6i_param(&resolved, T6I_PRJ_MWG), 64);
    check_projection(ctx, layer, cache, &p, T6_PROJECTION_FUSED, "profile and explicit");

    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, "T6_PRJ_RW_COLS", 6));
    T6T_OK(ctx, t6_cache_reset(cache, 0));
    T6T_OK(ctx, t6_cache_reset(cache, 1));
    ck_assert(!projection_check(ctx, layer, cache, &p, T6_PROJECTION_FUSED, "explicit", true));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "T6_PRJ_RW_COLS=6") != NULL, "%s", t6_context_last_error(ctx));
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    projection_problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Each slot's length becomes one past the highest position written to it; other slots keep theirs. */
START_TEST(cache_lengths_follow_the_rows)
{
    t6_context *ctx = t6t_context();
    t6_layer_config config = odd_config;
    projection_problem p = projection_problem_make(config, 5, 900);
    static const int slots[5] = {2, 0, 2, 0, 2}, positions[5] = {7, 3, 30, 2, 8};
    memcpy(p.slots, slots, sizeof slots);
    memcpy(p.positions, positions, sizeof positions);
    t6_layer *layer = projection_layer(ctx, &p);
    t6_cache *cache = projection_cache(ctx, &config, 4, 40, T6_F32);
    projection_cache_fill(cache);
    check_projection(ctx, layer, cache, &p, T6_PROJECTION_FUSED, "lengths");
    static const int expected[4] = {4, 0, 31, 0};
    for (int s = 0; s < 4; s++) {
        int length = -1;
        T6T_OK(ctx, t6_cache_length(cache, s, &length));
        ck_assert_int_eq(length, expected[s]);
    }
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    projection_problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(invalid_layers_are_rejected)
{
    t6_context *ctx = t6t_context();
    projection_problem p = projection_problem_make(odd_config, 1, 1000);
    const t6_layer_weights w = {p.weights[0], p.weights[1], p.weights[2], p.weights[3], p.weights[4], p.weights[5]};
    t6_layer *layer = NULL;
    t6_layer_config bad[8];
    for (int i = 0; i < 8; i++) bad[i] = odd_config;
    bad[0].model_dim = 0;
    bad[1].head_dim = 48;
    bad[2].rank_k = 0;
    bad[3].rank_q = 17;
    bad[4].rope_base = 1.0f;
    bad[5].rope_style = (t6_rope_style)2;
    bad[6].weight_dtype = (t6_dtype)3;
    bad[7].heads = 0;
    for (int i = 0; i < 8; i++) {
        T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_layer_create(ctx, &bad[i], &w, &layer));
        ck_assert_ptr_null(layer);
    }
    ck_assert_uint_eq(t6_query_row_size(&bad[3]), 0);
    ck_assert_uint_eq(t6_query_row_size(&odd_config), 5 * 3 + 3 * 32);
    ck_assert_uint_eq(t6_query_row_size(NULL), 0);
    t6_layer_weights missing = w;
    missing.w_b_v = NULL;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_layer_create(ctx, &odd_config, &missing, &layer));
    ck_assert(strstr(t6_context_last_error(ctx), "W_B_v") != NULL);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_layer_create(ctx, &odd_config, NULL, &layer));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_layer_create(ctx, NULL, &w, &layer));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_layer_create(ctx, &odd_config, &w, NULL));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_layer_create(NULL, &odd_config, &w, &layer));

    /* Device buffers: one too small, one missing. */
    cl_mem buffers[6];
    for (int f = 0; f < 6; f++) {
        size_t n = (size_t)projection_matrix_rows(&odd_config, f) * 100 - (f == 4 ? 1 : 0);
        T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, n, &buffers[f]));
    }
    T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, t6_layer_create_from_buffers(ctx, &odd_config, buffers, &layer));
    ck_assert(strstr(t6_context_last_error(ctx), "W_B_k") != NULL);
    cl_mem kept = buffers[4];
    buffers[4] = NULL;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_layer_create_from_buffers(ctx, &odd_config, buffers, &layer));
    ck_assert_ptr_null(layer);
    buffers[4] = kept;
    for (int f = 0; f < 6; f++) clReleaseMemObject(buffers[f]);
    t6_layer_destroy(NULL);
    projection_problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(invalid_calls_are_rejected)
{
    t6_context *ctx = t6t_context();
    projection_problem p = projection_problem_make(odd_config, 3, 1100);
    static const int slots[3] = {0, 1, 0}, positions[3] = {0, 4, 7};
    memcpy(p.slots, slots, sizeof slots);
    memcpy(p.positions, positions, sizeof positions);
    t6_layer *layer = projection_layer(ctx, &p);
    t6_cache *cache = projection_cache(ctx, &odd_config, 2, 8, T6_F32);
    const size_t row_size = t6_query_row_size(&odd_config);
    cl_mem hidden = NULL, query = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 3 * 100, &hidden));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 3 * row_size, &query));
    T6T_OK(ctx, t6_buffer_upload(ctx, hidden, T6_F32, 0, 3 * 100, p.hidden));

#define REJECT(expected, ...) T6T_STATUS(ctx, expected, t6_project(__VA_ARGS__))
    REJECT(T6_ERROR_INVALID_ARGUMENT, NULL, cache, 3, hidden, 0, slots, positions, query, 0, NULL);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, NULL, 3, hidden, 0, slots, positions, query, 0, NULL);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 0, hidden, 0, slots, positions, query, 0, NULL);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, NULL, positions, query, 0, NULL);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, slots, NULL, query, 0, NULL);
    static const int bad_slot[3] = {0, 2, 0}, negative_slot[3] = {0, -1, 0};
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, bad_slot, positions, query, 0, NULL);
    ck_assert(strstr(t6_context_last_error(ctx), "slots[1]=2") != NULL);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, negative_slot, positions, query, 0, NULL);
    static const int at_capacity[3] = {0, 8, 1}, negative[3] = {0, 1, -2};
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, slots, at_capacity, query, 0, NULL);
    ck_assert(strstr(t6_context_last_error(ctx), "capacity") != NULL);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, slots, negative, query, 0, NULL);
    REJECT(T6_ERROR_BUFFER_TOO_SMALL, layer, cache, 3, hidden, 1, slots, positions, query, 0, NULL);
    REJECT(T6_ERROR_BUFFER_TOO_SMALL, layer, cache, 3, hidden, 0, slots, positions, query, 1, NULL);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, NULL, 0, slots, positions, query, 0, NULL);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, slots, positions, NULL, 0, NULL);
    const t6_project_options unknown = {sizeof(t6_project_options), (t6_projection_method)5};
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, slots, positions, query, 0, &unknown);
    /* A build without CLBlast knows the method and says it cannot serve it. */
    if (!T6I_HAVE_CLBLAST) {
        const t6_project_options clblast = {sizeof(t6_project_options), T6_PROJECTION_CLBLAST};
        REJECT(T6_ERROR_UNSUPPORTED, layer, cache, 3, hidden, 0, slots, positions, query, 0, &clblast);
        ck_assert(strstr(t6_context_last_error(ctx), "needs CLBlast") != NULL);
    }

    /* A cache of another shape. */
    t6_layer_config other = odd_config;
    other.rank_v = 1;
    t6_cache *mismatched = projection_cache(ctx, &other, 2, 8, T6_F32);
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, mismatched, 3, hidden, 0, slots, positions, query, 0, NULL);
    ck_assert(strstr(t6_context_last_error(ctx), "does not match") != NULL);
    t6_cache_destroy(mismatched);

    /* Buffers of another OpenCL context (D6): PoCL would run the call on them, another driver anything at all. */
    t6_context *other_ctx = t6t_context();
    cl_mem foreign_hidden = NULL, foreign_query = NULL;
    T6T_OK(other_ctx, t6_buffer_create(other_ctx, T6_F32, 3 * 100, &foreign_hidden));
    T6T_OK(other_ctx, t6_buffer_create(other_ctx, T6_F32, 3 * row_size, &foreign_query));
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, foreign_hidden, 0, slots, positions, query, 0, NULL);
    ck_assert_msg(strstr(t6_context_last_error(ctx), "t6_project: hidden belongs to another OpenCL context"), "%s",
                  t6_context_last_error(ctx));
    REJECT(T6_ERROR_INVALID_ARGUMENT, layer, cache, 3, hidden, 0, slots, positions, foreign_query, 0, NULL);
    ck_assert_msg(strstr(t6_context_last_error(ctx), "t6_project: query belongs to another OpenCL context"), "%s",
                  t6_context_last_error(ctx));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_upload(ctx, foreign_hidden, T6_F32, 0, 3 * 100, p.hidden));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_download(ctx, foreign_hidden, T6_F32, 0, 3 * 100, p.hidden));
    clReleaseMemObject(foreign_hidden);
    clReleaseMemObject(foreign_query);
    t6_context_destroy(other_ctx);
#undef REJECT
    for (int s = 0; s < 2; s++) { /* nothing was written by any refused call */
        int length = -1;
        T6T_OK(ctx, t6_cache_length(cache, s, &length));
        ck_assert_int_eq(length, 0);
    }
    T6T_OK(ctx, t6_project(layer, cache, 3, hidden, 0, slots, positions, query, 0, NULL));
    T6T_OK(ctx, t6_context_finish(ctx));
    clReleaseMemObject(hidden);
    clReleaseMemObject(query);
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    projection_problem_free(&p);
    t6_context_destroy(ctx);
}
END_TEST

/* Each tunable's default in lib/tuning/params.c is the #define of the kernel file that uses it. */
START_TEST(tunable_defaults_match_the_kernels)
{
    static const struct {
        t6_op op;
        const char *source;
    } ops[] = {{T6_OP_PROJECTION, "projection"}, {T6_OP_ROPE_SCATTER, "rope_scatter"}};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        size_t length = 0;
        const char *text = t6i_embedded_source(ops[o].source, &length);
        ck_assert_ptr_nonnull(text);
        ck_assert_int_gt(t6_op_param_count(ops[o].op), 0);
        for (int i = 0; i < t6_op_param_count(ops[o].op); i++) {
            t6_param_info info;
            T6T_OK(NULL, t6_op_param_info(ops[o].op, i, &info));
            char define[96];
            snprintf(define, sizeof define, "#define %s %d ", info.name, info.default_value);
            ck_assert_msg(strstr(text, define) != NULL, "%s.cl has no '%s'", ops[o].source, define);
            ck_assert(info.min_value <= info.default_value && info.default_value <= info.max_value);
        }
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("projection");
    TCase *results = tcase_create("results");
    tcase_set_timeout(results, 300);
    tcase_add_test(results, odd_shape_both_styles_every_path);
    tcase_add_test(results, every_storage_type);
    tcase_add_test(results, every_small_row_count);
    tcase_add_test(results, large_positions);
    tcase_add_test(results, layer_from_buffers_matches_host_layer);
    tcase_add_test(results, tunables_change_speed_not_results);
    tcase_add_test(results, profiles_and_explicit_values_beat_device_defaults);
    tcase_add_test(results, cache_lengths_follow_the_rows);
    suite_add_tcase(suite, results);
    TCase *arguments = tcase_create("arguments");
    tcase_add_test(arguments, invalid_layers_are_rejected);
    tcase_add_test(arguments, invalid_calls_are_rejected);
    tcase_add_test(arguments, tunable_defaults_match_the_kernels);
    suite_add_tcase(suite, arguments);
    return t6t_run(suite);
}
