/* t6-info — lists every OpenCL device as t6 sees it, and checks the embedded kernels on one. */
#include <t6.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: t6-info [--profile] [--self-test] [--device SELECTOR] [--verbose]\n"
            "\n"
            "Lists every OpenCL device with the fields t6 uses: platform, vendor and vendor id, name, driver,\n"
            "OpenCL versions, compute units, clock, memory sizes, work-group limits, fp16/fp64 support, and the\n"
            "normalized identity that tuning profiles are matched on.\n"
            "\n"
            "  --profile          also show, for every device, which tuning profile serves each op and at which\n"
            "                     level of the fallback (exact, name, family, vendor, built-in; see docs/TUNING.md);\n"
            "                     --verbose says why other profiles were skipped\n"
            "  --self-test        also run every embedded kernel once on the selected device and compare it\n"
            "                     with the double-precision reference (exit status 1 if any check fails)\n"
            "  --device SELECTOR  device for --self-test: an index or a name substring (default: T6_DEVICE,\n"
            "                     else the first GPU, else the first device)\n"
            "  --verbose          log what the library does (kernel builds, profile choice)\n"
            "  --help             this text\n");
}

/* Which profile serves each op that has tunables on device `index` (a context is made to find out). */
static void print_profiles(int index)
{
    char selector[16];
    snprintf(selector, sizeof selector, "%d", index);
    t6_context *ctx = NULL;
    if (t6_context_create(selector, &ctx) != T6_SUCCESS) {
        printf("  profiles          cannot be chosen: %s\n", t6_context_last_error(NULL));
        return;
    }
    int shown = 0;
    for (int op = 0; op < T6_OP_COUNT; op++) {
        if (t6_op_param_count((t6_op)op) == 0) continue;
        shown++;
        t6_profile_level level = T6_PROFILE_BUILTIN;
        char path[1024];
        if (t6_context_profile(ctx, (t6_op)op, &level, path, sizeof path) != T6_SUCCESS) continue;
        printf("  profile %-12s %-8s %s\n", t6_op_name((t6_op)op), t6_profile_level_name(level),
               level == T6_PROFILE_BUILTIN ? "(built-in defaults)" : path);
    }
    if (!shown) printf("  profiles          none needed: no op of this build has tunable parameters\n");
    t6_context_destroy(ctx);
}

static void print_device(int index, const t6_device_info *d)
{
    printf("device %d: %s\n", index, d->name);
    printf("  platform          %s (%s), %s\n", d->platform_name, d->platform_vendor, d->platform_version);
    printf("  vendor            %s (id 0x%04x)\n", d->vendor, d->vendor_id);
    printf("  type              %s\n", d->is_gpu ? "GPU" : "not a GPU");
    printf("  driver            %s\n", d->driver_version);
    printf("  version           %s; %s\n", d->device_version, d->opencl_c_version);
    printf("  compute units     %u at %u MHz\n", d->compute_units, d->clock_mhz);
    printf("  global memory     %.2f GiB (largest allocation %.2f GiB)\n", (double)d->global_mem_bytes / (1 << 30),
           (double)d->max_alloc_bytes / (1 << 30));
    printf("  local memory      %llu KiB\n", d->local_mem_bytes / 1024);
    printf("  work-group        up to %zu, preferred multiple %zu\n", d->max_work_group_size,
           d->preferred_work_group_multiple);
    printf("  fp16 / fp64       %s / %s\n", d->has_fp16 ? "yes" : "no", d->has_fp64 ? "yes" : "no");
    printf("  family            %s\n", d->family[0] ? d->family : "(unknown)");
    printf("  identity          %s\n", d->identity);
}

int main(int argc, char **argv)
{
    int self_test = 0, profiles = 0, verbose = 0;
    const char *selector = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--profile") == 0) {
            profiles = 1;
        } else if (strcmp(argv[i], "--self-test") == 0) {
            self_test = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
            t6_set_log_callback(t6_log_to_stderr, T6_LOG_DEBUG, NULL);
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            selector = argv[++i];
        } else {
            fprintf(stderr, "t6-info: unknown argument '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    printf("t6 %s\n", t6_version_string());
    int count = 0;
    t6_status status = t6_device_count(&count);
    if (status != T6_SUCCESS) {
        fprintf(stderr, "t6-info: %s: %s\n", t6_status_string(status), t6_context_last_error(NULL));
        return 1;
    }
    if (count == 0) printf("no OpenCL devices (is an ICD installed under /etc/OpenCL/vendors?)\n");
    for (int i = 0; i < count; i++) {
        t6_device_info info = T6_DEVICE_INFO_INIT;
        status = t6_device_describe(i, &info);
        if (status != T6_SUCCESS) {
            printf("device %d: cannot be described: %s\n", i, t6_context_last_error(NULL));
            continue;
        }
        print_device(i, &info);
        if (profiles) print_profiles(i);
    }
    if (!self_test) return 0;

    t6_context *ctx = NULL;
    status = t6_context_create(selector, &ctx);
    if (status != T6_SUCCESS) {
        fprintf(stderr, "t6-info: %s: %s\n", t6_status_string(status), t6_context_last_error(NULL));
        return 1;
    }
    t6_device_info info = T6_DEVICE_INFO_INIT;
    t6_context_device_info(ctx, &info);
    printf("self-test on '%s'\n", info.name);
    /* the self-test reports each check at the info level; --verbose keeps the kernel builds too */
    t6_set_log_callback(t6_log_to_stderr, verbose ? T6_LOG_DEBUG : T6_LOG_INFO, NULL);
    status = t6_context_self_test(ctx);
    if (status != T6_SUCCESS)
        printf("self-test FAILED: %s: %s\n", t6_status_string(status), t6_context_last_error(ctx));
    else
        printf("self-test passed\n");
    t6_context_destroy(ctx);
    return status == T6_SUCCESS ? 0 : 1;
}
