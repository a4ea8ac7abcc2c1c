/* model.cl — the small steps of the whole T6 model around attention and the CLBlast products (TPA.md, "The
 * whole T6 model"): embedding gather, RMSNorm without weight, SiLU(a)⊙b, and RoPE for the MHA baseline's q and
 * k. They move a few rows of C values per token, so they have no tunables: the host sizes their work-groups
 * from the device's limits. Activations are fp32 rows; token ids and positions come from one int buffer.
 * t6_model_gemv is the dense product of a decode step (a few rows), where CLBlast's GEMV reads the weights
 * far below copy bandwidth (docs/BENCHMARKS.md, "Whole model"). */
#ifndef T6_MODEL_DIM
#define T6_MODEL_DIM 64 /* C: values per row of the residual stream */
#endif
#ifndef T6_MLP_HIDDEN
#define T6_MLP_HIDDEN 170 /* F: SwiGLU hidden size */
#endif
#ifndef T6_HEADS
#define T6_HEADS 4 /* H: attention heads (MHA RoPE) */
#endif
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64 /* D: values per head (MHA RoPE), even */
#endif
#ifndef T6_GEMV_VEC
#define T6_GEMV_VEC 4 /* elements per weight load in t6_model_gemv (1, 2 or 4): the host picks one dividing k */
#endif
#ifndef T6_ROPE_STYLE
#define T6_ROPE_STYLE 0 /* t6_rope_style: 0 half (pairs i, i+D/2), 1 interleaved (pairs 2i, 2i+1) */
#endif

/* x[r] = wte[tokens[r]]; the host has checked every id against the vocabulary. */
__kernel void t6_model_embed(const __global float *wte, const __global int *tokens, __global float *x, uint rows)
{
    const uint c = get_global_id(0), r = get_global_id(1);
    if (c >= T6_MODEL_DIM || r >= rows) return;
    x[(size_t)r * T6_MODEL_DIM + c] = wte[(size_t)tokens[r] * T6_MODEL_DIM + c];
}

/* out[r] = x[r] / sqrt(mean(x[r]²) + eps), F.rms_norm without weight. One work-group per row, its size a power
 * of two; `partial` holds one float per work-item. */
__kernel void t6_model_rmsnorm(const __global float *x, __global float *out, uint first_row, float eps,
                               __local float *partial)
{
    const uint row = first_row + get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    const __global float *in = x + (size_t)row * T6_MODEL_DIM;
    float sum = 0.0f;
    for (uint c = lid; c < T6_MODEL_DIM; c += size) sum = fma(in[c], in[c], sum);
    partial[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float scale = 1.0f / sqrt(partial[0] / (float)T6_MODEL_DIM + eps);
    __global float *dst = out + (size_t)row * T6_MODEL_DIM;
    for (uint c = lid; c < T6_MODEL_DIM; c += size) dst[c] = in[c] * scale;
}

/* act[r][j] = silu(fc[r][j]) · fc[r][F + j]: fc holds c_fc1·x then c_fc2·x per row (one product for both). */
__kernel void t6_model_swiglu(const __global float *fc, __global float *act, uint rows)
{
    const uint i = get_global_id(0);
    if (i >= rows * T6_MLP_HIDDEN) return;
    const uint r = i / T6_MLP_HIDDEN, j = i % T6_MLP_HIDDEN;
    const float a = fc[(size_t)r * 2 * T6_MLP_HIDDEN + j], b = fc[(size_t)r * 2 * T6_MLP_HIDDEN + T6_MLP_HIDDEN + j];
    act[i] = a / (1.0f + exp(-a)) * b;
}

/* MHA: qkv rows hold q, k, v (H·D each); q and k are rotated at the row's position row_meta[positions_at + r]
 * with TPA.md's RoPE rule (angle = fp32 product of the position and inv_freq[i]), and the three go to their own
 * buffers, the layout t6_kv_cache_append and t6_mha_decode read. One work-item per (row, head, pair). */
__kernel void t6_model_split_rope(const __global float *qkv, const __global int *row_meta, uint positions_at,
                                  uint rows, const __global float *inv_freq, __global float *q, __global float *k,
                                  __global float *v)
{
    const uint pairs = T6_HEAD_DIM / 2, id = get_global_id(0);
    if (id >= rows * T6_HEADS * pairs) return;
    const uint i = id % pairs, h = id / pairs % T6_HEADS, r = id / pairs / T6_HEADS;
#if T6_ROPE_STYLE == 0
    const uint lo = i, hi = i + pairs;
#else
    const uint lo = 2 * i, hi = 2 * i + 1;
#endif
    const float angle = (float)row_meta[positions_at + r] * inv_freq[i];
    const float c = cos(angle), s = sin(angle);
    const size_t width = (size_t)T6_HEADS * T6_HEAD_DIM, in = (size_t)r * 3 * width + (size_t)h * T6_HEAD_DIM;
    const size_t at = (size_t)r * width + (size_t)h * T6_HEAD_DIM;
    const float q_lo = qkv[in + lo], q_hi = qkv[in + hi];
    const float k_lo = qkv[in + width + lo], k_hi = qkv[in + width + hi];
#if T6_ROPE_STYLE == 0
    q[at + lo] = q_lo * c + q_hi * s; /* T6.py's sign convention */
    q[at + hi] = -q_lo * s + q_hi * c;
    k[at + lo] = k_lo * c + k_hi * s;
    k[at + hi] = -k_lo * s + k_hi * c;
#else
    q[at + lo] = q_lo * c - q_hi * s;
    q[at + hi] = q_lo * s + q_hi * c;
    k[at + lo] = k_lo * c - k_hi * s;
    k[at + hi] = k_lo * s + k_hi * c;
#endif
    v[at + lo] = qkv[in + 2 * width + lo];
    v[at + hi] = qkv[in + 2 * width + hi];
}

/* t6_model_gemv: out[r][j] (+)= Σ_i in[r][i]·weight[j][i] for r < rows ≤ GEMV_ROWS, j < n, weight row-major
 * n × k. A team of GEMV_TEAM work-items takes one output column: its lanes walk the weight row in loads of
 * T6_GEMV_VEC elements (adjacent lanes, adjacent addresses), each lane keeps one partial sum per row, and the
 * team adds them in local memory. Each weight element is read once and feeds every row. */
#define GEMV_SIZE 256
#define GEMV_TEAM 32
#define GEMV_TEAMS (GEMV_SIZE / GEMV_TEAM)
#define GEMV_ROWS 8 /* T6I_GEMV_ROWS of lib/model.h */
#if T6_GEMV_VEC == 4
#define GEMV_T float4
#define GEMV_DOT(a, b) dot(a, b)
#elif T6_GEMV_VEC == 2
#define GEMV_T float2
#define GEMV_DOT(a, b) dot(a, b)
#else
#define GEMV_T float
#define GEMV_DOT(a, b) ((a) * (b))
#endif

__kernel __attribute__((reqd_work_group_size(GEMV_SIZE, 1, 1)))
void t6_model_gemv(const __global float *in, uint in_offset, uint rows, uint k, const __global float *weight, uint n,
                   __global float *out, uint out_offset, uint accumulate)
{
    __local float partial[GEMV_ROWS][GEMV_SIZE];
    const uint lid = get_local_id(0), lane = lid % GEMV_TEAM;
    const uint column = get_group_id(0) * GEMV_TEAMS + lid / GEMV_TEAM;
    const uint chunks = k / T6_GEMV_VEC; /* the host picked T6_GEMV_VEC dividing k and in_offset */
    float sum[GEMV_ROWS];
    for (uint r = 0; r < GEMV_ROWS; r++) sum[r] = 0.0f;
    if (column < n) {
        const __global GEMV_T *w = (const __global GEMV_T *)(weight + (size_t)column * k);
        const __global GEMV_T *x = (const __global GEMV_T *)(in + in_offset);
        uint c = lane;
        /* Four loads per lane in flight: few groups cover a short output (n = C), so each must keep enough
         * bytes in flight on its own. */
        for (; c + 3 * GEMV_TEAM < chunks; c += 4 * GEMV_TEAM) {
            const GEMV_T w0 = w[c], w1 = w[c + GEMV_TEAM], w2 = w[c + 2 * GEMV_TEAM], w3 = w[c + 3 * GEMV_TEAM];
            for (uint r = 0; r < GEMV_ROWS; r++)
                if (r < rows) {
                    const __global GEMV_T *xr = x + r * chunks + c;
                    sum[r] += (GEMV_DOT(w0, xr[0]) + GEMV_DOT(w1, xr[GEMV_TEAM])) +
                              (GEMV_DOT(w2, xr[2 * GEMV_TEAM]) + GEMV_DOT(w3, xr[3 * GEMV_TEAM]));
                }
        }
        for (; c < chunks; c += GEMV_TEAM) {
            const GEMV_T wc = w[c];
            for (uint r = 0; r < GEMV_ROWS; r++)
                if (r < rows) sum[r] += GEMV_DOT(wc, x[r * chunks + c]);
        }
    }
    for (uint r = 0; r < GEMV_ROWS; r++) partial[r][lid] = sum[r];
    for (uint stride = GEMV_TEAM / 2; stride > 0; stride /= 2) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lane < stride)
            for (uint r = 0; r < GEMV_ROWS; r++) partial[r][lid] += partial[r][lid + stride];
    }
    if (lane == 0 && column < n)
        for (uint r = 0; r < rows; r++) {
            __global float *o = out + out_offset + (size_t)r * n + column;
            *o = accumulate ? *o + partial[r][lid] : partial[r][lid];
        }
}
