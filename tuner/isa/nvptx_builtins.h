/* nvptx_builtins.h — the OpenCL C builtins the decode kernels call, for clang's nvptx64-nvidia-nvcl target,
 * which has no library: enough to compile kernels_cl/attention_decode.cl and attention_mma.cl to PTX for
 * instruction counts (decode_isa.sh). Not a runtime: NVIDIA's driver brings its own builtins, so register counts
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
