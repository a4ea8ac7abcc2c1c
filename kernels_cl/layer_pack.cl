/* layer_pack.cl — copies one weight matrix from the T6 layout (row-major, out × C) into a layer's packed
 * layout (lib/ops/layer.c's header): its rows become packed columns from `dst_first` on, each padded to `dst_ld`
 * elements, and the rows of a B_Q/B_K block are reordered so that RoPE partners are adjacent. The bits are
 * copied unchanged (source and layer share the weight dtype). */
#ifndef T6_WEIGHT_DTYPE
#define T6_WEIGHT_DTYPE 0 /* storage type of the weights (t6_dtype): set by the host, not tuned */
#endif
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64 /* D: set by the host, not tuned */
#endif
#ifndef T6_ROPE_STYLE
#define T6_ROPE_STYLE 0 /* t6_rope_style: 0 half, 1 interleaved; set by the host, not tuned */
#endif

#if T6_WEIGHT_DTYPE == 0
#define PK_BITS uint
#else
#define PK_BITS ushort
#endif

/* Dimension d of a RoPE'd B row → its packed offset (the inverse of projection.cl's prj_rope_dim). */
inline uint pk_rope_offset(uint d)
{
    if (T6_ROPE_STYLE != 0) return d;
    return d < T6_HEAD_DIM / 2 ? 2 * d : 2 * (d - T6_HEAD_DIM / 2) + 1;
}

__kernel void t6_layer_pack(const __global PK_BITS *restrict src, uint src_rows, uint cols,
                            __global PK_BITS *restrict dst, uint dst_ld, uint dst_first, uint rope_block)
{
    const uint c = get_global_id(0), i = get_global_id(1);
    if (c >= cols || i >= src_rows) return;
    const uint d = i % T6_HEAD_DIM;
    const uint row = rope_block ? i - d + pk_rope_offset(d) : i;
    dst[(dst_first + row) * dst_ld + c] = src[i * cols + c];
}
