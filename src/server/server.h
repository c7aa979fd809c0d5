/* server.h: `flowlogd serve`. */
#ifndef FLOWLOGD_SERVER_SERVER_H
#define FLOWLOGD_SERVER_SERVER_H

/** Runs the service until SIGTERM/SIGINT; argv[0] is "serve". Returns the
 * exit code. */
int server_main(int argc, char **argv);

#endif
