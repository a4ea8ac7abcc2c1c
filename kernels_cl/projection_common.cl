/* projection_common.cl — the shape of a projection layer, put in front of projection.cl (the fused projection)
 * and rope_scatter.cl (its epilogue when the GEMM ran apart) by kernels_cl/programs.txt: both map the layer's
 * packed columns (lib/ops/layer.c) to factors, so both read the same macros. Set by the host, not tuned. */
#ifndef T6_HEADS
#define T6_HEADS 1 /* H */
#endif
#ifndef T6_HEAD_DIM
#define T6_HEAD_DIM 64 /* D */
#endif
#ifndef T6_RANK_Q
#define T6_RANK_Q 1 /* Rq */
#endif
#ifndef T6_RANK_K
#define T6_RANK_K 1 /* Rk */
#endif
#ifndef T6_RANK_V
#define T6_RANK_V 1 /* Rv */
#endif
#ifndef T6_CACHE_DTYPE
#define T6_CACHE_DTYPE 0 /* storage type of the cache (t6_dtype) */
#endif
#ifndef T6_ROPE_STYLE
#define T6_ROPE_STYLE 0 /* t6_rope_style: 0 half, 1 interleaved */
#endif
