/* Test helper: validates a run report against docs/run-schema.json and checks expected values.
 *
 * usage: check_run_json SCHEMA REPORT [CHECK...]
 * A CHECK is PATH=VALUE (string or number equality, "null" for null),
 * PATH~TEXT (a string containing TEXT), PATH>NUMBER or PATH<NUMBER,
 * PATH#N (an array or object with N entries) or PATH%TEXT (an array with an
 * element whose compact JSON contains TEXT). PATH is a dotted key path;
 * array elements are numbered from 0 ("metadata.dataset.skipped.0.file").
 *
 * The validator covers the JSON Schema keywords the schema uses: $ref to
 * #/definitions, type, enum, required, properties, additionalProperties,
 * items, minItems, maxItems, minimum and maximum. Other keywords are
 * ignored. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void fail(const char *path, const char *fmt, const char *detail)
{
    fprintf(stderr, "%s: ", path[0] ? path : "(root)");
    fprintf(stderr, fmt, detail);
    fputc('\n', stderr);
    failures++;
}

static int hasType(const json_t *value, const char *type)
{
    if (strcmp(type, "object") == 0)
        return json_is_object(value);
    if (strcmp(type, "array") == 0)
        return json_is_array(value);
    if (strcmp(type, "string") == 0)
        return json_is_string(value);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(value);
    if (strcmp(type, "number") == 0)
        return json_is_number(value);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(value);
    if (strcmp(type, "null") == 0)
        return json_is_null(value);
    return 0;
}

static const json_t *resolve(const json_t *root, const char *ref)
{
    const char *prefix = "#/definitions/";
    if (strncmp(ref, prefix, strlen(prefix)) != 0)
        return NULL;
    return json_object_get(json_object_get(root, "definitions"), ref + strlen(prefix));
}

static void validate(const json_t *schema, const json_t *value, const json_t *root, const char *path)
{
    const json_t *ref = json_object_get(schema, "$ref");
    if (json_is_string(ref)) {
        const json_t *target = resolve(root, json_string_value(ref));
        if (target == NULL)
            fail(path, "schema $ref %s not found", json_string_value(ref));
        else
            validate(target, value, root, path);
        return;
    }

    /* type: a name or a list of names. */
    const json_t *type = json_object_get(schema, "type");
    if (json_is_string(type) && !hasType(value, json_string_value(type))) {
        fail(path, "expected type %s", json_string_value(type));
        return;
    }
    if (json_is_array(type)) {
        int ok = 0;
        size_t i;
        const json_t *t;
        json_array_foreach(type, i, t) ok |= json_is_string(t) && hasType(value, json_string_value(t));
        if (!ok) {
            char *text = json_dumps(type, JSON_COMPACT);
            fail(path, "expected one of the types %s", text ? text : "?");
            free(text);
            return;
        }
    }

    const json_t *options = json_object_get(schema, "enum");
    if (json_is_array(options)) {
        int ok = 0;
        size_t i;
        const json_t *option;
        json_array_foreach(options, i, option) ok |= json_equal((json_t *)option, (json_t *)value);
        if (!ok) {
            char *text = json_dumps(value, JSON_ENCODE_ANY);
            fail(path, "value %s is not in the enum", text ? text : "?");
            free(text);
        }
    }

    if (json_is_number(value)) {
        const json_t *min = json_object_get(schema, "minimum");
        const json_t *max = json_object_get(schema, "maximum");
        double v = json_number_value(value);
        if (json_is_number(min) && v < json_number_value(min))
            fail(path, "%s is below the minimum", "value");
        if (json_is_number(max) && v > json_number_value(max))
            fail(path, "%s is above the maximum", "value");
    }

    if (json_is_object(value)) {
        const json_t *required = json_object_get(schema, "required");
        size_t i;
        const json_t *key;
        json_array_foreach(required, i, key) {
            if (json_object_get(value, json_string_value(key)) == NULL)
                fail(path, "missing required key %s", json_string_value(key));
        }
        const json_t *properties = json_object_get(schema, "properties");
        const json_t *additional = json_object_get(schema, "additionalProperties");
        const char *name;
        const json_t *child;
        json_object_foreach((json_t *)value, name, child) {
            char sub[1024];
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", name);
            const json_t *property = json_object_get(properties, name);
            if (property != NULL)
                validate(property, child, root, sub);
            else if (json_is_false(additional))
                fail(sub, "%s", "key not allowed by the schema");
            else if (json_is_object(additional))
                validate(additional, child, root, sub);
        }
    }

    if (json_is_array(value)) {
        const json_t *items = json_object_get(schema, "items");
        const json_t *min = json_object_get(schema, "minItems");
        const json_t *max = json_object_get(schema, "maxItems");
        if (json_is_integer(min) && (json_int_t)json_array_size(value) < json_integer_value(min))
            fail(path, "%s", "too few items");
        if (json_is_integer(max) && (json_int_t)json_array_size(value) > json_integer_value(max))
            fail(path, "%s", "too many items");
        size_t i;
        const json_t *element;
        json_array_foreach(value, i, element) {
            char sub[1024];
            snprintf(sub, sizeof sub, "%s.%zu", path, i);
            if (json_is_object(items))
                validate(items, element, root, sub);
        }
    }
}

/* Follows a dotted path; numbers index arrays. */
static const json_t *lookup(const json_t *root, const char *path)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", path);
    const json_t *node = root;
    for (char *part = strtok(copy, "."); part != NULL && node != NULL; part = strtok(NULL, ".")) {
        if (json_is_array(node))
            node = json_array_get(node, (size_t)strtoul(part, NULL, 10));
        else
            node = json_object_get(node, part);
    }
    return node;
}

static void check(const json_t *report, const char *expression)
{
    const char *op = strpbrk(expression, "=~<>#%");
    if (op == NULL) {
        fail(expression, "%s", "check has no operator (= ~ < > # %)");
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%.*s", (int)(op - expression), expression);
    const char *expected = op + 1;
    const json_t *value = lookup(report, path);
    if (value == NULL) {
        fail(path, "%s", "not found in the report");
        return;
    }

    char *actual = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    int ok = 0;
    switch (*op) {
    case '=':
        if (json_is_string(value))
            ok = strcmp(json_string_value(value), expected) == 0;
        else if (json_is_null(value))
            ok = strcmp(expected, "null") == 0;
        else if (json_is_number(value))
            ok = json_number_value(value) == strtod(expected, NULL);
        else
            ok = actual != NULL && strcmp(actual, expected) == 0;
        break;
    case '~':
        ok = json_is_string(value) && strstr(json_string_value(value), expected) != NULL;
        break;
    case '<':
        ok = json_is_number(value) && json_number_value(value) < strtod(expected, NULL);
        break;
    case '>':
        ok = json_is_number(value) && json_number_value(value) > strtod(expected, NULL);
        break;
    case '%': {
        size_t i;
        const json_t *element;
        json_array_foreach(value, i, element) {
            char *text = json_dumps(element, JSON_ENCODE_ANY | JSON_COMPACT);
            ok |= text != NULL && strstr(text, expected) != NULL;
            free(text);
        }
        break;
    }
    case '#':
        ok = (json_is_array(value) && json_array_size(value) == strtoul(expected, NULL, 10)) ||
             (json_is_object(value) && json_object_size(value) == strtoul(expected, NULL, 10));
        break;
    }
    if (!ok) {
        char message[2048];
        snprintf(message, sizeof message, "expected %s%s, found %s", op[0] == '=' ? "" : (char[]){op[0], 0},
                 expected, actual ? actual : "?");
        fail(path, "%s", message);
    }
    free(actual);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: check_run_json SCHEMA REPORT [PATH=VALUE|PATH~TEXT|PATH<N|PATH>N|PATH#N|PATH%%TEXT ...]\n");
        return 2;
    }
    json_error_t error;
    json_t *schema = json_load_file(argv[1], 0, &error);
    if (schema == NULL) {
        fprintf(stderr, "%s:%d:%d: invalid JSON: %s\n", argv[1], error.line, error.column, error.text);
        return 2;
    }
    json_t *report = json_load_file(argv[2], 0, &error);
    if (report == NULL) {
        fprintf(stderr, "%s:%d:%d: invalid JSON: %s\n", argv[2], error.line, error.column, error.text);
        json_decref(schema);
        return 1;
    }

    validate(schema, report, schema, "");
    for (int i = 3; i < argc; i++)
        check(report, argv[i]);

    json_decref(schema);
    json_decref(report);
    if (failures > 0) {
        fprintf(stderr, "%d problem(s) in %s\n", failures, argv[2]);
        return 1;
    }
    return 0;
}
