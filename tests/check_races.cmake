# check_races.cmake — runs one Check case of a suite under Oclgrind's data-race detection and fails on any race in
# local memory it reports, or when the case itself fails. PoCL runs a group's work-items in lockstep from barrier
# to barrier, so a missing barrier between two uses of local memory computes the right numbers there and wrong
# ones on a GPU; Oclgrind's schedule shows it. Races in global memory are not counted: the groups that merge the
# splits read what other groups wrote once a counter says they are done (fences and atomics, the pattern of
# CUDA's threadfence reduction), an order Oclgrind's model of OpenCL 1.2 does not know. Its --uninitialized is not
# used: Oclgrind 21.10 counts a buffer that clEnqueueFillBuffer fills with a repeated pattern as uninitialized
# (t6's merge counters), and flags everything that follows from them.
#   cmake -DOCLGRIND=... -DPROGRAM=... -DCASE=... -DLOG=... -DCOMPUTE_UNITS=... -P check_races.cmake
set(ENV{CK_RUN_CASE} "${CASE}")
set(ENV{CK_FORK} "no")
file(REMOVE "${LOG}")
execute_process(COMMAND "${OCLGRIND}" --data-races --compute-units ${COMPUTE_UNITS} --log "${LOG}" "${PROGRAM}"
                RESULT_VARIABLE status)
set(log "")
if(EXISTS "${LOG}")
  file(READ "${LOG}" log)
endif()
string(REGEX MATCHALL "[A-Za-z-]+ data race at local memory address" races "${log}")
list(LENGTH races count)
if(count GREATER 0)
  list(REMOVE_DUPLICATES races)
  string(SUBSTRING "${log}" 0 3000 head)
  message(FATAL_ERROR "Oclgrind reported ${count} data races in local memory (${races}); the start of ${LOG}:\n${head}")
endif()
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} (case ${CASE}) failed under Oclgrind with status ${status}")
endif()
message(STATUS "case ${CASE}: no data race in local memory under Oclgrind")
