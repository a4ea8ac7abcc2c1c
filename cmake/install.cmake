# What `cmake --install` puts in place besides the programs of tuner/ (which install themselves): the library
# (shared with its soname, static, or both: lib/CMakeLists.txt), t6.h, the shipped profiles, the licence, t6.pc,
# and the CMake package for find_package(t6).
include(CMakePackageConfigHelpers)

set(T6_INSTALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/t6)
set(T6_INSTALL_PROFILE_DIR ${CMAKE_INSTALL_DATADIR}/t6/profiles)
# A static t6 hands its private dependencies on to the programs that link it: t6Config.cmake and t6.pc name them.
if(NOT T6_BUILD_SHARED OR T6_BUILD_STATIC)
  set(T6_INSTALLS_STATIC ON)
else()
  set(T6_INSTALLS_STATIC OFF)
endif()
if(T6_HAVE_CLBLAST)
  set(T6_PC_REQUIRES_PRIVATE "clblast libcjson")
else()
  set(T6_PC_REQUIRES_PRIVATE "libcjson")
endif()

install(TARGETS ${t6_install_targets} EXPORT t6Targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT t6Targets NAMESPACE t6:: DESTINATION ${T6_INSTALL_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/t6Config.cmake.in ${PROJECT_BINARY_DIR}/t6Config.cmake
                              INSTALL_DESTINATION ${T6_INSTALL_CMAKE_DIR} PATH_VARS T6_INSTALL_PROFILE_DIR)
# 0.x releases may break the API between minors (the soname is 0.MINOR then); SameMinorVersion keeps a 0.1 user
# off a 0.2 library.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/t6ConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/t6Config.cmake ${PROJECT_BINARY_DIR}/t6ConfigVersion.cmake
        DESTINATION ${T6_INSTALL_CMAKE_DIR})

file(RELATIVE_PATH T6_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" T6_PC_TO_PREFIX "${T6_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/t6.pc.in ${PROJECT_BINARY_DIR}/t6.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/t6.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The folder exists even before any profile ships, so T6Config's set_and_check holds.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/profiles/ DESTINATION ${T6_INSTALL_PROFILE_DIR}
        FILES_MATCHING PATTERN "*.json")
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/licenses/t6)
