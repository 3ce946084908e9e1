/* visionbench history: lists the runs stored in the database, as a table or as JSON. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"

static void printHistoryUsage(FILE *out)
{
    fprintf(out,
            "usage: visionbench history [--db URL] [--model NAME] [--dataset SHA256] [--limit N] "
            "[--json]\n"
            "\n"
            "Lists the runs stored by 'visionbench run --db' and the server, newest first.\n"
            "\n"
            "  --db URL          sqlite:PATH, postgresql://USER:PASSWORD@HOST:PORT/DB or\n"
            "                    postgres://... (default: sqlite:$XDG_DATA_HOME/visionbench/\n"
            "                    visionbench.db, or ~/.local/share/visionbench/visionbench.db)\n"
            "  --model NAME      only runs with a model of this name\n"
            "  --dataset SHA256  only runs on this dataset (metadata.dataset.sha256 of the report)\n"
            "  --limit N         at most N runs, 1 to %d (default 20)\n"
            "  --json            print a JSON array instead of the table\n"
            "  -h, --help        show this help\n"
            "\n"
            "docs/storage.md describes the database.\n",
            VB_STORE_HISTORY_MAX);
}

/* Returns the string at obj[key], or fallback when it is missing or null. */
static const char *textOr(const json_t *obj, const char *key, const char *fallback)
{
    const char *text = json_string_value(json_object_get(obj, key));
    return text != NULL ? text : fallback;
}

/* Prints one table row per run: id, start time, dataset, models, best mAP,
 * status. */
static void printTable(const json_t *runs)
{
    printf("%-36s  %-19s  %-12s  %-30s  %8s  %s\n", "RUN ID", "STARTED (UTC)", "DATASET",
           "MODELS", "BEST MAP", "STATUS");
    size_t i;
    const json_t *run;
    json_array_foreach(runs, i, run) {
        /* "2026-12-04T20:16:31Z" shown as "2026-12-04 20:16:31". */
        char when[32];
        snprintf(when, sizeof when, "%s", textOr(run, "started_at", "-"));
        if (strlen(when) == 20) {
            when[10] = ' ';
            when[19] = '\0';
        }

        char models[256] = "";
        size_t used = 0, k;
        const json_t *model;
        json_array_foreach(json_object_get(run, "models"), k, model) {
            const char *name = json_string_value(json_object_get(model, "name"));
            int n = snprintf(models + used, sizeof models - used, "%s%s", k > 0 ? "," : "",
                             name != NULL ? name : "?");
            if (n < 0 || (size_t)n >= sizeof models - used)
                break;
            used += (size_t)n;
        }
        if (strlen(models) > 30)
            snprintf(models + 27, sizeof models - 27, "...");

        const json_t *best = json_object_get(run, "best_map");
        char best_text[16] = "-";
        if (json_is_number(best))
            snprintf(best_text, sizeof best_text, "%.3f", json_number_value(best));
        printf("%-36s  %-19s  %-12.12s  %-30s  %8s  %s\n",
               textOr(run, "id", "?"), when, textOr(run, "dataset_sha256", "-"),
               models[0] != '\0' ? models : "-", best_text, textOr(run, "status", "?"));
    }
    if (json_array_size(runs) == 0)
        printf("(no runs stored)\n");
}

int vbCmdHistory(int argc, char **argv)
{
    const char *db_url = NULL;
    VbRunFilter filter = {0};
    int as_json = 0;

    /* Options. */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printHistoryUsage(stdout);
            return 0;
        }
        if (strcmp(arg, "--json") == 0) {
            as_json = 1;
            continue;
        }
        const char *names[] = {"--db", "--model", "--dataset", "--limit"};
        int option_index = -1;
        for (int k = 0; k < 4; k++) {
            if (strcmp(arg, names[k]) == 0)
                option_index = k;
        }
        if (option_index < 0) {
            vbCliError("unknown option '%s'; run 'visionbench history --help' for the options",
                       arg);
            return 2;
        }
        if (i + 1 >= argc) {
            vbCliError("%s: missing value", arg);
            return 2;
        }
        const char *value = argv[++i];
        if (option_index == 0) {
            db_url = value;
        } else if (option_index == 1) {
            filter.model_name = value;
        } else if (option_index == 2) {
            filter.dataset_sha256 = value;
        } else {
            char *end = NULL;
            errno = 0;
            long n = strtol(value, &end, 10);
            if (errno != 0 || end == value || *end != '\0' || n < 1 || n > VB_STORE_HISTORY_MAX) {
                vbCliError("--limit: invalid value '%s'; expected a whole number from 1 to %d",
                           value, VB_STORE_HISTORY_MAX);
                return 2;
            }
            filter.limit = (int)n;
        }
    }

    /* Read and print. */
    VbStore *store = NULL;
    json_t *runs = NULL;
    vb_error err = {0};
    if (vbStoreOpen(db_url, &store, &err) != VB_OK ||
        vbStoreRunList(store, &filter, &runs, &err) != VB_OK) {
        vbCliError("%s", err.message);
        vbStoreClose(store);
        return 1;
    }
    vbStoreClose(store);
    if (as_json) {
        char *text = json_dumps(runs, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        if (text == NULL) {
            vbCliError("out of memory printing the history");
            json_decref(runs);
            return 1;
        }
        printf("%s\n", text);
        free(text);
    } else {
        printTable(runs);
    }
    json_decref(runs);
    return 0;
}
