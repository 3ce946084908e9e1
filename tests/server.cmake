# Tests of `visionbench serve` over HTTP on loopback (tests/server/test_server.py,
# python3 standard library only): each case starts its own server with a temporary
# SQLite database. The server.pg.* variants run the same cases against the
# PostgreSQL database in VB_TEST_POSTGRES_URL and skip when it is unset; they share
# that database, and start-up recovery re-queues every running job in it, so they
# hold one resource lock and run one at a time.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  foreach(case runsync_accuracy run_status stream cancel timeout concurrent autoscale restart
               bad_requests)
    add_test(NAME server.${case}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/server/test_server.py ${case} sqlite)
    set_tests_properties(server.${case} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                         LABELS server TIMEOUT 300)
    add_test(NAME server.pg.${case}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/server/test_server.py ${case} postgres)
    set_tests_properties(server.pg.${case} PROPERTIES
                         ENVIRONMENT "${VB_TEST_ENV}"
                         SKIP_RETURN_CODE 77 LABELS "server;postgres" TIMEOUT 300
                         RESOURCE_LOCK visionbench_postgres)
  endforeach()
endif()
