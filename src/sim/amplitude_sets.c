/* The amplitude data set of hadron bnn: three splits of 2 -> 3 events
 * (o->process) written as the seed notebook's .npy files. */
#include "hadron/sim.h"

#include <stdio.h>

typedef struct {
    const hd_amplitude_opts *o;
    int split;
    double done, total; /* events before this split, of all */
    int64_t n;          /* in this split */
} split_progress;

static void show_split(void *user, double fraction)
{
    const split_progress *p = user;
    p->o->progress(p->o->user, (p->done + fraction * (double)p->n) / p->total);
}

/* One split: DIR/<prefix>_dat.npy and DIR/<prefix>_amp.npy. */
static int write_split(const hd_amplitude_opts *o, const char *dir, const char *prefix)
{
    hd_array dat = {0}, amp = {0};
    char path[4096];
    int rc = hd_array_new(&dat, HD_F64, 3, (int64_t[]){o->n_events, 5, 4});
    if (rc == HD_OK) rc = hd_array_new(&amp, HD_F64, 1, (int64_t[]){o->n_events});
    if (rc == HD_OK) rc = hd_sim_amplitudes(o, dat.data, amp.data);
    snprintf(path, sizeof path, "%s/%s_dat.npy", dir, prefix);
    if (rc == HD_OK) rc = hd_npy_write(path, &dat);
    snprintf(path, sizeof path, "%s/%s_amp.npy", dir, prefix);
    if (rc == HD_OK) rc = hd_npy_write(path, &amp);
    hd_array_free(&dat);
    hd_array_free(&amp);
    return rc;
}

int hd_sim_amplitudes_write(const hd_amplitude_opts *o, const char *dir, const int64_t n[3])
{
    static const char *const prefix[3] = {"trn", "val", "tst"};
    if (!o || !dir || !n)
        return hd_error(HD_EINVAL, "hd_sim_amplitudes_write: NULL %s", !o ? "opts" : !dir ? "dir" : "n");
    hd_amplitude_opts split = *o;
    split_progress p = {.o = o, .total = (double)n[0] + (double)n[1] + (double)n[2]};
    if (o->progress) {
        split.progress = show_split;
        split.user = &p;
    }
    int rc = HD_OK;
    for (int k = 0; k < 3 && rc == HD_OK; k++) { /* every split checked before anything is made */
        split.part = k;
        split.n_events = n[k];
        rc = hd_sim_amplitudes_check(&split);
    }
    for (int k = 0; k < 3 && rc == HD_OK; k++) {
        split.part = k; /* independent samples: the same seed gives disjoint train, val and test events */
        split.n_events = p.n = n[k];
        rc = write_split(&split, dir, prefix[k]);
        p.done += (double)n[k];
    }
    return rc;
}
