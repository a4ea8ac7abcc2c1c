/* tune_worker.c — the process that owns the device, and the parent's handle on it.
 *
 * The parent starts `t6-tune --worker` with pipes on its stdin and stdout (its stderr goes to a file next to
 * the log) in a process group of its own, so a Ctrl-C at the terminal reaches the parent only. Each request is
 * one JSON line (op, shape, every tunable's value, warm-up and timed runs); each answer is one JSON line (a
 * tune_result). The parent waits for an answer at most the watchdog time: a worker that does not answer is
 * killed and the candidate recorded as a hang; a worker that dies is recorded as a crash. Either way a new
 * worker is started and the run goes on. A worker also exits on its own after a failure that may have left
 * its OpenCL context unusable (a launch error, wrong results), so no candidate is judged on a poisoned one.
 *
 * Test hooks (environment of the worker): T6_TUNE_TEST_CRASH=NAME=VALUE makes the worker die by SIGSEGV on a
 * candidate with that value, T6_TUNE_TEST_HANG=NAME=VALUE makes it hang (until the parent is gone).
 * tests/check_tune.c uses them. */
#include "bench.h"
#include "tune.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct tune_worker {
    pid_t pid;
    int to_worker, from_worker;
    char *pending; /* bytes read past the last line */
    size_t pending_length, pending_cap;
};

/* ---- the protocol ---- */

static cJSON *shape_json(const tune_shape *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "model_dim", s->model_dim);
    cJSON_AddNumberToObject(o, "heads", s->heads);
    cJSON_AddNumberToObject(o, "head_dim", s->head_dim);
    cJSON_AddNumberToObject(o, "rank_q", s->rank_q);
    cJSON_AddNumberToObject(o, "rank_k", s->rank_k);
    cJSON_AddNumberToObject(o, "rank_v", s->rank_v);
    cJSON_AddNumberToObject(o, "dtype", s->dtype);
    cJSON_AddNumberToObject(o, "weight_dtype", s->weight_dtype);
    cJSON_AddNumberToObject(o, "rows", s->rows);
    cJSON_AddNumberToObject(o, "batch", s->batch);
    cJSON_AddNumberToObject(o, "length", s->length);
    return o;
}

static int int_of(const cJSON *o, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(item) ? (int)item->valuedouble : 0;
}

static double double_of(const cJSON *o, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(item) ? item->valuedouble : 0.0;
}

static const char *text_of(const cJSON *o, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(item) && item->valuestring ? item->valuestring : "";
}

static tune_shape shape_from_json(const cJSON *o)
{
    tune_shape s = {int_of(o, "model_dim"), int_of(o, "heads"), int_of(o, "head_dim"), int_of(o, "rank_q"),
                    int_of(o, "rank_k"),    int_of(o, "rank_v"), (t6_dtype)int_of(o, "dtype"),
                    (t6_dtype)int_of(o, "weight_dtype"), int_of(o, "rows"), int_of(o, "batch"), int_of(o, "length")};
    return s;
}

static void device_to_json(cJSON *o, const t6_device_info *d)
{
    cJSON_AddStringToObject(o, "platform", d->platform_name);
    cJSON_AddStringToObject(o, "platform_vendor", d->platform_vendor);
    cJSON_AddStringToObject(o, "platform_version", d->platform_version);
    cJSON_AddStringToObject(o, "vendor", d->vendor);
    cJSON_AddNumberToObject(o, "vendor_id", d->vendor_id);
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "driver", d->driver_version);
    cJSON_AddStringToObject(o, "device_version", d->device_version);
    cJSON_AddStringToObject(o, "opencl_c_version", d->opencl_c_version);
    cJSON_AddBoolToObject(o, "is_gpu", d->is_gpu);
    cJSON_AddNumberToObject(o, "compute_units", d->compute_units);
    cJSON_AddNumberToObject(o, "clock_mhz", d->clock_mhz);
    cJSON_AddNumberToObject(o, "global_mem_bytes", (double)d->global_mem_bytes);
    cJSON_AddNumberToObject(o, "max_alloc_bytes", (double)d->max_alloc_bytes);
    cJSON_AddNumberToObject(o, "local_mem_bytes", (double)d->local_mem_bytes);
    cJSON_AddNumberToObject(o, "max_work_group_size", (double)d->max_work_group_size);
    cJSON_AddNumberToObject(o, "preferred_work_group_multiple", (double)d->preferred_work_group_multiple);
    cJSON_AddStringToObject(o, "normalized_vendor", d->normalized_vendor);
    cJSON_AddStringToObject(o, "normalized_name", d->normalized_name);
    cJSON_AddStringToObject(o, "family", d->family);
    cJSON_AddStringToObject(o, "identity", d->identity);
}

static void copy_text(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src); }

static void device_from_json(const cJSON *o, t6_device_info *d)
{
    memset(d, 0, sizeof *d);
    copy_text(d->platform_name, sizeof d->platform_name, text_of(o, "platform"));
    copy_text(d->platform_vendor, sizeof d->platform_vendor, text_of(o, "platform_vendor"));
    copy_text(d->platform_version, sizeof d->platform_version, text_of(o, "platform_version"));
    copy_text(d->vendor, sizeof d->vendor, text_of(o, "vendor"));
    d->vendor_id = (unsigned)double_of(o, "vendor_id");
    copy_text(d->name, sizeof d->name, text_of(o, "name"));
    copy_text(d->driver_version, sizeof d->driver_version, text_of(o, "driver"));
    copy_text(d->device_version, sizeof d->device_version, text_of(o, "device_version"));
    copy_text(d->opencl_c_version, sizeof d->opencl_c_version, text_of(o, "opencl_c_version"));
    d->is_gpu = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "is_gpu"));
    d->compute_units = (unsigned)double_of(o, "compute_units");
    d->clock_mhz = (unsigned)double_of(o, "clock_mhz");
    d->global_mem_bytes = (unsigned long long)double_of(o, "global_mem_bytes");
    d->max_alloc_bytes = (unsigned long long)double_of(o, "max_alloc_bytes");
    d->local_mem_bytes = (unsigned long long)double_of(o, "local_mem_bytes");
    d->max_work_group_size = (size_t)double_of(o, "max_work_group_size");
    d->preferred_work_group_multiple = (size_t)double_of(o, "preferred_work_group_multiple");
    copy_text(d->normalized_vendor, sizeof d->normalized_vendor, text_of(o, "normalized_vendor"));
    copy_text(d->normalized_name, sizeof d->normalized_name, text_of(o, "normalized_name"));
    copy_text(d->family, sizeof d->family, text_of(o, "family"));
    copy_text(d->identity, sizeof d->identity, text_of(o, "identity"));
}

/* The answers' channel: the worker's original stdout. Its fd 1 is pointed at stderr instead, so that anything
 * a driver or library prints cannot be mistaken for an answer. */
static FILE *answers;

static void print_line(cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    if (text) {
        fputs(text, answers);
        fputc('\n', answers);
        fflush(answers);
        free(text);
    }
    cJSON_Delete(o);
}

/* ---- worker side ---- */

/* A test hook "NAME=VALUE" matches a request that sets NAME to VALUE. */
static bool hook_matches(const char *hook, const cJSON *params)
{
    if (!hook || !*hook) return false;
    const char *eq = strchr(hook, '=');
    if (!eq) return false;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(eq - hook), hook);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(params, name);
    return cJSON_IsNumber(item) && (int)item->valuedouble == atoi(eq + 1);
}

static void run_test_hooks(const cJSON *params)
{
    if (hook_matches(getenv("T6_TUNE_TEST_CRASH"), params)) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none); /* a crash on purpose leaves no core file behind */
        /* The driver's compiler may catch SIGSEGV to print a trace and return; a real fault would then fault
         * again, a raised signal would not: restore the default so this dies like a real crash. */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (hook_matches(getenv("T6_TUNE_TEST_HANG"), params)) {
        /* hangs like a driver would, but not past the parent's death: a killed test leaves no orphan behind */
        pid_t parent = getppid();
        while (getppid() == parent) sleep(1);
        _exit(1);
    }
}

static void answer(const tune_result *r, bool restart)
{
    cJSON *o = cJSON_CreateObject();
    if (r->problem_failed) cJSON_AddBoolToObject(o, "problem_failed", 1);
    cJSON_AddStringToObject(o, "status", tune_status_name(r->status));
    cJSON_AddNumberToObject(o, "median_ns", r->median_ns);
    cJSON_AddNumberToObject(o, "min_ns", r->min_ns);
    cJSON_AddNumberToObject(o, "max_ns", r->max_ns);
    cJSON_AddNumberToObject(o, "spread", r->spread);
    cJSON_AddNumberToObject(o, "runs", r->runs);
    cJSON_AddNumberToObject(o, "error", isfinite(r->error) ? r->error : 1e308);
    cJSON_AddStringToObject(o, "message", r->message);
    cJSON_AddBoolToObject(o, "restart", restart);
    print_line(o);
}

static void hello(t6_context *ctx, const char *ceilings)
{
    t6_device_info info = T6_DEVICE_INFO_INIT;
    t6_context_device_info(ctx, &info);
    cl_ulong cache_bytes = 0;
    if (clGetDeviceInfo(t6_context_cl_device(ctx), CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache_bytes, &cache_bytes,
                        NULL) != CL_SUCCESS)
        cache_bytes = 0;
    t6b_ceilings measured = {0};
    if (!ceilings || sscanf(ceilings, "%lf,%lf", &measured.copy_gbps, &measured.fma_gflops) != 2) {
        fprintf(stderr, "t6-tune worker: measuring the device's ceilings\n");
        if (t6b_measure_ceilings(ctx, !info.is_gpu, &measured) != T6_SUCCESS)
            fprintf(stderr, "t6-tune worker: ceilings unknown: %s\n", t6_context_last_error(ctx));
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *h = cJSON_AddObjectToObject(o, "hello");
    device_to_json(cJSON_AddObjectToObject(h, "device"), &info);
    cl_uint vector_width = 1;
    if (clGetDeviceInfo(t6_context_cl_device(ctx), CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof vector_width,
                        &vector_width, NULL) != CL_SUCCESS || vector_width == 0)
        vector_width = 1;
    cJSON_AddNumberToObject(h, "cache_bytes", (double)cache_bytes);
    cJSON_AddNumberToObject(h, "vector_width", vector_width);
    cJSON_AddNumberToObject(h, "copy_gbps", measured.copy_gbps);
    cJSON_AddNumberToObject(h, "fma_gflops", measured.fma_gflops);
    cJSON *hashes = cJSON_AddObjectToObject(h, "hashes");
    for (int op = 0; op <= T6_OP_COUNT; op++) {
        char hash[17];
        t6_kernel_hash((t6_op)op, hash);
        cJSON_AddStringToObject(hashes, op < T6_OP_COUNT ? t6_op_name((t6_op)op) : "all", hash);
    }
    print_line(o);
}

/* Applies every tunable of the request; the library refuses values outside its ranges. */
static bool apply_params(t6_context *ctx, const tune_op_desc *desc, const cJSON *params, const char **names,
                         int *values, int *count, tune_result *result)
{
    *count = 0;
    if (desc->op < T6_OP_COUNT) t6_context_clear_params(ctx, desc->op);
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, params)
    {
        if (*count >= TUNE_MAX_OP_PARAMS || !cJSON_IsNumber(item)) continue;
        names[*count] = item->string;
        values[*count] = (int)item->valuedouble;
        if (desc->op < T6_OP_COUNT && t6_context_set_param(ctx, desc->op, item->string, values[*count]) != T6_SUCCESS) {
            result->status = TUNE_INVALID;
            snprintf(result->message, sizeof result->message, "%s", t6_context_last_error(ctx));
            return false;
        }
        (*count)++;
    }
    return true;
}

int tune_worker_main(const char *device, bool flush, const char *ceilings, t6_precision precision)
{
    int channel = dup(1);
    answers = channel >= 0 ? fdopen(channel, "w") : NULL;
    if (!answers || dup2(2, 1) < 0) return 1;
    t6_set_log_callback(t6_log_to_stderr, T6_LOG_WARN, NULL);
    signal(SIGINT, SIG_IGN); /* the parent decides when a run stops */
    t6_context *ctx = NULL;
    if (t6_context_create(device, &ctx) != T6_SUCCESS) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "fatal", t6_context_last_error(NULL));
        print_line(o);
        return 1;
    }
    /* Candidates are checked against the reference here: one this device's profile records as wrong is measured
     * again, so that a new profile records it again (refused, it would be recorded as invalid and then run). */
    if (t6_context_set_precision(ctx, precision) != T6_SUCCESS ||
        t6_context_set_refuse_known_wrong(ctx, 0) != T6_SUCCESS)
        return 1;
    hello(ctx, ceilings);
    tune_problem *problem = NULL;
    char problem_key[512] = "";
    char *line = NULL;
    size_t line_cap = 0;
    int code = 0;
    while (getline(&line, &line_cap, stdin) != -1) {
        cJSON *request = cJSON_Parse(line);
        tune_op_id op;
        tune_result result;
        memset(&result, 0, sizeof result);
        if (!request || !tune_op_by_name(text_of(request, "op"), &op)) {
            cJSON_Delete(request);
            code = 2;
            break;
        }
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(request, "params");
        run_test_hooks(params);
        tune_shape shape = shape_from_json(cJSON_GetObjectItemCaseSensitive(request, "shape"));
        char key[512];
        tune_shape_key(op, &shape, key, sizeof key);
        if (strcmp(key, problem_key) != 0) {
            tune_problem_destroy(problem);
            problem = NULL;
            problem_key[0] = '\0';
            if (tune_problem_create(ctx, op, &shape, &problem, result.message, sizeof result.message) != T6_SUCCESS) {
                result.status = TUNE_ERROR;
                result.problem_failed = true;
                answer(&result, true);
                cJSON_Delete(request);
                break;
            }
            snprintf(problem_key, sizeof problem_key, "%s", key);
        }
        const char *names[TUNE_MAX_OP_PARAMS];
        int values[TUNE_MAX_OP_PARAMS], count = 0;
        if (apply_params(ctx, tune_op(op), params, names, values, &count, &result))
            tune_problem_evaluate(problem, ctx, names, values, count, int_of(request, "warmup"),
                                  int_of(request, "runs"), flush, &result);
        /* After these the context may be broken (or memory overwritten): a fresh process judges the next. The
         * synthetic op's results are made up without the device, so they leave nothing broken (and its tests
         * run hundreds of them: a fresh process, context and all, costs a quarter of a second on PoCL). */
        bool restart = (result.status == TUNE_LAUNCH || result.status == TUNE_ERROR || result.status == TUNE_WRONG ||
                        result.status == TUNE_BROKEN) &&
                       op != TUNE_SYNTHETIC;
        answer(&result, restart);
        cJSON_Delete(request);
        /* no teardown of a context that may be broken: releasing it can hang in the driver */
        if (restart) _exit(0);
    }
    free(line);
    tune_problem_destroy(problem);
    t6_context_destroy(ctx);
    return code;
}

/* ---- parent side ---- */

double tune_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One line from the worker within `timeout_s`: 1 a line (malloc'ed in *out), 0 end of file, -1 timeout, -2
 * the run was interrupted. */
static int read_line(tune_worker *w, double timeout_s, char **out)
{
    double deadline = tune_now() + timeout_s;
    for (;;) {
        char *newline = w->pending ? memchr(w->pending, '\n', w->pending_length) : NULL;
        if (newline) {
            size_t n = (size_t)(newline - w->pending);
            *out = malloc(n + 1);
            if (!*out) return 0;
            memcpy(*out, w->pending, n);
            (*out)[n] = '\0';
            memmove(w->pending, newline + 1, w->pending_length - n - 1);
            w->pending_length -= n + 1;
            return 1;
        }
        double left = deadline - tune_now();
        if (left <= 0) return -1;
        struct pollfd pfd = {w->from_worker, POLLIN, 0};
        int ready = poll(&pfd, 1, (int)(left * 1000.0) + 1);
        if (tune_interrupted) return -2;
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        if (w->pending_length + 4096 > w->pending_cap) {
            size_t cap = w->pending_cap ? 2 * w->pending_cap : 65536;
            char *grown = realloc(w->pending, cap);
            if (!grown) return 0;
            w->pending = grown;
            w->pending_cap = cap;
        }
        ssize_t got = read(w->from_worker, w->pending + w->pending_length, w->pending_cap - w->pending_length);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return 0;
        w->pending_length += (size_t)got;
    }
}

/* Kills the worker's whole process group (a driver may have started helpers) and reaps it. Returns how it
 * ended, for messages. */
static void end_worker(tune_worker *w, bool kill_it, char *how, size_t cap)
{
    if (!w) return;
    if (w->to_worker >= 0) close(w->to_worker);
    if (kill_it) kill(-w->pid, SIGKILL);
    /* A worker told to stop gets a few seconds to release its device, then goes the hard way. */
    int status = 0;
    pid_t done = 0;
    for (int tick = 0; tick < 100 && done == 0; tick++) {
        done = waitpid(w->pid, &status, WNOHANG);
        if (done == 0) nanosleep(&(struct timespec){0, 100000000}, NULL);
    }
    if (done == 0) {
        kill(-w->pid, SIGKILL);
        done = waitpid(w->pid, &status, 0);
    }
    if (how) {
        if (done != w->pid) snprintf(how, cap, "the worker vanished");
        else if (WIFSIGNALED(status))
            snprintf(how, cap, "the worker died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else snprintf(how, cap, "the worker exited with status %d", WEXITSTATUS(status));
    }
    if (w->from_worker >= 0) close(w->from_worker);
    free(w->pending);
    free(w);
}

void tune_worker_stop(tune_worker *worker) { end_worker(worker, false, NULL, 0); }

static const char *self_path(const char *fallback)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return fallback;
    path[n] = '\0';
    return path;
}

tune_worker *tune_worker_start(const tune_worker_options *options, const tune_device *known, tune_device *device,
                               char *error, size_t error_cap)
{
    int to[2], from[2];
    if (pipe(to) != 0) {
        snprintf(error, error_cap, "pipe: %s", strerror(errno));
        return NULL;
    }
    if (pipe(from) != 0) {
        snprintf(error, error_cap, "pipe: %s", strerror(errno));
        close(to[0]);
        close(to[1]);
        return NULL;
    }
    char ceilings[64] = "";
    if (known && known->copy_gbps > 0) snprintf(ceilings, sizeof ceilings, "%.6g,%.6g", known->copy_gbps, known->fma_gflops);
    const char *program = self_path(options->program);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(to[0], 0);
        dup2(from[1], 1);
        /* Not held up by a FIFO under the name (an open for writing would wait for a reader): only a regular
         * file takes the worker's messages, else they stay on t6-tune's stderr. */
        int err = options->stderr_path
                      ? open(options->stderr_path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, 0644)
                      : -1;
        struct stat st;
        if (err >= 0 && fstat(err, &st) == 0 && S_ISREG(st.st_mode) && fcntl(err, F_SETFL, O_APPEND) == 0)
            dup2(err, 2);
        for (int fd = 3; fd < 1024; fd++) close(fd);
        const char *argv[12];
        int n = 0;
        argv[n++] = program;
        argv[n++] = "--worker";
        if (options->device) {
            argv[n++] = "--device";
            argv[n++] = options->device;
        }
        if (!options->flush) argv[n++] = "--no-flush";
        argv[n++] = "--precision";
        argv[n++] = t6_precision_name(options->precision);
        if (ceilings[0]) {
            argv[n++] = "--ceilings";
            argv[n++] = ceilings;
        }
        argv[n] = NULL;
        execvp(program, (char *const *)argv);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    if (pid < 0) {
        snprintf(error, error_cap, "fork: %s", strerror(errno));
        close(to[1]);
        close(from[0]);
        return NULL;
    }
    setpgid(pid, pid); /* also here, so the group exists before either side runs on */
    tune_worker *w = calloc(1, sizeof *w);
    if (!w) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(to[1]);
        close(from[0]);
        snprintf(error, error_cap, "out of host memory");
        return NULL;
    }
    w->pid = pid;
    w->to_worker = to[1];
    w->from_worker = from[0];
    fcntl(w->to_worker, F_SETFD, FD_CLOEXEC);
    fcntl(w->from_worker, F_SETFD, FD_CLOEXEC);

    /* Starting takes a context, and the first time the ceiling probes: more than a candidate. */
    char *line = NULL;
    int got = read_line(w, fmax(options->timeout_s, 300.0), &line);
    cJSON *o = got == 1 ? cJSON_Parse(line) : NULL;
    free(line);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hello");
    if (!cJSON_IsObject(h)) {
        const char *fatal = text_of(o, "fatal");
        char how[160] = "";
        end_worker(w, true, how, sizeof how);
        snprintf(error, error_cap, "the worker did not start: %s", *fatal ? fatal : got < 0 ? "no answer" : how);
        cJSON_Delete(o);
        return NULL;
    }
    memset(device, 0, sizeof *device);
    device_from_json(cJSON_GetObjectItemCaseSensitive(h, "device"), &device->info);
    device->cache_bytes = (unsigned long long)double_of(h, "cache_bytes");
    device->vector_width = (unsigned)double_of(h, "vector_width");
    device->copy_gbps = double_of(h, "copy_gbps");
    device->fma_gflops = double_of(h, "fma_gflops");
    const cJSON *hashes = cJSON_GetObjectItemCaseSensitive(h, "hashes");
    for (int op = 0; op <= T6_OP_COUNT; op++)
        copy_text(device->hashes[op], sizeof device->hashes[op],
                  text_of(hashes, op < T6_OP_COUNT ? t6_op_name((t6_op)op) : "all"));
    cJSON_Delete(o);
    return w;
}

void tune_worker_evaluate(tune_worker **worker, const tune_worker_options *options, const tune_device *device,
                          tune_op_id op, const tune_shape *shape, const tune_space *space, const tune_config *config,
                          int warmup, int runs, tune_result *result)
{
    memset(result, 0, sizeof *result);
    tune_worker *w = *worker;
    cJSON *request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "op", tune_op(op)->name);
    cJSON_AddItemToObject(request, "shape", shape_json(shape));
    cJSON *params = cJSON_AddObjectToObject(request, "params");
    /* Every tunable of the op, so a profile on the worker's side can change nothing. */
    const tune_op_desc *desc = tune_op(op);
    if (desc->op < T6_OP_COUNT)
        for (int i = 0; i < t6_op_param_count(desc->op); i++) {
            t6_param_info info;
            if (t6_op_param_info(desc->op, i, &info) == T6_SUCCESS)
                cJSON_AddNumberToObject(params, info.name, info.default_value);
        }
    for (int i = 0; i < space->param_count; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(params, space->params[i].name);
        cJSON_AddNumberToObject(params, space->params[i].name, tune_config_value(space, config, i));
    }
    cJSON_AddNumberToObject(request, "warmup", warmup);
    cJSON_AddNumberToObject(request, "runs", runs);
    char *text = cJSON_PrintUnformatted(request);
    cJSON_Delete(request);
    size_t length = text ? strlen(text) : 0;
    bool sent = text && write(w->to_worker, text, length) == (ssize_t)length && write(w->to_worker, "\n", 1) == 1;
    free(text);

    char *line = NULL;
    int got = sent ? read_line(w, options->timeout_s, &line) : 0;
    cJSON *o = got == 1 ? cJSON_Parse(line) : NULL;
    free(line);
    bool restart = true;
    tune_status status;
    if (got == -2) {
        /* interrupted: the candidate is abandoned unrecorded (its "start" line makes --resume retry it once) */
        cJSON_Delete(o);
        end_worker(w, true, NULL, 0);
        *worker = NULL;
        result->status = TUNE_ERROR;
        snprintf(result->message, sizeof result->message, "interrupted");
        return;
    }
    if (o && tune_status_from_name(text_of(o, "status"), &status)) {
        result->status = status;
        result->median_ns = double_of(o, "median_ns");
        result->min_ns = double_of(o, "min_ns");
        result->max_ns = double_of(o, "max_ns");
        result->spread = double_of(o, "spread");
        result->runs = int_of(o, "runs");
        result->error = double_of(o, "error");
        copy_text(result->message, sizeof result->message, text_of(o, "message"));
        result->problem_failed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "problem_failed"));
        restart = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "restart"));
        cJSON_Delete(o);
        if (!restart) return;
        end_worker(w, false, NULL, 0);
    } else {
        cJSON_Delete(o);
        char how[200];
        end_worker(w, true, how, sizeof how);
        result->status = got < 0 ? TUNE_HANG : TUNE_CRASH;
        if (got < 0) snprintf(result->message, sizeof result->message, "no answer within %.0f s; killed", options->timeout_s);
        else copy_text(result->message, sizeof result->message, how);
    }
    tune_device again;
    char error[512];
    *worker = tune_worker_start(options, device, &again, error, sizeof error);
    if (!*worker) fprintf(stderr, "t6-tune: %s\n", error);
}
