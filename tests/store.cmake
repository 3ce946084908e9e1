# The PostgreSQL variant of the store test, and `visionbench run --db` end to
# end. unit.test_store covers SQLite; store.postgresql runs the same program
# against the database that VB_TEST_POSTGRES_URL names (the test empties it
# first) and is skipped when the variable is unset. .ci/run starts a
# throwaway PostgreSQL 15 for it. The tests that use that database share
# one resource lock with the server.pg.* tests, so `ctest -j` runs one of
# them at a time.
add_test(NAME store.postgresql COMMAND test_store postgresql)
set_tests_properties(store.postgresql PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                     LABELS store TIMEOUT 300 RESOURCE_LOCK visionbench_postgres)

add_test(NAME store.run_db COMMAND bash ${CMAKE_SOURCE_DIR}/tests/store/run_db.sh)
set_tests_properties(store.run_db PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                     LABELS store TIMEOUT 300 RESOURCE_LOCK visionbench_postgres)
