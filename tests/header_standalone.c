/* header_standalone.c — t6.h compiled as an application compiles it (tests/CMakeLists.txt builds this file
 * without the project's definitions, warnings as errors). t6.h must leave CL_TARGET_OPENCL_VERSION to the
 * application: unset, the OpenCL headers take their default (3.0); set before t6.h (here 2.0), it holds, and
 * the 2.0 API stays declared. Running it compares the header's version with the library's. */
#ifdef T6_TEST_OPENCL_200
#define CL_TARGET_OPENCL_VERSION 200
#endif
#include <t6.h>

#ifdef T6_TEST_OPENCL_200
_Static_assert(CL_TARGET_OPENCL_VERSION == 200, "t6.h changed the application's OpenCL target");
#else
_Static_assert(CL_TARGET_OPENCL_VERSION == 300, "t6.h chose an OpenCL target for the application");
#endif

int main(void)
{
#ifdef T6_TEST_OPENCL_200
    /* Declared only when the application's target is 2.0 or later. */
    cl_command_queue (*create_queue)(cl_context, cl_device_id, const cl_queue_properties *, cl_int *) =
        clCreateCommandQueueWithProperties;
    (void)create_queue;
#endif
    const t6_layer_config config = T6_LAYER_CONFIG_INIT;
    return t6_version_number() == T6_VERSION_NUMBER && config.struct_size == sizeof config ? 0 : 1;
}
