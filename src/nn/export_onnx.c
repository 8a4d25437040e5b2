/* An MLP model as an ONNX file (opset 13): the input transforms, the
 * scaler, the dense layers as Gemm and the activations, so that the file
 * takes the raw inputs hd_model_predict takes, with a batch dimension "N".
 * A dense network generator likewise: inputs "noise" and "cond" (raw), the
 * condition features, the network and the shower transform's inverse, so
 * that it makes the showers hd_model_generate makes from the same noise.
 * Field numbers are those of onnx.proto (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto). */
#include "data/protobuf.h"
#include "nn/model_internal.h"

#include <stdio.h>
#include <string.h>

#define OPSET 13
#define IR_VERSION 7 /* the IR version of opset 13 */
#define ONNX_FLOAT 1
#define ONNX_INT64 7

/* A tensor initializer: dims d[0..nd), float or int64 values, little-endian. */
static void initializer(hd_pb *graph, const char *name, int type, int nd, const int64_t *d, const void *v)
{
    hd_pb t = {0}, raw = {0};
    int64_t n = 1;
    for (int i = 0; i < nd; i++) {
        hd_pb_int(&t, 1, d[i]);
        n *= d[i];
    }
    hd_pb_int(&t, 2, type);
    hd_pb_string(&t, 8, name);
    for (int64_t i = 0; i < n; i++) {
        uint64_t u = 0;
        size_t size = 8;
        if (type == ONNX_FLOAT) {
            uint32_t w;
            memcpy(&w, (const float *)v + i, 4);
            u = w;
            size = 4;
        } else {
            memcpy(&u, (const int64_t *)v + i, 8);
        }
        unsigned char le[8];
        for (size_t k = 0; k < size; k++) le[k] = (unsigned char)(u >> (8 * k));
        hd_pb_raw(&raw, le, size);
    }
    hd_pb_message(&t, 9, &raw);
    hd_pb_message(graph, 5, &t);
    hd_pb_free(&raw);
    hd_pb_free(&t);
}

/* A node op(inputs) -> output, with at most one attribute (name NULL: none),
 * an int (is_float 0) or a float. */
static void node(hd_pb *graph, const char *op, int n_in, const char *const *in, const char *out, const char *attr,
                 int is_float, double value)
{
    hd_pb n = {0};
    for (int i = 0; i < n_in; i++) hd_pb_string(&n, 1, in[i]);
    hd_pb_string(&n, 2, out);
    hd_pb_string(&n, 3, out); /* the node's name: its output's */
    hd_pb_string(&n, 4, op);
    if (attr) {
        hd_pb a = {0};
        hd_pb_string(&a, 1, attr);
        if (is_float) hd_pb_float(&a, 2, (float)value);
        else hd_pb_int(&a, 3, (int64_t)value);
        hd_pb_int(&a, 20, is_float ? 1 : 2); /* AttributeType FLOAT, INT */
        hd_pb_message(&n, 5, &a);
        hd_pb_free(&a);
    }
    hd_pb_message(graph, 1, &n);
    hd_pb_free(&n);
}

static void unary(hd_pb *graph, const char *op, const char *in, const char *out)
{
    node(graph, op, 1, (const char *const[]){in}, out, NULL, 0, 0);
}

/* A float tensor [N, width] named name, as a graph input (field 11) or output (12). */
static void value_info(hd_pb *graph, int field, const char *name, int64_t width)
{
    hd_pb v = {0}, type = {0}, tensor = {0}, shape = {0}, d0 = {0}, d1 = {0};
    hd_pb_string(&d0, 2, "N");
    hd_pb_int(&d1, 1, width);
    hd_pb_message(&shape, 1, &d0);
    hd_pb_message(&shape, 1, &d1);
    hd_pb_int(&tensor, 1, ONNX_FLOAT);
    hd_pb_message(&tensor, 2, &shape);
    hd_pb_message(&type, 1, &tensor);
    hd_pb_string(&v, 1, name);
    hd_pb_message(&v, 2, &type);
    hd_pb_message(graph, field, &v);
    hd_pb *all[] = {&v, &type, &tensor, &shape, &d0, &d1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) hd_pb_free(all[i]);
}

/* Activation a from in to out (a plain copy when none). */
static void activation(hd_pb *graph, hd_activation a, const char *in, const char *out)
{
    switch (a) {
    case HD_ACT_NONE: unary(graph, "Identity", in, out); return;
    case HD_ACT_RELU: unary(graph, "Relu", in, out); return;
    case HD_ACT_LEAKY_RELU: node(graph, "LeakyRelu", 1, (const char *const[]){in}, out, "alpha", 1, 0.2); return;
    case HD_ACT_SIGMOID: unary(graph, "Sigmoid", in, out); return;
    case HD_ACT_TANH: unary(graph, "Tanh", in, out); return;
    case HD_ACT_SOFTPLUS: unary(graph, "Softplus", in, out); return;
    }
}

/* input [N, n] -> the n columns named col[0..n) [N, 1] (Split along axis 1;
 * one column: a copy). */
static void split_columns(hd_pb *graph, const char *input, int64_t n, const char *const *col)
{
    if (n == 1) {
        unary(graph, "Identity", input, col[0]);
        return;
    }
    hd_pb node_pb = {0}, a = {0};
    char name[48];
    snprintf(name, sizeof name, "%s.split", input);
    hd_pb_string(&node_pb, 1, input);
    for (int64_t c = 0; c < n; c++) hd_pb_string(&node_pb, 2, col[c]);
    hd_pb_string(&node_pb, 3, name);
    hd_pb_string(&node_pb, 4, "Split");
    hd_pb_string(&a, 1, "axis");
    hd_pb_int(&a, 3, 1);
    hd_pb_int(&a, 20, 2); /* AttributeType INT */
    hd_pb_message(&node_pb, 5, &a);
    hd_pb_message(graph, 1, &node_pb);
    hd_pb_free(&a);
    hd_pb_free(&node_pb);
}

/* in -> "features": Split into one column per raw input, each through its
 * transform, then joined. */
static void features(hd_pb *graph, const hd_model *m)
{
    static const char *const ops[][2] = {[TF_NONE] = {"Identity", NULL}, [TF_LOG] = {"Log", NULL},
                                         [TF_CYCLIC] = {"Cos", "Sin"}};
    char cols[HD_MODEL_MAX_INPUTS][32], names[HD_MODEL_MAX_INPUTS][32]; /* at most HD_MODEL_MAX_INPUTS each */
    const char *col[HD_MODEL_MAX_INPUTS], *feature[HD_MODEL_MAX_INPUTS];
    for (int64_t c = 0; c < m->n_raw; c++) {
        snprintf(cols[c], sizeof cols[c], "col%lld", (long long)c);
        col[c] = cols[c];
    }
    split_columns(graph, "in", m->n_raw, col);
    int k = 0;
    for (int64_t c = 0; c < m->n_raw; c++)
        for (int j = 0; j < 2 && ops[m->tf[c]][j]; j++) {
            snprintf(names[k], sizeof names[k], "col%lld.%s", (long long)c, ops[m->tf[c]][j]);
            unary(graph, ops[m->tf[c]][j], col[c], names[k]);
            feature[k] = names[k];
            k++;
        }
    node(graph, "Concat", k, feature, "features", "axis", 0, 1);
}

static void build_graph(hd_pb *graph, const hd_model *m)
{
    hd_pb_string(graph, 2, "hadron");
    features(graph, m);
    int64_t d = m->n_in; /* 1-D, broadcast along the rows (OpenCV's DNN takes no [1, n] operand here) */
    initializer(graph, "scaler.mean", ONNX_FLOAT, 1, &d, m->mean);
    initializer(graph, "scaler.inv_std", ONNX_FLOAT, 1, &d, m->inv_std);
    node(graph, "Sub", 2, (const char *const[]){"features", "scaler.mean"}, "centred", NULL, 0, 0);
    node(graph, "Mul", 2, (const char *const[]){"centred", "scaler.inv_std"}, "h0", NULL, 0, 0);
    char in[32] = "h0";
    for (int i = 0; i < m->n_layers; i++) {
        char w[32], b[32], z[32], h[32];
        snprintf(w, sizeof w, "dense%d.weight", i);
        snprintf(b, sizeof b, "dense%d.bias", i);
        snprintf(z, sizeof z, "dense%d", i);
        snprintf(h, sizeof h, "h%d", i + 1);
        /* [out][in] with transB = 1, as PyTorch exports a Linear: OpenCV's Gemm takes only that form */
        int64_t n_in = m->width[i], n_out = m->width[i + 1], wd[2] = {n_out, n_in};
        float *wo = hd_row_transposed(m->wt[i], n_in, n_out);
        if (!wo) {
            graph->failed = 1;
            return;
        }
        initializer(graph, w, ONNX_FLOAT, 2, wd, wo);
        hd_free(wo);
        initializer(graph, b, ONNX_FLOAT, 1, wd, m->bias[i]);
        node(graph, "Gemm", 3, (const char *const[]){in, w, b}, z, "transB", 0, 1);
        activation(graph, i + 1 < m->n_layers ? m->spec.act : m->spec.out_act, z, h);
        snprintf(in, sizeof in, "%s", h);
    }
    if (m->out_scale) { /* the output affine (a Bayesian network's: back to log amplitude) */
        int64_t n_out = m->n_out;
        initializer(graph, "out.scale", ONNX_FLOAT, 1, &n_out, m->out_scale);
        initializer(graph, "out.shift", ONNX_FLOAT, 1, &n_out, m->out_shift);
        activation(graph, m->out_act, in, "activated");
        node(graph, "Mul", 2, (const char *const[]){"activated", "out.scale"}, "scaled", NULL, 0, 0);
        node(graph, "Add", 2, (const char *const[]){"scaled", "out.shift"}, "out", NULL, 0, 0);
    } else {
        activation(graph, m->out_act, in, "out");
    }
    value_info(graph, 11, "in", m->n_raw);
    value_info(graph, 12, "out", m->n_out);
}

/* A constant vector of n copies of v, named name. */
static void filled(hd_pb *graph, const char *name, int64_t n, float v)
{
    float *c = hd_malloc((size_t)n * sizeof(float));
    if (!c) {
        graph->failed = 1;
        return;
    }
    for (int64_t i = 0; i < n; i++) c[i] = v;
    initializer(graph, name, ONNX_FLOAT, 1, &n, c);
    hd_free(c);
}

static void binary(hd_pb *graph, const char *op, const char *a, const char *b, const char *out)
{
    node(graph, op, 2, (const char *const[]){a, b}, out, NULL, 0, 0);
}

/* cond -> "cf", the network's condition features (log of column 0, then
 * standardised), and "energy" [N, 1], column 0 as given. */
static void condition_features(hd_pb *graph, const hd_generator_net *p)
{
    char cols[HD_GEN_MAX_COND][32], feats[HD_GEN_MAX_COND][32];
    const char *col[HD_GEN_MAX_COND], *feat[HD_GEN_MAX_COND];
    for (int64_t j = 0; j < p->n_cond; j++) {
        snprintf(cols[j], sizeof cols[j], "cond%lld", (long long)j);
        snprintf(feats[j], sizeof feats[j], "cond%lld.feature", (long long)j);
        col[j] = cols[j];
        feat[j] = feats[j];
    }
    split_columns(graph, "cond", p->n_cond, col);
    unary(graph, "Identity", col[0], "energy");
    unary(graph, "Log", col[0], feat[0]);
    for (int64_t j = 1; j < p->n_cond; j++) unary(graph, "Identity", col[j], feat[j]);
    node(graph, "Concat", (int)p->n_cond, feat, "cond.features", "axis", 0, 1);
    float inv[HD_GEN_MAX_COND];
    for (int64_t j = 0; j < p->n_cond; j++) inv[j] = 1.0f / p->cs->std[j];
    int64_t nc = p->n_cond;
    initializer(graph, "cond.mean", ONNX_FLOAT, 1, &nc, p->cs->mean);
    initializer(graph, "cond.inv_std", ONNX_FLOAT, 1, &nc, inv);
    binary(graph, "Sub", "cond.features", "cond.mean", "cond.centred");
    binary(graph, "Mul", "cond.centred", "cond.inv_std", "cf");
}

/* "y" (network features) -> "out" (MeV), as hd_shower_prep_inverse: the
 * standardisation undone, the fraction (exp of at most 0 minus delta, for
 * the log transform) times the energy, and voxels below the threshold (or
 * not above 0) set to 0 by a step made of Sign and Ceil. */
static void inverse_prep(hd_pb *graph, const hd_generator_net *p)
{
    const hd_shower_prep *s = p->prep;
    int64_t nv = p->n_vox;
    initializer(graph, "prep.std", ONNX_FLOAT, 1, &nv, s->std);
    initializer(graph, "prep.mean", ONNX_FLOAT, 1, &nv, s->mean);
    binary(graph, "Mul", "y", "prep.std", "prep.scaled");
    binary(graph, "Add", "prep.scaled", "prep.mean", "prep.f");
    const char *u = "prep.f";
    if (s->kind == HD_PREP_LOG) { /* exp(min(f, 0)) - delta, min(f, 0) = -relu(-f) */
        filled(graph, "prep.minus1", nv, -1.0f);
        filled(graph, "prep.delta", nv, s->delta);
        binary(graph, "Mul", "prep.f", "prep.minus1", "prep.neg");
        unary(graph, "Relu", "prep.neg", "prep.relu");
        binary(graph, "Mul", "prep.relu", "prep.minus1", "prep.min0");
        unary(graph, "Exp", "prep.min0", "prep.exp");
        binary(graph, "Sub", "prep.exp", "prep.delta", "prep.u");
        u = "prep.u";
    }
    binary(graph, "Mul", u, "energy", "prep.e");
    if (s->threshold > 0) { /* e >= threshold: ceil((sign(e - t) + 1) / 2) */
        filled(graph, "prep.threshold", nv, s->threshold);
        filled(graph, "prep.one", nv, 1.0f);
        filled(graph, "prep.half", nv, 0.5f);
        binary(graph, "Sub", "prep.e", "prep.threshold", "prep.above");
        unary(graph, "Sign", "prep.above", "prep.sign");
        binary(graph, "Add", "prep.sign", "prep.one", "prep.sign1");
        binary(graph, "Mul", "prep.sign1", "prep.half", "prep.step0");
        unary(graph, "Ceil", "prep.step0", "prep.keep");
    } else { /* e > 0: relu(sign(e)) */
        unary(graph, "Sign", "prep.e", "prep.sign");
        unary(graph, "Relu", "prep.sign", "prep.keep");
    }
    binary(graph, "Mul", "prep.e", "prep.keep", "out");
}

static int build_generator_graph(hd_pb *graph, const hd_model *m)
{
    hd_generator_net p;
    int rc = hd_generator_net_parts(m->gen, &p);
    if (rc != HD_OK) return rc;
    hd_pb_string(graph, 2, "hadron generator");
    condition_features(graph, &p);
    node(graph, "Concat", 2, (const char *const[]){"noise", "cf"}, "h0", "axis", 0, 1);
    char in[32] = "h0";
    const int layers = p.spec->n_hidden + 1;
    for (int i = 0; i < layers; i++) {
        char key[64], w[32], b[32], z[32], h[32];
        snprintf(key, sizeof key, "gen.dense%d.weight", i);
        hd_node *wn = hd_graph_find(p.g, key);
        snprintf(key, sizeof key, "gen.dense%d.bias", i);
        hd_node *bn = hd_graph_find(p.g, key);
        if (!wn || !bn) return hd_error(HD_EINVAL, "export: the generator has no layer gen.dense%d", i);
        const hd_tensor *wt = hd_node_value(wn), *bt = hd_node_value(bn);
        snprintf(w, sizeof w, "gen.dense%d.weight", i);
        snprintf(b, sizeof b, "gen.dense%d.bias", i);
        snprintf(z, sizeof z, "gen.dense%d", i);
        snprintf(h, sizeof h, i + 1 < layers ? "h%d" : "y", i + 1);
        initializer(graph, w, ONNX_FLOAT, 2, wt->shape, wt->data); /* [out][in], as the graph keeps it */
        initializer(graph, b, ONNX_FLOAT, 1, bt->shape, bt->data);
        node(graph, "Gemm", 3, (const char *const[]){in, w, b}, z, "transB", 0, 1);
        activation(graph, i + 1 < layers ? p.spec->act : p.spec->out_act, z, h);
        snprintf(in, sizeof in, "%s", h);
    }
    inverse_prep(graph, &p);
    value_info(graph, 11, "noise", p.latent);
    value_info(graph, 11, "cond", p.n_cond);
    value_info(graph, 12, "out", p.n_vox);
    return HD_OK;
}

int hd_model_export_onnx(const hd_model *m, const char *path)
{
    hd_pb model = {0}, graph = {0}, opset = {0};
    hd_pb_int(&model, 1, IR_VERSION);
    hd_pb_string(&model, 2, "hadron");
    int built = HD_OK;
    if (m->gen) built = build_generator_graph(&graph, m);
    else build_graph(&graph, m);
    if (built != HD_OK) {
        hd_pb_free(&graph);
        hd_pb_free(&model);
        return built;
    }
    hd_pb_message(&model, 7, &graph);
    hd_pb_string(&opset, 1, "");
    hd_pb_int(&opset, 2, OPSET);
    hd_pb_message(&model, 8, &opset);
    int rc = model.failed ? hd_error(HD_ENOMEM, "export: out of memory writing %s", path) : HD_OK;
    hd_atomic_file af;
    if (rc == HD_OK && (rc = hd_atomic_open(&af, path)) == HD_OK) {
        if (fwrite(model.data, 1, model.len, af.f) != model.len) {
            hd_atomic_abort(&af);
            rc = hd_error(HD_EIO, "export: cannot write %s", path);
        } else {
            rc = hd_atomic_commit(&af);
        }
    }
    hd_pb_free(&opset);
    hd_pb_free(&graph);
    hd_pb_free(&model);
    return rc;
}
