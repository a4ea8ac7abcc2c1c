/* safetensors.c — the checkpoint reader: parses and checks the whole header when a file is opened, so that
 * reading a tensor later can trust its offsets (see safetensors.h for the format). */
#include "model/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Every dtype the format defines, so that a checkpoint with an int64 step counter still opens; only F32, F16
 * and BF16 tensors can be read as floats. */
static const struct {
    const char *name;
    size_t size;
    int t6;  /* t6_dtype, or -1 */
} dtypes[] = {
    {"F32", 4, T6_F32}, {"F16", 2, T6_F16}, {"BF16", 2, T6_BF16}, {"F64", 8, -1},    {"I64", 8, -1},
    {"U64", 8, -1},     {"I32", 4, -1},     {"U32", 4, -1},       {"I16", 2, -1},    {"U16", 2, -1},
    {"I8", 1, -1},      {"U8", 1, -1},      {"BOOL", 1, -1},      {"F8_E5M2", 1, -1}, {"F8_E4M3", 1, -1},
};

/* JSON numbers are doubles: integers are exact up to 2^53, which is far beyond any file t6 can map. */
static bool json_size(const cJSON *item, uint64_t *value)
{
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!(v >= 0.0 && v <= 9007199254740992.0) || v != floor(v)) return false;
    *value = (uint64_t)v;
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const t6i_st_tensor *)a)->name, ((const t6i_st_tensor *)b)->name);
}

static int compare_begins(const void *a, const void *b)
{
    uint64_t x = (*(const t6i_st_tensor *const *)a)->begin, y = (*(const t6i_st_tensor *const *)b)->begin;
    return x < y ? -1 : x > y;
}

/* Fills `tensor` from one header entry and checks it against the data section. */
static t6_status parse_entry(const t6_context *ctx, const t6i_safetensors *st, const cJSON *entry,
                             t6i_st_tensor *tensor)
{
    const char *label = st->label, *name = tensor->name;
    if (!cJSON_IsObject(entry))
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' is not a JSON object", label, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dtype))
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' has no \"dtype\" string", label, name);
    int found = -1;
    for (int i = 0; i < (int)(sizeof dtypes / sizeof dtypes[0]) && found < 0; i++)
        if (strcmp(dtypes[i].name, dtype->valuestring) == 0) found = i;
    if (found < 0)
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' has unknown dtype \"%.32s\"", label, name,
                        dtype->valuestring);
    snprintf(tensor->dtype_name, sizeof tensor->dtype_name, "%s", dtypes[found].name);
    tensor->element_size = dtypes[found].size;
    tensor->readable = dtypes[found].t6 >= 0;
    tensor->dtype = tensor->readable ? (t6_dtype)dtypes[found].t6 : T6_F32;

    if (!cJSON_IsArray(shape))
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' has no \"shape\" array", label, name);
    int rank = cJSON_GetArraySize(shape);
    if (rank > T6I_ST_MAX_RANK)
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' has rank %d; at most %d is supported", label, name,
                        rank, T6I_ST_MAX_RANK);
    tensor->rank = rank;
    tensor->elements = 1;
    int d = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, d++) {
        if (!json_size(dim, &tensor->shape[d]))
            return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s': shape entry %d is not a non-negative integer",
                            label, name, d);
        /* The product is bounded by the data section before it can overflow: any dimension above the
         * section's size in elements is already a lie. */
        uint64_t dim_size = tensor->shape[d];
        if (dim_size != 0 && tensor->elements > st->data_size / dim_size)
            tensor->elements = UINT64_MAX;
        else
            tensor->elements *= dim_size;
    }
    if (tensor->elements != UINT64_MAX && tensor->elements > st->data_size / tensor->element_size)
        tensor->elements = UINT64_MAX;

    uint64_t begin = 0, end = 0;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 || !json_size(offsets->child, &begin) ||
        !json_size(offsets->child->next, &end))
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' needs \"data_offsets\": [begin, end] in bytes",
                        label, name);
    if (begin > end || end > st->data_size)
        return t6i_fail(ctx, T6_ERROR_FORMAT,
                        "%s: tensor '%s' claims bytes %llu..%llu, outside the data section of %llu bytes (a "
                        "truncated file, or offsets that lie)",
                        label, name, (unsigned long long)begin, (unsigned long long)end,
                        (unsigned long long)st->data_size);
    if (tensor->elements == UINT64_MAX || end - begin != tensor->elements * tensor->element_size)
        return t6i_fail(ctx, T6_ERROR_FORMAT,
                        "%s: tensor '%s' holds %llu bytes but its shape and dtype %s need %s", label, name,
                        (unsigned long long)(end - begin), tensor->dtype_name,
                        tensor->elements == UINT64_MAX ? "more than the whole file" : "a different size");
    tensor->begin = begin;
    tensor->end = end;
    return T6_SUCCESS;
}

/* Tensors must not share bytes: a writer that overlaps them is broken, and a reader must not guess. */
static t6_status check_overlaps(const t6_context *ctx, const t6i_safetensors *st)
{
    if (st->count < 2) return T6_SUCCESS;
    const t6i_st_tensor **order = malloc((size_t)st->count * sizeof *order);
    if (!order) return t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (safetensors)");
    for (int i = 0; i < st->count; i++) order[i] = &st->tensors[i];
    qsort(order, (size_t)st->count, sizeof *order, compare_begins);
    t6_status status = T6_SUCCESS;
    for (int i = 1; i < st->count && status == T6_SUCCESS; i++)
        if (order[i]->begin < order[i - 1]->end)
            status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section",
                              st->label, order[i - 1]->name, order[i]->name);
    free(order);
    return status;
}

static t6_status parse_header(const t6_context *ctx, t6i_safetensors *st, const char *text, size_t length)
{
    t6_status status = T6_SUCCESS;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, length, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: the header is not valid JSON (near byte %zu of %zu)",
                          st->label, at, length);
        goto cleanup;
    }
    /* The format pads the header with spaces; anything else after the object is garbage. */
    for (const char *c = end; c < text + length; c++)
        if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') {
            status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: unexpected bytes after the header's JSON object",
                              st->label);
            goto cleanup;
        }
    if (!cJSON_IsObject(root)) {
        status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: the header is JSON but not an object", st->label);
        goto cleanup;
    }
    int count = 0;
    size_t names_size = 0;
    for (const cJSON *item = root->child; item; item = item->next)
        if (strcmp(item->string, "__metadata__") != 0) {
            count++;
            names_size += strlen(item->string) + 1;
        }
    T6I_ALLOC(ctx, st->tensors, count);
    T6I_ALLOC(ctx, st->names, names_size);
    char *name_at = st->names;
    for (const cJSON *item = root->child; item; item = item->next) {
        if (strcmp(item->string, "__metadata__") == 0) continue;
        t6i_st_tensor *tensor = &st->tensors[st->count++];
        size_t n = strlen(item->string) + 1;
        memcpy(name_at, item->string, n);
        tensor->name = name_at;
        name_at += n;
        T6I_TRY(parse_entry(ctx, st, item, tensor));
    }
    qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, compare_names);
    for (int i = 1; i < st->count; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0) {
            status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' appears twice in the header", st->label,
                              st->tensors[i].name);
            goto cleanup;
        }
    T6I_TRY(check_overlaps(ctx, st));
cleanup:
    cJSON_Delete(root);
    return status;
}

t6_status t6i_safetensors_parse(const t6_context *ctx, const void *bytes, size_t size, const char *label,
                                t6i_safetensors **out)
{
    t6_status status = T6_SUCCESS;
    t6i_safetensors *st = NULL;
    char *header = NULL;
    const unsigned char *file = bytes;
    T6I_REQUIRE(ctx, out && (bytes || size == 0), "t6i_safetensors_parse: NULL argument");
    *out = NULL;
    T6I_ALLOC(ctx, st, 1);
    size_t label_length = strlen(label ? label : "memory") + 1;
    T6I_ALLOC(ctx, st->label, label_length);
    memcpy(st->label, label ? label : "memory", label_length);
    if (size < 8) {
        status = t6i_fail(ctx, T6_ERROR_FORMAT,
                          "%s: %zu bytes is too short for a safetensors file (truncated? it starts with an 8-byte "
                          "header length)", st->label, size);
        goto cleanup;
    }
    uint64_t header_length = 0;
    for (int i = 7; i >= 0; i--) header_length = header_length << 8 | file[i];
    if (header_length >= T6I_ST_MAX_HEADER || header_length > size - 8) {
        status = t6i_fail(ctx, T6_ERROR_FORMAT,
                          "%s: the header length %llu is %s (the file has %zu bytes; the format allows under "
                          "%llu)", st->label, (unsigned long long)header_length,
                          header_length >= T6I_ST_MAX_HEADER ? "absurd" : "past the end of the file", size,
                          (unsigned long long)T6I_ST_MAX_HEADER);
        goto cleanup;
    }
    st->data = file + 8 + header_length;
    st->data_size = size - 8 - header_length;
    /* cJSON is given a NUL-terminated private copy: the mapped bytes end at the file's end, not at a NUL. */
    T6I_ALLOC(ctx, header, header_length + 1);
    memcpy(header, file + 8, header_length);
    T6I_TRY(parse_header(ctx, st, header, header_length));
    *out = st;
    st = NULL;
cleanup:
    free(header);
    t6i_safetensors_close(st);
    return status;
}

t6_status t6i_safetensors_open(const t6_context *ctx, const char *path, t6i_safetensors **out)
{
    t6_status status = T6_SUCCESS;
    void *map = NULL;
    size_t map_size = 0;
    int fd = -1;
    T6I_REQUIRE(ctx, path && out, "t6i_safetensors_open: NULL argument");
    *out = NULL;
    T6I_TRY(t6i_open_regular(ctx, path, "checkpoint", &fd, &map_size));
    /* An empty file cannot be mapped; parse reports it as truncated. */
    if (map_size > 0) {
        map = mmap(NULL, map_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            map = NULL;
            status = t6i_fail(ctx, T6_ERROR_IO, "%s: cannot map %zu bytes", path, map_size);
            goto cleanup;
        }
    }
    T6I_TRY(t6i_safetensors_parse(ctx, map ? map : "", map_size, path, out));
    (*out)->map = map;
    (*out)->map_size = map_size;
    map = NULL;
cleanup:
    if (map) munmap(map, map_size);
    if (fd >= 0) close(fd);
    return status;
}

void t6i_safetensors_close(t6i_safetensors *st)
{
    if (!st) return;
    free(st->tensors);
    free(st->names);
    free(st->label);
    if (st->map) munmap(st->map, st->map_size);
    free(st);
}

const t6i_st_tensor *t6i_safetensors_find(const t6i_safetensors *st, const char *name)
{
    if (!st || !name || st->count == 0) return NULL;
    t6i_st_tensor key = {.name = name};
    return bsearch(&key, st->tensors, (size_t)st->count, sizeof key, compare_names);
}

t6_status t6i_safetensors_read(const t6_context *ctx, const t6i_safetensors *st, const t6i_st_tensor *tensor,
                               float *out)
{
    if (!st || !tensor || !out) return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT, "t6i_safetensors_read: NULL argument");
    if (!tensor->readable)
        return t6i_fail(ctx, T6_ERROR_FORMAT, "%s: tensor '%s' is %s; t6 reads F32, F16 and BF16 tensors",
                        st->label, tensor->name, tensor->dtype_name);
    /* The data section has no alignment guarantee (it starts after a header of any length): memcpy each
     * element. The format is little-endian, as are the hosts t6 runs on. */
    const unsigned char *src = st->data + tensor->begin;
    for (uint64_t i = 0; i < tensor->elements; i++) {
        if (tensor->dtype == T6_F32) {
            memcpy(&out[i], src + 4 * i, 4);
        } else {
            uint16_t bits;
            memcpy(&bits, src + 2 * i, 2);
            out[i] = tensor->dtype == T6_F16 ? t6i_half_to_float(bits) : t6i_bf16_to_float(bits);
        }
    }
    return T6_SUCCESS;
}
