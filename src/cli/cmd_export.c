/* hadron export: a trained model in a form other code builds in or other
 * runtimes read. */
#include "cli.h"
#include "hadron/hadron.h"

#include <stdio.h>
#include <string.h>

typedef enum { FORMAT_C, FORMAT_ONNX } export_format;
static const cli_choice formats[] = {{"c", FORMAT_C}, {"onnx", FORMAT_ONNX}, {NULL, 0}};

/* The file name of the stem, as a C identifier: other characters become '_'. */
static void name_from(const char *stem, char *name, size_t size)
{
    const char *base = strrchr(stem, '/');
    base = base ? base + 1 : stem;
    size_t k = 0;
    if (*base >= '0' && *base <= '9' && k + 1 < size) name[k++] = '_';
    for (const char *c = base; *c && k + 1 < size && k < 63; c++)
        name[k++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ? *c : '_';
    name[k] = '\0';
}

static int run(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *name = NULL;
    int format = FORMAT_C;
    cli_flag flags[] = {
        CLI_STRING("model", &model, "trained model (.safetensors: surrogate, fit, bnn, or a dense gen network)"),
        CLI_ENUM("format", &format, formats, "c: a self-contained NAME.c/NAME.h pair; onnx: an ONNX file (opset 13)"),
        CLI_STRING("out", &out, "c: the path without extension (writes OUT.c and OUT.h); onnx: the file"),
        CLI_STRING("name", &name, "the C function's name (default: OUT's file name)"),
    };
    int rc = CLI_PARSE(&cmd_export, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (!model || !out) {
        fprintf(stderr, "hadron export: --model FILE and --out PATH are required\n");
        return 2;
    }
    char fn[64];
    if (!name) name_from(out, fn, sizeof fn);
    else snprintf(fn, sizeof fn, "%s", name);
    hd_model *m;
    if (hd_model_load(model, &m) != HD_OK) return cli_fail(&cmd_export);
    if (cli_mkdir_parent(out)) {
        hd_model_free(m);
        return 1;
    }
    rc = format == FORMAT_ONNX ? hd_model_export_onnx(m, out) : hd_model_export_c(m, name ? name : fn, out);
    int64_t n_in = hd_model_n_in(m), n_out = hd_model_n_out(m), n_noise = hd_model_noise_dim(m);
    hd_model_free(m);
    if (rc != HD_OK) return cli_fail(&cmd_export);
    if (format == FORMAT_ONNX && n_noise > 0)
        printf("wrote %s: ONNX opset 13, inputs \"noise\" [N, %lld] and \"cond\" [N, %lld] raw, output \"out\" "
               "[N, %lld] MeV\n", out, (long long)n_noise, (long long)n_in, (long long)n_out);
    else if (format == FORMAT_ONNX)
        printf("wrote %s: ONNX opset 13, input \"in\" [N, %lld] raw, output \"out\" [N, %lld]\n", out, (long long)n_in,
               (long long)n_out);
    else if (n_noise > 0)
        printf("wrote %s.c and %s.h: float *%s(float *out /* [%lld] MeV */, const float *cond /* [%lld] raw */, "
               "const float *noise /* [%lld] */)\n", out, out, name ? name : fn, (long long)n_out, (long long)n_in,
               (long long)n_noise);
    else
        printf("wrote %s.c and %s.h: float *%s(float *out /* [%lld] */, const float *in /* [%lld] raw */)\n", out,
               out, name ? name : fn, (long long)n_out, (long long)n_in);
    return 0;
}

const cli_command cmd_export = {
    .name = "export",
    .summary = "write a trained model as self-contained C source or as ONNX",
    .usage = "export --model FILE --out PATH [--format c|onnx] [--name NAME]",
    .run = run,
};
