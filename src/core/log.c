/* Levelled logging to stderr. */
#include "hadron/core.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int log_level = -1; /* -1: not yet read from HADRON_LOG */

static hd_log_level level_from_env(void)
{
    const char *s = getenv("HADRON_LOG");
    static const char *names[] = {"debug", "info", "warn", "error", "silent"};
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, names[i]) == 0) return (hd_log_level)i;
    return HD_LOG_INFO;
}

void hd_log_set_level(hd_log_level level) { log_level = (int)level; }

hd_log_level hd_log_get_level(void)
{
    if (log_level < 0) log_level = (int)level_from_env();
    return (hd_log_level)log_level;
}

void hd_message(hd_log_level level, const char *fmt, ...)
{
    static const char *tags[] = {"debug", "info", "warning", "error"};
    if (level >= HD_LOG_SILENT || level < hd_log_get_level()) return;
    char raw[1024], shown[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    fprintf(stderr, "hadron %s: %s\n", tags[level], hd_printable(raw, strlen(raw), shown, sizeof shown));
}
