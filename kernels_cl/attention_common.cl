/* attention_common.cl — what the FMA attention kernels share, put in front of each by kernels_cl/programs.txt
 * (attention.cl: work-group tiles, decode kernel 1 and prefill; attention_decode.cl: register-tiled stages,
 * decode kernel 3; attention_vector.cl: vectors per work-item, kernel 2): the defaults of the shape macros the
 * host sets, and the staging of cache tiles through registers into fp32 local memory.
 *
 * The staging is defined for every load width (1, 2, 4 or 8 elements) and picked by the kernel's VECTOR where it
 * is used (RAW_T, stage_raw): VECTOR is a tunable each kernel file names after this prelude. */
#ifndef T6_HEADS
#define T6_HEADS 8 /* H: set by the host, not tuned */
#endif
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64
#endif
#ifndef T6_RANK_Q
#define T6_RANK_Q 2
#endif
#ifndef T6_RANK_K
#define T6_RANK_K 1
#endif
#ifndef T6_RANK_V
#define T6_RANK_V 1
#endif
#ifndef T6_CACHE_DTYPE
#define T6_CACHE_DTYPE 0
#endif

#define CACHE_T T6_STORAGE(T6_CACHE_DTYPE)

/* ---- staging: a load's raw storage is kept undecoded in registers while in flight (half the registers for
 * 16-bit types), then decoded into local memory ---- */
#if T6_CACHE_DTYPE == 0
typedef float raw1;
typedef float2 raw2;
typedef float4 raw4;
typedef float8 raw8;
#else
typedef ushort raw1;
typedef uint raw2;
typedef uint2 raw4;
typedef uint4 raw8;
#endif
#define RAW_T T6_CAT(raw, VECTOR)
#define stage_raw T6_CAT(stage_raw, VECTOR)

/* The tile's B_K and B_V are contiguous in the cache ([position][rank][d]); VECTOR elements per load. */
#define TILE_K (TILE * RANK_K * HEAD_DIM)
#define TILE_V (TILE * RANK_V * HEAD_DIM)
#define LOADS_K ((TILE_K / VECTOR + WG_SIZE - 1) / WG_SIZE)
#define LOADS_V ((TILE_V / VECTOR + WG_SIZE - 1) / WG_SIZE)

#if T6_CACHE_DTYPE == 0
inline void stage_raw1(__local float *dst, raw1 raw) { dst[0] = raw; }
inline void stage_raw2(__local float *dst, raw2 raw) { vstore2(raw, 0, dst); }
inline void stage_raw4(__local float *dst, raw4 raw) { vstore4(raw, 0, dst); }
inline void stage_raw8(__local float *dst, raw8 raw) { vstore8(raw, 0, dst); }
#elif T6_CACHE_DTYPE == 1
/* vload_half from a private copy: the conversion works on registers, and needs no cl_khr_fp16. */
inline void stage_raw1(__local float *dst, raw1 raw) { dst[0] = vload_half(0, (const __private half *)&raw); }
inline void stage_raw2(__local float *dst, raw2 raw) { vstore2(vload_half2(0, (const __private half *)&raw), 0, dst); }
inline void stage_raw4(__local float *dst, raw4 raw) { vstore4(vload_half4(0, (const __private half *)&raw), 0, dst); }
inline void stage_raw8(__local float *dst, raw8 raw) { vstore8(vload_half8(0, (const __private half *)&raw), 0, dst); }
#else
/* Two bf16 in a uint: the element at the lower address is in the low half on little-endian devices. */
#ifdef __ENDIAN_LITTLE__
#define BF16_FIRST(x) as_float((x) << 16)
#define BF16_SECOND(x) as_float((x) & 0xFFFF0000u)
#else
#define BF16_FIRST(x) as_float((x) & 0xFFFF0000u)
#define BF16_SECOND(x) as_float((x) << 16)
#endif
inline void stage_raw1(__local float *dst, raw1 raw) { dst[0] = as_float((uint)raw << 16); }
inline void stage_raw2(__local float *dst, raw2 raw) { vstore2((float2)(BF16_FIRST(raw), BF16_SECOND(raw)), 0, dst); }
inline void stage_raw4(__local float *dst, raw4 raw)
{
    vstore4((float4)(BF16_FIRST(raw.x), BF16_SECOND(raw.x), BF16_FIRST(raw.y), BF16_SECOND(raw.y)), 0, dst);
}
inline void stage_raw8(__local float *dst, raw8 raw)
{
    vstore8((float8)(BF16_FIRST(raw.x), BF16_SECOND(raw.x), BF16_FIRST(raw.y), BF16_SECOND(raw.y),
                     BF16_FIRST(raw.z), BF16_SECOND(raw.z), BF16_FIRST(raw.w), BF16_SECOND(raw.w)),
            0, dst);
}
#endif
