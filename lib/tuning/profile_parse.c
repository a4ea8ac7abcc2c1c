/* profile_parse.c — one profile file from JSON text into the form selection and lookup need (profile.c).
 *
 * Profile files are untrusted input (downloaded, hand-edited, truncated by a full disk): the text is parsed
 * with an explicit length, every field that is read is type-checked, counts and string lengths are bounded,
 * and anything unexpected rejects the file (or, for a problem inside one bucket, that bucket) with a message
 * naming the field. Nothing here can fail for a well-formed file of this schema version. */
#include "tuning/profile_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reasons a file is rejected travel as text: the caller logs them as warnings. */
typedef struct parse_state {
    const char *origin;
    char error[512];
} parse_state;

static bool reject(parse_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool reject(parse_state *st, const char *fmt, ...)
{
    char detail[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(st->error, sizeof st->error, "%s: %s", st->origin, detail);
    return false;
}

static const cJSON *field(const cJSON *object, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(object, name);
}

/* A string field: absent is fine when !required; present it must be a string shorter than cap. */
static bool read_text(parse_state *st, const cJSON *object, const char *name, bool required, char *dst,
                      size_t cap, const char *where)
{
    const cJSON *item = field(object, name);
    dst[0] = '\0';
    if (!item) return required ? reject(st, "%s lacks the string \"%s\"", where, name) : true;
    if (!cJSON_IsString(item) || !item->valuestring) return reject(st, "%s: \"%s\" is not a string", where, name);
    if (strlen(item->valuestring) >= cap) return reject(st, "%s: \"%s\" is too long", where, name);
    memcpy(dst, item->valuestring, strlen(item->valuestring) + 1);
    return true;
}

static bool integral(const cJSON *item, double lo, double hi, long long *out)
{
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!isfinite(v) || v != floor(v) || v < lo || v > hi) return false;
    *out = (long long)v;
    return true;
}

/* Fields that describe rather than select (timings, the tuning run) are checked for type only, so a file
 * that a human or a tool mangled is refused instead of half-read. */
static bool check_kinds(parse_state *st, const cJSON *object, const char *where, const char *const *numbers,
                        const char *const *texts, const char *const *flags)
{
    for (; numbers && *numbers; numbers++) {
        const cJSON *item = field(object, *numbers);
        if (item && !cJSON_IsNumber(item)) return reject(st, "%s: \"%s\" is not a number", where, *numbers);
    }
    for (; texts && *texts; texts++) {
        const cJSON *item = field(object, *texts);
        if (item && !cJSON_IsString(item)) return reject(st, "%s: \"%s\" is not a string", where, *texts);
    }
    for (; flags && *flags; flags++) {
        const cJSON *item = field(object, *flags);
        if (item && !cJSON_IsBool(item)) return reject(st, "%s: \"%s\" is not true or false", where, *flags);
    }
    return true;
}

static bool parse_device(parse_state *st, const cJSON *device, t6i_profile_file *file)
{
    if (!cJSON_IsObject(device)) return reject(st, "\"device\" is missing or not an object");
    static const char *const numbers[] = {"vendor_id", "compute_units", "clock_mhz", "global_mem_bytes",
                                          "local_mem_bytes", "max_work_group_size",
                                          "preferred_work_group_multiple", NULL};
    static const char *const texts[] = {"platform", "platform_vendor", "platform_version", "vendor", "name",
                                        "device_version", "opencl_c_version", "normalized_name", NULL};
    if (!check_kinds(st, device, "\"device\"", numbers, texts, NULL)) return false;
    const cJSON *flag = field(device, "vendor_default");
    if (flag && !cJSON_IsBool(flag)) return reject(st, "\"device\": \"vendor_default\" is not true or false");
    file->vendor_default = cJSON_IsTrue(flag);
    flag = field(device, "is_gpu");
    if (flag && !cJSON_IsBool(flag)) return reject(st, "\"device\": \"is_gpu\" is not true or false");
    file->is_gpu = flag ? cJSON_IsTrue(flag) : -1;
    if (!read_text(st, device, "normalized_vendor", true, file->vendor, sizeof file->vendor, "\"device\"") ||
        !read_text(st, device, "identity", !file->vendor_default, file->identity, sizeof file->identity,
                   "\"device\"") ||
        !read_text(st, device, "driver", false, file->driver, sizeof file->driver, "\"device\"") ||
        !read_text(st, device, "family", false, file->family, sizeof file->family, "\"device\""))
        return false;
    if (!file->vendor[0]) return reject(st, "\"device\": \"normalized_vendor\" is empty");
    if (!file->vendor_default && !file->identity[0])
        return reject(st, "\"device\": \"identity\" is empty");
    return true;
}

static bool dtype_from_json(const cJSON *item, long long *out)
{
    if (cJSON_IsString(item) && item->valuestring) {
        for (int d = T6_F32; d <= T6_BF16; d++)
            if (strcmp(item->valuestring, t6_dtype_name((t6_dtype)d)) == 0) {
                *out = d;
                return true;
            }
        return false;
    }
    return integral(item, T6_F32, T6_BF16, out);
}

static bool is_dtype_feature(t6i_feature feature)
{
    return feature == T6I_F_DTYPE || feature == T6I_F_WEIGHT_DTYPE;
}

/* One bucket. A bucket that cannot be used is dropped with a warning and the rest of the file stays good:
 * returns false with *usable == true only for malformed structure, which rejects the file. */
static bool parse_bucket(parse_state *st, const cJSON *json, t6_op op, int position, t6i_profile_bucket *bucket,
                         bool *usable)
{
    char where[96];
    snprintf(where, sizeof where, "\"ops\".\"%s\".\"buckets\"[%d]", t6_op_name(op), position);
    *usable = true;
    memset(bucket, 0, sizeof *bucket);
    if (!cJSON_IsObject(json)) return reject(st, "%s is not an object", where);
    static const char *const numbers[] = {"time_ns", "gbps", "gflops", "default_time_ns", "speedup", "spread",
                                          "evaluations", "space_size", NULL};
    static const char *const texts[] = {"name", NULL};
    if (!check_kinds(st, json, where, numbers, texts, NULL)) return false;
    bucket->position = position;
    const cJSON *name = field(json, "name");
    if (name && name->valuestring) snprintf(bucket->name, sizeof bucket->name, "%s", name->valuestring);
    const cJSON *results = field(json, "results");
    if (results && !cJSON_IsArray(results)) return reject(st, "%s: \"results\" is not an array", where);

    const cJSON *shape = field(json, "shape");
    if (!cJSON_IsObject(shape)) return reject(st, "%s lacks the object \"shape\"", where);
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, shape)
    {
        int feature = -1;
        for (int f = 0; f < T6I_F_COUNT && feature < 0; f++)
            if (item->string && strcmp(item->string, t6i_feature_name((t6i_feature)f)) == 0) feature = f;
        if (feature < 0) {
            /* A feature this library does not know (a newer t6-tune): the bucket cannot be matched safely. */
            t6i_log(T6_LOG_WARN, "%s: %s: unknown shape feature \"%s\"; bucket skipped", st->origin, where,
                    item->string ? item->string : "?");
            *usable = false;
            return true;
        }
        long long value = 0;
        bool ok = is_dtype_feature((t6i_feature)feature) ? dtype_from_json(item, &value)
                                                         : integral(item, 1, 1e15, &value);
        if (!ok) return reject(st, "%s: shape feature \"%s\" is not a valid value", where, item->string);
        bucket->feature[feature] = value;
        bucket->has[feature] = true;
    }

    const cJSON *params = field(json, "params");
    if (!cJSON_IsObject(params)) return reject(st, "%s lacks the object \"params\"", where);
    int table_count = 0;
    const t6i_param_def *table = t6i_op_params(op, &table_count);
    cJSON_ArrayForEach(item, params)
    {
        int index = -1;
        for (int i = 0; i < table_count && index < 0; i++)
            if (item->string && strcmp(item->string, table[i].name) == 0) index = i;
        long long value = 0;
        if (!integral(item, -2147483648.0, 2147483647.0, &value))
            return reject(st, "%s: parameter \"%s\" is not an integer", where, item->string ? item->string : "?");
        if (index < 0) {
            t6i_log(T6_LOG_WARN, "%s: %s: op %s has no parameter %s; ignored", st->origin, where, t6_op_name(op),
                    item->string ? item->string : "?");
            continue;
        }
        if (value < table[index].min_value || value > table[index].max_value) {
            t6i_log(T6_LOG_WARN, "%s: %s: %s=%lld is outside %d..%d; bucket skipped", st->origin, where,
                    table[index].name, value, table[index].min_value, table[index].max_value);
            *usable = false;
            return true;
        }
        bool duplicate = false;
        for (int i = 0; i < bucket->count; i++) duplicate = duplicate || bucket->index[i] == index;
        if (duplicate) return reject(st, "%s: parameter \"%s\" appears twice", where, item->string);
        if (bucket->count >= T6I_MAX_PARAMS) return reject(st, "%s: too many parameters", where);
        bucket->index[bucket->count] = index;
        bucket->value[bucket->count] = (int)value;
        bucket->count++;
    }
    return true;
}

/* The entries of a bucket's "results" with "status": "wrong": t6-tune's record of a configuration that computed
 * wrong results on the device and driver the file was tuned on (docs/TUNING.md, "Never wrong at run time").
 * The fields read are type-checked; a configuration naming a tunable this library lacks, or a value outside its
 * range, cannot be run here and is passed over with a warning. Read for every bucket, usable or not: they
 * describe the device, not the bucket's winner. */
static bool parse_wrong_results(parse_state *st, const cJSON *bucket, t6_op op, int position, t6i_profile_op *part)
{
    const cJSON *results = field(bucket, "results");
    if (!cJSON_IsArray(results)) return true; /* absent; parse_bucket refused any other kind */
    int table_count = 0;
    const t6i_param_def *table = t6i_op_params(op, &table_count);
    int entry = 0;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, results)
    {
        char where[128];
        snprintf(where, sizeof where, "\"ops\".\"%s\".\"buckets\"[%d].\"results\"[%d]", t6_op_name(op), position,
                 entry++);
        if (!cJSON_IsObject(item)) return reject(st, "%s is not an object", where);
        static const char *const texts[] = {"config", "status", "message", NULL};
        if (!check_kinds(st, item, where, NULL, texts, NULL)) return false;
        const cJSON *status = field(item, "status");
        if (!status || strcmp(status->valuestring, "wrong") != 0) continue;
        const cJSON *config = field(item, "config");
        if (!config) return reject(st, "%s lacks the string \"config\"", where);
        if (part->wrong_count == T6I_PROFILE_MAX_WRONG) {
            t6i_log(T6_LOG_WARN, "%s: %s: more than %d records of wrong results for %s; the rest are ignored",
                    st->origin, where, T6I_PROFILE_MAX_WRONG, t6_op_name(op));
            return true;
        }
        t6i_known_wrong record;
        memset(&record, 0, sizeof record);
        const char *text = config->valuestring;
        bool readable = true;
        while (readable && *text) {
            while (*text == ' ') text++;
            if (!*text) break;
            const char *equals = strchr(text, '='), *end = strchr(text, ' ');
            if (!end) end = text + strlen(text);
            readable = equals && equals < end && record.count < T6I_MAX_PARAMS;
            int index = -1;
            for (int i = 0; readable && i < table_count && index < 0; i++)
                if (strlen(table[i].name) == (size_t)(equals - text) &&
                    strncmp(table[i].name, text, (size_t)(equals - text)) == 0)
                    index = i;
            char *number_end = NULL;
            const long value = readable ? strtol(equals + 1, &number_end, 10) : 0;
            readable = readable && index >= 0 && number_end == end && number_end != equals + 1 &&
                       value >= table[index].min_value && value <= table[index].max_value;
            if (readable) {
                record.index[record.count] = index;
                record.value[record.count] = (int)value;
                record.count++;
            }
            text = end;
        }
        if (!readable || record.count == 0) {
            t6i_log(T6_LOG_WARN, "%s: %s: the configuration \"%.200s\" recorded as wrong is not one of op %s's; "
                    "ignored", st->origin, where, config->valuestring, t6_op_name(op));
            continue;
        }
        const cJSON *message = field(item, "message");
        const cJSON *name = field(bucket, "name");
        snprintf(record.note, sizeof record.note, "%s, bucket [%d]%s%.40s%s: %.120s", st->origin, position,
                 cJSON_IsString(name) ? " \"" : "", cJSON_IsString(name) ? name->valuestring : "",
                 cJSON_IsString(name) ? "\"" : "", message ? message->valuestring : "wrong results");
        if (part->wrong_count % 8 == 0) {
            t6i_known_wrong *grown = realloc(part->wrong, (size_t)(part->wrong_count + 8) * sizeof *grown);
            if (!grown) return reject(st, "out of host memory");
            part->wrong = grown;
        }
        part->wrong[part->wrong_count++] = record;
    }
    return true;
}

static bool is_hex16(const char *text)
{
    if (strlen(text) != 16) return false;
    for (const char *c = text; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return false;
    return true;
}

static bool parse_op(parse_state *st, const cJSON *json, t6_op op, bool tuned, t6i_profile_op *part)
{
    char where[64];
    snprintf(where, sizeof where, "\"ops\".\"%s\"", t6_op_name(op));
    if (!cJSON_IsObject(json)) return reject(st, "%s is not an object", where);
    char hash[32];
    if (!read_text(st, json, "kernel_hash", tuned, hash, sizeof hash, where)) return false;
    if (hash[0] && !is_hex16(hash)) return reject(st, "%s: \"kernel_hash\" is not 16 hex digits", where);
    char current[17];
    t6_kernel_hash(op, current);
    /* Untuned profiles hold values derived from the architecture, not measurements of particular kernel
     * sources, so only tuned parts go stale (docs/TUNING.md). */
    part->stale = tuned && strcmp(hash, current) != 0;
    if (part->stale)
        snprintf(part->stale_hash, sizeof part->stale_hash, "%s", hash);

    const cJSON *buckets = field(json, "buckets");
    if (!cJSON_IsArray(buckets)) return reject(st, "%s lacks the array \"buckets\"", where);
    int count = cJSON_GetArraySize(buckets);
    if (count > T6I_PROFILE_MAX_BUCKETS) return reject(st, "%s has too many buckets", where);
    part->buckets = calloc(count > 0 ? (size_t)count : 1u, sizeof *part->buckets);
    if (!part->buckets) return reject(st, "out of host memory");
    part->present = true;
    int position = 0;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, buckets)
    {
        bool usable = true;
        if (!parse_bucket(st, item, op, position, &part->buckets[part->bucket_count], &usable) ||
            !parse_wrong_results(st, item, op, position, part))
            return false;
        position++;
        if (usable) part->bucket_count++;
    }
    return true;
}

static bool parse_root(parse_state *st, const cJSON *root, t6i_profile_file *file)
{
    if (!cJSON_IsObject(root)) return reject(st, "not a JSON object");
    char schema[64];
    if (!read_text(st, root, "schema", true, schema, sizeof schema, "the file")) return false;
    if (strcmp(schema, T6_PROFILE_SCHEMA) != 0)
        return reject(st, "schema \"%s\" is not " T6_PROFILE_SCHEMA, schema);
    long long version = 0;
    if (!integral(field(root, "schema_version"), 0, 1e9, &version))
        return reject(st, "\"schema_version\" is missing or not an integer");
    if (version != T6_PROFILE_SCHEMA_VERSION)
        return reject(st, "schema version %lld; this library reads version %d", version, T6_PROFILE_SCHEMA_VERSION);
    static const char *const texts[] = {"t6_version", "kernel_hash", NULL};
    if (!check_kinds(st, root, "the file", NULL, texts, NULL)) return false;
    const cJSON *tuned = field(root, "tuned");
    if (!cJSON_IsBool(tuned)) return reject(st, "\"tuned\" is missing or not true or false");
    file->tuned = cJSON_IsTrue(tuned);
    const cJSON *tuning = field(root, "tuning");
    if (tuning && !cJSON_IsObject(tuning)) return reject(st, "\"tuning\" is not an object");
    if (!parse_device(st, field(root, "device"), file)) return false;

    const cJSON *ops = field(root, "ops");
    if (!cJSON_IsObject(ops)) return reject(st, "\"ops\" is missing or not an object");
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, ops)
    {
        t6_op op;
        if (!item->string || t6_op_from_name(item->string, &op) != T6_SUCCESS) {
            t6i_log(T6_LOG_WARN, "%s: unknown op \"%s\" ignored", st->origin, item->string ? item->string : "?");
            continue;
        }
        if (file->ops[op].present) return reject(st, "op \"%s\" appears twice", item->string);
        if (!parse_op(st, item, op, file->tuned, &file->ops[op])) return false;
    }
    return true;
}

void t6i_profile_file_free(t6i_profile_file *file)
{
    if (!file) return;
    for (int op = 0; op < T6_OP_COUNT; op++) {
        free(file->ops[op].buckets);
        free(file->ops[op].wrong);
    }
    free(file->origin);
    free(file);
}

t6_status t6i_profile_parse(const char *text, size_t length, const char *origin, t6i_profile_file **out)
{
    *out = NULL;
    parse_state st = {origin ? origin : "profile", ""};
    if (length > T6I_PROFILE_MAX_BYTES)
        return t6i_fail(NULL, T6_ERROR_FORMAT, "%s: %zu bytes is over the profile size limit of %u", st.origin,
                        length, (unsigned)T6I_PROFILE_MAX_BYTES);
    t6i_profile_file *file = calloc(1, sizeof *file);
    size_t origin_length = strlen(st.origin);
    if (file) file->origin = malloc(origin_length + 1);
    if (!file || !file->origin) {
        t6i_profile_file_free(file);
        return t6i_fail(NULL, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (profile %s)", st.origin);
    }
    memcpy(file->origin, st.origin, origin_length + 1);
    cJSON *root = cJSON_ParseWithLength(text, length);
    bool ok = root ? parse_root(&st, root, file) : reject(&st, "not valid JSON");
    cJSON_Delete(root);
    if (!ok) {
        t6i_profile_file_free(file);
        return t6i_fail(NULL, T6_ERROR_FORMAT, "%s", st.error);
    }
    *out = file;
    return T6_SUCCESS;
}
