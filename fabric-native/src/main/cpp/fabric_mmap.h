// Read-only file mappings for GGUF tensor data: the C surface bound to Java by
// dev.fabric.backend.cpu.MmapNative. C-style on purpose; addresses travel as int64.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Maps the whole file at `path` (NUL-terminated bytes in the platform's file-name encoding) read-only.
// On success returns the address and stores the file size in size_out[0]; a file of size 0 maps to
// address 0 with size 0 (nothing to map). On failure returns 0 and stores the OS error number
// (errno, > 0) in err_out[0].
int64_t fabric_mmap_open(const char* path, int64_t* size_out, int32_t* err_out);

// Unmaps a mapping made by fabric_mmap_open. Returns 0 or an errno value.
int32_t fabric_munmap(int64_t address, int64_t size);

// Hints the kernel about the access pattern of [address, address+size): the FABRIC_MADV_* values.
// The range is widened to whole pages. Returns 0 or an errno value (hints may be refused).
enum {
    FABRIC_MADV_NORMAL = 0,
    FABRIC_MADV_SEQUENTIAL = 1,
    FABRIC_MADV_RANDOM = 2,
    FABRIC_MADV_WILLNEED = 3,
    FABRIC_MADV_DONTNEED = 4,
};
int32_t fabric_madvise(int64_t address, int64_t size, int32_t advice);

// The virtual-memory page size of this machine.
int64_t fabric_page_size(void);

#ifdef __cplusplus
}
#endif
