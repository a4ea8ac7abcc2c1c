/*
 * t6-generate — greedy generation with a whole T6 model on an OpenCL device: loads a safetensors checkpoint,
 * runs the prompt (token ids) through the model, then picks the most likely token N times, printing the ids and
 * the speed. With --dump-logits it writes the logits behind every pick as a .npy file (what the end-to-end test
 * compares with a float64 numpy model). Public header only.
 */
#include <t6.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: t6-generate --model FILE --prompt IDS [options]\n"
            "\n"
            "Greedy decoding with a T6 model (TPA.md, \"The whole T6 model\") from a safetensors checkpoint.\n"
            "\n"
            "  --model FILE         safetensors checkpoint with the T6 tensor names\n"
            "  --prompt IDS         prompt token ids, comma-separated: \"1,2,3\"\n"
            "  --tokens N           tokens to generate (default 16)\n"
            "  --device SELECTOR    an index or a name substring (default: T6_DEVICE, else the first GPU)\n"
            "  --attention KIND     tpa (default) or mha (checkpoints with attn.c_q/c_k/c_v)\n"
            "  --head-dim D         head size; needed for mha checkpoints\n"
            "  --weights DTYPE      f32 (default), f16 or bf16: weight values are rounded to this\n"
            "  --cache DTYPE        f32 (default), f16 or bf16: attention cache storage\n"
            "  --dump-logits FILE   write the logits behind each generated token as a float32 .npy (N x vocab)\n"
            "  --verbose            log what the library does\n"
            "  --help               this text\n");
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_dtype(const char *text, t6_dtype *out)
{
    for (int d = T6_F32; d <= T6_BF16; d++)
        if (strcmp(text, t6_dtype_name((t6_dtype)d)) == 0) {
            *out = (t6_dtype)d;
            return 1;
        }
    return 0;
}

/* A whole decimal number from min to max into *out: nothing before or after it, no overflow (atoi turned
 * 99999999999 into 1215752192). */
static int parse_int(const char *text, long min, long max, int *out)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (end == text || *end || errno == ERANGE || value < min || value > max) return 0;
    *out = (int)value;
    return 1;
}

/* "1,2,3" into a new array; 0 tokens or a non-number is an error. */
static int *parse_ids(const char *text, int *count)
{
    int capacity = 1;
    for (const char *c = text; *c; c++) capacity += *c == ',';
    int *ids = malloc((size_t)capacity * sizeof *ids);
    if (!ids) return NULL;
    *count = 0;
    const char *at = text;
    while (*at) {
        char *end = NULL;
        errno = 0;
        long id = strtol(at, &end, 10);
        if (end == at || errno || id < 0 || id > 2147483647L || (*end && *end != ',')) {
            free(ids);
            return NULL;
        }
        ids[(*count)++] = (int)id;
        at = *end ? end + 1 : end;
    }
    if (*count == 0) {
        free(ids);
        return NULL;
    }
    return ids;
}

static int all_finite(const float *values, int count)
{
    for (int i = 0; i < count; i++)
        if (!isfinite(values[i])) return 0;
    return 1;
}

static int argmax(const float *values, int count)
{
    int best = 0;
    for (int i = 1; i < count; i++)
        if (values[i] > values[best]) best = i;
    return best;
}

/* A float32 array in numpy's .npy format (version 1.0): magic, a header dict padded to 64 bytes, the data. */
static int write_npy(const char *path, const float *values, int rows, int cols)
{
    FILE *file = fopen(path, "wb");
    if (!file) return 0;
    char header[128];
    int length = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }",
                          rows, cols);
    int padded = (10 + length + 1 + 63) / 64 * 64 - 10;
    unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(padded & 0xFF),
                                  (unsigned char)(padded >> 8)};
    int ok = fwrite(preamble, 1, 10, file) == 10 && fwrite(header, 1, (size_t)length, file) == (size_t)length;
    for (int i = length; ok && i < padded - 1; i++) ok = fputc(' ', file) != EOF;
    ok = ok && fputc('\n', file) != EOF;
    ok = ok && fwrite(values, sizeof *values, (size_t)rows * (size_t)cols, file) == (size_t)rows * (size_t)cols;
    return fclose(file) == 0 && ok;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *prompt_text = NULL, *device = NULL, *dump_path = NULL;
    int tokens = 16;
    t6_model_config config;
    t6_model_config_init(&config);
    t6_set_log_callback(t6_log_to_stderr, T6_LOG_WARN, NULL);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = 1;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--verbose") == 0) {
            t6_set_log_callback(t6_log_to_stderr, T6_LOG_DEBUG, NULL);
            takes_value = 0;
        } else if (!value) {
            fprintf(stderr, "t6-generate: %s needs a value (or is unknown)\n\n", arg);
            usage(stderr);
            return 2;
        } else if (strcmp(arg, "--model") == 0) {
            model_path = value;
        } else if (strcmp(arg, "--prompt") == 0) {
            prompt_text = value;
        } else if (strcmp(arg, "--tokens") == 0) {
            if (!parse_int(value, 1, INT_MAX, &tokens)) {
                fprintf(stderr, "t6-generate: --tokens needs a whole number from 1 to %d, not '%s'\n", INT_MAX, value);
                return 2;
            }
        } else if (strcmp(arg, "--device") == 0) {
            device = value;
        } else if (strcmp(arg, "--dump-logits") == 0) {
            dump_path = value;
        } else if (strcmp(arg, "--head-dim") == 0) {
            if (!parse_int(value, 1, INT_MAX, &config.head_dim)) {
                fprintf(stderr, "t6-generate: --head-dim needs a whole number from 1 to %d, not '%s'\n", INT_MAX,
                        value);
                return 2;
            }
        } else if (strcmp(arg, "--attention") == 0 && (strcmp(value, "tpa") == 0 || strcmp(value, "mha") == 0)) {
            config.attention = strcmp(value, "mha") == 0 ? T6_MODEL_MHA : T6_MODEL_TPA;
        } else if (!((strcmp(arg, "--weights") == 0 && parse_dtype(value, &config.weight_dtype)) ||
                     (strcmp(arg, "--cache") == 0 && parse_dtype(value, &config.cache_dtype)))) {
            fprintf(stderr, "t6-generate: unknown argument or value: %s %s\n\n", arg, value);
            usage(stderr);
            return 2;
        }
        i += takes_value;
    }
    int prompt_count = 0;
    int *prompt = prompt_text ? parse_ids(prompt_text, &prompt_count) : NULL;
    if (!model_path || !prompt) {
        fprintf(stderr, "t6-generate: --model and a valid --prompt are required\n\n");
        usage(stderr);
        free(prompt);
        return 2;
    }
    /* The cache holds the prompt and every generated token; the sum is formed wide, then checked. */
    const long long capacity = (long long)prompt_count + tokens;
    if (capacity > INT_MAX) {
        fprintf(stderr, "t6-generate: %d prompt tokens and --tokens %d need %lld positions, more than a cache holds "
                "(%d)\n", prompt_count, tokens, capacity, INT_MAX);
        free(prompt);
        return 2;
    }
    config.capacity = (int)capacity;

    int exit_code = 1;
    t6_context *ctx = NULL;
    t6_model *model = NULL;
    float *logits = NULL;
    int *generated = NULL;
    t6_status status = t6_context_create(device, &ctx);
    if (status != T6_SUCCESS) {
        fprintf(stderr, "t6-generate: no device: %s\n", t6_context_last_error(NULL));
        free(prompt);
        return 1;
    }
    status = t6_model_create_from_file(ctx, model_path, &config, &model);
    if (status == T6_SUCCESS) status = t6_model_get_config(model, &config);
    if (status != T6_SUCCESS) goto failed;
    logits = malloc((size_t)tokens * (size_t)config.vocab_size * sizeof *logits);
    generated = malloc((size_t)tokens * sizeof *generated);
    if (!logits || !generated) {
        fprintf(stderr, "t6-generate: out of memory\n");
        goto done;
    }
    printf("model: %s, %d layers, C=%d, H=%d, D=%d", config.attention == T6_MODEL_TPA ? "TPA" : "MHA",
           config.layers, config.model_dim, config.heads, config.head_dim);
    if (config.attention == T6_MODEL_TPA)
        printf(", ranks %d,%d,%d", config.rank_q, config.rank_k, config.rank_v);
    printf(", vocab %d\n", config.vocab_size);

    /* The prompt: its last token's logits choose the first generated token. */
    double start = now_seconds();
    status = t6_model_prefill(model, 0, prompt_count, prompt, logits);
    if (status != T6_SUCCESS) goto failed;
    double prefill_seconds = now_seconds() - start;
    printf("prefill: %d tokens in %.2f ms (%.1f tokens/s)\n", prompt_count, 1e3 * prefill_seconds,
           prompt_count / prefill_seconds);

    /* Each step feeds the token just picked and gets the logits for the next one. */
    start = now_seconds();
    const int slot = 0;
    for (int step = 0; step < tokens; step++) {
        const float *row = logits + (size_t)step * (size_t)config.vocab_size;
        /* argmax over NaN would pick token 0 and look like a result */
        if (!all_finite(row, config.vocab_size)) {
            fprintf(stderr, "t6-generate: the logits for token %d are not finite (NaN or Inf); nothing is picked from "
                    "them\n", step);
            goto done;
        }
        generated[step] = argmax(row, config.vocab_size);
        if (step + 1 < tokens) {
            float *next = logits + (size_t)(step + 1) * (size_t)config.vocab_size;
            status = t6_model_decode(model, 1, &slot, &generated[step], next);
            if (status != T6_SUCCESS) goto failed;
        }
    }
    double decode_seconds = now_seconds() - start;
    printf("tokens:");
    for (int step = 0; step < tokens; step++) printf(" %d", generated[step]);
    printf("\n");
    if (tokens > 1)
        printf("decode: %d steps in %.2f ms (%.1f tokens/s)\n", tokens - 1, 1e3 * decode_seconds,
               (tokens - 1) / decode_seconds);
    if (dump_path && !write_npy(dump_path, logits, tokens, config.vocab_size)) {
        fprintf(stderr, "t6-generate: cannot write %s\n", dump_path);
        goto done;
    }
    exit_code = 0;
    goto done;
failed:
    fprintf(stderr, "t6-generate: %s: %s\n", t6_status_string(status), t6_context_last_error(ctx));
done:
    free(logits);
    free(generated);
    free(prompt);
    t6_model_destroy(model);
    t6_context_destroy(ctx);
    return exit_code;
}
