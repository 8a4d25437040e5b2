/* Layer builders: activations, dense layers, multi-layer perceptrons. */
#include "mlp_stack.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *act_names[] = {"none", "relu", "leaky_relu", "sigmoid", "tanh", "softplus"};
#define N_ACTS (int)(sizeof act_names / sizeof act_names[0])

const char *hd_activation_name(hd_activation a)
{
    return (int)a >= 0 && (int)a < N_ACTS ? act_names[a] : "unknown";
}

int hd_activation_parse(const char *s, hd_activation *out)
{
    for (int i = 0; i < N_ACTS; i++)
        if (strcmp(s, act_names[i]) == 0) {
            *out = (hd_activation)i;
            return HD_OK;
        }
    return hd_error(HD_EINVAL, "unknown activation '%s' (none, relu, leaky_relu, sigmoid, tanh, softplus)", s);
}

hd_node *hd_activate(hd_graph *g, hd_node *x, hd_activation a)
{
    switch (a) {
    case HD_ACT_NONE: return x;
    case HD_ACT_RELU: return hd_relu(g, x);
    case HD_ACT_LEAKY_RELU: return hd_leaky_relu(g, x, 0.2f);
    case HD_ACT_SIGMOID: return hd_sigmoid(g, x);
    case HD_ACT_TANH: return hd_tanh(g, x);
    case HD_ACT_SOFTPLUS: return hd_softplus(g, x);
    }
    hd_error(HD_EINVAL, "unknown activation %d", (int)a);
    return NULL;
}

int hd_dense_init(hd_graph *g, hd_dense_layer *layer, const char *name, int64_t in, int64_t out,
                  int with_bias)
{
    char key[256];
    hd_init fan_in = {HD_INIT_FAN_IN, (float)in};
    memset(layer, 0, sizeof *layer);
    layer->in = in;
    layer->out = out;
    snprintf(key, sizeof key, "%s.weight", name);
    layer->weight = hd_param(g, key, 2, (int64_t[]){out, in}, fan_in);
    if (!layer->weight) return HD_EINVAL;
    if (!with_bias) return HD_OK;
    snprintf(key, sizeof key, "%s.bias", name);
    layer->bias = hd_param(g, key, 1, (int64_t[]){out}, fan_in);
    return layer->bias ? HD_OK : HD_EINVAL;
}

hd_node *hd_dense_apply(hd_graph *g, const hd_dense_layer *layer, hd_node *x)
{
    return layer->bias ? hd_linear(g, x, layer->weight, layer->bias) : hd_matmul(g, x, layer->weight, 1);
}

int hd_conv2d_init(hd_graph *g, hd_conv2d_layer *layer, const char *name, const hd_conv2d_opts *o)
{
    char key[256];
    const int64_t in = o->in, out = o->out, k = o->kernel;
    const int t = o->transposed;
    *layer = (hd_conv2d_layer){.in = in, .out = out, .kernel = o->kernel, .stride = o->stride, .transposed = t,
                               .pad = o->pad};
    hd_init fan_in = {HD_INIT_FAN_IN, (float)((t ? out : in) * k * k)};
    snprintf(key, sizeof key, "%s.weight", name);
    layer->weight = hd_param(g, key, 4, (int64_t[]){t ? in : out, t ? out : in, k, k}, fan_in);
    if (!layer->weight) return HD_EINVAL;
    if (!o->bias) return HD_OK;
    snprintf(key, sizeof key, "%s.bias", name);
    layer->bias = hd_param(g, key, 1, (int64_t[]){out}, fan_in);
    return layer->bias ? HD_OK : HD_EINVAL;
}

static int keras_init(hd_graph *g, hd_node *weight, hd_node *bias, int64_t fan_sum)
{
    int rc = hd_param_set_init(g, weight, (hd_init){HD_INIT_GLOROT, (float)fan_sum});
    if (rc == HD_OK && bias) rc = hd_param_set_init(g, bias, (hd_init){HD_INIT_ZEROS, 0.0f});
    return rc;
}

int hd_dense_keras_init(hd_graph *g, const hd_dense_layer *layer)
{
    return keras_init(g, layer->weight, layer->bias, layer->in + layer->out);
}

int hd_conv2d_keras_init(hd_graph *g, const hd_conv2d_layer *layer)
{
    return keras_init(g, layer->weight, layer->bias, (layer->in + layer->out) * layer->kernel * layer->kernel);
}

hd_node *hd_conv2d_apply(hd_graph *g, const hd_conv2d_layer *layer, hd_node *x)
{
    if (layer->transposed)
        return hd_conv_transpose2d(g, x, layer->weight, layer->bias, layer->stride, layer->stride, layer->pad);
    return hd_conv2d(g, x, layer->weight, layer->bias, layer->stride, layer->stride, layer->pad);
}

int hd_batch_norm_init(hd_graph *g, hd_batch_norm_layer *layer, const char *name, int64_t features, int affine)
{
    char key[256];
    memset(layer, 0, sizeof *layer);
    layer->features = features;
    layer->momentum = 0.1f;
    layer->eps = 1e-5f;
    int64_t shape[1] = {features};
    if (affine) {
        snprintf(key, sizeof key, "%s.weight", name);
        layer->weight = hd_param(g, key, 1, shape, (hd_init){HD_INIT_CONST, 1.0f});
        snprintf(key, sizeof key, "%s.bias", name);
        layer->bias = layer->weight ? hd_param(g, key, 1, shape, (hd_init){HD_INIT_ZEROS, 0.0f}) : NULL;
        if (!layer->bias) return HD_EINVAL;
    }
    snprintf(key, sizeof key, "%s.running_mean", name);
    layer->running_mean = hd_buffer(g, key, 1, shape, (hd_init){HD_INIT_ZEROS, 0.0f});
    snprintf(key, sizeof key, "%s.running_var", name);
    layer->running_var = layer->running_mean ? hd_buffer(g, key, 1, shape, (hd_init){HD_INIT_CONST, 1.0f}) : NULL;
    return layer->running_var ? HD_OK : HD_EINVAL;
}

hd_node *hd_batch_norm_apply(hd_graph *g, const hd_batch_norm_layer *layer, hd_node *x)
{
    return hd_batch_norm(g, x, layer->weight, layer->bias, layer->running_mean, layer->running_var,
                         layer->momentum, layer->eps);
}

int hd_layer_norm_init(hd_graph *g, hd_layer_norm_layer *layer, const char *name, int ndim, const int64_t *shape)
{
    char key[256];
    memset(layer, 0, sizeof *layer);
    layer->eps = 1e-5f;
    snprintf(key, sizeof key, "%s.weight", name);
    layer->weight = hd_param(g, key, ndim, shape, (hd_init){HD_INIT_CONST, 1.0f});
    snprintf(key, sizeof key, "%s.bias", name);
    layer->bias = layer->weight ? hd_param(g, key, ndim, shape, (hd_init){HD_INIT_ZEROS, 0.0f}) : NULL;
    return layer->bias ? HD_OK : HD_EINVAL;
}

hd_node *hd_layer_norm_apply(hd_graph *g, const hd_layer_norm_layer *layer, hd_node *x)
{
    return hd_layer_norm(g, x, layer->weight, layer->bias, layer->eps);
}

hd_node *hd_mlp_stack(hd_graph *g, const hd_mlp_spec *spec, const char *prefix, const char *kind, hd_node *x,
                      hd_mlp_layer_fn layer, void *ctx)
{
    if (spec->n_hidden < 0 || spec->n_hidden > HD_MLP_MAX_LAYERS) {
        hd_error(HD_EINVAL, "mlp: %d hidden layers, at most %d", spec->n_hidden, HD_MLP_MAX_LAYERS);
        return NULL;
    }
    int64_t in = spec->n_in;
    for (int i = 0; i <= spec->n_hidden && x; i++) {
        int last = i == spec->n_hidden;
        int64_t out = last ? spec->n_out : spec->hidden[i];
        char name[128];
        snprintf(name, sizeof name, "%s.%s%d", prefix, kind, i);
        x = hd_activate(g, layer(g, name, in, out, x, ctx), last ? spec->out_act : spec->act);
        in = out;
    }
    return x;
}

static hd_node *dense_layer(hd_graph *g, const char *name, int64_t in, int64_t out, hd_node *x, void *ctx)
{
    (void)ctx;
    hd_dense_layer layer;
    return hd_dense_init(g, &layer, name, in, out, 1) == HD_OK ? hd_dense_apply(g, &layer, x) : NULL;
}

hd_node *hd_mlp(hd_graph *g, const hd_mlp_spec *spec, const char *prefix, hd_node *x)
{
    return hd_mlp_stack(g, spec, prefix, "dense", x, dense_layer, NULL);
}

int hd_mlp_spec_parse_layers(hd_mlp_spec *spec, const char *csv)
{
    int n = 0;
    const char *p = csv;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || v > (1 << 24) || (*end && *end != ','))
            return hd_error(HD_EINVAL, "layers '%s': expected positive integers separated by commas", csv);
        if (n == HD_MLP_MAX_LAYERS)
            return hd_error(HD_EINVAL, "layers '%s': at most %d hidden layers", csv, HD_MLP_MAX_LAYERS);
        spec->hidden[n++] = v;
        p = *end ? end + 1 : end;
    }
    spec->n_hidden = n;
    return HD_OK;
}

void hd_mlp_spec_layers_text(const hd_mlp_spec *spec, char *buf, size_t size)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < spec->n_hidden && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "," : "", (long long)spec->hidden[i]);
}

char *hd_mlp_spec_to_json(const hd_mlp_spec *spec)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *h = cJSON_AddArrayToObject(o, "hidden");
    cJSON_AddNumberToObject(o, "n_in", (double)spec->n_in);
    cJSON_AddNumberToObject(o, "n_out", (double)spec->n_out);
    for (int i = 0; i < spec->n_hidden; i++) cJSON_AddItemToArray(h, cJSON_CreateNumber((double)spec->hidden[i]));
    cJSON_AddStringToObject(o, "activation", hd_activation_name(spec->act));
    cJSON_AddStringToObject(o, "output_activation", hd_activation_name(spec->out_act));
    char *s = cJSON_PrintUnformatted(o), *copy = s ? hd_malloc(strlen(s) + 1) : NULL;
    cJSON_Delete(o);
    if (copy) memcpy(copy, s, strlen(s) + 1);
    else hd_error(HD_ENOMEM, "out of memory writing the model description");
    free(s); /* cJSON's own allocation */
    return copy;
}

/* A size: an integer in [1, 2^24] (1.5 is refused, not truncated). */
static int positive_int(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= (1 << 24)) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return 0;
    *out = (int64_t)v->valuedouble;
    return 1;
}

static int json_count(const cJSON *o, const char *key, int64_t *out)
{
    if (!positive_int(cJSON_GetObjectItemCaseSensitive(o, key), out))
        return hd_error(HD_EFORMAT, "model description: '%s' must be a positive integer", key);
    return HD_OK;
}

static int json_act(const cJSON *o, const char *key, hd_activation *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v)) return hd_error(HD_EFORMAT, "model description: '%s' must be a string", key);
    return hd_activation_parse(v->valuestring, out);
}

static int spec_from_object(const cJSON *o, hd_mlp_spec *spec)
{
    int rc;
    if ((rc = json_count(o, "n_in", &spec->n_in)) || (rc = json_count(o, "n_out", &spec->n_out)) ||
        (rc = json_act(o, "activation", &spec->act)) || (rc = json_act(o, "output_activation", &spec->out_act)))
        return rc;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hidden");
    if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) > HD_MLP_MAX_LAYERS)
        return hd_error(HD_EFORMAT, "model description: 'hidden' must be an array of at most %d sizes",
                        HD_MLP_MAX_LAYERS);
    spec->n_hidden = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, h)
    {
        if (!positive_int(v, &spec->hidden[spec->n_hidden]))
            return hd_error(HD_EFORMAT, "model description: hidden size %d is not an integer in 1..%d",
                            spec->n_hidden, 1 << 24);
        spec->n_hidden++;
    }
    return HD_OK;
}

int hd_mlp_spec_from_json(const char *json, hd_mlp_spec *spec)
{
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return hd_error(HD_EFORMAT, "model description is not a JSON object");
    }
    memset(spec, 0, sizeof *spec);
    int rc = spec_from_object(o, spec);
    cJSON_Delete(o);
    return rc;
}
