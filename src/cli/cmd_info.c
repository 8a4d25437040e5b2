/* hadron info: what a checkpoint holds.  Names and metadata come from a
 * file that may be anyone's: they are printed through hd_printable. */
#include "cli.h"
#include "hadron/hadron.h"

#include <stdio.h>
#include <string.h>

static const char *shown(const char *s, char *buf, size_t size) { return hd_printable(s, strlen(s), buf, size); }

static int run(int argc, char **argv)
{
    const char *path = NULL;
    cli_flag flags[] = {CLI_STRING("model", &path, "checkpoint (.safetensors) to describe")};
    int rc = CLI_PARSE(&cmd_info, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (!path) {
        fprintf(stderr, "hadron info: --model FILE is required\n");
        return 2;
    }
    hd_safetensors *st;
    if (hd_safetensors_read(path, &st) != HD_OK) return cli_fail(&cmd_info);
    char a[256], b[4096];
    printf("%s\n", shown(path, a, sizeof a));
    for (int i = 0; i < hd_safetensors_meta_count(st); i++) {
        const char *k = hd_safetensors_meta_key(st, i);
        printf("  meta  %-16s %s\n", shown(k, a, sizeof a), shown(hd_safetensors_meta(st, k), b, sizeof b));
    }
    int64_t total = 0;
    for (int i = 0; i < hd_safetensors_count(st); i++) {
        const char *name = hd_safetensors_name(st, i);
        const hd_tensor *t = hd_safetensors_get(st, name);
        char s[96];
        printf("  %-28s F32 %s\n", shown(name, a, sizeof a), hd_shape_str(t->ndim, t->shape, s, sizeof s));
        total += hd_tensor_numel(t);
    }
    printf("  %d tensors, %lld parameters\n", hd_safetensors_count(st), (long long)total);
    hd_safetensors_free(st);
    return 0;
}

const cli_command cmd_info = {
    .name = "info",
    .summary = "describe a checkpoint: tensors, shapes, metadata",
    .usage = "info --model FILE",
    .run = run,
};
