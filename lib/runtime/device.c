/* device.c — enumerating OpenCL devices, describing them, and the normalized identity profiles match on. */
#include "runtime/runtime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cl_nv_device_attribute_query and cl_amd_device_attribute_query, read only when the extension is present. */
#define T6I_CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV 0x4000
#define T6I_CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV 0x4001
#define T6I_CL_DEVICE_GFXIP_MAJOR_AMD 0x404A
/* cl_intel_device_attribute_query: a bit field whose DPAS flag marks the GPUs with systolic arrays. */
#define T6I_CL_DEVICE_FEATURE_CAPABILITIES_INTEL 0x4256
#define T6I_CL_DEVICE_FEATURE_FLAG_DPAS_INTEL (1u << 1)

t6_status t6i_list_devices(cl_device_id **devices_out, cl_platform_id **platforms_out, int *count_out)
{
    t6_status status = T6_SUCCESS;
    cl_platform_id *platforms = NULL;
    cl_device_id *devices = NULL;
    cl_platform_id *owners = NULL;
    cl_uint platform_count = 0;
    *devices_out = NULL;
    *platforms_out = NULL;
    *count_out = 0;

    cl_int err = clGetPlatformIDs(0, NULL, &platform_count);
    /* The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR when no driver is installed: that is zero devices. */
    if (err == -1001 || platform_count == 0) return T6_SUCCESS;
    T6I_CHECK_CL(NULL, err, "clGetPlatformIDs");
    T6I_ALLOC(NULL, platforms, platform_count);
    T6I_CHECK_CL(NULL, clGetPlatformIDs(platform_count, platforms, NULL), "clGetPlatformIDs");

    int total = 0;
    for (cl_uint p = 0; p < platform_count; p++) {
        cl_uint n = 0;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n);
        if (err == CL_DEVICE_NOT_FOUND) continue;
        T6I_CHECK_CL(NULL, err, "clGetDeviceIDs");
        total += (int)n;
    }
    T6I_ALLOC(NULL, devices, total);
    T6I_ALLOC(NULL, owners, total);
    int filled = 0;
    for (cl_uint p = 0; p < platform_count && filled < total; p++) {
        cl_uint n = 0;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, (cl_uint)(total - filled), devices + filled, &n);
        if (err == CL_DEVICE_NOT_FOUND) continue;
        T6I_CHECK_CL(NULL, err, "clGetDeviceIDs");
        for (cl_uint i = 0; i < n; i++) owners[filled + (int)i] = platforms[p];
        filled += (int)n;
    }
    *devices_out = devices;
    *platforms_out = owners;
    *count_out = filled;
    devices = NULL;
    owners = NULL;
cleanup:
    free(platforms);
    free(devices);
    free(owners);
    return status;
}

t6_status t6_device_count(int *count)
{
    if (!count) return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_device_count: count is NULL");
    cl_device_id *devices = NULL;
    cl_platform_id *platforms = NULL;
    t6_status status = t6i_list_devices(&devices, &platforms, count);
    free(devices);
    free(platforms);
    return status;
}

t6_status t6_device_describe(int index, t6_device_info *info)
{
    t6_status status = T6_SUCCESS;
    cl_device_id *devices = NULL;
    cl_platform_id *platforms = NULL;
    int count = 0;
    t6_device_info described;
    T6I_REQUIRE(NULL, info, "t6_device_describe: info is NULL");
    T6I_TRY(t6i_list_devices(&devices, &platforms, &count));
    if (index < 0 || index >= count) {
        status = t6i_fail(NULL, T6_ERROR_DEVICE_NOT_FOUND, "t6_device_describe: no device %d (there are %d)",
                          index, count);
        goto cleanup;
    }
    T6I_TRY(t6i_describe_device(NULL, platforms[index], devices[index], &described));
    T6I_TRY(T6I_STRUCT_OUT(NULL, t6_device_info, info, &described));
cleanup:
    free(devices);
    free(platforms);
    return status;
}

static void copy_trimmed(char *dst, size_t cap, const char *src)
{
    while (*src && isspace((unsigned char)*src)) src++;
    size_t n = strlen(src);
    while (n > 0 && isspace((unsigned char)src[n - 1])) n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void lowercase(char *text)
{
    for (; *text; text++) *text = (char)tolower((unsigned char)*text);
}

/* Case-insensitive comparison of the first n characters (strncasecmp is not C11). */
static bool prefix_ci(const char *text, const char *prefix, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!text[i] || tolower((unsigned char)text[i]) != tolower((unsigned char)prefix[i])) return false;
    return true;
}

static bool contains_ci(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack; haystack++)
        if (prefix_ci(haystack, needle, n)) return true;
    return false;
}

bool t6i_device_has_extension(cl_device_id device, const char *name)
{
    size_t size = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || size == 0) return false;
    char *text = malloc(size + 1);
    if (!text) return false;
    bool found = false;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, text, NULL) == CL_SUCCESS) {
        text[size] = '\0';
        /* Whole words only: "cl_khr_fp16" must not match "cl_khr_fp16_extra". */
        const size_t n = strlen(name);
        for (const char *at = strstr(text, name); at && !found; at = strstr(at + 1, name))
            found = (at == text || isspace((unsigned char)at[-1])) && (at[n] == '\0' || isspace((unsigned char)at[n]));
    }
    free(text);
    return found;
}

/* Intel's compiler takes -cl-intel-256-GRF-per-thread on the GPUs whose threads can hold 256 registers: Xe-HP,
 * Xe-HPG (Arc A, Flex), Xe-HPC (Max) and Xe2, the same GPUs that have DPAS (oneDNN keys its large-GRF kernels
 * on that flag too). Xe-LP and older have neither; a driver without the query is not trusted with the option. */
bool t6i_device_has_large_grf(cl_device_id device, const t6_device_info *info)
{
    if (!info->is_gpu || strcmp(info->normalized_vendor, "intel") != 0 ||
        !t6i_device_has_extension(device, "cl_intel_device_attribute_query"))
        return false;
    cl_bitfield features = 0;
    return clGetDeviceInfo(device, T6I_CL_DEVICE_FEATURE_CAPABILITIES_INTEL, sizeof features, &features, NULL) ==
               CL_SUCCESS &&
           (features & T6I_CL_DEVICE_FEATURE_FLAG_DPAS_INTEL) != 0;
}

/* Families group devices that share tuning behaviour when no profile names the exact device. NVIDIA and AMD
 * families come from the compute capability / gfx version the driver reports (filled in before this runs);
 * the rest are read off names. */
static void guess_family(t6_device_info *info)
{
    if (info->family[0]) return;
    const char *n = info->name;
    if (strcmp(info->normalized_vendor, "nvidia") == 0) {
        static const struct { const char *marker, *family; } nv[] = {
            {"H100", "sm_90"}, {"H200", "sm_90"}, {"GH200", "sm_90"}, {"A100", "sm_80"}, {"A30", "sm_80"},
            {"A10", "sm_86"}, {"RTX 30", "sm_86"}, {"RTX 40", "sm_89"}, {"L40", "sm_89"}, {"L4", "sm_89"},
            {"RTX 50", "sm_120"}, {"B200", "sm_100"}, {"V100", "sm_70"}, {"T4", "sm_75"}, {"RTX 20", "sm_75"}};
        for (size_t i = 0; i < sizeof nv / sizeof nv[0]; i++)
            if (contains_ci(n, nv[i].marker)) {
                snprintf(info->family, sizeof info->family, "%s", nv[i].family);
                return;
            }
    } else if (strcmp(info->normalized_vendor, "amd") == 0) {
        if (prefix_ci(n, "gfx", 3) && isdigit((unsigned char)n[3])) {
            /* gfx90a → gfx9, gfx1100 → gfx11: the major version is all digits but the last two. It tells GCN and
             * CDNA (gfx9, wave64) from RDNA (gfx10-gfx12, wave32 by default in OpenCL). */
            size_t digits = 0;
            while (isdigit((unsigned char)n[3 + digits])) digits++;
            if (strlen(n + 3) >= 3 && digits >= 3) digits -= 2;
            else if (digits >= 2) digits = 1;
            snprintf(info->family, sizeof info->family, "gfx%.*s", (int)digits, n + 3);
            return;
        }
    } else if (strcmp(info->normalized_vendor, "intel") == 0) {
        /* Xe comes in tiers with different register files and SIMD widths: HPC (Max, "Ponte Vecchio", SIMD16 and
         * 128 or 256 GRF), HPG (Arc A, Flex: DG2, SIMD8) and LP (Iris Xe, integrated); Arc B is Xe2-HPG. */
        const char *family = NULL;
        if (contains_ci(n, "Data Center GPU Max") || contains_ci(n, "Ponte Vecchio")) family = "xe-hpc";
        else if (contains_ci(n, "Arc(TM) B") || contains_ci(n, "Arc B")) family = "xe2-hpg";
        else if (contains_ci(n, "Arc(TM) A") || contains_ci(n, "Arc A") || contains_ci(n, "Data Center GPU Flex") ||
                 contains_ci(n, "DG2"))
            family = "xe-hpg";
        else if (contains_ci(n, "Xe Graphics") || contains_ci(n, "Iris Xe") || contains_ci(n, "Arc"))
            family = "xe-lp"; /* Iris(R) Xe, and the integrated "Arc(TM) Graphics" */
        if (family)
            snprintf(info->family, sizeof info->family, "%s", family);
        else if (contains_ci(n, "UHD") || contains_ci(n, "HD Graphics") || contains_ci(n, "Iris"))
            snprintf(info->family, sizeof info->family, "gen9");
        else if (!info->is_gpu)
            snprintf(info->family, sizeof info->family, "x86-cpu");
        return;
    }
    if (strcmp(info->normalized_vendor, "rusticl") == 0) {
        /* Gallium's software rasterizer ("llvmpipe (LLVM 15.0.6, 256 bits)"): the CPU runs each group's
         * work-items in SIMD lanes as a GPU would, with 32 KiB of local memory and no fp64. */
        if (prefix_ci(n, "llvmpipe", 8)) snprintf(info->family, sizeof info->family, "llvmpipe");
        return;
    }
    if (!info->is_gpu) {
        /* PoCL names carry the LLVM CPU name ("skylake-avx512"): its vector width is what matters. */
        if (contains_ci(n, "avx512")) snprintf(info->family, sizeof info->family, "x86-avx512");
        else if (contains_ci(n, "znver") || contains_ci(n, "haswell") || contains_ci(n, "skylake") ||
                 contains_ci(n, "avx2"))
            snprintf(info->family, sizeof info->family, "x86-avx2");
        else if (contains_ci(n, "neoverse") || contains_ci(n, "apple") || contains_ci(n, "cortex"))
            snprintf(info->family, sizeof info->family, "arm64");
    }
}

void t6i_normalize_identity(t6_device_info *info)
{
    char vendor[T6_INFO_TEXT];
    copy_trimmed(vendor, sizeof vendor, info->vendor);
    const char *v = "";
    if (info->vendor_id == 0x10DE || contains_ci(vendor, "nvidia")) v = "nvidia";
    else if (info->vendor_id == 0x1002 || contains_ci(vendor, "advanced micro") || contains_ci(vendor, "amd"))
        v = "amd";
    else if (info->vendor_id == 0x8086 || contains_ci(vendor, "intel")) v = "intel";
    /* A PoCL CPU device reports the CPU maker as vendor, Mesa's rusticl "Mesa/X.org" (id 0) on llvmpipe and the
     * GPU maker's id on radeonsi, iris or nouveau: the driver, whose compiler builds every kernel, is what tuning
     * follows (and NVIDIA's inline PTX must not be tried on rusticl's nouveau). */
    if (contains_ci(info->platform_name, "portable computing language") || contains_ci(info->platform_name, "pocl"))
        v = "pocl";
    else if (contains_ci(info->platform_name, "rusticl"))
        v = "rusticl";
    if (*v) snprintf(info->normalized_vendor, sizeof info->normalized_vendor, "%s", v);
    else {
        copy_trimmed(info->normalized_vendor, sizeof info->normalized_vendor, vendor);
        lowercase(info->normalized_vendor);
    }

    char name[T6_INFO_TEXT];
    copy_trimmed(name, sizeof name, info->name);
    const char *n = name;
    /* PoCL names its CPU device "pthread-<cpu>" or "cpu-<cpu>" depending on the build: the same hardware. */
    if (strncmp(n, "pthread-", 8) == 0) n += 8;
    else if (strncmp(n, "cpu-", 4) == 0) n += 4;
    /* Collapse inner runs of spaces, which some drivers pad names with. */
    size_t o = 0;
    for (; *n && o + 1 < sizeof info->normalized_name; n++) {
        if (isspace((unsigned char)*n) && o > 0 && info->normalized_name[o - 1] == ' ') continue;
        info->normalized_name[o++] = isspace((unsigned char)*n) ? ' ' : *n;
    }
    info->normalized_name[o] = '\0';
    snprintf(info->identity, sizeof info->identity, "%s/%s", info->normalized_vendor, info->normalized_name);
    guess_family(info);
}

void t6i_parse_cl_version(const char *text, int *major, int *minor)
{
    *major = 0;
    *minor = 0;
    const char *p = strstr(text, "OpenCL ");
    if (!p) return;
    p += 7;
    if (strncmp(p, "C ", 2) == 0) p += 2;
    if (sscanf(p, "%d.%d", major, minor) != 2) {
        *major = 0;
        *minor = 0;
    }
}

static t6_status get_text(const t6_context *ctx, cl_device_id device, cl_device_info what, char *dst, size_t cap,
                          const char *label)
{
    t6_status status = T6_SUCCESS;
    size_t size = 0;
    char *buffer = NULL;
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, what, 0, NULL, &size), label);
    T6I_ALLOC(ctx, buffer, size + 1);
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, what, size, buffer, NULL), label);
    copy_trimmed(dst, cap, buffer);
cleanup:
    free(buffer);
    return status;
}

static t6_status get_platform_text(const t6_context *ctx, cl_platform_id platform, cl_platform_info what, char *dst,
                                   size_t cap)
{
    t6_status status = T6_SUCCESS;
    size_t size = 0;
    char *buffer = NULL;
    T6I_CHECK_CL(ctx, clGetPlatformInfo(platform, what, 0, NULL, &size), "clGetPlatformInfo");
    T6I_ALLOC(ctx, buffer, size + 1);
    T6I_CHECK_CL(ctx, clGetPlatformInfo(platform, what, size, buffer, NULL), "clGetPlatformInfo");
    copy_trimmed(dst, cap, buffer);
cleanup:
    free(buffer);
    return status;
}

/* The preferred work-group multiple is a kernel property in OpenCL: ask it of a trivial kernel. Failure here
 * is not fatal (some drivers cannot build without a context we are about to create); 1 is a safe answer. */
static size_t probe_work_group_multiple(cl_device_id device)
{
    static const char *source = "__kernel void t6_probe(__global float *x) { x[get_global_id(0)] *= 2.0f; }";
    size_t multiple = 1;
    cl_int err = CL_SUCCESS;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (err != CL_SUCCESS) return 1;
    cl_program program = clCreateProgramWithSource(context, 1, &source, NULL, &err);
    if (err == CL_SUCCESS && clBuildProgram(program, 1, &device, "", NULL, NULL) == CL_SUCCESS) {
        cl_kernel kernel = clCreateKernel(program, "t6_probe", &err);
        if (err == CL_SUCCESS) {
            if (clGetKernelWorkGroupInfo(kernel, device, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                                         sizeof multiple, &multiple, NULL) != CL_SUCCESS || multiple == 0)
                multiple = 1;
            clReleaseKernel(kernel);
        }
    }
    if (program) clReleaseProgram(program);
    clReleaseContext(context);
    return multiple;
}

t6_status t6i_describe_device(const t6_context *ctx, cl_platform_id platform, cl_device_id device,
                              t6_device_info *info)
{
    t6_status status = T6_SUCCESS;
    char extensions[8192] = "";
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    T6I_TRY(get_platform_text(ctx, platform, CL_PLATFORM_NAME, info->platform_name, sizeof info->platform_name));
    T6I_TRY(get_platform_text(ctx, platform, CL_PLATFORM_VENDOR, info->platform_vendor,
                              sizeof info->platform_vendor));
    T6I_TRY(get_platform_text(ctx, platform, CL_PLATFORM_VERSION, info->platform_version,
                              sizeof info->platform_version));
    T6I_TRY(get_text(ctx, device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor, "clGetDeviceInfo(VENDOR)"));
    T6I_TRY(get_text(ctx, device, CL_DEVICE_NAME, info->name, sizeof info->name, "clGetDeviceInfo(NAME)"));
    T6I_TRY(get_text(ctx, device, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version,
                     "clGetDeviceInfo(DRIVER_VERSION)"));
    T6I_TRY(get_text(ctx, device, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version,
                     "clGetDeviceInfo(VERSION)"));
    T6I_TRY(get_text(ctx, device, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
                     sizeof info->opencl_c_version, "clGetDeviceInfo(OPENCL_C_VERSION)"));
    T6I_TRY(get_text(ctx, device, CL_DEVICE_EXTENSIONS, extensions, sizeof extensions,
                     "clGetDeviceInfo(EXTENSIONS)"));

    cl_uint vendor_id = 0, units = 0, clock = 0;
    cl_ulong global = 0, local = 0, max_alloc = 0;
    cl_device_type type = 0;
    size_t max_wg = 0;
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, CL_DEVICE_VENDOR_ID, sizeof vendor_id, &vendor_id, NULL),
                 "clGetDeviceInfo(VENDOR_ID)");
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL),
                 "clGetDeviceInfo(MAX_COMPUTE_UNITS)");
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL),
                 "clGetDeviceInfo(MAX_CLOCK_FREQUENCY)");
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL),
                 "clGetDeviceInfo(GLOBAL_MEM_SIZE)");
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL),
                 "clGetDeviceInfo(MAX_MEM_ALLOC_SIZE)");
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL),
                 "clGetDeviceInfo(LOCAL_MEM_SIZE)");
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL),
                 "clGetDeviceInfo(MAX_WORK_GROUP_SIZE)");
    T6I_CHECK_CL(ctx, clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL), "clGetDeviceInfo(TYPE)");
    info->vendor_id = vendor_id;
    info->compute_units = units;
    info->clock_mhz = clock;
    info->global_mem_bytes = global;
    info->max_alloc_bytes = max_alloc;
    info->local_mem_bytes = local;
    info->max_work_group_size = max_wg;
    info->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    info->has_fp16 = strstr(extensions, "cl_khr_fp16") != NULL;
    info->has_fp64 = strstr(extensions, "cl_khr_fp64") != NULL;
    info->preferred_work_group_multiple = probe_work_group_multiple(device);

    if (strstr(extensions, "cl_nv_device_attribute_query")) {
        cl_uint major = 0, minor = 0;
        if (clGetDeviceInfo(device, T6I_CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV, sizeof major, &major, NULL) ==
                CL_SUCCESS &&
            clGetDeviceInfo(device, T6I_CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV, sizeof minor, &minor, NULL) ==
                CL_SUCCESS)
            snprintf(info->family, sizeof info->family, "sm_%u%u", major, minor);
    } else if (strstr(extensions, "cl_amd_device_attribute_query")) {
        cl_uint major = 0;
        if (clGetDeviceInfo(device, T6I_CL_DEVICE_GFXIP_MAJOR_AMD, sizeof major, &major, NULL) == CL_SUCCESS &&
            major > 0)
            snprintf(info->family, sizeof info->family, "gfx%u", major);
    }
    t6i_normalize_identity(info);
cleanup:
    return status;
}
