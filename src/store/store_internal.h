/* The backend interface behind store.h: each database implements query and script execution. */
#ifndef VB_STORE_INTERNAL_H
#define VB_STORE_INTERNAL_H

#include "store/store.h"

/* A bound statement parameter. Statements name parameters $1, $2, ... on
 * both backends (SQLite accepts $NNN as a named parameter). */
typedef enum VbStoreParamType {
    VB_PARAM_NULL = 0,
    VB_PARAM_TEXT,
    VB_PARAM_INT,
    VB_PARAM_REAL
} VbStoreParamType;

typedef struct VbStoreParam {
    VbStoreParamType type;
    const char *text;
    int64_t i;
    double r;
} VbStoreParam;

/* A query result as text cells, row-major; a NULL cell is SQL NULL. */
typedef struct VbStoreRows {
    size_t rows;
    size_t cols;
    char **cells;        /* rows x cols */
} VbStoreRows;

void vbStoreRowsFree(VbStoreRows *rows);

/* Returns the cell (row, col) or NULL. */
const char *vbStoreCell(const VbStoreRows *rows, size_t row, size_t col);

typedef struct VbStoreBackend {
    const char *kind;            /* "sqlite" or "postgresql" */
    const char *begin_write;     /* statement that starts a write transaction */
    const char *migration_lock;  /* statement run first in the migration transaction, or NULL */
    const char *const *migrations; /* migrations[v - 1] brings version v - 1 to v */

    /* Runs a script of statements without parameters. */
    vb_status (*exec_script)(VbStore *store, const char *sql, vb_error *err);

    /* Runs one statement with params and stores its rows in *rows when rows
     * is not NULL (freed with vbStoreRowsFree). */
    vb_status (*query)(VbStore *store, const char *sql, const VbStoreParam *params,
                       int param_count, VbStoreRows *rows, vb_error *err);

    void (*close)(VbStore *store);
} VbStoreBackend;

struct VbStore {
    const VbStoreBackend *backend;
    void *handle;                    /* sqlite3 * or PGconn * */
    char name[VB_STORE_URL_MAX];     /* redacted URL for messages */
    char secret[2][256];             /* the password as written and percent-decoded, scrubbed
                                      * from every message; "" for none */
};

/* The channel that vbStoreRunSave notifies on PostgreSQL. */
#define VB_STORE_RUNS_CHANNEL "visionbench_runs"

/* Transactions. vbStoreBegin starts a write transaction, which takes the
 * write lock up front on SQLite (BEGIN IMMEDIATE). vbStoreCommit rolls back
 * when the commit fails. vbStoreRollback keeps the error already in err. */
vb_status vbStoreBegin(VbStore *store, vb_error *err);
vb_status vbStoreCommit(VbStore *store, vb_error *err);
void vbStoreRollback(VbStore *store);

/* Returns the wall-clock time in Unix milliseconds. */
int64_t vbStoreNowMs(void);

/* Writes a new random UUID (version 4) into id. Errors: VB_ERR_IO when the
 * system's random source cannot be read. */
vb_status vbStoreNewId(char id[VB_STORE_ID_SIZE], vb_error *err);

/* Opens a backend connection for a URL already split by kind. */
vb_status vbStoreSqliteOpen(VbStore *store, const char *path, vb_error *err);
vb_status vbStorePgOpen(VbStore *store, const char *url, vb_error *err);

/* Notifications on a PostgreSQL connection. */
vb_status vbStorePgListen(VbStore *store, const char *channel, vb_error *err);
vb_status vbStorePgWait(VbStore *store, int timeout_ms, char *payload, size_t size, int *received,
                        vb_error *err);

/* Sets err to "database NAME: MESSAGE", with the password scrubbed from
 * MESSAGE and line breaks folded into spaces, and returns status. */
vb_status vbStoreError(VbStore *store, vb_error *err, vb_status status, const char *fmt, ...)
    VB_PRINTF(4, 5);

/* Appends one row of cells to rows; used by backends. The total size is
 * capped by VB_STORE_RESULT_MAX through *used. */
vb_status vbStoreRowsAppend(VbStore *store, VbStoreRows *rows, size_t *capacity, size_t *used,
                            const char *const *values, const size_t *lengths, vb_error *err);

#endif /* VB_STORE_INTERNAL_H */
