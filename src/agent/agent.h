/* agent.h: the capture agent: `flowlogd capture` (devices by hand), and the
 * data plane's agent (`flowlogd agent`, and inside `serve --capture`) that
 * watches what the control plane assigns its host (agent.c). */
#ifndef FLOWLOGD_AGENT_AGENT_H
#define FLOWLOGD_AGENT_AGENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct sink;

/** `flowlogd capture ...`: watch devices by hand, print each window's flows.
 * argv[0] is "capture". Returns the exit code. */
int agent_capture_main(int argc, char **argv);

/** `flowlogd agent ...`: the agent of one host against a control plane
 * over HTTP. Returns the exit code. */
int agent_main(int argc, char **argv);

/** Where the agent gets its assignment: the control plane's document
 * (control/assign.h: Generation, Devices, FlowLogs) as a new reference, or
 * NULL with err[errlen] (the agent then keeps its last one). */
typedef json_t *(*agent_fetch_fn)(void *ud, char *err, size_t errlen);

struct agent_cfg {
    const char *host;        /* this host's name, as bindings name it */
    const char *records;     /* the files sink's directory (and DIR/.agent, its state) */
    uint32_t window_s;       /* capture window, 1..600 */
    uint32_t table_flows;    /* flows per window, per CPU, in the kernel; and in userspace */
    uint32_t poll_ms;        /* how often the control plane is asked */
    uint64_t windows;        /* stop after this many windows (0: until *stop) */
    agent_fetch_fn fetch;
    void *fetch_ud;
    atomic_int *stop;        /* set non-zero to stop (at the next 100 ms) */
    /* delivery sinks after the files sink (borrowed: the caller closes them) */
    struct sink **extra_sinks;
    size_t nextra_sinks;
    void (*on_ready)(void *ud); /* called once the first assignment is applied */
    void *ready_ud;
};

/** Runs the agent until *cfg->stop (or cfg->windows windows). Returns 0, or
 * -1 with err[errlen]: BPF cannot be loaded here (the reason), the records
 * directory is unusable, a drain or the files sink failed. */
int agent_run(const struct agent_cfg *cfg, char *err, size_t errlen);

/** Whether the tc programs can be loaded here: 0, or -1 with exactly why. */
int agent_probe(uint32_t window_s, char *err, size_t errlen);

#endif
