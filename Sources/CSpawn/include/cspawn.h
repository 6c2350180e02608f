#ifndef SHIPLOG_CSPAWN_H
#define SHIPLOG_CSPAWN_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Starting a pipeline step as a child process.
 *
 * The runner may be killed with SIGKILL at any instant. When that happens, the step it was
 * running must die too: a resumed runner will run the step again, and two copies of a
 * migration or a deploy must never run side by side. Swift cannot run code between fork
 * and exec, so the child's set-up lives here, in C, and uses only async-signal-safe calls
 * (the parent is multithreaded: after fork only the forking thread exists in the child,
 * and any lock another thread held stays held forever, so no malloc, no stdio, no locks).
 *
 * What shiplog_spawn does, and why:
 *
 *  Parent, before fork:
 *   - Creates a pipe with O_CLOEXEC to learn whether exec succeeded. The child keeps the
 *     write end; a successful execve closes it (EOF in the parent), a failure writes the
 *     failing stage and errno into it. So the caller gets "no such file or directory"
 *     rather than a child that exits 127 for reasons nobody can see.
 *   - Blocks every signal in the calling thread around fork(), so no signal handler of the
 *     parent runs in the child before the child has reset its dispositions. The caller's
 *     mask is restored in the parent right after fork().
 *
 *  Child, in this order:
 *   1. prctl(PR_SET_PDEATHSIG, SIGKILL): the kernel sends the child SIGKILL when its parent
 *      dies, even by SIGKILL. (Linux only; elsewhere this step is skipped.)
 *      CAUTION: the "parent" here is the *thread* that called fork(), not the process. If
 *      that thread exits while the child runs, the child is killed at once. Callers must
 *      spawn from a thread that outlives the child; the runner spawns from its main thread,
 *      and StepProcess.run blocks its calling thread until the child has exited.
 *   2. getppid() must still be the process that forked: if the parent died between fork()
 *      and prctl(), no death signal will ever come, so the child exits with 127 at once.
 *   3. setpgid(0, 0): the child leads its own process group (its pgid is its pid), so the
 *      whole step tree - the shell and everything it starts - can be signalled at once
 *      with shiplog_kill_group(), and a terminal's Ctrl-C aimed at the runner's group does
 *      not reach the step directly. By the time shiplog_spawn returns 0 the group exists.
 *   4. Every signal disposition goes back to SIG_DFL and the signal mask is emptied:
 *      ignored signals (SIGPIPE, often ignored by language runtimes) and blocked signals
 *      survive execve, and a step must start with the defaults a shell expects.
 *   5. stdin_fd, stdout_fd and stderr_fd become fds 0, 1 and 2 (a negative value means
 *      /dev/null). They are first copied above 2, so any combination works, including the
 *      same fd for stdout and stderr or fds that are already 0, 1 or 2.
 *   6. chdir(workdir) when workdir is not NULL.
 *   7. Every other fd is closed (close_range, or a loop where the kernel lacks it): the
 *      step must not inherit the runner's database, log or socket descriptors, and must not
 *      hold the write end of another step's output pipe open.
 *   8. execve(path, argv, envp): exactly this environment, no PATH search.
 *
 * Returns 0 and stores the child's pid (which is also its process group id) in *pid_out,
 * or returns an errno value (and leaves *pid_out untouched) when the child could not be
 * started; in that case the failed child has already been reaped.
 *
 * argv and envp are NULL-terminated arrays that the caller builds before the call; nothing
 * is allocated after fork().
 */
int shiplog_spawn(const char *path, char *const argv[], char *const envp[], const char *workdir,
                  int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid_out);

/* The stage at which shiplog_spawn_detailed failed, so a caller can say what went wrong. */
enum {
    SHIPLOG_SPAWN_STAGE_NONE = 0,      /* no failure */
    SHIPLOG_SPAWN_STAGE_PREPARE = 1,   /* in the parent: pipe or fork */
    SHIPLOG_SPAWN_STAGE_PDEATHSIG = 2, /* prctl(PR_SET_PDEATHSIG) */
    SHIPLOG_SPAWN_STAGE_SETPGID = 3,   /* setpgid(0, 0) */
    SHIPLOG_SPAWN_STAGE_STDIO = 4,     /* opening /dev/null or duplicating fds 0, 1, 2 */
    SHIPLOG_SPAWN_STAGE_CHDIR = 5,     /* chdir(workdir) */
    SHIPLOG_SPAWN_STAGE_CLOSE_FDS = 6, /* closing inherited fds */
    SHIPLOG_SPAWN_STAGE_EXEC = 7,      /* execve(path) */
};

/*
 * shiplog_spawn, also reporting in *failed_stage (when not NULL) one of the
 * SHIPLOG_SPAWN_STAGE_ values: NONE on success, otherwise the step that failed.
 */
int shiplog_spawn_detailed(const char *path, char *const argv[], char *const envp[],
                           const char *workdir, int stdin_fd, int stdout_fd, int stderr_fd,
                           pid_t *pid_out, int *failed_stage);

/*
 * Sends sig to every process in process group pgid (kill(-pgid, sig)). Signal 0 only probes
 * whether the group still has members. Returns 0 or an errno (ESRCH: the group is empty).
 * pgid must be a spawned step's pid: values below 2 are refused with EINVAL, because
 * kill(-1) would signal every process the caller may signal and kill(0) the caller's own group.
 */
int shiplog_kill_group(pid_t pgid, int sig);

/*
 * A pipe for a step's output: both ends close-on-exec (set atomically, so a process forked
 * by another thread at the same moment cannot inherit an end and hold the pipe open), the
 * read end non-blocking. fds[0] is the read end, fds[1] the write end.
 * Returns 0 or an errno.
 */
int shiplog_output_pipe(int fds[2]);

/*
 * A pidfd for pid (Linux 5.3+): it becomes readable in poll() when the process exits, so the
 * output loop wakes up for the exit as well as for output, with no polling interval.
 * Returns the fd (close-on-exec), or a negative errno (-ENOSYS where unsupported), in which
 * case the caller falls back to checking waitpid(WNOHANG) periodically.
 */
int shiplog_pidfd_open(pid_t pid);

#ifdef __cplusplus
}
#endif

#endif /* SHIPLOG_CSPAWN_H */
