package dev.fabric.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fabric.FabricException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The output rules of {@link SafeOutput}, each on real files: links, special files, stale temporaries, failures. */
class SafeOutputTest {
    @TempDir
    Path dir;

    private final List<String> notices = new ArrayList<>();

    @BeforeEach
    void captureNotices() {
        SafeOutput.setNotices(notices::add);
    }

    @AfterEach
    void restoreNotices() {
        SafeOutput.setNotices(null);
        assertEquals(0, SafeOutput.openCount(), "an output was left open");
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void write(SafeOutput out, String s) throws IOException {
        out.stream().write(s.getBytes(StandardCharsets.UTF_8));
    }

    private static FabricException refused(Path target, List<Path> inputs, int code, String... parts) {
        FabricException e = assertThrows(FabricException.class, () -> SafeOutput.create(target, inputs).close());
        assertEquals(code, e.exitCode(), e.getMessage());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        return e;
    }

    @Test
    void targetAppearsOnlyAtCommitAndWhole() throws IOException {
        Path t = dir.resolve("out.bin");
        try (SafeOutput out = SafeOutput.create(t, List.of())) {
            write(out, "hello");
            assertFalse(Files.exists(t), "target visible before commit");
            assertTrue(out.tempPath().getParent().equals(dir), "temporary in the target's folder");
            assertTrue(SafeOutput.TEMP.matcher(out.tempPath().getFileName().toString()).matches(),
                    out.tempPath().toString());
            out.commit();
        }
        assertEquals("hello", Files.readString(t));
        assertEquals(List.of("out.bin"), names());
    }

    @Test
    void positionalWritesThroughTheChannel() throws IOException {
        Path t = dir.resolve("pos.bin");
        try (SafeOutput out = SafeOutput.create(t, List.of())) {
            out.channel().write(ByteBuffer.wrap(new byte[] {9, 9}), 4);
            out.channel().write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), 0);
            out.commit();
        }
        assertArrayEquals(new byte[] {1, 2, 3, 4, 9, 9}, Files.readAllBytes(t));
    }

    @Test
    void replacingKeepsThePermissionBits() throws IOException {
        Path t = Files.writeString(dir.resolve("m.gguf"), "old");
        try {
            Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rw-r-----"));
        } catch (UnsupportedOperationException e) {
            assumeTrue(false, "not a POSIX file system");
        }
        SafeOutput.write(t, List.of(), out -> write(out, "new"));
        assertEquals("new", Files.readString(t));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(t)));
    }

    @Test
    void ioErrorMidWriteLeavesTheOldFileAndNoTemporary() throws IOException {
        Path t = Files.writeString(dir.resolve("keep.txt"), "previous");
        FabricException e = assertThrows(FabricException.class, () -> SafeOutput.write(t, List.of(), out -> {
            write(out, "partial");
            throw new IOException("No space left on device");
        }));
        assertEquals(FabricException.EXIT_IO, e.exitCode());
        assertTrue(e.getMessage().contains(t.toString()) && e.getMessage().contains("No space left"), e.getMessage());
        assertEquals("previous", Files.readString(t));
        assertEquals(List.of("keep.txt"), names());
    }

    @Test
    void anyExceptionMidWriteLeavesNothing() throws IOException {
        Path t = dir.resolve("new.txt");
        assertThrows(IllegalStateException.class, () -> {
            try (SafeOutput out = SafeOutput.create(t, List.of())) {
                write(out, "partial");
                throw new IllegalStateException("bug");
            }
        });
        assertEquals(List.of(), names());
    }

    @Test
    void sameFileAsAnInputIsRefused_samePathHardLinkAndSymlink() throws IOException {
        Path model = Files.writeString(dir.resolve("model.gguf"), "weights");
        refused(model, List.of(model), FabricException.EXIT_USAGE, "model.gguf", "same file as the input");
        refused(dir.resolve("./model.gguf"), List.of(model), FabricException.EXIT_USAGE, "same file");
        Path hard = Files.createLink(dir.resolve("hard.gguf"), model);
        refused(hard, List.of(model), FabricException.EXIT_USAGE, "hard.gguf", "model.gguf", "another name");
        Path sym = Files.createSymbolicLink(dir.resolve("sym.gguf"), model.getFileName());
        refused(sym, List.of(model), FabricException.EXIT_USAGE, "sym.gguf", "model.gguf", "symbolic link");
        // an input given through a link is the same file too
        refused(model, List.of(sym), FabricException.EXIT_USAGE, "model.gguf", "sym.gguf");
        assertEquals("weights", Files.readString(model));
        assertEquals(List.of("hard.gguf", "model.gguf", "sym.gguf"), names());
    }

    @Test
    void symbolicLinkOutputIsRefusedAndKept() throws IOException {
        Path real = Files.writeString(dir.resolve("real.txt"), "x");
        Path link = Files.createSymbolicLink(dir.resolve("link.txt"), real.getFileName());
        refused(link, List.of(), FabricException.EXIT_USAGE, "link.txt", "symbolic link", "real.txt");
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.txt"), Path.of("nowhere.txt"));
        refused(dangling, List.of(), FabricException.EXIT_USAGE, "symbolic link");
        assertTrue(Files.isSymbolicLink(link) && Files.isSymbolicLink(dangling));
        assertEquals("x", Files.readString(real));
        assertFalse(Files.exists(dir.resolve("nowhere.txt")));
    }

    @Test
    void devNullIsRefusedAndLeftAlone() {
        Path devNull = Path.of("/dev/null");
        assumeTrue(Files.exists(devNull, LinkOption.NOFOLLOW_LINKS), "no /dev/null here");
        refused(devNull, List.of(), FabricException.EXIT_USAGE, "/dev/null", "not a regular file");
        assertFalse(Files.isRegularFile(devNull, LinkOption.NOFOLLOW_LINKS), "/dev/null is still a device");
    }

    @Test
    void fifoIsRefused() throws Exception {
        Path fifo = dir.resolve("pipe");
        int rc;
        try {
            rc = new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
        } catch (IOException e) {
            rc = -1;
        }
        assumeTrue(rc == 0, "mkfifo is not available");
        refused(fifo, List.of(), FabricException.EXIT_USAGE, "pipe", "not a regular file");
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo));
    }

    @Test
    void folderAndMissingFolderAreRefused() throws IOException {
        Files.createDirectory(dir.resolve("sub"));
        refused(dir.resolve("sub"), List.of(), FabricException.EXIT_USAGE, "is a folder");
        refused(dir.resolve("none/out.gguf"), List.of(), FabricException.EXIT_IO, "does not exist");
        assertEquals(List.of("sub"), names());
    }

    @Test
    void readOnlyFolderIsAnIoError() throws IOException {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        try {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
            assumeTrue(!Files.isWritable(ro), "running as root: a read-only folder is writable anyway");
            refused(ro.resolve("out.gguf"), List.of(), FabricException.EXIT_IO, "out.gguf", "permission denied");
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    /** Temporaries of a process that is gone are removed; a live one's, other names and our own stay. */
    @Test
    void staleTemporariesOfDeadProcessesAreRemoved() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long dead = p.pid();
        assumeTrue(ProcessHandle.of(dead).isEmpty(), "pid " + dead + " was reused at once");
        long self = ProcessHandle.current().pid();
        Path stale = Files.writeString(dir.resolve(".a.gguf.fabric-tmp-" + dead + "-abcdefgh"), "x");
        Path staleOther = Files.writeString(dir.resolve(".b.dat.fabric-tmp-" + dead + "-0123abcd"), "x");
        Path ours = Files.writeString(dir.resolve(".a.gguf.fabric-tmp-" + self + "-abcdefgh"), "x");
        Path live = Files.writeString(dir.resolve(".a.gguf.fabric-tmp-1-abcdefgh"), "x");
        Path notOurs = Files.writeString(dir.resolve(".a.gguf.fabric-tmp-" + dead + "-ABC"), "x");
        Path plain = Files.writeString(dir.resolve("a.gguf.fabric-tmp-" + dead + "-abcdefgh"), "x");
        Path oldLive = Files.writeString(dir.resolve(".c.gguf.fabric-tmp-1-zzzzzzzz"), "x");
        Files.setLastModifiedTime(oldLive, FileTime.from(Instant.now().minus(SafeOutput.STALE_AGE)
                .minus(Duration.ofMinutes(5))));
        SafeOutput.write(dir.resolve("a.gguf"), List.of(), out -> write(out, "new"));
        assertFalse(Files.exists(stale));
        assertFalse(Files.exists(staleOther));
        assertFalse(Files.exists(oldLive), "a day-old temporary goes even if its pid is in use");
        for (Path kept : List.of(ours, live, notOurs, plain)) assertTrue(Files.exists(kept), kept + " was removed");
        assertEquals(3, notices.stream().filter(n -> n.contains("interrupted run")).count(), notices.toString());
    }

    /** The shutdown hook (what SIGINT/SIGTERM run) deletes open temporaries and says so once. */
    @Test
    void shutdownDeletesOpenTemporaries() throws IOException {
        SafeOutput a = SafeOutput.create(dir.resolve("a.bin"), List.of());
        SafeOutput b = SafeOutput.create(dir.resolve("b.bin"), List.of());
        Path scratch = SafeOutput.scratchPath(dir.resolve("c.bin"));
        Files.writeString(scratch, "intermediate");
        write(a, "x");
        SafeOutput.onShutdown();
        assertEquals(List.of(), names());
        assertEquals(1, notices.size(), notices.toString());
        assertTrue(notices.get(0).contains("a.bin") && notices.get(0).contains("b.bin"), notices.get(0));
        a.close();
        b.close();
    }

    /**
     * A real full disk: a 64 KiB tmpfs (mounting needs root; skipped otherwise). The error names the target, exit
     * code 4, and the folder is left empty.
     */
    @Test
    void fullDiskIsAnIoErrorAndLeavesNothing() throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("small"));
        int rc;
        try {
            rc = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        } catch (IOException e) {
            rc = -1;
        }
        assumeTrue(rc == 0, "cannot mount a small tmpfs here (needs root): full-disk test skipped");
        try {
            Path t = mnt.resolve("big.bin");
            FabricException e = assertThrows(FabricException.class, () -> SafeOutput.write(t, List.of(), out -> {
                byte[] mib = new byte[1 << 20];
                out.stream().write(mib);
            }));
            assertEquals(FabricException.EXIT_IO, e.exitCode());
            assertTrue(e.getMessage().contains(t.toString()) && e.getMessage().contains("No space left"),
                    e.getMessage());
            try (Stream<Path> s = Files.list(mnt)) {
                assertEquals(List.of(), s.toList());
            }
        } finally {
            new ProcessBuilder("umount", mnt.toString()).start().waitFor();
        }
    }
}
