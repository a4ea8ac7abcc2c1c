/* kernel_build_report.c — builds a program of kernels_cl/programs.txt (its files in order, as lib/runtime/program.c;
 * PROGRAM, default attention_decode) on the first GPU with the given options plus NVIDIA's -cl-nv-verbose, and
 * prints what the driver says: ptxas's registers and spills per kernel and the PTX version and target of the
 * binary (NVIDIA returns PTX text), or the head of the log when the build fails (inline PTX refused, say). The
 * kernel-builds step of tuner/gpu/reproduce.sh runs it; it uses OpenCL only, so it says something even where t6
 * would quietly fall back.
 * Usage: [PROGRAM=attention_mma] kernel_build_report KERNEL_DIR LABEL OPTIONS... */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *dir, const char *name, size_t *length)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    rewind(file);
    char *text = malloc((size_t)size + 1);
    if (text && fread(text, 1, (size_t)size, file) != (size_t)size) size = 0;
    if (text) text[size] = '\0';
    fclose(file);
    *length = (size_t)size;
    return text;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s KERNEL_DIR LABEL [OPTIONS...]\n", argv[0]);
        return 2;
    }
    char options[4096] = "-cl-std=CL1.2 -cl-nv-verbose";
    for (int i = 3; i < argc; i++) {
        strncat(options, " ", sizeof options - strlen(options) - 1);
        strncat(options, argv[i], sizeof options - strlen(options) - 1);
    }
    /* The program's line of programs.txt: its name, then its files without .cl. */
    const char *wanted = getenv("PROGRAM") ? getenv("PROGRAM") : "attention_decode";
    size_t table_length = 0, lengths[8];
    char *table = slurp(argv[1], "programs.txt", &table_length), *sources[8];
    cl_uint count = 0;
    for (char *line = table, *next; line && count == 0; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *name = strtok(line, " \t"); /* one line at a time: strtok's state never spans two */
        if (!name || name[0] == '#' || strcmp(name, wanted) != 0) continue;
        for (char *file = strtok(NULL, " \t"); file && count < 8; file = strtok(NULL, " \t")) {
            char path[256];
            snprintf(path, sizeof path, "%s.cl", file);
            if (!(sources[count] = slurp(argv[1], path, &lengths[count]))) break;
            count++;
        }
    }
    if (count == 0) {
        fprintf(stderr, "cannot read program %s of %s/programs.txt\n", wanted, argv[1]);
        return 1;
    }
    cl_platform_id platforms[8];
    cl_uint platform_count = 0;
    cl_device_id device = NULL;
    clGetPlatformIDs(8, platforms, &platform_count);
    for (cl_uint i = 0; i < platform_count && !device; i++)
        if (clGetDeviceIDs(platforms[i], CL_DEVICE_TYPE_GPU, 1, &device, NULL) != CL_SUCCESS) device = NULL;
    if (!device) {
        fprintf(stderr, "no GPU\n");
        return 1;
    }
    cl_int err = CL_SUCCESS;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    cl_program program = clCreateProgramWithSource(context, count, (const char **)sources, lengths, &err);
    const cl_int built = clBuildProgram(program, 1, &device, options, NULL, NULL);
    size_t log_size = 0;
    clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size);
    char *log = calloc(log_size + 1, 1);
    clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, log_size, log, NULL);
    printf("%-34s %s\n", argv[2], built == CL_SUCCESS ? "built" : "BUILD FAILED");
    int shown = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        const int wanted = built != CL_SUCCESS ? shown < 12
                                               : strstr(line, "registers") || strstr(line, "spill") ||
                                                     strstr(line, "Compiling entry");
        if (wanted) {
            printf("    %.200s\n", line);
            shown++;
        }
    }
    free(log);
    size_t binary_size = 0;
    if (built == CL_SUCCESS &&
        clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof binary_size, &binary_size, NULL) == CL_SUCCESS &&
        binary_size > 0) {
        unsigned char *binary = calloc(binary_size + 1, 1);
        if (binary && clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL) == CL_SUCCESS)
            for (char *line = strtok((char *)binary, "\n"); line; line = strtok(NULL, "\n"))
                if (strncmp(line, ".version", 8) == 0 || strncmp(line, ".target", 7) == 0) printf("    %s\n", line);
        free(binary);
    }
    clReleaseProgram(program);
    clReleaseContext(context);
    for (cl_uint i = 0; i < count; i++) free(sources[i]);
    free(table);
    return built == CL_SUCCESS ? 0 : 1;
}
