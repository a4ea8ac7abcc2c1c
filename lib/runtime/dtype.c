/* dtype.c — storage types on the host: sizes, names and the exact conversions the kernels perform. */
#include "runtime/runtime.h"

#include <math.h>
#include <string.h>

bool t6i_dtype_valid(t6_dtype dtype) { return dtype == T6_F32 || dtype == T6_F16 || dtype == T6_BF16; }

size_t t6_dtype_size(t6_dtype dtype)
{
    switch (dtype) {
    case T6_F32: return 4;
    case T6_F16:
    case T6_BF16: return 2;
    }
    return 0;
}

const char *t6_dtype_name(t6_dtype dtype)
{
    switch (dtype) {
    case T6_F32: return "f32";
    case T6_F16: return "f16";
    case T6_BF16: return "bf16";
    }
    return "unknown";
}

static uint32_t float_bits(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static float bits_float(uint32_t bits)
{
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* IEEE 754 binary16 with round to nearest even, as vstore_half does by default (OpenCL C 6.12.7). */
uint16_t t6i_float_to_half(float value)
{
    uint32_t bits = float_bits(value);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t magnitude = bits & 0x7FFFFFFFu;
    if (magnitude >= 0x7F800000u) /* inf or NaN; keep NaNs quiet and non-zero */
        return (uint16_t)(sign | 0x7C00u | (magnitude > 0x7F800000u ? 0x200u | ((magnitude >> 13) & 0x3FFu) : 0));
    if (magnitude >= 0x477FF000u) /* rounds to ≥ 65520: overflow to inf */
        return (uint16_t)(sign | 0x7C00u);
    if (magnitude < 0x38800000u) { /* below 2^-14: subnormal half (or zero) */
        if (magnitude < 0x33000000u) return sign; /* below half of the smallest subnormal */
        uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
        int shift = 126 - (int)(magnitude >> 23); /* 14..24 */
        uint32_t half_mantissa = mantissa >> shift;
        uint32_t remainder = mantissa & ((1u << shift) - 1u);
        uint32_t halfway = 1u << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (half_mantissa & 1u))) half_mantissa++;
        return (uint16_t)(sign | half_mantissa);
    }
    uint32_t rounded = magnitude + 0xFFFu + ((magnitude >> 13) & 1u); /* round to nearest even at bit 13 */
    return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}

float t6i_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    if (exponent == 0x1Fu) return bits_float(sign | 0x7F800000u | (mantissa << 13));
    if (exponent == 0) {
        float value = ldexpf((float)mantissa, -24);
        return sign ? -value : value;
    }
    return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

/* bf16 = upper half of the fp32 bits, rounded to nearest even (TPA.md, "Cache"); the kernels use the same
 * bit operations, so host and device agree bit for bit. */
uint16_t t6i_float_to_bf16(float value)
{
    uint32_t bits = float_bits(value);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((bits >> 16) | 0x40u); /* quiet NaN */
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

float t6i_bf16_to_float(uint16_t bits) { return bits_float((uint32_t)bits << 16); }

float t6_round_to_dtype(t6_dtype dtype, float value)
{
    switch (dtype) {
    case T6_F32: return value;
    case T6_F16: return t6i_half_to_float(t6i_float_to_half(value));
    case T6_BF16: return t6i_bf16_to_float(t6i_float_to_bf16(value));
    }
    return value;
}

void t6i_pack(t6_dtype dtype, const float *src, void *dst, size_t count)
{
    uint16_t *out16 = dst;
    switch (dtype) {
    case T6_F32: memcpy(dst, src, count * sizeof(float)); break;
    case T6_F16:
        for (size_t i = 0; i < count; i++) out16[i] = t6i_float_to_half(src[i]);
        break;
    case T6_BF16:
        for (size_t i = 0; i < count; i++) out16[i] = t6i_float_to_bf16(src[i]);
        break;
    }
}

void t6i_unpack(t6_dtype dtype, const void *src, float *dst, size_t count)
{
    const uint16_t *in16 = src;
    switch (dtype) {
    case T6_F32: memcpy(dst, src, count * sizeof(float)); break;
    case T6_F16:
        for (size_t i = 0; i < count; i++) dst[i] = t6i_half_to_float(in16[i]);
        break;
    case T6_BF16:
        for (size_t i = 0; i < count; i++) dst[i] = t6i_bf16_to_float(in16[i]);
        break;
    }
}
