/* Replays fuzz inputs through a harness without libFuzzer: each argument is a file of hex text or a folder of them. */
#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs above this size do not belong in the regression folders. */
#define REGRESS_MAX_BYTES ((size_t)1 << 20)

/* Reads a file of hex digit pairs (whitespace and lines starting with '#'
 * are skipped) and runs the harness on the bytes. Returns 0 on success. */
static int replayHexFile(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    uint8_t *bytes = malloc(REGRESS_MAX_BYTES);
    size_t n = 0;
    int c, high = -1, comment = 0, failed = bytes == NULL;
    while (!failed && (c = fgetc(f)) != EOF) {
        if (comment || c == '#') {
            comment = c != '\n';
            continue;
        }
        if (isspace(c))
            continue;
        if (!isxdigit(c) || n == REGRESS_MAX_BYTES) {
            fprintf(stderr, "%s: invalid hex text or input above %zu bytes\n", path,
                    REGRESS_MAX_BYTES);
            failed = 1;
            break;
        }
        int v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
        if (high < 0) {
            high = v;
        } else {
            bytes[n++] = (uint8_t)(high << 4 | v);
            high = -1;
        }
    }
    fclose(f);
    if (!failed) {
        printf("%s: %zu bytes\n", path, n);
        fflush(stdout);
        LLVMFuzzerTestOneInput(bytes, n);
    }
    free(bytes);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            failed |= replayHexFile(argv[i]);
            continue;
        }
        DIR *dir = opendir(argv[i]);
        struct dirent *e;
        while (dir != NULL && (e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 4 || strcmp(e->d_name + len - 4, ".hex") != 0)
                continue;
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            failed |= replayHexFile(path);
        }
        if (dir != NULL)
            closedir(dir);
    }
    return failed;
}
