/* tuning.c — the tuning layer's state of a context (t6i_tuning: profiles, explicit parameters) in the context's
 * opaque slot, and the public constructors, which make it at once.
 *
 * The runtime keeps the slot and calls the destructor stored beside it, and never names profiles: this layer
 * fills the slot on first use. A context comes with its device's profiles (t6.h, Profiles: they are read when it
 * is created), so the public constructors, which need both layers, live here, above the runtime: the runtime's
 * t6i_context_create, then the profile search. */
#include "tuning/tuning.h"

#include <stdlib.h>

static void tuning_free(void *state)
{
    t6i_tuning *tuning = state;
    if (!tuning) return;
    t6i_profile_free(tuning->profile);
    free(tuning);
}

t6i_tuning *t6i_tuning_of(t6_context *ctx)
{
    t6i_lock(ctx);
    t6i_tuning *tuning = ctx->tuning;
    if (!tuning) {
        tuning = calloc(1, sizeof *tuning);
        if (tuning) {
            tuning->profile = t6i_profile_load_for_context(ctx);
            ctx->tuning = tuning;
            ctx->tuning_free = tuning_free;
        } else {
            t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (tuning state)");
        }
    }
    t6i_unlock(ctx);
    return tuning;
}

t6_status t6_context_create_with_options(const t6_context_options *options, t6_context **out)
{
    t6_status status = t6i_context_create(options, out);
    if (status != T6_SUCCESS) return status;
    if (!t6i_tuning_of(*out)) {
        /* The caller never sees the half-made context: its failure goes to the thread's last error. */
        status = t6i_fail(NULL, T6_ERROR_OUT_OF_HOST_MEMORY, "%s", t6_context_last_error(*out));
        t6_context_destroy(*out);
        *out = NULL;
    }
    return status;
}

t6_status t6_context_create(const char *device_selector, t6_context **out)
{
    t6_context_options options = T6_CONTEXT_OPTIONS_INIT;
    options.device = device_selector;
    return t6_context_create_with_options(&options, out);
}

t6_status t6_context_create_from_cl(cl_context context, cl_device_id device, cl_command_queue queue,
                                    t6_context **out)
{
    if (out) *out = NULL;
    if (!context || !device || !queue)
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT,
                        "t6_context_create_from_cl: context, device and queue are required");
    t6_context_options options = T6_CONTEXT_OPTIONS_INIT;
    options.opencl_context = context;
    options.opencl_device = device;
    options.opencl_queue = queue;
    return t6_context_create_with_options(&options, out);
}
