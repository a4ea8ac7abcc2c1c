/*
 * minimal.c — the smallest complete use of t6, to copy from: a context, one TPA attention layer with random
 * weights, a factor cache, then token by token: project the hidden state (which writes the token's factors into
 * the cache) and decode over everything cached so far. Prints a checksum of the attention outputs.
 *
 *   t6-minimal [DEVICE]      DEVICE: an index or a name substring, as `t6-info` lists them
 */
/* Which OpenCL API the headers declare is the application's choice (t6 needs 1.2 and declares nothing newer). */
#define CL_TARGET_OPENCL_VERSION 120
#include <t6.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Every t6 call returns a status; on failure the context keeps a message saying what went wrong. */
#define CHECK(call)                                                                                              \
    do {                                                                                                         \
        t6_status status_ = (call);                                                                              \
        if (status_ != T6_SUCCESS) {                                                                             \
            fprintf(stderr, "%s: %s: %s\n", #call, t6_status_string(status_), t6_context_last_error(ctx));      \
            goto done;                                                                                           \
        }                                                                                                        \
    } while (0)

enum { MODEL_DIM = 256, HEADS = 8, HEAD_DIM = 64, RANK_Q = 6, RANK_K = 2, RANK_V = 2, TOKENS = 8 };

/* Uniform in ±1/√C from a fixed seed: any weights do for a demonstration. */
static void fill_random(float *values, size_t count, unsigned *seed)
{
    for (size_t i = 0; i < count; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        values[i] = ((float)(*seed >> 8) / 16777216.0f - 0.5f) * 2.0f / sqrtf((float)MODEL_DIM);
    }
}

int main(int argc, char **argv)
{
    int exit_code = EXIT_FAILURE;
    t6_context *ctx = NULL;
    t6_layer *layer = NULL;
    t6_cache *cache = NULL;
    cl_mem hidden = NULL, query = NULL, out = NULL;
    float *weights[6] = {NULL}, *host = NULL;

    t6_set_log_callback(t6_log_to_stderr, T6_LOG_WARN, NULL);
    if (t6_context_create(argc > 1 ? argv[1] : NULL, &ctx) != T6_SUCCESS) {
        fprintf(stderr, "no device: %s\n", t6_context_last_error(NULL));
        return EXIT_FAILURE;
    }
    t6_device_info info = T6_DEVICE_INFO_INIT;
    CHECK(t6_context_device_info(ctx, &info));
    printf("device: %s\n", info.name);

    /* A layer as in T6.py: the initializer's defaults (RoPE style half, base 10000, weights stored as fp32 on
     * the device) and this layer's shape. Configs always start from their initializer (t6.h, "Structs that
     * grow"), so that this program keeps working with later versions of t6. */
    t6_layer_config config = T6_LAYER_CONFIG_INIT;
    config.model_dim = MODEL_DIM;
    config.heads = HEADS;
    config.head_dim = HEAD_DIM;
    config.rank_q = RANK_Q;
    config.rank_k = RANK_K;
    config.rank_v = RANK_V;
    const size_t rows[6] = {HEADS * RANK_Q, HEADS * RANK_K, HEADS * RANK_V,
                            RANK_Q * HEAD_DIM, RANK_K * HEAD_DIM, RANK_V * HEAD_DIM};
    unsigned seed = 1;
    for (int i = 0; i < 6; i++) {
        weights[i] = malloc(rows[i] * MODEL_DIM * sizeof(float));
        if (!weights[i]) goto done;
        fill_random(weights[i], rows[i] * MODEL_DIM, &seed);
    }
    const t6_layer_weights layer_weights = {weights[0], weights[1], weights[2], weights[3], weights[4], weights[5]};
    CHECK(t6_layer_create(ctx, &config, &layer_weights, &layer));

    /* One sequence (the initializer's one slot) of up to TOKENS positions, stored as fp16 (arithmetic stays
     * fp32). */
    t6_cache_config cache_config = T6_CACHE_CONFIG_INIT;
    cache_config.heads = HEADS;
    cache_config.head_dim = HEAD_DIM;
    cache_config.rank_k = RANK_K;
    cache_config.rank_v = RANK_V;
    cache_config.capacity = TOKENS;
    cache_config.dtype = T6_F16;
    CHECK(t6_cache_create(ctx, &cache_config, &cache));

    const size_t query_row = t6_query_row_size(&config), out_row = HEADS * HEAD_DIM;
    host = malloc(TOKENS * MODEL_DIM * sizeof(float));
    if (!host) goto done;
    fill_random(host, TOKENS * MODEL_DIM, &seed);
    CHECK(t6_buffer_create(ctx, T6_F32, TOKENS * MODEL_DIM, &hidden));
    CHECK(t6_buffer_create(ctx, T6_F32, TOKENS * query_row, &query));
    CHECK(t6_buffer_create(ctx, T6_F32, TOKENS * out_row, &out));
    CHECK(t6_buffer_upload(ctx, hidden, T6_F32, 0, TOKENS * MODEL_DIM, host));

    /* Decoding: each token's factors go into the cache at its position, then its query attends over
     * positions 0..position. Calls are enqueued; the download below waits for them. */
    const int slot = 0;
    for (int position = 0; position < TOKENS; position++) {
        const int length = position + 1;
        CHECK(t6_project(layer, cache, 1, hidden, (size_t)position * MODEL_DIM, &slot, &position, query,
                         (size_t)position * query_row, NULL));
        CHECK(t6_attention_decode(cache, RANK_Q, 1, &slot, &length, query, (size_t)position * query_row, out,
                                  (size_t)position * out_row, NULL));
    }

    float *result = realloc(host, TOKENS * out_row * sizeof(float));
    if (!result) goto done;
    host = result;
    CHECK(t6_buffer_download(ctx, out, T6_F32, 0, TOKENS * out_row, host));
    double checksum = 0.0;
    for (size_t i = 0; i < TOKENS * out_row; i++) checksum += fabs((double)host[i]);
    printf("decoded %d tokens, %zu outputs each: checksum %.6f\n", TOKENS, out_row, checksum);
    exit_code = isfinite(checksum) && checksum > 0.0 ? EXIT_SUCCESS : EXIT_FAILURE;

done:
    if (hidden) clReleaseMemObject(hidden);
    if (query) clReleaseMemObject(query);
    if (out) clReleaseMemObject(out);
    t6_cache_destroy(cache);
    t6_layer_destroy(layer);
    t6_context_destroy(ctx);
    for (int i = 0; i < 6; i++) free(weights[i]);
    free(host);
    return exit_code;
}
