/* Thread-local last-error message, and printable text. */
#include "hadron/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[1024];

const char *hd_last_error(void) { return last_message[0] ? last_message : "no error"; }

int hd_error(int code, const char *fmt, ...)
{
    char raw[sizeof last_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    hd_printable(raw, strlen(raw), last_message, sizeof last_message); /* names from files carry no escapes */
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

const char *hd_printable(const char *s, size_t n, char *buf, size_t size)
{
    size_t i = 0, k = 0;
    for (; i < n && k + 4 < size; k++) {
        unsigned char c = (unsigned char)s[i];
        int c1 = c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9F;
        buf[k] = c < 0x20 || c == 0x7f || c1 ? '?' : (char)c;
        i += c1 ? 2 : 1;
    }
    if (i < n) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}
