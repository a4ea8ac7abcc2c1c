/* profile.c — device profiles: where they are looked for, which one serves each op of a context (by how
 * closely it describes the device), and which of its buckets serves a call (by how close its shape is).
 * The JSON itself is read by profile_parse.c.
 *
 * Selection is per op, so that one stale part (its kernels changed since tuning) does not throw away a
 * profile's other ops, and a device falls back op by op: exact identity and driver, same identity, same
 * vendor and family, vendor default, built-in defaults. Nothing here fails a context: problems are logged. */
#include "tuning/profile_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The levels a file can serve at: T6_PROFILE_VENDOR .. T6_PROFILE_EXPLICIT (index 0, built-in, stays empty). */
#define LEVELS (T6_PROFILE_EXPLICIT + 1)

/* Files that serve at least one op at some level. Each op keeps the best file of every level, not only of the
 * best one: when a bucket's values fail at run time, the call falls back level by level (t6i_params_fall_back),
 * and an op served by none runs the built-in defaults. */
struct t6i_profile {
    t6i_profile_file *files[T6_OP_COUNT * LEVELS];
    int file_count;
    int serving[T6_OP_COUNT][LEVELS]; /* index into files, or -1 */
    /* Configurations recorded as computing wrong results on this device and driver, from every fresh part of
     * every file of the exact level (serving or not): never run (t6i_profile_known_wrong). */
    t6i_known_wrong *wrong[T6_OP_COUNT];
    int wrong_count[T6_OP_COUNT];
};

/* ---- kernel source hashes ---- */

static char op_hashes[T6_OP_COUNT + 1][17];
static pthread_once_t hashes_once = PTHREAD_ONCE_INIT;

static bool is_identifier_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Whether `name` occurs in `text` as a whole identifier (T6_DEC_WG must not match T6_DEC_WG_SIZE). */
bool t6i_source_mentions(const char *text, size_t length, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + n <= length; i++)
        if (text[i] == name[0] && memcmp(text + i, name, n) == 0 && (i == 0 || !is_identifier_char(text[i - 1])) &&
            (i + n == length || !is_identifier_char(text[i + n])))
            return true;
    return false;
}

static bool mentions_param(t6_op op, const char *name)
{
    size_t length = 0;
    const char *text = t6i_embedded_source(name, &length);
    int count = 0;
    const t6i_param_def *defs = t6i_op_params(op, &count);
    for (int i = 0; text && i < count; i++)
        if (t6i_source_mentions(text, length, defs[i].name)) return true;
    return false;
}

/* A file serves an op when it names one of the op's tunables, or when it is part of a program (programs.txt)
 * with such a file: a prelude (common.cl, mma.cl) changes the op's kernels as much as their own file does. */
static bool source_belongs(t6_op op, const char *name)
{
    if (op == T6_OP_COUNT || strcmp(name, "common") == 0) return true;
    const char *const *files = NULL;
    for (size_t p = 0; (files = t6i_program_files_at(p)) != NULL; p++) {
        bool in_program = false, serves = false;
        for (int i = 0; files[i]; i++) {
            in_program = in_program || strcmp(files[i], name) == 0;
            serves = serves || mentions_param(op, files[i]);
        }
        if (in_program && serves) return true;
    }
    return false;
}

static void compute_hashes(void)
{
    for (int op = 0; op <= T6_OP_COUNT; op++) {
        uint64_t hash = t6i_hash64("t6-kernels", 10, 0);
        const char *name = NULL;
        size_t length = 0;
        const char *text = NULL;
        for (size_t i = 0; (text = t6i_embedded_source_at(i, &name, &length)) != NULL; i++) {
            if (!source_belongs((t6_op)op, name)) continue;
            hash = t6i_hash64(name, strlen(name) + 1, hash);
            hash = t6i_hash64(text, length, hash);
        }
        snprintf(op_hashes[op], sizeof op_hashes[op], "%016llx", (unsigned long long)hash);
    }
}

t6_status t6_kernel_hash(t6_op op, char hash[17])
{
    if (!hash || (int)op < 0 || op > T6_OP_COUNT)
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_kernel_hash: unknown op %d or NULL hash", (int)op);
    pthread_once(&hashes_once, compute_hashes);
    memcpy(hash, op_hashes[op], 17);
    return T6_SUCCESS;
}

const char *t6i_kernel_sources_hash(void)
{
    pthread_once(&hashes_once, compute_hashes);
    return op_hashes[T6_OP_COUNT];
}

/* ---- matching a file to a device ---- */

static bool same_text(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
    return *a == *b;
}

const char *t6_profile_level_name(t6_profile_level level)
{
    static const char *const names[] = {"built-in", "vendor", "family", "name", "exact", "explicit"};
    return (int)level >= 0 && level <= T6_PROFILE_EXPLICIT ? names[level] : NULL;
}

t6_profile_level t6i_profile_match(const t6i_profile_file *file, const t6_device_info *info)
{
    if (!same_text(file->vendor, info->normalized_vendor)) return T6_PROFILE_BUILTIN;
    if (file->is_gpu >= 0 && file->is_gpu != (info->is_gpu != 0)) return T6_PROFILE_BUILTIN;
    if (file->vendor_default)
        return !file->family[0] || same_text(file->family, info->family) ? T6_PROFILE_VENDOR : T6_PROFILE_BUILTIN;
    if (same_text(file->identity, info->identity))
        return file->driver[0] && strcmp(file->driver, info->driver_version) == 0 ? T6_PROFILE_EXACT
                                                                                  : T6_PROFILE_NAME;
    if (file->family[0] && info->family[0] && same_text(file->family, info->family)) return T6_PROFILE_FAMILY;
    return T6_PROFILE_BUILTIN;
}

/* ---- reading files and folders ---- */

t6_status t6i_profile_read(const char *path, t6i_profile_file **out)
{
    *out = NULL;
    char *text = NULL;
    size_t length = 0;
    t6_status status = t6i_read_regular(NULL, path, "profile", T6I_PROFILE_MAX_BYTES, &text, &length);
    if (status == T6_SUCCESS) status = t6i_profile_parse(text, length, path, out);
    free(text);
    return status;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with_json(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* The *.json files of a folder, sorted so the choice among equals does not depend on readdir order. */
static int list_folder(const char *folder, char ***out)
{
    *out = NULL;
    DIR *dir = opendir(folder);
    if (!dir) return 0;
    char **names = calloc(T6I_PROFILE_MAX_FILES_PER_FOLDER, sizeof *names);
    int count = 0;
    struct dirent *entry;
    while (names && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.' || !ends_with_json(entry->d_name)) continue;
        if (count == T6I_PROFILE_MAX_FILES_PER_FOLDER) {
            t6i_log(T6_LOG_WARN, "profiles: %s holds more than %d profiles; the rest are ignored", folder,
                    T6I_PROFILE_MAX_FILES_PER_FOLDER);
            break;
        }
        size_t length = strlen(folder) + strlen(entry->d_name) + 2;
        if (!(names[count] = malloc(length))) break;
        snprintf(names[count], length, "%s/%s", folder, entry->d_name);
        count++;
    }
    closedir(dir);
    if (names) qsort(names, (size_t)count, sizeof *names, compare_names);
    *out = names;
    return count;
}

/* ---- selection ---- */

void t6i_profile_free(t6i_profile *profile)
{
    if (!profile) return;
    for (int i = 0; i < profile->file_count; i++) t6i_profile_file_free(profile->files[i]);
    for (int op = 0; op < T6_OP_COUNT; op++) free(profile->wrong[op]);
    free(profile);
}

/* Keeps the records of wrong results of a file tuned on this very device and driver (they say nothing about
 * another driver, which may compile the kernel differently), from its fresh parts only: a part tuned against
 * other kernel sources recorded what those computed. */
static void keep_known_wrong(t6i_profile *profile, const t6i_profile_file *file, t6_profile_level level)
{
    if (level != T6_PROFILE_EXACT) return;
    for (int op = 0; op < T6_OP_COUNT; op++) {
        const t6i_profile_op *part = &file->ops[op];
        if (!part->present || part->stale || part->wrong_count == 0) continue;
        t6i_known_wrong *grown =
            realloc(profile->wrong[op], (size_t)(profile->wrong_count[op] + part->wrong_count) * sizeof *grown);
        if (!grown) {
            t6i_log(T6_LOG_WARN, "profile %s: out of host memory for its records of wrong results", file->origin);
            continue;
        }
        memcpy(grown + profile->wrong_count[op], part->wrong, (size_t)part->wrong_count * sizeof *grown);
        profile->wrong[op] = grown;
        profile->wrong_count[op] += part->wrong_count;
        t6i_log(T6_LOG_INFO, "profile %s: %d configurations of %s recorded as computing wrong results on this "
                "device are refused", file->origin, part->wrong_count, t6_op_name((t6_op)op));
    }
}

static bool has_known_wrong(const t6i_profile *profile)
{
    for (int op = 0; op < T6_OP_COUNT; op++)
        if (profile->wrong_count[op] > 0) return true;
    return false;
}

bool t6i_profile_known_wrong(const t6i_profile *profile, const t6i_params *params, char *why, size_t cap)
{
    if (!profile || (int)params->op < 0 || params->op >= T6_OP_COUNT) return false;
    for (int w = 0; w < profile->wrong_count[params->op]; w++) {
        const t6i_known_wrong *record = &profile->wrong[params->op][w];
        bool same = true;
        for (int i = 0; i < record->count && same; i++)
            same = record->index[i] < params->count && params->values[record->index[i]] == record->value[i];
        if (!same) continue;
        size_t used = (size_t)snprintf(why, cap, "the values");
        for (int i = 0; i < record->count && used < cap; i++)
            used += (size_t)snprintf(why + used, cap - used, " %s=%d", params->defs[record->index[i]].name,
                                     record->value[i]);
        if (used < cap)
            snprintf(why + used, cap - used, " computed wrong results on this device and driver (t6-tune, %s)",
                     record->note);
        return true;
    }
    return false;
}

static t6i_profile *new_profile(void)
{
    t6i_profile *profile = calloc(1, sizeof *profile);
    if (profile)
        for (int op = 0; op < T6_OP_COUNT; op++)
            for (int level = 0; level < LEVELS; level++) profile->serving[op][level] = -1;
    return profile;
}

/* Whether `file` should serve `op` at `level` instead of what serves it there now. Among equals found by the
 * search the first stays; an explicit load replaces an earlier explicit load; and a vendor default written for
 * the device's family (AMD's wave32 RDNA) replaces one for the whole vendor wherever either was found. */
static bool beats(const t6i_profile *profile, const t6i_profile_file *file, t6_profile_level level, int op)
{
    const t6i_profile_op *part = &file->ops[op];
    if (!part->present || part->stale || part->bucket_count == 0) return false;
    const int serving = profile->serving[op][level];
    if (serving < 0 || level == T6_PROFILE_EXPLICIT) return true;
    return level == T6_PROFILE_VENDOR && file->family[0] && !profile->files[serving]->family[0];
}

/* Gives `file` to `profile` at `level` for every op it beats. Returns false when it serves nothing, and then
 * the caller still owns it. */
static bool offer(t6i_profile *profile, t6i_profile_file *file, t6_profile_level level)
{
    bool wanted = false;
    for (int op = 0; op < T6_OP_COUNT; op++) wanted = wanted || beats(profile, file, level, op);
    if (!wanted) return false;
    /* Files that no longer serve anything are dropped first, so the array never needs more than one per op
     * and level. */
    for (int op = 0; op < T6_OP_COUNT; op++)
        if (beats(profile, file, level, op)) profile->serving[op][level] = -2; /* the new file takes it below */
    for (int i = profile->file_count - 1; i >= 0; i--) {
        bool used = false;
        for (int op = 0; op < T6_OP_COUNT; op++)
            for (int l = 0; l < LEVELS; l++) used = used || profile->serving[op][l] == i;
        if (used) continue;
        t6i_profile_file_free(profile->files[i]);
        for (int j = i; j + 1 < profile->file_count; j++) profile->files[j] = profile->files[j + 1];
        profile->file_count--;
        for (int op = 0; op < T6_OP_COUNT; op++)
            for (int l = 0; l < LEVELS; l++)
                if (profile->serving[op][l] > i) profile->serving[op][l]--;
    }
    profile->files[profile->file_count] = file;
    for (int op = 0; op < T6_OP_COUNT; op++)
        if (profile->serving[op][level] == -2) profile->serving[op][level] = profile->file_count;
    profile->file_count++;
    return true;
}

static void warn_stale(const t6i_profile_file *file)
{
    for (int op = 0; op < T6_OP_COUNT; op++) {
        if (!file->ops[op].present || !file->ops[op].stale) continue;
        char current[17];
        t6_kernel_hash((t6_op)op, current);
        t6i_log(T6_LOG_WARN, "profile %s: its %s part was tuned for kernel sources %s, this library has %s; "
                "skipped (run t6-tune again)", file->origin, t6_op_name((t6_op)op), file->ops[op].stale_hash, current);
    }
}

/* One stray or hand-edited file must not make every call of an op fail: buckets with values the op refuses on
 * this device (a value its kernels do not accept, a group over the device's limit) are dropped, each with a
 * warning naming the file, the bucket and the parameter. The values are checked as a call resolves them: over
 * the defaults this device gets. */
void t6i_profile_drop_refused(t6i_profile_file *file, const t6_device_info *info)
{
    for (int op = 0; op < T6_OP_COUNT; op++) {
        t6i_profile_op *part = &file->ops[op];
        if (!part->present || part->stale) continue;
        int kept = 0;
        for (int b = 0; b < part->bucket_count; b++) {
            const t6i_profile_bucket *bucket = &part->buckets[b];
            t6i_params params;
            t6i_params_defaults(info, (t6_op)op, &params);
            for (int i = 0; i < bucket->count; i++) params.values[bucket->index[i]] = bucket->value[i];
            char why[256];
            if (!t6i_params_check(info, &params, why, sizeof why)) {
                t6i_log(T6_LOG_WARN, "profile %s: \"ops\".\"%s\".\"buckets\"[%d]%s%s%s: %s; bucket skipped",
                        file->origin, t6_op_name((t6_op)op), bucket->position, bucket->name[0] ? " (\"" : "",
                        bucket->name, bucket->name[0] ? "\")" : "", why);
                continue;
            }
            if (kept != b) part->buckets[kept] = *bucket;
            kept++;
        }
        part->bucket_count = kept;
    }
}

static void consider_file(t6i_profile *profile, const t6_device_info *info, const char *path)
{
    t6i_profile_file *file = NULL;
    if (t6i_profile_read(path, &file) != T6_SUCCESS) {
        t6i_log(T6_LOG_WARN, "profile skipped: %s", t6_context_last_error(NULL));
        return;
    }
    t6_profile_level level = t6i_profile_match(file, info);
    keep_known_wrong(profile, file, level);
    if (level == T6_PROFILE_BUILTIN) {
        t6i_log(T6_LOG_DEBUG, "profile %s describes another device (%s)", path,
                file->identity[0] ? file->identity : file->vendor);
    } else {
        warn_stale(file);
        t6i_profile_drop_refused(file, info);
        if (offer(profile, file, level)) return;
    }
    t6i_profile_file_free(file);
}

t6i_profile *t6i_profile_select(const t6_device_info *info, const char *search_path)
{
    t6i_profile *profile = new_profile();
    if (!profile) return NULL;
    const char *entry = search_path;
    while (entry && *entry) {
        const char *end = strchr(entry, ':');
        size_t length = end ? (size_t)(end - entry) : strlen(entry);
        char path[4096];
        if (length > 0 && length < sizeof path) {
            memcpy(path, entry, length);
            path[length] = '\0';
            struct stat st;
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                char **names = NULL;
                int count = list_folder(path, &names);
                for (int i = 0; i < count; i++) {
                    consider_file(profile, info, names[i]);
                    free(names[i]);
                }
                free(names);
            } else if (stat(path, &st) == 0) {
                consider_file(profile, info, path);
            }
        }
        entry = end ? end + 1 : NULL;
    }
    if (profile->file_count == 0 && !has_known_wrong(profile)) {
        t6i_profile_free(profile);
        return NULL;
    }
    return profile;
}

t6_profile_level t6i_profile_level(const t6i_profile *profile, t6_op op, const char **path)
{
    if (path) *path = NULL;
    if (!profile || (int)op < 0 || op >= T6_OP_COUNT) return T6_PROFILE_BUILTIN;
    for (int level = T6_PROFILE_EXPLICIT; level > T6_PROFILE_BUILTIN; level--)
        if (profile->serving[op][level] >= 0) {
            if (path) *path = profile->files[profile->serving[op][level]]->origin;
            return (t6_profile_level)level;
        }
    return T6_PROFILE_BUILTIN;
}

/* The search path of t6.h's Profiles section, colon-separated: the context's profile path (its options, else
 * T6_PROFILE_PATH), the user folder unless the context reads no environment, the installed folder, and in a
 * build tree the source tree's. */
static void search_path_of(const t6_context *ctx, char *buf, size_t cap)
{
    const char *first = ctx->profile_path;
    const char *xdg = ctx->user_profiles ? getenv("XDG_CONFIG_HOME") : NULL;
    const char *home = ctx->user_profiles ? getenv("HOME") : NULL;
    char user[2048] = "";
    if (xdg && *xdg) snprintf(user, sizeof user, "%s/t6/profiles", xdg);
    else if (home && *home) snprintf(user, sizeof user, "%s/.config/t6/profiles", home);
    const char *source = t6i_source_profile_dir();
    snprintf(buf, cap, "%s%s%s:%s%s%s", first ? first : "", first ? ":" : "", user, T6_DEFAULT_PROFILE_DIR,
             source ? ":" : "", source ? source : "");
}

t6i_profile *t6i_profile_load_for_context(const t6_context *ctx)
{
    char search_path[8192];
    search_path_of(ctx, search_path, sizeof search_path);
    t6i_profile *profile = t6i_profile_select(&ctx->info, search_path);
    for (int op = 0; op < T6_OP_COUNT; op++) {
        if (t6_op_param_count((t6_op)op) == 0) continue;
        const char *path = NULL;
        t6_profile_level level = t6i_profile_level(profile, (t6_op)op, &path);
        if (level == T6_PROFILE_BUILTIN)
            t6i_log(T6_LOG_INFO, "profile for %s on %s: none matched, built-in defaults", t6_op_name((t6_op)op),
                    ctx->info.identity);
        else
            t6i_log(T6_LOG_INFO, "profile for %s on %s: level %s, %s", t6_op_name((t6_op)op), ctx->info.identity,
                    t6_profile_level_name(level), path);
    }
    return profile;
}

/* ---- public calls ---- */

t6_status t6_context_profile(t6_context *ctx, t6_op op, t6_profile_level *level, char *path, size_t path_cap)
{
    t6_status status = T6_SUCCESS;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_profile: ctx is NULL");
    t6i_lock(ctx);
    const t6i_tuning *tuning = t6i_tuning_of(ctx);
    if (!tuning) {
        status = T6_ERROR_OUT_OF_HOST_MEMORY;
        goto cleanup;
    }
    T6I_REQUIRE(ctx, (int)op >= 0 && op < T6_OP_COUNT, "t6_context_profile: unknown op %d", (int)op);
    T6I_REQUIRE(ctx, level, "t6_context_profile: level is NULL");
    T6I_REQUIRE(ctx, path || path_cap == 0, "t6_context_profile: path is NULL but path_cap is %zu", path_cap);
    const char *origin = NULL;
    *level = t6i_profile_level(tuning->profile, op, &origin);
    if (path_cap > 0) snprintf(path, path_cap, "%s", origin ? origin : "");
cleanup:
    t6i_unlock(ctx);
    return status;
}

t6_status t6_context_load_profile(t6_context *ctx, const char *path)
{
    t6_status status = T6_SUCCESS;
    t6i_profile_file *file = NULL;
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_load_profile: ctx is NULL");
    t6i_lock(ctx);
    t6i_tuning *tuning = t6i_tuning_of(ctx);
    if (!tuning) {
        status = T6_ERROR_OUT_OF_HOST_MEMORY;
        goto cleanup;
    }
    T6I_REQUIRE(ctx, path, "t6_context_load_profile: path is NULL");
    status = t6i_profile_read(path, &file);
    if (status != T6_SUCCESS) {
        status = t6i_fail(ctx, status, "t6_context_load_profile: %s", t6_context_last_error(NULL));
        goto cleanup;
    }
    const t6_profile_level level = t6i_profile_match(file, &ctx->info);
    if (level == T6_PROFILE_BUILTIN)
        t6i_log(T6_LOG_WARN, "profile %s describes %s, not this device (%s); used as asked", path,
                file->identity[0] ? file->identity : file->vendor, ctx->info.identity);
    warn_stale(file);
    t6i_profile_drop_refused(file, &ctx->info);
    if (!tuning->profile && !(tuning->profile = new_profile())) {
        status = t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (profile)");
        goto cleanup;
    }
    if (!offer(tuning->profile, file, T6_PROFILE_EXPLICIT)) {
        status = t6i_fail(ctx, T6_ERROR_FORMAT, "t6_context_load_profile: %s has no usable part (every op it "
                          "has is stale or has no usable bucket)", path);
        goto cleanup;
    }
    keep_known_wrong(tuning->profile, file, level);
    file = NULL;
cleanup:
    t6i_profile_file_free(file);
    t6i_unlock(ctx);
    return status;
}

t6_status t6_context_set_refuse_known_wrong(t6_context *ctx, int refuse)
{
    if (!ctx) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_context_set_refuse_known_wrong: ctx is NULL");
    t6i_lock(ctx);
    t6i_tuning *tuning = t6i_tuning_of(ctx);
    if (tuning) tuning->run_known_wrong = !refuse;
    t6i_unlock(ctx);
    return tuning ? T6_SUCCESS : T6_ERROR_OUT_OF_HOST_MEMORY;
}

/* ---- buckets ---- */

/* How far a bucket is from a call: exact features (head_dim, ranks, dtypes: they change the kernel's code)
 * cost 1000 per mismatch, so any bucket that agrees on them beats every one that does not; sizes (rows,
 * lengths, batch, heads, model width) cost the distance of their log2, so 1024 is as near 2048 as 512. A
 * feature the bucket does not name costs nothing; a size the call leaves 0 (unused by the op) is ignored. */
static double distance(const t6i_profile_bucket *bucket, const t6i_shape *shape)
{
    double d = 0.0;
    for (int f = 0; f < T6I_F_COUNT; f++) {
        if (!bucket->has[f]) continue;
        long long want = shape->f[f];
        if (t6i_feature_is_exact((t6i_feature)f)) {
            /* Storage types are exact features whose 0 means fp32, so they are compared even at 0. */
            bool dtype = f == T6I_F_DTYPE || f == T6I_F_WEIGHT_DTYPE;
            if ((want != 0 || dtype) && want != bucket->feature[f]) d += 1000.0;
        } else if (want > 0) {
            d += fabs(log2((double)want) - log2((double)bucket->feature[f]));
        }
    }
    return d;
}

static int nearest_index(const t6i_profile_op *part, const t6i_shape *shape)
{
    int best = -1;
    double best_distance = INFINITY;
    for (int i = 0; i < part->bucket_count; i++) {
        double d = distance(&part->buckets[i], shape);
        if (d < best_distance) {
            best_distance = d;
            best = i;
        }
    }
    return best;
}

const t6i_profile_bucket *t6i_profile_nearest(const t6i_profile_op *part, const t6i_shape *shape)
{
    int index = nearest_index(part, shape);
    return index >= 0 ? &part->buckets[index] : NULL;
}

bool t6i_profile_apply_below(t6i_profile *profile, t6_op op, const t6i_shape *shape, t6_profile_level below,
                             t6i_params *params)
{
    if (!profile || (int)op < 0 || op >= T6_OP_COUNT) return false;
    for (int level = (int)below - 1; level > T6_PROFILE_BUILTIN; level--) {
        if (level >= LEVELS || profile->serving[op][level] < 0) continue;
        t6i_profile_file *file = profile->files[profile->serving[op][level]];
        int index = nearest_index(&file->ops[op], shape);
        /* A bucket that failed here before (t6i_params_fall_back) sends its calls to the level below. */
        if (index < 0 || file->ops[op].buckets[index].failed) continue;
        t6i_profile_bucket *bucket = &file->ops[op].buckets[index];
        for (int i = 0; i < bucket->count; i++)
            if (bucket->index[i] < params->count) {
                params->values[bucket->index[i]] = bucket->value[i];
                params->source[bucket->index[i]] = T6I_FROM_PROFILE;
            }
        params->level = (t6_profile_level)level;
        params->bucket = bucket;
        params->origin = file->origin;
        return true;
    }
    return false;
}

bool t6i_profile_apply(t6i_profile *profile, t6_op op, const t6i_shape *shape, t6i_params *params)
{
    return t6i_profile_apply_below(profile, op, shape, (t6_profile_level)LEVELS, params);
}
