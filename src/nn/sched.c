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

hd_schedule hd_schedule_constant(void) { return (hd_schedule){.kind = HD_SCHED_CONSTANT, .plateau = hd_plateau_default()}; }

hd_schedule hd_schedule_exponential(float lr_final)
{
    return (hd_schedule){.kind = HD_SCHED_EXPONENTIAL, .lr_final = lr_final, .plateau = hd_plateau_default()};
}

hd_schedule hd_schedule_plateau(void) { return (hd_schedule){.kind = HD_SCHED_PLATEAU, .plateau = hd_plateau_default()}; }

static const char *sched_names[] = {"constant", "exponential", "plateau"};

const char *hd_schedule_name(hd_sched_kind kind)
{
    return (unsigned)kind < sizeof sched_names / sizeof sched_names[0] ? sched_names[kind] : "unknown";
}

int hd_schedule_check(const hd_schedule *s)
{
    if (!s) return hd_error(HD_EINVAL, "schedule: NULL");
    switch (s->kind) {
    case HD_SCHED_CONSTANT: return HD_OK;
    case HD_SCHED_EXPONENTIAL:
        if (!(s->lr_final > 0) || !isfinite(s->lr_final))
            return hd_error(HD_EINVAL, "exponential schedule: final learning rate %g must be positive", (double)s->lr_final);
        return HD_OK;
    case HD_SCHED_PLATEAU:
        if (s->plateau.window < 1)
            return hd_error(HD_EINVAL, "plateau schedule: window %d must be at least 1 epoch", s->plateau.window);
        if (!(s->plateau.factor > 0.0f && s->plateau.factor <= 1.0f))
            return hd_error(HD_EINVAL, "plateau schedule: factor %g must be in (0, 1]", (double)s->plateau.factor);
        return HD_OK;
    }
    return hd_error(HD_EINVAL, "schedule: unknown kind %d", (int)s->kind);
}

int hd_schedule_update(hd_schedule *s, hd_optim *o, float lr0, int epoch, int epochs, double loss)
{
    if (!s || !o) return hd_error(HD_EINVAL, "hd_schedule_update: NULL argument");
    switch (s->kind) {
    case HD_SCHED_CONSTANT: return 0;
    case HD_SCHED_EXPONENTIAL: {
        float decay = powf(s->lr_final / lr0, 1.0f / (float)(epochs > 1 ? epochs - 1 : 1));
        hd_optim_set_lr(o, hd_lr_exponential(lr0, decay, epoch));
        return 0;
    }
    case HD_SCHED_PLATEAU: {
        float lr = hd_optim_lr(o);
        int rc = hd_plateau_update(&s->plateau, loss, &lr);
        hd_optim_set_lr(o, lr);
        return rc;
    }
    }
    return hd_error(HD_EINVAL, "schedule: unknown kind %d", (int)s->kind);
}
