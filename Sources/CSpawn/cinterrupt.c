#define _GNU_SOURCE
#include "cinterrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t received = 0;
static volatile sig_atomic_t count = 0;
static int wake_fds[2] = {-1, -1};
static int installed = 0;

static void on_interrupt(int sig) {
    int saved = errno;
    if (received == 0) received = sig;
    if (count < 1000) count = count + 1;
    if (wake_fds[1] >= 0) {
        char byte = 1;
        ssize_t ignored = write(wake_fds[1], &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

int shiplog_interrupt_install(void) {
    if (installed) return 0;
    if (pipe2(wake_fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &action, NULL) != 0) return -1;
    if (sigaction(SIGTERM, &action, NULL) != 0) return -1;
    /* A mask is inherited across exec: a parent that blocked these signals must not leave
       them pending forever here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    installed = 1;
    return 0;
}

int shiplog_interrupt_signal(void) { return received; }

int shiplog_interrupt_count(void) { return count; }

int shiplog_interrupt_fd(void) { return wake_fds[0]; }

void shiplog_interrupt_clear(void) {
    received = 0;
    count = 0;
    if (wake_fds[0] >= 0) {
        char buffer[64];
        while (read(wake_fds[0], buffer, sizeof buffer) > 0) {}
    }
}
