/* support.c — shared test helpers (see support.h). */
#include "support.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t t6t_seed(void)
{
    const char *text = getenv("T6_TEST_SEED");
    return text && *text ? strtoull(text, NULL, 10) : 20250113ull;
}

t6t_rng t6t_rng_make(uint64_t stream)
{
    t6t_rng rng = {t6t_seed() * 0x9E3779B97F4A7C15ull + stream * 0xD1B54A32D192ED03ull + 1};
    for (int i = 0; i < 4; i++) t6t_uniform(&rng); /* decorrelate nearby seeds */
    return rng;
}

double t6t_uniform(t6t_rng *rng)
{
    rng->state ^= rng->state >> 12;
    rng->state ^= rng->state << 25;
    rng->state ^= rng->state >> 27;
    uint64_t x = rng->state * 0x2545F4914F6CDD1Dull;
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

double t6t_normal(t6t_rng *rng)
{
    double u = t6t_uniform(rng), v = t6t_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

void t6t_fill_normal(t6t_rng *rng, float *out, size_t n, double sigma)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)(sigma * t6t_normal(rng));
}

t6_context *t6t_context(void)
{
    t6_context *ctx = NULL;
    t6_status status = t6_context_create(NULL, &ctx);
    ck_assert_msg(status == T6_SUCCESS, "t6_context_create: %s: %s", t6_status_string(status),
                  t6_context_last_error(NULL));
    return ctx;
}

void t6t_require_gpu(void)
{
    t6_context *ctx = NULL;
    int gpu = 0;
    if (t6_context_create(NULL, &ctx) == T6_SUCCESS) {
        t6_device_info info = T6_DEVICE_INFO_INIT;
        gpu = t6_context_device_info(ctx, &info) == T6_SUCCESS && info.is_gpu;
        t6_context_destroy(ctx);
    }
    if (!gpu) {
        printf("no GPU: skipped\n");
        exit(77);
    }
}

double t6t_relative_error(const float *got, const double *ref, size_t n)
{
    double max_ref = 0.0, max_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(ref[i])) return INFINITY;
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_diff = fmax(max_diff, fabs((double)got[i] - ref[i]));
    }
    if (max_ref == 0.0) return INFINITY; /* an all-zero reference proves nothing */
    return max_diff / max_ref;
}

double *t6t_to_double(const float *values, size_t n)
{
    double *out = malloc((n ? n : 1) * sizeof *out);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < n; i++) out[i] = values[i];
    return out;
}

void t6t_temp_dir(const char *prefix, char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/%s-XXXXXX", prefix);
    ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp(%s) failed", path);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

void t6t_remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

int t6t_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    if (failed) fprintf(stderr, "seed %llu (set T6_TEST_SEED to repeat)\n", (unsigned long long)t6t_seed());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
