/* The store's common layer: URL parsing, password redaction, migrations and result rows. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_internal.h"

/* ---- Result rows. ---- */

void vbStoreRowsFree(VbStoreRows *rows)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->rows * rows->cols; i++)
        free(rows->cells[i]);
    free(rows->cells);
    memset(rows, 0, sizeof *rows);
}

const char *vbStoreCell(const VbStoreRows *rows, size_t row, size_t col)
{
    if (rows == NULL || row >= rows->rows || col >= rows->cols)
        return NULL;
    return rows->cells[row * rows->cols + col];
}

vb_status vbStoreRowsAppend(VbStore *store, VbStoreRows *rows, size_t *capacity, size_t *used,
                            const char *const *values, const size_t *lengths, vb_error *err)
{
    /* Grow the cell array by doubling, within the byte cap. */
    size_t need = (rows->rows + 1) * rows->cols;
    if (need > *capacity) {
        size_t grown = *capacity > 0 ? *capacity * 2 : rows->cols * 16;
        if (grown < need)
            grown = need;
        size_t bytes;
        if (vbMulSize(grown, sizeof(char *), &bytes) || bytes > VB_STORE_RESULT_MAX)
            return vbStoreError(store, err, VB_ERR_LIMIT, "a query returned more than %zu MiB",
                                VB_STORE_RESULT_MAX >> 20);
        char **cells = realloc(rows->cells, bytes);
        if (cells == NULL)
            return vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory reading rows");
        rows->cells = cells;
        *capacity = grown;
    }

    /* Copy the cells; a NULL value stays NULL. */
    char **row = rows->cells + rows->rows * rows->cols;
    for (size_t c = 0; c < rows->cols; c++)
        row[c] = NULL;
    rows->rows++;
    for (size_t c = 0; c < rows->cols; c++) {
        if (values[c] == NULL)
            continue;
        if (vbAddSize(*used, lengths[c] + 1, used) || *used > VB_STORE_RESULT_MAX)
            return vbStoreError(store, err, VB_ERR_LIMIT, "a query returned more than %zu MiB",
                                VB_STORE_RESULT_MAX >> 20);
        row[c] = malloc(lengths[c] + 1);
        if (row[c] == NULL)
            return vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory reading rows");
        memcpy(row[c], values[c], lengths[c]);
        row[c][lengths[c]] = '\0';
    }
    return VB_OK;
}

/* ---- Messages and URLs. ---- */

/* Replaces every occurrence of secret in text (NUL-terminated, capacity
 * size) with "***". */
static void scrubSecret(char *text, size_t size, const char *secret)
{
    size_t secret_len = strlen(secret);
    if (secret_len == 0)
        return;
    char *hit;
    while ((hit = strstr(text, secret)) != NULL) {
        char rest[VB_ERROR_MESSAGE_MAX * 2];
        snprintf(rest, sizeof rest, "%s", hit + secret_len);
        snprintf(hit, size - (size_t)(hit - text), "***%s", rest);
    }
}

vb_status vbStoreError(VbStore *store, vb_error *err, vb_status status, const char *fmt, ...)
{
    char message[VB_ERROR_MESSAGE_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);

    /* Server messages span lines, but an error is one line and never shows
     * the password, even where a server or library echoes it. A line break
     * and indent between two sentences become ". ", others a space. */
    for (char *p = message; *p != '\0'; p++) {
        if (*p != '\n' && *p != '\r' && *p != '\t')
            continue;
        const char *next = p + strspn(p, " \n\r\t");
        if (*p == '\n' && p > message && next > p + 1 && isalnum((unsigned char)p[-1]) &&
            isupper((unsigned char)*next))
            *p = '.';
        else
            *p = ' ';
    }
    size_t len = 0;
    for (size_t i = 0; message[i] != '\0'; i++) {
        if (message[i] == ' ' && (message[i + 1] == ' ' || message[i + 1] == ';' ||
                                  message[i + 1] == '\0'))
            continue;
        message[len++] = message[i];
    }
    message[len] = '\0';
    for (size_t i = 0; i < sizeof store->secret / sizeof store->secret[0]; i++)
        scrubSecret(message, sizeof message, store->secret[i]);
    return vbErrorSet(err, status, "database %s: %s", store->name, message);
}

/* Finds the password of a URL: userinfo "user:PASSWORD@" in the authority
 * or a "password=" query parameter. Stores its offset and length in
 * *start and *len and returns 1, or returns 0 when there is none. from is
 * where the search starts (to find a second password parameter). */
static int findPassword(const char *url, size_t from, size_t *start, size_t *len)
{
    const char *scheme_end = strstr(url, "://");
    if (scheme_end == NULL)
        return 0;
    const char *authority = scheme_end + 3;
    size_t authority_len = strcspn(authority, "/?#");

    /* userinfo: the part before the last '@' of the authority. */
    const char *at = NULL;
    for (size_t i = 0; i < authority_len; i++) {
        if (authority[i] == '@')
            at = authority + i;
    }
    if (at != NULL) {
        const char *colon = memchr(authority, ':', (size_t)(at - authority));
        if (colon != NULL && (size_t)(colon + 1 - url) >= from) {
            *start = (size_t)(colon + 1 - url);
            *len = (size_t)(at - colon - 1);
            return 1;
        }
    }

    /* password=VALUE in the query string. */
    const char *query = strchr(authority, '?');
    for (const char *p = query; p != NULL && *p != '\0'; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, "password=", 9) == 0 && (size_t)(p + 10 - url) >= from) {
            *start = (size_t)(p + 10 - url);
            *len = strcspn(p + 10, "&#");
            return 1;
        }
        if (p[1] == '\0')
            break;
    }
    return 0;
}

void vbStoreRedactUrl(const char *url, char *out, size_t size)
{
    if (size == 0)
        return;
    out[0] = '\0';
    if (url == NULL)
        return;

    /* Copy the URL, replacing each password found with "***". */
    size_t pos = 0, used = 0, start, len;
    while (findPassword(url, pos, &start, &len)) {
        used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%.*s***",
                                 (int)(start - pos), url + pos);
        if (used >= size)
            return;
        pos = start + len;
    }
    snprintf(out + used, size - used, "%s", url + pos);
}

/* Decodes %XX escapes of src[0..len) into out (capacity size). */
static void percentDecode(const char *src, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        unsigned int byte;
        if (src[i] == '%' && i + 2 < len && sscanf(src + i + 1, "%2x", &byte) == 1) {
            out[o++] = (char)byte;
            i += 2;
        } else {
            out[o++] = src[i];
        }
    }
    out[o] = '\0';
}

vb_status vbStoreDefaultPath(char *out, size_t size, vb_error *err)
{
    const char *data_home = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (data_home != NULL && data_home[0] != '\0')
        n = snprintf(out, size, "%s/visionbench/visionbench.db", data_home);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, size, "%s/.local/share/visionbench/visionbench.db", home);
    else
        return vbErrorSet(err, VB_ERR_NOT_FOUND,
                          "no default database: neither XDG_DATA_HOME nor HOME is set; pass "
                          "--db sqlite:PATH");
    if (n < 0 || (size_t)n >= size)
        return vbErrorSet(err, VB_ERR_LIMIT, "the default database path is longer than %zu bytes",
                          size - 1);
    return VB_OK;
}

const char *vbStoreName(const VbStore *store)
{
    return store != NULL ? store->name : "";
}

const char *vbStoreKind(const VbStore *store)
{
    return store != NULL && store->backend != NULL ? store->backend->kind : "";
}

/* ---- Opening and migrations. ---- */

/* Ends a failed transaction; the original error in err is kept. */
void vbStoreRollback(VbStore *store)
{
    vb_error ignored;
    store->backend->exec_script(store, "ROLLBACK", &ignored);
}

vb_status vbStoreBegin(VbStore *store, vb_error *err)
{
    return store->backend->exec_script(store, store->backend->begin_write, err);
}

vb_status vbStoreCommit(VbStore *store, vb_error *err)
{
    vb_status st = store->backend->exec_script(store, "COMMIT", err);
    if (st != VB_OK)
        vbStoreRollback(store);
    return st;
}

vb_status vbStoreSchemaVersion(VbStore *store, int *version, vb_error *err)
{
    VbStoreRows rows;
    vb_status st = store->backend->query(store, "SELECT MAX(version) FROM schema_version", NULL, 0,
                                         &rows, err);
    if (st != VB_OK)
        return st;
    const char *cell = vbStoreCell(&rows, 0, 0);
    *version = cell != NULL ? atoi(cell) : 0;
    vbStoreRowsFree(&rows);
    return VB_OK;
}

/* Applies the migrations that the database lacks, all in one transaction,
 * after checking that its schema is not newer than this build's. */
static vb_status migrate(VbStore *store, vb_error *err)
{
    const VbStoreBackend *b = store->backend;
    int version = 0;

    /* Lock out other processes that open the same database now. */
    vb_status st = vbStoreBegin(store, err);
    if (st != VB_OK)
        return st;
    if (b->migration_lock != NULL) {
        st = b->query(store, b->migration_lock, NULL, 0, NULL, err);
        if (st != VB_OK)
            goto done;
    }

    /* Read the recorded version. */
    st = b->exec_script(store,
                        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                        "applied_ms BIGINT NOT NULL)", err);
    if (st == VB_OK)
        st = vbStoreSchemaVersion(store, &version, err);
    if (st != VB_OK)
        goto done;
    if (version > VB_STORE_SCHEMA_VERSION) {
        st = vbStoreError(store, err, VB_ERR_UNSUPPORTED,
                          "schema version %d is newer than this visionbench supports (%d); "
                          "upgrade visionbench or use another database", version,
                          VB_STORE_SCHEMA_VERSION);
        goto done;
    }

    /* Apply each missing step and record it. */
    for (int v = version + 1; v <= VB_STORE_SCHEMA_VERSION; v++) {
        st = b->exec_script(store, b->migrations[v - 1], err);
        if (st != VB_OK) {
            vbErrorPrefix(err, "migration to schema version %d: ", v);
            goto done;
        }
        VbStoreParam params[2] = {{.type = VB_PARAM_INT, .i = v},
                                  {.type = VB_PARAM_INT, .i = vbStoreNowMs()}};
        st = b->query(store, "INSERT INTO schema_version (version, applied_ms) VALUES ($1, $2)",
                      params, 2, NULL, err);
        if (st != VB_OK)
            goto done;
    }
    st = vbStoreCommit(store, err);
    return st;

done:
    vbStoreRollback(store);
    return st;
}

/* Opens the SQLite file at path; with must_exist, a missing file is
 * VB_ERR_NOT_FOUND instead of created. A folder is always rejected. */
static vb_status openSqliteFile(VbStore *store, const char *path, int must_exist, vb_error *err)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return vbStoreError(store, err, VB_ERR_INVALID_ARGUMENT,
                            "the SQLite path %s is a folder; give a file in it, such as "
                            "sqlite:%s/visionbench.db",
                            path, path);
    if (must_exist && strcmp(path, ":memory:") != 0 && stat(path, &sb) != 0)
        return vbStoreError(store, err, VB_ERR_NOT_FOUND,
                            "the SQLite file %s does not exist (%s); check the path", path,
                            strerror(errno));
    return vbStoreSqliteOpen(store, path, err);
}

/* Splits url by scheme and opens the backend. */
static vb_status openBackend(VbStore *store, const char *url, int must_exist, vb_error *err)
{
    char path[VB_STORE_URL_MAX - 16];

    if (url == NULL || url[0] == '\0') {
        vb_status st = vbStoreDefaultPath(path, sizeof path, err);
        if (st != VB_OK)
            return st;
        snprintf(store->name, sizeof store->name, "sqlite:%s", path);
        return openSqliteFile(store, path, must_exist, err);
    }
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return vbStorePgOpen(store, url, err);

    const char *file = NULL;
    if (strncmp(url, "sqlite://", 9) == 0)
        file = url + 9;
    else if (strncmp(url, "sqlite:", 7) == 0)
        file = url + 7;
    if (file == NULL && strstr(url, "://") == NULL)
        return vbStoreError(store, err, VB_ERR_INVALID_ARGUMENT,
                            "the URL has no scheme; for a SQLite file write sqlite:%s", url);
    if (file == NULL)
        return vbStoreError(store, err, VB_ERR_INVALID_ARGUMENT,
                            "unsupported database URL; use sqlite:PATH, postgresql://USER:"
                            "PASSWORD@HOST:PORT/DATABASE or postgres://...");
    if (file[0] == '\0')
        return vbStoreError(store, err, VB_ERR_INVALID_ARGUMENT,
                            "the SQLite URL has no path; use sqlite:PATH, such as "
                            "sqlite:runs.db");
    return openSqliteFile(store, file, must_exist, err);
}

/* Opens the store as vbStoreOpen and vbStoreOpenExisting describe. */
static vb_status openStore(const char *url, int must_exist, VbStore **out, vb_error *err)
{
    *out = NULL;
    if (url != NULL && strlen(url) >= VB_STORE_URL_MAX)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "the database URL is longer than %d bytes", VB_STORE_URL_MAX - 1);
    VbStore *store = calloc(1, sizeof *store);
    if (store == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory opening the database");

    /* Remember the redacted name and the password (raw and decoded) so no
     * message shows it. */
    vbStoreRedactUrl(url, store->name, sizeof store->name);
    size_t start, len;
    if (url != NULL && findPassword(url, 0, &start, &len) && len < sizeof store->secret[0]) {
        memcpy(store->secret[0], url + start, len);
        store->secret[0][len] = '\0';
        percentDecode(url + start, len, store->secret[1], sizeof store->secret[1]);
    }

    vb_status st = openBackend(store, url, must_exist, err);
    if (st == VB_OK)
        st = migrate(store, err);
    if (st != VB_OK) {
        vbStoreClose(store);
        return st;
    }
    *out = store;
    return VB_OK;
}

vb_status vbStoreOpen(const char *url, VbStore **out, vb_error *err)
{
    return openStore(url, 0, out, err);
}

vb_status vbStoreOpenExisting(const char *url, VbStore **out, vb_error *err)
{
    return openStore(url, 1, out, err);
}

void vbStoreClose(VbStore *store)
{
    if (store == NULL)
        return;
    if (store->backend != NULL && store->handle != NULL)
        store->backend->close(store);
    memset(store->secret, 0, sizeof store->secret);
    free(store);
}

vb_status vbStoreListenRuns(VbStore *store, vb_error *err)
{
    if (strcmp(store->backend->kind, "postgresql") != 0)
        return vbStoreError(store, err, VB_ERR_UNSUPPORTED,
                            "notifications need PostgreSQL; SQLite has no LISTEN");
    return vbStorePgListen(store, VB_STORE_RUNS_CHANNEL, err);
}

vb_status vbStoreWaitNotification(VbStore *store, int timeout_ms, char *payload, size_t size,
                                  int *received, vb_error *err)
{
    *received = 0;
    if (strcmp(store->backend->kind, "postgresql") != 0)
        return vbStoreError(store, err, VB_ERR_UNSUPPORTED,
                            "notifications need PostgreSQL; SQLite has no LISTEN");
    return vbStorePgWait(store, timeout_ms, payload, size, received, err);
}
