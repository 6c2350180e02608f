#ifndef SHIPLOG_CINTERRUPT_H
#define SHIPLOG_CINTERRUPT_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * SIGINT and SIGTERM as a request, not a death.
 *
 * A runner asked to stop must end its step cleanly and record nothing false, so the signal
 * only notes what arrived; the runner looks at the note between steps and inside every wait.
 * The handler is async-signal-safe: it stores the signal number and writes one byte to a
 * non-blocking, close-on-exec pipe, whose read end a poll() can watch to wake at once.
 */

/* Installs the handlers (once; later calls do nothing) and unblocks both signals in the calling
   thread. Returns 0, or -1 with errno. */
int shiplog_interrupt_install(void);

/* The first interrupting signal received (SIGINT or SIGTERM), or 0 when none has arrived. */
int shiplog_interrupt_signal(void);

/* How many interrupting signals have arrived (a second one asks to stop harder), at most 1000. */
int shiplog_interrupt_count(void);

/* The pipe's read end (readable once a signal has arrived), or -1 before install. */
int shiplog_interrupt_fd(void);

/* Forgets a received signal (tests, and a runner that has handled one and goes on). */
void shiplog_interrupt_clear(void);

#ifdef __cplusplus
}
#endif

#endif
