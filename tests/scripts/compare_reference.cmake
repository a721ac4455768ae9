# Fails when docs/config.md is not what `homeostat config-reference` prints now.
execute_process(COMMAND ${HOMEOSTAT} config-reference --experiments ${EXPERIMENTS}
                OUTPUT_VARIABLE generated RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "homeostat config-reference failed (${status})")
endif()
file(READ ${EXPECTED} checked_in)
if(NOT generated STREQUAL checked_in)
  message(FATAL_ERROR "docs/config.md is stale: regenerate it with\n"
                      "  ./build/homeostat config-reference --output docs/config.md")
endif()
