/* Learning-rate schedules: exponential decay and reduce-on-plateau (seed 003:
 * every 10 epochs, reduce the rate when the best loss of the last 10 epochs
 * is no better than the best of the 10 before; stop once it is below 1e-10). */
#include "hadron/nn.h"

#include <math.h>

float hd_lr_exponential(float lr0, float decay, int epoch) { return (float)((double)lr0 * pow((double)decay, epoch)); }

hd_plateau hd_plateau_default(void)
{
    return (hd_plateau){.window = 10, .factor = 0.5f, .min_lr = 1e-10f, .epoch = 0,
                        .best_prev = INFINITY, .best_cur = INFINITY};
}

int hd_plateau_update(hd_plateau *p, double loss, float *lr)
{
    if (!p || !lr) return hd_error(HD_EINVAL, "hd_plateau_update: NULL argument");
    if (p->window <= 0) return hd_error(HD_EINVAL, "plateau window %d must be positive", p->window);
    if (!(p->factor > 0.0f && p->factor <= 1.0f))
        return hd_error(HD_EINVAL, "plateau factor %g must be in (0, 1]", (double)p->factor);
    /* A window's best starts afresh, so a struct not from hd_plateau_default
     * still works; a NaN loss never counts as the best. */
    if (p->epoch % p->window == 0) p->best_cur = INFINITY;
    if (loss < p->best_cur) p->best_cur = loss;
    p->epoch++;
    if (p->epoch % p->window == 0) {
        /* The first window has nothing before it to compare with. */
        if (p->epoch > p->window && !(p->best_cur < p->best_prev)) *lr *= p->factor;
        p->best_prev = p->best_cur;
    }
    return *lr < p->min_lr;
}
