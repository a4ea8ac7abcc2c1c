/*
 * model.h — the whole T6 model (internal; never installed): the object shared by model.c (creation and the
 * forward pass), model_config.c (checkpoint shapes), model_weights.c (weights on the device) and
 * model_kernels.c (the small kernels of kernels_cl/model.cl and the CLBlast products).
 */
#ifndef T6_MODEL_H
#define T6_MODEL_H

#include "safetensors.h"
#include "t6_internal.h"

/* Rows a prefill runs through the model at once: bounds the activation buffers whatever the prompt's length. */
#define T6I_MODEL_PREFILL_ROWS 128

typedef struct t6i_model_layer {
    t6_layer *tpa;           /* TPA: the factor projection */
    t6_cache *cache;         /* TPA: factor cache */
    cl_mem w_qkv;            /* MHA: (3·H·D) × C, rows of W_q, then W_k, then W_v */
    t6_kv_cache *kv_cache;   /* MHA */
    cl_mem w_attn_proj;      /* C × (H·D) */
    cl_mem w_fc;             /* (2F) × C: the rows of c_fc1, then those of c_fc2 (one product for both) */
    cl_mem w_mlp_proj;       /* C × F */
} t6i_model_layer;

struct t6_model {
    t6_context *ctx;
    t6_model_config config;
    t6i_model_layer *layers;
    cl_mem wte;              /* V × C */
    cl_mem lm_head;          /* V × C; the same object as wte when tied */
    cl_mem inv_freq;         /* MHA: D/2 RoPE frequencies, fp32, the kernels' angle rule (t6.h) */
    int max_rows;            /* rows of every activation buffer */
    /* Activations, max_rows rows each. */
    cl_mem x;                /* the residual stream, C */
    cl_mem normed;           /* rmsnorm(x), C */
    cl_mem qkv;              /* MHA: 3·H·D */
    cl_mem query;            /* TPA: t6_query_row_size(); MHA: H·D (rotated q) */
    cl_mem key, value;       /* MHA: H·D each */
    cl_mem attn;             /* attention output, H·D */
    cl_mem fc;               /* 2F */
    cl_mem act;              /* F */
    cl_mem logits;           /* max(slots, 1) rows of V */
    /* Per-row token ids and positions for the kernels: written without blocking from a host copy that must
     * stay untouched until the write is done. */
    cl_mem row_meta;         /* 2·max_rows ints: tokens, then positions */
    int *row_meta_host;
    cl_event row_meta_event;
};

/* ---- checkpoint shapes (model_config.c) ---- */

/** Checks a fully resolved config (every shape set and in range). `what` names the calling function. */
t6_status t6i_model_check_config(const t6_context *ctx, const t6_model_config *config, const char *what);

/** The names of a layer's tensors: `buf` receives "transformer.h.<layer>.<suffix>". */
const char *t6i_model_tensor_name(char *buf, size_t cap, int layer, const char *suffix);

/**
 * Resolves `requested` against the checkpoint: shape fields left 0 are taken from the tensors' shapes, set
 * ones must agree, every tensor the model needs must be present with the right shape and a readable dtype.
 * T6_ERROR_FORMAT naming the tensor otherwise. Host-only (the fuzzer runs it).
 */
t6_status t6i_model_config_from_checkpoint(const t6_context *ctx, const t6i_safetensors *st,
                                           const t6_model_config *requested, t6_model_config *out);

/* ---- weights (model_weights.c) ---- */

/** Creates every weight buffer and layer of `model` (config resolved) from the checkpoint. */
t6_status t6i_model_load_weights(t6_model *model, const t6i_safetensors *st);
/** The same with random weights from `seed`. */
t6_status t6i_model_random_weights(t6_model *model, uint64_t seed);

/* ---- kernels and products (model_kernels.c); all enqueue on the model's context, lock held ---- */

/** out = in · Wᵀ (+ out when accumulate): `rows` rows of `k` values at in_offset, W is n × k (nn.Linear
 *  layout), out `rows` rows of `n` at out_offset. On GPUs t6i_gemv for up to T6I_GEMV_ROWS rows (a decode
 *  step); otherwise CLBlast: SGEMV for one row, SGEMM for more. */
t6_status t6i_model_linear(t6_model *model, int rows, cl_mem in, size_t in_offset, int k, cl_mem weight, int n,
                           cl_mem out, size_t out_offset, bool accumulate);

/* The most rows t6i_gemv takes (model.cl's GEMV_ROWS). */
#define T6I_GEMV_ROWS 8

/** The same product on model.cl's t6_model_gemv, for 1..T6I_GEMV_ROWS rows (any k and n, any offsets). *used
 *  is false, with nothing enqueued, where the device cannot run the kernel's work-group of 256. */
t6_status t6i_gemv(t6_context *ctx, int rows, cl_mem in, size_t in_offset, int k, cl_mem weight, int n, cl_mem out,
                   size_t out_offset, bool accumulate, bool *used);

/** out[r] = x[r] / sqrt(mean(x[r]²) + ε) for `rows` rows of C values from row `first`. */
t6_status t6i_model_rmsnorm(t6_model *model, int first, int rows, cl_mem x, cl_mem out);

/** x[r] = wte[token of row r] for the rows of row_meta. */
t6_status t6i_model_embed(t6_model *model, int rows);

/** act[r][j] = silu(fc[r][j]) · fc[r][F + j]. */
t6_status t6i_model_swiglu(t6_model *model, int rows);

/** MHA: splits qkv rows into query/key/value, rotating q and k at the rows' positions. */
t6_status t6i_model_split_rope(t6_model *model, int rows);

/** Writes `rows` token ids and positions to row_meta without blocking. */
t6_status t6i_model_upload_rows(t6_model *model, int rows, const int *tokens, const int *positions);

#endif /* T6_MODEL_H */
