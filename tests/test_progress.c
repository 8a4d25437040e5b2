/* The progress bar draws on a terminal and stays silent on a pipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pty.h>
#include <string.h>
#include <unistd.h>

#include "hadron/hadron.h"

/* Runs a short progress loop with stderr on fd; returns what was drawn. */
static void run_bar(int fd, int read_fd, char *out, size_t size)
{
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    hd_progress p;
    hd_log_set_level(HD_LOG_INFO); /* ctest runs with HADRON_LOG=warn, which hides bars */
    hd_progress_begin(&p, "epochs", 10);
    for (int i = 1; i <= 10; i++) hd_progress_update(&p, i, "loss 0.1");
    hd_progress_end(&p);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    /* a pty delivers its data asynchronously: read until it has been quiet for 200 ms */
    size_t used = 0;
    struct pollfd pfd = {.fd = read_fd, .events = POLLIN};
    while (used < size - 1 && poll(&pfd, 1, 200) > 0) {
        ssize_t n = read(read_fd, out + used, size - 1 - used);
        if (n <= 0) break;
        used += (size_t)n;
    }
    out[used] = '\0';
}

static void test_draws_on_terminal(void **state)
{
    (void)state;
    int master, slave;
    assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
    char out[4096];
    run_bar(slave, master, out, sizeof out);
    assert_non_null(strstr(out, "epochs ["));
    assert_non_null(strstr(out, "100%"));
    close(master);
    close(slave);
}

static void test_silent_on_pipe(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char out[4096];
    run_bar(fds[1], fds[0], out, sizeof out);
    assert_string_equal(out, "");
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draws_on_terminal),
        cmocka_unit_test(test_silent_on_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
