/* profile.c — device profiles. Until profile loading lands (the t6-tune issue), every device runs the
 * built-in defaults. */
#include "t6_internal.h"

bool t6i_profile_apply(const t6i_profile *profile, t6_op op, const t6i_shape *shape, t6i_params *params)
{
    (void)profile;
    (void)op;
    (void)shape;
    (void)params;
    return false;
}

void t6i_profile_load_for_context(t6_context *ctx) { ctx->profile = NULL; }

void t6i_profile_free(t6i_profile *profile) { (void)profile; }
