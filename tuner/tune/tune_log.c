/* tune_log.c — the result log: one JSON object per line, appended and flushed to disk as each candidate
 * starts and as its result arrives, so a run killed at any moment (a driver that takes the machine down with
 * it included) loses at most the candidate in flight. --resume reads the log back: finished candidates are
 * never run again, and a candidate that was started twice without ever finishing is recorded as lost instead
 * of being tried a third time.
 *
 * Every run starts its part of the log with a header naming the device and kernel sources its results belong
 * to: a log of another device or driver is refused rather than mixed in, and the results of an op whose
 * kernels changed since are not reused (that op is tuned afresh). A second t6-tune on the same log is refused
 * (a lock). */
#include "tune.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct record {
    char *bucket, *config;
    int phase;
    int starts;
    bool has_result;
    tune_result result;
} record;

struct tune_log {
    FILE *file;
    record *records;
    int count, capacity;
};

static record *find(const tune_log *log, const char *bucket, const char *config, int phase)
{
    for (int i = log->count - 1; i >= 0; i--) {
        record *r = &log->records[i];
        if (r->phase == phase && strcmp(r->config, config) == 0 && strcmp(r->bucket, bucket) == 0) return r;
    }
    return NULL;
}

static char *duplicate(const char *text)
{
    size_t n = strlen(text) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, text, n);
    return copy;
}

static record *find_or_add(tune_log *log, const char *bucket, const char *config, int phase)
{
    record *r = find(log, bucket, config, phase);
    if (r) return r;
    if (log->count == log->capacity) {
        int capacity = log->capacity ? 2 * log->capacity : 256;
        record *grown = realloc(log->records, (size_t)capacity * sizeof *grown);
        if (!grown) return NULL;
        log->records = grown;
        log->capacity = capacity;
    }
    r = &log->records[log->count];
    memset(r, 0, sizeof *r);
    r->bucket = duplicate(bucket);
    r->config = duplicate(config);
    if (!r->bucket || !r->config) {
        free(r->bucket);
        free(r->config);
        return NULL;
    }
    r->phase = phase;
    log->count++;
    return r;
}

static void write_line(tune_log *log, cJSON *object)
{
    char *text = cJSON_PrintUnformatted(object);
    if (text) {
        fprintf(log->file, "%s\n", text);
        fflush(log->file);
        fsync(fileno(log->file));
        free(text);
    }
    cJSON_Delete(object);
}

static cJSON *event(const char *bucket, const char *config, int phase, const char *kind)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", kind);
    cJSON_AddStringToObject(o, "bucket", bucket);
    cJSON_AddStringToObject(o, "config", config);
    cJSON_AddNumberToObject(o, "phase", phase);
    return o;
}

void tune_log_start(tune_log *log, const char *bucket, const tune_space *space, const tune_config *config, int phase)
{
    char text[512];
    tune_config_text(space, config, text, sizeof text);
    record *r = find_or_add(log, bucket, text, phase);
    if (r) r->starts++;
    write_line(log, event(bucket, text, phase, "start"));
}

void tune_log_result(tune_log *log, const char *bucket, const tune_space *space, const tune_config *config, int phase,
                     const tune_result *result)
{
    char text[512];
    tune_config_text(space, config, text, sizeof text);
    record *r = find_or_add(log, bucket, text, phase);
    if (r) {
        r->has_result = true;
        r->result = *result;
    }
    cJSON *o = event(bucket, text, phase, "result");
    cJSON_AddStringToObject(o, "status", tune_status_name(result->status));
    if (result->status == TUNE_OK) {
        cJSON_AddNumberToObject(o, "median_ns", result->median_ns);
        cJSON_AddNumberToObject(o, "min_ns", result->min_ns);
        cJSON_AddNumberToObject(o, "max_ns", result->max_ns);
        cJSON_AddNumberToObject(o, "spread", result->spread);
        cJSON_AddNumberToObject(o, "runs", result->runs);
    }
    if (result->error > 0 && result->error < 1e300) cJSON_AddNumberToObject(o, "error", result->error);
    if (result->message[0]) cJSON_AddStringToObject(o, "message", result->message);
    cJSON_AddNumberToObject(o, "seconds", result->seconds);
    write_line(log, o);
}

static double number(const cJSON *o, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(item) ? item->valuedouble : 0.0;
}

static const char *text_of(const cJSON *o, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(item) && item->valuestring ? item->valuestring : NULL;
}

/* Whether a bucket key ("decode:heads=...") belongs to an op whose results are stale. */
static bool of_stale_op(const char *bucket, const bool *stale)
{
    for (int op = 0; op < T6_OP_COUNT; op++) {
        size_t n = strlen(t6_op_name((t6_op)op));
        if (stale[op] && strncmp(bucket, t6_op_name((t6_op)op), n) == 0 && bucket[n] == ':') return true;
    }
    return false;
}

/* One line of an earlier run. Lines that do not parse (the last one of a killed run) are skipped, and so are
 * the results of ops whose kernels changed since. */
static void replay_line(tune_log *log, const char *line, const bool *stale)
{
    cJSON *o = cJSON_Parse(line);
    const char *kind = text_of(o, "event"), *bucket = text_of(o, "bucket"), *config = text_of(o, "config");
    if (kind && bucket && config && !of_stale_op(bucket, stale)) {
        record *r = find_or_add(log, bucket, config, (int)number(o, "phase"));
        if (r && strcmp(kind, "start") == 0) r->starts++;
        tune_status status;
        const char *status_name = text_of(o, "status");
        if (r && strcmp(kind, "result") == 0 && status_name && tune_status_from_name(status_name, &status)) {
            memset(&r->result, 0, sizeof r->result);
            r->has_result = true;
            r->result.status = status;
            r->result.median_ns = number(o, "median_ns");
            r->result.min_ns = number(o, "min_ns");
            r->result.max_ns = number(o, "max_ns");
            r->result.spread = number(o, "spread");
            r->result.runs = (int)number(o, "runs");
            r->result.error = number(o, "error");
            r->result.seconds = number(o, "seconds");
            const char *message = text_of(o, "message");
            if (message) snprintf(r->result.message, sizeof r->result.message, "%s", message);
        }
    }
    cJSON_Delete(o);
}

/* The header must describe the same device and driver as this run; the ops whose kernel sources changed since
 * are marked stale (their results are not reused). */
static bool header_matches(const char *line, const tune_device *device, bool *stale, char *error, size_t cap)
{
    cJSON *o = cJSON_Parse(line);
    const char *identity = text_of(o, "identity"), *driver = text_of(o, "driver");
    const cJSON *hashes = cJSON_GetObjectItemCaseSensitive(o, "hashes");
    bool ok = identity && driver;
    if (!ok) snprintf(error, cap, "the log does not start with a t6-tune header");
    if (ok && (strcmp(identity, device->info.identity) != 0 || strcmp(driver, device->info.driver_version) != 0)) {
        snprintf(error, cap, "the log is of %s (driver %s), this device is %s (driver %s)", identity, driver,
                 device->info.identity, device->info.driver_version);
        ok = false;
    }
    for (int op = 0; ok && op < T6_OP_COUNT; op++) {
        const char *hash = text_of(hashes, t6_op_name((t6_op)op));
        stale[op] = hash && strcmp(hash, device->hashes[op]) != 0;
        if (stale[op])
            fprintf(stderr, "t6-tune: the log's %s results are of other kernel sources (%s, now %s): not reused\n",
                    t6_op_name((t6_op)op), hash, device->hashes[op]);
    }
    cJSON_Delete(o);
    return ok;
}

/* Every run on a log starts with a header: the records after it are judged by its hashes. */
static bool read_back(tune_log *log, const char *path, const tune_device *device, char *error, size_t cap)
{
    bool missing = false;
    char *text = tune_read_file(path, "log", &missing, error, cap);
    if (!text) return missing; /* nothing to resume: a fresh log */
    bool ok = true, first = true, stale[T6_OP_COUNT] = {false};
    char *const end = text + strlen(text);
    for (char *line = text, *newline = NULL; ok && line < end; line = newline ? newline + 1 : end) {
        if ((newline = strchr(line, '\n')) != NULL) *newline = '\0';
        if (strstr(line, "\"t6_tune_log\"")) ok = header_matches(line, device, stale, error, cap);
        else if (first) {
            snprintf(error, cap, "%s does not start with a t6-tune header", path);
            ok = false;
        } else replay_line(log, line, stale);
        first = false;
    }
    t6_free(text);
    return ok;
}

/* The log opened for appending (resume) or afresh, refusing anything but a regular file without waiting on it:
 * open() of a FIFO for writing would wait for a reader. Truncated only once this run holds its lock, so a second
 * t6-tune on the same log leaves the first one's results alone. */
static FILE *open_log(const char *path, bool resume, char *error, size_t cap)
{
    int fd = open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(error, cap, "%s cannot be opened for writing: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *problem = NULL;
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) problem = "is not a regular file: t6-tune logs to regular files";
    else if (fcntl(fd, F_SETLK, &lock) != 0) problem = "is in use by another t6-tune";
    else if (fcntl(fd, F_SETFL, resume ? O_APPEND : 0) != 0 || (!resume && ftruncate(fd, 0) != 0))
        problem = "cannot be prepared for writing";
    FILE *file = problem ? NULL : fdopen(fd, resume ? "a+" : "w");
    if (!file) {
        snprintf(error, cap, "%s %s", path, problem ? problem : "cannot be opened for writing");
        close(fd);
    }
    return file;
}

tune_log *tune_log_open(const char *path, bool resume, const tune_device *device, const char *settings_json,
                        char *error, size_t error_cap)
{
    tune_log *log = calloc(1, sizeof *log);
    if (!log) {
        snprintf(error, error_cap, "out of host memory (log)");
        return NULL;
    }
    if (resume && !read_back(log, path, device, error, error_cap)) {
        tune_log_close(log);
        return NULL;
    }
    log->file = open_log(path, resume, error, error_cap);
    if (!log->file) {
        tune_log_close(log);
        return NULL;
    }
    fseek(log->file, 0, SEEK_END);
    long size = ftell(log->file);
    if (size > 0) {
        /* a killed run may have left half a line: start on a fresh one */
        fseek(log->file, size - 1, SEEK_SET);
        int last = fgetc(log->file);
        fseek(log->file, 0, SEEK_END);
        if (last != '\n') fputc('\n', log->file);
    }
    /* each run (a resumed one too) records what its results belong to */
    cJSON *header = cJSON_CreateObject();
    cJSON_AddNumberToObject(header, "t6_tune_log", 1);
    cJSON_AddStringToObject(header, "identity", device->info.identity);
    cJSON_AddStringToObject(header, "driver", device->info.driver_version);
    cJSON *hashes = cJSON_AddObjectToObject(header, "hashes");
    for (int op = 0; op < T6_OP_COUNT; op++) cJSON_AddStringToObject(hashes, t6_op_name((t6_op)op), device->hashes[op]);
    cJSON *settings = cJSON_Parse(settings_json);
    if (settings) cJSON_AddItemToObject(header, "settings", settings);
    write_line(log, header);
    return log;
}

void tune_log_close(tune_log *log)
{
    if (!log) return;
    if (log->file) fclose(log->file);
    for (int i = 0; i < log->count; i++) {
        free(log->records[i].bucket);
        free(log->records[i].config);
    }
    free(log->records);
    free(log);
}

const tune_result *tune_log_find(const tune_log *log, const char *bucket, const char *config, int phase)
{
    const record *r = find(log, bucket, config, phase);
    return r && r->has_result ? &r->result : NULL;
}

int tune_log_unfinished(const tune_log *log, const char *bucket, const char *config, int phase)
{
    const record *r = find(log, bucket, config, phase);
    return r && !r->has_result ? r->starts : 0;
}

void tune_log_each(const tune_log *log, const char *bucket, int phase, tune_log_visit_fn visit, void *arg)
{
    for (int i = 0; i < log->count; i++) {
        const record *r = &log->records[i];
        if (r->has_result && r->phase == phase && strcmp(r->bucket, bucket) == 0) visit(arg, r->config, &r->result);
    }
}
