package dev.fabric.io;

import dev.fabric.FabricException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way Fabric writes a file: never half-written, never over one of its own inputs, never over anything but a
 * regular file. Every command writes every output through this class:
 *
 * <pre>{@code
 * try (SafeOutput out = SafeOutput.create(target, List.of(model, calibText))) {
 *     out.channel().write(...);          // or out.stream(); positional writes are fine
 *     out.commit();                      // fsync, atomic rename onto target, fsync of the folder
 * }                                      // not committed (an exception, Ctrl-C): the temporary is deleted
 * }</pre>
 *
 * <p>The rules:
 * <ul>
 * <li><b>Temp then rename.</b> Bytes go to {@code .NAME.fabric-tmp-PID-RANDOM} in the target's folder, which is
 *     synced and renamed onto the target only by {@link #commit}; until then the target is untouched, and after it
 *     the target is the whole new file. A replaced file's permission bits are kept.</li>
 * <li><b>Same file.</b> A target that is the same file as an input (by file identity, {@link Files#isSameFile}:
 *     through symbolic links and hard links) is refused, exit code 2, naming both paths.</li>
 * <li><b>Only regular files are replaced.</b> A target that exists and is a folder, a device node
 *     ({@code /dev/null} included), a FIFO or a socket is refused, exit code 2.</li>
 * <li><b>Symbolic links.</b> A target that is a symbolic link (dangling or not) is refused, exit code 2: replacing
 *     the link by a regular file would silently break it, and writing through it would change a file the user did
 *     not name. Name the link's target instead. Links in the folders above the file are followed as usual.</li>
 * <li><b>Interruption.</b> A shutdown hook (SIGINT, SIGTERM, {@code System.exit}) deletes the temporaries of every
 *     output not yet committed and prints one line. A run killed outright (SIGKILL, a native abort) leaves its
 *     temporary; the next output into the same folder deletes temporaries whose process is gone (or untouched for
 *     a day), only regular files owned by this user and named in the pattern above.</li>
 * <li><b>Errors.</b> Failures to create, write or rename (permission, full disk) are {@link FabricException}s with
 *     exit code 4 naming the target; nothing is left behind.</li>
 * </ul>
 *
 * <p>Several outputs (a folder of adapter, checkpoint and metrics files, datagen shards) are several instances, each
 * committed when complete. Instances are not thread-safe; the channel may be used from one writer thread at a time.
 */
public final class SafeOutput implements AutoCloseable {
    /** Temporaries: {@code .NAME.fabric-tmp-PID-RANDOM}, RANDOM eight base-36 digits. */
    static final Pattern TEMP = Pattern.compile("\\..*\\.fabric-tmp-(\\d+)-[0-9a-z]{8}");
    /** A temporary whose process looks alive is still removed when untouched for this long (PIDs get reused). */
    static final Duration STALE_AGE = Duration.ofHours(24);
    private static final int MAX_NAME_CHARS = 180;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<SafeOutput> OPEN = ConcurrentHashMap.newKeySet();
    private static final Set<Path> SCRATCH = ConcurrentHashMap.newKeySet();
    /** Folders already swept by this process (a folder of many shards is listed once, not once per shard). */
    private static final Set<Path> SWEPT = ConcurrentHashMap.newKeySet();
    private static volatile Consumer<String> notices = s -> System.err.println(s);
    private static boolean hookInstalled;

    private final Path target;
    private final Path temp;
    private volatile FileChannel channel;
    private final boolean replacing;
    private OutputStream stream;
    private volatile boolean finished;

    private SafeOutput(Path target, Path temp, boolean replacing) {
        this.target = target;
        this.temp = temp;
        this.replacing = replacing;
    }

    /**
     * Checks {@code target} against the rules and against {@code inputs} (paths that do not exist are skipped),
     * removes stale temporaries in its folder, and opens a new temporary for writing (and reading).
     *
     * @throws FabricException exit code 2 when the target is refused, 4 when the folder is missing or not writable
     */
    public static SafeOutput create(Path target, Collection<Path> inputs) {
        check(target, inputs);
        Path dir = folder(target);
        if (SWEPT.add(dir)) removeStale(dir);
        String name = target.getFileName().toString();
        if (name.length() > MAX_NAME_CHARS) name = name.substring(0, MAX_NAME_CHARS);
        boolean replacing = Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS);
        for (int attempt = 0; ; attempt++) {
            Path temp = dir.resolve("." + name + ".fabric-tmp-" + ProcessHandle.current().pid() + "-" + randomTag());
            // registered before the file exists, so that a signal at any moment finds and deletes it
            SafeOutput out = new SafeOutput(target, temp, replacing);
            register(out);
            try {
                out.channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        StandardOpenOption.READ);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                OPEN.remove(out); // someone else's file: not ours to delete
                if (attempt < 8) continue;
                throw failure(target, e, false);
            } catch (IOException e) {
                out.close();
                throw failure(target, e, false);
            }
            if (out.finished) { // stopped while opening: the hook has run
                out.discard();
                throw new FabricException("stopped before writing " + target, FabricException.EXIT_IO, null);
            }
            if (replacing) out.copyPermissions();
            return out;
        }
    }

    /**
     * Writes {@code target} in one go: creates it, runs {@code body}, commits; an I/O error in {@code body} becomes
     * the exit-code-4 {@link FabricException} naming the target, and nothing is left behind.
     */
    public static void write(Path target, Collection<Path> inputs, Body body) {
        try (SafeOutput out = create(target, inputs)) {
            try {
                body.write(out);
            } catch (IOException e) {
                throw out.failure(e);
            }
            out.commit();
        }
    }

    /** What {@link #write} runs. */
    @FunctionalInterface
    public interface Body {
        void write(SafeOutput out) throws IOException;
    }

    /**
     * The checks of {@link #create} without creating anything, for commands that compute for a long time before
     * they write: they refuse a bad output before the work, not after it.
     */
    public static void check(Path target, Collection<Path> inputs) {
        Path name = target.getFileName();
        if (name == null)
            throw refused(target + " is not a file name");
        for (Path in : inputs) {
            if (in != null && sameFile(target, in))
                throw refused("the output " + target + " is the same file as the input " + in
                        + (Files.isSymbolicLink(target) ? " (through a symbolic link)"
                                : target.toAbsolutePath().normalize().equals(in.toAbsolutePath().normalize()) ? ""
                                        : " under another name: a hard or symbolic link")
                        + "; choose another output name");
        }
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            a = null;
        } catch (IOException e) {
            throw failure(target, e, false);
        }
        if (a != null && a.isSymbolicLink()) {
            String to;
            try {
                to = " (to " + Files.readSymbolicLink(target) + ")";
            } catch (IOException | UnsupportedOperationException e) {
                to = "";
            }
            throw refused("the output " + target + " is a symbolic link" + to + "; Fabric does not replace links: "
                    + "name the file itself, or remove the link first");
        }
        if (a != null && a.isDirectory())
            throw refused("the output " + target + " is a folder; give a file name");
        if (a != null && !a.isRegularFile())
            throw refused("the output " + target + " is not a regular file (a device, FIFO or socket); Fabric only "
                    + "creates or replaces regular files");
        Path dir = folder(target);
        if (!Files.isDirectory(dir))
            throw new FabricException("cannot write " + target + ": folder " + dir + " does not exist",
                    FabricException.EXIT_IO, null);
    }

    /**
     * A path for an intermediate file beside {@code target} (e.g. an F16 model that is then quantized to the
     * target), named in the temporaries' pattern: {@link #deleteScratch} removes it, the shutdown hook removes it
     * if the run is stopped, and the stale sweep if the run is killed. Nothing is created.
     */
    public static Path scratchPath(Path target) {
        Path dir = folder(target);
        String name = target.getFileName().toString() + ".part";
        if (name.length() > MAX_NAME_CHARS) name = name.substring(0, MAX_NAME_CHARS);
        Path p = dir.resolve("." + name + ".fabric-tmp-" + ProcessHandle.current().pid() + "-" + randomTag());
        SCRATCH.add(p);
        registerHook();
        return p;
    }

    /** Deletes a {@link #scratchPath} file (if it exists); never throws. */
    public static void deleteScratch(Path p) {
        SCRATCH.remove(p);
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the next run's stale-temporary sweep removes it
        }
    }

    /** The temporaries' sink: one line per removed stale temporary and the interruption line (default: stderr). */
    public static void setNotices(Consumer<String> sink) {
        notices = sink == null ? s -> System.err.println(s) : sink;
    }

    public Path target() {
        return target;
    }

    /** The temporary being written (renamed onto {@link #target} by {@link #commit}). */
    public Path tempPath() {
        return temp;
    }

    /** The temporary's channel, opened for reading and writing; positional writes are fine. Do not close it. */
    public FileChannel channel() {
        return channel;
    }

    /** An unbuffered stream appending at the channel's position; closing it does nothing (commit or close this). */
    public OutputStream stream() {
        if (stream == null) {
            stream = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                    while (buf.hasRemaining()) channel.write(buf);
                }
            };
        }
        return stream;
    }

    /**
     * Syncs the temporary, renames it atomically onto the target (replacing a regular file there) and syncs the
     * folder. After this, {@link #close} does nothing.
     *
     * @throws FabricException exit code 4 if any step fails (the temporary is deleted, the target left as it was)
     */
    public void commit() {
        if (finished) throw new IllegalStateException("output " + target + " was already committed or closed");
        try {
            channel.force(true);
            channel.close();
            checkStillReplaceable();
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            finished = true;
            OPEN.remove(this);
        } catch (IOException e) {
            throw failure(e);
        } finally {
            if (!finished) close();
        }
        syncFolder(folder(target));
    }

    /** Abandons an uncommitted output: closes and deletes the temporary. Never throws; idempotent. */
    @Override
    public void close() {
        if (finished) return;
        finished = true;
        OPEN.remove(this);
        discard();
    }

    /** The exit-code-4 error for an I/O failure while writing this output; deletes the temporary. */
    public FabricException failure(IOException e) {
        close();
        return failure(target, e, replacing);
    }

    private void discard() {
        try {
            FileChannel ch = channel;
            if (ch != null) ch.close();
        } catch (IOException ignored) {
            // deleting is what matters
        }
        try {
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // the next run's stale-temporary sweep removes it
        }
    }

    /** The target may have changed since {@link #check}: never rename over a folder, a link or a device. */
    private void checkStillReplaceable() throws IOException {
        try {
            BasicFileAttributes a = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile())
                throw new FileSystemException(target.toString(), null,
                        "it became a " + (a.isSymbolicLink() ? "symbolic link" : a.isDirectory() ? "folder"
                                : "special file") + " while it was being written");
        } catch (NoSuchFileException e) {
            // absent: fine
        }
    }

    private void copyPermissions() {
        try {
            PosixFileAttributeView v = Files.getFileAttributeView(target, PosixFileAttributeView.class);
            if (v == null) return;
            Set<PosixFilePermission> p = v.readAttributes().permissions();
            Files.setPosixFilePermissions(temp, p);
        } catch (IOException | UnsupportedOperationException ignored) {
            // the new file keeps the default permissions
        }
    }

    private static boolean sameFile(Path target, Path input) {
        try {
            return Files.exists(target) && Files.exists(input) && Files.isSameFile(target, input);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    private static Path folder(Path target) {
        Path dir = target.toAbsolutePath().getParent();
        return dir == null ? target.toAbsolutePath().getRoot() : dir;
    }

    private static String randomTag() {
        StringBuilder sb = new StringBuilder(8);
        for (int i = 0; i < 8; i++) sb.append(Character.forDigit(RANDOM.nextInt(36), 36));
        return sb.toString();
    }

    private static FabricException refused(String msg) {
        return new FabricException(msg, FabricException.EXIT_USAGE, null);
    }

    private static FabricException failure(Path target, IOException e, boolean existed) {
        String why;
        if (e instanceof AccessDeniedException ad)
            why = "permission denied" + (ad.getFile() != null && !ad.getFile().contains(".fabric-tmp-")
                    ? " (" + ad.getFile() + ")" : " (folder " + folder(target) + ")");
        else if (e instanceof FileSystemException fs && fs.getReason() != null)
            why = fs.getReason();
        else
            why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        String left = existed ? "; " + target + " was left as it was" : "; nothing was written";
        return new FabricException("cannot write " + target + ": " + why + left, FabricException.EXIT_IO, e);
    }

    private static void syncFolder(Path dir) {
        // makes the rename durable on Linux; some file systems and platforms refuse to open a folder
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // durability of the rename is best effort
        }
    }

    /**
     * Deletes temporaries in {@code dir} left by runs that were killed: names in this class's pattern, regular files
     * owned by this user, whose process is not running (or untouched for {@link #STALE_AGE}). Returns them.
     */
    public static List<Path> removeStale(Path dir) {
        List<Path> removed = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        String user = System.getProperty("user.name");
        Instant old = Instant.now().minus(STALE_AGE);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, ".*.fabric-tmp-*")) {
            for (Path p : ds) {
                Matcher m = TEMP.matcher(p.getFileName().toString());
                if (!m.matches()) continue;
                long pid;
                try {
                    pid = Long.parseLong(m.group(1));
                } catch (NumberFormatException e) {
                    continue;
                }
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!a.isRegularFile()) continue;
                if (user != null && !user.equals(Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName())) continue;
                boolean alive = pid == self || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
                FileTime mtime = a.lastModifiedTime();
                if (alive && (pid == self || mtime.toInstant().isAfter(old))) continue;
                if (Files.deleteIfExists(p)) {
                    removed.add(p);
                    notices.accept("removed " + p + ", left by an interrupted run (process " + pid + ")");
                }
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // sweeping is best effort: a folder we cannot list gives its error when the temporary is created
        }
        return removed;
    }

    private static void register(SafeOutput out) {
        OPEN.add(out);
        registerHook();
    }

    private static synchronized void registerHook() {
        if (hookInstalled) return;
        hookInstalled = true;
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(SafeOutput::onShutdown, "fabric-output-cleanup"));
        } catch (IllegalStateException e) {
            // already shutting down: the caller's close() cleans up
        }
    }

    /** The shutdown hook: deletes every uncommitted temporary and says so on one line. */
    static void onShutdown() {
        List<String> names = new ArrayList<>();
        for (SafeOutput o : List.copyOf(OPEN)) {
            if (o.finished) continue;
            o.finished = true;
            OPEN.remove(o);
            o.discard();
            names.add(o.target.toString());
        }
        for (Path p : List.copyOf(SCRATCH)) deleteScratch(p);
        if (!names.isEmpty())
            notices.accept("fabric: stopped before finishing " + String.join(", ", names)
                    + "; removed the unfinished file" + (names.size() == 1 ? "" : "s")
                    + (names.size() == 1 ? " (the previous one, if any, is unchanged)" : ""));
    }

    /** Outputs not yet committed or closed (for tests). */
    static int openCount() {
        return OPEN.size();
    }
}
