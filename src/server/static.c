/* Serves the built web dashboard (index.html and assets/) from a folder on disk. */
#include "server/static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* The build sets this to BUILD/web (CMakeLists.txt); a build without it
 * looks in web/dist under the working folder. */
#ifndef VB_WEB_DIR_DEFAULT
#define VB_WEB_DIR_DEFAULT "web/dist"
#endif

#define ASSET_NAME_MAX 200 /* bytes of a path below assets/ */

/* Security headers for every dashboard response: only same-origin scripts,
 * styles and fetches, so a page that works here works offline. Chart.js
 * sets inline style attributes on its canvases, hence 'unsafe-inline' for
 * styles only. */
static const char CONTENT_SECURITY_POLICY[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'";

void vbDashboardDir(char *out, size_t size)
{
    const char *env = getenv("VB_WEB_DIR");
    snprintf(out, size, "%s", env != NULL && env[0] != '\0' ? env : VB_WEB_DIR_DEFAULT);
}

/* Returns the Content-Type for a file name by its extension. */
static const char *contentType(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    if (dot != NULL) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}

/* Returns 1 when name (the part after "/assets/") is a safe relative path:
 * not empty, at most ASSET_NAME_MAX bytes, only [A-Za-z0-9._/-], and no
 * component that is empty or starts with a dot (so no "..", no hidden
 * files). */
static int assetNameValid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > ASSET_NAME_MAX)
        return 0;
    int component_start = 1;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-' || c == '/';
        if (!allowed)
            return 0;
        if (component_start && (c == '.' || c == '/'))
            return 0;
        component_start = c == '/';
    }
    return !component_start;
}

/* Queues body (taken over, freed by MHD) with the dashboard's headers; a
 * 405 reply gets "Allow: GET, HEAD", the methods of every dashboard URL. */
static enum MHD_Result queueOwned(struct MHD_Connection *conn, unsigned int http_status,
                                  const char *type, char *body, size_t len)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "Content-Security-Policy", CONTENT_SECURITY_POLICY);
    if (http_status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result result = MHD_queue_response(conn, http_status, response);
    MHD_destroy_response(response);
    return result;
}

/* Queues a short plain-text or HTML page copied from text. */
static enum MHD_Result queueText(struct MHD_Connection *conn, unsigned int http_status,
                                 const char *type, const char *text)
{
    char *copy = vbStrdup(text);
    if (copy == NULL)
        return MHD_NO;
    return queueOwned(conn, http_status, type, copy, strlen(copy));
}

/* Queues the page shown at / when index.html is missing. */
static enum MHD_Result queueNotBuilt(struct MHD_Connection *conn, const char *dir)
{
    char page[2048];
    snprintf(page, sizeof page,
             "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<title>visionbench: dashboard not built</title></head><body>\n"
             "<h1>Dashboard not built</h1>\n"
             "<p>This server found no <code>index.html</code> in <code>%s</code>.</p>\n"
             "<p>Build the dashboard with <code>cmake --build BUILD --target dashboard</code> "
             "or <code>web/build.sh OUT_DIR</code> (both need Node.js 20 and npm), then start "
             "<code>visionbench serve</code> again, with <code>VB_WEB_DIR=OUT_DIR</code> when "
             "you chose another folder.</p>\n"
             "<p>The HTTP API (<code>/run</code>, <code>/status/{id}</code>, <code>/health</code>"
             ", ...) works without it.</p>\n</body></html>\n",
             dir);
    return queueText(conn, MHD_HTTP_NOT_FOUND, "text/html; charset=utf-8", page);
}

int vbDashboardServe(struct MHD_Connection *conn, const char *method, const char *url,
                     enum MHD_Result *result)
{
    /* Step 1: claim only the dashboard's URLs, for reading methods. */
    int is_index = strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0;
    int is_asset = strncmp(url, "/assets/", 8) == 0;
    if (!is_index && !is_asset)
        return 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *result = queueText(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                            "method not allowed: the dashboard answers GET and HEAD only\n");
        return 1;
    }

    /* Step 2: map the URL to a file under the dashboard folder. */
    char dir[1024];
    vbDashboardDir(dir, sizeof dir);
    const char *name = is_index ? "index.html" : url + 1;
    if (is_asset && !assetNameValid(url + 8)) {
        *result = queueText(conn, MHD_HTTP_BAD_REQUEST, "text/plain; charset=utf-8",
                            "invalid asset name: use [A-Za-z0-9._-] path components that "
                            "do not start with a dot\n");
        return 1;
    }
    char *path = vbPathJoin(dir, name);
    if (path == NULL) {
        *result = MHD_NO;
        return 1;
    }

    /* Step 3: read and queue it; a missing index gets the build instructions. */
    char *data = NULL;
    size_t len = 0;
    vb_error err = {0};
    vb_status st = vbFileRead(path, VB_DASHBOARD_ASSET_MAX, &data, &len, &err);
    if (st == VB_OK) {
        *result = queueOwned(conn, MHD_HTTP_OK, contentType(name), data, len);
    } else if (is_index) {
        /* Logged once per process: a browser retrying / would repeat it. */
        static int warned;
        if (!warned) {
            warned = 1;
            vbWarn("dashboard: %s; serving the 'dashboard not built' page", err.message);
        }
        *result = queueNotBuilt(conn, dir);
    } else {
        *result = queueText(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
                            "dashboard asset not found\n");
    }
    free(path);
    return 1;
}
