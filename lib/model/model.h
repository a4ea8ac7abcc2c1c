/*
 * model.h — the whole T6 model (internal; never installed): the object shared by model.c (creation and the
 * forward pass), model_config.c (checkpoint shapes), model_weights.c (weights on the device) and
 * model_kernels.c (the products on kernels_cl/model.cl's GEMV or CLBlast, and model.cl's small kernels).
 */
#ifndef T6_MODEL_H
#define T6_MODEL_H

#include "model/safetensors.h"
#include "ops/ops.h"

/* Rows a prefill runs through the model at once: bounds the activation buffers whatever the prompt's length. */
#define T6I_MODEL_PREFILL_ROWS 128

/* Dense weights are stored in the config's weight_dtype (fp32, fp16 or bf16), row-major as nn.Linear. */
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
    /* What every kernel of a step needs about its rows, written once per step through t6i_upload_meta's
     * channel T6I_MODEL_META_CHANNEL (its ring of host copies lets the host run steps ahead of the device):
     * T6I_MODEL_META_* below. row_meta is that channel's buffer, valid for the commands of the step. */
    cl_mem row_meta;
    cl_uint *row_meta_host;  /* T6I_MODEL_META_SIZE(max_rows): where the step's metadata is put together */
    bool gemv;               /* the products run on t6_model_gemv (false: CLBlast, after its probe failed) */
    cl_kernel embed_kernel;  /* once found (owned by the context's program cache) */
    int *lengths;            /* max_rows: a step's attention lengths */
    size_t weight_bytes;     /* device memory of every weight (t6_model_weight_bytes) */
};

/* row_meta's layout for a step of `rows` rows, in cl_uints from its start: the projection's
 * (slot·capacity + position, position) pair per row (t6i_projection_call), the token ids, the positions. */
#define T6I_MODEL_META_CHANNEL 4
#define T6I_MODEL_META_TOKENS(rows) (2 * (size_t)(rows))
#define T6I_MODEL_META_POSITIONS(rows) (3 * (size_t)(rows))
#define T6I_MODEL_META_SIZE(rows) (4 * (size_t)(rows))

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

/* The most rows one t6_model_gemv takes with the RMSNorm folded in (model.cl's GEMV_NORM_ROWS). */
#define T6I_GEMV_NORM_ROWS 128

/** One dense product of the model: out[r] (+)= W · f(in[r]) for `rows` rows. W is n × k (nn.Linear layout;
 *  2n × k with swiglu) in `weight_dtype`; in holds rows of k floats from in_offset, out rows of n from
 *  out_offset (elements). The neighbours folded in: */
typedef struct t6i_gemv_call {
    int rows, k, n;
    cl_mem in, weight, out;
    size_t in_offset, out_offset;
    t6_dtype weight_dtype;
    bool accumulate; /* out += the product: the residual add */
    bool swiglu;     /* out[r][j] = silu(W_j·x)·(W_{n+j}·x): c_fc1 and c_fc2 stacked, the MLP's activation */
    float norm_eps;  /* > 0: each input row is RMSNorm'd first, x / sqrt(mean(x²) + norm_eps) (rows ≤
                        T6I_GEMV_NORM_ROWS) */
} t6i_gemv_call;

/** The product on model.cl's t6_model_gemv: one command, any rows (each weight read from memory once per
 *  call), any k, n and offsets below 2^32. Work-group shape from the device: teams of 32 on GPUs, one
 *  work-item per column on CPUs. */
t6_status t6i_gemv(t6_context *ctx, const t6i_gemv_call *call);

/** A product of the model: t6i_gemv, or where the model runs on CLBlast (model->gemv false, or many rows of
 *  fp32 weights on a GPU: a prefill) CLBlast's SGEMM/SGEMV with the norm and SwiGLU as kernels of their own
 *  (through model->normed and model->fc). */
t6_status t6i_model_product(t6_model *model, const t6i_gemv_call *call);

/** Whether t6i_model_product runs `rows` rows on t6i_gemv (one command per product). */
bool t6i_model_uses_gemv(const t6_model *model, int rows);

/** Checks at creation that t6_model_gemv gives right products on this device in the model's weight dtype
 *  (a small product against a double-precision one). Sets model->gemv. A failure with 2-byte weights is
 *  T6_ERROR_UNSUPPORTED naming the fallback (weight_dtype f32, whose products CLBlast can run instead). */
t6_status t6i_model_check_gemv(t6_model *model);

/** out[r] = x[r] / sqrt(mean(x[r]²) + ε) for `rows` rows of C values from row `first`. */
t6_status t6i_model_rmsnorm(t6_model *model, int first, int rows, cl_mem x, cl_mem out);

/** x[r] = wte[token of row r] for the rows of row_meta. */
t6_status t6i_model_embed(t6_model *model, int rows);

/** act[r][j] = silu(fc[r][j]) · fc[r][F + j]. */
t6_status t6i_model_swiglu(t6_model *model, int rows);

/** MHA: splits qkv rows into query/key/value, rotating q and k at the rows' positions. */
t6_status t6i_model_split_rope(t6_model *model, int rows);

/** Writes row_meta for `rows` rows (slots, token ids, positions) without blocking: the step's one write. */
t6_status t6i_model_upload_rows(t6_model *model, int rows, const int *slots, const int *tokens,
                                const int *positions);

/** Self-test check of the whole model's kernels (model_self_test.c): embedding, RMSNorm, SwiGLU, MHA RoPE. */
t6_status t6i_self_test_model(t6_context *ctx);

#endif /* T6_MODEL_H */
