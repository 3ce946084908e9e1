/* The database schema, written once and expanded with each backend's column types. */
#ifndef VB_STORE_SCHEMA_H
#define VB_STORE_SCHEMA_H

/* Version 1. SEQ is an auto-numbered primary key that orders rows by
 * insertion. BIGINT columns store Unix milliseconds and counts, REAL
 * columns metrics and JSON columns JSON text. Job and run ids are UUID text. */
#define VB_STORE_SCHEMA_V1(SEQ, BIGINT, REAL, JSON)                                          \
    "CREATE TABLE jobs ("                                                                    \
    " seq " SEQ ","                                                                          \
    " id TEXT NOT NULL UNIQUE,"                                                              \
    " status TEXT NOT NULL CHECK (status IN ('IN_QUEUE', 'IN_PROGRESS', 'COMPLETED',"        \
    "  'FAILED', 'CANCELLED', 'TIMED_OUT')),"                                                \
    " input " JSON " NOT NULL,"                                                              \
    " output " JSON ","                                                                      \
    " error TEXT,"                                                                           \
    " created_ms " BIGINT " NOT NULL,"                                                       \
    " started_ms " BIGINT ","                                                                \
    " finished_ms " BIGINT ","                                                               \
    " attempts INTEGER NOT NULL DEFAULT 0,"                                                  \
    " worker_id TEXT,"                                                                       \
    " retried INTEGER NOT NULL DEFAULT 0,"                                                   \
    " delay_ms " BIGINT ","                                                                  \
    " execution_ms " BIGINT ");"                                                             \
    "CREATE INDEX jobs_status_seq ON jobs (status, seq);"                                    \
    "CREATE TABLE runs ("                                                                    \
    " seq " SEQ ","                                                                          \
    " id TEXT NOT NULL UNIQUE,"                                                              \
    " job_id TEXT REFERENCES jobs (id) ON DELETE SET NULL,"                                  \
    " started_ms " BIGINT " NOT NULL,"                                                       \
    " finished_ms " BIGINT ","                                                               \
    " status TEXT NOT NULL,"                                                                 \
    " options " JSON ","                                                                     \
    " dataset_sha256 TEXT,"                                                                  \
    " machine " JSON ","                                                                     \
    " visionbench_version TEXT,"                                                             \
    " report " JSON " NOT NULL,"                                                             \
    " stored_ms " BIGINT " NOT NULL);"                                                       \
    "CREATE INDEX runs_started ON runs (started_ms, seq);"                                   \
    "CREATE INDEX runs_dataset ON runs (dataset_sha256, started_ms);"                        \
    "CREATE INDEX runs_job ON runs (job_id);"                                                \
    "CREATE TABLE models ("                                                                  \
    " name TEXT NOT NULL,"                                                                   \
    " sha256 TEXT NOT NULL,"                                                                 \
    " path TEXT,"                                                                            \
    " family TEXT,"                                                                          \
    " task TEXT,"                                                                            \
    " first_seen_ms " BIGINT " NOT NULL,"                                                    \
    " last_seen_ms " BIGINT " NOT NULL,"                                                     \
    " PRIMARY KEY (name, sha256));"                                                          \
    "CREATE TABLE model_results ("                                                           \
    " run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"                          \
    " position INTEGER NOT NULL,"                                                            \
    " model_name TEXT NOT NULL,"                                                             \
    " model_sha256 TEXT,"                                                                    \
    " family TEXT,"                                                                          \
    " status TEXT NOT NULL,"                                                                 \
    " error TEXT,"                                                                           \
    " map " REAL ", map50 " REAL ", \"precision\" " REAL ", recall " REAL ", f1 " REAL ","   \
    " inference_time_s " REAL ", throughput " REAL ", latency_p95_ms " REAL ","              \
    " ram_mb " REAL ", peak_mb " REAL ", gpu_mb " REAL ","                                   \
    " energy_kwh " REAL ", co2_kg " REAL ", green_score INTEGER,"                            \
    " result " JSON " NOT NULL,"                                                             \
    " PRIMARY KEY (run_id, model_name));"                                                    \
    "CREATE INDEX model_results_name ON model_results (model_name, run_id);"

#endif /* VB_STORE_SCHEMA_H */
