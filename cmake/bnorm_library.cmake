# SPDX-License-Identifier: Apache-2.0
# The installed library: libbnorm (bnorm_core: static, or shared with BUILD_SHARED_LIBS), its
# public headers (include/bnorm), a CMake package exporting bnorm::core, and bnorm.pc.  They are
# COMPONENT development, but for a shared library's versioned file, which the bnorm binary of a
# shared build needs at run time (COMPONENT runtime; its unversioned link is development).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BNORM_PUBLIC_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)
configure_file(${PROJECT_SOURCE_DIR}/include/bnorm/version.hpp.in
               ${BNORM_PUBLIC_INCLUDE_DIR}/bnorm/version.hpp @ONLY)

# SONAME libbnorm.so.MAJOR: while the major is 0 a minor version may break the API, which the
# CMake package's SameMinorVersion says to a consumer that asks.
set_target_properties(bnorm_core PROPERTIES OUTPUT_NAME bnorm EXPORT_NAME core
                                            VERSION ${PROJECT_VERSION}
                                            SOVERSION ${PROJECT_VERSION_MAJOR})

# A shared libbnorm exports namespace bnorm only (cmake/libbnorm.map): the ONNX schema
# (bnorm::onnx_schema), nlohmann/json, xtensor and the other header-only code compiled into it
# stay its own.  The CLI and the tests use the core's internal functions, in namespace bnorm.
set(bnorm_version_script ${PROJECT_SOURCE_DIR}/cmake/libbnorm.map)
if(BUILD_SHARED_LIBS)
  target_link_options(bnorm_core PRIVATE "LINKER:--version-script=${bnorm_version_script}")
  set_property(TARGET bnorm_core APPEND PROPERTY LINK_DEPENDS ${bnorm_version_script})
endif()

set(BNORM_CMAKE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bnorm)
install(TARGETS bnorm_core EXPORT bnorm_targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
                NAMELINK_COMPONENT development)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/bnorm ${BNORM_PUBLIC_INCLUDE_DIR}/bnorm
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
        FILES_MATCHING PATTERN "*.hpp")
install(EXPORT bnorm_targets NAMESPACE bnorm:: FILE bnormTargets.cmake
        DESTINATION ${BNORM_CMAKE_PACKAGE_DIR} COMPONENT development)
if(BUILD_SHARED_LIBS)
  set(BNORM_SHARED ON)
else()
  set(BNORM_SHARED OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bnormConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/bnormConfig.cmake
                              INSTALL_DESTINATION ${BNORM_CMAKE_PACKAGE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/bnormConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/bnormConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/bnormConfigVersion.cmake
        DESTINATION ${BNORM_CMAKE_PACKAGE_DIR} COMPONENT development)

# pkg-config: a static libbnorm needs protobuf (onnx.proto's code), zlib and threads besides.
if(BNORM_SHARED)
  set(BNORM_PC_REQUIRES_PRIVATE "")
  set(BNORM_PC_LIBS_PRIVATE "")
else()
  set(BNORM_PC_REQUIRES_PRIVATE "protobuf zlib")
  set(BNORM_PC_LIBS_PRIVATE "-pthread")
endif()
file(RELATIVE_PATH BNORM_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig
     ${CMAKE_INSTALL_PREFIX})
file(RELATIVE_PATH BNORM_PC_TO_INCLUDEDIR ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig
     ${CMAKE_INSTALL_FULL_INCLUDEDIR})
string(REGEX REPLACE "/$" "" BNORM_PC_TO_PREFIX "${BNORM_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/bnorm.pc.in ${PROJECT_BINARY_DIR}/bnorm.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/bnorm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT development)
