/* check_profile.c — device profiles: the fallback from exact identity to vendor default with made-up devices of
 * every vendor (no hardware needed), per-op choice and stale parts, the nearest bucket, corrupt, truncated and
 * hostile files (never a crash, never a failure of the context), foreign schemas, explicit parameters winning,
 * and a real context picking its profile up from T6_PROFILE_PATH and from the user folder. */
#include "tuning/profile_internal.h"
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static char temp_root[256];

static const char *temp_dir(void)
{
    t6t_temp_dir("t6-check-profile", temp_root, sizeof temp_root);
    return temp_root;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *hash_of(t6_op op)
{
    static char hashes[T6_OP_COUNT][17];
    ck_assert_int_eq(t6_kernel_hash(op, hashes[op]), T6_SUCCESS);
    return hashes[op];
}

/* A profile's "device" object: identity-matched (with driver and family) or a vendor default. */
static void device_json(char *buf, size_t cap, const char *vendor, const char *identity, const char *driver,
                        const char *family, int is_gpu)
{
    if (!identity)
        snprintf(buf, cap, "{\"normalized_vendor\":\"%s\",\"vendor_default\":true,\"is_gpu\":%s%s%s%s}", vendor,
                 is_gpu ? "true" : "false", family ? ",\"family\":\"" : "", family ? family : "", family ? "\"" : "");
    else
        snprintf(buf, cap,
                 "{\"normalized_vendor\":\"%s\",\"identity\":\"%s\",\"driver\":\"%s\",\"family\":\"%s\","
                 "\"is_gpu\":%s,\"name\":\"made up\",\"compute_units\":132}",
                 vendor, identity, driver, family, is_gpu ? "true" : "false");
}

/* One op part with one bucket setting `param` to `value` (and, for tuned files, the right kernel hash). */
static void op_json(char *buf, size_t cap, t6_op op, bool tuned, const char *shape, const char *param, int value)
{
    char hash[48] = "";
    if (tuned) snprintf(hash, sizeof hash, "\"kernel_hash\":\"%s\",", hash_of(op));
    snprintf(buf, cap, "\"%s\":{%s\"buckets\":[{\"name\":\"b\",\"shape\":%s,\"params\":{\"%s\":%d},\"time_ns\":1}]}",
             t6_op_name(op), hash, shape, param, value);
}

static void profile_json(char *buf, size_t cap, bool tuned, const char *device, const char *ops)
{
    snprintf(buf, cap,
             "{\"schema\":\"t6-profile\",\"schema_version\":1,\"t6_version\":\"0.1.0\",\"tuned\":%s,"
             "\"device\":%s,\"tuning\":{\"strategy\":\"local\"},\"ops\":{%s}}",
             tuned ? "true" : "false", device, ops);
}

/* A complete profile for one op of one device, written to dir/name. */
static void write_profile(const char *dir, const char *name, const char *vendor, const char *identity,
                          const char *driver, const char *family, t6_op op, const char *param, int value)
{
    char device[512], part[512], text[2048];
    device_json(device, sizeof device, vendor, identity, driver, family, 1);
    op_json(part, sizeof part, op, identity != NULL, "{}", param, value);
    profile_json(text, sizeof text, identity != NULL, device, part);
    write_file(dir, name, text);
}

static t6_device_info made_up(const char *vendor_text, unsigned vendor_id, const char *name, const char *driver,
                              int is_gpu)
{
    t6_device_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.vendor, sizeof info.vendor, "%s", vendor_text);
    snprintf(info.name, sizeof info.name, "%s", name);
    snprintf(info.driver_version, sizeof info.driver_version, "%s", driver);
    snprintf(info.platform_name, sizeof info.platform_name, "%s", vendor_id == 0 ? "Portable Computing Language" : "x");
    info.vendor_id = vendor_id;
    info.is_gpu = is_gpu;
    t6i_normalize_identity(&info);
    return info;
}

static int param_value(const t6i_params *params, const char *name)
{
    for (int i = 0; i < params->count; i++)
        if (strcmp(params->defs[i].name, name) == 0) return params->values[i];
    ck_abort_msg("no parameter %s", name);
    return 0;
}

static int default_of(t6_op op, const char *name)
{
    for (int i = 0; i < t6_op_param_count(op); i++) {
        t6_param_info info;
        ck_assert_int_eq(t6_op_param_info(op, i, &info), T6_SUCCESS);
        if (strcmp(info.name, name) == 0) return info.default_value;
    }
    ck_abort_msg("no parameter %s", name);
    return 0;
}

/* Warnings the library logs, kept for assertions. */
static char warnings[16384];

static void keep_warnings(t6_log_level level, const char *message, void *user_data)
{
    (void)user_data;
    if (level < T6_LOG_WARN) return;
    size_t used = strlen(warnings);
    snprintf(warnings + used, sizeof warnings - used, "%s\n", message);
}

static void capture_warnings(void)
{
    warnings[0] = '\0';
    t6_set_log_callback(keep_warnings, T6_LOG_WARN, NULL);
}

/* ---- selection ---- */

START_TEST(fallback_levels_for_every_vendor)
{
    const char *dir = temp_dir();
    /* H100 under driver 550 (decode only), under driver 535 (decode and projection), an A100, and the three
     * vendor defaults; their parameter values tell which file served. */
    write_profile(dir, "h100-550.json", "nvidia", "nvidia/NVIDIA H100 80GB HBM3", "550.54", "sm_90", T6_OP_DECODE,
                  "T6_DEC_TILE", 11);
    char device[512], parts[1024], part[512], text[4096];
    device_json(device, sizeof device, "nvidia", "nvidia/NVIDIA H100 80GB HBM3", "535.10", "sm_90", 1);
    op_json(parts, sizeof parts, T6_OP_DECODE, true, "{}", "T6_DEC_TILE", 12);
    op_json(part, sizeof part, T6_OP_PROJECTION, true, "{}", "T6_PRJ_RW_COLS", 8);
    strcat(parts, ",");
    strcat(parts, part);
    profile_json(text, sizeof text, true, device, parts);
    write_file(dir, "h100-535.json", text);
    write_profile(dir, "a100.json", "nvidia", "nvidia/NVIDIA A100-SXM4-80GB", "550.54", "sm_80", T6_OP_DECODE,
                  "T6_DEC_TILE", 13);
    write_profile(dir, "nvidia-generic.json", "nvidia", NULL, NULL, NULL, T6_OP_DECODE, "T6_DEC_TILE", 14);
    write_profile(dir, "amd-generic.json", "amd", NULL, NULL, NULL, T6_OP_DECODE, "T6_DEC_TILE", 15);
    write_profile(dir, "intel-generic.json", "intel", NULL, NULL, NULL, T6_OP_DECODE, "T6_DEC_TILE", 16);
    /* A family's vendor default, found after the vendor's (name order): it still serves its family. */
    write_profile(dir, "amd-gfx11.json", "amd", NULL, NULL, "gfx11", T6_OP_DECODE, "T6_DEC_TILE", 17);

    static const struct {
        const char *vendor;
        unsigned id;
        const char *name, *driver;
        int gpu;
        t6_profile_level decode, projection;
        int tile;
    } cases[] = {
        {"NVIDIA Corporation", 0x10DE, "NVIDIA H100 80GB HBM3", "550.54", 1, T6_PROFILE_EXACT, T6_PROFILE_NAME, 11},
        {"NVIDIA Corporation", 0x10DE, "NVIDIA H100 80GB HBM3", "535.10", 1, T6_PROFILE_EXACT, T6_PROFILE_EXACT, 12},
        /* another driver: the first file by name order among equals (h100-535 before h100-550) */
        {"NVIDIA Corporation", 0x10DE, "NVIDIA H100 80GB HBM3", "560.01", 1, T6_PROFILE_NAME, T6_PROFILE_NAME, 12},
        /* same family sm_90: a family match beats the vendor default */
        {"NVIDIA Corporation", 0x10DE, "NVIDIA H200", "550.54", 1, T6_PROFILE_FAMILY, T6_PROFILE_FAMILY, 12},
        {"NVIDIA Corporation", 0x10DE, "NVIDIA L40S", "550.54", 1, T6_PROFILE_VENDOR, T6_PROFILE_BUILTIN, 14},
        {"Advanced Micro Devices, Inc.", 0x1002, "gfx90a:sramecc+:xnack-", "3614.0", 1, T6_PROFILE_VENDOR,
         T6_PROFILE_BUILTIN, 15},
        {"Advanced Micro Devices, Inc.", 0x1002, "gfx1100", "3614.0", 1, T6_PROFILE_VENDOR, T6_PROFILE_BUILTIN, 17},
        {"Intel(R) Corporation", 0x8086, "Intel(R) Arc(TM) A770 Graphics", "23.30", 1, T6_PROFILE_VENDOR,
         T6_PROFILE_BUILTIN, 16},
        /* an Intel CPU through Intel's runtime: the GPU default must not apply */
        {"Intel(R) Corporation", 0x8086, "Intel(R) Xeon(R) Gold 6348", "2023.16", 0, T6_PROFILE_BUILTIN,
         T6_PROFILE_BUILTIN, 0},
        {"AuthenticAMD", 0, "pthread-znver3-AMD EPYC 7763", "5.0", 0, T6_PROFILE_BUILTIN, T6_PROFILE_BUILTIN, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t6_device_info info = made_up(cases[i].vendor, cases[i].id, cases[i].name, cases[i].driver, cases[i].gpu);
        t6i_profile *profile = t6i_profile_select(&info, dir);
        const char *path = NULL;
        ck_assert_msg(t6i_profile_level(profile, T6_OP_DECODE, &path) == cases[i].decode,
                      "%s %s: decode level %s, expected %s (%s)", cases[i].name, cases[i].driver,
                      t6_profile_level_name(t6i_profile_level(profile, T6_OP_DECODE, NULL)),
                      t6_profile_level_name(cases[i].decode), path ? path : "no file");
        ck_assert_msg(t6i_profile_level(profile, T6_OP_PROJECTION, NULL) == cases[i].projection,
                      "%s %s: projection level %s", cases[i].name, cases[i].driver,
                      t6_profile_level_name(t6i_profile_level(profile, T6_OP_PROJECTION, NULL)));
        if (cases[i].tile) {
            t6i_shape shape = {{0}};
            t6i_params params;
            t6i_params_defaults(&info, T6_OP_DECODE, &params);
            ck_assert(t6i_profile_apply(profile, T6_OP_DECODE, &shape, &params));
            ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), cases[i].tile);
        } else {
            ck_assert_ptr_null(profile);
        }
        t6i_profile_free(profile);
    }
    t6t_remove_tree(temp_root);
}
END_TEST

START_TEST(stale_part_falls_back_with_a_warning)
{
    const char *dir = temp_dir();
    char device[512], parts[1024], text[4096];
    device_json(device, sizeof device, "amd", "amd/gfx1100", "3614.0", "gfx11", 1);
    /* decode tuned against other kernel sources; projection current */
    snprintf(parts, sizeof parts,
             "\"decode\":{\"kernel_hash\":\"0123456789abcdef\",\"buckets\":[{\"shape\":{},\"params\":"
             "{\"T6_DEC_TILE\":7}}]},");
    op_json(parts + strlen(parts), sizeof parts - strlen(parts), T6_OP_PROJECTION, true, "{}", "T6_PRJ_RW_COLS", 8);
    profile_json(text, sizeof text, true, device, parts);
    write_file(dir, "a.json", text);
    write_profile(dir, "b-generic.json", "amd", NULL, NULL, NULL, T6_OP_DECODE, "T6_DEC_TILE", 21);

    t6_device_info info = made_up("Advanced Micro Devices, Inc.", 0x1002, "gfx1100", "3614.0", 1);
    capture_warnings();
    t6i_profile *profile = t6i_profile_select(&info, dir);
    ck_assert_int_eq(t6i_profile_level(profile, T6_OP_PROJECTION, NULL), T6_PROFILE_EXACT);
    ck_assert_int_eq(t6i_profile_level(profile, T6_OP_DECODE, NULL), T6_PROFILE_VENDOR);
    ck_assert_msg(strstr(warnings, "0123456789abcdef") && strstr(warnings, "decode"), "warnings: %s", warnings);
    t6i_profile_free(profile);
    t6t_remove_tree(temp_root);
}
END_TEST

START_TEST(foreign_and_malformed_files_are_skipped)
{
    const char *dir = temp_dir();
    char device[512], part[512], text[4096];
    device_json(device, sizeof device, "intel", NULL, NULL, NULL, 1);
    op_json(part, sizeof part, T6_OP_DECODE, false, "{}", "T6_DEC_TILE", 9);
    /* another tool's file, a newer version of ours, a broken one: all found first (names sort before z) */
    write_file(dir, "a-clblast.json", "{\"kernel_family\":\"xgemm\",\"results\":[]}");
    snprintf(text, sizeof text,
             "{\"schema\":\"t6-profile\",\"schema_version\":2,\"tuned\":false,\"device\":%s,\"ops\":{%s}}", device,
             part);
    write_file(dir, "b-future.json", text);
    write_file(dir, "c-broken.json", "{\"schema\":\"t6-profile\",\"schema_version\":1,");
    profile_json(text, sizeof text, false, device, part);
    write_file(dir, "z-good.json", text);
    char path[600];
    snprintf(path, sizeof path, "%s/d-folder.json", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0); /* a folder named like a profile */
    snprintf(path, sizeof path, "%s/e-huge.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), (off_t)T6I_PROFILE_MAX_BYTES + 1), 0);
    fclose(f);

    t6_device_info info = made_up("Intel(R) Corporation", 0x8086, "Intel(R) Arc(TM) A770 Graphics", "1", 1);
    capture_warnings();
    t6i_profile *profile = t6i_profile_select(&info, dir);
    const char *served = NULL;
    ck_assert_int_eq(t6i_profile_level(profile, T6_OP_DECODE, &served), T6_PROFILE_VENDOR);
    ck_assert_msg(strstr(served, "z-good.json"), "served by %s", served);
    ck_assert_msg(strstr(warnings, "a-clblast.json"), "warnings: %s", warnings);
    ck_assert_msg(strstr(warnings, "schema version 2"), "warnings: %s", warnings);
    ck_assert_msg(strstr(warnings, "c-broken.json: not valid JSON"), "warnings: %s", warnings);
    ck_assert_msg(strstr(warnings, "size limit"), "warnings: %s", warnings);
    t6i_profile_free(profile);
    t6t_remove_tree(temp_root);
}
END_TEST

/* A FIFO named like a profile, in a folder of the search path, as an entry of it, or loaded explicitly, is
 * refused at once with a warning (before, open() waited for a writer: every t6_context_create hung). */
START_TEST(special_files_are_refused_without_blocking)
{
    alarm(120); /* a hang fails the test now instead of at Check's timeout */
    const char *dir = temp_dir();
    char path[600], search[1300];
    snprintf(path, sizeof path, "%s/evil.json", dir);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    write_profile(dir, "good.json", "intel", NULL, NULL, NULL, T6_OP_DECODE, "T6_DEC_TILE", 9);
    t6_device_info info = made_up("Intel(R) Corporation", 0x8086, "Intel(R) Arc(TM) A770 Graphics", "1", 1);
    snprintf(search, sizeof search, "%s:%s", dir, path);
    capture_warnings();
    t6i_profile *profile = t6i_profile_select(&info, search);
    ck_assert_int_eq(t6i_profile_level(profile, T6_OP_DECODE, NULL), T6_PROFILE_VENDOR);
    ck_assert_msg(strstr(warnings, "evil.json is not a regular file (a FIFO)"), "warnings: %s", warnings);
    t6i_profile_free(profile);

    setenv("T6_PROFILE_PATH", dir, 1);
    t6_context *ctx = t6t_context();
    T6T_STATUS(ctx, T6_ERROR_IO, t6_context_load_profile(ctx, path));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "a FIFO"), "%s", t6_context_last_error(ctx));
    t6_context_destroy(ctx);
    unsetenv("T6_PROFILE_PATH");
    alarm(0);
    t6t_remove_tree(temp_root);
}
END_TEST

/* Every way a file can be wrong: each must be refused (T6_ERROR_FORMAT) or read with its bad bucket dropped,
 * never crash or read out of bounds (the sanitizer build runs this too). */
START_TEST(hostile_inputs)
{
    static const char *const refused[] = {
        "",
        "null",
        "[]",
        "\"t6-profile\"",
        "{}",
        "{\"schema\":\"t6-profile\"}",
        "{\"schema\":\"t6-profile\",\"schema_version\":\"1\",\"tuned\":true,\"device\":{},\"ops\":{}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1.5,\"tuned\":true,\"device\":{},\"ops\":{}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1e999,\"tuned\":true,\"device\":{},\"ops\":{}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":1,\"device\":{},\"ops\":{}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":[],\"ops\":{}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":7},"
        "\"ops\":{}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"\"},"
        "\"ops\":{}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":true,\"device\":{\"normalized_vendor\":\"x\"},"
        "\"ops\":{}}", /* tuned but no identity */
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true,\"compute_units\":\"many\"},\"ops\":{}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":[]}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":{}}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":[7]}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":[{\"shape\":{},\"params\":{\"T6_DEC_TILE\":"
        "\"32\"}}]}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":[{\"shape\":{},\"params\":{\"T6_DEC_TILE\":"
        "1e300}}]}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":[{\"shape\":{\"length\":-5},\"params\":{}}]}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":[{\"shape\":{\"dtype\":\"f64\"},\"params\":{}}]}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":[{\"shape\":{},\"params\":{\"T6_DEC_TILE\":8,"
        "\"T6_DEC_TILE\":9}}]}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":true,\"device\":{\"normalized_vendor\":\"x\","
        "\"identity\":\"x/y\"},\"ops\":{\"decode\":{\"kernel_hash\":\"zz\",\"buckets\":[]}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":[]},\"decode\":{\"buckets\":[]}}}",
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":[{\"shape\":{},\"params\":{},\"results\":5}]}}}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        t6i_profile_file *file = NULL;
        t6_status status = t6i_profile_parse(refused[i], strlen(refused[i]), "hostile", &file);
        ck_assert_msg(status == T6_ERROR_FORMAT, "input %zu was accepted: %s", i, refused[i]);
        ck_assert_ptr_null(file);
        ck_assert_msg(strstr(t6_context_last_error(NULL), "hostile"), "message: %s", t6_context_last_error(NULL));
    }

    /* A bucket with an out-of-range value or an unknown shape feature is dropped; the file stays. */
    const char *dropped = "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":"
                          "{\"normalized_vendor\":\"x\",\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":["
                          "{\"shape\":{},\"params\":{\"T6_DEC_TILE\":100000}},"
                          "{\"shape\":{\"warp\":32},\"params\":{\"T6_DEC_TILE\":8}},"
                          "{\"shape\":{},\"params\":{\"T6_DEC_TILE\":8,\"T6_NO_SUCH\":3}}]},"
                          "\"no_such_op\":{}}}";
    t6i_profile_file *file = NULL;
    ck_assert_int_eq(t6i_profile_parse(dropped, strlen(dropped), "dropped", &file), T6_SUCCESS);
    ck_assert_int_eq(file->ops[T6_OP_DECODE].bucket_count, 1);
    ck_assert_int_eq(file->ops[T6_OP_DECODE].buckets[0].count, 1);
    t6i_profile_file_free(file);

    /* Nesting deeper than the parser allows, and bytes that are not text at all. */
    enum { DEPTH = 100000 };
    char *deep = malloc(2 * DEPTH + 1);
    ck_assert_ptr_nonnull(deep);
    memset(deep, '[', DEPTH);
    memset(deep + DEPTH, ']', DEPTH);
    deep[2 * DEPTH] = '\0';
    ck_assert_int_eq(t6i_profile_parse(deep, 2 * DEPTH, "deep", &file), T6_ERROR_FORMAT);
    free(deep);
    t6i_rng rng = t6t_rng_make(41);
    char noise[4096];
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(t6i_uniform(&rng) * sizeof noise);
        for (size_t i = 0; i < n; i++) noise[i] = (char)(t6i_uniform(&rng) * 256);
        if (t6i_profile_parse(noise, n, "noise", &file) == T6_SUCCESS) t6i_profile_file_free(file);
    }
    /* Not NUL-terminated: the parser must stop at the length it was given. */
    const char *good = "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":"
                       "{\"normalized_vendor\":\"x\",\"vendor_default\":true},\"ops\":{}}";
    char *exact = malloc(strlen(good));
    memcpy(exact, good, strlen(good));
    ck_assert_int_eq(t6i_profile_parse(exact, strlen(good), "exact", &file), T6_SUCCESS);
    t6i_profile_file_free(file);
    free(exact);
}
END_TEST

/* Every prefix of a real profile (a disk that filled up, a download cut short) is refused cleanly. */
START_TEST(truncated_files)
{
    char device[512], parts[2048], part[512], text[4096];
    device_json(device, sizeof device, "nvidia", "nvidia/NVIDIA H100 80GB HBM3", "550.54", "sm_90", 1);
    op_json(parts, sizeof parts, T6_OP_DECODE, true, "{\"heads\":47,\"dtype\":\"f16\",\"length\":32768}", "T6_DEC_TILE",
            16);
    op_json(part, sizeof part, T6_OP_PROJECTION, true, "{\"rows\":1}", "T6_PRJ_RW_COLS", 8);
    strcat(parts, ",");
    strcat(parts, part);
    profile_json(text, sizeof text, true, device, parts);
    size_t n = strlen(text);
    t6i_profile_file *file = NULL;
    ck_assert_int_eq(t6i_profile_parse(text, n, "whole", &file), T6_SUCCESS);
    ck_assert(!file->ops[T6_OP_DECODE].stale);
    ck_assert(file->ops[T6_OP_DECODE].buckets[0].has[T6I_F_LENGTH]);
    ck_assert_int_eq(file->ops[T6_OP_DECODE].buckets[0].feature[T6I_F_DTYPE], T6_F16);
    t6i_profile_file_free(file);
    for (size_t cut = 0; cut < n; cut++) {
        char *prefix = malloc(cut ? cut : 1);
        memcpy(prefix, text, cut);
        ck_assert_msg(t6i_profile_parse(prefix, cut, "cut", &file) == T6_ERROR_FORMAT, "prefix of %zu accepted",
                      cut);
        free(prefix);
    }
}
END_TEST

/* ---- buckets ---- */

START_TEST(nearest_bucket)
{
    const char *text =
        "{\"schema\":\"t6-profile\",\"schema_version\":1,\"tuned\":false,\"device\":{\"normalized_vendor\":\"x\","
        "\"vendor_default\":true},\"ops\":{\"decode\":{\"buckets\":["
        "{\"shape\":{\"head_dim\":64,\"dtype\":\"f16\",\"length\":1024,\"batch\":8},\"params\":{\"T6_DEC_TILE\":1}},"
        "{\"shape\":{\"head_dim\":64,\"dtype\":\"f16\",\"length\":32768,\"batch\":1},\"params\":{\"T6_DEC_TILE\":2}},"
        "{\"shape\":{\"head_dim\":128,\"dtype\":\"f16\",\"length\":4096,\"batch\":1},\"params\":{\"T6_DEC_TILE\":3}},"
        "{\"shape\":{\"head_dim\":64,\"dtype\":\"f32\",\"length\":4096,\"batch\":1},\"params\":{\"T6_DEC_TILE\":4}}"
        "]}}}";
    t6i_profile_file *file = NULL;
    ck_assert_int_eq(t6i_profile_parse(text, strlen(text), "buckets", &file), T6_SUCCESS);
    static const struct {
        long long head_dim, dtype, length, batch;
        int tile;
    } cases[] = {
        {64, T6_F16, 1024, 8, 1},   {64, T6_F16, 2000, 8, 1}, {64, T6_F16, 20000, 1, 2},
        /* 4096 is 2 steps from 1024 but batch 1 is 3 from 8: the 32768 bucket (3 steps) is nearer; the
         * head_dim-128 bucket at exactly 4096 never wins for head_dim 64 */
        {64, T6_F16, 4096, 1, 2},   {128, T6_F16, 100000, 1, 3}, {128, T6_F32, 4096, 1, 3},
        /* f32 is dtype 0: still compared, so the f32 bucket serves f32 calls */
        {64, T6_F32, 100, 1, 4},    {64, T6_BF16, 1024, 8, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t6i_shape shape = {{0}};
        shape.f[T6I_F_HEAD_DIM] = cases[i].head_dim;
        shape.f[T6I_F_DTYPE] = cases[i].dtype;
        shape.f[T6I_F_LENGTH] = cases[i].length;
        shape.f[T6I_F_BATCH] = cases[i].batch;
        shape.f[T6I_F_HEADS] = 47; /* named by no bucket: ignored */
        const t6i_profile_bucket *b = t6i_profile_nearest(&file->ops[T6_OP_DECODE], &shape);
        ck_assert_ptr_nonnull(b);
        ck_assert_msg(b->value[0] == cases[i].tile, "case %zu: bucket with TILE=%d, expected %d", i, b->value[0],
                      cases[i].tile);
    }
    t6i_profile_file_free(file);
}
END_TEST

/* ---- with a real context ---- */

/* A tuned profile of the test device itself (exact level) with the op parts `ops`. */
static void write_own_profile_ops(const char *dir, const char *name, const char *ops)
{
    t6_device_info info = T6_DEVICE_INFO_INIT;
    ck_assert_int_eq(t6_device_describe(0, &info), T6_SUCCESS);
    const char *selector = getenv("T6_DEVICE");
    if (selector && *selector) {
        t6_context *ctx = t6t_context();
        t6_context_device_info(ctx, &info);
        t6_context_destroy(ctx);
    }
    char device[1024], text[8192];
    device_json(device, sizeof device, info.normalized_vendor, info.identity, info.driver_version, info.family,
                info.is_gpu);
    profile_json(text, sizeof text, true, device, ops);
    write_file(dir, name, text);
}

/* A profile of the test device itself, exact level, one decode bucket. */
static void write_own_profile(const char *dir, const char *name, int tile, int wg)
{
    char part[512];
    snprintf(part, sizeof part,
             "\"decode\":{\"kernel_hash\":\"%s\",\"buckets\":[{\"shape\":{\"head_dim\":32},\"params\":"
             "{\"T6_DEC_TILE\":%d,\"T6_DEC_WG_SIZE\":%d}}]}",
             hash_of(T6_OP_DECODE), tile, wg);
    write_own_profile_ops(dir, name, part);
}

START_TEST(context_finds_profiles_and_explicit_params_win)
{
    const char *dir = temp_dir();
    write_own_profile(dir, "own.json", 8, 64);
    setenv("T6_PROFILE_PATH", dir, 1);
    t6_context *ctx = t6t_context();
    t6_profile_level level = T6_PROFILE_BUILTIN;
    char path[512];
    T6T_OK(ctx, t6_context_profile(ctx, T6_OP_DECODE, &level, path, sizeof path));
    ck_assert_int_eq(level, T6_PROFILE_EXACT);
    ck_assert_msg(strstr(path, "own.json"), "path %s", path);
    T6T_OK(ctx, t6_context_profile(ctx, T6_OP_MHA_DECODE, &level, NULL, 0));

    t6i_shape shape = {{0}};
    shape.f[T6I_F_HEAD_DIM] = 32;
    t6i_params params;
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), 8);
    ck_assert_int_eq(param_value(&params, "T6_DEC_WG_SIZE"), 64);
    ck_assert_int_eq(param_value(&params, "T6_DEC_VECTOR"), default_of(T6_OP_DECODE, "T6_DEC_VECTOR"));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_TILE", 16));
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), 16);
    ck_assert_int_eq(param_value(&params, "T6_DEC_WG_SIZE"), 64);
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_DECODE));
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), 8);

    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_profile(ctx, T6_OP_COUNT, &level, NULL, 0));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_profile(ctx, T6_OP_DECODE, NULL, NULL, 0));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_profile(ctx, T6_OP_DECODE, &level, NULL, 8));
    t6_context_destroy(ctx);

    /* The user folder ($XDG_CONFIG_HOME/t6/profiles) is searched too. */
    unsetenv("T6_PROFILE_PATH");
    char xdg[512], folder[600];
    snprintf(xdg, sizeof xdg, "%s/config", dir);
    snprintf(folder, sizeof folder, "%s/t6", xdg);
    mkdir(xdg, 0755);
    mkdir(folder, 0755);
    snprintf(folder, sizeof folder, "%s/t6/profiles", xdg);
    mkdir(folder, 0755);
    write_own_profile(folder, "user.json", 4, 128);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    ctx = t6t_context();
    T6T_OK(ctx, t6_context_profile(ctx, T6_OP_DECODE, &level, path, sizeof path));
    ck_assert_int_eq(level, T6_PROFILE_EXACT);
    ck_assert_msg(strstr(path, "user.json"), "path %s", path);
    t6_context_destroy(ctx);
    unsetenv("XDG_CONFIG_HOME");
    t6t_remove_tree(temp_root);
}
END_TEST

START_TEST(load_profile_explicitly)
{
    const char *dir = temp_dir();
    setenv("T6_PROFILE_PATH", dir, 1);
    t6_context *ctx = t6t_context();
    char path[512];
    snprintf(path, sizeof path, "%s/missing.json", dir);
    T6T_STATUS(ctx, T6_ERROR_IO, t6_context_load_profile(ctx, path));
    write_file(dir, "broken.txt", "{\"schema\":");
    snprintf(path, sizeof path, "%s/broken.txt", dir);
    T6T_STATUS(ctx, T6_ERROR_FORMAT, t6_context_load_profile(ctx, path));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "broken.txt"), "%s", t6_context_last_error(ctx));

    /* stale for every op it has */
    char device[512], text[4096];
    device_json(device, sizeof device, "amd", "amd/gfx1100", "1", "gfx11", 1);
    profile_json(text, sizeof text, true, device,
                 "\"decode\":{\"kernel_hash\":\"0000000000000000\",\"buckets\":[{\"shape\":{},\"params\":{}}]}");
    write_file(dir, "stale.txt", text);
    snprintf(path, sizeof path, "%s/stale.txt", dir);
    T6T_STATUS(ctx, T6_ERROR_FORMAT, t6_context_load_profile(ctx, path));

    /* another device's profile, loaded on purpose: used, with a warning */
    write_profile(dir, "other.txt", "amd", "amd/gfx1100", "1", "gfx11", T6_OP_DECODE, "T6_DEC_TILE", 4);
    snprintf(path, sizeof path, "%s/other.txt", dir);
    capture_warnings();
    T6T_OK(ctx, t6_context_load_profile(ctx, path));
    ck_assert_msg(strstr(warnings, "not this device"), "warnings: %s", warnings);
    t6_profile_level level = T6_PROFILE_BUILTIN;
    char served[512];
    T6T_OK(ctx, t6_context_profile(ctx, T6_OP_DECODE, &level, served, sizeof served));
    ck_assert_int_eq(level, T6_PROFILE_EXPLICIT);
    ck_assert_str_eq(served, path);
    t6i_shape shape = {{0}};
    t6i_params params;
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), 4);
    /* a later explicit load replaces the earlier one */
    write_profile(dir, "again.txt", "amd", "amd/gfx1100", "1", "gfx11", T6_OP_DECODE, "T6_DEC_TILE", 2);
    snprintf(path, sizeof path, "%s/again.txt", dir);
    T6T_OK(ctx, t6_context_load_profile(ctx, path));
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), 2);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_load_profile(ctx, NULL));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_context_load_profile(NULL, path));
    t6_context_destroy(ctx);
    unsetenv("T6_PROFILE_PATH");
    t6t_remove_tree(temp_root);
}
END_TEST

/* A decode on `ctx` (H=3, D=32, ranks 2/1/2, 37 positions) against the reference. */
static void decode_matches_the_reference(t6_context *ctx, const char *what)
{
    enum { H = 3, D = 32, RQ = 2, RK = 1, RV = 2, LENGTH = 37 };
    t6_cache_config cc = {sizeof(t6_cache_config), H, D, RK, RV, 1, LENGTH, T6_F32};
    t6_cache *cache = NULL;
    T6T_OK(ctx, t6_cache_create(ctx, &cc, &cache));
    t6i_rng rng = t6t_rng_make(7);
    double *factors[4];
    for (int f = 0; f < 4; f++) {
        size_t n = (size_t)LENGTH * t6_cache_factor_size(&cc, (t6_cache_factor)f);
        float *values = malloc(n * sizeof *values);
        t6i_fill_normal(&rng, values, n, 1.0);
        T6T_OK(ctx, t6_cache_write(cache, (t6_cache_factor)f, 0, 0, LENGTH, values));
        factors[f] = t6t_to_double(values, n);
        free(values);
    }
    float query[H * RQ + RQ * D], out[H * D];
    t6i_fill_normal(&rng, query, sizeof query / sizeof query[0], 1.0);
    cl_mem q = NULL, o = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, sizeof query / sizeof query[0], &q));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, H * D, &o));
    T6T_OK(ctx, t6_buffer_upload(ctx, q, T6_F32, 0, sizeof query / sizeof query[0], query));
    int slot = 0, length = LENGTH;
    T6T_OK(ctx, t6_attention_decode(cache, RQ, 1, &slot, &length, q, 0, o, 0, NULL));
    T6T_OK(ctx, t6_buffer_download(ctx, o, T6_F32, 0, H * D, out));
    double *qd = t6t_to_double(query, sizeof query / sizeof query[0]), ref[H * D];
    t6_ref_shape rs = {H, D, RQ, RK, RV};
    T6T_OK(NULL, t6_ref_decode(&rs, NULL, LENGTH, qd, qd + H * RQ, factors[0], factors[2], factors[1], factors[3], ref));
    T6T_CLOSE(out, ref, H * D, 1e-4, what);
    free(qd);
    for (int f = 0; f < 4; f++) free(factors[f]);
    clReleaseMemObject(q);
    clReleaseMemObject(o);
    t6_cache_destroy(cache);
}

/* A decode through a context whose profile sets its tunables gives the reference's result: the library
 * built the kernel with the profile's values. */
START_TEST(profiled_decode_matches_the_reference)
{
    const char *dir = temp_dir();
    write_own_profile(dir, "own.json", 8, 64);
    setenv("T6_PROFILE_PATH", dir, 1);
    t6_context *ctx = t6t_context();
    decode_matches_the_reference(ctx, "decode with profiled parameters");
    t6_context_destroy(ctx);
    unsetenv("T6_PROFILE_PATH");
    t6t_remove_tree(temp_root);
}
END_TEST

/* ---- values an op refuses ---- */

/* A bucket whose values are in their table's ranges but that the op refuses (an enumerated value it does not
 * take, tiles that do not divide, a group over the device's limit) is dropped when the file loads, with a
 * warning naming the file, the bucket and the parameter; the file's other buckets stay. */
START_TEST(refused_values_skip_their_bucket)
{
    const char *dir = temp_dir();
    char device[512], text[8192];
    device_json(device, sizeof device, "amd", NULL, NULL, NULL, 1);
    const char *ops =
        "\"decode\":{\"buckets\":["
        "{\"name\":\"good\",\"shape\":{\"head_dim\":64},\"params\":{\"T6_DEC_TILE\":8}},"
        "{\"name\":\"vector 3\",\"shape\":{\"head_dim\":32},\"params\":{\"T6_DEC_VECTOR\":3}},"
        "{\"name\":\"wide\",\"shape\":{\"head_dim\":32},\"params\":{\"T6_DEC_WG_SIZE\":1024}}]},"
        "\"prefill\":{\"buckets\":[{\"name\":\"pre\",\"shape\":{},\"params\":{\"T6_PRE_VECTOR\":3}}]},"
        "\"projection\":{\"buckets\":["
        "{\"name\":\"cols\",\"shape\":{\"rows\":1},\"params\":{\"T6_PRJ_RW_COLS\":3}},"
        "{\"name\":\"vw\",\"shape\":{\"rows\":1},\"params\":{\"T6_PRJ_RW_VW\":3}},"
        "{\"name\":\"kwg\",\"shape\":{\"rows\":1},\"params\":{\"T6_PRJ_KWG\":9}},"
        "{\"name\":\"vwm\",\"shape\":{\"rows\":1},\"params\":{\"T6_PRJ_VWM\":3}},"
        "{\"name\":\"mwg\",\"shape\":{\"rows\":1},\"params\":{\"T6_PRJ_MWG\":9,\"T6_PRJ_MDIMC\":3}},"
        "{\"name\":\"fine\",\"shape\":{\"rows\":512},\"params\":{\"T6_PRJ_RW_COLS\":8}}]}";
    profile_json(text, sizeof text, false, device, ops);
    write_file(dir, "amd-bad.json", text);

    t6_device_info info = made_up("Advanced Micro Devices, Inc.", 0x1002, "gfx90a", "3614.0", 1);
    info.max_work_group_size = 256;
    info.local_mem_bytes = 65536;
    capture_warnings();
    t6i_profile *profile = t6i_profile_select(&info, dir);
    static const char *const expected[][2] = {
        {"\"decode\".\"buckets\"[1] (\"vector 3\")", "T6_DEC_VECTOR=3 must be 1, 2, 4 or 8"},
        {"\"decode\".\"buckets\"[2] (\"wide\")", "T6_DEC_WG_SIZE=1024 is over the device's 256"},
        {"\"prefill\".\"buckets\"[0] (\"pre\")", "T6_PRE_VECTOR=3"},
        {"\"projection\".\"buckets\"[0] (\"cols\")", "T6_PRJ_RW_COLS=3"},
        {"\"projection\".\"buckets\"[1] (\"vw\")", "T6_PRJ_RW_VW=3"},
        {"\"projection\".\"buckets\"[2] (\"kwg\")", "T6_PRJ_KWG=9"},
        {"\"projection\".\"buckets\"[3] (\"vwm\")", "T6_PRJ_VWM=3"},
        {"\"projection\".\"buckets\"[4] (\"mwg\")", "T6_PRJ_MWG=9"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, "amd-bad.json: \"ops\".%s: %s", expected[i][0], expected[i][1]);
        ck_assert_msg(strstr(warnings, line), "no warning \"%s\" in:\n%s", line, warnings);
    }
    ck_assert_msg(!strstr(warnings, "good") && !strstr(warnings, "fine"), "warnings: %s", warnings);
    /* decode and projection keep their good bucket; prefill has none left and runs the defaults */
    ck_assert_int_eq(t6i_profile_level(profile, T6_OP_DECODE, NULL), T6_PROFILE_VENDOR);
    ck_assert_int_eq(t6i_profile_level(profile, T6_OP_PROJECTION, NULL), T6_PROFILE_VENDOR);
    ck_assert_int_eq(t6i_profile_level(profile, T6_OP_PREFILL, NULL), T6_PROFILE_BUILTIN);
    t6i_shape shape = {{0}};
    shape.f[T6I_F_HEAD_DIM] = 32;
    t6i_params params;
    t6i_params_defaults(&info, T6_OP_DECODE, &params);
    ck_assert(t6i_profile_apply(profile, T6_OP_DECODE, &shape, &params));
    ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), 8);
    ck_assert_int_eq(param_value(&params, "T6_DEC_VECTOR"), default_of(T6_OP_DECODE, "T6_DEC_VECTOR"));
    t6i_profile_free(profile);
    t6t_remove_tree(temp_root);
}
END_TEST

/* The same with a real context: a refused value in a profile of this device, found by the search in
 * T6_PROFILE_PATH or in the user folder, or loaded explicitly, leaves the op working (before, every decode
 * failed with T6_ERROR_INVALID_PARAMS). */
START_TEST(refused_profile_value_leaves_the_op_working)
{
    const char *dir = temp_dir();
    char part[512];
    snprintf(part, sizeof part,
             "\"decode\":{\"kernel_hash\":\"%s\",\"buckets\":[{\"name\":\"hand-edited\",\"shape\":"
             "{\"head_dim\":32},\"params\":{\"T6_DEC_VECTOR\":3}}]}",
             hash_of(T6_OP_DECODE));
    write_own_profile_ops(dir, "bad.json", part);
    setenv("T6_PROFILE_PATH", dir, 1);
    capture_warnings();
    t6_context *ctx = t6t_context();
    ck_assert_msg(strstr(warnings, "bad.json: \"ops\".\"decode\".\"buckets\"[0] (\"hand-edited\"): T6_DEC_VECTOR=3"),
                  "warnings: %s", warnings);
    decode_matches_the_reference(ctx, "decode beside a refused profile (T6_PROFILE_PATH)");
    char path[600];
    snprintf(path, sizeof path, "%s/bad.json", dir);
    T6T_STATUS(ctx, T6_ERROR_FORMAT, t6_context_load_profile(ctx, path)); /* nothing usable in it */
    decode_matches_the_reference(ctx, "decode after an explicit load of the refused profile");
    t6_context_destroy(ctx);
    unsetenv("T6_PROFILE_PATH");

    char xdg[512], folder[600];
    snprintf(xdg, sizeof xdg, "%s/config", dir);
    mkdir(xdg, 0755);
    snprintf(folder, sizeof folder, "%s/t6", xdg);
    mkdir(folder, 0755);
    snprintf(folder, sizeof folder, "%s/t6/profiles", xdg);
    mkdir(folder, 0755);
    write_own_profile_ops(folder, "user.json", part);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    ctx = t6t_context();
    decode_matches_the_reference(ctx, "decode beside a refused profile (user folder)");
    t6_context_destroy(ctx);
    unsetenv("XDG_CONFIG_HOME");
    t6t_remove_tree(temp_root);
}
END_TEST

/* A projection layer (C=64, H=4, D=32, ranks 1/1/1: 108 packed columns in 128 padded rows) and three rows
 * through it on `ctx`, against the reference. Returns the call's status; compares only on success. */
static t6_status project_three_rows(t6_context *ctx, const char *what)
{
    enum { C = 64, H = 4, D = 32, ROWS = 3 };
    const t6_layer_config config = {sizeof(t6_layer_config), C, H, D, 1, 1, 1, T6_ROPE_HALF, 10000.0f, T6_F32};
    const int sizes[6] = {H, H, H, D, D, D};
    t6i_rng rng = t6t_rng_make(13);
    float *w[6];
    double *wd[6], *ref[6];
    for (int f = 0; f < 6; f++) {
        w[f] = malloc((size_t)sizes[f] * C * sizeof *w[f]);
        t6i_fill_normal(&rng, w[f], (size_t)sizes[f] * C, 0.1);
        wd[f] = t6t_to_double(w[f], (size_t)sizes[f] * C);
        ref[f] = malloc((size_t)ROWS * (size_t)sizes[f] * sizeof *ref[f]);
    }
    float hidden[ROWS * C];
    t6i_fill_normal(&rng, hidden, ROWS * C, 1.0);
    double *hd = t6t_to_double(hidden, ROWS * C);
    const t6_layer_weights host = {w[0], w[1], w[2], w[3], w[4], w[5]};
    t6_layer *layer = NULL;
    t6_cache *cache = NULL;
    T6T_OK(ctx, t6_layer_create(ctx, &config, &host, &layer));
    const t6_cache_config cc = {sizeof(t6_cache_config), H, D, 1, 1, 1, 16, T6_F32};
    T6T_OK(ctx, t6_cache_create(ctx, &cc, &cache));
    const size_t row = t6_query_row_size(&config);
    cl_mem hidden_buffer = NULL, query = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, ROWS * C, &hidden_buffer));
    T6T_OK(ctx, t6_buffer_upload(ctx, hidden_buffer, T6_F32, 0, ROWS * C, hidden));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, ROWS * row, &query));
    const int slots[ROWS] = {0, 0, 0}, positions[ROWS] = {0, 1, 2};
    t6_status status = t6_project(layer, cache, ROWS, hidden_buffer, 0, slots, positions, query, 0, NULL);
    if (status == T6_SUCCESS) {
        float got[ROWS * (H + D)];
        T6T_OK(ctx, t6_buffer_download(ctx, query, T6_F32, 0, ROWS * row, got));
        const double *const weights[6] = {wd[0], wd[1], wd[2], wd[3], wd[4], wd[5]};
        T6T_OK(NULL, t6_ref_project(&config, weights, ROWS, hd, positions, ref[0], ref[3], ref[1], ref[4], ref[2],
                                    ref[5]));
        for (int r = 0; r < ROWS; r++) {
            T6T_CLOSE(got + r * row, ref[0] + r * H, H, 1e-4, what);
            T6T_CLOSE(got + r * row + H, ref[3] + r * D, D, 1e-4, what);
        }
    }
    clReleaseMemObject(hidden_buffer);
    clReleaseMemObject(query);
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    for (int f = 0; f < 6; f++) {
        free(w[f]);
        free(wd[f]);
        free(ref[f]);
    }
    free(hd);
    return status;
}

/* Values every check passes can still fail for a call's shape (here the tiles kernel's 96-column tiles run past
 * a layer's 128 padded rows) or in the driver's compiler: the call falls back to the level below, in the end the
 * built-in defaults, logs it once, and later calls skip the bucket. It fails only when the defaults fail too. */
START_TEST(failing_profile_values_fall_back_at_run_time)
{
    const char *dir = temp_dir();
    char part[512];
    snprintf(part, sizeof part,
             "\"projection\":{\"kernel_hash\":\"%s\",\"buckets\":[{\"name\":\"wide tiles\",\"shape\":{},"
             "\"params\":{\"T6_PRJ_ROWS_MAX\":0,\"T6_PRJ_NWG\":96,\"T6_PRJ_NDIMC\":16,\"T6_PRJ_VWN\":2}}]}",
             hash_of(T6_OP_PROJECTION));
    write_own_profile_ops(dir, "tiles.json", part);
    char path[600];
    snprintf(path, sizeof path, "%s/tiles.json", dir);
    t6_context *ctx = t6t_context();
    capture_warnings();
    T6T_OK(ctx, t6_context_load_profile(ctx, path));
    ck_assert_msg(warnings[0] == '\0', "the bucket passes every check when it loads: %s", warnings);
    T6T_OK(ctx, project_three_rows(ctx, "projection after the profile's values failed"));
    ck_assert_msg(strstr(warnings, "tiles.json") && strstr(warnings, "\"wide tiles\"") &&
                      strstr(warnings, "T6_PRJ_NWG=96"),
                  "warnings: %s", warnings);
    capture_warnings();
    T6T_OK(ctx, project_three_rows(ctx, "projection again"));
    ck_assert_msg(warnings[0] == '\0', "the failed bucket was tried again: %s", warnings);

    /* The same values set explicitly fail at every level: the call fails, naming the parameter. */
    static const struct {
        const char *name;
        int value;
    } values[] = {{"T6_PRJ_ROWS_MAX", 0}, {"T6_PRJ_NWG", 96}, {"T6_PRJ_NDIMC", 16}, {"T6_PRJ_VWN", 2}};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_PROJECTION, values[i].name, values[i].value));
    T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS, project_three_rows(ctx, "projection with explicit values"));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "T6_PRJ_NWG=96"), "%s", t6_context_last_error(ctx));
    t6_context_destroy(ctx);
    t6t_remove_tree(temp_root);
}
END_TEST

/* ---- configurations recorded as wrong ---- */

/* A decode part whose bucket "b" records `config` as wrong (and another configuration as right), with its own
 * values `params` and kernel hash `hash`. */
static void wrong_part(char *buf, size_t cap, const char *hash, const char *params, const char *config)
{
    snprintf(buf, cap,
             "\"decode\":{\"kernel_hash\":\"%s\",\"buckets\":[{\"name\":\"b\",\"shape\":{\"head_dim\":32},"
             "\"params\":{%s},\"results\":[{\"config\":\"T6_DEC_KERNEL=1 T6_DEC_TILE=16\",\"status\":\"ok\","
             "\"median_ns\":1000,\"spread\":0.01},{\"config\":\"%s\",\"status\":\"wrong\",\"message\":"
             "\"output: relative error 0.191 > 0.0001 (strict)\"}]}]}",
             hash, params, config);
}

static bool decode_known_wrong(const t6i_profile *profile, const t6_device_info *info, int kernel, int tile,
                               char *why, size_t cap)
{
    t6i_params params;
    t6i_params_defaults(info, T6_OP_DECODE, &params);
    for (int i = 0; i < params.count; i++) {
        if (strcmp(params.defs[i].name, "T6_DEC_KERNEL") == 0) params.values[i] = kernel;
        if (strcmp(params.defs[i].name, "T6_DEC_TILE") == 0) params.values[i] = tile;
    }
    return t6i_profile_known_wrong(profile, &params, why, cap);
}

/* What t6-tune recorded as wrong counts on its own device and driver only (another driver may compile the
 * kernel differently), in parts that are not stale (the record is about those sources), whether or not the file
 * serves the op; records of tunables this library lacks are passed over with a warning, a malformed entry
 * rejects the file. */
START_TEST(known_wrong_records_count_on_their_driver)
{
    const char *dir = temp_dir();
    char device[512], part[1024], text[4096];
    device_json(device, sizeof device, "nvidia", "nvidia/NVIDIA H100 80GB HBM3", "550.54", "sm_90", 1);
    wrong_part(part, sizeof part, hash_of(T6_OP_DECODE), "\"T6_DEC_TILE\":16", "T6_DEC_KERNEL=1 T6_DEC_TILE=8");
    profile_json(text, sizeof text, true, device, part);
    write_file(dir, "a-h100.json", text);
    /* a stale part of the same device, and a record that names a tunable no op has */
    wrong_part(part, sizeof part, "0123456789abcdef", "\"T6_DEC_TILE\":16", "T6_DEC_KERNEL=1 T6_DEC_TILE=4");
    profile_json(text, sizeof text, true, device, part);
    write_file(dir, "b-h100-stale.json", text);
    wrong_part(part, sizeof part, hash_of(T6_OP_DECODE), "\"T6_DEC_TILE\":16", "T6_DEC_KERNEL=1 T6_DEC_NOPE=2");
    profile_json(text, sizeof text, true, device, part);
    write_file(dir, "c-h100-unknown.json", text);

    capture_warnings();
    t6_device_info info = made_up("NVIDIA Corporation", 0x10DE, "NVIDIA H100 80GB HBM3", "550.54", 1);
    t6i_profile *profile = t6i_profile_select(&info, dir);
    char why[512];
    ck_assert(decode_known_wrong(profile, &info, 1, 8, why, sizeof why));
    ck_assert_msg(strstr(why, "T6_DEC_KERNEL=1 T6_DEC_TILE=8 computed wrong results on this device and driver") &&
                      strstr(why, "a-h100.json, bucket [0] \"b\": output: relative error 0.191"),
                  "%s", why);
    ck_assert(!decode_known_wrong(profile, &info, 1, 16, why, sizeof why)); /* recorded as right */
    ck_assert(!decode_known_wrong(profile, &info, 2, 8, why, sizeof why));  /* another kernel */
    ck_assert(!decode_known_wrong(profile, &info, 1, 4, why, sizeof why));  /* stale: other sources */
    ck_assert_msg(strstr(warnings, "c-h100-unknown.json") && strstr(warnings, "T6_DEC_NOPE=2"), "%s", warnings);
    t6i_profile_free(profile);

    info = made_up("NVIDIA Corporation", 0x10DE, "NVIDIA H100 80GB HBM3", "560.01", 1);
    profile = t6i_profile_select(&info, dir);
    ck_assert_int_eq(t6i_profile_level(profile, T6_OP_DECODE, NULL), T6_PROFILE_NAME);
    ck_assert(!decode_known_wrong(profile, &info, 1, 8, why, sizeof why));
    t6i_profile_free(profile);

    /* A "results" entry that is not an object, or a "wrong" one without its configuration: the file is rejected. */
    static const char *const malformed[] = {"[1]", "[{\"status\":\"wrong\"}]", "[{\"status\":7}]"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        snprintf(part, sizeof part,
                 "\"decode\":{\"kernel_hash\":\"%s\",\"buckets\":[{\"shape\":{},\"params\":{},\"results\":%s}]}",
                 hash_of(T6_OP_DECODE), malformed[i]);
        profile_json(text, sizeof text, true, device, part);
        t6i_profile_file *file = NULL;
        T6T_STATUS(NULL, T6_ERROR_FORMAT, t6i_profile_parse(text, strlen(text), "malformed.json", &file));
        ck_assert_msg(strstr(t6_context_last_error(NULL), "\"results\"[0]"), "%s", t6_context_last_error(NULL));
    }
    t6t_remove_tree(temp_root);
}
END_TEST

/* With a real context: a profile of this device and driver that records T6_DEC_KERNEL=1 T6_DEC_TILE=8 as
 * computing wrong results. Its bucket, hand-edited to those values, gives way to the built-in defaults; the same
 * values set explicitly are refused at plan time with a message naming the record, their neighbour runs; with the
 * refusal off (t6-tune's workers) they run. */
START_TEST(known_wrong_values_are_never_run)
{
    const char *dir = temp_dir();
    char part[1024];
    wrong_part(part, sizeof part, hash_of(T6_OP_DECODE), "\"T6_DEC_KERNEL\":1,\"T6_DEC_TILE\":8",
               "T6_DEC_KERNEL=1 T6_DEC_TILE=8");
    write_own_profile_ops(dir, "own.json", part);
    setenv("T6_PROFILE_PATH", dir, 1);
    t6_context *ctx = t6t_context();
    t6i_shape shape = {{0}};
    shape.f[T6I_F_HEAD_DIM] = 32;
    t6i_params params;
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    ck_assert_int_eq(params.level, T6_PROFILE_BUILTIN);
    ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), default_of(T6_OP_DECODE, "T6_DEC_TILE"));
    decode_matches_the_reference(ctx, "decode beside a bucket recorded as wrong");

    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_KERNEL", 1));
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_TILE", 8));
    T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    const char *error = t6_context_last_error(ctx);
    ck_assert_msg(strstr(error, "decode: the values T6_DEC_KERNEL=1 T6_DEC_TILE=8 computed wrong results on this "
                                "device and driver (t6-tune, ") &&
                      strstr(error, "own.json, bucket [0] \"b\": output: relative error 0.191 > 0.0001 (strict))"),
                  "%s", error);
    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_TILE", 16));
    decode_matches_the_reference(ctx, "decode with the neighbour of a configuration recorded as wrong");

    T6T_OK(ctx, t6_context_set_param(ctx, T6_OP_DECODE, "T6_DEC_TILE", 8));
    T6T_OK(ctx, t6_context_set_refuse_known_wrong(ctx, 0));
    T6T_OK(ctx, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    ck_assert_int_eq(param_value(&params, "T6_DEC_TILE"), 8);
    T6T_OK(ctx, t6_context_set_refuse_known_wrong(ctx, 1));
    T6T_STATUS(ctx, T6_ERROR_INVALID_PARAMS, t6i_params_resolve(ctx, T6_OP_DECODE, &shape, &params));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_context_set_refuse_known_wrong(NULL, 1));
    t6_context_destroy(ctx);
    unsetenv("T6_PROFILE_PATH");
    t6t_remove_tree(temp_root);
}
END_TEST

START_TEST(kernel_hashes)
{
    char a[17], b[17], all[17];
    T6T_OK(NULL, t6_kernel_hash(T6_OP_DECODE, a));
    T6T_OK(NULL, t6_kernel_hash(T6_OP_PROJECTION, b));
    T6T_OK(NULL, t6_kernel_hash(T6_OP_COUNT, all));
    ck_assert_uint_eq(strlen(a), 16);
    ck_assert_str_ne(a, b); /* different kernels */
    ck_assert_str_eq(all, t6i_kernel_sources_hash());
    ck_assert_str_ne(a, all);
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_kernel_hash((t6_op)99, a));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_kernel_hash(T6_OP_DECODE, NULL));
    ck_assert_str_eq(t6_profile_level_name(T6_PROFILE_FAMILY), "family");
    ck_assert_ptr_null(t6_profile_level_name((t6_profile_level)9));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("profile");
    TCase *selection = tcase_create("selection");
    tcase_add_test(selection, fallback_levels_for_every_vendor);
    tcase_add_test(selection, stale_part_falls_back_with_a_warning);
    tcase_add_test(selection, foreign_and_malformed_files_are_skipped);
    tcase_add_test(selection, nearest_bucket);
    tcase_add_test(selection, kernel_hashes);
    suite_add_tcase(suite, selection);
    TCase *hostile = tcase_create("hostile");
    tcase_add_test(hostile, hostile_inputs);
    tcase_add_test(hostile, truncated_files);
    tcase_add_test(hostile, refused_values_skip_their_bucket);
    tcase_add_test(hostile, known_wrong_records_count_on_their_driver);
    tcase_add_test(hostile, special_files_are_refused_without_blocking);
    suite_add_tcase(suite, hostile);
    TCase *context = tcase_create("context");
    tcase_add_test(context, context_finds_profiles_and_explicit_params_win);
    tcase_add_test(context, load_profile_explicitly);
    tcase_add_test(context, profiled_decode_matches_the_reference);
    tcase_add_test(context, refused_profile_value_leaves_the_op_working);
    tcase_add_test(context, failing_profile_values_fall_back_at_run_time);
    tcase_add_test(context, known_wrong_values_are_never_run);
    suite_add_tcase(suite, context);
    return t6t_run(suite);
}
