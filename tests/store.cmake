# The PostgreSQL variant of the store test. unit.test_store covers SQLite;
# this one runs the same program against the database that
# VB_TEST_POSTGRES_URL names (the test empties it first) and is skipped when
# the variable is unset. .ci/run starts a throwaway PostgreSQL 15 for it.
add_test(NAME store.postgresql COMMAND test_store postgresql)
set_tests_properties(store.postgresql PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                     LABELS store TIMEOUT 300)
