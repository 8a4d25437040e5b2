/* A small CNN trained by hadron on labelled images (Fashion-MNIST), used as
 * the feature extractor of the GAN's quality figure: the Frechet distance
 * between real and generated images in its penultimate layer, and its labels
 * of generated images (mode collapse shows as missing classes).
 *
 * Architecture, on C x H x W images (H, W >= 4; 1 x 28 x 28 for Fashion-MNIST
 * scaled to [-1, 1]):
 *   conv 3x3 'same' C -> 16, ReLU, max-pool 2
 *   conv 3x3 'same' 16 -> 32, ReLU, max-pool 2
 *   flatten, dense -> 64, ReLU             (the features)
 *   dense -> n_classes logits
 * trained with softmax cross-entropy and Adam on shuffled batches. */
#ifndef HD_IMAGE_CLASSIFIER_H
#define HD_IMAGE_CLASSIFIER_H

#include "hadron/hadron.h"

typedef struct hd_image_classifier hd_image_classifier;

typedef struct {
    uint64_t seed;  /* initialisation and shuffling */
    int epochs;
    int64_t batch;
    hd_optim_opts optim; /* Adam, lr 2e-3 */
    void (*progress)(void *user, double fraction); /* may be NULL; called after each batch */
    void *user;
} hd_image_classifier_opts;

/* seed 1, 3 epochs, batch 128, lr 2e-3: about 89.5 % on Fashion-MNIST's test set
 * after training on its 60000 images (docs/metrics.md) */
hd_image_classifier_opts hd_image_classifier_opts_default(void);

/* Trains on images [N, C, H, W] with labels[N] in 0..n_classes-1. */
int hd_image_classifier_train(const hd_image_classifier_opts *o, const hd_tensor *images, const int32_t *labels,
                              int n_classes, hd_image_classifier **out);
/* Atomic safetensors: the weights, and metadata model=image_classifier with
 * the image shape, the layer widths and the number of classes. */
int hd_image_classifier_save(const hd_image_classifier *c, const char *path);
/* Refuses, naming the file, anything that is not a saved classifier. */
int hd_image_classifier_load(const char *path, hd_image_classifier **out);
void hd_image_classifier_free(hd_image_classifier *c);

int64_t hd_image_classifier_feature_dim(const hd_image_classifier *c); /* 64 */
int hd_image_classifier_n_classes(const hd_image_classifier *c);
/* Floats per image: C * H * W. */
int64_t hd_image_classifier_image_size(const hd_image_classifier *c);

/* In evaluation mode, n images [n, C, H, W] to features [n, feature_dim]
 * and/or predicted labels [n] (argmax of the logits); either may be NULL.
 * Runs in chunks of a fixed batch. */
int hd_image_classifier_apply(hd_image_classifier *c, int64_t n, const float *images, float *features,
                              int32_t *labels);
/* Fraction of the n images whose predicted label is labels[i]; NAN on error. */
double hd_image_classifier_accuracy(hd_image_classifier *c, int64_t n, const float *images, const int32_t *labels);

#endif
