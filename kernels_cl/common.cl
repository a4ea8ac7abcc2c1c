/* common.cl — put in front of every kernel file by the runtime: storage types and their conversions.
 *
 * Storage type ids match t6_dtype: 0 fp32 (float), 1 fp16 (half through vload_half/vstore_half, so no
 * cl_khr_fp16 is needed), 2 bf16 (ushort holding the upper 16 bits of an fp32, rounded to nearest even).
 * Arithmetic is always fp32. A kernel picks a storage type per buffer with a macro, e.g.
 *   __global T6_STORAGE(T6_CACHE_DTYPE) *cache;  float x = T6_LOAD(T6_CACHE_DTYPE, cache, i);
 */
#define T6_CAT_(a, b) a##b
#define T6_CAT(a, b) T6_CAT_(a, b)

#define T6_STORAGE_0 float
#define T6_STORAGE_1 half
#define T6_STORAGE_2 ushort
#define T6_STORAGE(id) T6_CAT(T6_STORAGE_, id)

/* x = T6_LOAD(id, p, i): element i as float. T6_LOAD4: elements 4i..4i+3 (p + 4i must be 4-element aligned
 * for fp32; fp16 and bf16 need 2-byte alignment only). T6_STORE(id, p, i, x): round and store. */
#define T6_LOAD(id, p, i) T6_CAT(t6_load_, id)(p, i)
#define T6_LOAD4(id, p, i) T6_CAT(t6_load4_, id)(p, i)
#define T6_STORE(id, p, i, x) T6_CAT(t6_store_, id)(p, i, x)

inline float t6_bf16_to_float(ushort bits) { return as_float((uint)bits << 16); }

inline ushort t6_float_to_bf16(float value)
{
    uint bits = as_uint(value);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (ushort)((bits >> 16) | 0x40u); /* keep NaN quiet */
    bits += 0x7FFFu + ((bits >> 16) & 1u); /* round to nearest even */
    return (ushort)(bits >> 16);
}

inline float t6_load_0(const __global float *p, size_t i) { return p[i]; }
inline float t6_load_1(const __global half *p, size_t i) { return vload_half(i, p); }
inline float t6_load_2(const __global ushort *p, size_t i) { return t6_bf16_to_float(p[i]); }

inline float4 t6_load4_0(const __global float *p, size_t i) { return vload4(i, p); }
inline float4 t6_load4_1(const __global half *p, size_t i) { return vload_half4(i, p); }
inline float4 t6_load4_2(const __global ushort *p, size_t i)
{
    uint4 bits = convert_uint4(vload4(i, p));
    return as_float4(bits << 16);
}

inline void t6_store_0(__global float *p, size_t i, float x) { p[i] = x; }
inline void t6_store_1(__global half *p, size_t i, float x) { vstore_half_rte(x, i, p); }
inline void t6_store_2(__global ushort *p, size_t i, float x) { p[i] = t6_float_to_bf16(x); }
