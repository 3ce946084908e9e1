/* The SQLite backend of the store: one file in WAL mode, shared safely by several processes. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_internal.h"
#include "store/store_schema.h"

/* How long a statement waits for another process's write lock. */
#define SQLITE_BUSY_TIMEOUT_MS 10000

static const char *const sqliteMigrations[] = {
    VB_STORE_SCHEMA_V1("INTEGER PRIMARY KEY", "INTEGER", "REAL", "TEXT"),
};

/* Sets err from a SQLite result code with the usual fix for that code. */
static vb_status sqliteError(VbStore *store, int rc, const char *what, vb_error *err)
{
    sqlite3 *db = store->handle;
    const char *detail = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return vbStoreError(store, err, VB_ERR_IO,
                            "%s failed: the database is locked by another process (waited %d ms); "
                            "retry when that process finishes", what, SQLITE_BUSY_TIMEOUT_MS);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return vbStoreError(store, err, VB_ERR_IO,
                            "%s failed: the file is not a SQLite database or is corrupt (%s); "
                            "move it away or pass another --db sqlite:PATH", what, detail);
    case SQLITE_CANTOPEN:
        return vbStoreError(store, err, VB_ERR_IO,
                            "%s failed: cannot open the file (%s); check that its folder exists "
                            "and is writable", what, detail);
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return vbStoreError(store, err, VB_ERR_IO,
                            "%s failed: the file is read-only (%s); check its permissions", what,
                            detail);
    case SQLITE_FULL:
        return vbStoreError(store, err, VB_ERR_IO, "%s failed: the disk is full", what);
    default:
        return vbStoreError(store, err, VB_ERR_IO, "%s failed: %s", what, detail);
    }
}

/* Creates every missing folder above path (mkdir -p of its dirname). */
static vb_status makeParentDirs(VbStore *store, const char *path, vb_error *err)
{
    char dir[VB_STORE_URL_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return VB_OK;
    *slash = '\0';
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return vbStoreError(store, err, VB_ERR_IO,
                                "cannot create folder %s (%s); check the path and its permissions",
                                dir, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    return VB_OK;
}

static vb_status sqliteExecScript(VbStore *store, const char *sql, vb_error *err)
{
    int rc = sqlite3_exec(store->handle, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sqliteError(store, rc, "statement", err);
    return VB_OK;
}

/* Binds params to the $1..$N names in stmt. A name that the statement does
 * not use is skipped. */
static int bindParams(sqlite3_stmt *stmt, const VbStoreParam *params, int count)
{
    for (int i = 0; i < count; i++) {
        char name[16];
        snprintf(name, sizeof name, "$%d", i + 1);
        int index = sqlite3_bind_parameter_index(stmt, name);
        if (index == 0)
            continue;
        int rc;
        switch (params[i].type) {
        case VB_PARAM_TEXT:
            rc = params[i].text != NULL
                     ? sqlite3_bind_text(stmt, index, params[i].text, -1, SQLITE_STATIC)
                     : sqlite3_bind_null(stmt, index);
            break;
        case VB_PARAM_INT:
            rc = sqlite3_bind_int64(stmt, index, params[i].i);
            break;
        case VB_PARAM_REAL:
            rc = sqlite3_bind_double(stmt, index, params[i].r);
            break;
        default:
            rc = sqlite3_bind_null(stmt, index);
            break;
        }
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static vb_status sqliteQuery(VbStore *store, const char *sql, const VbStoreParam *params,
                             int param_count, VbStoreRows *rows, vb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    vb_status st = VB_OK;
    size_t capacity = 0, used = 0;
    if (rows != NULL)
        memset(rows, 0, sizeof *rows);

    /* Prepare and bind. */
    int rc = sqlite3_prepare_v2(store->handle, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = bindParams(stmt, params, param_count);
    if (rc != SQLITE_OK) {
        st = sqliteError(store, rc, "statement", err);
        goto done;
    }

    /* Step through the rows, copying each as text. */
    int cols = sqlite3_column_count(stmt);
    if (rows != NULL)
        rows->cols = (size_t)cols;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (rows == NULL || cols == 0)
            continue;
        const char *values[64];
        size_t lengths[64];
        if (cols > 64) {
            st = vbStoreError(store, err, VB_ERR_INTERNAL, "a query returned %d columns", cols);
            goto done;
        }
        for (int c = 0; c < cols; c++) {
            values[c] = (const char *)sqlite3_column_text(stmt, c);
            lengths[c] = (size_t)sqlite3_column_bytes(stmt, c);
        }
        st = vbStoreRowsAppend(store, rows, &capacity, &used, values, lengths, err);
        if (st != VB_OK)
            goto done;
    }
    if (rc != SQLITE_DONE)
        st = sqliteError(store, rc, "statement", err);

done:
    sqlite3_finalize(stmt);
    if (st != VB_OK && rows != NULL)
        vbStoreRowsFree(rows);
    return st;
}

static void sqliteClose(VbStore *store)
{
    sqlite3_close_v2(store->handle);
    store->handle = NULL;
}

static const VbStoreBackend sqliteBackend = {
    .kind = "sqlite",
    .begin_write = "BEGIN IMMEDIATE",
    .migration_lock = NULL,
    .migrations = sqliteMigrations,
    .exec_script = sqliteExecScript,
    .query = sqliteQuery,
    .close = sqliteClose,
};

vb_status vbStoreSqliteOpen(VbStore *store, const char *path, vb_error *err)
{
    sqlite3 *db = NULL;
    store->backend = &sqliteBackend;

    /* Open (creating the file and its folders) and set the connection up. */
    if (strcmp(path, ":memory:") != 0) {
        vb_status st = makeParentDirs(store, path, err);
        if (st != VB_OK)
            return st;
    }
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    store->handle = db;
    if (rc != SQLITE_OK)
        return sqliteError(store, rc, "open", err);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MS);

    /* WAL lets readers run beside one writer; foreign keys are off by
     * default in SQLite and must be enabled per connection. The first
     * statement reads the file, so a corrupt file fails here. */
    rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; "
                          "PRAGMA synchronous = NORMAL;", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sqliteError(store, rc, "open", err);
    return VB_OK;
}
