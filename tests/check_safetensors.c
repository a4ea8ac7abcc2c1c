/* check_safetensors.c — the checkpoint reader and the model's shape checks, on files built here byte by byte:
 * valid files read back exactly; truncated files, lying offsets, overlaps, unknown dtypes, absurd header lengths,
 * malformed JSON and wrong shapes are T6_ERROR_FORMAT with a message naming the problem, never a read out of
 * bounds (the sanitizer build runs this suite too). Host-only: no device needed. */
#include "model/model.h"
#include "model/safetensors.h"
#include "support.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file in memory: an 8-byte length, the header text, the data. Exactly sized, so ASan sees any overread. */
typedef struct blob {
    unsigned char *bytes;
    size_t size;
} blob;

static blob make_file_with_length(uint64_t header_length, const char *header, const void *data, size_t data_size)
{
    size_t text = strlen(header);
    blob b = {malloc(8 + text + data_size + 1), 8 + text + data_size};
    ck_assert_ptr_nonnull(b.bytes);
    for (int i = 0; i < 8; i++) b.bytes[i] = (unsigned char)(header_length >> (8 * i));
    memcpy(b.bytes + 8, header, text);
    if (data_size) memcpy(b.bytes + 8 + text, data, data_size);
    return b;
}

static blob make_file(const char *header, const void *data, size_t data_size)
{
    return make_file_with_length(strlen(header), header, data, data_size);
}

/* Parses `b` (its first `size` bytes, copied to an exactly sized buffer) and returns the status; on success the
 * result is closed again. */
static t6_status parse_prefix(const blob *b, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, b->bytes, size);
    t6i_safetensors *st = NULL;
    t6_status status = t6i_safetensors_parse(NULL, copy, size, "test", &st);
    ck_assert(status == T6_SUCCESS ? st != NULL : st == NULL);
    t6i_safetensors_close(st);
    free(copy);
    return status;
}

/* Fails unless parsing `header` over `data_size` zero bytes gives T6_ERROR_FORMAT with `needle` in the message. */
static void expect_format_error(const char *header, size_t data_size, const char *needle)
{
    unsigned char *data = calloc(data_size ? data_size : 1, 1);
    blob b = make_file(header, data, data_size);
    t6_status status = parse_prefix(&b, b.size);
    ck_assert_msg(status == T6_ERROR_FORMAT, "header %s: status %s", header, t6_status_string(status));
    ck_assert_msg(strstr(t6_context_last_error(NULL), needle) != NULL, "header %s: message '%s' lacks '%s'", header,
                  t6_context_last_error(NULL), needle);
    free(b.bytes);
    free(data);
}

START_TEST(reads_every_float_dtype_exactly)
{
    t6i_rng rng = t6t_rng_make(1);
    enum { N = 35 };
    float values[N];
    t6i_fill_normal(&rng, values, N, 3.0);
    unsigned char data[4 * N + 2 * N + 2 * N + 3];
    memcpy(data, values, 4 * N);
    for (int i = 0; i < N; i++) {
        uint16_t half = t6i_float_to_half(values[i]), bf16 = t6i_float_to_bf16(values[i]);
        memcpy(data + 4 * N + 2 * i, &half, 2);
        memcpy(data + 6 * N + 2 * i, &bf16, 2);
    }
    char header[512];
    snprintf(header, sizeof header,
             "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F16\",\"shape\":[5,7],\"data_offsets\":[%d,%d]},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[5,7],\"data_offsets\":[0,%d]},"
             "\"c\":{\"dtype\":\"BF16\",\"shape\":[35],\"data_offsets\":[%d,%d]},"
             "\"step\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[%d,%d]}}   ",
             4 * N, 6 * N, 4 * N, 6 * N, 8 * N, 8 * N, 8 * N + 3);
    blob b = make_file(header, data, sizeof data);

    /* Through a real file: open maps it. */
    char path[] = "/tmp/t6-check-safetensors-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b.bytes, b.size), (ssize_t)b.size);
    close(fd);
    t6i_safetensors *st = NULL;
    T6T_OK(NULL, t6i_safetensors_open(NULL, path, &st));
    unlink(path);
    ck_assert_int_eq(st->count, 4);
    const t6i_st_tensor *a = t6i_safetensors_find(st, "a"), *h = t6i_safetensors_find(st, "b"),
                        *c = t6i_safetensors_find(st, "c"), *step = t6i_safetensors_find(st, "step");
    ck_assert(a && h && c && step);
    ck_assert_ptr_null(t6i_safetensors_find(st, "__metadata__"));
    ck_assert_ptr_null(t6i_safetensors_find(st, "d"));
    ck_assert_int_eq(h->rank, 2);
    ck_assert_uint_eq(h->shape[0], 5);
    ck_assert_uint_eq(h->shape[1], 7);
    ck_assert_str_eq(step->dtype_name, "U8");
    float got[N];
    T6T_OK(NULL, t6i_safetensors_read(NULL, st, a, got));
    ck_assert_mem_eq(got, values, sizeof got);
    T6T_OK(NULL, t6i_safetensors_read(NULL, st, h, got));
    for (int i = 0; i < N; i++) ck_assert_float_eq(got[i], t6_round_to_dtype(T6_F16, values[i]));
    T6T_OK(NULL, t6i_safetensors_read(NULL, st, c, got));
    for (int i = 0; i < N; i++) ck_assert_float_eq(got[i], t6_round_to_dtype(T6_BF16, values[i]));
    /* A tensor of another dtype opens with the file but cannot be read as floats. */
    T6T_STATUS(NULL, T6_ERROR_FORMAT, t6i_safetensors_read(NULL, st, step, got));
    ck_assert(strstr(t6_context_last_error(NULL), "U8") != NULL);
    t6i_safetensors_close(st);

    /* Every proper prefix of the file is a truncated file: an error, never a crash or an overread. */
    for (size_t size = 0; size < b.size; size++)
        ck_assert_msg(parse_prefix(&b, size) == T6_ERROR_FORMAT, "prefix of %zu bytes", size);
    ck_assert_int_eq(parse_prefix(&b, b.size), T6_SUCCESS);
    free(b.bytes);
}
END_TEST

START_TEST(missing_and_unreadable_files)
{
    t6i_safetensors *st = NULL;
    T6T_STATUS(NULL, T6_ERROR_IO, t6i_safetensors_open(NULL, "/nonexistent/t6.safetensors", &st));
    ck_assert_ptr_null(st);
    T6T_STATUS(NULL, T6_ERROR_IO, t6i_safetensors_open(NULL, "/tmp", &st));
    char path[] = "/tmp/t6-check-empty-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    T6T_STATUS(NULL, T6_ERROR_FORMAT, t6i_safetensors_open(NULL, path, &st));
    ck_assert(strstr(t6_context_last_error(NULL), "too short") != NULL);
    unlink(path);
}
END_TEST

/* A FIFO (or a device) in place of a checkpoint is refused at once; before, open() waited for a writer forever
 * (check_model's checkpoint_files_are_checked does the same through the model, as `t6-generate --model FIFO`). */
START_TEST(special_files_are_refused_without_blocking)
{
    alarm(60); /* a hang fails the test now instead of at Check's timeout */
    char dir[256], path[512];
    t6t_temp_dir("t6-check-fifo", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    t6i_safetensors *st = NULL;
    T6T_STATUS(NULL, T6_ERROR_IO, t6i_safetensors_open(NULL, path, &st));
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(t6_context_last_error(NULL), "is not a regular file (a FIFO)"), "%s",
                  t6_context_last_error(NULL));
    T6T_STATUS(NULL, T6_ERROR_IO, t6i_safetensors_open(NULL, "/dev/null", &st));
    ck_assert_msg(strstr(t6_context_last_error(NULL), "character device"), "%s", t6_context_last_error(NULL));
    t6t_remove_tree(dir);
    alarm(0);
}
END_TEST

START_TEST(absurd_header_lengths)
{
    const char *header = "{}";
    const uint64_t lengths[] = {100ull * 1000 * 1000, (uint64_t)1 << 63, UINT64_MAX, 3, 1000};
    const char *needles[] = {"absurd", "absurd", "absurd", "past the end", "past the end"};
    for (int i = 0; i < 5; i++) {
        blob b = make_file_with_length(lengths[i], header, NULL, 0);
        ck_assert_int_eq(parse_prefix(&b, b.size), T6_ERROR_FORMAT);
        ck_assert_msg(strstr(t6_context_last_error(NULL), needles[i]) != NULL, "%s", t6_context_last_error(NULL));
        free(b.bytes);
    }
    /* An empty object is a valid, empty checkpoint. */
    blob empty = make_file("{}", NULL, 0);
    ck_assert_int_eq(parse_prefix(&empty, empty.size), T6_SUCCESS);
    free(empty.bytes);
}
END_TEST

START_TEST(malformed_json)
{
    expect_format_error("[1,2,3]", 0, "not an object");
    expect_format_error("\"text\"", 0, "not an object");
    expect_format_error("{\"a\":", 0, "not valid JSON");
    expect_format_error("nul", 0, "not valid JSON");
    expect_format_error("{} x", 0, "after the header");
    expect_format_error("{\"a\":[]}", 0, "not a JSON object");
    expect_format_error("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no \"dtype\"");
    expect_format_error("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "no \"shape\"");
    expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets");
    expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "data_offsets");
    expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 4, "data_offsets");
}
END_TEST

START_TEST(unknown_dtypes_and_bad_shapes)
{
    expect_format_error("{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1,
                        "unknown dtype \"Q4_K\"");
    expect_format_error("{\"w\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "no \"dtype\"");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape entry 0");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8, "shape entry 0");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,\"x\"],\"data_offsets\":[0,8]}}", 8, "shape entry 1");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                        "rank 9");
    /* Dimensions whose product overflows 64 bits must not wrap around to a small, plausible size. */
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}", 0,
                        "more than the whole file");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e17],\"data_offsets\":[0,8]}}", 8,
                        "shape entry 0");
    /* Shape and byte count disagree. */
    expect_format_error("{\"w\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "need a different size");
}
END_TEST

START_TEST(offsets_that_lie)
{
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 15, "outside the data");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 16, "outside the data");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 16, "data_offsets");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1e300,1e300]}}", 16, "data_offsets");
    expect_format_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,"
                        "18446744073709551616]}}", 16, "data_offsets");
    expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
    expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "appears twice");
}
END_TEST

/* Random corruptions of a valid file: every result is success or T6_ERROR_FORMAT (the sanitizer build checks
 * that nothing is read out of bounds on the way). */
START_TEST(random_corruptions_never_crash)
{
    const char *header = "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                         "\"y\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,24]}}";
    unsigned char data[24] = {0};
    blob b = make_file(header, data, sizeof data);
    t6i_rng rng = t6t_rng_make(2);
    int successes = 0;
    for (int trial = 0; trial < 3000; trial++) {
        unsigned char *copy = malloc(b.size);
        memcpy(copy, b.bytes, b.size);
        int flips = 1 + (int)(t6i_uniform(&rng) * 4);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)(t6i_uniform(&rng) * (double)b.size);
            copy[at] = (unsigned char)(t6i_uniform(&rng) * 256);
        }
        t6i_safetensors *st = NULL;
        t6_status status = t6i_safetensors_parse(NULL, copy, b.size, "fuzz", &st);
        ck_assert_msg(status == T6_SUCCESS || status == T6_ERROR_FORMAT, "trial %d: %s", trial,
                      t6_status_string(status));
        if (status == T6_SUCCESS) {
            successes++;
            float out[6];
            for (int i = 0; i < st->count; i++)
                if (st->tensors[i].elements <= 6) (void)t6i_safetensors_read(NULL, st, &st->tensors[i], out);
        }
        t6i_safetensors_close(st);
        free(copy);
    }
    ck_assert_int_gt(successes, 0); /* flips inside the data section leave a valid file */
    free(b.bytes);
}
END_TEST

/* ---- the model's view of a checkpoint ---- */

typedef struct tensor_spec {
    char name[96];
    int rows, cols;
    const char *dtype;
} tensor_spec;

/* A checkpoint of zero-filled 2-D tensors. */
static t6i_safetensors *build_checkpoint(const tensor_spec *specs, int count, blob *keep)
{
    size_t header_cap = 256 + (size_t)count * 200, at = 0, offset = 0;
    char *header = malloc(header_cap);
    at += (size_t)snprintf(header + at, header_cap - at, "{");
    for (int i = 0; i < count; i++) {
        size_t element = strcmp(specs[i].dtype, "F32") == 0 ? 4 : strcmp(specs[i].dtype, "I64") == 0 ? 8 : 2;
        size_t bytes = (size_t)specs[i].rows * (size_t)specs[i].cols * element;
        at += (size_t)snprintf(header + at, header_cap - at, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%d,%d],"
                               "\"data_offsets\":[%zu,%zu]}", i ? "," : "", specs[i].name, specs[i].dtype,
                               specs[i].rows, specs[i].cols, offset, offset + bytes);
        offset += bytes;
    }
    snprintf(header + at, header_cap - at, "}");
    unsigned char *data = calloc(offset ? offset : 1, 1);
    *keep = make_file(header, data, offset);
    free(header);
    free(data);
    t6i_safetensors *st = NULL;
    T6T_OK(NULL, t6i_safetensors_parse(NULL, keep->bytes, keep->size, "tiny.safetensors", &st));
    return st;
}

/* The tensors of a TPA model: V=50, C=40, 2 layers, H=3, D=32, ranks 5,2,1, F=106. */
static int tpa_specs(tensor_spec *specs)
{
    const int V = 50, C = 40, H = 3, D = 32, R[3] = {5, 2, 1}, F = 106;
    int n = 0;
    specs[n++] = (tensor_spec){"transformer.wte.weight", V, C, "F32"};
    for (int l = 0; l < 2; l++) {
        const char *kinds = "qkv";
        for (int k = 0; k < 3; k++) {
            tensor_spec *a = &specs[n++], *b = &specs[n++];
            *a = (tensor_spec){"", H * R[k], C, "BF16"};
            snprintf(a->name, sizeof a->name, "transformer.h.%d.attn.c_qkv.W_A_%c.weight", l, kinds[k]);
            *b = (tensor_spec){"", R[k] * D, C, "F16"};
            snprintf(b->name, sizeof b->name, "transformer.h.%d.attn.c_qkv.W_B_%c.weight", l, kinds[k]);
        }
        const struct { const char *suffix; int rows, cols; } dense[] = {
            {"attn.c_proj.weight", C, H * D}, {"mlp.c_fc1.weight", F, C}, {"mlp.c_fc2.weight", F, C},
            {"mlp.c_proj.weight", C, F}};
        for (int d = 0; d < 4; d++) {
            specs[n] = (tensor_spec){"", dense[d].rows, dense[d].cols, "F32"};
            snprintf(specs[n].name, sizeof specs[n].name, "transformer.h.%d.%s", l, dense[d].suffix);
            n++;
        }
    }
    return n;
}

static t6_status resolve(const tensor_spec *specs, int count, const t6_model_config *requested,
                         t6_model_config *out)
{
    blob keep;
    t6i_safetensors *st = build_checkpoint(specs, count, &keep);
    t6_status status = t6i_model_config_from_checkpoint(NULL, st, requested, out);
    t6i_safetensors_close(st);
    free(keep.bytes);
    return status;
}

static int find_spec(const tensor_spec *specs, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp(specs[i].name, name) == 0) return i;
    ck_abort_msg("no spec %s", name);
    return -1;
}

START_TEST(model_config_from_tpa_shapes)
{
    tensor_spec specs[64];
    int n = tpa_specs(specs);
    t6_model_config c;
    T6T_OK(NULL, resolve(specs, n, NULL, &c));
    ck_assert_int_eq(c.vocab_size, 50);
    ck_assert_int_eq(c.model_dim, 40);
    ck_assert_int_eq(c.layers, 2);
    ck_assert_int_eq(c.heads, 3);
    ck_assert_int_eq(c.head_dim, 32);
    ck_assert_int_eq(c.rank_q, 5);
    ck_assert_int_eq(c.rank_k, 2);
    ck_assert_int_eq(c.rank_v, 1);
    ck_assert_int_eq(c.mlp_hidden, 106);
    ck_assert_int_eq(c.rope_style, T6_ROPE_HALF);
    ck_assert_float_eq(c.rope_base, 10000.0f);
    ck_assert_float_eq(c.norm_eps, 1.1920929e-07f);

    /* Fields that are set must agree, and the message names the field. */
    t6_model_config requested;
    t6_model_config_init(&requested);
    requested.heads = 4;
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(specs, n, &requested, &c));
    ck_assert_msg(strstr(t6_context_last_error(NULL), "head") != NULL, "%s", t6_context_last_error(NULL));
    t6_model_config_init(&requested);
    requested.layers = 3;
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(specs, n, &requested, &c));
    ck_assert(strstr(t6_context_last_error(NULL), "layers = 2") != NULL);
    t6_model_config_init(&requested);
    requested.head_dim = 32;
    requested.vocab_size = 50;
    requested.capacity = 77;
    T6T_OK(NULL, resolve(specs, n, &requested, &c));
    ck_assert_int_eq(c.capacity, 77);
    ck_assert_int_eq(c.heads, 3);
    t6_model_config_init(&requested);
    requested.rank_v = -1;
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, resolve(specs, n, &requested, &c));
}
END_TEST

START_TEST(model_config_rejects_wrong_checkpoints)
{
    tensor_spec specs[64];
    t6_model_config c;
    int n = tpa_specs(specs);

    /* A tensor of the second layer with a wrong shape: named in the message with both shapes. */
    int i = find_spec(specs, n, "transformer.h.1.attn.c_qkv.W_B_k.weight");
    specs[i].rows = 65;
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(specs, n, NULL, &c));
    const char *expected = "transformer.h.1.attn.c_qkv.W_B_k.weight' is 65 × 40; the model needs 64 × 40";
    ck_assert_msg(strstr(t6_context_last_error(NULL), expected) != NULL, "%s", t6_context_last_error(NULL));

    /* A missing tensor. */
    n = tpa_specs(specs);
    i = find_spec(specs, n, "transformer.h.1.mlp.c_fc2.weight");
    specs[i] = specs[--n];
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(specs, n, NULL, &c));
    ck_assert(strstr(t6_context_last_error(NULL), "'transformer.h.1.mlp.c_fc2.weight' is missing") != NULL);

    /* No embedding. */
    n = tpa_specs(specs);
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(specs + 1, n - 1, NULL, &c));
    ck_assert(strstr(t6_context_last_error(NULL), "transformer.wte.weight") != NULL);

    /* An untied head of the wrong shape. */
    n = tpa_specs(specs);
    specs[n++] = (tensor_spec){"lm_head.weight", 50, 41, "F32"};
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(specs, n, NULL, &c));
    ck_assert(strstr(t6_context_last_error(NULL), "lm_head.weight") != NULL);
    specs[n - 1].cols = 40;
    T6T_OK(NULL, resolve(specs, n, NULL, &c));

    /* A weight in a dtype t6 cannot read. */
    n = tpa_specs(specs);
    i = find_spec(specs, n, "transformer.h.0.mlp.c_proj.weight");
    specs[i].dtype = "I64";
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(specs, n, NULL, &c));
    ck_assert(strstr(t6_context_last_error(NULL), "I64") != NULL);

    /* Factor shapes no head count fits, and head_dim outside what t6 supports. */
    n = tpa_specs(specs);
    i = find_spec(specs, n, "transformer.h.0.attn.c_proj.weight");
    specs[i].cols = 97;
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(specs, n, NULL, &c));

    /* An MHA checkpoint: its shapes fix only H·D, so head_dim must be given. */
    tensor_spec mha[16];
    int m = 0;
    mha[m++] = (tensor_spec){"transformer.wte.weight", 30, 48, "F32"};
    const char *suffixes[] = {"attn.c_q.weight", "attn.c_k.weight", "attn.c_v.weight", "attn.c_proj.weight",
                              "mlp.c_fc1.weight", "mlp.c_fc2.weight", "mlp.c_proj.weight"};
    const int rows[] = {128, 128, 128, 48, 128, 128, 48}, cols[] = {48, 48, 48, 128, 48, 48, 128};
    for (int s = 0; s < 7; s++) {
        mha[m] = (tensor_spec){"", rows[s], cols[s], "F16"};
        snprintf(mha[m].name, sizeof mha[m].name, "transformer.h.0.%s", suffixes[s]);
        m++;
    }
    t6_model_config requested;
    t6_model_config_init(&requested);
    requested.attention = T6_MODEL_MHA;
    T6T_STATUS(NULL, T6_ERROR_INVALID_ARGUMENT, resolve(mha, m, &requested, &c));
    ck_assert(strstr(t6_context_last_error(NULL), "head_dim") != NULL);
    requested.head_dim = 32;
    T6T_OK(NULL, resolve(mha, m, &requested, &c));
    ck_assert_int_eq(c.heads, 4);
    ck_assert_int_eq(c.mlp_hidden, 128);
    /* The same file read as TPA lacks the factor weights. */
    T6T_STATUS(NULL, T6_ERROR_FORMAT, resolve(mha, m, NULL, &c));
    ck_assert(strstr(t6_context_last_error(NULL), "W_A_q") != NULL);
}
END_TEST

START_TEST(cache_bytes_per_token)
{
    t6_model_config c;
    t6_model_config_init(&c);
    c.layers = 24;
    c.heads = 47;
    c.head_dim = 64;
    c.rank_q = 6;
    c.rank_k = c.rank_v = 2;
    c.cache_dtype = T6_F16;
    ck_assert_uint_eq(t6_model_cache_bytes_per_token(&c), 24u * 444u * 2u); /* TPA.md: 444 numbers per layer */
    c.attention = T6_MODEL_MHA;
    c.heads = 16;
    ck_assert_uint_eq(t6_model_cache_bytes_per_token(&c), 24u * 2u * 16u * 64u * 2u);
    c.layers = 0;
    ck_assert_uint_eq(t6_model_cache_bytes_per_token(&c), 0);
    ck_assert_uint_eq(t6_model_cache_bytes_per_token(NULL), 0);
    /* Ranks the library refuses: 0, with no signed overflow on the way (the sanitizer build checks that). */
    c.layers = 24;
    c.attention = T6_MODEL_TPA;
    c.rank_k = c.rank_v = INT_MAX;
    ck_assert_uint_eq(t6_model_cache_bytes_per_token(&c), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("safetensors");
    TCase *parser = tcase_create("parser");
    tcase_add_test(parser, reads_every_float_dtype_exactly);
    tcase_add_test(parser, missing_and_unreadable_files);
    tcase_add_test(parser, special_files_are_refused_without_blocking);
    tcase_add_test(parser, absurd_header_lengths);
    tcase_add_test(parser, malformed_json);
    tcase_add_test(parser, unknown_dtypes_and_bad_shapes);
    tcase_add_test(parser, offsets_that_lie);
    tcase_add_test(parser, random_corruptions_never_crash);
    suite_add_tcase(suite, parser);
    TCase *model = tcase_create("model shapes");
    tcase_add_test(model, model_config_from_tpa_shapes);
    tcase_add_test(model, model_config_rejects_wrong_checkpoints);
    tcase_add_test(model, cache_bytes_per_token);
    suite_add_tcase(suite, model);
    return t6t_run(suite);
}
