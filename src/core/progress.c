/* Progress bar on a terminal; silent when stderr is a file or pipe. */
#include "hadron/core.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

double hd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int terminal_width(void)
{
    struct winsize w;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 20) return w.ws_col;
    return 80;
}

void hd_progress_begin(hd_progress *p, const char *label, int64_t total)
{
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total > 0 ? total : 1;
    p->start = hd_now();
    p->active = isatty(STDERR_FILENO) && hd_log_get_level() <= HD_LOG_INFO;
}

static void draw(hd_progress *p, int64_t done, const char *status)
{
    double frac = (double)done / (double)p->total;
    if (frac > 1) frac = 1;
    double elapsed = hd_now() - p->start;
    double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    /* the width leaves room for a status of ~30 characters and never changes */
    int width = terminal_width() - (int)strlen(p->label) - 70;
    if (width < 10) width = 10;
    if (width > 40) width = 40;
    int filled = (int)(frac * width);
    fprintf(stderr, "\r%s [", p->label);
    for (int i = 0; i < width; i++) fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%% %6.1fs eta %5.1fs %s\033[K", (int)(100 * frac), elapsed, eta,
            status ? status : "");
    fflush(stderr);
}

void hd_progress_update(hd_progress *p, int64_t done, const char *status)
{
    if (!p->active) return;
    double t = hd_now();
    if (t - p->last_draw < 0.1 && done < p->total) return;
    p->last_draw = t;
    draw(p, done, status);
}

void hd_progress_end(hd_progress *p)
{
    if (!p->active) return;
    draw(p, p->total, NULL);
    fputc('\n', stderr);
    p->active = 0;
}
