/* convert.cl — copies `count` elements between buffers of any storage types (T6_SRC_DTYPE → T6_DST_DTYPE),
 * rounding as the destination stores. Used to bring application buffers into t6's own layouts. */
#ifndef T6_SRC_DTYPE
#define T6_SRC_DTYPE 0 /* storage type of the source (t6_dtype) */
#endif
#ifndef T6_DST_DTYPE
#define T6_DST_DTYPE 0 /* storage type of the destination (t6_dtype) */
#endif

__kernel void t6_convert(const __global T6_STORAGE(T6_SRC_DTYPE) *src, uint src_offset,
                         __global T6_STORAGE(T6_DST_DTYPE) *dst, uint dst_offset, uint count)
{
    for (uint i = get_global_id(0); i < count; i += get_global_size(0))
        T6_STORE(T6_DST_DTYPE, dst, dst_offset + i, T6_LOAD(T6_SRC_DTYPE, src, src_offset + i));
}
