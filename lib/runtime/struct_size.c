/* struct_size.c — the rules of t6.h's "Structs that grow": reading a struct the application passes in, and
 * writing one it receives, whichever version of t6.h the application was compiled with. */
#include "runtime/runtime.h"

#include <string.h>

/* The leading size_t of every growing struct. */
static size_t declared_size(const void *object)
{
    size_t size;
    memcpy(&size, object, sizeof size);
    return size;
}

t6_status t6i_struct_in(const t6_context *ctx, const char *name, const void *src, size_t first_size, void *dst,
                        size_t size)
{
    const size_t given = declared_size(src);
    if (given < first_size)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT,
                        "%s.struct_size is %zu, below the %zu bytes of its first version: start the struct from its "
                        "initializer (t6.h, \"Structs that grow\")",
                        name, given, first_size);
    /* A newer application's struct has fields this library cannot honour. Their being 0 cannot be told from
     * padding the compiler left undefined, so the struct is refused whole. */
    if (given > size)
        return t6i_fail(ctx, T6_ERROR_UNSUPPORTED,
                        "%s.struct_size is %zu, larger than the %zu bytes this library (t6 %s) knows: the application "
                        "was built against a newer t6.h",
                        name, given, size, T6_VERSION_STRING);
    memset(dst, 0, size);
    memcpy(dst, src, given);
    memcpy(dst, &size, sizeof size);
    return T6_SUCCESS;
}

t6_status t6i_struct_out(const t6_context *ctx, const char *name, void *dst, size_t first_size, const void *src,
                         size_t size)
{
    const size_t given = declared_size(dst);
    if (given < first_size)
        return t6i_fail(ctx, T6_ERROR_INVALID_ARGUMENT,
                        "%s.struct_size is %zu, below the %zu bytes of its first version: start the struct from its "
                        "initializer (t6.h, \"Structs that grow\")",
                        name, given, first_size);
    unsigned char *out = dst;
    const size_t known = given < size ? given : size;
    memcpy(out + sizeof given, (const unsigned char *)src + sizeof given, known - sizeof given);
    if (given > size) memset(out + size, 0, given - size);
    return T6_SUCCESS;
}
