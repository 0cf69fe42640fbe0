/* Valgrind 3.19 (Debian 12's) edits the signal mask it is given for rt_sigsuspend in place; libdispatch's main
 * thread passes one that lives in read-only memory, and valgrind dies with an internal SIGSEGV as every Swift
 * program here starts. Preloaded under valgrind only: hands the system call a copy on the stack. */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, (size_t)(_NSIG / 8));
}
