#include "fabric_mmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t fabric_mmap_open(const char* path, int64_t* size_out, int32_t* err_out) {
    size_out[0] = 0;
    err_out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_out[0] = errno;
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err_out[0] = errno;
        close(fd);
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        err_out[0] = EINVAL;  // a pipe or device has no stable size to map
        close(fd);
        return 0;
    }
    if (st.st_size == 0) {
        close(fd);
        return 0;
    }
    void* p = mmap(nullptr, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);  // the mapping keeps its own reference to the file
    if (p == MAP_FAILED) {
        err_out[0] = e;
        return 0;
    }
    size_out[0] = (int64_t) st.st_size;
    return (int64_t) (intptr_t) p;
}

int32_t fabric_munmap(int64_t address, int64_t size) {
    if (address == 0 || size <= 0) return 0;
    return munmap((void*) (intptr_t) address, (size_t) size) == 0 ? 0 : errno;
}

int32_t fabric_madvise(int64_t address, int64_t size, int32_t advice) {
    if (address == 0 || size <= 0) return 0;
    int a;
    switch (advice) {
        case FABRIC_MADV_SEQUENTIAL: a = MADV_SEQUENTIAL; break;
        case FABRIC_MADV_RANDOM: a = MADV_RANDOM; break;
        case FABRIC_MADV_WILLNEED: a = MADV_WILLNEED; break;
        case FABRIC_MADV_DONTNEED: a = MADV_DONTNEED; break;
        default: a = MADV_NORMAL; break;
    }
    // madvise wants a page-aligned start: widen the range down to the page boundary.
    int64_t page = (int64_t) sysconf(_SC_PAGESIZE);
    int64_t start = address & ~(page - 1);
    int64_t len = size + (address - start);
    return madvise((void*) (intptr_t) start, (size_t) len, a) == 0 ? 0 : errno;
}

int64_t fabric_page_size(void) {
    return (int64_t) sysconf(_SC_PAGESIZE);
}
