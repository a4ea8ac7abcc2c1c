/* profile_source_dir.c — the source tree's profiles/ folder, searched last so that a library run from its build
 * tree finds the shipped profiles before they are installed. Compiled twice: with T6_SOURCE_PROFILE_DIR for the
 * build tree's library, without it for the library that gets installed, which must not look into the build
 * machine's source tree (lib/CMakeLists.txt). */
#include "tuning/tuning.h"

const char *t6i_source_profile_dir(void)
{
#ifdef T6_SOURCE_PROFILE_DIR
    return T6_SOURCE_PROFILE_DIR;
#else
    return NULL;
#endif
}
