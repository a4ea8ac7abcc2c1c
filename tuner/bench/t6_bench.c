/* t6-bench — benchmarks of t6's operations against the device's measured ceilings and the baselines.
 * `t6-bench <subcommand> [options]`; each subcommand prints one table (and CSV rows with --csv). */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

/* One line per subcommand. */
static const struct {
    const char *name;
    const char *summary;
    t6b_command_fn run;
    void (*usage)(FILE *out);
} commands[] = {
    {"projection", "fused factor projection vs CLBlast SGEMM + RoPE/scatter", t6b_bench_projection,
     t6b_usage_projection},
    {"attention", "factorized TPA decode/prefill vs copy bandwidth, MHA/GQA, materialized", t6b_bench_attention,
     t6b_usage_attention},
    {"model", "whole-model decode per token, T6-medium TPA vs MHA, contexts 1K..64K", t6b_bench_model,
     t6b_usage_model},
};
enum { COMMAND_COUNT = sizeof commands / sizeof commands[0] };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: t6-bench <subcommand> [options]   (t6-bench <subcommand> --help for its own options)\n"
            "\n"
            "Times t6's operations with OpenCL event profiling (warm-up runs, then the median of several runs)\n"
            "and reports them against the device's ceilings, measured first by small built-in probes: copy\n"
            "bandwidth, fp32 FMA rate and CLBlast SGEMM rate.\n"
            "\n"
            "subcommands:\n");
    for (int i = 0; i < COMMAND_COUNT; i++) fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "options of every subcommand:\n"
            "  --device SELECTOR  an index or a name substring (default: T6_DEVICE, else the first GPU)\n"
            "  --quick            PoCL-sized shapes and probes\n"
            "  --runs N           timed runs per figure (default 20; with --quick 5)\n"
            "  --warmup N         untimed runs first (default 3; with --quick 1)\n"
            "  --csv FILE         also write the table's rows to FILE\n"
            "  --param NAME=VALUE set a kernel tunable (t6_context_set_param) for every call; repeatable\n"
            "  --precision P      strict (default) or fast: the attention calls' mode (t6_context_set_precision)\n"
            "  --verbose          log what the library does\n"
            "  --help             this text\n");
}

/* Takes the common options out of argv (keeping the subcommand's own ones in order). Returns -1 on a bad
 * value, else the new argc. */
static int parse_common(int argc, char **argv, t6b_options *options, const char **csv_path, int *help)
{
    int kept = 0, runs = 0, warmup = -1;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *help = 1;
        } else if (strcmp(arg, "--quick") == 0) {
            options->quick = 1;
        } else if (strcmp(arg, "--verbose") == 0) {
            options->verbose = 1;
        } else if (strcmp(arg, "--device") == 0 && has_value) {
            options->device = argv[++i];
        } else if (strcmp(arg, "--param") == 0 && has_value) {
            if (options->param_count == T6B_MAX_SET_PARAMS) {
                fprintf(stderr, "t6-bench: at most %d --param options\n", T6B_MAX_SET_PARAMS);
                return -1;
            }
            options->params[options->param_count++] = argv[++i];
        } else if (strcmp(arg, "--precision") == 0 && has_value) {
            const char *mode = argv[++i];
            if (strcmp(mode, "strict") == 0) options->precision = T6_PRECISION_STRICT;
            else if (strcmp(mode, "fast") == 0) options->precision = T6_PRECISION_FAST;
            else {
                fprintf(stderr, "t6-bench: --precision must be strict or fast\n");
                return -1;
            }
        } else if (strcmp(arg, "--csv") == 0 && has_value) {
            *csv_path = argv[++i];
        } else if (strcmp(arg, "--runs") == 0 && has_value) {
            runs = atoi(argv[++i]);
            if (runs < 1 || runs > T6B_MAX_RUNS) {
                fprintf(stderr, "t6-bench: --runs must be 1..%d\n", T6B_MAX_RUNS);
                return -1;
            }
        } else if (strcmp(arg, "--warmup") == 0 && has_value) {
            warmup = atoi(argv[++i]);
            if (warmup < 0) {
                fprintf(stderr, "t6-bench: --warmup must be ≥ 0\n");
                return -1;
            }
        } else {
            argv[kept++] = argv[i];
        }
    }
    options->runs = runs ? runs : options->quick ? 5 : 20;
    options->warmup = warmup >= 0 ? warmup : options->quick ? 1 : 3;
    return kept;
}

t6_status t6b_set_param(t6_context *ctx, const char *text)
{
    char name[128];
    const char *equals = strchr(text, '=');
    if (!equals || equals == text || (size_t)(equals - text) >= sizeof name) return T6_ERROR_INVALID_ARGUMENT;
    memcpy(name, text, (size_t)(equals - text));
    name[equals - text] = '\0';
    for (int op = 0; op < T6_OP_COUNT; op++)
        for (int i = 0; i < t6_op_param_count((t6_op)op); i++) {
            t6_param_info info;
            if (t6_op_param_info((t6_op)op, i, &info) == T6_SUCCESS && strcmp(info.name, name) == 0)
                return t6_context_set_param(ctx, (t6_op)op, name, atoi(equals + 1));
        }
    return t6_context_set_param(ctx, T6_OP_PROJECTION, name, atoi(equals + 1)); /* records "no parameter" */
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int command = -1;
    for (int i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(argv[1], commands[i].name) == 0) command = i;
    if (command < 0) {
        fprintf(stderr, "t6-bench: unknown subcommand '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    t6b_options options = {0};
    const char *csv_path = NULL;
    int help = 0;
    /* argv[1] (the subcommand's name) becomes its argv[0]. */
    int sub_argc = parse_common(argc - 1, argv + 1, &options, &csv_path, &help);
    if (sub_argc < 0) return 2;
    if (help) {
        commands[command].usage(stdout);
        return 0;
    }
    t6_set_log_callback(t6_log_to_stderr, options.verbose ? T6_LOG_DEBUG : T6_LOG_WARN, NULL);
    if (csv_path) {
        options.csv = fopen(csv_path, "w");
        if (!options.csv) {
            fprintf(stderr, "t6-bench: cannot write %s\n", csv_path);
            return 1;
        }
    }
    t6_context *ctx = NULL;
    t6_status status = t6_context_create(options.device, &ctx);
    if (status != T6_SUCCESS) {
        fprintf(stderr, "t6-bench: %s: %s\n", t6_status_string(status), t6_context_last_error(NULL));
        if (options.csv) fclose(options.csv);
        return 1;
    }
    for (int i = 0; i < options.param_count; i++) {
        status = t6b_set_param(ctx, options.params[i]);
        if (status != T6_SUCCESS) {
            fprintf(stderr, "t6-bench: --param %s: %s\n", options.params[i], t6_context_last_error(ctx));
            t6_context_destroy(ctx);
            if (options.csv) fclose(options.csv);
            return 2;
        }
    }
    if (options.precision == T6_PRECISION_DEFAULT) options.precision = T6_PRECISION_STRICT;
    t6_context_set_precision(ctx, options.precision);
    t6_device_info info = T6_DEVICE_INFO_INIT;
    t6_context_device_info(ctx, &info);
    printf("t6-bench %s on '%s' (%s, driver %s, %u compute units), %s precision\n", commands[command].name,
           info.name, info.platform_name, info.driver_version, info.compute_units,
           t6_precision_name(options.precision));
    int code = commands[command].run(ctx, &options, sub_argc, argv + 1);
    t6_context_destroy(ctx);
    if (options.csv && fclose(options.csv) != 0) {
        fprintf(stderr, "t6-bench: writing %s failed\n", csv_path);
        code = 1;
    }
    return code;
}
