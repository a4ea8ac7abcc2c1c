/* nvptx_builtins.h — the OpenCL C builtins t6's kernels call, for clang's nvptx64-nvidia-nvcl target, which has
 * no library: enough to compile every file of kernels_cl/ to PTX, for instruction counts (decode_isa.sh) and
 * the offline compile gate (tests/offline_compile/run.sh). Not a runtime: NVIDIA's driver brings its own builtins, so register counts
 * can differ from what the driver reports; inline PTX becomes the same SASS either way. */
#define OVL __attribute__((overloadable, always_inline))
OVL size_t get_local_id(uint d)
{
    return d == 0 ? __nvvm_read_ptx_sreg_tid_x() : d == 1 ? __nvvm_read_ptx_sreg_tid_y() : __nvvm_read_ptx_sreg_tid_z();
}
OVL size_t get_group_id(uint d)
{
    return d == 0 ? __nvvm_read_ptx_sreg_ctaid_x() : d == 1 ? __nvvm_read_ptx_sreg_ctaid_y()
                                                          : __nvvm_read_ptx_sreg_ctaid_z();
}
OVL size_t get_num_groups(uint d)
{
    return d == 0 ? __nvvm_read_ptx_sreg_nctaid_x() : d == 1 ? __nvvm_read_ptx_sreg_nctaid_y()
                                                           : __nvvm_read_ptx_sreg_nctaid_z();
}
OVL void barrier(cl_mem_fence_flags f) { __nvvm_bar_sync(0); }
OVL void mem_fence(cl_mem_fence_flags f) { __nvvm_membar_cta(); }
OVL float mad(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
OVL float4 mad(float4 a, float4 b, float4 c)
{
    return (float4)(__builtin_fmaf(a.x, b.x, c.x), __builtin_fmaf(a.y, b.y, c.y), __builtin_fmaf(a.z, b.z, c.z),
                    __builtin_fmaf(a.w, b.w, c.w));
}
OVL float fmax(float a, float b) { return __builtin_fmaxf(a, b); }
OVL float fabs(float a) { return __builtin_fabsf(a); }
OVL float exp2(float x) { return __nvvm_ex2_approx_f(x); }
OVL float exp(float x) { return __nvvm_ex2_approx_f(x * 1.4426950408889634f); }
OVL int ilogb(float x) { return ((as_int(x) >> 23) & 0xFF) - 127; }
OVL float ldexp(float x, int e) { return x * as_float((e + 127) << 23); }
OVL int clamp(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }
OVL uint min(uint a, uint b) { return a < b ? a : b; }
OVL int atomic_max(volatile __local int *p, int v)
{
    int o;
    __asm__ volatile("atom.shared.max.s32 %0, [%1], %2;" : "=r"(o) : "l"(p), "r"(v) : "memory");
    return o;
}
OVL uint atomic_inc(volatile __global uint *p)
{
    uint o;
    __asm__ volatile("atom.global.add.u32 %0, [%1], 1;" : "=r"(o) : "l"(p) : "memory");
    return o;
}
OVL uint atomic_xchg(volatile __global uint *p, uint v)
{
    uint o;
    __asm__ volatile("atom.global.exch.b32 %0, [%1], %2;" : "=r"(o) : "l"(p), "r"(v) : "memory");
    return o;
}
static inline float t6_isa_h2f(ushort b)
{
    float f;
    __asm__("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(b));
    return f;
}
OVL float vload_half(size_t i, const __private half *p) { return t6_isa_h2f(((const __private ushort *)p)[i]); }
OVL float vload_half(size_t i, const __global half *p) { return t6_isa_h2f(((const __global ushort *)p)[i]); }
OVL float vload_half(size_t i, const __local half *p) { return t6_isa_h2f(((const __local ushort *)p)[i]); }
OVL float4 vload_half4(size_t i, const __private half *p)
{
    const __private ushort *q = (const __private ushort *)p + 4 * i;
    return (float4)(t6_isa_h2f(q[0]), t6_isa_h2f(q[1]), t6_isa_h2f(q[2]), t6_isa_h2f(q[3]));
}
OVL float4 vload_half4(size_t i, const __global half *p)
{
    const __global ushort *q = (const __global ushort *)p + 4 * i;
    return (float4)(t6_isa_h2f(q[0]), t6_isa_h2f(q[1]), t6_isa_h2f(q[2]), t6_isa_h2f(q[3]));
}
OVL float8 vload_half8(size_t i, const __private half *p)
{
    const __private ushort *q = (const __private ushort *)p + 8 * i;
    return (float8)(t6_isa_h2f(q[0]), t6_isa_h2f(q[1]), t6_isa_h2f(q[2]), t6_isa_h2f(q[3]), t6_isa_h2f(q[4]),
                    t6_isa_h2f(q[5]), t6_isa_h2f(q[6]), t6_isa_h2f(q[7]));
}
OVL float2 vload2(size_t i, const __global float *p) { return *(const __global float2 *)(p + 2 * i); }
OVL void vstore8(float8 v, size_t i, __local float *p)
{
    *(__local float4 *)(p + 8 * i) = v.lo;
    *(__local float4 *)(p + 8 * i + 4) = v.hi;
}
OVL void vstore4(float4 v, size_t i, __local float *p) { *(__local float4 *)(p + 4 * i) = v; }
OVL void vstore4(float4 v, size_t i, __global float *p) { *(__global float4 *)(p + 4 * i) = v; }
OVL void vstore2(float2 v, size_t i, __global float *p) { *(__global float2 *)(p + 2 * i) = v; }

/* The rest of kernels_cl/ (the offline compile gate): sizes and ids, math, and the vector forms kernel 2 uses. */
OVL size_t get_local_size(uint d)
{
    return d == 0 ? __nvvm_read_ptx_sreg_ntid_x() : d == 1 ? __nvvm_read_ptx_sreg_ntid_y() : __nvvm_read_ptx_sreg_ntid_z();
}
OVL size_t get_global_id(uint d) { return get_group_id(d) * get_local_size(d) + get_local_id(d); }
OVL size_t get_global_size(uint d) { return get_num_groups(d) * get_local_size(d); }
OVL float fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
OVL float sqrt(float x) { return __builtin_sqrtf(x); }
OVL float sin(float x) { return __nvvm_sin_approx_f(x); }
OVL float cos(float x) { return __nvvm_cos_approx_f(x); }
OVL float sincos(float x, __private float *c)
{
    *c = __nvvm_cos_approx_f(x);
    return __nvvm_sin_approx_f(x);
}
OVL float dot(float4 a, float4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }
OVL float8 vload8(size_t i, const __local float *p)
{
    return (float8)(*(const __local float4 *)(p + 8 * i), *(const __local float4 *)(p + 8 * i + 4));
}
#define T6_ISA_VECTOR_FORMS(fn)                                                                                        \
    OVL float2 fn(float2 a, float2 b) { return (float2)(fn(a.x, b.x), fn(a.y, b.y)); }                             \
    OVL float4 fn(float4 a, float4 b) { return (float4)(fn(a.lo, b.lo), fn(a.hi, b.hi)); }                         \
    OVL float8 fn(float8 a, float8 b) { return (float8)(fn(a.lo, b.lo), fn(a.hi, b.hi)); }                         \
    OVL float16 fn(float16 a, float16 b) { return (float16)(fn(a.lo, b.lo), fn(a.hi, b.hi)); }
T6_ISA_VECTOR_FORMS(fmax)
#undef T6_ISA_VECTOR_FORMS
/* A user definition hides clang's declared builtins of that name: every form a kernel calls is defined here. */
#define T6_ISA_FMA_FORM(n, half)                                                                                       \
    OVL float##n fma(float##n a, float##n b, float##n c)                                                               \
    {                                                                                                                  \
        return (float##n)(fma(a.lo, b.lo, c.lo), fma(a.hi, b.hi, c.hi));                                              \
    }
OVL float2 fma(float2 a, float2 b, float2 c) { return (float2)(fma(a.x, b.x, c.x), fma(a.y, b.y, c.y)); }
T6_ISA_FMA_FORM(4, 2)
T6_ISA_FMA_FORM(8, 4)
T6_ISA_FMA_FORM(16, 8)
#undef T6_ISA_FMA_FORM
/* vloadN/vstoreN in every address space (a vector access: t6's arrays are aligned to their vectors). */
#define T6_ISA_VSTORE(n, space)                                                                                        \
    OVL void vstore##n(float##n v, size_t i, space float *p) { *(space float##n *)(p + n * i) = v; }
#define T6_ISA_VLOAD(n, space)                                                                                         \
    OVL float##n vload##n(size_t i, const space float *p) { return *(const space float##n *)(p + n * i); }
T6_ISA_VSTORE(2, __local)
T6_ISA_VLOAD(2, __local)
T6_ISA_VSTORE(2, __private)
T6_ISA_VLOAD(2, __private)
T6_ISA_VLOAD(4, __global)
T6_ISA_VLOAD(4, __local)
T6_ISA_VSTORE(4, __private)
T6_ISA_VLOAD(4, __private)
T6_ISA_VSTORE(8, __global)
T6_ISA_VLOAD(8, __global)
T6_ISA_VSTORE(8, __private)
T6_ISA_VLOAD(8, __private)
T6_ISA_VSTORE(16, __global)
T6_ISA_VLOAD(16, __global)
T6_ISA_VSTORE(16, __local)
T6_ISA_VLOAD(16, __local)
T6_ISA_VSTORE(16, __private)
T6_ISA_VLOAD(16, __private)
#define T6_ISA_VLOAD_USHORT(n, space)                                                                                  \
    OVL ushort##n vload##n(size_t i, const space ushort *p) { return *(const space ushort##n *)(p + n * i); }
T6_ISA_VLOAD_USHORT(2, __global)
T6_ISA_VLOAD_USHORT(4, __global)
T6_ISA_VLOAD_USHORT(8, __global)
T6_ISA_VLOAD_USHORT(4, __local)
#undef T6_ISA_VSTORE
#undef T6_ISA_VLOAD
#undef T6_ISA_VLOAD_USHORT
static inline ushort t6_isa_f2h(float f)
{
    ushort h;
    __asm__("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
OVL void vstore_half_rte(float x, size_t i, __global half *p) { ((__global ushort *)p)[i] = t6_isa_f2h(x); }
OVL void vstore_half_rte(float x, size_t i, __private half *p) { ((__private ushort *)p)[i] = t6_isa_f2h(x); }
OVL float2 exp2(float2 x) { return (float2)(exp2(x.x), exp2(x.y)); }
OVL float4 exp2(float4 x) { return (float4)(exp2(x.lo), exp2(x.hi)); }
OVL float8 exp2(float8 x) { return (float8)(exp2(x.lo), exp2(x.hi)); }
OVL float16 exp2(float16 x) { return (float16)(exp2(x.lo), exp2(x.hi)); }
