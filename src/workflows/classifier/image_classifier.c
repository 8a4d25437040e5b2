/* The image classifier behind the GAN's quality figure (image_classifier.h). */
#include "workflows/classifier/image_classifier.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_BATCH 500 /* images per forward pass when applying */
#define MODEL_NAME "image_classifier"

struct hd_image_classifier {
    hd_graph *g;
    hd_node *x, *target, *features, *logits, *loss;
    int64_t channels, height, width;     /* image shape */
    int64_t conv1, conv2, hidden;        /* layer widths; hidden = feature_dim */
    int n_classes;
};

hd_image_classifier_opts hd_image_classifier_opts_default(void)
{
    hd_image_classifier_opts o = {.seed = 1, .epochs = 3, .batch = 128, .optim = hd_optim_opts_default(HD_ADAM)};
    o.optim.lr = 2e-3f;
    return o;
}

void hd_image_classifier_free(hd_image_classifier *c)
{
    if (!c) return;
    hd_graph_free(c->g);
    hd_free(c);
}

int64_t hd_image_classifier_feature_dim(const hd_image_classifier *c) { return c ? c->hidden : 0; }
int hd_image_classifier_n_classes(const hd_image_classifier *c) { return c ? c->n_classes : 0; }
int64_t hd_image_classifier_image_size(const hd_image_classifier *c)
{
    return c ? c->channels * c->height * c->width : 0;
}

/* The network for c's shape and widths, compiled (weights from c->g's
 * seed); with st, its params are first checked against that file's tensors. */
static int build(hd_image_classifier *c, uint64_t seed, const hd_safetensors *st, const char *path)
{
    hd_graph *g = c->g = hd_graph_new(seed);
    if (!g) return HD_ENOMEM;
    hd_conv2d_layer conv1, conv2;
    hd_dense_layer fc1, fc2;
    int64_t h4 = c->height / 2 / 2, w4 = c->width / 2 / 2; /* after two 2x2 poolings */
    c->x = hd_input(g, "x", 4, (int64_t[]){HD_BATCH, c->channels, c->height, c->width});
    c->target = hd_input(g, "target", 2, (int64_t[]){HD_BATCH, c->n_classes});
    if (!c->x || !c->target || hd_conv2d_init(g, &conv1, "conv1",
            &(hd_conv2d_opts){.in = c->channels, .out = c->conv1, .kernel = 3, .stride = 1,
                              .pad = HD_PAD_SAME, .bias = 1}) ||
        hd_conv2d_init(g, &conv2, "conv2",
                &(hd_conv2d_opts){.in = c->conv1, .out = c->conv2, .kernel = 3, .stride = 1,
                                  .pad = HD_PAD_SAME, .bias = 1}) ||
        hd_dense_init(g, &fc1, "fc1", c->conv2 * h4 * w4, c->hidden, 1) ||
        hd_dense_init(g, &fc2, "fc2", c->hidden, c->n_classes, 1))
        return HD_EINVAL;
    hd_node *h = hd_max_pool2d(g, hd_relu(g, hd_conv2d_apply(g, &conv1, c->x)), 2, 2, 2, 2);
    h = hd_max_pool2d(g, hd_relu(g, hd_conv2d_apply(g, &conv2, h)), 2, 2, 2, 2);
    h = hd_reshape(g, h, 2, (int64_t[]){HD_BATCH, c->conv2 * h4 * w4});
    c->features = hd_relu(g, hd_dense_apply(g, &fc1, h));
    c->logits = hd_dense_apply(g, &fc2, c->features);
    c->loss = hd_softmax_cross_entropy_loss(g, c->logits, c->target);
    if (!c->loss) return HD_EINVAL;
    int rc = st ? hd_checkpoint_check(g, st, path, HD_ALL) : HD_OK;
    return rc != HD_OK ? rc : hd_graph_compile(g);
}

static int check_shape(int64_t channels, int64_t height, int64_t width, int n_classes)
{
    if (channels < 1 || channels > 64 || height < 4 || width < 4 || height > 4096 || width > 4096)
        return hd_error(HD_EINVAL, "image classifier: images of %lld x %lld x %lld (channels 1..64, sides 4..4096)",
                        (long long)channels, (long long)height, (long long)width);
    if (n_classes < 2 || n_classes > 10000)
        return hd_error(HD_EINVAL, "image classifier: %d classes, need 2..10000", n_classes);
    return HD_OK;
}

static int check_train_args(const hd_image_classifier_opts *o, const hd_tensor *images, const int32_t *labels,
                            int n_classes)
{
    if (!o || !images || !images->data || !labels)
        return hd_error(HD_EINVAL, "image classifier: NULL options, images or labels");
    if (o->epochs < 1) return hd_error(HD_EINVAL, "image classifier: %d epochs, need at least 1", o->epochs);
    if (o->batch < 1) return hd_error(HD_EINVAL, "image classifier: batch %lld, need at least 1", (long long)o->batch);
    int rc = hd_optim_check(&o->optim);
    if (rc != HD_OK) return rc;
    if (images->ndim != 4)
        return hd_error(HD_EINVAL, "image classifier: images must be [N, C, H, W], got %d dimensions", images->ndim);
    if ((rc = check_shape(images->shape[1], images->shape[2], images->shape[3], n_classes)) != HD_OK) return rc;
    for (int64_t i = 0; i < images->shape[0]; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return hd_error(HD_EINVAL, "image classifier: label %d of image %lld is outside 0..%d", (int)labels[i],
                            (long long)i, n_classes - 1);
    return HD_OK;
}

typedef struct { const hd_image_classifier_opts *o; int64_t done, total; } progress;

static void count_batch(void *user, int64_t index, int64_t rows)
{
    (void)index;
    (void)rows;
    progress *p = user;
    if (p->o->progress) p->o->progress(p->o->user, (double)++p->done / (double)p->total);
}

static void log_epoch(void *user, const hd_train_epoch *e)
{
    (void)user;
    hd_message(HD_LOG_DEBUG, "image classifier: epoch %d/%d, loss %.4f, %.1f s", e->epoch, e->epochs, e->pass_loss,
               e->seconds);
}

static int train_epochs(hd_image_classifier *c, const hd_image_classifier_opts *o, const float *images,
                        const float *onehot, int64_t n)
{
    progress p = {.o = o, .total = (n + o->batch - 1) / o->batch * o->epochs};
    hd_train_opts t = hd_train_opts_default();
    t.g = c->g;
    t.loss = c->loss;
    t.n_columns = 2;
    t.inputs[0] = c->x;
    t.inputs[1] = c->target;
    t.columns[0] = images;
    t.columns[1] = onehot;
    t.n_rows = n;
    t.batch = o->batch;
    t.seed = o->seed;
    t.optim = o->optim;
    t.epochs = o->epochs;
    t.on_batch = count_batch;
    t.on_epoch = log_epoch;
    t.user = &p;
    hd_train_result r;
    return hd_train(&t, &r);
}

int hd_image_classifier_train(const hd_image_classifier_opts *o, const hd_tensor *images, const int32_t *labels,
                              int n_classes, hd_image_classifier **out)
{
    if (!out) return hd_error(HD_EINVAL, "image classifier: NULL result pointer");
    *out = NULL;
    int rc = check_train_args(o, images, labels, n_classes);
    if (rc != HD_OK) return rc;
    int64_t n = images->shape[0];
    hd_image_classifier *c = hd_calloc(1, sizeof *c);
    float *onehot = hd_calloc((size_t)n * (size_t)n_classes, sizeof(float));
    if (!c || !onehot) {
        hd_free(c);
        hd_free(onehot);
        return HD_ENOMEM;
    }
    *c = (hd_image_classifier){.channels = images->shape[1], .height = images->shape[2], .width = images->shape[3],
                               .conv1 = 16, .conv2 = 32, .hidden = 64, .n_classes = n_classes};
    for (int64_t i = 0; i < n; i++) onehot[i * n_classes + labels[i]] = 1.0f;
    rc = build(c, o->seed, NULL, NULL);
    if (rc == HD_OK) rc = train_epochs(c, o, images->data, onehot, n);
    hd_free(onehot);
    if (rc != HD_OK) {
        hd_image_classifier_free(c);
        return rc;
    }
    hd_graph_set_training(c->g, 0);
    *out = c;
    return HD_OK;
}

int hd_image_classifier_save(const hd_image_classifier *c, const char *path)
{
    if (!c || !path) return hd_error(HD_EINVAL, "image classifier save: NULL classifier or path");
    char image[96], widths[64], hidden[32], classes[32];
    snprintf(image, sizeof image, "%lld,%lld,%lld", (long long)c->channels, (long long)c->height,
             (long long)c->width);
    snprintf(widths, sizeof widths, "%lld,%lld", (long long)c->conv1, (long long)c->conv2);
    snprintf(hidden, sizeof hidden, "%lld", (long long)c->hidden);
    snprintf(classes, sizeof classes, "%d", c->n_classes);
    hd_meta meta[] = {
        {"model", MODEL_NAME},
        {"image", image},
        {"conv_channels", widths},
        {"hidden", hidden},
        {"classes", classes},
        {"layers", "conv1 3x3 same, relu, max_pool 2; conv2 3x3 same, relu, max_pool 2; flatten; "
                   "fc1, relu (the features); fc2 (logits)"},
        {"inputs", "images [N, C, H, W] float32, scaled as in training"},
    };
    return hd_checkpoint_save(c->g, path, HD_ALL, (int)(sizeof meta / sizeof meta[0]), meta);
}

/* A list of count integers in [lo, hi] from metadata key. */
static int meta_ints(const hd_safetensors *st, const char *path, const char *key, int count, int64_t lo, int64_t hi,
                     int64_t *out)
{
    const char *s = hd_safetensors_meta(st, key);
    if (!s) return hd_error(HD_EFORMAT, "%s: image classifier metadata lacks '%s'", path, key);
    const char *p = s;
    for (int i = 0; i < count; i++) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < lo || v > hi || *end != (i + 1 < count ? ',' : '\0'))
            return hd_error(HD_EFORMAT, "%s: metadata %s = '%s': need %d integer(s) in %lld..%lld", path, key, s, count,
                            (long long)lo, (long long)hi);
        out[i] = v;
        p = end + 1;
    }
    return HD_OK;
}

static int load_into(const char *path, const hd_safetensors *st, hd_image_classifier *c)
{
    const char *model = hd_safetensors_meta(st, "model");
    if (!model || strcmp(model, MODEL_NAME) != 0)
        return hd_error(HD_EFORMAT, "%s: not a hadron image classifier (metadata model is '%s', want '%s')", path,
                        model ? model : "(absent)", MODEL_NAME);
    int64_t image[3] = {0}, widths[2] = {0}, hidden = 0, classes = 0;
    int rc;
    if ((rc = meta_ints(st, path, "image", 3, 1, 4096, image)) ||
        (rc = meta_ints(st, path, "conv_channels", 2, 1, 1024, widths)) ||
        (rc = meta_ints(st, path, "hidden", 1, 1, 4096, &hidden)) ||
        (rc = meta_ints(st, path, "classes", 1, 2, 10000, &classes)))
        return rc;
    if (check_shape(image[0], image[1], image[2], (int)classes) != HD_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", hd_last_error());
        return hd_error(HD_EFORMAT, "%s: %s", path, msg);
    }
    *c = (hd_image_classifier){.channels = image[0], .height = image[1], .width = image[2], .conv1 = widths[0],
                               .conv2 = widths[1], .hidden = hidden, .n_classes = (int)classes};
    if ((rc = build(c, 0, st, path)) || (rc = hd_checkpoint_load_parsed(c->g, st, path, HD_ALL))) return rc;
    hd_graph_set_training(c->g, 0);
    return HD_OK;
}

int hd_image_classifier_load(const char *path, hd_image_classifier **out)
{
    if (!out || !path) return hd_error(HD_EINVAL, "image classifier load: NULL path or result pointer");
    *out = NULL;
    hd_safetensors *st;
    int rc = hd_safetensors_read(path, &st);
    if (rc != HD_OK) return rc;
    hd_image_classifier *c = hd_calloc(1, sizeof *c);
    rc = c ? load_into(path, st, c) : HD_ENOMEM;
    hd_safetensors_free(st);
    if (rc != HD_OK) {
        hd_image_classifier_free(c);
        return rc;
    }
    *out = c;
    return HD_OK;
}

int hd_image_classifier_apply(hd_image_classifier *c, int64_t n, const float *images, float *features,
                              int32_t *labels)
{
    if (!c || !images) return hd_error(HD_EINVAL, "image classifier apply: NULL classifier or images");
    if (n < 1) return hd_error(HD_EINVAL, "image classifier apply: %lld images", (long long)n);
    if (!features && !labels) return HD_OK;
    int64_t size = hd_image_classifier_image_size(c), k = c->n_classes;
    hd_node *out = labels ? c->logits : c->features; /* the logits need the features */
    int training = hd_graph_training(c->g), rc = HD_OK;
    hd_graph_set_training(c->g, 0);
    for (int64_t first = 0; first < n; first += EVAL_BATCH) {
        int64_t rows = n - first < EVAL_BATCH ? n - first : EVAL_BATCH;
        if (rows != hd_graph_batch(c->g) && (rc = hd_graph_set_batch(c->g, rows))) break;
        memcpy(hd_node_value(c->x)->data, images + first * size, (size_t)(rows * size) * sizeof(float));
        if ((rc = hd_graph_forward(c->g, out))) break;
        if (features)
            memcpy(features + first * c->hidden, hd_node_value(c->features)->data,
                   (size_t)(rows * c->hidden) * sizeof(float));
        if (labels) {
            const float *z = hd_node_value(c->logits)->data;
            for (int64_t i = 0; i < rows; i++) {
                int32_t best = 0;
                for (int64_t j = 1; j < k; j++)
                    if (z[i * k + j] > z[i * k + best]) best = (int32_t)j;
                labels[first + i] = best;
            }
        }
    }
    hd_graph_set_training(c->g, training);
    return rc;
}

double hd_image_classifier_accuracy(hd_image_classifier *c, int64_t n, const float *images, const int32_t *labels)
{
    if (!labels || n < 1) {
        hd_error(HD_EINVAL, "image classifier accuracy: %lld images, labels %s", (long long)n, labels ? "given" : "NULL");
        return NAN;
    }
    int32_t *pred = hd_malloc((size_t)n * sizeof *pred);
    if (!pred) return NAN;
    int64_t right = 0;
    int rc = hd_image_classifier_apply(c, n, images, NULL, pred);
    for (int64_t i = 0; rc == HD_OK && i < n; i++) right += pred[i] == labels[i];
    hd_free(pred);
    return rc == HD_OK ? (double)right / (double)n : NAN;
}
