/* Status codes and error messages shared by every visionbench API. */
#ifndef VISIONBENCH_STATUS_H
#define VISIONBENCH_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Result of every fallible visionbench function. VB_OK is zero. */
typedef enum vb_status {
    VB_OK = 0,
    VB_ERR_INVALID_ARGUMENT, /* a caller passed a bad value (NULL, out of range) */
    VB_ERR_IO,               /* a file could not be opened, read, written or mapped */
    VB_ERR_PARSE,            /* input bytes are malformed (truncated model, bad JSON, bad CSV) */
    VB_ERR_UNSUPPORTED,      /* well-formed input that visionbench does not implement */
    VB_ERR_NO_MEMORY,        /* an allocation failed */
    VB_ERR_SHAPE,            /* tensor shapes or types do not fit together */
    VB_ERR_LIMIT,            /* a size or count exceeds a hard limit */
    VB_ERR_NOT_FOUND,        /* a named file, tensor, model or record does not exist */
    VB_ERR_TIMEOUT,          /* an operation ran past its deadline */
    VB_ERR_CANCELLED,        /* an operation was cancelled by the caller */
    VB_ERR_INTERNAL,         /* a broken invariant inside visionbench */
    VB_STATUS_COUNT
} vb_status;

/* Returns a short constant name for a status, such as "parse error". Never NULL:
 * unknown values map to "unknown status". */
const char *vb_status_to_string(vb_status status);

/* Maximum length of an error message, including the terminating NUL. */
#define VB_ERROR_MESSAGE_MAX 512

/* An error: a status and a one-line message that names the value at fault and,
 * where possible, what the user should do next. The caller owns the struct
 * (usually on the stack); functions fill it only when they fail. */
typedef struct vb_error {
    vb_status status;
    char message[VB_ERROR_MESSAGE_MAX];
} vb_error;

#ifdef __cplusplus
}
#endif

#endif /* VISIONBENCH_STATUS_H */
