/* check_runtime.c — the foundation: statuses and versions, structs that grow, storage conversions (host and
 * device agree bit for bit), device identity, context creation, options, lifetime, wrapping and queues,
 * buffers, kernel building with its memory and disk caches, timing. */
#include "support.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

START_TEST(status_strings_and_version)
{
    ck_assert_str_eq(t6_status_string(T6_SUCCESS), "success");
    ck_assert_str_eq(t6_status_string(T6_ERROR_BUILD_FAILED), "kernel build failed");
    ck_assert_str_eq(t6_status_string((t6_status)-999), "unknown status");
    ck_assert_str_eq(t6_status_string(T6_ERROR_OUT_OF_DEVICE_MEMORY), "out of device memory");
    ck_assert_str_eq(t6_status_string(T6_ERROR_WRONG_RESULT), "wrong result");
    /* Every status from SUCCESS to the last has a text of its own. */
    for (int s = T6_SUCCESS; s >= T6_ERROR_WRONG_RESULT; s--) {
        ck_assert_str_ne(t6_status_string((t6_status)s), "unknown status");
        for (int t = s + 1; t <= T6_SUCCESS; t++)
            ck_assert_str_ne(t6_status_string((t6_status)s), t6_status_string((t6_status)t));
    }
    ck_assert_str_eq(t6_version_string(), T6_VERSION_STRING);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", T6_VERSION_MAJOR, T6_VERSION_MINOR, T6_VERSION_PATCH);
    ck_assert_str_eq(T6_VERSION_STRING, expected);
    ck_assert_uint_eq(t6_version_number(), T6_VERSION_NUMBER);
    ck_assert_uint_eq(T6_VERSION_NUMBER, T6_VERSION_MAJOR * 10000u + T6_VERSION_MINOR * 100u + T6_VERSION_PATCH);
#if T6_VERSION_NUMBER < 200
#error "T6_VERSION_NUMBER must be usable in #if"
#endif
}
END_TEST

/* OpenCL codes an application can act on get statuses of their own: a failed allocation is out of device
 * memory (CL_OUT_OF_RESOURCES only from an allocation, where it means that), not a generic OpenCL error. */
START_TEST(opencl_failures_are_classified)
{
    ck_assert_int_eq(t6i_fail_cl(NULL, CL_MEM_OBJECT_ALLOCATION_FAILURE, "clEnqueueNDRangeKernel(decode)"),
                     T6_ERROR_OUT_OF_DEVICE_MEMORY);
    ck_assert_int_eq(t6i_fail_cl(NULL, CL_MEM_OBJECT_ALLOCATION_FAILURE, "clEnqueueWriteBuffer"),
                     T6_ERROR_OUT_OF_DEVICE_MEMORY);
    ck_assert_int_eq(t6i_fail_cl(NULL, CL_OUT_OF_RESOURCES, "clCreateBuffer(cache)"), T6_ERROR_OUT_OF_DEVICE_MEMORY);
    ck_assert_msg(strstr(t6_context_last_error(NULL), "clCreateBuffer(cache) failed: CL_OUT_OF_RESOURCES"), "%s",
                  t6_context_last_error(NULL));
    ck_assert_int_eq(t6i_fail_cl(NULL, CL_OUT_OF_RESOURCES, "clEnqueueNDRangeKernel(decode)"), T6_ERROR_OPENCL);
    ck_assert_int_eq(t6i_fail_cl(NULL, CL_OUT_OF_HOST_MEMORY, "clCreateBuffer"), T6_ERROR_OUT_OF_HOST_MEMORY);
    ck_assert_int_eq(t6i_fail_cl(NULL, CL_INVALID_WORK_GROUP_SIZE, "clEnqueueNDRangeKernel"),
                     T6_ERROR_INVALID_PARAMS);
    ck_assert_int_eq(t6i_fail_cl(NULL, CL_INVALID_VALUE, "clCreateBuffer"), T6_ERROR_OPENCL);
}
END_TEST

/* A version 1 of a struct that later gained a field, and that version 2, as two builds of an application would
 * see them (t6.h, "Structs that grow"). */
typedef struct grown_v1 {
    size_t struct_size;
    int a;
    float b;
} grown_v1;
typedef struct grown_v2 {
    size_t struct_size;
    int a;
    float b;
    int c; /* 0: what version 1 did */
} grown_v2;

START_TEST(structs_grow_without_breaking_callers)
{
    /* A version 2 library reads a version 1 struct: the new field takes its default. */
    const grown_v1 old = {sizeof(grown_v1), 7, 2.5f};
    grown_v2 read;
    memset(&read, 0xA5, sizeof read);
    T6T_OK(NULL, t6i_struct_in(NULL, "grown", &old, sizeof(grown_v1), &read, sizeof read));
    ck_assert_uint_eq(read.struct_size, sizeof(grown_v2));
    ck_assert_int_eq(read.a, 7);
    ck_assert_float_eq(read.b, 2.5f);
    ck_assert_int_eq(read.c, 0);
    /* A version 1 library refuses a version 2 struct, whose new field it could not honour; a size below
     * version 1 (an uninitialized struct) is an argument error. */
    const grown_v2 newer = {sizeof(grown_v2), 3, 1.5f, 0};
    grown_v1 got;
    T6T_STATUS(NULL, T6_ERROR_UNSUPPORTED, t6i_struct_in(NULL, "grown", &newer, sizeof(grown_v1), &got, sizeof got));
    ck_assert_msg(strstr(t6_context_last_error(NULL), "newer t6.h"), "%s", t6_context_last_error(NULL));
    grown_v1 forgotten = {0, 1, 1.0f};
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT,
               t6i_struct_in(NULL, "grown", &forgotten, sizeof(grown_v1), &got, sizeof got));
    ck_assert_msg(strstr(t6_context_last_error(NULL), "grown.struct_size is 0"), "%s", t6_context_last_error(NULL));
    /* Written out: a newer application's struct gets its unknown field zeroed and keeps its size; an older
     * one gets the fields it knows. */
    const grown_v1 library_v1 = {sizeof(grown_v1), 9, 4.0f};
    grown_v2 out_newer = {sizeof(grown_v2), -1, -1.0f, 77};
    T6T_OK(NULL, t6i_struct_out(NULL, "grown", &out_newer, sizeof(grown_v1), &library_v1, sizeof library_v1));
    ck_assert_uint_eq(out_newer.struct_size, sizeof(grown_v2));
    ck_assert_int_eq(out_newer.a, 9);
    ck_assert_int_eq(out_newer.c, 0);
    const grown_v2 library_v2 = {sizeof(grown_v2), 5, 3.0f, 6};
    grown_v1 out_older = {sizeof(grown_v1), 0, 0.0f};
    T6T_OK(NULL, t6i_struct_out(NULL, "grown", &out_older, sizeof(grown_v1), &library_v2, sizeof library_v2));
    ck_assert_uint_eq(out_older.struct_size, sizeof(grown_v1));
    ck_assert_int_eq(out_older.a, 5);

    /* The initializers set the size; the public calls check it. */
    const t6_layer_config layer = T6_LAYER_CONFIG_INIT;
    ck_assert_uint_eq(layer.struct_size, sizeof layer);
    ck_assert_float_eq(layer.rope_base, 10000.0f);
    const t6_cache_config cache = T6_CACHE_CONFIG_INIT;
    ck_assert_uint_eq(cache.struct_size, sizeof cache);
    ck_assert_int_eq(cache.slots, 1);
    const t6_kv_cache_config kv = T6_KV_CACHE_CONFIG_INIT;
    ck_assert_uint_eq(kv.struct_size, sizeof kv);
    const t6_project_options project = T6_PROJECT_OPTIONS_INIT;
    ck_assert_uint_eq(project.struct_size, sizeof project);
    const t6_attention_options attention = T6_ATTENTION_OPTIONS_INIT;
    ck_assert_uint_eq(attention.struct_size, sizeof attention);
    const t6_context_options context = T6_CONTEXT_OPTIONS_INIT;
    ck_assert_uint_eq(context.struct_size, sizeof context);
    ck_assert_int_eq(context.log_level, T6_LOG_INFO);
    const t6_device_info info = T6_DEVICE_INFO_INIT;
    ck_assert_uint_eq(info.struct_size, sizeof info);
    t6_model_config model;
    memset(&model, 0, sizeof model);
    t6_model_config_init(&model);
    ck_assert_uint_eq(model.struct_size, sizeof model);
    ck_assert_int_eq(model.capacity, 2048);

    t6_layer_config shaped = T6_LAYER_CONFIG_INIT;
    shaped.model_dim = 8;
    shaped.heads = 2;
    shaped.head_dim = 32;
    shaped.rank_q = shaped.rank_k = shaped.rank_v = 1;
    ck_assert_uint_eq(t6_query_row_size(&shaped), 2 + 32);
    shaped.struct_size = 0;
    ck_assert_uint_eq(t6_query_row_size(&shaped), 0);
    t6_model_config zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    ck_assert_uint_eq(t6_model_cache_bytes_per_token(&zeroed), 0);
    double scratch[64] = {0};
    t6_attention_options forgot_scales;
    memset(&forgot_scales, 0, sizeof forgot_scales);
    const t6_ref_shape ref_shape = {1, 32, 1, 1, 1};
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT,
               t6_ref_decode(&ref_shape, &forgot_scales, 1, scratch, scratch, scratch, scratch, scratch, scratch,
                             scratch));
    ck_assert_msg(strstr(t6_context_last_error(NULL), "t6_attention_options.struct_size is 0"), "%s",
                  t6_context_last_error(NULL));
}
END_TEST

/* The same rules on the device-side calls: an uninitialized config or options struct is named, nothing is made. */
START_TEST(public_calls_check_struct_size)
{
    t6_context *ctx = t6t_context();
    t6_device_info info;
    memset(&info, 0, sizeof info);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_device_info(ctx, &info));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_device_describe(0, &info));
    ck_assert_msg(strstr(t6_context_last_error(NULL), "t6_device_info.struct_size is 0"), "%s",
                  t6_context_last_error(NULL));

    t6_cache_config cache_config = T6_CACHE_CONFIG_INIT;
    cache_config.heads = 2;
    cache_config.head_dim = 32;
    cache_config.rank_k = cache_config.rank_v = 1;
    cache_config.capacity = 4;
    t6_cache *cache = NULL;
    cache_config.struct_size = 0;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_cache_create(ctx, &cache_config, &cache));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "t6_cache_config.struct_size is 0"), "%s",
                  t6_context_last_error(ctx));
    ck_assert_ptr_null(cache);
    /* A newer application's larger struct is refused; this library's own is taken, and read back whole. */
    struct {
        t6_cache_config config;
        int later_field;
    } newer = {cache_config, 0};
    newer.config.struct_size = sizeof newer;
    T6T_STATUS(ctx, T6_ERROR_UNSUPPORTED, t6_cache_create(ctx, &newer.config, &cache));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "newer t6.h"), "%s", t6_context_last_error(ctx));
    cache_config.struct_size = sizeof cache_config;
    T6T_OK(ctx, t6_cache_create(ctx, &cache_config, &cache));
    /* Into a newer application's struct, the field this library does not know comes back 0. */
    newer.later_field = 5;
    T6T_OK(ctx, t6_cache_get_config(cache, &newer.config));
    ck_assert_int_eq(newer.config.capacity, 4);
    ck_assert_uint_eq(newer.config.struct_size, sizeof newer);
    ck_assert_int_eq(newer.later_field, 0);
    t6_cache_destroy(cache);

    t6_kv_cache_config kv_config = T6_KV_CACHE_CONFIG_INIT;
    kv_config.struct_size = 1;
    t6_kv_cache *kv = NULL;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_kv_cache_create(ctx, &kv_config, &kv));
    t6_model_config model_config;
    t6_model_config_init(&model_config);
    model_config.struct_size = 0;
    t6_model *model = NULL;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_model_create_random(ctx, &model_config, 1, &model));
    t6_layer_config layer_config = T6_LAYER_CONFIG_INIT;
    layer_config.struct_size = 0;
    const float weight[64] = {0};
    const t6_layer_weights weights = {weight, weight, weight, weight, weight, weight};
    t6_layer *layer = NULL;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_layer_create(ctx, &layer_config, &weights, &layer));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "t6_layer_config.struct_size"), "%s",
                  t6_context_last_error(ctx));
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(half_conversion_rounds_to_nearest_even)
{
    ck_assert_uint_eq(t6i_float_to_half(1.0f), 0x3C00);
    ck_assert_uint_eq(t6i_float_to_half(-2.0f), 0xC000);
    ck_assert_uint_eq(t6i_float_to_half(65504.0f), 0x7BFF);
    ck_assert_uint_eq(t6i_float_to_half(65519.0f), 0x7BFF);  /* below the midpoint to 65536 */
    ck_assert_uint_eq(t6i_float_to_half(65520.0f), 0x7C00);  /* the midpoint rounds to even: infinity */
    ck_assert_uint_eq(t6i_float_to_half(ldexpf(1.0f, -24)), 0x0001); /* smallest subnormal */
    ck_assert_uint_eq(t6i_float_to_half(ldexpf(1.0f, -25)), 0x0000); /* tie with 0 rounds to even */
    ck_assert_uint_eq(t6i_float_to_half(ldexpf(3.0f, -25)), 0x0002); /* 1.5 ulp rounds to 2 */
    /* 1 + 2^-11 is the tie between 1 and 1 + 2^-10: even is 1. 1 + 3·2^-11 rounds up to 1 + 2^-9. */
    ck_assert_uint_eq(t6i_float_to_half(1.0f + ldexpf(1.0f, -11)), 0x3C00);
    ck_assert_uint_eq(t6i_float_to_half(1.0f + 3 * ldexpf(1.0f, -11)), 0x3C02);
    ck_assert(isnan(t6i_half_to_float(t6i_float_to_half(NAN))));
    ck_assert(isinf(t6i_half_to_float(t6i_float_to_half(INFINITY))));
    for (uint32_t h = 0; h < 0x7C00; h++) /* every finite positive half survives a round trip */
        ck_assert_uint_eq(t6i_float_to_half(t6i_half_to_float((uint16_t)h)), h);
}
END_TEST

START_TEST(bf16_conversion_rounds_to_nearest_even)
{
    ck_assert_uint_eq(t6i_float_to_bf16(1.0f), 0x3F80);
    ck_assert_uint_eq(t6i_float_to_bf16(1.0f + ldexpf(1.0f, -8)), 0x3F80);     /* tie: even */
    ck_assert_uint_eq(t6i_float_to_bf16(1.0f + 3 * ldexpf(1.0f, -8)), 0x3F82); /* tie: up to even */
    ck_assert_uint_eq(t6i_float_to_bf16(1.0f + ldexpf(1.0f, -8) + ldexpf(1.0f, -20)), 0x3F81);
    ck_assert(isnan(t6i_bf16_to_float(t6i_float_to_bf16(NAN))));
    ck_assert_float_eq(t6_round_to_dtype(T6_BF16, 3.0f), 3.0f);
    ck_assert_float_eq(t6_round_to_dtype(T6_F32, 0.1f), 0.1f);
    ck_assert_uint_eq(t6_dtype_size(T6_BF16), 2);
    ck_assert_str_eq(t6_dtype_name(T6_F16), "f16");
}
END_TEST

START_TEST(identity_normalization)
{
    t6_device_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.platform_name, sizeof info.platform_name, "Portable Computing Language");
    snprintf(info.vendor, sizeof info.vendor, "AuthenticAMD");
    snprintf(info.name, sizeof info.name, "  pthread-skylake-avx512-AMD EPYC   ");
    t6i_normalize_identity(&info);
    ck_assert_str_eq(info.normalized_vendor, "pocl");
    ck_assert_str_eq(info.normalized_name, "skylake-avx512-AMD EPYC");
    ck_assert_str_eq(info.identity, "pocl/skylake-avx512-AMD EPYC");
    ck_assert_str_eq(info.family, "x86-avx512");

    memset(&info, 0, sizeof info);
    snprintf(info.vendor, sizeof info.vendor, "NVIDIA Corporation");
    info.vendor_id = 0x10DE;
    info.is_gpu = 1;
    snprintf(info.name, sizeof info.name, "NVIDIA H100 80GB HBM3");
    t6i_normalize_identity(&info);
    ck_assert_str_eq(info.identity, "nvidia/NVIDIA H100 80GB HBM3");
    ck_assert_str_eq(info.family, "sm_90");

    memset(&info, 0, sizeof info);
    snprintf(info.vendor, sizeof info.vendor, "Advanced Micro Devices, Inc.");
    info.vendor_id = 0x1002;
    info.is_gpu = 1;
    snprintf(info.name, sizeof info.name, "gfx90a:sramecc+:xnack-");
    t6i_normalize_identity(&info);
    ck_assert_str_eq(info.normalized_vendor, "amd");
    ck_assert_str_eq(info.family, "gfx9");

    memset(&info, 0, sizeof info);
    snprintf(info.vendor, sizeof info.vendor, "Intel(R) Corporation");
    info.vendor_id = 0x8086;
    info.is_gpu = 1;
    snprintf(info.name, sizeof info.name, "Intel(R) Arc(TM) A770 Graphics");
    t6i_normalize_identity(&info);
    ck_assert_str_eq(info.normalized_vendor, "intel");
    ck_assert_str_eq(info.family, "xe-hpg");

    /* Mesa's rusticl is its own vendor whatever the hardware: llvmpipe a family of its own, its GPUs not taken
     * for the vendors' drivers (no inline PTX on nouveau). */
    memset(&info, 0, sizeof info);
    snprintf(info.platform_name, sizeof info.platform_name, "rusticl");
    snprintf(info.vendor, sizeof info.vendor, "Mesa/X.org");
    snprintf(info.name, sizeof info.name, "llvmpipe (LLVM 15.0.6, 256 bits)");
    t6i_normalize_identity(&info);
    ck_assert_str_eq(info.identity, "rusticl/llvmpipe (LLVM 15.0.6, 256 bits)");
    ck_assert_str_eq(info.family, "llvmpipe");
    memset(&info, 0, sizeof info);
    snprintf(info.platform_name, sizeof info.platform_name, "rusticl");
    snprintf(info.vendor, sizeof info.vendor, "Mesa/X.org");
    info.vendor_id = 0x10DE;
    info.is_gpu = 1;
    snprintf(info.name, sizeof info.name, "NV194");
    t6i_normalize_identity(&info);
    ck_assert_str_eq(info.normalized_vendor, "rusticl");

    /* Families by name where the driver reports no architecture: CDNA from RDNA, the Xe tiers apart. */
    static const struct { unsigned vendor_id; const char *name, *family; } named[] = {
        {0x1002, "gfx942:sramecc+:xnack-", "gfx9"},
        {0x1002, "gfx908", "gfx9"},
        {0x1002, "gfx1030", "gfx10"},
        {0x1002, "gfx1100", "gfx11"},
        {0x1002, "gfx1201", "gfx12"},
        {0x8086, "Intel(R) Data Center GPU Max 1550", "xe-hpc"},
        {0x8086, "Intel(R) Data Center GPU Flex 170", "xe-hpg"},
        {0x8086, "Intel(R) Arc(TM) B580 Graphics", "xe2-hpg"},
        {0x8086, "Intel(R) Iris(R) Xe Graphics", "xe-lp"},
        {0x8086, "Intel(R) Arc(TM) Graphics", "xe-lp"},
        {0x8086, "Intel(R) UHD Graphics 630", "gen9"},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        memset(&info, 0, sizeof info);
        info.vendor_id = named[i].vendor_id;
        info.is_gpu = 1;
        snprintf(info.name, sizeof info.name, "%s", named[i].name);
        t6i_normalize_identity(&info);
        ck_assert_msg(strcmp(info.family, named[i].family) == 0, "%s: family '%s', expected '%s'", named[i].name,
                      info.family, named[i].family);
    }

    int major = 0, minor = 0;
    t6i_parse_cl_version("OpenCL 3.0 CUDA", &major, &minor);
    ck_assert_int_eq(major * 10 + minor, 30);
    t6i_parse_cl_version("OpenCL C 1.2 PoCL", &major, &minor);
    ck_assert_int_eq(major * 10 + minor, 12);
    t6i_parse_cl_version("garbage", &major, &minor);
    ck_assert_int_eq(major, 0);
}
END_TEST

START_TEST(devices_are_described)
{
    int count = 0;
    T6T_OK(NULL, t6_device_count(&count));
    ck_assert_int_ge(count, 1);
    t6_device_info info = T6_DEVICE_INFO_INIT;
    T6T_OK(NULL, t6_device_describe(0, &info));
    ck_assert(strlen(info.name) > 0);
    ck_assert_uint_ge(info.compute_units, 1);
    ck_assert_uint_ge(info.max_work_group_size, 1);
    ck_assert_uint_ge(info.preferred_work_group_multiple, 1);
    ck_assert(info.local_mem_bytes > 0 && info.global_mem_bytes > 0);
    ck_assert(strchr(info.identity, '/') != NULL);
    T6T_STATUS(NULL, T6_ERROR_DEVICE_NOT_FOUND, t6_device_describe(count, &info));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_device_describe(0, NULL));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_device_count(NULL));
}
END_TEST

START_TEST(context_selection)
{
    t6_context *ctx = NULL;
    T6T_STATUS(NULL, T6_ERROR_DEVICE_NOT_FOUND, t6_context_create("no-such-device-xyz", &ctx));
    ck_assert_ptr_null(ctx);
    ck_assert_msg(strstr(t6_context_last_error(NULL), "no-such-device-xyz") != NULL, "message: %s",
                  t6_context_last_error(NULL));
    T6T_STATUS(NULL, T6_ERROR_DEVICE_NOT_FOUND, t6_context_create("999", &ctx));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_context_create(NULL, NULL));

    setenv("T6_DEVICE", "no-such-device-xyz", 1);
    T6T_STATUS(NULL, T6_ERROR_DEVICE_NOT_FOUND, t6_context_create(NULL, &ctx));
    unsetenv("T6_DEVICE");

    T6T_OK(NULL, t6_context_create("0", &ctx));
    t6_device_info by_index = T6_DEVICE_INFO_INIT, described = T6_DEVICE_INFO_INIT;
    T6T_OK(ctx, t6_context_device_info(ctx, &by_index));
    T6T_OK(NULL, t6_device_describe(0, &described));
    ck_assert_str_eq(by_index.identity, described.identity);
    t6_context_destroy(ctx);

    /* A name substring selects the same device, case-insensitively. */
    char lower[64];
    snprintf(lower, sizeof lower, "%.8s", described.name);
    for (char *c = lower; *c; c++) *c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
    T6T_OK(NULL, t6_context_create(lower, &ctx));
    t6_context_destroy(ctx);
    t6_context_destroy(NULL);
}
END_TEST

/* The queue's reference count once the driver has let go of its own transient references (PoCL releases the
 * events of finished commands from a worker thread, a little after clFinish returns). */
static cl_uint settled_references(cl_command_queue queue, cl_uint expected)
{
    cl_uint references = 0;
    for (int attempt = 0; attempt < 200; attempt++) {
        ck_assert_int_eq(clFinish(queue), CL_SUCCESS);
        ck_assert_int_eq(clGetCommandQueueInfo(queue, CL_QUEUE_REFERENCE_COUNT, sizeof references, &references, NULL),
                         CL_SUCCESS);
        if (references == expected) break;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    return references;
}

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    ck_assert_int_eq(fputs(text, file) >= 0, 1);
    ck_assert_int_eq(fclose(file), 0);
}

/* The OpenCL context's reference count, after the driver's transient references have gone, when `expected`
 * (0: whatever it is). */
static cl_uint context_references(cl_context context, cl_uint expected)
{
    cl_uint references = 0;
    for (int attempt = 0; attempt < 200; attempt++) {
        ck_assert_int_eq(clGetContextInfo(context, CL_CONTEXT_REFERENCE_COUNT, sizeof references, &references, NULL),
                         CL_SUCCESS);
        if (expected == 0 || references == expected) break;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    return references;
}

START_TEST(wraps_application_context)
{
    cl_platform_id platform;
    cl_device_id device;
    cl_int err = clGetPlatformIDs(1, &platform, NULL);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL), CL_SUCCESS);
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    const cl_uint context_before = context_references(context, 0); /* the test's, and its queue's */

    /* The driver may hold references of its own (PoCL does, transiently): compare with what it held before. */
    cl_uint references_before = 0, references = 0;
    ck_assert_int_eq(clFinish(queue), CL_SUCCESS);
    ck_assert_int_eq(clGetCommandQueueInfo(queue, CL_QUEUE_REFERENCE_COUNT, sizeof references_before,
                                           &references_before, NULL),
                     CL_SUCCESS);

    t6_context *ctx = NULL;
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_context_create_from_cl(context, device, NULL, &ctx));
    T6T_OK(NULL, t6_context_create_from_cl(context, device, queue, &ctx));
    ck_assert_ptr_eq(t6_context_cl_context(ctx), context);
    ck_assert_ptr_eq(t6_context_cl_queue(ctx), queue);
    ck_assert_ptr_eq(t6_context_cl_device(ctx), device);

    /* The wrapped context works: a round trip through a buffer. */
    t6i_rng rng = t6t_rng_make(1);
    float in[100], out[100];
    t6i_fill_normal(&rng, in, 100, 1.0);
    cl_mem buffer = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 100, &buffer));
    T6T_OK(ctx, t6_buffer_upload(ctx, buffer, T6_F32, 0, 100, in));
    T6T_OK(ctx, t6_buffer_download(ctx, buffer, T6_F32, 0, 100, out));
    ck_assert_mem_eq(in, out, sizeof in);
    clReleaseMemObject(buffer);

    /* Timing needs a profiling queue; this one has none, and t6 says so instead of failing later. */
    T6T_STATUS(ctx, T6_ERROR_UNSUPPORTED, t6_context_set_timing(ctx, 1));

    /* t6 retained the queue and the OpenCL context while it held them, and released them on destroy. */
    references = settled_references(queue, references_before + 1);
    ck_assert_uint_eq(references, references_before + 1);
    ck_assert_uint_gt(context_references(context, 0), context_before);
    t6_context_destroy(ctx);
    references = settled_references(queue, references_before);
    ck_assert_uint_eq(references, references_before);
    ck_assert_uint_eq(context_references(context, context_before), context_before);
    ck_assert_int_eq(clReleaseCommandQueue(queue), CL_SUCCESS);
    ck_assert_int_eq(clReleaseContext(context), CL_SUCCESS);
}
END_TEST

/* t6_context_create_from_cl retains the device too: a sub-device (the devices whose references count) stays
 * alive while t6 holds it, even after the application has released its own references. */
START_TEST(wrapped_objects_are_retained_until_destroy)
{
    cl_platform_id platform;
    cl_device_id device, sub = NULL;
    ck_assert_int_eq(clGetPlatformIDs(1, &platform, NULL), CL_SUCCESS);
    ck_assert_int_eq(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL), CL_SUCCESS);
    cl_uint units = 0, subs = 0;
    ck_assert_int_eq(clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL), CL_SUCCESS);
    const cl_device_partition_property equally[] = {CL_DEVICE_PARTITION_EQUALLY, units > 1 ? units / 2 : 1, 0};
    const bool partitioned = units > 1 && clCreateSubDevices(device, equally, 1, &sub, &subs) == CL_SUCCESS && sub;
    cl_device_id used = partitioned ? sub : device;
    cl_int err = CL_SUCCESS;
    cl_context context = clCreateContext(NULL, 1, &used, NULL, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue queue = clCreateCommandQueue(context, used, CL_QUEUE_PROFILING_ENABLE, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_uint device_before = 0;
    if (partitioned)
        ck_assert_int_eq(clGetDeviceInfo(sub, CL_DEVICE_REFERENCE_COUNT, sizeof device_before, &device_before, NULL),
                         CL_SUCCESS);
    const cl_uint queue_before = settled_references(queue, 1);

    t6_context *ctx = NULL;
    T6T_OK(NULL, t6_context_create_from_cl(context, used, queue, &ctx));
    ck_assert_ptr_eq(t6_context_cl_device(ctx), used);
    if (partitioned) {
        cl_uint held = 0;
        ck_assert_int_eq(clGetDeviceInfo(sub, CL_DEVICE_REFERENCE_COUNT, sizeof held, &held, NULL), CL_SUCCESS);
        ck_assert_uint_eq(held, device_before + 1);
    }
    /* The application lets go of everything; t6's context still works on what it retained. */
    ck_assert_int_eq(clReleaseCommandQueue(queue), CL_SUCCESS);
    ck_assert_int_eq(clReleaseContext(context), CL_SUCCESS);
    if (partitioned) ck_assert_int_eq(clRetainDevice(sub), CL_SUCCESS); /* to read its count after t6 is gone */
    ck_assert_uint_ge(context_references(context, 0), 1);
    ck_assert_uint_eq(settled_references(queue, queue_before), queue_before);
    float in[16], out[16];
    for (int i = 0; i < 16; i++) in[i] = (float)i;
    cl_mem buffer = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 16, &buffer));
    T6T_OK(ctx, t6_buffer_upload(ctx, buffer, T6_F32, 0, 16, in));
    T6T_OK(ctx, t6_buffer_download(ctx, buffer, T6_F32, 0, 16, out));
    ck_assert_mem_eq(in, out, sizeof in);
    clReleaseMemObject(buffer);
    t6_context_destroy(ctx);
    if (partitioned) {
        cl_uint after = 0;
        ck_assert_int_eq(clGetDeviceInfo(sub, CL_DEVICE_REFERENCE_COUNT, sizeof after, &after, NULL), CL_SUCCESS);
        ck_assert_uint_eq(after, device_before + 1); /* t6's released; this test's extra one remains */
        ck_assert_int_eq(clReleaseDevice(sub), CL_SUCCESS);
        ck_assert_int_eq(clReleaseDevice(sub), CL_SUCCESS);
    } else {
        printf("the device cannot be partitioned: the device's retain is not observable here\n");
    }
}
END_TEST

/* The objects made from a context keep it alive: destroyed first, the context lives on until the last of them
 * goes, and then releases its OpenCL context. */
START_TEST(objects_keep_the_context_alive)
{
    t6_context *ctx = t6t_context();
    cl_context context = t6_context_cl_context(ctx);
    ck_assert_int_eq(clRetainContext(context), CL_SUCCESS);
    t6_cache_config cache_config = T6_CACHE_CONFIG_INIT;
    cache_config.heads = 2;
    cache_config.head_dim = 32;
    cache_config.rank_k = cache_config.rank_v = 1;
    cache_config.capacity = 4;
    t6_cache *cache = NULL;
    T6T_OK(ctx, t6_cache_create(ctx, &cache_config, &cache));
    t6_kv_cache_config kv_config = T6_KV_CACHE_CONFIG_INIT;
    kv_config.kv_heads = 1;
    kv_config.head_dim = 32;
    kv_config.capacity = 2;
    t6_kv_cache *kv = NULL;
    T6T_OK(ctx, t6_kv_cache_create(ctx, &kv_config, &kv));
    t6_context_destroy(ctx); /* the application's reference */

    float in[4 * 2], out[4 * 2];
    for (int i = 0; i < 8; i++) in[i] = 0.5f * (float)i;
    T6T_OK(NULL, t6_cache_write(cache, T6_FACTOR_A_K, 0, 0, 4, in));
    T6T_OK(NULL, t6_cache_read(cache, T6_FACTOR_A_K, 0, 0, 4, out));
    ck_assert_mem_eq(in, out, sizeof in);
    t6_cache_destroy(cache);
    ck_assert_uint_gt(context_references(context, 0), 1); /* the K/V cache still holds the t6 context */
    t6_kv_cache_destroy(kv);
    ck_assert_uint_eq(context_references(context, 1), 1); /* the last object took the t6 context with it */
    ck_assert_int_eq(clReleaseContext(context), CL_SUCCESS);
}
END_TEST

/* t6_context_set_queue: later operations go to the new queue, after everything enqueued on the old one. */
START_TEST(queue_can_be_switched)
{
    t6_context *ctx = t6t_context();
    cl_context context = t6_context_cl_context(ctx);
    cl_device_id device = t6_context_cl_device(ctx);
    cl_command_queue first = t6_context_cl_queue(ctx);
    cl_int err = CL_SUCCESS;
    cl_command_queue plain = clCreateCommandQueue(context, device, 0, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue profiling = clCreateCommandQueue(context, device, CL_QUEUE_PROFILING_ENABLE, &err);
    ck_assert_int_eq(err, CL_SUCCESS);

    /* What is not a queue of this context and device is refused by name. */
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_set_queue(ctx, NULL));
    cl_context other_context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue foreign = clCreateCommandQueue(other_context, device, 0, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_set_queue(ctx, foreign));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "another OpenCL context"), "%s", t6_context_last_error(ctx));
    cl_command_queue unordered = clCreateCommandQueue(context, device, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    if (err == CL_SUCCESS) {
        T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_set_queue(ctx, unordered));
        ck_assert_msg(strstr(t6_context_last_error(ctx), "in order"), "%s", t6_context_last_error(ctx));
        clReleaseCommandQueue(unordered);
    }
    /* With timing on, a queue without profiling would break t6_context_last_op_time: refused, nothing changes. */
    T6T_OK(ctx, t6_context_set_timing(ctx, 1));
    T6T_STATUS(ctx, T6_ERROR_UNSUPPORTED, t6_context_set_queue(ctx, plain));
    ck_assert_ptr_eq(t6_context_cl_queue(ctx), first);
    T6T_OK(ctx, t6_context_set_queue(ctx, profiling));
    ck_assert_ptr_eq(t6_context_cl_queue(ctx), profiling);
    T6T_OK(ctx, t6_context_set_timing(ctx, 0));

    /* The old queue's work comes first: a write held back by a user event on the queue t6 has just left, then
     * the switch, then a read on the new queue, which must wait for the write. */
    enum { N = 64 };
    float written[N], read[N];
    for (int i = 0; i < N; i++) written[i] = (float)i + 0.25f;
    cl_mem buffer = NULL;
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, N, &buffer));
    cl_event gate = clCreateUserEvent(context, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(clEnqueueWriteBuffer(profiling, buffer, CL_FALSE, 0, sizeof written, written, 1, &gate, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clFlush(profiling), CL_SUCCESS);
    T6T_OK(ctx, t6_context_set_queue(ctx, plain));
    ck_assert_ptr_eq(t6_context_cl_queue(ctx), plain);
    cl_event done = NULL;
    ck_assert_int_eq(clEnqueueReadBuffer(plain, buffer, CL_FALSE, 0, sizeof read, read, 0, NULL, &done),
                     CL_SUCCESS);
    ck_assert_int_eq(clFlush(plain), CL_SUCCESS);
    nanosleep(&(struct timespec){0, 50000000}, NULL);
    cl_int state = CL_QUEUED;
    ck_assert_int_eq(clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL), CL_SUCCESS);
    ck_assert_msg(state != CL_COMPLETE, "the read on the new queue did not wait for the old queue's write");
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    ck_assert_int_eq(clWaitForEvents(1, &done), CL_SUCCESS);
    ck_assert_mem_eq(read, written, sizeof read);
    clReleaseEvent(done);
    clReleaseEvent(gate);

    /* t6 released the queue it left (only the test's reference remains) and holds the new one: the test's
     * reference can go, and t6's own operations still run on it. */
    ck_assert_uint_eq(settled_references(profiling, 1), 1);
    ck_assert_int_eq(clReleaseCommandQueue(profiling), CL_SUCCESS);
    ck_assert_uint_ge(settled_references(plain, 2), 2);
    ck_assert_int_eq(clReleaseCommandQueue(plain), CL_SUCCESS);
    float back[N];
    T6T_OK(ctx, t6_buffer_download(ctx, buffer, T6_F32, 0, N, back));
    ck_assert_mem_eq(back, written, sizeof back);
    clReleaseMemObject(buffer);
    t6_context_destroy(ctx);
    clReleaseCommandQueue(foreign);
    clReleaseContext(other_context);
}
END_TEST

static void keep_log(t6_log_level level, const char *message, void *user_data)
{
    (void)level;
    char **text = user_data;
    size_t old = *text ? strlen(*text) : 0, add = strlen(message);
    char *grown = realloc(*text, old + add + 2);
    ck_assert_ptr_nonnull(grown);
    memcpy(grown + old, message, add);
    grown[old + add] = '\n';
    grown[old + add + 1] = '\0';
    *text = grown;
}

/* What only the environment set: the options win over it, "" turns a thing off, and ignore_environment reads
 * none of it. The profile path is seen through the warning about a broken profile in it. */
START_TEST(context_options_override_the_environment)
{
    char root[256], from_env[300], from_options[300], path[400];
    t6t_temp_dir("t6-check-options", root, sizeof root);
    snprintf(from_env, sizeof from_env, "%s/env", root);
    snprintf(from_options, sizeof from_options, "%s/options", root);
    ck_assert_int_eq(mkdir(from_env, 0755), 0);
    ck_assert_int_eq(mkdir(from_options, 0755), 0);
    snprintf(path, sizeof path, "%s/broken-env.json", from_env);
    write_file(path, "{ not json");
    snprintf(path, sizeof path, "%s/broken-options.json", from_options);
    write_file(path, "{ not json");
    setenv("T6_PROFILE_PATH", from_env, 1);
    setenv("T6_CACHE_DIR", from_env, 1);
    setenv("T6_KERNEL_DIR", "/nonexistent-t6-kernels", 1);

    char *log = NULL;
    t6_context_options options = T6_CONTEXT_OPTIONS_INIT;
    options.profile_path = from_options;
    options.cache_dir = from_options;
    options.kernel_dir = ""; /* the embedded kernels, whatever T6_KERNEL_DIR says */
    options.log_fn = keep_log;
    options.log_level = T6_LOG_DEBUG;
    options.log_user_data = &log;
    t6_context *ctx = NULL;
    T6T_OK(NULL, t6_context_create_with_options(&options, &ctx));
    ck_assert_msg(log && strstr(log, "broken-options.json"), "log: %s", log ? log : "");
    ck_assert_msg(!strstr(log, "broken-env.json"), "log: %s", log);
    cl_kernel kernel = NULL;
    static const char convert_options[] = " -DT6_SRC_DTYPE=0 -DT6_DST_DTYPE=2";
    /* Built from the embedded source, and cached into from_options. */
    T6T_OK(ctx, t6i_get_kernel(ctx, "convert", convert_options, "t6_convert", &kernel));
    char listing[512];
    snprintf(listing, sizeof listing, "ls %s/*.bin >/dev/null 2>&1", from_options);
    ck_assert_int_eq(system(listing), 0);
    snprintf(listing, sizeof listing, "ls %s/*.bin >/dev/null 2>&1", from_env);
    ck_assert_int_ne(system(listing), 0);
    t6_context_destroy(ctx);
    free(log);
    log = NULL;

    /* Left NULL, each takes its variable: the environment's profile folder, and its kernel folder, which does
     * not exist, so that building a kernel fails naming it. */
    t6_context_options defaults = T6_CONTEXT_OPTIONS_INIT;
    defaults.log_fn = keep_log;
    defaults.log_user_data = &log;
    defaults.log_level = T6_LOG_DEBUG;
    T6T_OK(NULL, t6_context_create_with_options(&defaults, &ctx));
    ck_assert_msg(log && strstr(log, "broken-env.json"), "log: %s", log ? log : "");
    T6T_STATUS(ctx, T6_ERROR_IO, t6i_get_kernel(ctx, "convert", convert_options, "t6_convert", &kernel));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "/nonexistent-t6-kernels/"), "%s", t6_context_last_error(ctx));
    t6_context_destroy(ctx);
    free(log);
    log = NULL;

    /* ignore_environment: no variable at all, not even T6_DEVICE. */
    setenv("T6_DEVICE", "no-such-device-xyz", 1);
    T6T_STATUS(NULL, T6_ERROR_DEVICE_NOT_FOUND, t6_context_create_with_options(NULL, &ctx));
    defaults.ignore_environment = 1;
    T6T_OK(NULL, t6_context_create_with_options(&defaults, &ctx));
    ck_assert_msg(!log || !strstr(log, "broken-env.json"), "log: %s", log);
    T6T_OK(ctx, t6i_get_kernel(ctx, "convert", convert_options, "t6_convert", &kernel)); /* embedded */
    t6_context_destroy(ctx);
    unsetenv("T6_DEVICE");
    free(log);

    /* Half a set of OpenCL objects, or an unknown log level, is an argument error. */
    t6_context_options half = T6_CONTEXT_OPTIONS_INIT;
    half.opencl_queue = (cl_command_queue)&half;
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_context_create_with_options(&half, &ctx));
    t6_context_options level = T6_CONTEXT_OPTIONS_INIT;
    level.log_level = (t6_log_level)9;
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_context_create_with_options(&level, &ctx));
    level = (t6_context_options)T6_CONTEXT_OPTIONS_INIT;
    level.struct_size = 0;
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_context_create_with_options(&level, &ctx));
    ck_assert_ptr_null(ctx);
    t6t_remove_tree(root);
}
END_TEST

/* A context's own log gets its messages, creation included, and the process-wide log those of other
 * contexts. */
START_TEST(context_log_is_its_own)
{
    char *own = NULL, *global = NULL;
    t6_set_log_callback(keep_log, T6_LOG_DEBUG, &global);
    t6_context_options options = T6_CONTEXT_OPTIONS_INIT;
    options.log_fn = keep_log;
    options.log_level = T6_LOG_DEBUG;
    options.log_user_data = &own;
    t6_context *ctx = NULL, *other = NULL;
    T6T_OK(NULL, t6_context_create_with_options(&options, &ctx));
    ck_assert_msg(own && strstr(own, "context on"), "own log: %s", own ? own : "");
    ck_assert_msg(!global, "global log: %s", global ? global : "");
    cl_mem buffer = NULL;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_create(ctx, T6_F32, 0, &buffer));
    ck_assert_msg(strstr(own, "t6_buffer_create"), "own log: %s", own);
    ck_assert_msg(!global, "global log: %s", global);

    T6T_OK(NULL, t6_context_create(NULL, &other));
    ck_assert_msg(global && strstr(global, "context on"), "global log: %s", global ? global : "");
    free(global);
    global = NULL;
    /* Only messages at the context's level or above. */
    t6_context_destroy(ctx);
    free(own);
    own = NULL;
    options.log_level = T6_LOG_WARN;
    T6T_OK(NULL, t6_context_create_with_options(&options, &ctx));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_create(ctx, T6_F32, 0, &buffer));
    ck_assert_msg(!own, "own log: %s", own ? own : "");
    ck_assert_msg(!global, "global log: %s", global ? global : "");
    t6_context_destroy(ctx);
    t6_context_destroy(other);
    t6_set_log_callback(NULL, T6_LOG_INFO, NULL);
}
END_TEST

/* A device whose kernel computes wrong numbers fails the self-test with a status of its own: here convert.cl,
 * from a kernel folder, doubles what it copies. */
START_TEST(self_test_reports_wrong_results)
{
    char dir[256], path[512];
    t6t_temp_dir("t6-check-wrong", dir, sizeof dir);
    const char *name = NULL, *text = NULL;
    size_t length = 0;
    for (size_t s = 0; (text = t6i_embedded_source_at(s, &name, &length)) != NULL; s++) {
        snprintf(path, sizeof path, "%s/%s.cl", dir, name);
        if (strcmp(name, "convert") != 0) {
            write_file(path, text);
            continue;
        }
        static const char load[] = "T6_LOAD(T6_SRC_DTYPE, src, src_offset + i)";
        const char *at = strstr(text, load);
        ck_assert_ptr_nonnull(at);
        char *broken = malloc(length + 16);
        ck_assert_ptr_nonnull(broken);
        snprintf(broken, length + 16, "%.*s2.0f * %s", (int)(at - text), text, at);
        write_file(path, broken);
        free(broken);
    }
    char *own = NULL, *global = NULL;
    t6_set_log_callback(keep_log, T6_LOG_DEBUG, &global);
    t6_context_options options = T6_CONTEXT_OPTIONS_INIT;
    options.kernel_dir = dir;
    options.cache_dir = "";
    options.log_fn = keep_log;
    options.log_level = T6_LOG_ERROR;
    options.log_user_data = &own;
    t6_context *ctx = NULL;
    T6T_OK(NULL, t6_context_create_with_options(&options, &ctx));
    T6T_STATUS(ctx, T6_ERROR_WRONG_RESULT, t6_context_self_test(ctx));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "self-test convert"), "%s", t6_context_last_error(ctx));
    /* The self-test's verdict is logged from inside the library, where no context is at hand: it reaches the
     * context's own log all the same. */
    ck_assert_msg(own && strstr(own, "self-test convert failed"), "own log: %s", own ? own : "");
    ck_assert_msg(!global, "global log: %s", global ? global : "");
    t6_context_destroy(ctx);
    t6_set_log_callback(NULL, T6_LOG_INFO, NULL);
    free(own);
    t6t_remove_tree(dir);
}
END_TEST

START_TEST(buffers_round_trip_in_every_dtype)
{
    t6_context *ctx = t6t_context();
    t6i_rng rng = t6t_rng_make(2);
    enum { N = 1003 };
    float in[N], out[N];
    t6i_fill_normal(&rng, in, N, 3.0);
    for (int d = 0; d < 3; d++) {
        t6_dtype dtype = (t6_dtype)d;
        cl_mem buffer = NULL;
        T6T_OK(ctx, t6_buffer_create(ctx, dtype, N + 7, &buffer));
        T6T_OK(ctx, t6_buffer_upload(ctx, buffer, dtype, 7, N, in));
        T6T_OK(ctx, t6_buffer_download(ctx, buffer, dtype, 7, N, out));
        for (int i = 0; i < N; i++) ck_assert_float_eq(out[i], t6_round_to_dtype(dtype, in[i]));
        T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, t6_buffer_upload(ctx, buffer, dtype, 8, N, in));
        T6T_STATUS(ctx, T6_ERROR_BUFFER_TOO_SMALL, t6_buffer_download(ctx, buffer, dtype, (size_t)-1, 2, out));
        ck_assert(strstr(t6_context_last_error(ctx), "buffer holds") != NULL);
        T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_upload(ctx, buffer, dtype, 0, 1, NULL));
        clReleaseMemObject(buffer);
    }
    cl_mem buffer = NULL;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_create(ctx, T6_F32, 0, &buffer));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_create(ctx, (t6_dtype)7, 4, &buffer));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_create(ctx, T6_F32, (size_t)-1 / 2, &buffer));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_buffer_upload(ctx, NULL, T6_F32, 0, 1, in));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_buffer_create(NULL, T6_F32, 4, &buffer));
    t6_context_destroy(ctx);
}
END_TEST

/* A folder of kernel sources for T6_KERNEL_DIR: the real common.cl plus a test kernel that converts between
 * storage types on the device. */
static char kernel_dir[256];

static void make_kernel_dir(const char *test_kernel)
{
    snprintf(kernel_dir, sizeof kernel_dir, "/tmp/t6-kernels-%ld", (long)getpid());
    mkdir(kernel_dir, 0755);
    char path[512];
    size_t length = 0;
    const char *common = t6i_embedded_source("common", &length);
    ck_assert_ptr_nonnull(common);
    snprintf(path, sizeof path, "%s/common.cl", kernel_dir);
    write_file(path, common);
    snprintf(path, sizeof path, "%s/convert.cl", kernel_dir);
    write_file(path, test_kernel);
    setenv("T6_KERNEL_DIR", kernel_dir, 1);
}

static const char *convert_kernel =
    "__kernel void convert(const __global T6_STORAGE(T6_SRC) *src, __global T6_STORAGE(T6_DST) *dst) {\n"
    "    size_t i = get_global_id(0);\n"
    "    T6_STORE(T6_DST, dst, i, T6_LOAD(T6_SRC, src, i));\n"
    "}\n";

START_TEST(device_conversions_match_host)
{
    make_kernel_dir(convert_kernel);
    t6_context *ctx = t6t_context();
    T6T_OK(ctx, t6_context_set_timing(ctx, 1));
    t6i_rng rng = t6t_rng_make(3);
    enum { N = 4096 };
    float *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    t6i_fill_normal(&rng, in, N, 1000.0); /* wide range: fp16 overflows and subnormals are in it */
    in[0] = 70000.0f;
    in[1] = 1e-7f;
    in[2] = -0.0f;
    in[3] = 1.0f + ldexpf(1.0f, -11);
    for (int s = 0; s < 3; s++) {
        for (int d = 0; d < 3; d++) {
            char options[128] = "";
            t6i_define(options, sizeof options, "T6_SRC", s);
            t6i_define(options, sizeof options, "T6_DST", d);
            cl_kernel kernel = NULL;
            T6T_OK(ctx, t6i_get_kernel(ctx, "convert", options, "convert", &kernel));
            cl_mem src = NULL, dst = NULL;
            T6T_OK(ctx, t6_buffer_create(ctx, (t6_dtype)s, N, &src));
            T6T_OK(ctx, t6_buffer_create(ctx, (t6_dtype)d, N, &dst));
            T6T_OK(ctx, t6_buffer_upload(ctx, src, (t6_dtype)s, 0, N, in));
            t6i_arg args[] = {T6I_ARG_MEM(src), T6I_ARG_MEM(dst)};
            T6T_OK(ctx, t6i_set_args(ctx, kernel, "convert", args, 2));
            size_t global = N;
            t6i_op_begin(ctx);
            T6T_OK(ctx, t6i_launch(ctx, kernel, "convert", 1, &global, NULL));
            T6T_OK(ctx, t6_buffer_download(ctx, dst, (t6_dtype)d, 0, N, out));
            for (int i = 0; i < N; i++) {
                float expected = t6_round_to_dtype((t6_dtype)d, t6_round_to_dtype((t6_dtype)s, in[i]));
                ck_assert_msg(memcmp(&out[i], &expected, sizeof expected) == 0,
                              "src %d dst %d element %d: %a != %a", s, d, i, (double)out[i], (double)expected);
            }
            uint64_t ns = 0;
            T6T_OK(ctx, t6_context_last_op_time(ctx, &ns));
            ck_assert_uint_gt(ns, 0);
            clReleaseMemObject(src);
            clReleaseMemObject(dst);
        }
    }
    free(in);
    free(out);
    t6_context_destroy(ctx);
}
END_TEST

START_TEST(build_failure_reports_the_log)
{
    make_kernel_dir("__kernel void convert(__global float *x) { this is not OpenCL C; }\n");
    t6_context *ctx = t6t_context();
    cl_kernel kernel = NULL;
    T6T_STATUS(ctx, T6_ERROR_BUILD_FAILED, t6i_get_kernel(ctx, "convert", "", "convert", &kernel));
    const char *message = t6_context_last_error(ctx);
    ck_assert_msg(strstr(message, "clBuildProgram(convert)") != NULL && strlen(message) > 40, "message: %s", message);
    /* A program the table does not name, and one whose file the kernel folder lacks. */
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6i_get_kernel(ctx, "missing", "", "missing", &kernel));
    ck_assert_ptr_nonnull(strstr(t6_context_last_error(ctx), "no kernel program named 'missing'"));
    T6T_STATUS(ctx, T6_ERROR_IO, t6i_get_kernel(ctx, "merge", "", "t6_merge", &kernel));
    t6_context_destroy(ctx);
}
END_TEST

static int loaded_from_disk;

static void watch_log(t6_log_level level, const char *message, void *user_data)
{
    (void)level;
    (void)user_data;
    if (strstr(message, "loaded from the disk cache")) loaded_from_disk = 1;
}

/* Runs the conversion kernel once in a fresh context and checks its result. Returns whether the program
 * came from the disk cache. */
static int build_and_run_once(void)
{
    loaded_from_disk = 0;
    t6_set_log_callback(watch_log, T6_LOG_DEBUG, NULL);
    t6_context *ctx = t6t_context();
    cl_kernel kernel = NULL;
    T6T_OK(ctx, t6i_get_kernel(ctx, "convert", " -DT6_SRC=0 -DT6_DST=2", "convert", &kernel));
    cl_mem src = NULL, dst = NULL;
    float in[64], out[64];
    t6i_rng rng = t6t_rng_make(4);
    t6i_fill_normal(&rng, in, 64, 1.0);
    T6T_OK(ctx, t6_buffer_create(ctx, T6_F32, 64, &src));
    T6T_OK(ctx, t6_buffer_create(ctx, T6_BF16, 64, &dst));
    T6T_OK(ctx, t6_buffer_upload(ctx, src, T6_F32, 0, 64, in));
    t6i_arg args[] = {T6I_ARG_MEM(src), T6I_ARG_MEM(dst)};
    T6T_OK(ctx, t6i_set_args(ctx, kernel, "convert", args, 2));
    size_t global = 64;
    T6T_OK(ctx, t6i_launch(ctx, kernel, "convert", 1, &global, NULL));
    T6T_OK(ctx, t6_buffer_download(ctx, dst, T6_BF16, 0, 64, out));
    for (int i = 0; i < 64; i++) ck_assert_float_eq(out[i], t6_round_to_dtype(T6_BF16, in[i]));
    clReleaseMemObject(src);
    clReleaseMemObject(dst);
    t6_context_destroy(ctx);
    t6_set_log_callback(NULL, T6_LOG_INFO, NULL);
    return loaded_from_disk;
}

/* The one cache file of a fresh cache folder. */
static void only_cache_file(const char *dir, char *path, size_t cap)
{
    char command[600];
    snprintf(command, sizeof command, "ls %s/*.bin", dir);
    FILE *list = popen(command, "r");
    ck_assert_ptr_nonnull(list);
    ck_assert_ptr_nonnull(fgets(path, (int)cap, list));
    path[strcspn(path, "\n")] = '\0';
    char extra[512];
    ck_assert_msg(fgets(extra, sizeof extra, list) == NULL, "more than one cache file");
    pclose(list);
}

START_TEST(disk_cache_survives_corruption)
{
    make_kernel_dir(convert_kernel);
    char cache_dir[300];
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", kernel_dir);
    setenv("T6_CACHE_DIR", cache_dir, 1);
    ck_assert_int_eq(build_and_run_once(), 0); /* builds from source and writes the cache file */
    char path[512];
    only_cache_file(cache_dir, path, sizeof path);
    struct stat before;
    ck_assert_int_eq(stat(path, &before), 0);
    ck_assert_int_gt(before.st_size, 64);

    ck_assert_int_eq(build_and_run_once(), 1); /* loads the binary */

    /* Flip bytes in the middle of the binary: the checksum catches it and t6 rebuilds. */
    FILE *file = fopen(path, "r+b");
    ck_assert_ptr_nonnull(file);
    fseek(file, before.st_size - before.st_size / 3, SEEK_SET);
    unsigned char garbage[16];
    memset(garbage, 0xA5, sizeof garbage);
    fwrite(garbage, 1, sizeof garbage, file);
    fclose(file);
    ck_assert_int_eq(build_and_run_once(), 0);
    ck_assert_int_eq(build_and_run_once(), 1); /* the rebuild rewrote a good file */

    /* A truncated file, and then plain garbage in place of the file. */
    ck_assert_int_eq(truncate(path, before.st_size / 2), 0);
    ck_assert_int_eq(build_and_run_once(), 0);
    write_file(path, "not a program binary");
    ck_assert_int_eq(build_and_run_once(), 0);
    ck_assert_int_eq(build_and_run_once(), 1);

    /* An unwritable cache folder is not an error either. */
    setenv("T6_CACHE_DIR", "/proc/t6-cannot-write-here", 1);
    build_and_run_once();
    setenv("T6_CACHE_DIR", "", 1); /* off */
    ck_assert_int_eq(build_and_run_once(), 0);
    ck_assert_int_eq(build_and_run_once(), 0);
}
END_TEST

/* A FIFO or a folder under a kernel source's name in T6_KERNEL_DIR, or a FIFO under a cached binary's name, is
 * refused at once (before, open() waited forever for a writer): the source is an error naming the file and what
 * it is, the cache file means a rebuild, whose binary then takes the FIFO's place. */
START_TEST(special_files_are_refused_without_blocking)
{
    alarm(120); /* a hang fails the test now instead of at Check's timeout */
    make_kernel_dir(convert_kernel);
    char path[512];
    snprintf(path, sizeof path, "%s/common.cl", kernel_dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    t6_context *ctx = t6t_context();
    cl_kernel kernel = NULL;
    T6T_STATUS(ctx, T6_ERROR_IO, t6i_get_kernel(ctx, "convert", "", "convert", &kernel));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "common.cl is not a regular file (a FIFO)"), "%s",
                  t6_context_last_error(ctx));
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    T6T_STATUS(ctx, T6_ERROR_IO, t6i_get_kernel(ctx, "convert", "", "convert", &kernel));
    ck_assert_msg(strstr(t6_context_last_error(ctx), "(a folder)"), "%s", t6_context_last_error(ctx));
    ck_assert_int_eq(rmdir(path), 0);
    t6_context_destroy(ctx);

    make_kernel_dir(convert_kernel);
    char cache_dir[300];
    snprintf(cache_dir, sizeof cache_dir, "%s/fifo-cache", kernel_dir);
    setenv("T6_CACHE_DIR", cache_dir, 1);
    ck_assert_int_eq(build_and_run_once(), 0);
    char cached[512];
    only_cache_file(cache_dir, cached, sizeof cached);
    ck_assert_int_eq(unlink(cached), 0);
    ck_assert_int_eq(mkfifo(cached, 0644), 0);
    ck_assert_int_eq(build_and_run_once(), 0); /* rebuilt from source */
    struct stat st;
    ck_assert_int_eq(stat(cached, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(build_and_run_once(), 1);
    alarm(0);
}
END_TEST

START_TEST(params_are_checked)
{
    t6_context *ctx = t6t_context();
    t6_op op;
    T6T_OK(NULL, t6_op_from_name("decode", &op));
    ck_assert_int_eq(op, T6_OP_DECODE);
    ck_assert_str_eq(t6_op_name(T6_OP_MHA_PREFILL), "mha_prefill");
    ck_assert_ptr_null(t6_op_name(T6_OP_COUNT));
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, t6_op_from_name("nope", &op));
    for (int o = 0; o < T6_OP_COUNT; o++) {
        for (int i = 0; i < t6_op_param_count((t6_op)o); i++) {
            t6_param_info info;
            T6T_OK(NULL, t6_op_param_info((t6_op)o, i, &info));
            ck_assert(info.min_value <= info.default_value && info.default_value <= info.max_value);
            T6T_OK(ctx, t6_context_set_param(ctx, (t6_op)o, info.name, info.default_value));
            T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT,
                       t6_context_set_param(ctx, (t6_op)o, info.name, info.max_value + 1));
        }
        T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_set_param(ctx, (t6_op)o, "T6_NO_SUCH_PARAM", 1));
    }
    T6T_OK(ctx, t6_context_clear_params(ctx, T6_OP_COUNT));
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_set_param(ctx, (t6_op)99, "x", 1));
    uint64_t ns;
    T6T_STATUS(ctx, T6_ERROR_INVALID_ARGUMENT, t6_context_last_op_time(ctx, &ns)); /* nothing timed yet */
    t6_context_destroy(ctx);
}
END_TEST

/* Every tunable's default in the C table equals the #define in its .cl file. */
START_TEST(param_defaults_match_kernel_sources)
{
    for (int o = 0; o < T6_OP_COUNT; o++) {
        int count = 0;
        const t6i_param_def *defs = t6i_op_params((t6_op)o, &count);
        for (int i = 0; i < count; i++) {
            char needle[128];
            snprintf(needle, sizeof needle, "#define %s ", defs[i].name);
            int found = 0;
            const char *name = NULL;
            size_t length = 0;
            const char *text = NULL;
            for (size_t s = 0; (text = t6i_embedded_source_at(s, &name, &length)) != NULL; s++) {
                const char *at = strstr(text, needle);
                if (!at) continue;
                found = 1;
                int value = atoi(at + strlen(needle));
                ck_assert_msg(value == defs[i].default_value, "%s: %s.cl says %d, the table says %d", defs[i].name,
                              name, value, defs[i].default_value);
            }
            ck_assert_msg(found, "%s (op %s) has no #define in kernels_cl/", defs[i].name, t6_op_name((t6_op)o));
        }
    }
}
END_TEST

/* Build options: t6i_define writes what snprintf(" -D%s=%lld") would, cut where the buffer ends; the options of
 * an op's tunables name exactly those its source mentions, the first call (which scans) and later ones (which
 * remember) alike. */
START_TEST(options_are_built_exactly)
{
    static const long long values[] = {0, 7, -3, 1234567890123LL, LLONG_MIN, LLONG_MAX};
    char got[256], want[256];
    got[0] = want[0] = '\0';
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        t6i_define(got, sizeof got, "T6_X", values[i]);
        size_t used = strlen(want);
        snprintf(want + used, sizeof want - used, " -D%s=%lld", "T6_X", values[i]);
        ck_assert_str_eq(got, want);
    }
    for (size_t cap = 1; cap < 24; cap++) {
        char small[24] = " -DA=1", expected[24] = " -DA=1";
        small[cap - 1 < 6 ? cap - 1 : 6] = expected[cap - 1 < 6 ? cap - 1 : 6] = '\0';
        t6i_define(small, cap, "T6_LONGER_NAME", -42);
        size_t used = strlen(expected);
        if (used < cap) snprintf(expected + used, cap - used, " -D%s=%lld", "T6_LONGER_NAME", -42LL);
        ck_assert_str_eq(small, expected);
    }
    for (int o = 0; o < T6_OP_COUNT; o++) {
        t6i_params params;
        memset(&params, 0, sizeof params);
        params.op = (t6_op)o;
        params.defs = t6i_op_params((t6_op)o, &params.count);
        for (int i = 0; i < params.count; i++) params.values[i] = params.defs[i].default_value + i;
        const char *name = NULL;
        size_t length = 0;
        const char *text = NULL;
        for (size_t s = 0; (text = t6i_embedded_source_at(s, &name, &length)) != NULL; s++) {
            /* A program (kernels_cl/programs.txt) is built with the tunables any of its files names. */
            const char *const *files = t6i_program_files(name);
            if (!files) continue; /* a prelude, not a program of its own */
            char expected[2048] = "", first[2048] = "", second[2048] = "";
            for (int i = 0; i < params.count; i++) {
                bool named = false;
                for (int f = 0; files[f]; f++) {
                    size_t file_length = 0;
                    const char *file_text = t6i_embedded_source(files[f], &file_length);
                    named = named || t6i_source_mentions(file_text, file_length, params.defs[i].name);
                }
                if (named) t6i_define(expected, sizeof expected, params.defs[i].name, params.values[i]);
            }
            t6i_params_append_options(&params, name, first, sizeof first);
            t6i_params_append_options(&params, name, second, sizeof second);
            ck_assert_str_eq(first, expected);
            ck_assert_str_eq(second, expected);
        }
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("runtime");
    TCase *host = tcase_create("host");
    tcase_add_test(host, status_strings_and_version);
    tcase_add_test(host, opencl_failures_are_classified);
    tcase_add_test(host, structs_grow_without_breaking_callers);
    tcase_add_test(host, half_conversion_rounds_to_nearest_even);
    tcase_add_test(host, bf16_conversion_rounds_to_nearest_even);
    tcase_add_test(host, identity_normalization);
    tcase_add_test(host, param_defaults_match_kernel_sources);
    tcase_add_test(host, options_are_built_exactly);
    suite_add_tcase(suite, host);
    TCase *device = tcase_create("device");
    tcase_set_timeout(device, 300);
    tcase_add_test(device, devices_are_described);
    tcase_add_test(device, context_selection);
    tcase_add_test(device, public_calls_check_struct_size);
    tcase_add_test(device, wraps_application_context);
    tcase_add_test(device, wrapped_objects_are_retained_until_destroy);
    tcase_add_test(device, objects_keep_the_context_alive);
    tcase_add_test(device, queue_can_be_switched);
    tcase_add_test(device, context_options_override_the_environment);
    tcase_add_test(device, context_log_is_its_own);
    tcase_add_test(device, self_test_reports_wrong_results);
    tcase_add_test(device, buffers_round_trip_in_every_dtype);
    tcase_add_test(device, device_conversions_match_host);
    tcase_add_test(device, build_failure_reports_the_log);
    tcase_add_test(device, disk_cache_survives_corruption);
    tcase_add_test(device, special_files_are_refused_without_blocking);
    tcase_add_test(device, params_are_checked);
    suite_add_tcase(suite, device);
    return t6t_run(suite);
}
