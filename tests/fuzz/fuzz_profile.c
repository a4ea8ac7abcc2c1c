/* fuzz_profile.c — libFuzzer harness of the device-profile parser (lib/tuning/profile_parse.c): any bytes as a
 * profile file. A crash, an overread (ASan) or a leak is a bug; T6_ERROR_FORMAT is the expected answer to
 * garbage. Built with -DT6_FUZZ=ON and clang; run: fuzz_profile NEW_CORPUS tests/fuzz/corpus_profile */
#include "tuning/profile_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    t6i_profile_file *file = NULL;
    if (t6i_profile_parse((const char *)data, size, "fuzz", &file) == T6_SUCCESS) t6i_profile_file_free(file);
    return 0;
}
