/* tune_check.c — the modes of t6-tune that tune nothing:
 * --check FILE runs every bucket of a profile once through a worker (so a driver that crashes on it is
 *   caught too), at the bucket's exact features (head dimension, ranks, storage types) and small sizes, and
 *   checks the output against the reference: the test that no shipped profile carries parameters the library
 *   or a driver refuses or miscomputes, or tuned parameters the library would skip as stale;
 * --export FILE checks that the device's own profile is current and loads, and copies it out to be sent in. */
#include "tune.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int number(const cJSON *o, const char *name, int fallback)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(item) ? (int)item->valuedouble : fallback;
}

static t6_dtype dtype_of(const cJSON *o, const char *name, t6_dtype fallback)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    for (int d = T6_F32; d <= T6_BF16; d++)
        if (cJSON_IsString(item) && strcmp(item->valuestring, t6_dtype_name((t6_dtype)d)) == 0) return (t6_dtype)d;
    return fallback;
}

/* The bucket's shape with its sizes cut down so a CPU checks it in seconds; what changes the kernels' code
 * (head dimension, ranks, storage types) is kept. A bucket without a shape (a vendor default serves every
 * shape) is checked on `fallback`. */
static tune_shape small_shape(tune_op_id op, const cJSON *shape, const tune_shape *fallback)
{
    tune_shape s = *fallback;
    s.model_dim = number(shape, "model_dim", s.model_dim);
    s.heads = number(shape, "heads", s.heads);
    s.head_dim = number(shape, "head_dim", s.head_dim);
    s.rank_q = number(shape, "rank_q", s.rank_q);
    s.rank_k = number(shape, "rank_k", s.rank_k);
    s.rank_v = number(shape, "rank_v", s.rank_v);
    s.dtype = dtype_of(shape, "dtype", s.dtype);
    s.weight_dtype = dtype_of(shape, "weight_dtype", s.weight_dtype);
    s.rows = number(shape, "rows", s.rows);
    s.batch = number(shape, "batch", s.batch);
    s.length = number(shape, "length", s.length);
    if (s.heads > 16) s.heads = 16;
    if (s.model_dim > 512) s.model_dim = 512;
    if (s.batch > 2) s.batch = 2;
    /* projection: above 16 rows (the default crossover) the tiles kernel runs, at most the rows kernel */
    if (op == TUNE_PROJECTION) s.rows = s.rows > 16 ? 40 : s.rows > 8 ? 8 : s.rows;
    else if (s.rows > (op == TUNE_PREFILL ? 24 : 8)) s.rows = op == TUNE_PREFILL ? 24 : 8;
    if (s.length > 200) s.length = 200;
    if (op == TUNE_PREFILL && s.rows > s.length) s.rows = s.length;
    return s;
}

/* One candidate through the worker: a space of one configuration made of the bucket's parameters. */
static bool check_one(tune_worker **worker, const tune_settings *settings, const tune_device *device, tune_op_id op,
                      const char *bucket_name, const cJSON *params, const tune_shape *shape)
{
    tune_space space;
    memset(&space, 0, sizeof space);
    space.op = op;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, params)
    {
        if (space.param_count == TUNE_MAX_PARAMS || !cJSON_IsNumber(item)) continue;
        tune_param *p = &space.params[space.param_count++];
        p->name = item->string;
        p->count = 1;
        p->values[0] = (int)item->valuedouble;
    }
    /* A parameter the library does not know would be ignored at run time: in a shipped profile it is a bug. */
    for (int i = 0; i < space.param_count; i++) {
        bool known = false;
        for (int k = 0; k < t6_op_param_count(tune_op(op)->op) && !known; k++) {
            t6_param_info info;
            known = t6_op_param_info(tune_op(op)->op, k, &info) == T6_SUCCESS && !strcmp(info.name, space.params[i].name);
        }
        if (!known) {
            printf("FAILED %-24s op %s has no parameter %s\n", bucket_name, tune_op(op)->name, space.params[i].name);
            return false;
        }
    }
    tune_config config;
    memset(&config, 0, sizeof config);
    tune_result result;
    char key[256];
    tune_shape_key(op, shape, key, sizeof key);
    tune_worker_evaluate(worker, &settings->worker, device, op, shape, &space, &config, 0, 1, &result);
    /* Values the library refuses (TUNE_INVALID) are a failure too: at run time the library skips such a bucket
     * when the profile loads, so whoever ships it does not get what it says. */
    bool ok = result.status == TUNE_OK;
    printf("%-6s %-24s %-70s %s%s%s\n", ok ? "ok" : "FAILED", bucket_name, key, tune_status_name(result.status),
           result.message[0] ? ": " : "", result.status == TUNE_OK ? "" : result.message);
    return ok;
}

int tune_check_main(const char *path, const tune_settings *settings)
{
    bool missing = false;
    char why[1024];
    char *text = tune_read_file(path, "profile", &missing, why, sizeof why);
    if (!text) {
        if (missing) fprintf(stderr, "t6-tune: no profile at %s\n", path);
        else fprintf(stderr, "t6-tune: %s\n", why);
        return 1;
    }
    cJSON *root = cJSON_Parse(text);
    t6_free(text);
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(root, "ops");
    if (!cJSON_IsObject(ops)) {
        fprintf(stderr, "t6-tune: %s is not a profile t6-tune can read\n", path);
        cJSON_Delete(root);
        return 1;
    }
    /* no timing here: placeholder ceilings spare the worker measuring them */
    tune_device device, known;
    memset(&known, 0, sizeof known);
    known.copy_gbps = known.fma_gflops = 1.0;
    char error[512];
    tune_worker *worker = tune_worker_start(&settings->worker, &known, &device, error, sizeof error);
    if (!worker) {
        fprintf(stderr, "t6-tune: %s\n", error);
        cJSON_Delete(root);
        return 1;
    }
    printf("checking %s on %s\n", path, device.info.identity);
    const bool tuned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "tuned"));
    /* Shapes for buckets that name none: the T6 models' and the paper's head dimension and ranks, with few
     * rows and many (the projection's two kernels). */
    static const tune_shape fallbacks[] = {{256, 8, 64, 6, 2, 2, T6_F16, T6_F16, 5, 2, 77},
                                           {256, 8, 128, 16, 1, 1, T6_BF16, T6_BF16, 5, 2, 77},
                                           {256, 8, 64, 6, 2, 2, T6_F16, T6_F16, 40, 1, 77}};
    int failures = 0, checked = 0;
    const cJSON *part = NULL;
    cJSON_ArrayForEach(part, ops)
    {
        tune_op_id op;
        if (!part->string || !tune_op_by_name(part->string, &op) || op == TUNE_SYNTHETIC) {
            printf("skip   op %s: t6-tune does not run it\n", part->string ? part->string : "?");
            continue;
        }
        /* A tuned part whose kernels changed since is skipped by the library (docs/TUNING.md): its parameters
         * may still run, but they are not what a user of this file gets. */
        const cJSON *hash = cJSON_GetObjectItemCaseSensitive(part, "kernel_hash");
        char current[17];
        t6_kernel_hash(tune_op(op)->op, current);
        if (tuned && cJSON_IsString(hash) && strcmp(hash->valuestring, current) != 0) {
            printf("STALE  op %s: tuned for kernel sources %s, this library has %s: the library skips it (tune the "
                   "device again, or undo the kernel change)\n",
                   part->string, hash->valuestring, current);
            failures++;
        }
        const cJSON *bucket = NULL;
        cJSON_ArrayForEach(bucket, cJSON_GetObjectItemCaseSensitive(part, "buckets"))
        {
            const cJSON *shape = cJSON_GetObjectItemCaseSensitive(bucket, "shape");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(bucket, "name");
            const char *label = cJSON_IsString(name) ? name->valuestring : part->string;
            bool named = cJSON_GetArraySize(shape) > 0;
            for (size_t f = 0; f < (named ? 1 : sizeof fallbacks / sizeof fallbacks[0]) && worker; f++) {
                tune_shape s = small_shape(op, shape, &fallbacks[f]);
                if (!check_one(&worker, settings, &device, op, label,
                               cJSON_GetObjectItemCaseSensitive(bucket, "params"), &s))
                    failures++;
                checked++;
            }
        }
    }
    tune_worker_stop(worker);
    cJSON_Delete(root);
    printf("%d bucket checks, %d failed\n", checked, failures);
    return failures || !worker ? 1 : 0;
}

/* ---- export ---- */

int tune_export_main(const char *device_selector, const char *output, const char *destination)
{
    t6_context *ctx = NULL;
    if (t6_context_create(device_selector, &ctx) != T6_SUCCESS) {
        fprintf(stderr, "t6-tune: %s\n", t6_context_last_error(NULL));
        return 1;
    }
    t6_device_info info = T6_DEVICE_INFO_INIT;
    t6_context_device_info(ctx, &info);
    char path[4096], name[600];
    if (output) snprintf(path, sizeof path, "%s", output);
    else tune_profile_default_path(&info, path, sizeof path);
    tune_profile_file_name(&info, name, sizeof name);

    int code = 1;
    bool missing = false;
    char why[1024];
    char *text = tune_read_file(path, "profile", &missing, why, sizeof why);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    const cJSON *device = cJSON_GetObjectItemCaseSensitive(root, "device");
    const cJSON *identity = cJSON_GetObjectItemCaseSensitive(device, "identity");
    const cJSON *driver = cJSON_GetObjectItemCaseSensitive(device, "driver");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(root, "ops");
    if (!text && !missing) {
        fprintf(stderr, "t6-tune: %s\n", why);
    } else if (!text) {
        fprintf(stderr, "t6-tune: no profile at %s: run t6-tune first\n", path);
    } else if (!cJSON_IsString(identity) || !cJSON_IsString(driver) || strcmp(identity->valuestring, info.identity) ||
               strcmp(driver->valuestring, info.driver_version)) {
        fprintf(stderr, "t6-tune: %s is not a profile tuned on this device and driver (%s, %s)\n", path,
                info.identity, info.driver_version);
    } else if (t6_context_load_profile(ctx, path) != T6_SUCCESS) {
        fprintf(stderr, "t6-tune: %s does not load: %s\n", path, t6_context_last_error(ctx));
    } else {
        code = 0;
        const cJSON *part = NULL;
        cJSON_ArrayForEach(part, ops)
        {
            t6_op op;
            t6_profile_level level = T6_PROFILE_BUILTIN;
            if (t6_op_from_name(part->string, &op) != T6_SUCCESS ||
                t6_context_profile(ctx, op, &level, NULL, 0) != T6_SUCCESS || level != T6_PROFILE_EXPLICIT) {
                fprintf(stderr, "t6-tune: the %s part of %s is stale (the kernels changed since it was tuned): "
                        "tune again\n", part->string, path);
                code = 1;
            }
        }
    }
    if (code == 0) {
        char target[4800];
        struct stat st;
        if (stat(destination, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(target, sizeof target, "%s/%s", destination, name);
        else snprintf(target, sizeof target, "%s", destination);
        char why_not[1024];
        FILE *out = NULL;
        if (!tune_writable_path(target, "export destination", why_not, sizeof why_not)) {
            fprintf(stderr, "t6-tune: %s\n", why_not);
            code = 1;
        } else if (!(out = fopen(target, "w")) || fputs(text, out) < 0 || fclose(out) != 0) {
            fprintf(stderr, "t6-tune: %s cannot be written\n", target);
            code = 1;
        } else {
            printf("exported %s\nsend it in: add it to profiles/ of the t6 repository as %s in a pull request "
                   "(README: \"Tuning a new device\")\n", target, name);
        }
    }
    cJSON_Delete(root);
    t6_free(text);
    t6_context_destroy(ctx);
    return code;
}
