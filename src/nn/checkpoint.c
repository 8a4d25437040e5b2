/* Checkpoints: the params of a graph as a safetensors file keyed by param
 * name.  Loading checks every param against the file before it changes any,
 * so a bad file leaves the model as it was. */
#include "hadron/nn.h"

#include <string.h>

/* Metadata keys hadron sets itself; a caller's values for them are replaced
 * (a caller may pass back the metadata of a file it read). */
static const char *const reserved_keys[] = {"format", "hadron_version"};
#define N_RESERVED ((int)(sizeof reserved_keys / sizeof reserved_keys[0]))

static int in_group(const hd_node *p, int group) { return group == HD_ALL || hd_node_group(p) == group; }

static int check_graph(const hd_graph *g, const char *path, int group, const char *what)
{
    if (!g || !path) return hd_error(HD_EINVAL, "checkpoint %s: NULL graph or path", what);
    if (group != HD_ALL && (group < 0 || group >= HD_MAX_GROUPS))
        return hd_error(HD_EINVAL, "checkpoint %s %s: group %d outside 0..%d", what, path, group,
                        HD_MAX_GROUPS - 1);
    if (!hd_graph_compiled(g)) return hd_error(HD_ESTATE, "checkpoint %s %s: compile the graph first", what, path);
    return HD_OK;
}

static int is_reserved(const char *key)
{
    for (int i = 0; i < N_RESERVED; i++)
        if (key && strcmp(key, reserved_keys[i]) == 0) return 1;
    return 0;
}

/* The caller's metadata without reserved keys, then hadron's; returns the count. */
static int merge_meta(int n_meta, const hd_meta *meta, hd_meta *out)
{
    int m = 0;
    for (int i = 0; i < n_meta; i++)
        if (!is_reserved(meta[i].key)) out[m++] = meta[i];
    out[m++] = (hd_meta){"format", "hadron"};
    out[m++] = (hd_meta){"hadron_version", HD_VERSION};
    return m;
}

static int save_extra(hd_graph *g, const char *path, int group, int n_extra, const char *const *extra_names,
                      const hd_tensor *const *extra, int n_meta, const hd_meta *meta)
{
    int rc = check_graph(g, path, group, "save");
    if (rc != HD_OK) return rc;
    if (n_meta < 0 || (n_meta > 0 && !meta))
        return hd_error(HD_EINVAL, "checkpoint save %s: bad metadata list", path);
    if (n_extra < 0 || (n_extra > 0 && (!extra_names || !extra)))
        return hd_error(HD_EINVAL, "checkpoint save %s: bad list of extra tensors", path);
    const int n_params = hd_graph_n_params(g);
    const char **names = hd_calloc((size_t)(n_params + n_extra) + 1, sizeof *names);
    const hd_tensor **tensors = hd_calloc((size_t)(n_params + n_extra) + 1, sizeof *tensors);
    hd_meta *all = hd_calloc((size_t)n_meta + N_RESERVED, sizeof *all);
    if (!names || !tensors || !all) {
        rc = HD_ENOMEM;
    } else {
        int n = 0;
        for (int i = 0; i < n_params; i++) {
            hd_node *p = hd_graph_param(g, i);
            if (!in_group(p, group)) continue;
            names[n] = hd_node_name(p);
            tensors[n++] = hd_node_value(p);
        }
        for (int i = 0; i < n_extra; i++) {
            names[n] = extra_names[i];
            tensors[n++] = extra[i];
        }
        rc = hd_safetensors_write(path, n, names, tensors, merge_meta(n_meta, meta, all), all);
    }
    hd_free(names);
    hd_free(tensors);
    hd_free(all);
    return rc;
}

int hd_checkpoint_save(hd_graph *g, const char *path, int group, int n_meta, const hd_meta *meta)
{
    return save_extra(g, path, group, 0, NULL, NULL, n_meta, meta);
}


int hd_checkpoint_write(hd_graph *g, const char *path, int group, const hd_checkpoint_entries *e)
{
    if (e->failed) return hd_error(HD_EINVAL, "%s: an entry could not be added; nothing written", path);
    hd_meta meta[HD_CHECKPOINT_MAX_ENTRIES];
    const hd_tensor *tensors[HD_CHECKPOINT_MAX_ENTRIES];
    for (int i = 0; i < e->n_meta; i++) meta[i] = (hd_meta){e->keys[i], e->values[i]};
    for (int i = 0; i < e->n_tensors; i++) tensors[i] = &e->tensors[i];
    return save_extra(g, path, group, e->n_tensors, (const char *const *)e->names, tensors, e->n_meta, meta);
}

static int check_param(const char *path, const hd_safetensors *st, const hd_node *p)
{
    const char *name = hd_node_name(p);
    const hd_tensor *t = hd_safetensors_get(st, name);
    if (!t) return hd_error(HD_EFORMAT, "%s: missing tensor '%s' (param of group %d)", path, name, hd_node_group(p));
    const int ndim = hd_node_ndim(p);
    const int64_t *shape = hd_node_shape(p); /* a param's shape is concrete, compiled or not */
    int same = t->ndim == ndim;
    for (int d = 0; d < t->ndim && same; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char sf[96], sp[96];
        return hd_error(HD_ESHAPE, "%s: tensor '%s' has shape %s but the param has shape %s", path, name,
                        hd_shape_str(t->ndim, t->shape, sf, sizeof sf), hd_shape_str(ndim, shape, sp, sizeof sp));
    }
    return HD_OK;
}

int hd_checkpoint_check(const hd_graph *g, const hd_safetensors *st, const char *path, int group)
{
    if (!g || !st || !path) return hd_error(HD_EINVAL, "checkpoint check: NULL graph, file or path");
    for (int i = 0; i < hd_graph_n_nodes(g); i++) { /* the params, compiled or not */
        const hd_node *n = hd_graph_node(g, i);
        int rc = hd_node_is_param(n) && in_group(n, group) ? check_param(path, st, n) : HD_OK;
        if (rc != HD_OK) return rc;
    }
    return HD_OK;
}

int hd_checkpoint_load_parsed(hd_graph *g, const hd_safetensors *st, const char *path, int group)
{
    int rc = check_graph(g, path, group, "load");
    /* Tensors of other groups may share the file: only this group's are read. */
    if (rc == HD_OK) rc = hd_checkpoint_check(g, st, path, group);
    for (int i = 0; i < hd_graph_n_params(g) && rc == HD_OK; i++) {
        hd_node *p = hd_graph_param(g, i);
        if (!in_group(p, group)) continue;
        const hd_tensor *t = hd_safetensors_get(st, hd_node_name(p));
        memcpy(hd_node_value(p)->data, t->data, (size_t)hd_tensor_numel(t) * sizeof(float));
    }
    return rc;
}

int hd_checkpoint_load(hd_graph *g, const char *path, int group)
{
    int rc = check_graph(g, path, group, "load");
    if (rc != HD_OK) return rc;
    hd_safetensors *st;
    rc = hd_safetensors_read(path, &st);
    if (rc != HD_OK) return rc;
    rc = hd_checkpoint_load_parsed(g, st, path, group);
    hd_safetensors_free(st);
    return rc;
}
