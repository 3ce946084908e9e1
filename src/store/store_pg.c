/* The PostgreSQL backend of the store, through libpq; tested with PostgreSQL 15. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "store/store_schema.h"

/* Seconds libpq waits for a server when the URL sets no connect_timeout. */
#define PG_CONNECT_TIMEOUT "10"

/* Key of the advisory lock that serialises concurrent migrations. */
#define PG_MIGRATION_LOCK_KEY "7415623001"

static const char *const pgMigrations[] = {
    VB_STORE_SCHEMA_V1("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BIGINT",
                       "DOUBLE PRECISION", "JSON"),
};

/* Sets err from the connection's last error message. */
static vb_status pgConnectionError(VbStore *store, const char *what, vb_error *err)
{
    return vbStoreError(store, err, VB_ERR_IO, "%s failed: %s", what,
                        PQerrorMessage(store->handle));
}

/* Checks a result: returns VB_OK for commands and rows, else sets err with
 * the server's message and SQLSTATE, and the usual fix for a lost
 * connection. */
static vb_status pgResultError(VbStore *store, PGresult *res, vb_error *err)
{
    ExecStatusType status = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return VB_OK;
    if (PQstatus(store->handle) == CONNECTION_BAD)
        return vbStoreError(store, err, VB_ERR_IO,
                            "connection lost (%s); check that the server is running and retry",
                            PQerrorMessage(store->handle));
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *message = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(store->handle);
    return vbStoreError(store, err, VB_ERR_IO, "statement failed (SQLSTATE %s): %s",
                        state != NULL ? state : "none", message);
}

static vb_status pgExecScript(VbStore *store, const char *sql, vb_error *err)
{
    PGresult *res = PQexec(store->handle, sql);
    vb_status st = pgResultError(store, res, err);
    PQclear(res);
    return st;
}

static vb_status pgQuery(VbStore *store, const char *sql, const VbStoreParam *params,
                         int param_count, VbStoreRows *rows, vb_error *err)
{
    char numbers[32][32];
    const char *values[32];
    PGresult *res = NULL;
    vb_status st = VB_OK;
    size_t capacity = 0, used = 0;
    if (rows != NULL)
        memset(rows, 0, sizeof *rows);
    if (param_count > 32)
        return vbStoreError(store, err, VB_ERR_INTERNAL, "a statement has %d parameters",
                            param_count);

    /* Every parameter goes as text; the server infers its type from the
     * statement. */
    for (int i = 0; i < param_count; i++) {
        switch (params[i].type) {
        case VB_PARAM_TEXT:
            values[i] = params[i].text;
            break;
        case VB_PARAM_INT:
            snprintf(numbers[i], sizeof numbers[i], "%lld", (long long)params[i].i);
            values[i] = numbers[i];
            break;
        case VB_PARAM_REAL:
            snprintf(numbers[i], sizeof numbers[i], "%.17g", params[i].r);
            values[i] = numbers[i];
            break;
        default:
            values[i] = NULL;
            break;
        }
    }
    res = PQexecParams(store->handle, sql, param_count, NULL, values, NULL, NULL, 0);
    st = pgResultError(store, res, err);
    if (st != VB_OK || rows == NULL)
        goto done;

    /* Copy the rows as text. */
    int cols = PQnfields(res);
    int count = PQntuples(res);
    rows->cols = (size_t)cols;
    if (cols > 64) {
        st = vbStoreError(store, err, VB_ERR_INTERNAL, "a query returned %d columns", cols);
        goto done;
    }
    for (int r = 0; r < count && cols > 0; r++) {
        const char *cells[64];
        size_t lengths[64];
        for (int c = 0; c < cols; c++) {
            cells[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
            lengths[c] = (size_t)PQgetlength(res, r, c);
        }
        st = vbStoreRowsAppend(store, rows, &capacity, &used, cells, lengths, err);
        if (st != VB_OK)
            goto done;
    }

done:
    PQclear(res);
    if (st != VB_OK && rows != NULL)
        vbStoreRowsFree(rows);
    return st;
}

static void pgClose(VbStore *store)
{
    PQfinish(store->handle);
    store->handle = NULL;
}

static const VbStoreBackend pgBackend = {
    .kind = "postgresql",
    .begin_write = "BEGIN",
    .migration_lock = "SELECT pg_advisory_xact_lock(" PG_MIGRATION_LOCK_KEY ")",
    .migrations = pgMigrations,
    .exec_script = pgExecScript,
    .query = pgQuery,
    .close = pgClose,
};

static void ignoreNotice(void *user, const char *message)
{
    (void)user;
    (void)message;
}

vb_status vbStorePgOpen(VbStore *store, const char *url, vb_error *err)
{
    store->backend = &pgBackend;

    /* Check the URL's syntax before any network access. */
    char *parse_error = NULL;
    PQconninfoOption *parsed = PQconninfoParse(url, &parse_error);
    if (parsed == NULL) {
        vb_status st = vbStoreError(store, err, VB_ERR_INVALID_ARGUMENT,
                                    "invalid PostgreSQL URL: %s; expected "
                                    "postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require",
                                    parse_error != NULL ? parse_error : "out of memory");
        PQfreemem(parse_error);
        return st;
    }
    PQconninfoFree(parsed);

    /* Connect. Keywords before dbname are defaults that the URL's own
     * parameters override. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {PG_CONNECT_TIMEOUT, "visionbench", url, NULL};
    store->handle = PQconnectdbParams(keys, values, 1);
    if (store->handle == NULL)
        return vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory connecting");
    if (PQstatus(store->handle) != CONNECTION_OK)
        return vbStoreError(store, err, VB_ERR_IO,
                            "cannot connect: %s; check the host, port, user, password and "
                            "sslmode in the URL and that the server accepts connections",
                            PQerrorMessage(store->handle));

    /* libpq prints NOTICE messages on stderr by default, and library code
     * never prints. No session setting is made: times are stored as Unix
     * milliseconds, and a transaction-mode pooler would not keep a SET. */
    PQsetNoticeProcessor(store->handle, ignoreNotice, NULL);
    return VB_OK;
}

vb_status vbStorePgListen(VbStore *store, const char *channel, vb_error *err)
{
    /* channel is a constant identifier from the caller, never user input. */
    char sql[128];
    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    return pgExecScript(store, sql, err);
}

vb_status vbStorePgWait(VbStore *store, int timeout_ms, char *payload, size_t size, int *received,
                        vb_error *err)
{
    PGconn *conn = store->handle;
    uint64_t deadline = vbNowNs() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
    *received = 0;

    for (;;) {
        if (PQconsumeInput(conn) == 0)
            return pgConnectionError(store, "waiting for a notification", err);
        PGnotify *note = PQnotifies(conn);
        if (note != NULL) {
            snprintf(payload, size, "%s", note->extra);
            PQfreemem(note);
            *received = 1;
            return VB_OK;
        }

        /* Sleep on the socket until data arrives or the deadline passes. */
        uint64_t now = vbNowNs();
        if (now >= deadline)
            return VB_OK;
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        int wait_ms = (int)((deadline - now) / 1000000u) + 1;
        if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
            return vbStoreError(store, err, VB_ERR_IO, "waiting for a notification failed: %s",
                                strerror(errno));
    }
}
