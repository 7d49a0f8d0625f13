# steward_pc.cmake - run by `cmake --install` (the install(CODE) rule of
# CMakeLists.txt, which sets the variables below): writes steward.pc for the
# prefix being installed to. That is CMAKE_INSTALL_PREFIX here, which
# `cmake --install --prefix P` sets to P, whereas at configure time it is the
# prefix the build was configured with. DESTDIR is not part of it: a staged
# install names the final prefix.
#
# Given: STW_PC_IN (the template), STW_PC_OUT (the file to write),
# STW_LIBDIR and STW_INCLUDEDIR (GNUInstallDirs' values: relative to the
# prefix, or absolute when set so), PROJECT_DESCRIPTION, PROJECT_VERSION and
# STW_PC_PQ ("libpq" when the PostgreSQL store is built, else empty).
set(STW_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${STW_${dir}}")
    set(STW_PC_${dir} "${STW_${dir}}")
  else()
    set(STW_PC_${dir} "\${prefix}/${STW_${dir}}")
  endif()
endforeach()
configure_file("${STW_PC_IN}" "${STW_PC_OUT}" @ONLY)
