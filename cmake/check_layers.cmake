# check_layers.cmake — lib/ by layer, kept so: every #include "…" of lib/ must name a header of the including
# file's own layer or of one below it. The CTest entry `layers` runs it:
#   cmake -DLIB=<source>/lib -P cmake/check_layers.cmake
#
# The layers, lowest first (README.md, "Layout"): include/ (the public header), runtime/, tuning/, ops/, model/.
# reference/ stands beside them: it uses the runtime (status, struct reading) and nothing else, and the ops and
# the model may use it. A header is found as the compiler finds it: beside the including file, then from lib/
# (every internal header is included as "<layer>/<name>.h"), then from lib/include/. An include found nowhere, or
# a source file outside the layer folders, fails too: the check must see every file.
cmake_minimum_required(VERSION 3.21)
if(NOT LIB)
  message(FATAL_ERROR "usage: cmake -DLIB=<source>/lib -P check_layers.cmake")
endif()
get_filename_component(LIB "${LIB}" ABSOLUTE)

# What each layer may include.
set(allowed_include include)
set(allowed_runtime include runtime)
set(allowed_reference include runtime reference)
set(allowed_tuning include runtime tuning)
set(allowed_ops include runtime tuning ops reference)
set(allowed_model include runtime tuning ops reference model)
set(layers include runtime reference tuning ops model)

# The layer of `path` (absolute, inside LIB) in `out`; "" when it is in none.
function(layer_of path out)
  file(RELATIVE_PATH relative "${LIB}" "${path}")
  string(REGEX MATCH "^[^/]+/" folder "${relative}")
  string(REGEX REPLACE "/$" "" folder "${folder}")
  if(folder IN_LIST layers)
    set(${out} "${folder}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE files LIST_DIRECTORIES false "${LIB}/*.c" "${LIB}/*.h")
list(SORT files)
set(problems "")
set(checked 0)
foreach(file IN LISTS files)
  file(RELATIVE_PATH name "${LIB}" "${file}")
  layer_of("${file}" layer)
  if(layer STREQUAL "")
    string(REPLACE ";" ", " folders "${layers}")
    string(APPEND problems "  lib/${name}: in no layer folder (${folders})\n")
    continue()
  endif()
  get_filename_component(dir "${file}" DIRECTORY)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*$" "\\1" header "${line}")
    set(found "")
    foreach(base IN ITEMS "${dir}" "${LIB}" "${LIB}/include")
      get_filename_component(candidate "${header}" ABSOLUTE BASE_DIR "${base}")
      if(EXISTS "${candidate}")
        set(found "${candidate}")
        break()
      endif()
    endforeach()
    math(EXPR checked "${checked} + 1")
    if(found STREQUAL "")
      string(APPEND problems "  lib/${name}: includes \"${header}\", found neither beside it nor in lib/\n")
      continue()
    endif()
    layer_of("${found}" target)
    if(NOT target IN_LIST allowed_${layer})
      file(RELATIVE_PATH found_name "${LIB}" "${found}")
      string(REPLACE ";" ", " may "${allowed_${layer}}")
      string(APPEND problems "  lib/${name} (${layer}) includes lib/${found_name} (${target}): ${layer} may use ${may}\n")
    endif()
  endforeach()
endforeach()

list(LENGTH files file_count)
if(problems)
  message(FATAL_ERROR "lib/ layers broken: a file includes a header of a layer above its own\n${problems}")
endif()
message(STATUS "lib/ layers: ${file_count} files, ${checked} includes, none upward")
