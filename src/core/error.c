/* Thread-local last-error message. */
#include "hadron/core.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];

const char *hd_last_error(void) { return last_message[0] ? last_message : "no error"; }

int hd_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}

void hd_clear_error(void) { last_message[0] = '\0'; }

const char *hd_strerror(int code)
{
    switch (code) {
    case HD_OK: return "ok";
    case HD_EINVAL: return "invalid argument";
    case HD_ENOMEM: return "out of memory";
    case HD_EIO: return "input/output error";
    case HD_EFORMAT: return "malformed file";
    case HD_ESHAPE: return "shape mismatch";
    case HD_ESTATE: return "call out of order";
    default: return "unknown error";
    }
}
