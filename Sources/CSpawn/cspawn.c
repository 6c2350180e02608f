#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
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

/* What the child writes into the status pipe when a set-up step fails. */
struct spawn_failure {
    int stage;
    int error;
};

/* Child only: report the failed stage and errno to the parent, then exit. */
static void child_fail(int status_fd, int stage) {
    struct spawn_failure failure = { stage, errno };
    ssize_t ignored = write(status_fd, &failure, sizeof failure);
    (void)ignored;
    _exit(127);
}

/* Child only: closes fds from `from` to `to` inclusive (to < 0: no upper bound). */
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

/* Child only: everything between fork() and execve(). Never returns. */
static void run_child(const char *path, char *const argv[], char *const envp[], const char *workdir,
                      const int sources[3], int status_fd, pid_t parent, int fallback_limit) {
    /* 1. Die with the forking thread (see the header: the parent is a thread). */
#if defined(__linux__)
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(status_fd, SHIPLOG_SPAWN_STAGE_PDEATHSIG);
#endif

    /* 2. The parent may have died before prctl took effect: then no signal will ever come. */
    if (getppid() != parent) _exit(127);

    /* 3. A process group of our own, so the whole step tree can be signalled at once. */
    if (setpgid(0, 0) != 0) child_fail(status_fd, SHIPLOG_SPAWN_STAGE_SETPGID);

    /* 4. Default dispositions and an empty mask: both survive execve otherwise.
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

    /* 5. fds 0, 1, 2. Copy every source above 2 first, so that dup2 onto 0..2 cannot
     * overwrite a source still needed, and so that dup2 always clears close-on-exec
     * (dup2(fd, fd) would leave the flag as it was). The copies are closed in step 7. */
    int copies[3];
    for (int i = 0; i < 3; i++) {
        int source = sources[i];
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

    /* 6. The step's working directory. */
    if (workdir != NULL && chdir(workdir) != 0) child_fail(status_fd, SHIPLOG_SPAWN_STAGE_CHDIR);

    /* 7. Nothing else of the runner's is inherited; the status pipe (close-on-exec) stays
     * open until execve so a failure can still be reported. status_fd is always above 2. */
    if (close_fd_range(3, status_fd - 1, fallback_limit) != 0 ||
        close_fd_range(status_fd + 1, -1, fallback_limit) != 0) {
        child_fail(status_fd, SHIPLOG_SPAWN_STAGE_CLOSE_FDS);
    }

    /* 8. Exactly the given program, arguments and environment. */
    execve(path, argv, envp);
    child_fail(status_fd, SHIPLOG_SPAWN_STAGE_EXEC);
}

/* Parent only: moves fd above 2 (keeping close-on-exec) so the child's dup2 onto 0..2
 * cannot clobber it. Returns the fd to use, or -1. */
static int move_above_stdio(int fd) {
    if (fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    (void)close(fd);
    errno = saved;
    return moved;
}

int shiplog_spawn_detailed(const char *path, char *const argv[], char *const envp[],
                           const char *workdir, int stdin_fd, int stdout_fd, int stderr_fd,
                           pid_t *pid_out, int *failed_stage) {
    if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_NONE;
    if (path == NULL || argv == NULL || envp == NULL || pid_out == NULL) {
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_PREPARE;
        return EINVAL;
    }

    int status_pipe[2];
    if (make_cloexec_pipe(status_pipe) != 0) {
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_PREPARE;
        return errno;
    }
    status_pipe[0] = move_above_stdio(status_pipe[0]);
    status_pipe[1] = move_above_stdio(status_pipe[1]);
    if (status_pipe[0] < 0 || status_pipe[1] < 0) {
        int error = errno;
        if (status_pipe[0] >= 0) (void)close(status_pipe[0]);
        if (status_pipe[1] >= 0) (void)close(status_pipe[1]);
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_PREPARE;
        return error;
    }

    /* Everything the child needs is computed here: it may not call sysconf or malloc. */
    int fallback_limit = SHIPLOG_FALLBACK_FD_LIMIT;
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
        nofile.rlim_cur < (rlim_t)SHIPLOG_FALLBACK_FD_LIMIT) {
        fallback_limit = (int)nofile.rlim_cur;
    }
    const int sources[3] = { stdin_fd, stdout_fd, stderr_fd };
    pid_t parent = getpid();

    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        run_child(path, argv, envp, workdir, sources, status_pipe[1], parent, fallback_limit);
    }
    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    (void)close(status_pipe[1]);

    if (pid < 0) {
        (void)close(status_pipe[0]);
        if (failed_stage != NULL) *failed_stage = SHIPLOG_SPAWN_STAGE_PREPARE;
        return fork_error;
    }

    /* EOF: execve succeeded and closed the child's copy of the write end. */
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

    /* The child failed before execve and exits with 127: reap it, report why. */
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
#if defined(__linux__) && defined(SYS_pidfd_open)
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}
