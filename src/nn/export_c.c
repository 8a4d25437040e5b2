/* An MLP model as self-contained C source: NAME.h declares
 * float *NAME(float *out, const float *in) for one row of raw inputs, and
 * NAME.c holds the weights as static arrays, the input transforms, the
 * scaler and the activations, with no dependency beyond <math.h>.  The
 * function keeps no state, so any number of threads may call it. */
#include "nn/model_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The C expression of activation a applied to the variable v (float). */
static const char *act_expr(hd_activation a)
{
    switch (a) {
    case HD_ACT_NONE: return "v";
    case HD_ACT_RELU: return "v > 0 ? v : 0.0f";
    case HD_ACT_LEAKY_RELU: return "v > 0 ? v : 0.2f * v"; /* hd_activate's slope */
    case HD_ACT_SIGMOID: return "hd_sigmoid(v)";
    case HD_ACT_TANH: return "tanhf(v)";
    case HD_ACT_SOFTPLUS: return "hd_softplus(v)";
    }
    return NULL;
}

/* A float literal that reads back to the same bits ("1.0f", not "1f"). */
static void put_float(FILE *f, float v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)v);
    fprintf(f, "%s%sf", buf, strpbrk(buf, ".e") ? "" : ".0");
}

/* n values as a static array. */
static void put_array(FILE *f, const char *decl, const float *v, int64_t n)
{
    fprintf(f, "static const float %s = {", decl);
    for (int64_t i = 0; i < n; i++) {
        fputs(i % 8 ? " " : "\n    ", f);
        put_float(f, v[i]);
        if (i + 1 < n) fputc(',', f);
    }
    fprintf(f, "\n};\n");
}

/* A [rows][cols] matrix, braced per row. */
static void put_matrix(FILE *f, const char *decl, const float *v, int64_t rows, int64_t cols)
{
    fprintf(f, "static const float %s = {", decl);
    for (int64_t r = 0; r < rows; r++) {
        fputs("\n    {", f);
        for (int64_t c = 0; c < cols; c++) {
            fputs(c % 8 ? " " : c ? "\n     " : "", f);
            put_float(f, v[r * cols + c]);
            if (c + 1 < cols) fputc(',', f);
        }
        fputs(r + 1 < rows ? "}," : "}", f);
    }
    fprintf(f, "\n};\n");
}

static int uses(const hd_mlp_spec *spec, hd_activation out_act, hd_activation a)
{
    return (spec->n_hidden > 0 && spec->act == a) || spec->out_act == a || out_act == a;
}

/* The helpers the activations need, only those (unused statics warn). */
static void put_helpers(FILE *f, const hd_mlp_spec *spec, hd_activation out_act)
{
    if (uses(spec, out_act, HD_ACT_SIGMOID))
        fprintf(f, "static float hd_sigmoid(float x)\n{\n    if (x >= 0) return 1.0f / (1.0f + expf(-x));\n"
                   "    float e = expf(x);\n    return e / (1.0f + e);\n}\n\n");
    if (uses(spec, out_act, HD_ACT_SOFTPLUS))
        fprintf(f, "static float hd_softplus(float x) { return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)); }\n\n");
}

/* Raw inputs to scaled features, as the model's loader does. */
static void put_features(FILE *f, const hd_model *m)
{
    int64_t k = 0;
    for (int64_t c = 0; c < m->n_raw; c++) {
        if (m->tf[c] == TF_CYCLIC) {
            fprintf(f, "    a[%lld] = (cosf(in[%lld]) - ", (long long)k, (long long)c);
            put_float(f, m->mean[k]);
            fputs(") * ", f);
            put_float(f, m->inv_std[k]);
            fprintf(f, ";\n");
            k++;
        }
        fprintf(f, "    a[%lld] = (%s(in[%lld]) - ", (long long)k,
                m->tf[c] == TF_CYCLIC ? "sinf" : m->tf[c] == TF_LOG ? "logf" : "", (long long)c);
        put_float(f, m->mean[k]);
        fputs(") * ", f);
        put_float(f, m->inv_std[k]);
        fprintf(f, ";\n");
        k++;
    }
}

/* One dense layer from `from` to `to` (arrays of the function), then act.
 * The weights are stored transposed, [in][out], so that the inner loop runs
 * over independent outputs and compilers vectorise it at -O2 without
 * reordering any sum (each output still adds its inputs in order). */
static void put_layer(FILE *f, int i, int64_t in, int64_t out, const char *from, const char *to, hd_activation act)
{
    fprintf(f, "    for (int j = 0; j < %lld; j++) %s[j] = hd_b%d[j];\n", (long long)out, to, i);
    fprintf(f, "    for (int k = 0; k < %lld; k++)\n        for (int j = 0; j < %lld; j++) %s[j] += hd_w%d[k][j] * %s[k];\n",
            (long long)in, (long long)out, to, i, from);
    if (act != HD_ACT_NONE)
        fprintf(f, "    for (int j = 0; j < %lld; j++) {\n        float v = %s[j];\n        %s[j] = %s;\n    }\n",
                (long long)out, to, to, act_expr(act));
}

static void write_source(const hd_model *m, const char *name, const char *header, FILE *f)
{
    fprintf(f, "/* %s: written by hadron export (a hadron MLP model); needs only <math.h>. */\n", name);
    fprintf(f, "#include \"%s\"\n\n#include <math.h>\n\n", header);
    for (int i = 0; i < m->n_layers; i++) { /* weights as the model keeps them for hd_model_run: [in][out] */
        char decl[96];
        int64_t in = m->width[i], out = m->width[i + 1];
        snprintf(decl, sizeof decl, "hd_w%d[%lld][%lld]", i, (long long)in, (long long)out);
        put_matrix(f, decl, m->wt[i], in, out);
        snprintf(decl, sizeof decl, "hd_b%d[%lld]", i, (long long)out);
        put_array(f, decl, m->bias[i], out);
        fputc('\n', f);
    }
    int64_t width = hd_model_widest(m);
    if (m->out_scale) { /* the output affine (a Bayesian network's: back to log amplitude) */
        put_array(f, "hd_out_scale[]", m->out_scale, m->n_out);
        put_array(f, "hd_out_shift[]", m->out_shift, m->n_out);
        fputc('\n', f);
    }
    put_helpers(f, &m->spec, m->out_act);
    fprintf(f, "float *%s(float *out, const float *in)\n{\n    float a[%lld], h[%lld];\n", name, (long long)width,
            (long long)width);
    put_features(f, m);
    int64_t in = m->n_in;
    const char *from = "a", *to = "h";
    for (int i = 0; i < m->spec.n_hidden; i++) {
        put_layer(f, i, in, m->spec.hidden[i], from, to, m->spec.act);
        in = m->spec.hidden[i];
        const char *t = from;
        from = to;
        to = t;
    }
    put_layer(f, m->n_layers - 1, in, m->n_out, from, to, m->spec.out_act);
    fprintf(f, "    for (int j = 0; j < %lld; j++) {\n        float v = %s[j];\n        out[j] = %s%s%s;\n    }\n",
            (long long)m->n_out, to, m->out_scale ? "hd_out_shift[j] + hd_out_scale[j] * (" : "",
            act_expr(m->out_act), m->out_scale ? ")" : "");
    fprintf(f, "    return out;\n}\n");
}

/* A dense network generator: float *NAME(float *out, const float *cond,
 * const float *noise), one shower in MeV from the raw conditions and the
 * caller's normals, as hd_model_generate makes it. */
static int write_generator_source(const hd_generator_net *p, const char *name, const char *header, FILE *f)
{
    fprintf(f, "/* %s: written by hadron export (a hadron shower generator); needs only <math.h>. */\n", name);
    fprintf(f, "#include \"%s\"\n\n#include <math.h>\n\n", header);
    const int layers = p->spec->n_hidden + 1;
    int64_t width = p->latent + p->n_cond, in = width;
    for (int i = 0; i < layers; i++) {
        char key[64], decl[96];
        snprintf(key, sizeof key, "gen.dense%d.weight", i);
        hd_node *wn = hd_graph_find(p->g, key);
        snprintf(key, sizeof key, "gen.dense%d.bias", i);
        hd_node *bn = hd_graph_find(p->g, key);
        if (!wn || !bn) return hd_error(HD_EINVAL, "export: the generator has no layer gen.dense%d", i);
        const hd_tensor *w = hd_node_value(wn);
        int64_t out = w->shape[0], n_in = w->shape[1];
        float *wt = hd_row_transposed(w->data, out, n_in); /* [in][out], as put_layer reads it */
        if (!wt) return HD_ENOMEM;
        snprintf(decl, sizeof decl, "hd_w%d[%lld][%lld]", i, (long long)n_in, (long long)out);
        put_matrix(f, decl, wt, n_in, out);
        hd_free(wt);
        snprintf(decl, sizeof decl, "hd_b%d[%lld]", i, (long long)out);
        put_array(f, decl, hd_node_value(bn)->data, out);
        fputc('\n', f);
        if (out > width) width = out;
    }
    put_array(f, "hd_cond_mean[]", p->cs->mean, p->n_cond);
    put_array(f, "hd_cond_std[]", p->cs->std, p->n_cond);
    put_array(f, "hd_prep_mean[]", p->prep->mean, p->n_vox);
    put_array(f, "hd_prep_std[]", p->prep->std, p->n_vox);
    fputc('\n', f);
    put_helpers(f, p->spec, HD_ACT_NONE);
    fprintf(f, "float *%s(float *out, const float *cond, const float *noise)\n{\n    float a[%lld], h[%lld];\n", name,
            (long long)width, (long long)width);
    fprintf(f, "    for (int j = 0; j < %lld; j++) a[j] = noise[j];\n", (long long)p->latent);
    fprintf(f, "    for (int j = 0; j < %lld; j++) a[%lld + j] = ((j ? cond[j] : logf(cond[0])) - hd_cond_mean[j]) / "
               "hd_cond_std[j];\n", (long long)p->n_cond, (long long)p->latent);
    const char *from = "a", *to = "h";
    for (int i = 0; i < layers; i++) {
        int64_t out = i + 1 < layers ? p->spec->hidden[i] : p->n_vox;
        put_layer(f, i, in, out, from, to, i + 1 < layers ? p->spec->act : p->spec->out_act);
        in = out;
        const char *t = from;
        from = to;
        to = t;
    }
    fprintf(f, "    for (int v = 0; v < %lld; v++) {\n        float x = %s[v] * hd_prep_std[v] + hd_prep_mean[v];\n",
            (long long)p->n_vox, from);
    if (p->prep->kind == HD_PREP_LOG) {
        fputs("        float u = expf(fminf(x, 0.0f)) - ", f);
        put_float(f, p->prep->delta);
        fputs(";\n", f);
    } else {
        fputs("        float u = x;\n", f);
    }
    fputs("        float e = isfinite(u) ? u * cond[0] : 0.0f;\n        out[v] = e >= ", f);
    put_float(f, p->prep->threshold);
    fputs(" && e > 0 ? e : 0.0f;\n    }\n    return out;\n}\n", f);
    return HD_OK;
}

static void write_header(const hd_model *m, const char *name, FILE *f)
{
    char guard[128];
    size_t k = 0;
    for (const char *c = name; *c && k + 3 < sizeof guard; c++) guard[k++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    snprintf(guard + k, sizeof guard - k, "_H");
    if (m->gen)
        fprintf(f, "/* %s: written by hadron export.  One shower out[%lld] in MeV from the raw conditions\n"
                   " * cond[%lld] and standard normals noise[%lld], as hd_model_generate makes it; no state. */\n",
                name, (long long)m->n_out, (long long)m->n_raw, (long long)hd_generator_noise_dim(m->gen));
    else
        fprintf(f, "/* %s: written by hadron export.  out[%lld] from the raw inputs in[%lld] of one row, as\n"
                   " * hd_model_predict computes them; no state: any thread may call it. */\n",
                name, (long long)m->n_out, (long long)m->n_raw);
    fprintf(f, "#ifndef %s\n#define %s\n\n", guard, guard);
    fprintf(f, "#define %.*s_N_IN %lld\n#define %.*s_N_OUT %lld\n\n", (int)k, guard, (long long)m->n_raw, (int)k,
            guard, (long long)m->n_out);
    if (m->gen)
        fprintf(f, "#define %.*s_N_NOISE %lld\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
                   "float *%s(float *out, const float *cond, const float *noise);\n\n", (int)k, guard,
                (long long)hd_generator_noise_dim(m->gen), name);
    else
        fprintf(f, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\nfloat *%s(float *out, const float *in);\n\n", name);
    fprintf(f, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

/* A C identifier of at most 63 characters, not in the source's own hd_ namespace. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || (s[0] >= '0' && s[0] <= '9') || strncmp(s, "hd_", 3) == 0) return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_')) return 0;
    return 1;
}

int hd_model_export_c(const hd_model *m, const char *name, const char *stem)
{
    hd_generator_net gp;
    int rc;
    if (m->gen && (rc = hd_generator_net_parts(m->gen, &gp)) != HD_OK) return rc;
    if (!valid_name(name))
        return hd_error(HD_EINVAL, "export: name '%.80s' is not a C identifier of at most 63 characters outside hd_*", name);
    char path_c[4096], path_h[4096];
    const char *slash = strrchr(stem, '/');
    if ((size_t)snprintf(path_c, sizeof path_c, "%s.c", stem) >= sizeof path_c) return hd_error(HD_EINVAL, "export: path too long");
    snprintf(path_h, sizeof path_h, "%s.h", stem);
    hd_atomic_file hf, cf;
    rc = hd_atomic_open(&hf, path_h);
    if (rc != HD_OK) return rc;
    write_header(m, name, hf.f);
    if ((rc = hd_atomic_commit(&hf)) != HD_OK) return rc;
    if ((rc = hd_atomic_open(&cf, path_c)) != HD_OK) return rc;
    const char *header = slash ? path_h + (slash - stem) + 1 : path_h;
    if (m->gen && (rc = write_generator_source(&gp, name, header, cf.f)) != HD_OK) {
        hd_atomic_abort(&cf);
        return rc;
    }
    if (!m->gen) write_source(m, name, header, cf.f);
    return hd_atomic_commit(&cf);
}
