/* support.c — shared test helpers (see support.h). */
#include "support.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t t6t_seed(void)
{
    const char *text = getenv("T6_TEST_SEED");
    return text && *text ? strtoull(text, NULL, 10) : 20250113ull;
}

t6i_rng t6t_rng_make(uint64_t stream) { return t6i_rng_make(t6t_seed(), stream); }

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
