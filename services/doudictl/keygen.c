/* keygen.c: `doudictl keygen` (see keygen.h). */
#include "keygen.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "zauth.h"

static const char keygen_help[] =
    "NAME\n"
    "    doudictl keygen - make a CURVE key pair for a daemon or a client\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl keygen [--name NAME] FILE\n"
    "\n"
    "DESCRIPTION\n"
    "    Writes a new key pair to FILE (mode 0600; the secret key is whoever\n"
    "    holds it) and its public key alone to FILE.pub (mode 0644). Neither file\n"
    "    may exist: a key is never overwritten. Then prints the public key.\n"
    "\n"
    "    A daemon reads its pair from [auth] key_file. A client (a portal, an\n"
    "    operator's doudictl) keeps its pair, is given the daemon's FILE.pub, and\n"
    "    is let in once its public key is a line of the daemon's [auth]\n"
    "    clients_file:\n"
    "        NAME PUBLIC-KEY SOURCES\n"
    "    SOURCES being the event sources it may publish as, comma-separated, or\n"
    "    * for any (an operator). With --name, that line is printed ready to\n"
    "    paste, with the name as its one source.\n"
    "\n"
    "    doudictl itself uses CURVE when the environment names both files:\n"
    "        DOUDI_CURVE_KEY         this client's key pair\n"
    "        DOUDI_CURVE_SERVER_KEY  the daemon's public key (its FILE.pub)\n"
    "\n"
    "OPTIONS\n"
    "    -n, --name NAME   print a clients-file line for this key under NAME\n"
    "    -h, --help        print this manual and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0 written; 2 usage error, a file that exists or cannot be written, or a\n"
    "    libzmq without CURVE.\n"
    "\n"
    "EXAMPLES\n"
    "    doudictl keygen /etc/doudi/intake.key\n"
    "    doudictl keygen --name tax-feed tax-feed.key >> /etc/doudi/intake-clients\n";

int ctl_keygen_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'h': fputs(keygen_help, stdout); return CTL_EXIT_OK;
        default: return ctl_getopt_error(c, argv);
        }
    }
    if (optind != argc - 1)
        return ctl_usage("keygen takes one FILE (the key pair; its public key goes to FILE.pub)");
    if (name && (!name[0] || strlen(name) > 64 || strpbrk(name, " \t,#")))
        return ctl_usage("--name must be 1-64 characters without blanks, commas or '#'");
    const char *path = argv[optind];
    char *public_path = NULL;
    if (asprintf(&public_path, "%s.pub", path) < 0)
        return ctl_usage("out of memory");
    char *error = NULL;
    int rc = dd_zauth_write_new_keys(path, public_path, &error);
    if (rc) {
        ctl_warn("%s", error ? error : "cannot write the key");
        free(error);
        free(public_path);
        return CTL_EXIT_USAGE;
    }
    dd_zauth_keys keys;
    rc = dd_zauth_read_keys(public_path, false, &keys, &error);
    free(public_path);
    if (rc) {
        ctl_warn("%s", error ? error : "cannot read the key back");
        free(error);
        return CTL_EXIT_USAGE;
    }
    if (name)
        printf("%s %s %s\n", name, keys.public_z85, name);
    else
        printf("%s\n", keys.public_z85);
    return CTL_EXIT_OK;
}
