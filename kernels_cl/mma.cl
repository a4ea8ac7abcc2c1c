/* mma.cl — the warp-level layer of the tensor-core kernels (attention_mma.cl: TPA decode and prefill; mha_mma.cl:
 * MHA/GQA/MQA prefill), put in front of each (kernels_cl/programs.txt), and the probe the host runs before it
 * uses them (lib/runtime/mma_probe.c):
 *  - rows of D fp16/bf16 values in local memory, swizzled so that ldmatrix phases hit distinct banks;
 *  - fragments, mma.sync m16n8k16 (fp32 accumulation), ldmatrix (.trans), shuffles, vote, cp.async;
 *  - the same instructions emulated through local memory with the PTX fragment layouts (T6_MMA 2), so that any
 *    device (PoCL in the tests) runs the kernels built on them;
 *  - what both kernels do with fragments: a query split into QTERMS parts, the score product of one n8 tile, a
 *    stage's online softmax, the value product of one k16 step.
 * Every lane of a warp holds the m16 rows g = lane / 4 ("top") and g + 8 ("bottom") of the A and C fragments and
 * columns 2c, 2c + 1 (c = lane mod 4) of each n8 tile.
 *
 * Macros set by the host: T6_HEAD_DIM, T6_CACHE_DTYPE (1 fp16, 2 bf16), T6_MMA (1 PTX on NVIDIA, 2 emulated),
 * T6_QTERMS and T6_PTERMS (parts of the query and of the softmax weights, from the precision mode and the dtype).
 */
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64
#endif
#ifndef T6_CACHE_DTYPE
#define T6_CACHE_DTYPE 1
#endif
#ifndef T6_MMA
#define T6_MMA 2 /* 1 PTX (NVIDIA), 2 emulated (any device) */
#endif
#ifndef T6_QTERMS
#define T6_QTERMS 2 /* parts of q: 2 (fp16), 3 (bf16 strict) */
#endif
#ifndef T6_PTERMS
#define T6_PTERMS 2 /* parts of the softmax weights: 2 strict, 1 fast */
#endif

#define HEAD_DIM T6_HEAD_DIM
#define QTERMS T6_QTERMS
#define PTERMS T6_PTERMS
#define KSTEPS (HEAD_DIM / 16)    /* k16 steps of the score product */
#define NTILES (HEAD_DIM / 8)     /* n8 tiles of the value product (even for every D) */
#define KPAIRS ((KSTEPS + 1) / 2) /* ldmatrix.x4 loads of key rows per n8 tile */

/* ---- rows of D values in local memory ---- */
/* B rows of 16-byte chunks. D 64 and 128: chunk c of row r sits at c ^ (r mod 8), so the 8 rows of an ldmatrix
 * phase hit 8 bank groups; D 32 (4 chunks, 2 rows per 128 bytes): c ^ ((r / 2) mod 4); D 80 and 96: rows padded
 * by a chunk (an odd number of chunks apart spreads 8 rows over 8 bank groups). */
#define CHUNKS (HEAD_DIM / 8)
#if HEAD_DIM == 80 || HEAD_DIM == 96
#define ROW_BYTES (HEAD_DIM * 2 + 16)
#else
#define ROW_BYTES (HEAD_DIM * 2)
#endif

inline uint chunk_at(uint row, uint chunk)
{
#if HEAD_DIM == 64 || HEAD_DIM == 128
    return chunk ^ (row & 7u);
#elif HEAD_DIM == 32
    return chunk ^ ((row >> 1) & 3u);
#else
    return chunk;
#endif
}

inline uint row_chunk(uint row, uint chunk) { return row * ROW_BYTES + chunk_at(row, chunk) * 16u; }

/* A cached fp16 or bf16 value in a stage, as fp32. */
inline float stored_value(const __local uchar *stage, uint offset)
{
#if T6_CACHE_DTYPE == 1
    return vload_half(0, (const __local half *)(stage + offset));
#else
    return t6_bf16_to_float(*(const __local ushort *)(stage + offset));
#endif
}

/* Loops over register arrays are unrolled on the GPU (or the arrays go to slow per-work-item memory); the
 * emulation keeps them rolled: each emulated instruction holds barriers, and a CPU compiler's work-group
 * transformation grows with every copy of one. */
#if T6_MMA == 1
#define UNROLL _Pragma("unroll")
#else
#define UNROLL _Pragma("nounroll")
#endif

/* ---- fragments: a pair of fp16 or bf16 values, the lower k (or column) first ---- */
#if T6_MMA == 1
typedef uint frag; /* packed as mma.sync reads it */
#define EMU_PARAM
#define EMU_ARG

/* The .shared window address of a local pointer: in NVPTX a __local pointer is that offset (probed). */
inline uint shared_address(const __local void *p) { return (uint)(size_t)p; }

inline frag pack(float low, float high)
{
    uint r;
#if T6_CACHE_DTYPE == 1
    __asm__("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(high), "f"(low));
#else
    __asm__("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(high), "f"(low));
#endif
    return r;
}

inline float2 unpack(frag v)
{
#if T6_CACHE_DTYPE == 1
    float2 f;
    __asm__("{ .reg .f16 l, h; mov.b32 {l, h}, %2; cvt.f32.f16 %0, l; cvt.f32.f16 %1, h; }"
            : "=f"(f.x), "=f"(f.y)
            : "r"(v));
    return f;
#else
    return (float2)(as_float(v << 16), as_float(v & 0xFFFF0000u));
#endif
}

/* d += A·B on one m16n8k16 tile: a[0..3] rows g / g+8, k 2c.. and 2c+8..; b0, b1 k 2c.. and 2c+8.., column g. */
inline void mma(float *d, const frag *a, frag b0, frag b1)
{
#if T6_CACHE_DTYPE == 1
    __asm__ __volatile__("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                         "{%8,%9}, {%0,%1,%2,%3};"
                         : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __asm__ __volatile__("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                         "{%8,%9}, {%0,%1,%2,%3};"
                         : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

/* Four 8 × 8 matrices of 16-bit values; lane 8i + r gives the address of row r of matrix i. Without .trans
 * register i of lane l holds row l/4, columns 2(l%4), +1 of matrix i; with .trans rows 2(l%4), +1 of column
 * l/4. */
inline void ldsm4(frag *r, const __local uchar *stage, uint offset)
{
    __asm__ __volatile__("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                         : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                         : "r"(shared_address(stage) + offset)
                         : "memory");
}

inline void ldsm4_trans(frag *r, const __local uchar *stage, uint offset)
{
    __asm__ __volatile__("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                         : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                         : "r"(shared_address(stage) + offset)
                         : "memory");
}

inline float shuffle_xor(float v, int mask)
{
    float r;
    __asm__ __volatile__("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=f"(r) : "f"(v), "r"(mask));
    return r;
}

inline bool any_in_warp(bool p)
{
    int r;
    __asm__ __volatile__("{ .reg .pred q, o; setp.ne.s32 q, %1, 0; vote.sync.any.pred o, q, 0xffffffff; "
                         "selp.s32 %0, 1, 0, o; }"
                         : "=r"(r)
                         : "r"((int)p));
    return r != 0;
}

inline float exp2_fast(float x)
{
    float y;
    __asm__("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

/* 16 bytes from global to local memory without registers; bytes past `valid` (0..16) are zero-filled. */
inline void copy16(__local uchar *dst, const __global uchar *src, uint valid)
{
    __asm__ __volatile__("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(shared_address(dst)), "l"(src),
                         "r"(valid)
                         : "memory");
}

inline void copies_commit(void) { __asm__ __volatile__("cp.async.commit_group;" ::: "memory"); }

/* Waits until at most `pending` (a constant) committed groups of copies are still in flight. */
#define COPIES_WAIT(pending) __asm__ __volatile__("cp.async.wait_group %0;" ::"n"(pending) : "memory")

/* What __threadfence() is: OpenCL 1.2 names no device scope. */
inline void device_fence(void) { __asm__ __volatile__("membar.gl;" ::: "memory"); }

#else
/* ---- the same instructions emulated: a fragment pair holds the two values already rounded to the type ---- */
typedef float2 frag;
/* Every emulated warp-level instruction exchanges values through the warp's part of `exchange` (12 floats per
 * lane) between barriers; all warps run the same instruction sequence, so every barrier is reached by all. */
#define EMU_PARAM , __local float *exchange
#define EMU_ARG , exchange

inline float round_to_cache_type(float x)
{
#if T6_CACHE_DTYPE == 1
    ushort bits;
    vstore_half_rte(x, 0, (__private half *)&bits);
    return vload_half(0, (const __private half *)&bits);
#else
    return t6_bf16_to_float(t6_float_to_bf16(x));
#endif
}

inline frag pack(float low, float high) { return (float2)(round_to_cache_type(low), round_to_cache_type(high)); }
inline float2 unpack(frag v) { return v; }

inline uint lane_id(void) { return get_local_id(0) % 32; }

inline void mma_emulated(float *d, const frag *a, frag b0, frag b1, __local float *exchange)
{
    const uint lane = lane_id(), g = lane / 4, c = lane % 4;
    __local float *mine = exchange + (get_local_id(0) / 32) * 384 + lane * 12;
    barrier(CLK_LOCAL_MEM_FENCE);
    mine[0] = a[0].x, mine[1] = a[0].y, mine[2] = a[1].x, mine[3] = a[1].y;
    mine[4] = a[2].x, mine[5] = a[2].y, mine[6] = a[3].x, mine[7] = a[3].y;
    mine[8] = b0.x, mine[9] = b0.y, mine[10] = b1.x, mine[11] = b1.y;
    barrier(CLK_LOCAL_MEM_FENCE);
    const __local float *warp = exchange + (get_local_id(0) / 32) * 384;
    for (uint k = 0; k < 16; k++) {
        /* A[row][k] is in lane 4(row mod 8) + (k mod 8)/2, register (k ≥ 8)·2 + (row ≥ 8), element k mod 2. */
        const uint holder = (k % 8) / 2, element = k % 2, high_k = k >= 8 ? 4 : 0;
        const float top = warp[(4 * g + holder) * 12 + high_k + element];
        const float bottom = warp[(4 * g + holder) * 12 + high_k + 2 + element];
        /* B[k][n] is in lane 4n + (k mod 8)/2, register k ≥ 8, element k mod 2. */
        const uint b_at = 8 + (k >= 8 ? 2 : 0) + element;
        const float left = warp[(4 * (2 * c) + holder) * 12 + b_at];
        const float right = warp[(4 * (2 * c + 1) + holder) * 12 + b_at];
        d[0] = mad(top, left, d[0]);
        d[1] = mad(top, right, d[1]);
        d[2] = mad(bottom, left, d[2]);
        d[3] = mad(bottom, right, d[3]);
    }
}
#define mma(d, a, b0, b1) mma_emulated(d, a, b0, b1, exchange)

inline void ldsm4_emulated(frag *r, const __local uchar *stage, uint offset, bool trans, __local float *exchange)
{
    const uint lane = lane_id(), warp = get_local_id(0) / 32;
    __local uint *addresses = (__local uint *)(exchange + warp * 384);
    barrier(CLK_LOCAL_MEM_FENCE);
    addresses[lane] = offset;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint i = 0; i < 4; i++) {
        if (trans) {
            const uint column = 2 * (lane / 4);
            r[i] = (float2)(stored_value(stage, addresses[8 * i + 2 * (lane % 4)] + column),
                            stored_value(stage, addresses[8 * i + 2 * (lane % 4) + 1] + column));
        } else {
            const uint row = addresses[8 * i + lane / 4] + 4 * (lane % 4);
            r[i] = (float2)(stored_value(stage, row), stored_value(stage, row + 2));
        }
    }
}
#define ldsm4(r, stage, offset) ldsm4_emulated(r, stage, offset, false, exchange)
#define ldsm4_trans(r, stage, offset) ldsm4_emulated(r, stage, offset, true, exchange)

inline float shuffle_xor_emulated(float v, int mask, __local float *exchange)
{
    const uint lane = lane_id();
    __local float *warp = exchange + (get_local_id(0) / 32) * 384;
    barrier(CLK_LOCAL_MEM_FENCE);
    warp[lane] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    return warp[lane ^ (uint)mask];
}
#define shuffle_xor(v, mask) shuffle_xor_emulated(v, mask, exchange)

inline bool any_in_warp_emulated(bool p, __local float *exchange)
{
    const uint lane = lane_id();
    __local float *warp = exchange + (get_local_id(0) / 32) * 384;
    barrier(CLK_LOCAL_MEM_FENCE);
    warp[lane] = p ? 1.0f : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    float any = 0.0f;
    for (uint i = 0; i < 32; i++) any = fmax(any, warp[i]);
    return any != 0.0f;
}
#define any_in_warp(p) any_in_warp_emulated(p, exchange)

inline float exp2_fast(float x) { return exp2(x); }

inline void copy16(__local uchar *dst, const __global uchar *src, uint valid)
{
    for (uint i = 0; i < 16; i++) dst[i] = i < valid ? src[i] : (uchar)0;
}

inline void copies_commit(void) {}
#define COPIES_WAIT(pending)
inline void device_fence(void) {}
#endif

/* ---- what the kernels do with fragments ---- */

/* x and y (fp32) as `terms` fp16/bf16 pairs that sum to them: each part rounds what the earlier ones left. */
inline void split_pair(float x, float y, frag *parts, uint terms)
{
    UNROLL
    for (uint t = 0; t < terms; t++) {
        parts[t] = pack(x, y);
        const float2 part = unpack(parts[t]);
        x -= part.x;
        y -= part.y;
    }
}

/* The lane's two query rows as QTERMS A fragments per k16 step. qv[kk] holds k step kk in an A fragment's order:
 * the top row at k 2c, 2c+1, the bottom row the same, then both at k 2c+8, 2c+9. Each row is scaled by a power of
 * two that puts its largest |value| near 2^12, so that the low parts of fp16 stay normal (TPA.md: a query is
 * never rounded once); unscale[0] (top) and unscale[1] (bottom) undo it on the scores, exactly, in fp32. */
inline void split_query(float (*qv)[8], frag (*qa)[KSTEPS][4], float *unscale EMU_PARAM)
{
    float top_max = 0.0f, bottom_max = 0.0f;
    UNROLL
    for (uint kk = 0; kk < KSTEPS; kk++) {
        top_max = fmax(top_max, fmax(fmax(fabs(qv[kk][0]), fabs(qv[kk][1])), fmax(fabs(qv[kk][4]), fabs(qv[kk][5]))));
        bottom_max =
            fmax(bottom_max, fmax(fmax(fabs(qv[kk][2]), fabs(qv[kk][3])), fmax(fabs(qv[kk][6]), fabs(qv[kk][7]))));
    }
    top_max = fmax(top_max, shuffle_xor(top_max, 1));
    top_max = fmax(top_max, shuffle_xor(top_max, 2));
    bottom_max = fmax(bottom_max, shuffle_xor(bottom_max, 1));
    bottom_max = fmax(bottom_max, shuffle_xor(bottom_max, 2));
    const int top_exponent = top_max > 0.0f ? 12 - ilogb(top_max) : 0;
    const int bottom_exponent = bottom_max > 0.0f ? 12 - ilogb(bottom_max) : 0;
    unscale[0] = ldexp(1.0f, -top_exponent);
    unscale[1] = ldexp(1.0f, -bottom_exponent);
    UNROLL
    for (uint kk = 0; kk < KSTEPS; kk++)
        UNROLL
        for (uint i = 0; i < 4; i++) {
            frag parts[QTERMS];
            const int exponent = i % 2 == 0 ? top_exponent : bottom_exponent;
            split_pair(ldexp(qv[kk][2 * i], exponent), ldexp(qv[kk][2 * i + 1], exponent), parts, QTERMS);
            UNROLL
            for (uint t = 0; t < QTERMS; t++) qa[t][kk][i] = parts[t];
        }
}

/* One n8 tile of the score product over the whole of D, d = q·Bᵀ (fresh, not accumulated): B fragments by
 * ldmatrix from the lane's row addresses at[kp] + offset (k steps 2kp and 2kp + 1 per load). */
inline void key_tile(float *d, frag (*qa)[KSTEPS][4], const __local uchar *stage, const uint *at, uint offset EMU_PARAM)
{
    d[0] = d[1] = d[2] = d[3] = 0.0f;
    UNROLL
    for (uint kp = 0; kp < KPAIRS; kp++) {
        frag b[4]; /* matrices: chunks 4kp .. 4kp+3, i.e. k steps 2kp and 2kp + 1 */
        ldsm4(b, stage, at[kp] + offset);
        UNROLL
        for (uint term = 0; term < QTERMS; term++) {
            mma(d, qa[term][2 * kp], b[0], b[1]);
            if (2 * kp + 1 < KSTEPS) mma(d, qa[term][2 * kp + 1], b[2], b[3]);
        }
    }
}

/* The most positions of a stage a lane owns (stages of up to 64). Loops over a lane's positions run to this
 * constant and stop at the caller's count: a bound that is only constant once inlined is unrolled too late for
 * the score arrays to stay in registers (clang 16: 64 bytes of stack and 90 more instructions per stage). */
#define MOST_OWN 16

/* A stage's online softmax for the lane's two rows: `own` scores each (base 2, still scaled by 1/unscale; masked
 * ones −∞). Where the stage raises a row's running max ref (of the true scores), the accumulators and the sum
 * are rescaled; then the scores become the weights 2^(score − max), added to the lane's sums. A row that has seen
 * no position yet keeps −∞ and a factor of 1, and its weights are 0 (against a max of 0 instead of −∞). */
inline void stage_softmax(float *top, float *bottom, uint own, const float *unscale, float *ref, float *sum,
                          float (*acc)[4] EMU_PARAM)
{
    float top_now = top[0], bottom_now = bottom[0];
    UNROLL
    for (uint j = 1; j < MOST_OWN; j++) {
        if (j < own) {
            top_now = fmax(top_now, top[j]);
            bottom_now = fmax(bottom_now, bottom[j]);
        }
    }
    top_now = fmax(top_now, shuffle_xor(top_now, 1));
    top_now = fmax(top_now, shuffle_xor(top_now, 2));
    bottom_now = fmax(bottom_now, shuffle_xor(bottom_now, 1));
    bottom_now = fmax(bottom_now, shuffle_xor(bottom_now, 2));
    const float top_new = fmax(ref[0], top_now * unscale[0]);
    const float bottom_new = fmax(ref[1], bottom_now * unscale[1]);
    if (any_in_warp(top_new != ref[0] || bottom_new != ref[1])) {
        const float top_factor = top_new == ref[0] ? 1.0f : exp2_fast(ref[0] - top_new);
        const float bottom_factor = bottom_new == ref[1] ? 1.0f : exp2_fast(ref[1] - bottom_new);
        UNROLL
        for (uint t = 0; t < NTILES; t++) {
            acc[t][0] *= top_factor;
            acc[t][1] *= top_factor;
            acc[t][2] *= bottom_factor;
            acc[t][3] *= bottom_factor;
        }
        sum[0] *= top_factor;
        sum[1] *= bottom_factor;
        ref[0] = top_new;
        ref[1] = bottom_new;
    }
    const float top_offset = ref[0] == -INFINITY ? 0.0f : ref[0];
    const float bottom_offset = ref[1] == -INFINITY ? 0.0f : ref[1];
    UNROLL
    for (uint j = 0; j < MOST_OWN; j++) {
        if (j < own) {
            top[j] = exp2_fast(mad(top[j], unscale[0], -top_offset));
            bottom[j] = exp2_fast(mad(bottom[j], unscale[1], -bottom_offset));
            sum[0] += top[j];
            sum[1] += bottom[j];
        }
    }
}

/* The sum of v over the lane's quad (the four lanes that hold one row). */
inline float quad_sum(float v EMU_PARAM)
{
    v += shuffle_xor(v, 1);
    return v + shuffle_xor(v, 2);
}

/* One k16 step of the value product, acc += W·V over all n8 tiles: w holds the lane's 8 weights in an A
 * fragment's order (top k 2c, 2c+1, bottom the same, then k 2c+8, 2c+9), split into PTERMS parts; V fragments
 * come by ldmatrix.trans from the lane's row addresses at[t / 2] + offset, two n8 tiles per load. */
inline void value_step(float (*acc)[4], const float *w, const __local uchar *stage, const uint *at,
                       uint offset EMU_PARAM)
{
    frag wa[PTERMS][4];
    UNROLL
    for (uint i = 0; i < 4; i++) {
        frag parts[PTERMS];
        split_pair(w[2 * i], w[2 * i + 1], parts, PTERMS);
        UNROLL
        for (uint term = 0; term < PTERMS; term++) wa[term][i] = parts[term];
    }
    UNROLL
    for (uint t = 0; t < NTILES; t += 2) {
        frag b[4];
        ldsm4_trans(b, stage, at[t / 2] + offset);
        UNROLL
        for (uint term = 0; term < PTERMS; term++) {
            mma(acc[t], wa[term], b[0], b[1]);
            mma(acc[t + 1], wa[term], b[2], b[3]);
        }
    }
}

/* ---- the probe ---- */

/* The host's probe of the instructions above (lib/runtime/mma_probe.c), one warp: three 16 × 16 matrices of
 * small integers (exact in fp16 and bf16) come in by cp.async; A·B through ldmatrix (A) and ldmatrix.trans (B as
 * [k][n], two n8 tiles), A·Btᵀ through ldmatrix (Bt as [n][k], the key-row layout); shuffles, vote and a
 * pack/unpack round trip. The host computes every expected output from the same integers. */
__kernel __attribute__((reqd_work_group_size(32, 1, 1))) void t6_mma_probe(const __global uchar *in,
                                                                          __global float *out)
{
    __local uint4 tiles[3 * 16 * 16 * 2 / 16];
    __local float exchange[T6_MMA == 2 ? 32 * 12 : 1];
    (void)exchange;
    __local uchar *bytes = (__local uchar *)tiles;
    const uint lane = get_local_id(0), g = lane / 4, c = lane % 4;
    for (uint j = lane; j < 3 * 32; j += 32) copy16(bytes + j * 16, in + j * 16, 16);
    copies_commit();
    COPIES_WAIT(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    /* A fragments: lane l gives row l mod 16, columns 8·(l / 16) .. (rows of 32 bytes). */
    frag a[4], b[4], bt[4];
    ldsm4(a, bytes, (lane % 16) * 32 + (lane / 16) * 16);
    /* B as [k][n]: matrix i holds k rows 8·(i mod 2).., n columns 8·(i / 2)..; lane 8i + r gives row r. */
    const uint i = lane / 8, r = lane % 8;
    ldsm4_trans(b, bytes + 512, (r + 8 * (i % 2)) * 32 + (i / 2) * 16);
    /* Bt as [n][k]: matrix i holds n rows 0..7, k columns 8·i (i < 2; matrices 2, 3 repeat them). */
    ldsm4(bt, bytes + 1024, r * 32 + (i % 2) * 16);
    float d[3][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};
    mma(d[0], a, b[0], b[1]);
    mma(d[1], a, b[2], b[3]);
    mma(d[2], a, bt[0], bt[1]);
    for (uint p = 0; p < 3; p++) {
        out[p * 128 + g * 8 + 2 * c] = d[p][0];
        out[p * 128 + g * 8 + 2 * c + 1] = d[p][1];
        out[p * 128 + (g + 8) * 8 + 2 * c] = d[p][2];
        out[p * 128 + (g + 8) * 8 + 2 * c + 1] = d[p][3];
    }
    const float one = shuffle_xor((float)lane, 1), two = shuffle_xor((float)lane, 2);
    out[384 + lane] = one + 100.0f * two;
    const bool some = any_in_warp(lane == 17), none = any_in_warp(false);
    const float2 round_trip = unpack(pack(1.0f + 0x1p-12f, 0.0f));
    if (lane == 0) {
        out[416] = some ? round_trip.x : 0.0f;
        out[417] = none ? 1.0f : round_trip.y;
    }
}
