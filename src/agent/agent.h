/* agent.h: the capture agent's subcommands. */
#ifndef FLOWLOGD_AGENT_AGENT_H
#define FLOWLOGD_AGENT_AGENT_H

/** `flowlogd capture ...`: watch devices by hand, print each window's flows.
 * argv[0] is "capture". Returns the exit code. */
int agent_capture_main(int argc, char **argv);

#endif
