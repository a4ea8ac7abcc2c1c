/* tune_profile.c — writing profiles (the format is in docs/TUNING.md; lib/tuning/profile_parse.c reads it).
 *
 * A profile describes itself: schema and t6 versions, the hash of the kernel sources of every op it holds, the
 * device's full identity (raw and normalized), how it was tuned (strategy, seed, budget, runs), and per bucket
 * the winning parameters with their time, bandwidth and gain over the defaults, and every measured result.
 * Files are written to a temporary name and renamed, so a reader never sees half a profile. */
#include "tune.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void tune_profile_file_name(const t6_device_info *info, char *buf, size_t cap)
{
    char raw[2 * T6_INFO_TEXT + 8];
    snprintf(raw, sizeof raw, "%s-%s", info->normalized_vendor, info->normalized_name);
    size_t o = 0;
    for (const char *c = raw; *c && o + 6 < cap; c++) {
        char lower = (char)tolower((unsigned char)*c);
        bool keep = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
        if (keep) buf[o++] = lower;
        else if (o > 0 && buf[o - 1] != '-') buf[o++] = '-';
    }
    while (o > 0 && buf[o - 1] == '-') o--;
    snprintf(buf + o, cap - o, ".json");
}

void tune_profile_default_path(const t6_device_info *info, char *buf, size_t cap)
{
    char name[600];
    tune_profile_file_name(info, name, sizeof name);
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(buf, cap, "%s/t6/profiles/%s", xdg, name);
    else snprintf(buf, cap, "%s/.config/t6/profiles/%s", home && *home ? home : ".", name);
}

/* mkdir -p of the folder holding `path`. */
static bool make_parent(const char *path)
{
    char partial[4096];
    snprintf(partial, sizeof partial, "%s", path);
    char *slash = strrchr(partial, '/');
    if (!slash || slash == partial) return true;
    *slash = '\0';
    for (char *c = partial + 1; *c; c++)
        if (*c == '/') {
            *c = '\0';
            if (mkdir(partial, 0755) != 0 && errno != EEXIST) return false;
            *c = '/';
        }
    return mkdir(partial, 0755) == 0 || errno == EEXIST;
}

/* Logs of long runs are the largest files t6-tune reads: a few hundred bytes per candidate. */
#define TUNE_FILE_MAX_BYTES ((size_t)1 << 30)

char *tune_read_file(const char *path, const char *what, bool *missing, char *error, size_t error_cap)
{
    struct stat st;
    *missing = stat(path, &st) != 0 && errno == ENOENT;
    if (*missing) return NULL;
    char *text = NULL;
    size_t length = 0;
    if (t6_read_file(path, what, TUNE_FILE_MAX_BYTES, &text, &length) != T6_SUCCESS) {
        snprintf(error, error_cap, "%s", t6_context_last_error(NULL));
        return NULL;
    }
    return text;
}

bool tune_writable_path(const char *path, const char *what, char *error, size_t error_cap)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode)) return true;
    snprintf(error, error_cap, "%s %s is not a regular file (%s): t6-tune writes only regular files", what, path,
             S_ISDIR(st.st_mode) ? "a folder" : S_ISFIFO(st.st_mode) ? "a FIFO" : "a device or socket");
    return false;
}

static bool save(const char *path, cJSON *root, char *error, size_t cap)
{
    char *text = cJSON_Print(root);
    if (!text) {
        snprintf(error, cap, "out of host memory (profile text)");
        return false;
    }
    char temporary[4200];
    snprintf(temporary, sizeof temporary, "%s.tmp%ld", path, (long)getpid());
    bool ok = make_parent(path);
    FILE *out = ok ? fopen(temporary, "w") : NULL;
    ok = out && fputs(text, out) >= 0 && fputc('\n', out) != EOF;
    if (out) ok = fclose(out) == 0 && ok;
    ok = ok && rename(temporary, path) == 0;
    if (!ok) {
        snprintf(error, cap, "%s cannot be written: %s", path, strerror(errno));
        remove(temporary);
    }
    free(text);
    return ok;
}

static cJSON *header(bool tuned)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", T6_PROFILE_SCHEMA);
    cJSON_AddNumberToObject(root, "schema_version", T6_PROFILE_SCHEMA_VERSION);
    cJSON_AddStringToObject(root, "t6_version", t6_version_string());
    if (tuned) {
        /* untuned profiles are not measurements of any kernel sources: they carry no hashes */
        char hash[17];
        t6_kernel_hash(T6_OP_COUNT, hash);
        cJSON_AddStringToObject(root, "kernel_hash", hash);
    }
    cJSON_AddBoolToObject(root, "tuned", tuned);
    return root;
}

static void add_device(cJSON *root, const tune_device *d)
{
    const t6_device_info *i = &d->info;
    cJSON *o = cJSON_AddObjectToObject(root, "device");
    cJSON_AddStringToObject(o, "platform", i->platform_name);
    cJSON_AddStringToObject(o, "platform_vendor", i->platform_vendor);
    cJSON_AddStringToObject(o, "platform_version", i->platform_version);
    cJSON_AddStringToObject(o, "vendor", i->vendor);
    cJSON_AddNumberToObject(o, "vendor_id", i->vendor_id);
    cJSON_AddStringToObject(o, "name", i->name);
    cJSON_AddStringToObject(o, "driver", i->driver_version);
    cJSON_AddStringToObject(o, "device_version", i->device_version);
    cJSON_AddStringToObject(o, "opencl_c_version", i->opencl_c_version);
    cJSON_AddBoolToObject(o, "is_gpu", i->is_gpu);
    cJSON_AddNumberToObject(o, "compute_units", i->compute_units);
    cJSON_AddNumberToObject(o, "clock_mhz", i->clock_mhz);
    cJSON_AddNumberToObject(o, "global_mem_bytes", (double)i->global_mem_bytes);
    cJSON_AddNumberToObject(o, "local_mem_bytes", (double)i->local_mem_bytes);
    cJSON_AddNumberToObject(o, "max_work_group_size", (double)i->max_work_group_size);
    cJSON_AddNumberToObject(o, "preferred_work_group_multiple", (double)i->preferred_work_group_multiple);
    cJSON_AddStringToObject(o, "normalized_vendor", i->normalized_vendor);
    cJSON_AddStringToObject(o, "normalized_name", i->normalized_name);
    cJSON_AddStringToObject(o, "family", i->family);
    cJSON_AddStringToObject(o, "identity", i->identity);
}

static void add_shape(cJSON *o, tune_op_id op, const tune_shape *s)
{
    unsigned f = tune_op(op)->features;
    if (f & TUNE_F_MODEL_DIM) cJSON_AddNumberToObject(o, "model_dim", s->model_dim);
    if (f & TUNE_F_HEADS) cJSON_AddNumberToObject(o, "heads", s->heads);
    if (f & TUNE_F_HEAD_DIM) cJSON_AddNumberToObject(o, "head_dim", s->head_dim);
    if (f & TUNE_F_RANKS) {
        cJSON_AddNumberToObject(o, "rank_q", s->rank_q);
        cJSON_AddNumberToObject(o, "rank_k", s->rank_k);
        cJSON_AddNumberToObject(o, "rank_v", s->rank_v);
    }
    if (f & TUNE_F_DTYPE) cJSON_AddStringToObject(o, "dtype", t6_dtype_name(s->dtype));
    if (f & TUNE_F_WEIGHT_DTYPE) cJSON_AddStringToObject(o, "weight_dtype", t6_dtype_name(s->weight_dtype));
    /* the library's rows of a prefill call are its query rows of all sequences */
    if (f & TUNE_F_ROWS) cJSON_AddNumberToObject(o, "rows", op == TUNE_PREFILL ? s->rows * s->batch : s->rows);
    if (f & TUNE_F_BATCH) cJSON_AddNumberToObject(o, "batch", s->batch);
    if (f & TUNE_F_LENGTH) cJSON_AddNumberToObject(o, "length", s->length);
}

static void add_result(void *arg, const char *config, const tune_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "config", config);
    cJSON_AddStringToObject(o, "status", tune_status_name(r->status));
    if (r->status == TUNE_OK) {
        cJSON_AddNumberToObject(o, "median_ns", r->median_ns);
        cJSON_AddNumberToObject(o, "spread", r->spread);
    } else if (r->message[0]) {
        cJSON_AddStringToObject(o, "message", r->message);
    }
    cJSON_AddItemToArray(arg, o);
}

static cJSON *bucket_json(const tune_bucket *b, const tune_log *log)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", b->name);
    cJSON_AddStringToObject(o, "key", b->key);
    add_shape(cJSON_AddObjectToObject(o, "shape"), b->op, &b->shape);
    cJSON *params = cJSON_AddObjectToObject(o, "params");
    /* Every tunable of the op as it ran: the space's values, the defaults for the rest. */
    t6_op op = tune_op(b->op)->op;
    for (int i = 0; i < t6_op_param_count(op); i++) {
        t6_param_info info;
        if (t6_op_param_info(op, i, &info) != T6_SUCCESS) continue;
        int value = info.default_value;
        for (int k = 0; k < b->space.param_count; k++)
            if (strcmp(b->space.params[k].name, info.name) == 0) value = tune_config_value(&b->space, &b->best, k);
        cJSON_AddNumberToObject(params, info.name, value);
    }
    cJSON_AddNumberToObject(o, "time_ns", b->best_result.median_ns);
    cJSON_AddNumberToObject(o, "spread", b->best_result.spread);
    cJSON_AddNumberToObject(o, "gbps", b->bytes / b->best_result.median_ns);
    cJSON_AddNumberToObject(o, "gflops", b->flops / b->best_result.median_ns);
    if (b->default_result.status == TUNE_OK && b->default_result.median_ns > 0) {
        cJSON_AddNumberToObject(o, "default_time_ns", b->default_result.median_ns);
        cJSON_AddNumberToObject(o, "speedup", b->default_result.median_ns / b->best_result.median_ns);
    }
    cJSON_AddNumberToObject(o, "evaluations", b->evaluations);
    cJSON_AddNumberToObject(o, "space_size", b->space.size);
    tune_log_each(log, b->key, 0, add_result, cJSON_AddArrayToObject(o, "results"));
    return o;
}

static const char *text_of(const cJSON *o, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(item) && item->valuestring ? item->valuestring : "";
}

/* The op parts of an existing profile at `path` that may be kept: same schema, same device and driver, and
 * for each op the same kernel sources. NULL when there is nothing to keep. */
static cJSON *keepable(const char *path, const tune_device *device)
{
    bool missing = false;
    char why[512];
    char *text = tune_read_file(path, "profile", &missing, why, sizeof why);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    t6_free(text);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "device");
    if (!root || strcmp(text_of(root, "schema"), T6_PROFILE_SCHEMA) != 0 ||
        strcmp(text_of(d, "identity"), device->info.identity) != 0 ||
        strcmp(text_of(d, "driver"), device->info.driver_version) != 0) {
        cJSON_Delete(root);
        return NULL;
    }
    cJSON *ops = cJSON_DetachItemFromObjectCaseSensitive(root, "ops");
    cJSON_Delete(root);
    for (int op = 0; op < T6_OP_COUNT && ops; op++) {
        const cJSON *part = cJSON_GetObjectItemCaseSensitive(ops, t6_op_name((t6_op)op));
        if (part && strcmp(text_of(part, "kernel_hash"), device->hashes[op]) != 0)
            cJSON_DeleteItemFromObjectCaseSensitive(ops, t6_op_name((t6_op)op));
    }
    return ops;
}

bool tune_profile_write(const char *path, const tune_device *device, const tune_settings *settings, double duration_s,
                        const tune_bucket *buckets, int count, const tune_log *log, char *error, size_t error_cap)
{
    cJSON *root = header(true);
    add_device(root, device);
    cJSON *tuning = cJSON_AddObjectToObject(root, "tuning");
    cJSON_AddStringToObject(tuning, "tool", "t6-tune");
    cJSON_AddStringToObject(tuning, "strategy", tune_strategy_name(settings->strategy));
    cJSON_AddNumberToObject(tuning, "seed", (double)settings->seed);
    cJSON_AddNumberToObject(tuning, "budget", settings->budget);
    cJSON_AddNumberToObject(tuning, "time_limit_s", settings->time_limit_s);
    cJSON_AddNumberToObject(tuning, "warmup", settings->warmup);
    cJSON_AddNumberToObject(tuning, "runs", settings->runs);
    cJSON_AddNumberToObject(tuning, "retimed", settings->retime);
    cJSON_AddBoolToObject(tuning, "cache_flushed", settings->worker.flush);
    cJSON_AddNumberToObject(tuning, "duration_s", duration_s);
    cJSON_AddNumberToObject(tuning, "copy_gbps", device->copy_gbps);
    cJSON_AddNumberToObject(tuning, "fma_gflops", device->fma_gflops);
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(tuning, "date", date);

    if (!tune_writable_path(path, "profile", error, error_cap)) {
        cJSON_Delete(root);
        return false;
    }
    cJSON *ops = keepable(path, device);
    if (!ops) ops = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "ops", ops);
    int written = 0;
    for (int i = 0; i < count; i++) {
        const tune_bucket *b = &buckets[i];
        t6_op op = tune_op(b->op)->op;
        if (!b->usable || !b->has_best || op == T6_OP_COUNT) continue;
        cJSON *part = cJSON_GetObjectItemCaseSensitive(ops, t6_op_name(op));
        if (!part) {
            part = cJSON_AddObjectToObject(ops, t6_op_name(op));
            cJSON_AddStringToObject(part, "kernel_hash", device->hashes[op]);
            cJSON_AddArrayToObject(part, "buckets");
        }
        cJSON *list = cJSON_GetObjectItemCaseSensitive(part, "buckets");
        /* a bucket tuned again replaces the old one */
        for (int k = cJSON_GetArraySize(list) - 1; k >= 0; k--)
            if (strcmp(text_of(cJSON_GetArrayItem(list, k), "key"), b->key) == 0) cJSON_DeleteItemFromArray(list, k);
        cJSON_AddItemToArray(list, bucket_json(b, log));
        written++;
    }
    bool ok = written > 0;
    if (!ok) snprintf(error, error_cap, "no bucket was tuned: no profile written");
    else ok = save(path, root, error, error_cap);
    cJSON_Delete(root);
    return ok;
}

bool tune_profile_write_vendor(const char *path, const char *vendor, char *error, size_t error_cap)
{
    static const struct {
        const char *vendor, *what;
    } vendors[] = {{"nvidia", "NVIDIA GPUs: derived from the warp of 32"},
                   {"amd", "AMD GPUs: derived from the wavefront of 64"},
                   {"amd/gfx10", "AMD RDNA GPUs (gfx10): derived from the wavefront of 32"},
                   {"amd/gfx11", "AMD RDNA 3 GPUs (gfx11): derived from the wavefront of 32"},
                   {"amd/gfx12", "AMD RDNA 4 GPUs (gfx12): derived from the wavefront of 32"},
                   {"intel", "Intel GPUs: derived from subgroups of 8 and 16"}};
    const char *what = NULL;
    for (size_t i = 0; i < sizeof vendors / sizeof vendors[0]; i++)
        if (strcmp(vendors[i].vendor, vendor) == 0) what = vendors[i].what;
    if (!what) {
        snprintf(error, error_cap, "--derive knows nvidia, amd (amd/gfx10, amd/gfx11, amd/gfx12: RDNA) and intel, "
                 "not '%s'", vendor);
        return false;
    }
    /* "amd/gfx11": the vendor, and the family the profile is the default of */
    char name[32];
    snprintf(name, sizeof name, "%s", vendor);
    char *family = strchr(name, '/');
    if (family) *family++ = '\0';
    cJSON *root = header(false);
    cJSON *device = cJSON_AddObjectToObject(root, "device");
    cJSON_AddStringToObject(device, "name", what);
    cJSON_AddStringToObject(device, "normalized_vendor", name);
    if (family) cJSON_AddStringToObject(device, "family", family);
    cJSON_AddBoolToObject(device, "is_gpu", 1);
    cJSON_AddBoolToObject(device, "vendor_default", 1);
    cJSON *tuning = cJSON_AddObjectToObject(root, "tuning");
    cJSON_AddStringToObject(tuning, "tool", "t6-tune --derive");
    cJSON_AddStringToObject(tuning, "note", "untuned: values follow from the architecture, not from measurements");
    cJSON *ops = cJSON_AddObjectToObject(root, "ops");
    int written = 0;
    for (int id = 0; id < TUNE_OP_COUNT; id++) {
        const char *names[TUNE_MAX_PARAMS];
        int values[TUNE_MAX_PARAMS], count = 0;
        t6_op op = tune_op((tune_op_id)id)->op;
        if (op == T6_OP_COUNT || !tune_space_vendor_defaults((tune_op_id)id, vendor, names, values, &count)) continue;
        cJSON *bucket = cJSON_CreateObject();
        cJSON_AddStringToObject(bucket, "name", "every shape");
        cJSON_AddObjectToObject(bucket, "shape");
        cJSON *params = cJSON_AddObjectToObject(bucket, "params");
        for (int i = 0; i < count; i++) cJSON_AddNumberToObject(params, names[i], values[i]);
        cJSON *part = cJSON_AddObjectToObject(ops, t6_op_name(op));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(part, "buckets"), bucket);
        written++;
    }
    bool ok = written > 0;
    if (!ok) snprintf(error, error_cap, "no op has a derivation for %s yet", vendor);
    else ok = save(path, root, error, error_cap);
    cJSON_Delete(root);
    return ok;
}
