/* notify.h: the service manager's protocol (sd_notify, libsystemd): READY=1
 * once the listeners and the store are up, STOPPING=1 when a stop begins,
 * RELOADING=1 ... READY=1 around a reload, and WATCHDOG=1 keep-alives when
 * the unit asks for a watchdog (WatchdogSec=). Every call is a no-op when
 * the process was not started by a service manager (no NOTIFY_SOCKET). */
#ifndef FLOWLOGD_SERVER_NOTIFY_H
#define FLOWLOGD_SERVER_NOTIFY_H

/** READY=1 with a STATUS= line. */
void notify_ready(const char *status);
/** STOPPING=1. */
void notify_stopping(void);
/** RELOADING=1 with MONOTONIC_USEC= (systemd's Type=notify-reload form). */
void notify_reloading(void);

/** Starts a thread sending WATCHDOG=1 at half the interval the manager
 * asked for, while alive() returns non-zero (a stuck process stops sending
 * and is restarted by the manager). Nothing when no watchdog was asked for.
 * 0, or -1 if the thread could not be started. */
int notify_watchdog_start(int (*alive)(void *), void *ud);
void notify_watchdog_stop(void);

#endif
