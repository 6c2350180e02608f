#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

/* Highest fd the close loop visits when close_range is unavailable. */
#define SHIPLOG_FALLBACK_FD_LIMIT 65536

/* Without a pidfd, how often (ms) the supervisor checks whether the step has exited. */
#define SHIPLOG_SUPERVISOR_CHECK_MS 100

/* ------------------------------------------------------------------------------------------ */
/* Helpers usable on both sides of fork (async-signal-safe).                                  */

/* fork() without pthread_atfork handlers, where the C library offers it. */
static pid_t plain_fork(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return _Fork();
#else
    return fork();
#endif
}

static int raw_pidfd_open(pid_t pid) {
#if defined(__linux__) && defined(SYS_pidfd_open)
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

/* Closes fds from `from` to `to` inclusive (to < 0: no upper bound). */
static int close_fd_range(int from, int to, int fallback_limit) {
    if (to >= 0 && to < from) return 0;
#if defined(__linux__) && defined(SYS_close_range)
    unsigned int last = to < 0 ? ~0U : (unsigned int)to;
    if (syscall(SYS_close_range, (unsigned int)from, last, 0) == 0) return 0;
    if (errno != ENOSYS && errno != EINVAL) return -1;
#endif
    int limit = to < 0 ? fallback_limit - 1 : to;
    for (int fd = from; fd <= limit; fd++) (void)close(fd);
    return 0;
}

/* Closes every fd from 3 up, except `keep` (which must be above 2, or negative for none). */
static int close_fds_except(int keep, int fallback_limit) {
    if (keep < 3) return close_fd_range(3, -1, fallback_limit);
    if (close_fd_range(3, keep - 1, fallback_limit) != 0) return -1;
    return close_fd_range(keep + 1, -1, fallback_limit);
}

/* ------------------------------------------------------------------------------------------ */
/* Runner side, before fork.                                                                  */

/* pipe2(O_CLOEXEC) where it exists; elsewhere a pipe whose flags are set right after. */
static int make_cloexec_pipe(int fds[2]) {
#if defined(__linux__)
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) != 0) return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        int error = errno;
        (void)close(fds[0]);
        (void)close(fds[1]);
        errno = error;
        return -1;
    }
    return 0;
#endif
}

/* Moves fd above 2 (keeping close-on-exec) so the step's dup2 onto 0..2 cannot clobber it.
 * Returns the fd to use, or -1. */
static int move_above_stdio(int fd) {
    if (fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    (void)close(fd);
    errno = saved;
    return moved;
}

/* A pipe with both ends above 2 and close-on-exec. Returns 0 or an errno. */
static int make_status_pipe(int fds[2]) {
    if (make_cloexec_pipe(fds) != 0) return errno;
    fds[0] = move_above_stdio(fds[0]);
    fds[1] = move_above_stdio(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int error = errno;
        if (fds[0] >= 0) (void)close(fds[0]);
        if (fds[1] >= 0) (void)close(fds[1]);
        return error;
    }
    return 0;
}

/* The lifeline: created once; the runner holds both ends until it ends. */
static pthread_once_t lifeline_once = PTHREAD_ONCE_INIT;
static int lifeline[2] = { -1, -1 };
static int lifeline_error = 0;

static void create_lifeline(void) {
    lifeline_error = make_status_pipe(lifeline);
}

/* ------------------------------------------------------------------------------------------ */
/* Children (after fork: async-signal-safe calls only).                                       */

/* What a child writes into the status pipe when a set-up step fails. */
struct spawn_failure {
    int stage;
    int error;
};

/* Report the failed stage and errno to the runner, then exit. */
static void child_fail(int status_fd, int stage) {
    struct spawn_failure failure = { stage, errno };
    ssize_t ignored = write(status_fd, &failure, sizeof failure);
    (void)ignored;
    _exit(127);
}

struct step_spec {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *workdir;
    int sources[3];
    int status_fd;
    int lifeline_fd;
    pid_t runner;
    int fallback_limit;
};

/* The step: everything between fork() and execve(). Never returns. */
static void run_step(const struct step_spec *spec, pid_t supervisor) {
    int status_fd = spec->status_fd;

    /* 1. Die with the supervisor (a single thread, so its exit is the process's). */
#if defined(__linux__)
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(status_fd, SHIPLOG_SPAWN_STAGE_PDEATHSIG);
#endif

    /* 2. The supervisor may have died before prctl took effect: then no signal will come. */
    if (getppid() != supervisor) _exit(127);

    /* 3. Default dispositions and an empty mask: both survive execve otherwise.
     * sigaction fails (EINVAL) for the C library's reserved real-time signals; that is fine. */
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &default_action, NULL);
    }
    sigset_t empty;
    sigemptyset(&empty);
    (void)sigprocmask(SIG_SETMASK, &empty, NULL);

    /* 4. fds 0, 1, 2. Copy every source above 2 first, so that dup2 onto 0..2 cannot
     * overwrite a source still needed, and so that dup2 always clears close-on-exec
     * (dup2(fd, fd) would leave the flag as it was). The copies are closed in step 6. */
    int copies[3];
    for (int i = 0; i < 3; i++) {
        int source = spec->sources[i];
        int opened = -1;
        if (source < 0) {
            opened = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
            if (opened < 0) child_fail(status_fd, SHIPLOG_SPAWN_STAGE_STDIO);
            source = opened;
        }
        copies[i] = fcntl(source, F_DUPFD_CLOEXEC, 3);
        if (copies[i] < 0) child_fail(status_fd, SHIPLOG_SPAWN_STAGE_STDIO);
        if (opened >= 0 && opened != copies[i]) (void)close(opened);
    }
    for (int i = 0; i < 3; i++) {
        if (dup2(copies[i], i) < 0) child_fail(status_fd, SHIPLOG_SPAWN_STAGE_STDIO);
    }

    /* 5. The step's working directory. */
    if (spec->workdir != NULL && chdir(spec->workdir) != 0) child_fail(status_fd, SHIPLOG_SPAWN_STAGE_CHDIR);

    /* 6. Nothing else of the runner's is inherited, the lifeline included; the status pipe
     * (close-on-exec) stays open until execve so that a failure can still be reported. */
    if (close_fds_except(status_fd, spec->fallback_limit) != 0) {
        child_fail(status_fd, SHIPLOG_SPAWN_STAGE_CLOSE_FDS);
    }

    /* 7. Exactly the given program, arguments and environment. */
    execve(spec->path, spec->argv, spec->envp);
    child_fail(status_fd, SHIPLOG_SPAWN_STAGE_EXEC);
}

/* The supervisor ends the way the step ended. Never returns. */
static void relay_status(int status) {
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        /* This process is a copy of the runner's memory: never let it dump core. */
        struct rlimit no_core = { 0, 0 };
        (void)setrlimit(RLIMIT_CORE, &no_core);
        struct sigaction default_action;
        memset(&default_action, 0, sizeof default_action);
        default_action.sa_handler = SIG_DFL;
        sigemptyset(&default_action.sa_mask);
        (void)sigaction(sig, &default_action, NULL);
        (void)kill(getpid(), sig);
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, sig);
        (void)sigprocmask(SIG_UNBLOCK, &only, NULL);
        _exit(128 + sig);
    }
    _exit(127);
}

/* The supervisor: starts the step and watches it and the runner. Never returns.
 * Every signal stays blocked here (the mask is inherited from the runner's fork). */
static void run_supervisor(const struct step_spec *spec) {
    /* 1. A process group for the whole step. */
    if (setpgid(0, 0) != 0) child_fail(spec->status_fd, SHIPLOG_SPAWN_STAGE_SETPGID);
#if defined(__linux__)
    (void)prctl(PR_SET_NAME, "shiplog-step", 0, 0, 0);
#endif

    /* waitpid() on the step needs SIGCHLD not to be ignored (an ignored SIGCHLD would have
     * the kernel reap the step itself); the signal stays blocked. */
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    (void)sigaction(SIGCHLD, &default_action, NULL);

    /* 2. The runner may already be gone. */
    if (getppid() != spec->runner) _exit(127);

    /* 3. The step. */
    pid_t self = getpid();
    pid_t step = plain_fork();
    if (step < 0) child_fail(spec->status_fd, SHIPLOG_SPAWN_STAGE_PREPARE);
    if (step == 0) run_step(spec, self);

    int lifeline_fd = spec->lifeline_fd;
    (void)close_fds_except(lifeline_fd, spec->fallback_limit);
    int pidfd = raw_pidfd_open(step);

    for (;;) {
        struct pollfd watched[2];
        nfds_t count = 0;
        watched[count].fd = lifeline_fd;
        watched[count].events = POLLIN;
        watched[count].revents = 0;
        count++;
        if (pidfd >= 0) {
            watched[count].fd = pidfd;
            watched[count].events = POLLIN;
            watched[count].revents = 0;
            count++;
        }
        int ready = poll(watched, count, pidfd >= 0 ? -1 : SHIPLOG_SUPERVISOR_CHECK_MS);
        if (ready < 0 && errno != EINTR && errno != EAGAIN) {
            /* Unable to watch the runner: a step nobody watches must not run on. */
            (void)kill(0, SIGKILL);
        }
        if (ready > 0 && watched[0].revents != 0) {
            /* Nobody ever writes to the lifeline: any event is its end, so the runner's. */
            (void)kill(0, SIGKILL);
        }
        int status;
        pid_t reaped = waitpid(step, &status, WNOHANG);
        if (reaped == step) relay_status(status);
        if (reaped < 0 && errno != EINTR) (void)kill(0, SIGKILL);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Public functions.                                                                          */

int shiplog_spawn_detailed(const char *path, char *const argv[], char *const envp[],
                           const char *workdir, int stdin_fd, int stdout_fd, int stderr_fd,
                           pid_t *pid_out, int *failed_stage) {
    if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_NONE;
    if (path == NULL || argv == NULL || envp == NULL || pid_out == NULL) {
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_PREPARE;
        return EINVAL;
    }

    pthread_once(&lifeline_once, create_lifeline);
    if (lifeline_error != 0) {
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_PREPARE;
        return lifeline_error;
    }

    int status_pipe[2];
    int error = make_status_pipe(status_pipe);
    if (error != 0) {
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_PREPARE;
        return error;
    }

    /* Everything the children need is computed here: they may not call sysconf or malloc. */
    struct step_spec spec;
    spec.path = path;
    spec.argv = argv;
    spec.envp = envp;
    spec.workdir = workdir;
    spec.sources[0] = stdin_fd;
    spec.sources[1] = stdout_fd;
    spec.sources[2] = stderr_fd;
    spec.status_fd = status_pipe[1];
    spec.lifeline_fd = lifeline[0];
    spec.runner = getpid();
    spec.fallback_limit = SHIPLOG_FALLBACK_FD_LIMIT;
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
        nofile.rlim_cur < (rlim_t)SHIPLOG_FALLBACK_FD_LIMIT) {
        spec.fallback_limit = (int)nofile.rlim_cur;
    }

    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = plain_fork();
    if (pid == 0) run_supervisor(&spec);
    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    (void)close(status_pipe[1]);

    if (pid < 0) {
        (void)close(status_pipe[0]);
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_PREPARE;
        return fork_error;
    }

    /* End-of-file: the step exec'd, and the supervisor has closed its copy of the pipe. */
    struct spawn_failure failure;
    size_t received = 0;
    while (received < sizeof failure) {
        ssize_t n = read(status_pipe[0], (char *)&failure + received, sizeof failure - received);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        received += (size_t)n;
    }
    (void)close(status_pipe[0]);

    if (received == 0) {
        *pid_out = pid;
        return 0;
    }

    /* The step (or the supervisor) failed before execve; both exit: reap, report why. */
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (received < sizeof failure || failure.error == 0) {
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_EXEC;
        return EIO;
    }
    if (failed_stage != NULL) *failed_stage = failure.stage;
    return failure.error;
}

int shiplog_spawn(const char *path, char *const argv[], char *const envp[], const char *workdir,
                  int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid_out) {
    return shiplog_spawn_detailed(path, argv, envp, workdir, stdin_fd, stdout_fd, stderr_fd,
                                  pid_out, NULL);
}

int shiplog_kill_group(pid_t pgid, int sig) {
    if (pgid < 2) return EINVAL;
    return kill(-pgid, sig) == 0 ? 0 : errno;
}

int shiplog_output_pipe(int fds[2]) {
    int created[2];
    if (make_cloexec_pipe(created) != 0) return errno;
    int flags = fcntl(created[0], F_GETFL);
    if (flags < 0 || fcntl(created[0], F_SETFL, flags | O_NONBLOCK) != 0) {
        int error = errno;
        (void)close(created[0]);
        (void)close(created[1]);
        return error;
    }
    fds[0] = created[0];
    fds[1] = created[1];
    return 0;
}

int shiplog_pidfd_open(pid_t pid) {
    return raw_pidfd_open(pid);
}
