/* model.cl — the steps of the whole T6 model around attention (TPA.md, "The whole T6 model"): the dense
 * products (t6_model_gemv, with RMSNorm, SwiGLU and the residual add folded in where the model asks), the
 * embedding gather, and, for calls the products leave to CLBlast (prefill with fp32 weights), RMSNorm without
 * weight and SiLU(a)⊙b as kernels of their own; RoPE for the MHA baseline's q and k. Activations are fp32 rows;
 * token ids and positions come from one int buffer written once per step. */
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
#ifndef T6_ROPE_STYLE
#define T6_ROPE_STYLE 0 /* t6_rope_style: 0 half (pairs i, i+D/2), 1 interleaved (pairs 2i, 2i+1) */
#endif
#ifndef T6_WEIGHT_DTYPE
#define T6_WEIGHT_DTYPE 0 /* storage type of the weights (t6_dtype): kept in their own precision on the device */
#endif

#define MODEL_WSTORE T6_STORAGE(T6_WEIGHT_DTYPE)

/* x[r] = wte[row_meta[tokens_at + r]]; the host has checked every id against the vocabulary. */
__kernel void t6_model_embed(const __global MODEL_WSTORE *wte, const __global int *row_meta, uint tokens_at,
                             __global float *x, uint rows)
{
    const uint c = get_global_id(0), r = get_global_id(1);
    if (c >= T6_MODEL_DIM || r >= rows) return;
    x[(size_t)r * T6_MODEL_DIM + c] = T6_LOAD(T6_WEIGHT_DTYPE, wte, (size_t)row_meta[tokens_at + r] * T6_MODEL_DIM + c);
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

/* ---- t6_model_gemv: the model's dense products ----
 *
 * out[r][j] (+)= Σ_i x[r][i]·W[j][i] for r < rows, j < n, W row-major n × k in its own storage type (fp32,
 * fp16 or bf16: 2-byte weights are read as such, so a decode step reads each weight's 2 bytes once). A team
 * of T6_GEMV_LANES work-items takes one output column: its lanes walk the weight row in loads of T6_GEMV_VEC
 * elements (adjacent lanes, adjacent addresses), each lane keeps partial sums for T6_GEMV_BLOCK rows, and the
 * team adds them in local memory. A call of more rows takes them a block at a time: the group's weight rows
 * come from DRAM once and from cache for the later blocks. GPUs run teams of 32; CPU drivers run one
 * work-item per column with 8-wide vectors (they vectorize explicit vector code only).
 * The neighbours of a product fold in, so that a decode step enqueues one command per product:
 *   T6_GEMV_NORM    the input rows are RMSNorm'd (x / sqrt(mean(x²) + eps), no weight): the group sums each
 *                   row's squares in a prologue and scales the row's sums by it (W·(s·x) = s·(W·x));
 *   T6_GEMV_SWIGLU  W holds 2n rows, c_fc1 then c_fc2, and the team computes both halves of column j:
 *                   out[r][j] = silu(W_j·x)·(W_{n+j}·x), the MLP's activation in the epilogue;
 *   accumulate      out += the product: the residual add. */
#ifndef T6_GEMV_VEC
#define T6_GEMV_VEC 4 /* elements per load (1, 2, 4 or 8): the host picks one dividing k and in_offset */
#endif
#ifndef T6_GEMV_LANES
#define T6_GEMV_LANES 32 /* work-items per output column, a power of two (1 on CPUs) */
#endif
#ifndef T6_GEMV_SIZE
#define T6_GEMV_SIZE 256 /* work-items per group: a power of two, a multiple of T6_GEMV_LANES */
#endif
#ifndef T6_GEMV_BLOCK
#define T6_GEMV_BLOCK 8 /* rows summed at once (1, 2, 4 or 8): the host picks the power of two covering the call */
#endif
#ifndef T6_GEMV_NORM
#define T6_GEMV_NORM 0 /* 1: RMSNorm of the input rows folded in (at most GEMV_NORM_ROWS rows per call) */
#endif
#ifndef T6_GEMV_SWIGLU
#define T6_GEMV_SWIGLU 0 /* 1: SwiGLU of the two halves of W in the epilogue */
#endif
#ifndef T6_GEMV_VACC
#define T6_GEMV_VACC 0 /* 1: VEC-wide partial sums (CPUs: independent FMAs), 0 scalar ones (GPUs: registers) */
#endif

#define GEMV_TEAMS (T6_GEMV_SIZE / T6_GEMV_LANES)
#define GEMV_PARTS (T6_GEMV_SWIGLU ? 2 : 1)
#define GEMV_VALUES (GEMV_PARTS * T6_GEMV_BLOCK)
#define GEMV_REDUCE 8        /* values a reduction moves through local memory at once */
#define GEMV_NORM_ROWS 128   /* T6I_GEMV_NORM_ROWS of lib/model/model.h */

#if T6_GEMV_VEC == 1
#define GEMV_X float
#define GEMV_HSUM(v) (v)
#elif T6_GEMV_VEC == 2
#define GEMV_X float2
#define GEMV_HSUM(v) ((v).s0 + (v).s1)
#elif T6_GEMV_VEC == 4
#define GEMV_X float4
#define GEMV_HSUM(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3))
#else
#define GEMV_X float8
#define GEMV_HSUM(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))
#endif
/* Partial sums: VEC-wide (every element of a vector its own chain) or scalar (the products summed within the
 * vector first: VEC× fewer registers for a block of rows). */
#if T6_GEMV_VACC
#define GEMV_ACC GEMV_X
#define GEMV_PRODUCT(w, x) ((w) * (x))
#define GEMV_TOTAL(a) GEMV_HSUM(a)
#else
#define GEMV_ACC float
#define GEMV_PRODUCT(w, x) GEMV_HSUM((w) * (x))
#define GEMV_TOTAL(a) (a)
#endif

/* Weight chunk i (elements i·VEC .. i·VEC+VEC−1 of p, VEC-aligned) as floats. */
#if T6_WEIGHT_DTYPE == 0
#define GEMV_LOAD_W(p, i) (((const __global GEMV_X *)(p))[i])
#elif T6_GEMV_VEC == 1
#define GEMV_LOAD_W(p, i) T6_LOAD(T6_WEIGHT_DTYPE, p, i)
#elif T6_WEIGHT_DTYPE == 1
#define GEMV_LOAD_W(p, i) T6_CAT(vloada_half, T6_GEMV_VEC)(i, p)
#else
#define GEMV_LOAD_W(p, i)                                                                                          \
    T6_CAT(as_float, T6_GEMV_VEC)(T6_CAT(convert_uint, T6_GEMV_VEC)(                                             \
        ((const __global T6_CAT(ushort, T6_GEMV_VEC) *)(p))[i]) << 16)
#endif

__kernel __attribute__((reqd_work_group_size(T6_GEMV_SIZE, 1, 1)))
void t6_model_gemv(const __global float *in, uint in_offset, uint rows, uint k, const __global MODEL_WSTORE *weight,
                   uint n, __global float *out, uint out_offset, uint accumulate, float norm_eps)
{
#if T6_GEMV_LANES > 1 || T6_GEMV_NORM
    __local float partial[GEMV_REDUCE][T6_GEMV_SIZE];
#endif
    const uint lid = get_local_id(0), lane = lid % T6_GEMV_LANES;
    const uint column = get_group_id(0) * GEMV_TEAMS + lid / T6_GEMV_LANES;
    const uint chunks = k / T6_GEMV_VEC; /* the host picked T6_GEMV_VEC dividing k and in_offset */
    const __global GEMV_X *x = (const __global GEMV_X *)(in + in_offset);

#if T6_GEMV_NORM
    /* Each row's sum of squares, shared by the group: GEMV_REDUCE rows at a time, a tree over the group. */
    __local float row_scale[GEMV_NORM_ROWS];
    const __global float *xs = in + in_offset;
    for (uint r0 = 0; r0 < rows; r0 += GEMV_REDUCE) {
        float sq[GEMV_REDUCE];
        for (uint v = 0; v < GEMV_REDUCE; v++) {
            sq[v] = 0.0f;
            if (r0 + v < rows)
                for (uint c = lid; c < k; c += T6_GEMV_SIZE) {
                    const float e = xs[(r0 + v) * k + c];
                    sq[v] = fma(e, e, sq[v]);
                }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint v = 0; v < GEMV_REDUCE; v++) partial[v][lid] = sq[v];
        for (uint stride = T6_GEMV_SIZE / 2; stride > 0; stride /= 2) {
            barrier(CLK_LOCAL_MEM_FENCE);
            if (lid < stride)
                for (uint v = 0; v < GEMV_REDUCE; v++) partial[v][lid] += partial[v][lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < GEMV_REDUCE && r0 + lid < rows)
            row_scale[r0 + lid] = 1.0f / sqrt(partial[lid][0] / (float)k + norm_eps);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#endif

    for (uint row0 = 0; row0 < rows; row0 += T6_GEMV_BLOCK) {
        const uint block_rows = min(rows - row0, (uint)T6_GEMV_BLOCK);
        /* Every block sums T6_GEMV_BLOCK rows, a short last block repeating its last row (whose sums are
         * dropped): fixed trip counts keep the sums in registers and the loops free of branches. */
        uint row_at[T6_GEMV_BLOCK];
        #pragma unroll
        for (uint r = 0; r < T6_GEMV_BLOCK; r++) row_at[r] = min(r, block_rows - 1) * chunks;
        GEMV_ACC acc[GEMV_VALUES];
        #pragma unroll
        for (uint v = 0; v < GEMV_VALUES; v++) acc[v] = (GEMV_ACC)(0.0f);
        if (column < n) {
            const __global MODEL_WSTORE *w = weight + (size_t)column * k;
#if T6_GEMV_SWIGLU
            const __global MODEL_WSTORE *w2 = weight + (size_t)(column + n) * k;
#endif
            const __global GEMV_X *xb = x + row0 * chunks;
            uint c = lane;
            /* Four loads per lane in flight: few groups cover a short output (n = C), so each must keep enough
             * bytes in flight on its own. */
            for (; c + 3 * T6_GEMV_LANES < chunks; c += 4 * T6_GEMV_LANES) {
                const GEMV_X w0 = GEMV_LOAD_W(w, c), w1 = GEMV_LOAD_W(w, c + T6_GEMV_LANES);
                const GEMV_X w2_ = GEMV_LOAD_W(w, c + 2 * T6_GEMV_LANES), w3 = GEMV_LOAD_W(w, c + 3 * T6_GEMV_LANES);
#if T6_GEMV_SWIGLU
                const GEMV_X u0 = GEMV_LOAD_W(w2, c), u1 = GEMV_LOAD_W(w2, c + T6_GEMV_LANES);
                const GEMV_X u2 = GEMV_LOAD_W(w2, c + 2 * T6_GEMV_LANES), u3 = GEMV_LOAD_W(w2, c + 3 * T6_GEMV_LANES);
#endif
                #pragma unroll
                for (uint r = 0; r < T6_GEMV_BLOCK; r++) {
                    const __global GEMV_X *xr = xb + row_at[r] + c;
                    const GEMV_X x0 = xr[0], x1 = xr[T6_GEMV_LANES], x2 = xr[2 * T6_GEMV_LANES];
                    const GEMV_X x3 = xr[3 * T6_GEMV_LANES];
                    /* Two short sums, then one add to the running sum: a CPU's FMA latency stalls only
                     * that add. */
                    acc[r] += (GEMV_PRODUCT(w0, x0) + GEMV_PRODUCT(w1, x1)) +
                              (GEMV_PRODUCT(w2_, x2) + GEMV_PRODUCT(w3, x3));
#if T6_GEMV_SWIGLU
                    acc[T6_GEMV_BLOCK + r] +=
                        (GEMV_PRODUCT(u0, x0) + GEMV_PRODUCT(u1, x1)) + (GEMV_PRODUCT(u2, x2) + GEMV_PRODUCT(u3, x3));
#endif
                }
            }
            for (; c < chunks; c += T6_GEMV_LANES) {
                const GEMV_X w0 = GEMV_LOAD_W(w, c);
#if T6_GEMV_SWIGLU
                const GEMV_X u0 = GEMV_LOAD_W(w2, c);
#endif
                #pragma unroll
                for (uint r = 0; r < T6_GEMV_BLOCK; r++) {
                    const GEMV_X x0 = xb[row_at[r] + c];
                    acc[r] += GEMV_PRODUCT(w0, x0);
#if T6_GEMV_SWIGLU
                    acc[T6_GEMV_BLOCK + r] += GEMV_PRODUCT(u0, x0);
#endif
                }
            }
        }
        float value[GEMV_VALUES];
        #pragma unroll
        for (uint v = 0; v < GEMV_VALUES; v++) value[v] = GEMV_TOTAL(acc[v]);
#if T6_GEMV_LANES > 1
        for (uint v0 = 0; v0 < GEMV_VALUES; v0 += GEMV_REDUCE) {
            barrier(CLK_LOCAL_MEM_FENCE); /* the previous round's reads are done */
            for (uint v = 0; v < GEMV_REDUCE; v++)
                if (v0 + v < GEMV_VALUES) partial[v][lid] = value[v0 + v];
            for (uint stride = T6_GEMV_LANES / 2; stride > 0; stride /= 2) {
                barrier(CLK_LOCAL_MEM_FENCE);
                if (lane < stride)
                    for (uint v = 0; v < GEMV_REDUCE; v++) partial[v][lid] += partial[v][lid + stride];
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            for (uint v = 0; v < GEMV_REDUCE; v++)
                if (v0 + v < GEMV_VALUES) value[v0 + v] = partial[v][lid];
        }
#endif
        if (lane == 0 && column < n)
            for (uint r = 0; r < block_rows; r++) {
                const uint row = row0 + r;
#if T6_GEMV_NORM
                const float scale = row_scale[row];
#else
                const float scale = 1.0f;
#endif
                float y = value[r] * scale;
#if T6_GEMV_SWIGLU
                y = y / (1.0f + exp(-y)) * (value[T6_GEMV_BLOCK + r] * scale);
#endif
                __global float *o = out + out_offset + (size_t)row * n + column;
                *o = accumulate ? *o + y : y;
            }
    }
}
