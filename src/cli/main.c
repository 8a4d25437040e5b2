/* hadron command-line entry point: dispatches to the commands. */
#include "hadron/hadron.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("hadron %s\n", HD_VERSION);
        return 0;
    }
    return 0;
}
