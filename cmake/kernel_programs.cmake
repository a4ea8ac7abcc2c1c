# Reads kernels_cl/programs.txt ("program file file ..." per line, # comments): sets `${prefix}_names` to the
# programs in order and `${prefix}_files_<program>` to each one's files (names without .cl), in the caller's
# scope. Used by cmake/embed_kernels.cmake and tests/check_shipped_profiles.cmake (both run as cmake -P).
function(t6_kernel_programs path prefix)
  file(STRINGS "${path}" lines)
  set(names "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*(#|$)")
      continue()
    endif()
    string(REGEX REPLACE "[ \t]+" ";" words "${line}")
    list(POP_FRONT words program)
    list(APPEND names ${program})
    set(${prefix}_files_${program} "${words}" PARENT_SCOPE)
  endforeach()
  set(${prefix}_names "${names}" PARENT_SCOPE)
endfunction()
