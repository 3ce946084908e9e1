/* The dashboard's HTTP routes: its built web assets and the history API it reads. */
#ifndef VB_SERVER_STATIC_H
#define VB_SERVER_STATIC_H

#include <microhttpd.h>

#include "server/server_internal.h"

/* Largest dashboard asset served, in bytes (the bundled chart library is
 * about 200 KiB). */
#define VB_DASHBOARD_ASSET_MAX ((size_t)16 << 20)

/* Writes the folder that contains the built dashboard (index.html and
 * assets/) into out: $VB_WEB_DIR when set and not empty, else the web/
 * folder of the build tree (VB_WEB_DIR_DEFAULT, set by CMakeLists.txt). */
void vbDashboardDir(char *out, size_t size);

/* Serves GET and HEAD of "/", "/index.html" and "/assets/..." from
 * vbDashboardDir(). Returns 1 and stores the queue result in *result when
 * url is a dashboard route, 0 (nothing queued) for any other URL. Sends
 * 404 with a page that explains how to build the dashboard when index.html is
 * missing, 404 for an unknown asset and 400 for an asset name with "..",
 * a leading dot or a byte outside [A-Za-z0-9._/-]. Needs no API key: the
 * assets are public and the page asks for the key itself. */
int vbDashboardServe(struct MHD_Connection *conn, const char *method, const char *url,
                     enum MHD_Result *result);

/* Serves the history API the dashboard reads (docs/dashboard.md):
 *   GET /runs       stored runs, newest first; ?model=NAME, ?dataset=SHA256,
 *                   ?limit=N (1..10000, default 100), ?detail=1 adds every
 *                   model's metric columns
 *   GET /runs/{id}  one stored run with its report
 * Returns 1 and stores the queue result in *result when url is one of these
 * routes, 0 otherwise. The caller checks the API key first. Errors are JSON
 * {"error", "field"}: 400 for a bad parameter, 404 for an unknown run, 405
 * for another method, 500 when the store fails. */
int vbHistoryServe(VbServer *server, struct MHD_Connection *conn, const char *method,
                   const char *url, enum MHD_Result *result);

#endif /* VB_SERVER_STATIC_H */
