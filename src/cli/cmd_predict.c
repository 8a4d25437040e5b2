/* hadron predict: evaluate a trained model on an array of inputs. */
#include "cli.h"
#include "hadron/hadron.h"

#include <math.h>
#include <stdio.h>

/* The first non-finite input, named by row and column (a NaN would pass a ReLU as 0). */
static int check_finite(const char *in, const float *x, int64_t rows, int64_t cols)
{
    for (int64_t i = 0; i < rows * cols; i++)
        if (!isfinite(x[i]))
            return hd_error(HD_EINVAL, "%s: row %lld, column %lld is %s; predict wants finite inputs "
                            "(--allow-nonfinite passes them to the model)", in, (long long)(i / cols),
                            (long long)(i % cols), isnan(x[i]) ? "NaN" : "infinite");
    return HD_OK;
}

static int predict(const char *model_path, const char *in, const char *out, int allow_nonfinite)
{
    hd_model *m = NULL;
    hd_array x = {0}, y = {0};
    int rc = hd_model_load(model_path, &m);
    if (rc == HD_OK) rc = hd_npy_read(in, &x);
    int64_t n_in = m ? hd_model_n_in(m) : 0;
    if (rc == HD_OK && !(x.ndim == 2 && x.shape[1] == n_in) && !(x.ndim == 1 && n_in == 1)) {
        char s[96];
        rc = hd_error(HD_ESHAPE, "%s: shape %s, the model wants (N, %lld)", in, hd_shape_str(x.ndim, x.shape, s, sizeof s),
                      (long long)n_in);
    }
    int64_t rows = rc == HD_OK ? x.shape[0] : 0;
    float *xf = NULL;
    if (rc == HD_OK && rows < 1) rc = hd_error(HD_EINVAL, "%s: no rows", in);
    if (rc == HD_OK) rc = hd_array_new(&y, HD_F32, 2, (int64_t[]){rows, hd_model_n_out(m)});
    if (rc == HD_OK && !(xf = hd_malloc((size_t)hd_array_numel(&x) * sizeof(float)))) rc = HD_ENOMEM;
    if (rc == HD_OK) {
        hd_array_to_f32(&x, xf);
        if (!allow_nonfinite) rc = check_finite(in, xf, rows, n_in);
        if (rc == HD_OK) rc = hd_model_predict(m, rows, xf, y.data);
    }
    if (rc == HD_OK) {
        if (hd_model_n_out(m) == 1) y.ndim = 1; /* (N,) as the seed's arrays */
        rc = hd_npy_write(out, &y);
    }
    if (rc == HD_OK) printf("wrote %s: %lld predictions\n", out, (long long)rows);
    hd_free(xf);
    hd_array_free(&x);
    hd_array_free(&y);
    hd_model_free(m);
    return rc;
}

static int run(int argc, char **argv)
{
    const char *model = NULL, *in = NULL, *out = NULL;
    int allow_nonfinite = 0;
    cli_flag flags[] = {
        CLI_STRING("model", &model, "trained model (.safetensors)"),
        CLI_STRING("input", &in, "inputs (.npy, shape (N, inputs); raw physical values, e.g. eta, pT [MeV], phi)"),
        CLI_STRING("output", &out, "predictions (.npy, float32)"),
        CLI_BOOL("allow-nonfinite", &allow_nonfinite, "pass NaN and infinite inputs to the model (default: refuse)"),
    };
    int rc = CLI_PARSE(&cmd_predict, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (!model || !in || !out) {
        fprintf(stderr, "hadron predict: --model, --input and --output are required\n");
        return 2;
    }
    if (cli_mkdir_parent(out)) return 1;
    if (predict(model, in, out, allow_nonfinite) != HD_OK) return cli_fail(&cmd_predict);
    return 0;
}

const cli_command cmd_predict = {
    .name = "predict",
    .summary = "evaluate a trained model on inputs from an .npy file",
    .usage = "predict --model M --input X.npy --output Y.npy",
    .run = run,
};
