/* visionbench history: lists the runs stored in the database, as a table or as JSON. */
#include <ctype.h>
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
            "usage: visionbench history [--db URL] [--model NAME] [--dataset PREFIX] [--limit N] "
            "[--json]\n"
            "\n"
            "Lists the runs stored by 'visionbench run --db' and the server, newest first.\n"
            "\n"
            "  --db URL          sqlite:PATH, postgresql://USER:PASSWORD@HOST:PORT/DB or\n"
            "                    postgres://... (default: sqlite:$XDG_DATA_HOME/visionbench/\n"
            "                    visionbench.db, or ~/.local/share/visionbench/visionbench.db);\n"
            "                    the database must exist ('visionbench run --db' creates it)\n"
            "  --model NAME      only runs with a model of this name\n"
            "  --dataset PREFIX  only runs on this dataset: its SHA-256 fingerprint\n"
            "                    (metadata.dataset.sha256 of the report, the DATASET column),\n"
            "                    or a prefix of 6 to 64 hex digits that names one dataset\n"
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

/* Checks a --dataset value: 6 to 64 hex digits, lowercased in place. */
static int datasetPrefixValid(char *prefix)
{
    size_t n = strlen(prefix);
    if (n < 6 || n > 64 || strspn(prefix, "0123456789abcdefABCDEF") != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        prefix[i] = (char)tolower((unsigned char)prefix[i]);
    return 1;
}

/* Returns the index of a run in runs whose dataset differs from that of
 * the first run, or 0 when all runs share one dataset. */
static size_t findOtherDataset(const json_t *runs)
{
    const char *first = textOr(json_array_get(runs, 0), "dataset_sha256", "");
    for (size_t i = 1; i < json_array_size(runs); i++) {
        if (strcmp(textOr(json_array_get(runs, i), "dataset_sha256", ""), first) != 0)
            return i;
    }
    return 0;
}

int vbCmdHistory(int argc, char **argv)
{
    const char *db_url = NULL;
    VbRunFilter filter = {0};
    char dataset[72];
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
            snprintf(dataset, sizeof dataset, "%s", value);
            if (strlen(value) >= sizeof dataset || !datasetPrefixValid(dataset)) {
                vbCliError("--dataset: invalid value '%s'; give the dataset's SHA-256 or a "
                           "prefix of at least 6 hex digits, as in the DATASET column", value);
                return 2;
            }
            filter.dataset_sha256 = dataset;
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

    /* Open without creating: a mistyped path must not yield an empty
     * history. */
    VbStore *store = NULL;
    json_t *runs = NULL;
    vb_error err = {0};
    vb_status st = vbStoreOpenExisting(db_url, &store, &err);
    if (st == VB_ERR_NOT_FOUND) {
        vbCliError("%s, or store a run there first with 'visionbench run --db URL'",
                   err.message);
        return 1;
    }

    /* A shortened dataset id must name one dataset. The check reads up to
     * VB_STORE_HISTORY_MAX runs, so two datasets that share the prefix are
     * found only when both are among those newest runs. */
    int limit = filter.limit > 0 ? filter.limit : 20;
    int shortened = filter.dataset_sha256 != NULL && strlen(filter.dataset_sha256) < 64;
    if (shortened)
        filter.limit = VB_STORE_HISTORY_MAX;
    if (st != VB_OK || vbStoreRunList(store, &filter, &runs, &err) != VB_OK) {
        vbCliError("%s", err.message);
        vbStoreClose(store);
        return 1;
    }
    vbStoreClose(store);
    size_t other = shortened ? findOtherDataset(runs) : 0;
    if (other > 0) {
        vbCliError("--dataset %s matches more than one dataset (%s and %s); give more "
                   "hex digits",
                   filter.dataset_sha256, textOr(json_array_get(runs, 0), "dataset_sha256", "?"),
                   textOr(json_array_get(runs, other), "dataset_sha256", "?"));
        json_decref(runs);
        return 2;
    }
    while (json_array_size(runs) > (size_t)limit)
        json_array_remove(runs, json_array_size(runs) - 1);

    /* Print. */
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
