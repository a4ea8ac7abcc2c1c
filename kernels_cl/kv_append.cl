/* kv_append.cl — stores rows of K and V (fp32, rows × kv_heads × head_dim) into a conventional K/V cache at
 * per-row (slot, position), rounding to the cache's storage type. Pure data movement: nothing to tune. */
#ifndef T6_CACHE_DTYPE
#define T6_CACHE_DTYPE 0 /* storage type of the cache (t6_dtype): set by the host */
#endif

/* targets: rows × {slot, position}. Work-item (i, r) moves element i of row r of both K and V. */
__kernel void t6_kv_append(const __global float *k, uint k_offset, const __global float *v, uint v_offset,
                           const __global int *targets, uint row_size, uint capacity,
                           __global T6_STORAGE(T6_CACHE_DTYPE) *k_cache, __global T6_STORAGE(T6_CACHE_DTYPE) *v_cache)
{
    const uint i = get_global_id(0), r = get_global_id(1);
    if (i >= row_size) return;
    const size_t dst = ((size_t)targets[2 * r] * capacity + (size_t)targets[2 * r + 1]) * row_size + i;
    const size_t src = (size_t)r * row_size + i;
    T6_STORE(T6_CACHE_DTYPE, k_cache, dst, k[k_offset + src]);
    T6_STORE(T6_CACHE_DTYPE, v_cache, dst, v[v_offset + src]);
}
