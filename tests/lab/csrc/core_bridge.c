/* core-bridge: hand a plain core file to this host's systemd-coredump, the way the kernel's
 * core_pattern helper would. The lab's hosts share the CI machine's global core_pattern
 * ("core": a plain file in the crashing process's working directory), so without this bridge
 * coredumpctl inside a host would stay empty.
 *
 * usage: core-bridge CORE_FILE [COREDUMP_FIELD=VALUE]...
 *
 * Reads the crashing process's pid, uid, gid, signal, comm, command line and executable from the
 * core's ELF notes (x86-64 layouts), waits until the kernel has finished writing the file, then
 * sends every field as one datagram to /run/systemd/coredump and the core's file descriptor last
 * (SCM_RIGHTS), the protocol systemd-coredump's socket-activated instance reads. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif
#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

struct core_facts {
    int pid, uid, gid, signo;
    char comm[17];
    char cmdline[81];
    char exe[4096];
    char *auxv;
    size_t auxv_len;
};

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("core-bridge: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int read_at(int fd, void *buf, size_t len, off_t off)
{
    return pread(fd, buf, len, off) == (ssize_t)len ? 0 : -1;
}

/* The kernel writes headers, notes, then segments; a finished core is at least as long as its
 * last segment's end (holes are ftruncated in at the end). */
static off_t expected_size(int fd, const Elf64_Ehdr *eh)
{
    off_t end = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        if (read_at(fd, &ph, sizeof ph, (off_t)(eh->e_phoff + (uint64_t)i * eh->e_phentsize)))
            return -1;
        if ((off_t)(ph.p_offset + ph.p_filesz) > end)
            end = (off_t)(ph.p_offset + ph.p_filesz);
    }
    return end;
}

static void parse_note(const char *desc, size_t len, uint32_t type, struct core_facts *f, int *seen_status)
{
    if (type == NT_PRSTATUS && !*seen_status && len >= 36) {
        /* The dumping thread's NT_PRSTATUS comes first: pr_cursig at 12, pr_pid at 32. */
        int16_t cursig;
        memcpy(&cursig, desc + 12, sizeof cursig);
        memcpy(&f->pid, desc + 32, sizeof f->pid);
        if (!f->signo)
            f->signo = cursig;
        *seen_status = 1;
    } else if (type == NT_PRPSINFO && len >= 136) {
        memcpy(&f->uid, desc + 16, sizeof f->uid);
        memcpy(&f->gid, desc + 20, sizeof f->gid);
        memcpy(f->comm, desc + 40, 16);
        memcpy(f->cmdline, desc + 56, 80);
        size_t n = strlen(f->cmdline);
        while (n && f->cmdline[n - 1] == ' ')
            f->cmdline[--n] = 0;
    } else if (type == NT_AUXV && len && !f->auxv) {
        f->auxv = malloc(len);
        if (f->auxv) {
            memcpy(f->auxv, desc, len);
            f->auxv_len = len;
        }
    } else if (type == NT_SIGINFO && len >= 4) {
        memcpy(&f->signo, desc, sizeof f->signo);
    } else if (type == NT_FILE && len >= 16 && !f->exe[0]) {
        /* count, page size, count * (start, end, offset), then the names: the lowest mapping,
         * the first name, is the executable. */
        uint64_t count;
        memcpy(&count, desc, sizeof count);
        size_t names = 16 + count * 24;
        if (count && names < len)
            snprintf(f->exe, sizeof f->exe, "%.*s", (int)(len - names), desc + names);
    }
}

static void read_facts(int fd, struct core_facts *f)
{
    Elf64_Ehdr eh;
    if (read_at(fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_CORE)
        die("not a 64-bit ELF core file");
    struct stat st;
    for (int tries = 0;; tries++) {
        off_t want = expected_size(fd, &eh);
        if (fstat(fd, &st) == 0 && want >= 0 && st.st_size >= want)
            break;
        if (tries >= 100)
            die("core file still incomplete after 10 s (%lld bytes)", (long long)st.st_size);
        usleep(100000);
    }
    int seen_status = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (read_at(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)))
            die("short program header");
        if (ph.p_type != PT_NOTE || ph.p_filesz > (64u << 20))
            continue;
        char *notes = malloc(ph.p_filesz);
        if (!notes || read_at(fd, notes, ph.p_filesz, (off_t)ph.p_offset))
            die("cannot read notes");
        for (size_t pos = 0; pos + sizeof(Elf64_Nhdr) <= ph.p_filesz;) {
            Elf64_Nhdr nh;
            memcpy(&nh, notes + pos, sizeof nh);
            size_t desc_at = pos + sizeof nh + ((nh.n_namesz + 3u) & ~3u);
            size_t next = desc_at + ((nh.n_descsz + 3u) & ~3u);
            if (desc_at > ph.p_filesz || next > ph.p_filesz)
                break;
            parse_note(notes + desc_at, nh.n_descsz, nh.n_type, f, &seen_status);
            pos = next;
        }
        free(notes);
    }
    if (!seen_status || !f->comm[0])
        die("core file has no NT_PRSTATUS/NT_PRPSINFO notes");
}

static void send_field(int sock, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        die("field too long");
    if (send(sock, buf, (size_t)n, MSG_NOSIGNAL) != n)
        die("send: %s", strerror(errno));
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: core-bridge CORE_FILE [COREDUMP_FIELD=VALUE]...");
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        die("open %s: %s", argv[1], strerror(errno));
    struct core_facts f = {0};
    read_facts(fd, &f);
    struct stat st;
    fstat(fd, &st);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    const char *signame = sigabbrev_np(f.signo);

    int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "/run/systemd/coredump"};
    if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("connect /run/systemd/coredump: %s", strerror(errno));

    /* What the kernel-side systemd-coredump would add before forwarding; coredumpctl selects
     * entries by this MESSAGE_ID. */
    send_field(sock, "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1");
    send_field(sock, "PRIORITY=2");
    send_field(sock, "COREDUMP_PID=%d", f.pid);
    send_field(sock, "COREDUMP_UID=%d", f.uid);
    send_field(sock, "COREDUMP_GID=%d", f.gid);
    send_field(sock, "COREDUMP_SIGNAL=%d", f.signo);
    if (signame)
        send_field(sock, "COREDUMP_SIGNAL_NAME=SIG%s", signame);
    send_field(sock, "COREDUMP_TIMESTAMP=%lld%06ld", (long long)st.st_mtim.tv_sec,
               st.st_mtim.tv_nsec / 1000);
    send_field(sock, "COREDUMP_RLIMIT=%llu", (unsigned long long)-1);
    send_field(sock, "COREDUMP_HOSTNAME=%s", host);
    send_field(sock, "COREDUMP_COMM=%s", f.comm);
    if (f.exe[0])
        send_field(sock, "COREDUMP_EXE=%s", f.exe);
    if (f.cmdline[0])
        send_field(sock, "COREDUMP_CMDLINE=%s", f.cmdline);
    if (f.auxv) {
        /* Binary field: lets systemd-coredump decide the core file's access rights. */
        static const char prefix[] = "COREDUMP_PROC_AUXV=";
        size_t n = sizeof prefix - 1 + f.auxv_len;
        char *buf = malloc(n);
        if (!buf)
            die("out of memory");
        memcpy(buf, prefix, sizeof prefix - 1);
        memcpy(buf + sizeof prefix - 1, f.auxv, f.auxv_len);
        if (send(sock, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
            die("send: %s", strerror(errno));
        free(buf);
    }
    for (int i = 2; i < argc; i++)
        if (strncmp(argv[i], "COREDUMP_", 9) == 0 && strchr(argv[i], '='))
            send_field(sock, "%s", argv[i]);

    /* An empty datagram carrying the core's descriptor ends the message. */
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {.iov_base = "", .iov_len = 0};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
        die("sendmsg: %s", strerror(errno));
    close(sock);
    close(fd);
    printf("core-bridge: %s pid=%d signal=%d comm=%s -> systemd-coredump\n", argv[1], f.pid,
           f.signo, f.comm);
    return 0;
}
